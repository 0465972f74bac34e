"""Issue 18, the first hour, point 7 and 3: exit without a fixed wait, --db everywhere,
--game by store id, a mistyped --db, local times, watch --once's exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from patchwatch.db import open_db
from patchwatch.library import add_games
from patchwatch.testing import ExamplePlugin


def add(db_path, store, *ids, title=True):
    add_games(open_db(db_path), [{"store": store, "store_id": str(i),
                                  "title": f"Game {i}" if title else None} for i in ids])


def test_an_idle_thread_pool_does_not_hold_the_exit():
    """Apprise leaves an idle ThreadPoolExecutor worker after a notification; the exit must
    end it as the interpreter does, not wait out the grace time and os._exit."""
    script = textwrap.dedent("""
        import atexit, concurrent.futures, sys
        import patchwatch.cli as cli
        cli.EXIT_GRACE_SECONDS = 120          # a wait would outlast the test's bound
        pool = concurrent.futures.ThreadPoolExecutor(1)
        pool.submit(lambda: None).result()    # one idle worker left, as Apprise's
        atexit.register(lambda: print("clean exit"))  # not run after os._exit
        cli.main(["--version"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "clean exit" in done.stdout


def test_watch_and_notify_status_take_db_after_the_command(run, installed_pm, tmp_path):
    installed_pm(steam_x=ExamplePlugin("steam", catalogue={"1": 1}))
    other = tmp_path / "other.db"
    add(other, "steam", 1)
    result = run("watch", "--once", "--db", str(other))
    assert result.exit_code == 0, result.output
    assert "steam: 1 new baseline(s)" in result.output
    status = run("notify", "status", "--db", str(other))
    assert status.exit_code == 0 and "outbox empty" in status.output


def test_watch_once_exits_3_when_games_could_not_be_checked(run, installed_pm, db_path):
    installed_pm(steam_x=ExamplePlugin("steam", catalogue={"1": 1}))
    add(db_path, "steam", 1, 2)  # 2 is not in the store's catalogue: not_found
    result = run("watch", "--once")
    assert result.exit_code == 3, result.output


def test_watch_names_the_real_reason_not_a_switched_off_fallback(run, installed_pm, db_path,
                                                                 tmp_path):
    first = ExamplePlugin("steam", priority=10, catalogue={"1": 1, "2": 1})
    first.skip = {"2"}  # passes game 2 on, as steam_pics does for token-protected apps
    installed_pm(steam_x=first, steam_y=ExamplePlugin("steam", priority=5))
    (tmp_path / "config.toml").write_text('disable = ["steam_y"]\n')
    add(db_path, "steam", 1, 2)
    result = run("watch", "--once")
    line = next(line for line in result.output.splitlines() if "not checked" in line)
    assert "steam_x: gave no answer for it" in line and "switched off by the user" not in line


def test_watch_does_not_schedule_a_store_without_a_plugin(run, installed_pm, db_path):
    installed_pm(steam_x=ExamplePlugin("steam", catalogue={"1": 1}))
    add(db_path, "steam", 1)
    add(db_path, "itch", "x")
    result = run("watch", "--once")
    assert "itch: not watched, no plugin installed for this store" in result.output
    assert "itch every" not in result.output


def test_game_570_finds_steam_570_when_unambiguous(run, installed_pm, db_path):
    add(db_path, "steam", 570)
    add(db_path, "gog", 7)
    add(db_path, "epic", 7)
    assert run("updates", "--game", "570").exit_code == 0
    ambiguous = run("updates", "--game", "7")
    assert ambiguous.exit_code == 2 and "epic:7" in ambiguous.output and "gog:7" in ambiguous.output


def test_a_mistyped_db_for_sync_is_refused_unless_create(run, installed_pm, tmp_path):
    installed_pm(steam_x=ExamplePlugin("steam"))
    typo = tmp_path / "nowhere" / "libary.db"
    refused = run("sync", "--db", str(typo))
    assert refused.exit_code == 1 and "no database at" in refused.output
    assert "--create" in refused.output and not typo.parent.exists()
    created = run("sync", "--db", str(typo), "--create")
    assert created.exit_code == 0 and typo.exists()


def test_times_are_local_in_text_and_utc_in_json(run, installed_pm, db_path, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9, no daylight saving
    time.tzset()
    try:
        plugin = ExamplePlugin("steam", catalogue={"1": 1})
        installed_pm(steam_x=plugin)
        add(db_path, "steam", 1)
        run("sync")
        plugin.catalogue["1"] = 2
        run("sync")
        row = json.loads(run("updates", "--json").output)[0]
        assert row["detected_at"].endswith("+00:00")
        from datetime import datetime, timedelta
        local = (datetime.fromisoformat(row["detected_at"]) + timedelta(hours=9))
        text = run("updates").output
        assert local.strftime("%Y-%m-%d %H:%M") in text and "JST" in text
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_game_added_without_title_gets_the_store_name(run, installed_pm, db_path):
    class Named(ExamplePlugin):
        def check_updates_bulk(self, games, state):
            from patchwatch import Signal
            for game in games:
                yield game.id, Signal("buildid", "1", title=f"Name of {game.store_id}")

    from patchwatch import hookimpl
    Named.check_updates_bulk = hookimpl(Named.check_updates_bulk)
    installed_pm(steam_x=Named("steam"))
    assert run("games", "add", "steam", "570").exit_code == 0
    run("sync")
    listed = json.loads(run("games", "list", "--json").output)
    assert listed[0]["title"] == "Name of 570"
    run("games", "edit", "steam:570", "--title", "My Dota")
    run("sync")  # a title the user wrote is never replaced
    assert json.loads(run("games", "list", "--json").output)[0]["title"] == "My Dota"


# -- 4. fix a wrong row ------------------------------------------------------------------

class StrictSteam(ExamplePlugin):
    from patchwatch import hookimpl as _hookimpl

    @_hookimpl
    def check_store_id(self, store_id):
        return None if store_id.isdigit() else f"Steam app ids are whole numbers, got {store_id!r}"


@pytest.fixture
def stores(installed_pm):
    steam = StrictSteam("steam", catalogue={"570": 1, "440": 1})
    installed_pm(steam_x=steam, epic_x=ExamplePlugin("epic", catalogue={"a": 1}),
                 gog_x=ExamplePlugin("gog"))
    return steam


def test_unknown_stores_and_malformed_ids_are_refused(run, stores):
    steem = run("games", "add", "steem", "570")
    assert steem.exit_code == 2
    assert "unknown store 'steem'; did you mean 'steam'? known: epic, gog, steam" in steem.output
    abc = run("games", "add", "steam", "abc")
    assert abc.exit_code == 2 and "Steam app ids are whole numbers, got 'abc'" in abc.output
    assert not os.path.exists(os.environ["PATCHWATCH_DB"])  # nothing was added
    forced = run("games", "add", "itch", "x", "--force")
    assert forced.exit_code == 0 and "added game" in forced.output


def test_re_adding_says_it_exists_and_how_to_edit(run, stores):
    run("games", "add", "epic", "a", "Alan", "--extra", '{"namespace": "wrong"}')
    again = run("games", "add", "epic", "a", "--extra", '{"namespace": "ns"}')
    assert again.exit_code == 0
    assert "epic:a is already in the library (game 1, 'Alan'): nothing changed" in again.output
    assert "to change it: patchwatch games edit epic:a --extra '{\"namespace\": \"ns\"}'" in again.output
    edited = run("games", "edit", "epic:a", "--extra", '{"namespace": "ns"}')
    assert edited.exit_code == 0 and "changed extra_data" in edited.output
    row = json.loads(run("games", "list", "--json").output)[0]
    assert row["title"] == "Alan"
    from patchwatch.db import open_db as db_of
    extra = next(db_of(os.environ["PATCHWATCH_DB"]).query("SELECT extra_data FROM games"))
    assert json.loads(extra["extra_data"]) == {"namespace": "ns"}


def test_edit_a_wrong_store_id_takes_a_new_baseline_and_remove_forgets(run, stores, db_path):
    stores.catalogue["57"] = 9  # another app's build
    run("games", "add", "steam", "57", "Dota 2")  # a typo: the right id is 570
    run("sync")
    assert run("games", "edit", "steam:57", "--store-id", "abc").exit_code == 2
    taken = run("games", "add", "steam", "440", "TF2")
    assert taken.exit_code == 0
    clash = run("games", "edit", "steam:57", "--store-id", "440")
    assert clash.exit_code == 1 and "steam:440 is already in the library (game 2)" in clash.output
    fixed = run("games", "edit", "steam:57", "--store-id", "570", "--title", "Dota 2 (fixed)")
    assert fixed.exit_code == 0 and "the next sync takes a new baseline" in fixed.output
    result = json.loads(run("sync", "--json").output)
    # 57's build is forgotten: 570 starts with a baseline, not a false update 9 -> 1.
    assert result["baselines"] == 2 and result["updates"] == [] and result["failed"] == 0
    removed = run("games", "remove", "570", "steam:440")
    assert removed.exit_code == 0 and "removed steam:570 (game 1)" in removed.output
    assert run("games", "list").output == ""
    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM patchwatch_signals").fetchone()[0] == 0
    assert run("games", "remove", "steam:1").exit_code == 2


def test_a_host_library_is_not_edited_or_removed_from(run, stores, db_path):
    db = open_db(db_path)
    db["games"].add_column("playtime_hours", float)  # a host's own column (Backlogia has many)
    run("games", "add", "steam", "570", "Dota 2")
    refused = run("games", "remove", "steam:570")
    assert refused.exit_code == 1 and "belongs to a host app" in refused.output
    assert json.loads(run("games", "list", "--json").output)[0]["store_id"] == "570"


# -- 3. links for updates and feeds found while notifications were off ---------------------

def test_updates_and_feeds_look_links_up_when_none_were_kept(run, installed_pm, db_path):
    from patchwatch import Links, hookimpl

    class Linked(ExamplePlugin):
        @hookimpl
        def update_links(self, game, signal):
            return Links(store_page=f"https://store.example/app/{game.store_id}/")

    plugin = Linked("steam", catalogue={"570": 1})
    installed_pm(steam_x=plugin)
    add(db_path, "steam", 570)
    run("sync")
    plugin.catalogue["570"] = 2
    run("sync")  # no notify URLs: no links were looked up at detection
    feed = json.loads(run("updates", "--format", "json").output)
    assert feed["items"][0]["url"] == "https://store.example/app/570/"
    assert "https://store.example/app/570/" in run("updates").output
    assert "https://store.example" not in run("updates", "--no-links").output


def test_the_stop_timer_of_watch_raises_nothing_in_its_thread(db_path, make_pm, config):
    """The timer a SIGTERM starts looked up a missing attribute: a traceback in the journal."""
    from patchwatch.watch import Watcher, _interrupt_if

    watcher = Watcher(db_path, pm=make_pm(), config=config, log=lambda line: None)
    _interrupt_if(watcher)  # not busy: nothing to interrupt, and no AttributeError


def test_a_thread_that_dies_is_one_line_not_a_traceback():
    """A plugin's own thread raising, under the console script: one line on stderr."""
    script = textwrap.dedent("""
        import threading
        import patchwatch.cli as cli

        def plugin_thread():
            raise RuntimeError("read_directory failed with DirectoryError")

        @cli.cli.command("boom")
        def boom():
            worker = threading.Thread(target=plugin_thread, name="steam-pics-x")
            worker.start()
            worker.join()
        cli.main(["boom"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ("patchwatch: thread steam-pics-x stopped: RuntimeError: "
                           "read_directory failed with DirectoryError\n")
