"""Two syncs of one database and a host writer: each new build is recorded once."""

from __future__ import annotations

import queue
import sqlite3
import subprocess
import sys
import textwrap
import threading

from patchwatch.db import UPDATES, open_db
from patchwatch.library import add_game, load_games
from patchwatch.state import record_results
from patchwatch.models import Signal
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin
from patchwatch.testing.backlogia import create_backlogia_db, steam_row

SYNC = textwrap.dedent("""
    import sys
    from patchwatch.config import Config
    from patchwatch.errors import PatchwatchError
    from patchwatch.plugins import new_plugin_manager
    from patchwatch.sync import sync_library
    from patchwatch.testing import ExamplePlugin
    plugin = ExamplePlugin(catalogue={str(i): 2 for i in range(1, 21)})
    try:
        summary = sync_library(sys.argv[1], pm=new_plugin_manager({"p": plugin}),
                               config=Config(env={}, lock_wait=60))
    except PatchwatchError as exc:
        print("refused:", exc, flush=True)
        sys.exit(1)
    print("updated", len(summary.updated), flush=True)
""")


def test_two_syncs_starting_while_the_host_holds_the_write_lock(tmp_path, config):
    """Cron and a user start a sync while Backlogia holds the write lock: one of them runs,
    the other is refused at once (it does not wait and then record everything again)."""
    db_path = tmp_path / "game_library.db"
    create_backlogia_db(db_path, [steam_row(i, f"Game {i}") for i in range(1, 21)])
    sync_library(db_path, pm=_pm(1), config=config)  # baselines at build 1
    host = sqlite3.connect(db_path, isolation_level=None)
    host.execute("BEGIN IMMEDIATE")
    ended: queue.Queue = queue.Queue()
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", SYNC, str(db_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=lambda p=proc: ended.put(p.communicate()),
                         daemon=True).start()
    try:
        # The one that did not get the sync lock answers without waiting for the host.
        out, err = ended.get(timeout=60)
        assert "another patchwatch sync" in out and "is running" in out, (out, err)
    finally:
        host.execute("COMMIT")
        host.close()
    out, err = ended.get(timeout=60)
    assert out.strip() == "updated 20", (out, err)
    db = open_db(db_path)
    rows = db.execute(f"SELECT game_id, kind, new_value, count(*) FROM {UPDATES} "
                      f"GROUP BY 1, 2, 3").fetchall()
    assert len(rows) == 20 and {r[3] for r in rows} == {1}
    assert db.execute("SELECT count(*), count(DISTINCT game_id) FROM game_depot_updates"
                      ).fetchone() == (20, 20)


def test_an_update_found_twice_from_the_same_stale_view_is_recorded_once(db_path):
    """Whatever lets two syncs act on one stale view of the library (a lock that a network
    file system does not share, a host calling the recorder itself), the second recording
    of the same new value compares with what the first stored and is unchanged."""
    add_game(db_path, "steam", "570")
    db = open_db(db_path)
    [game] = load_games(db)
    record_results(db, "p", 1, [(game, Signal("buildid", "1"))])
    [stale] = load_games(db)  # both syncs read the library here: build 1
    first = record_results(db, "p", 2, [(stale, Signal("buildid", "2"))])
    second = record_results(db, "p", 3, [(stale, Signal("buildid", "2"))])
    assert [o.kind for o in first] == ["update"] and [o.kind for o in second] == ["unchanged"]
    assert db.execute(f"SELECT old_value, new_value FROM {UPDATES}").fetchall() == [("1", "2")]


def _pm(build: int):
    from patchwatch.plugins import new_plugin_manager
    return new_plugin_manager({"p": ExamplePlugin(catalogue={str(i): build
                                                              for i in range(1, 21)})})
