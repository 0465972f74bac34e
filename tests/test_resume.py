"""A sync killed midway (kill -9) loses nothing it had fetched; the next run resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from patchwatch.db import CHECKS, SIGNALS, open_db
from patchwatch.library import add_game
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin

SCRIPT = textwrap.dedent("""
    import sys
    import patchwatch.sync as s
    from patchwatch.config import Config
    from patchwatch.plugins import new_plugin_manager
    from patchwatch.testing import ExamplePlugin
    s.FLUSH_EVERY = 5
    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, 201)})
    plugin.delay = 0.02
    s.sync_library(sys.argv[1], pm=new_plugin_manager({"p": plugin}), config=Config(env={}))
""")


def test_killed_sync_resumes_where_it_stopped(db_path, config):
    for i in range(1, 201):
        add_game(db_path, "steam", str(i))
    child = subprocess.Popen([sys.executable, "-c", SCRIPT, str(db_path)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if open_db(db_path)[CHECKS].count >= 40:
                break
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    saved = open_db(db_path)[CHECKS].count
    assert 40 <= saved < 200, "the child must have been killed midway"

    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, 201)})
    from patchwatch.plugins import new_plugin_manager
    summary = sync_library(db_path, pm=new_plugin_manager({"p": plugin}), config=config)
    assert summary.resumed_from == 1
    assert summary.skipped_resumed == saved
    assert len(plugin.calls[0]) == 200 - saved
    assert open_db(db_path)[SIGNALS].count == 200
    assert summary.updates == []


# -- a run that died inside a host process that lives on -------------------------

import pytest  # noqa: E402

from patchwatch import sync as sync_module  # noqa: E402
from patchwatch.db import RUNS  # noqa: E402
from patchwatch.plugins import new_plugin_manager  # noqa: E402
from patchwatch.sync import SyncBusy  # noqa: E402
from patchwatch import locks  # noqa: E402


def _host_run(db_path, pid, heartbeat):
    db = open_db(db_path)
    db[RUNS].insert({"started_at": "2026-01-01T00:00:00+00:00", "status": "running",
                     "stores": "null", "total": 3, "processed": 1, "pid": pid,
                     "heartbeat_at": heartbeat})
    db.close()


def test_run_left_running_by_a_live_host_process_expires(db_path, config, monkeypatch):
    """The host (a long-lived web server) keeps its pid alive after its sync thread died:
    once the run's heartbeat is older than the lease, the next sync goes ahead and resumes."""
    for i in range(1, 4):
        add_game(db_path, "steam", str(i))
    host = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        from patchwatch.library import now_iso
        from datetime import datetime, timedelta, timezone
        stale = (datetime.now(timezone.utc) - timedelta(minutes=5)).replace(
            microsecond=0).isoformat()
        _host_run(db_path, host.pid, stale)
        plugin = ExamplePlugin(catalogue={"1": 1, "2": 2, "3": 3})
        summary = sync_library(db_path, pm=new_plugin_manager({"p": plugin}), config=config)
        assert summary.resumed_from == 1 and summary.checked == 3
        # Where no lock file can be made, a live heartbeat still means "busy".
        _host_run(db_path, host.pid, now_iso())
        monkeypatch.setattr(locks, "lock_path", lambda db: Path(db) / "lock")  # not a folder
        with pytest.raises(SyncBusy, match="last seen alive"):
            sync_library(db_path, pm=new_plugin_manager({"p": plugin}), config=config)
    finally:
        host.kill()
        host.wait()


def test_a_crashed_sync_whose_pid_was_reused_does_not_block_the_next(db_path, config):
    """In a container a restart reuses low pids: the run row of a sync killed with -9 names
    a pid that is alive again (another process) and a heartbeat seconds old. Nobody holds
    the sync lock, so the next sync starts at once and resumes that run."""
    from patchwatch.library import now_iso
    for i in range(1, 4):
        add_game(db_path, "steam", str(i))
    reused = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                              stdin=subprocess.PIPE)
    try:
        _host_run(db_path, reused.pid, now_iso())
        plugin = ExamplePlugin(catalogue={"1": 1, "2": 2, "3": 3})
        summary = sync_library(db_path, pm=new_plugin_manager({"p": plugin}), config=config)
        assert summary.resumed_from == 1 and summary.checked == 3
    finally:
        reused.kill()
        reused.wait()


def test_heartbeat_keeps_a_long_quiet_sync_alive(db_path, config, monkeypatch):
    """A plugin that is slow to answer must not let the run's lease run out."""
    from patchwatch import state
    monkeypatch.setattr(state, "HEARTBEAT_SECONDS", 0.1)
    add_game(db_path, "steam", "1")
    plugin = ExamplePlugin(catalogue={"1": 1})
    plugin.delay = 0.6
    seen = []

    def watch():
        time.sleep(0.45)
        seen.append(open_db(db_path)[RUNS].get(1)["heartbeat_at"])

    import threading
    t = threading.Thread(target=watch)
    t.start()
    sync_library(db_path, pm=new_plugin_manager({"p": plugin}), config=config)
    t.join()
    started = open_db(db_path)[RUNS].get(1)["started_at"]
    assert seen and seen[0] is not None and seen[0] >= started


# -- issue 12 points 1 and 2: resume follows the whole chain ---------------------

class _Cut(Exception):
    pass


def _interrupting(at):
    def progress(processed, total):
        if processed >= at:
            raise KeyboardInterrupt
    return progress


def test_resume_follows_the_whole_chain_of_unfinished_runs(db_path, config, monkeypatch):
    monkeypatch.setattr(sync_module, "FLUSH_EVERY", 10)
    n = 100
    for i in range(1, n + 1):
        add_game(db_path, "steam", str(i))
    catalogue = {str(i): i for i in range(1, n + 1)}
    pm = new_plugin_manager({"p": ExamplePlugin(catalogue=catalogue)})
    sync_library(db_path, pm=pm, config=config)  # baselines
    for key in catalogue:
        catalogue[key] += 1000  # every game gets a new build
    # Two syncs in a row are cut short, each after about 30 more games.
    for cut in (30, 60):
        with pytest.raises(KeyboardInterrupt):
            sync_library(db_path, pm=pm, config=config, progress=_interrupting(cut))
    plugin = ExamplePlugin(catalogue=catalogue)
    summary = sync_library(db_path, pm=new_plugin_manager({"p": plugin}), config=config)
    db = open_db(db_path)
    checked_before = n - len(plugin.calls[0])
    assert checked_before >= 60, "games checked by both interrupted runs are skipped"
    assert summary.skipped_resumed == checked_before
    # Every update is in this summary, including those found before the interruptions.
    assert len(summary.updated) == n
    assert sorted(int(u.store_id) for u in summary.updates) == list(range(1, n + 1))
    assert summary.earlier_updates == checked_before
    assert db[SIGNALS].count == n
    statuses = [r["status"] for r in db.query(f"SELECT status FROM {RUNS} ORDER BY id")]
    assert statuses == ["done", "resumed", "resumed", "done"]


@pytest.mark.parametrize("change_feed", [False, True])
def test_a_resumed_sync_asks_a_change_feed_plugin_about_every_game_again(db_path, config,
                                                                        change_feed):
    """A build published after a cut-short run checked a game: a plugin with a change feed
    is asked about that game again when the next sync resumes, so the finished sync has it;
    a plugin without one is not (resuming skips what was checked, as the README says)."""
    import threading
    for i in range(1, 4):
        add_game(db_path, "steam", str(i))
    plugin = ExamplePlugin(catalogue={"1": 1, "2": 1, "3": 1})
    plugin.change_feed = change_feed
    pm = new_plugin_manager({"p": plugin})
    sync_library(db_path, pm=pm, config=config)  # baselines
    plugin.catalogue.update({"1": 2, "2": 2, "3": 2})
    cancel = threading.Event()

    def progress(done, total):  # cut short once some games were recorded
        if done >= 1:
            cancel.set()

    import patchwatch.sync as s
    flush_every = s.FLUSH_EVERY
    s.FLUSH_EVERY = 1
    plugin.delay = 0.05
    try:
        cut = sync_library(db_path, pm=pm, config=config, cancel=cancel, progress=progress)
    finally:
        s.FLUSH_EVERY = flush_every
    plugin.delay = 0
    assert cut.cancelled and 1 <= len(cut.updated) < 3
    first_seen = {u.store_id for u in cut.updated}
    plugin.catalogue.update({k: 3 for k in first_seen})  # published after they were checked
    resumed = sync_library(db_path, pm=pm, config=config)
    assert resumed.resumed_from == cut.run_id
    late = {u.store_id for u in resumed.updated if u.new_value == "3"}
    assert late == (first_seen if change_feed else set())
    assert resumed.skipped_resumed == (0 if change_feed else len(first_seen))
