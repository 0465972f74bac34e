"""patchwatch runs on a Backlogia database without changing its columns."""

from __future__ import annotations

import json
import time
import sqlite3
from datetime import datetime, timezone

from patchwatch.library import load_games
from patchwatch.db import open_db
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin
from patchwatch.testing.backlogia import create_backlogia_db

def make_backlogia(path):
    create_backlogia_db(path, [
        {"name": "Dota 2", "store": "steam", "store_id": "570", "playtime_hours": 12.5},
        {"name": "Fortnite", "store": "epic", "store_id": "Fortnite",
         "extra_data": json.dumps({"namespace": "fn", "catalog_item_id": "abc"})},
        {"name": "Local thing", "store": "local", "store_id": "x"},
    ])
    conn = sqlite3.connect(path)
    schema = conn.execute("SELECT sql FROM sqlite_master WHERE name='games'").fetchone()[0]
    conn.close()
    return schema


def test_backlogia_library_is_read_and_updates_land_where_backlogia_reads(db_path, make_pm,
                                                                         config):
    schema_before = make_backlogia(db_path)
    steam = ExamplePlugin("steam", catalogue={"570": 1000})
    epic = ExamplePlugin("epic", catalogue={"Fortnite": "++Fortnite+Release-30.00"},
                         kind="build_version")
    pm = make_pm(steam=steam, epic=epic)

    games = {g.store_id: g for g in load_games(open_db(db_path))}
    assert games["570"].title == "Dota 2"
    assert json.loads(games["Fortnite"].row["extra_data"])["namespace"] == "fn"

    first = sync_library(db_path, pm=pm, config=config)
    assert first.baselines == 2 and [u.store for u in first.unsupported] == ["local"]

    steam.catalogue["570"] = 1001
    second = sync_library(db_path, pm=pm, config=config)
    assert len(second.updated) == 1

    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT g.name, u.depot_id, u.manifest_id, u.update_timestamp IS NOT NULL "
        "FROM game_depot_updates u JOIN games g ON g.id = u.game_id").fetchall()
    assert rows == [("Dota 2", "buildid", "1001", 1)]
    schema_after = conn.execute("SELECT sql FROM sqlite_master WHERE name='games'").fetchone()[0]
    assert schema_after == schema_before
    assert conn.execute("SELECT playtime_hours FROM games WHERE store_id='570'").fetchone() == (12.5,)
    conn.close()


# -- blocker 1: the host writes while patchwatch syncs ---------------------------

import pytest  # noqa: E402

from patchwatch import db as db_module  # noqa: E402
from patchwatch.db import CHECKS, SIGNALS  # noqa: E402
from patchwatch.testing.backlogia import HostWriter, hide_game, steam_row  # noqa: E402


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_sync_survives_host_writes_and_a_long_host_transaction(db_path, make_pm, config,
                                                               monkeypatch, journal):
    """3,000 games while Backlogia writes every 5 ms and once holds the write lock for longer
    than the busy timeout: no error on either side, every answer saved.
    (bench/host_lock.py runs the full case: a write every 50 ms and a 20 s hold.)"""
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 400)
    n = 3000
    create_backlogia_db(db_path, [steam_row(i, f"Game {i}") for i in range(1, n + 1)])
    if journal == "wal":
        sqlite3.connect(db_path).execute("PRAGMA journal_mode=wal").close()
    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, n + 1)})
    plugin.delay = 0.0008
    config.lock_wait = 30
    with HostWriter(db_path, list(range(1, n + 1)), every=0.005, hold=1.5,
                    hold_after=0.3) as host:
        summary = sync_library(db_path, pm=make_pm(p=plugin), config=config)
        assert host.held.is_set(), "the long host transaction must overlap the sync"
    assert host.errors == []
    assert host.writes > 50
    assert summary.checked == n and summary.failures == []
    db = open_db(db_path)
    assert db[SIGNALS].count == n and db[CHECKS].count == n
    assert db.journal_mode == journal  # the host's choice is kept


# -- gaps: rows as Backlogia's importers fill them --------------------------------

from patchwatch.testing.backlogia import (  # noqa: E402
    epic_row, gog_galaxy_row, gog_heroic_row, insert_game)


def test_heroic_gog_row_with_null_store_id_reaches_the_gog_plugin(db_path, make_pm, config):
    create_backlogia_db(db_path, [
        gog_galaxy_row("1207658924", "The Witcher"),
        gog_heroic_row("1423049311", "Cyberpunk 2077"),
        {"name": "Mystery", "store": "gog", "store_id": None, "extra_data": "{}"},
        epic_row("Fortnite", "Fortnite", "fn", "4fe7"),
        steam_row(570, "Dota 2"),
    ])
    gog = ExamplePlugin("gog", catalogue={"1207658924": 1, "1423049311": 2}, kind="build_id")
    summary = sync_library(db_path, pm=make_pm(gog=gog,
                                               steam=ExamplePlugin(catalogue={"570": 1})),
                           config=config)
    assert sorted(gog.calls[0]) == ["1207658924", "1423049311"]
    assert summary.checked == 3
    # The row with no id anywhere is reported by name, not silently dropped.
    assert [(f.title, f.status) for f in summary.failures] == [("Mystery", "error")]
    assert "no store_id" in summary.failures[0].message
    assert [u.store for u in summary.unsupported] == ["epic"]
    assert summary.total == 5


# -- blocker 3: Backlogia's "recently updated" views find a detected build --------

import re  # noqa: E402

from patchwatch import Signal, StoreInfo, hookimpl  # noqa: E402
from patchwatch.testing.backlogia import (  # noqa: E402
    old_tracker_update, recent_updates_detected, recently_updated)

SQL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


class Published:
    """A store plugin whose builds carry a publish time."""

    def __init__(self, builds):
        self.builds = builds  # store_id -> (build id, version, published_at)

    @hookimpl
    def store_info(self):
        return StoreInfo(store="steam")

    @hookimpl
    def check_updates_bulk(self, games):
        for game in games:
            value, version, published = self.builds[game.store_id]
            yield game.id, Signal("buildid", value, version=version, published_at=published)


def _rows(db_path, sql, params=()):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_detected_build_sets_last_modified_and_version_and_shows_in_recent_views(
        db_path, make_pm, config):
    create_backlogia_db(db_path, [steam_row(570, "Dota 2"), steam_row(730, "CS2"),
                                  steam_row(440, "TF2")])
    plugin = Published({"570": ("1", "1.0", None), "730": ("5", "2.0", None),
                        "440": ("9", "3.0", None)})
    pm = make_pm(steam=plugin)
    sync_library(db_path, pm=pm, config=config)
    conn = sqlite3.connect(db_path)
    assert recently_updated(conn) == [] and recent_updates_detected(conn) == []
    conn.close()
    # A new build published just now, a rollback to a build published in 2019, and no change.
    time.sleep(1.1)  # check times are kept to the second
    just_now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    plugin.builds.update({"570": ("2", "1.1", just_now),
                          "730": ("4", "1.9", "2019-03-01T10:00:00Z")})
    summary = sync_library(db_path, pm=pm, config=config)
    assert len(summary.updated) == 2
    conn = sqlite3.connect(db_path)
    try:
        assert sorted(recently_updated(conn)) == ["CS2", "Dota 2"]
        assert recent_updates_detected(conn) == ["CS2", "Dota 2"]
        rows = dict(((name, (lm, gv)) for name, lm, gv in conn.execute(
            "SELECT name, last_modified, game_version FROM games")))
        assert rows["Dota 2"][1] == "1.1" and rows["CS2"][1] == "1.9"
        assert rows["TF2"] == (None, None)
        assert all(SQL_TIME.match(rows[n][0]) for n in ("Dota 2", "CS2"))
        # The build published after the previous check keeps its publish time.
        assert rows["Dota 2"][0] == just_now[:19].replace("T", " ")
        depot = conn.execute("SELECT g.name, u.update_timestamp, u.fetched_at "
                             "FROM game_depot_updates u JOIN games g ON g.id = u.game_id "
                             "ORDER BY g.name").fetchall()
        assert [d[0] for d in depot] == ["CS2", "Dota 2"]
        assert all(SQL_TIME.match(t) for d in depot for t in d[1:])
        # The rollback's 2019 publish time would hide it: the detection time is used.
        assert not depot[0][1].startswith("2019")
        assert conn.execute("SELECT MAX(update_timestamp) FROM game_depot_updates"
                            ).fetchone()[0] == max(d[1] for d in depot)
    finally:
        conn.close()


def test_timestamps_follow_the_format_the_host_table_holds(db_path, make_pm, config):
    create_backlogia_db(db_path, [steam_row(570, "Dota 2"), steam_row(10, "CS")])
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO game_depot_updates (game_id, depot_id, manifest_id, "
                 "update_timestamp, fetched_at) VALUES (2, 'x', 'y', "
                 "'2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z')")
    conn.commit()
    conn.close()
    plugin = Published({"570": ("1", None, None), "10": ("1", None, None)})
    sync_library(db_path, pm=make_pm(steam=plugin), config=config)
    plugin.builds["570"] = ("2", None, None)
    sync_library(db_path, pm=make_pm(steam=plugin), config=config)
    stamp = _rows(db_path, "SELECT update_timestamp FROM game_depot_updates WHERE game_id = 1")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", stamp[0][0])


def test_an_update_backlogias_own_tracker_recorded_gets_no_second_row(db_path, make_pm,
                                                                     config):
    create_backlogia_db(db_path, [steam_row(570, "Dota 2")])
    plugin = Published({"570": ("1", "1.0", None)})
    sync_library(db_path, pm=make_pm(steam=plugin), config=config)
    conn = sqlite3.connect(db_path)
    old_tracker_update(conn, 1, "steam", "570", datetime.now().isoformat())
    conn.close()
    time.sleep(1.1)  # patchwatch keeps check times to the second
    plugin.builds["570"] = ("2", "1.1", None)
    summary = sync_library(db_path, pm=make_pm(steam=plugin), config=config)
    assert len(summary.updated) == 1 and summary.host_tracked == 1
    assert _rows(db_path, "SELECT count(*) FROM game_depot_updates") == [(1,)]
    # Without a new host row, the next build gets its own row as usual.
    plugin.builds["570"] = ("3", "1.2", None)
    sync_library(db_path, pm=make_pm(steam=plugin), config=config)
    assert _rows(db_path, "SELECT depot_id, manifest_id FROM game_depot_updates "
                          "ORDER BY id")[-1] == ("buildid", "3")


# -- gaps: the command line on a Backlogia database --------------------------------

from click.testing import CliRunner  # noqa: E402

from patchwatch.cli import cli  # noqa: E402


@pytest.fixture
def pw(tmp_path, monkeypatch):
    monkeypatch.delenv("PATCHWATCH_DB", raising=False)
    monkeypatch.delenv("PATCHWATCH_DISABLE", raising=False)
    monkeypatch.setenv("PATCHWATCH_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("timeout = 5\n")

    def invoke(*args, env=None):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
    return invoke


def _tables(path):
    conn = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'"))
    finally:
        conn.close()


def _journal(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()


def test_read_commands_change_nothing_and_sync_keeps_the_journal_mode(db_path, pw,
                                                                      installed_pm):
    installed_pm(steam_x=ExamplePlugin(catalogue={"570": 1}))
    create_backlogia_db(db_path, [steam_row(570, "Dota 2")])
    before = _tables(db_path)
    for command in (["plugins"], ["updates"], ["games", "list"]):
        result = pw(*command, "--db", str(db_path))  # --db after the command
        assert result.exit_code == 0, result.output
    assert _tables(db_path) == before and _journal(db_path) == "delete"
    assert "Dota 2" in pw("games", "list", "--db", str(db_path)).output
    assert pw("sync", "--db", str(db_path)).exit_code == 0
    assert _journal(db_path) == "delete"
    assert "patchwatch_signals" in _tables(db_path)


def test_read_commands_on_a_mistyped_path_are_errors_and_create_nothing(tmp_path, pw):
    missing = tmp_path / "game_libary.db"
    for command in (["updates"], ["games", "list"]):
        result = pw("--db", str(missing), *command)
        assert result.exit_code == 1 and "database not found" in result.output
    assert not missing.exists()


def test_memory_database_is_refused_for_writing(pw):
    result = pw("games", "add", "steam", "570", env={"PATCHWATCH_DB": ":memory:"})
    assert result.exit_code == 1 and ":memory:" in result.output
    assert "game 1" not in result.output


def test_games_add_on_backlogia_fills_name(db_path, pw):
    create_backlogia_db(db_path)
    assert pw("games", "add", "steam", "570", "--db", str(db_path)).exit_code == 0
    assert pw("games", "add", "steam", "730", "CS2", "--db", str(db_path)).exit_code == 0
    assert _rows(db_path, "SELECT name, store, store_id FROM games ORDER BY id") == [
        ("steam:570", "steam", "570"), ("CS2", "steam", "730")]
    # The host's own default fills added_at, in its own format.
    assert all(SQL_TIME.match(r[0]) for r in _rows(db_path, "SELECT added_at FROM games"))


def test_unsupported_stores_are_listed_without_exit_3(db_path, pw, installed_pm):
    installed_pm(steam_x=ExamplePlugin(catalogue={"570": 1}))
    create_backlogia_db(db_path, [steam_row(570, "Dota 2"),
                                  {"name": "Local", "store": "local", "store_id": "x"}])
    result = pw("sync", "--db", str(db_path))
    assert result.exit_code == 0 and "UNSUPPORTED local:x" in result.output
    assert pw("sync", "--db", str(db_path), "--fail-unsupported").exit_code == 3


def test_hidden_and_removed_games_are_skipped_unless_asked(db_path, make_pm, config):
    create_backlogia_db(db_path, [steam_row(1, "Shown"), steam_row(2, "Hidden"),
                                  steam_row(3, "Removed")])
    conn = sqlite3.connect(db_path)
    hide_game(conn, 2)
    conn.execute("UPDATE games SET removed = 1 WHERE id = 3")
    conn.commit()
    conn.close()
    plugin = ExamplePlugin(catalogue={"1": 1, "2": 1, "3": 1})
    summary = sync_library(db_path, pm=make_pm(p=plugin), config=config)
    assert plugin.calls == [["1"]] and summary.skipped_hidden == 2
    summary = sync_library(db_path, pm=make_pm(p=plugin), config=config, include_hidden=True)
    assert sorted(plugin.calls[1]) == ["1", "2", "3"] and summary.baselines == 2


def test_rows_of_a_game_the_host_deleted_do_not_linger(db_path, make_pm, config):
    create_backlogia_db(db_path, [steam_row(1, "One"), steam_row(2, "Two")])
    plugin = ExamplePlugin(catalogue={"1": 1, "2": 1})
    sync_library(db_path, pm=make_pm(p=plugin), config=config)
    conn = sqlite3.connect(db_path)
    conn.execute("DELETE FROM games WHERE id = 2")
    conn.commit()
    conn.close()
    sync_library(db_path, pm=make_pm(p=plugin), config=config)
    for table in ("patchwatch_signals", "patchwatch_checks"):
        assert _rows(db_path, f"SELECT game_id FROM {table}") == [(1,)]


def test_sync_output_says_what_was_skipped_or_already_tracked(db_path, pw, installed_pm):
    installed_pm(steam_x=ExamplePlugin(catalogue={"1": 1, "2": 1}))
    create_backlogia_db(db_path, [steam_row(1, "Shown"), steam_row(2, "Hidden")])
    conn = sqlite3.connect(db_path)
    hide_game(conn, 2)
    conn.close()
    result = pw("sync", "--db", str(db_path))
    assert "1 games hidden or removed in the library were skipped" in result.output
