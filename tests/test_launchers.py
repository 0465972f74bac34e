"""The launcher hook in the core: reading plugins safely, recording installed state,
importing without duplicates, and the out-of-date view."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from click.testing import CliRunner

from patchwatch import (LauncherGame, LauncherInfo, LauncherNotFound, LauncherWarning,
                        hookimpl)
from patchwatch.cli import cli
from patchwatch.config import Config
from patchwatch.db import INSTALLED, open_db
from patchwatch.launchers import (import_games, outdated, read_launchers, record_installed,
                                  refresh_installed, with_installed_branches)
from patchwatch.library import add_game
from patchwatch.plugins import backends, new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin

pytestmark = pytest.mark.timeout(60)


class FakeLauncher:
    """A scripted launcher plugin: ``items`` are yielded as they are; switches for faults."""

    def __init__(self, items=(), *, stores=("steam",), branch_setting=None):
        self.items = list(items)
        self.stores, self.branch_setting = stores, branch_setting
        self.missing: str | None = None
        self.fail: Exception | None = None
        self.release: threading.Event | None = None
        self.settings_seen: list = []

    @hookimpl
    def launcher_info(self):
        return LauncherInfo("Fake launcher", self.stores, branch_setting=self.branch_setting)

    @hookimpl
    def read_launcher(self, settings, cache):
        self.settings_seen.append(dict(settings))
        if self.release is not None:
            self.release.wait(30)
        if self.missing:
            raise LauncherNotFound(self.missing)
        for item in self.items:
            yield item
        if self.fail:
            raise self.fail


def game(store_id, build="100", **fields):
    fields.setdefault("title", f"Game {store_id}")
    fields.setdefault("kind", "buildid")
    fields.setdefault("source", f"/lib/steamapps/appmanifest_{store_id}.acf")
    return LauncherGame("steam", str(store_id), build=build, **fields)


@pytest.fixture
def db(db_path):
    database = open_db(db_path)
    yield database
    database.close()


def read(*plugins, config=None, **kwargs):
    pm = new_plugin_manager({f"fake{n}": p for n, p in enumerate(plugins)})
    return read_launchers(pm, config or Config(env={}), **kwargs)


# -- reading -------------------------------------------------------------------------

def test_a_launcher_plugin_is_not_a_store_backend_and_gets_its_own_settings():
    fake = FakeLauncher([game(1)])
    pm = new_plugin_manager({"fake": fake, "steam": ExamplePlugin("steam")})
    assert [b.name for b in backends(pm, Config(env={}))] == ["steam"]
    (report,) = read_launchers(pm, Config(plugins={"fake": {"paths": ["/x"]}}, env={}))
    assert fake.settings_seen == [{"paths": ["/x"]}]
    assert (report.launcher, report.stores, len(report.games)) == ("Fake launcher", ("steam",), 1)


def test_missing_raising_and_garbage_are_reported_never_raised():
    missing, broken, garbage = FakeLauncher(), FakeLauncher([game(1)]), FakeLauncher()
    missing.missing = "no Steam in ~/.steam"
    broken.fail = OSError("disk gone")
    garbage.items = [game(2), "not a game", LauncherGame("steam", "", build="1"),
                     LauncherGame("steam", "3", installed="yes"),
                     LauncherWarning("/x/appmanifest_4.acf", "truncated"), game(5)]
    r_missing, r_broken, r_garbage = read(missing, broken, garbage)
    assert r_missing.missing == "no Steam in ~/.steam" and not r_missing.error
    assert r_broken.error == "OSError: disk gone" and r_broken.games == []
    assert [g.store_id for g in r_garbage.games] == ["2", "5"]
    messages = [w.message for w in r_garbage.warnings]
    assert len(messages) == 4 and "truncated" in messages
    assert any("LauncherGame.store_id must be non-empty text" in m for m in messages)
    assert any("installed must be True or False" in m for m in messages)


def test_a_hanging_plugin_is_given_up_within_the_timeout_and_not_piled_up():
    hung = FakeLauncher([game(1)])
    hung.release = threading.Event()
    pm = new_plugin_manager({"hung": hung})
    try:
        (report,) = read_launchers(pm, Config(env={}), timeout=0.3)
        assert report.error == "did not finish reading in 0.3 s"
        (again,) = read_launchers(pm, Config(env={}), timeout=0.3)
        assert "still stuck" in again.error and len(hung.settings_seen) == 1
    finally:
        hung.release.set()


def test_disabled_launchers_are_not_read():
    fake = FakeLauncher([game(1)])
    pm = new_plugin_manager({"fake": fake})
    assert read_launchers(pm, Config(disable={"fake"}, env={})) == []


# -- the installed state -------------------------------------------------------------

def test_recording_writes_only_changes_and_keeps_what_a_warned_file_held(db):
    fake = FakeLauncher([game(1, "100"), game(2, "200"), game(3, "300")])
    (report,) = read(fake)
    first = record_installed(db, [report])
    assert (first.changed, first.removed) == (3, 0)
    assert record_installed(db, [report]).changed == 0  # unchanged: nothing written
    # App 2 is being rewritten (a warning names its file), app 3 was uninstalled.
    fake.items = [game(1, "101"), LauncherWarning("/lib/steamapps/appmanifest_2.acf", "truncated")]
    (report,) = read(fake)
    changes = record_installed(db, [report])
    assert (changes.changed, changes.removed, changes.kept) == (1, 1, 1)
    assert changes.updated == [("steam", "1", "Game 1")]
    rows = {r["store_id"]: r for r in db.query(f"SELECT * FROM {INSTALLED}")}
    assert sorted(rows) == ["1", "2"] and rows["1"]["build"] == "101"


def test_an_unmounted_library_folder_keeps_its_games(db):
    fake = FakeLauncher([game(1), game(2, source="/media/sd/steamapps/appmanifest_2.acf")])
    record_installed(db, read(fake))
    fake.items = [game(1), LauncherWarning("/media/sd", "library folder not found")]
    assert record_installed(db, read(fake)).kept == 1
    assert db[INSTALLED].count == 2


def test_a_failed_or_missing_launcher_keeps_every_row(db):
    fake = FakeLauncher([game(1), game(2)])
    record_installed(db, read(fake))
    fake.fail, fake.items = RuntimeError("boom"), []
    record_installed(db, read(fake))
    fake.fail, fake.missing = None, "gone"
    record_installed(db, read(fake))
    assert db[INSTALLED].count == 2


# -- import --------------------------------------------------------------------------

def test_import_adds_new_games_once_and_rerunning_changes_nothing(db):
    a = FakeLauncher([game(1), game(2, installed=False)])
    b = FakeLauncher([game(1), LauncherGame("epic", "Fortnite", title="Fortnite",
                                            extra={"namespace": "fn"})], stores=("epic",))
    add_game(db, "steam", "2", "Already here")
    summary = import_games(db, read(a, b))
    assert sorted((g["store"], g["store_id"]) for g in summary.added) == [
        ("epic", "Fortnite"), ("steam", "1")]
    assert summary.already == 1
    extra = db.execute("SELECT extra_data FROM games WHERE store_id = 'Fortnite'").fetchone()[0]
    assert json.loads(extra)["namespace"] == "fn"
    again = import_games(db, read(a, b))
    assert again.added == [] and again.already == 3 and db["games"].count == 3


def test_installed_only_leaves_owned_games_out(db):
    fake = FakeLauncher([game(1), game(2, installed=False)])
    summary = import_games(db, read(fake), installed_only=True)
    assert [g["store_id"] for g in summary.added] == ["1"] and summary.skipped_owned == 1


def test_a_backlogia_row_with_the_id_only_in_extra_data_is_not_duplicated(tmp_path):
    """Backlogia's Heroic GOG import writes store_id NULL and extra_data.app_name."""
    path = tmp_path / "backlogia.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE games (id INTEGER PRIMARY KEY, name TEXT NOT NULL, store TEXT, "
                 "store_id TEXT, extra_data TEXT, hidden INTEGER DEFAULT 0)")
    conn.execute("INSERT INTO games (name, store, store_id, extra_data, hidden) VALUES "
                 "('Witcher 3', 'gog', NULL, '{\"app_name\": \"1207664663\"}', 1)")
    conn.commit()
    conn.close()
    database = open_db(path)
    fake = FakeLauncher([LauncherGame("gog", "1207664663", title="The Witcher 3",
                                      build="555", kind="build_id")], stores=("gog",))
    summary = import_games(database, read(fake))
    assert summary.added == [] and summary.already == 1 and database["games"].count == 1
    row = database.execute(f"SELECT game_id FROM {INSTALLED}").fetchone()
    assert row[0] == 1  # linked to the host's row


# -- out of date ---------------------------------------------------------------------

def synced(db_path, catalogue, fake, config=None):
    """Import from ``fake``, then sync with a store answering ``catalogue`` builds."""
    config = config or Config(env={})
    pm = new_plugin_manager({"fake": fake, "steam": ExamplePlugin("steam", catalogue=catalogue)})
    database = open_db(db_path)
    import_games(database, read_launchers(pm, config))
    database.close()
    sync_library(db_path, pm=pm, config=config)
    return pm


def test_outdated_lists_games_behind_their_latest_build_and_leaves_when_updated(db_path):
    fake = FakeLauncher([game(1, "100", update_pending=True), game(2, "200"), game(3, "300"),
                         game(4, None), game(5, "900"), game(6, "1", installed=False)])
    pm = synced(db_path, {"1": 101, "2": 200, "3": 299, "4": 400, "5": 500, "6": 2}, fake)
    database = open_db(db_path)
    report = outdated(database)
    (item,) = report.outdated
    assert (item.store_id, item.installed_build, item.latest_build, item.latest_version,
            item.update_pending, item.title) == ("1", "100", "101", "v101", True, "Game 1")
    assert item.since  # when the newer build was first seen (no publish time here)
    assert (report.installed, report.current, report.ahead, report.not_compared) == (5, 1, 2, 1)
    # App 3 installed 300 while the last known build is 299 (numbers): newer, not behind.
    # The user updates app 1 through the launcher: the next read takes it off the list.
    fake.items[0] = game(1, "101")
    refresh_installed(database, pm=pm, config=Config(env={}))
    assert outdated(database).outdated == []


def test_outdated_command_exit_status_and_json(db_path, installed_pm):
    fake = FakeLauncher([game(1, "100"), game(2, "200")])
    pm = installed_pm(fake=fake, steam=ExamplePlugin("steam", catalogue={"1": 101, "2": 200}))
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", str(db_path), "games", "import-launchers"]).exit_code == 0
    sync_library(db_path, pm=pm, config=Config(env={}))
    result = runner.invoke(cli, ["--db", str(db_path), "outdated"])
    assert result.exit_code == 4, result.output
    assert "Game 1 (steam:1): 100 → v101 (build 101)" in result.output
    data = json.loads(runner.invoke(cli, ["--db", str(db_path), "outdated", "--json"]).output)
    assert data["counts"] == {"installed": 2, "outdated": 1, "current": 1, "ahead": 0,
                              "not_compared": 0}
    fake.items = [game(1, "101"), game(2, "200")]
    assert runner.invoke(cli, ["--db", str(db_path), "outdated"]).exit_code == 0


def test_import_command_notes_a_missing_launcher_and_names_unknown_ones(db_path, installed_pm):
    missing = FakeLauncher()
    missing.missing = "no Steam client folder in /home/x/.steam/steam"
    installed_pm(gone=missing, fake=FakeLauncher([game(1)]))
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db_path), "games", "import-launchers"])
    assert result.exit_code == 0, result.output
    assert "gone: not found (no Steam client folder in /home/x/.steam/steam)" in result.output
    assert "added 1 new game(s); 0 already in the library" in result.output
    again = runner.invoke(cli, ["--db", str(db_path), "games", "import-launchers", "fake"])
    assert "added 0 new game(s); 1 already in the library" in again.output
    bad = runner.invoke(cli, ["--db", str(db_path), "games", "import-launchers", "nope"])
    assert bad.exit_code == 2 and "no launcher plugin named nope" in bad.output
    assert "Traceback" not in bad.output


def test_a_failing_launcher_makes_the_import_partial(db_path, installed_pm):
    broken = FakeLauncher()
    broken.fail = ValueError("bad")
    installed_pm(broken=broken)
    result = CliRunner().invoke(cli, ["--db", str(db_path), "games", "import-launchers",
                                      "--json"])
    assert result.exit_code == 3
    assert json.loads(result.output)["launchers"][0]["error"] == "ValueError: bad"


# -- branches ------------------------------------------------------------------------

def test_a_game_installed_on_a_beta_branch_is_tracked_there_unless_the_user_says(db):
    fake = FakeLauncher([game(10, "7001", branch="beta", kind="buildid@beta"),
                         game(20, "7002", branch="beta", kind="buildid@beta"), game(30)],
                        branch_setting="branches")
    pm = new_plugin_manager({"fake": fake})
    record_installed(db, read_launchers(pm, Config(env={})))
    user = Config(stores={"steam": {"branches": {"20": "public"}}}, env={})
    tracked = with_installed_branches(db, user, pm)
    assert tracked.stores["steam"]["branches"] == {"20": "public", "10": "beta"}
    assert user.stores["steam"]["branches"] == {"20": "public"}  # the user's config untouched
    no_setting = new_plugin_manager({"fake": FakeLauncher(branch_setting=None)})
    assert with_installed_branches(db, user, no_setting) is user


def test_the_digest_marks_updated_games_installed_here(db_path):
    from patchwatch import notify

    fake = FakeLauncher([game(1, "100"), game(2, "200", installed=False)])
    store = ExamplePlugin("steam", catalogue={"1": 100, "2": 200})
    pm = new_plugin_manager({"fake": fake, "steam": store})
    database = open_db(db_path)
    import_games(database, read_launchers(pm, Config(env={})))
    sync_library(db_path, pm=pm, config=Config(env={}))
    notify.prime(database)
    store.catalogue.update({"1": 101, "2": 201})
    sync_library(db_path, pm=pm, config=Config(env={}))
    rows = notify.pending_updates(database, Config(env={}))
    _, body = notify.digest(rows)
    lines = body.splitlines()
    assert any("Game 1" in line and "[installed here]" in line for line in lines)
    assert any("Game 2" in line and "[installed here]" not in line for line in lines)


def test_a_game_two_launchers_list_is_counted_once_by_the_one_that_knows_its_build(db_path):
    without = FakeLauncher([game(1, None)])
    with_build = FakeLauncher([game(1, "100")])
    pm = new_plugin_manager({"a": without, "b": with_build,
                             "steam": ExamplePlugin("steam", catalogue={"1": 101})})
    database = open_db(db_path)
    import_games(database, read_launchers(pm, Config(env={})))
    sync_library(db_path, pm=pm, config=Config(env={}))
    report = outdated(database)
    assert report.installed == 1 and [o.launcher for o in report.outdated] == ["b"]


def test_the_launchers_command_lists_each_plugin_and_what_it_found(installed_pm, monkeypatch):
    missing = FakeLauncher()
    missing.missing = "nothing here"
    installed_pm(fake=FakeLauncher([game(1), game(2, installed=False),
                                    LauncherWarning("/x.acf", "truncated")]),
                 gone=missing, off=FakeLauncher())
    monkeypatch.setenv("PATCHWATCH_DISABLE", "off")
    result = CliRunner().invoke(cli, ["launchers"])
    assert result.exit_code == 0, result.output
    first, *rest = result.output.splitlines()
    assert first.startswith("fake (Fake launcher): 1 installed, 1 owned but not installed; "
                            "1 file(s) skipped [")
    assert rest == ["  warning: /x.acf: truncated", "gone: not found (nothing here)",
                    "off: disabled"]
    data = json.loads(CliRunner().invoke(cli, ["launchers", "--json"]).output)
    assert [(d["name"], d.get("installed"), d.get("disabled")) for d in data] == [
        ("fake", 1, None), ("gone", 0, None), ("off", None, True)]


def test_a_game_removed_and_imported_again_is_linked_to_its_new_row(db):
    fake = FakeLauncher([game(1)])
    import_games(db, read(fake))
    add_game(db, "steam", "2")  # the highest row id now: the re-added game gets a new one
    (old_id,) = db.execute(f"SELECT game_id FROM {INSTALLED}").fetchone()
    db.execute("DELETE FROM games WHERE id = ?", [old_id])
    db.conn.commit()
    import_games(db, read(fake))
    (new_id,) = db.execute("SELECT id FROM games WHERE store_id = '1'").fetchone()
    assert new_id != old_id
    assert db.execute(f"SELECT game_id FROM {INSTALLED}").fetchone()[0] == new_id


def test_patchwatch_plugins_names_the_launcher_plugins_apart(installed_pm, tmp_path):
    installed_pm(fake=FakeLauncher(), steam=ExamplePlugin("steam"))
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "db"), "plugins"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert not any(line.startswith("fake ") for line in lines)  # not a store backend
    assert "launcher plugins: fake (`patchwatch launchers`)" in lines
