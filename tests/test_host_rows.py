"""Host tables shaped unlike patchwatch's own: untyped or TEXT ids, odd bytes in a title."""

from __future__ import annotations

import json
import sqlite3
import uuid

from click.testing import CliRunner

from patchwatch.cli import cli
from patchwatch.db import open_db
from patchwatch.library import add_games, import_games, load_games, read_games_file
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin


def _host(db_path, sql, rows=()):
    conn = sqlite3.connect(db_path)
    conn.execute(sql)
    for row in rows:
        conn.execute(f"INSERT INTO games ({', '.join(row)}) VALUES "
                     f"({', '.join('?' for _ in row)})", list(row.values()))
    conn.commit()
    conn.close()


def test_untyped_store_id_column_gets_no_duplicate(db_path):
    _host(db_path, "CREATE TABLE games (id INTEGER PRIMARY KEY, name TEXT, store TEXT, store_id)",
          [{"name": "Dota 2", "store": "steam", "store_id": 570}])
    assert add_games(open_db(db_path), [{"store": "steam", "store_id": "570"}]) == [1]
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM games").fetchone() == (1,)


def test_text_and_uuid_primary_keys_sync_and_add(db_path, make_pm, config):
    first = str(uuid.uuid4())
    _host(db_path, "CREATE TABLE games (id TEXT PRIMARY KEY, name TEXT NOT NULL, store TEXT, "
                   "store_id TEXT)",
          [{"id": first, "name": "Dota 2", "store": "steam", "store_id": "570"}])
    [added] = add_games(open_db(db_path), [{"store": "steam", "store_id": "730"}])
    assert uuid.UUID(added) and added != first
    plugin = ExamplePlugin(catalogue={"570": 1, "730": 1})
    summary = sync_library(db_path, pm=make_pm(p=plugin), config=config)
    assert summary.baselines == 2 and summary.failures == []
    plugin.catalogue["570"] = 2
    summary = sync_library(db_path, pm=make_pm(p=plugin), config=config)
    assert [(u.game_id, u.new_value) for u in summary.updated] == [(first, "2")]
    games = {g.store_id: g for g in load_games(open_db(db_path))}
    assert games["570"].signals["buildid"].value == "2" and games["730"].title == "steam:730"


def test_json_import_keeps_570_as_570(db_path, tmp_path):
    _host(db_path, "CREATE TABLE games (id INTEGER PRIMARY KEY, name TEXT, store TEXT, "
                   "store_id REAL)")
    source = tmp_path / "games.json"
    source.write_text(json.dumps([{"store": "steam", "store_id": 570, "title": "Dota 2"},
                                  {"store": "gog", "store_id": 1207658924.0}]))
    add_games(open_db(db_path), read_games_file(source))
    assert sorted(g.store_id for g in load_games(open_db(db_path))) == ["1207658924", "570"]
    # Imported twice: still two games.
    add_games(open_db(db_path), read_games_file(source))
    assert len(load_games(open_db(db_path))) == 2


def test_a_title_that_is_not_utf8_is_checked_and_shown_with_a_replacement(
        db_path, make_pm, config, monkeypatch):
    _host(db_path, "CREATE TABLE games (id INTEGER PRIMARY KEY, name TEXT, store TEXT, "
                   "store_id TEXT)",
          [{"name": "Dota 2", "store": "steam", "store_id": "570"}])
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO games (name, store, store_id) "
                 "VALUES (CAST(x'436166e9' AS TEXT), 'steam', '10')")  # Latin-1 "Café"
    conn.commit()
    conn.close()
    summary = sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"570": 1, "10": 1})),
                           config=config)
    assert summary.checked == 2
    monkeypatch.setenv("PATCHWATCH_DB", str(db_path))
    result = CliRunner().invoke(cli, ["games", "list"], catch_exceptions=False)
    assert result.exit_code == 0 and "Caf\ufffd" in result.output


def test_checks_table_of_an_older_patchwatch_takes_text_game_ids(db_path, make_pm, config):
    _host(db_path, "CREATE TABLE games (id TEXT PRIMARY KEY, name TEXT, store TEXT, "
                   "store_id TEXT)",
          [{"id": "a1b2", "name": "Dota 2", "store": "steam", "store_id": "570"}])
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE patchwatch_checks (game_id INTEGER PRIMARY KEY, store TEXT, "
                 "plugin TEXT, status TEXT, message TEXT, checked_at TEXT, run_id INTEGER)")
    conn.commit()
    conn.close()
    summary = sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"570": 1})),
                           config=config)
    assert summary.baselines == 1
    assert open_db(db_path)["patchwatch_checks"].get("a1b2")["status"] == "ok"


def test_a_large_import_finds_host_rows_of_every_shape(db_path):
    """Past a few games the lookup runs on an indexed copy of the keys: it must find the same
    rows as the one-query lookup (typeless and REAL ids, any case of store, id in extra_data)."""
    _host(db_path, "CREATE TABLE games (id INTEGER PRIMARY KEY, name TEXT, store TEXT, "
                   "store_id, extra_data TEXT)",
          [{"store": "Steam ", "store_id": 570}, {"store": "steam", "store_id": 730.0},
           {"store": "gog", "store_id": None, "extra_data": '{"app_name": "1207658924"}'},
           {"store": "gog", "store_id": "", "extra_data": "{not json"},
           {"store": "epic", "store_id": " Fortnite "}]
          + [{"store": "steam", "store_id": str(1000 + k)} for k in range(40)])
    rows = ([{"store": "STEAM", "store_id": "570"}, {"store": "steam", "store_id": "730"},
             {"store": "gog", "store_id": 1207658924}, {"store": "epic", "store_id": "Fortnite"}]
            + [{"store": "steam", "store_id": 1000 + k} for k in range(40)]
            + [{"store": "steam", "store_id": "9"}, {"store": "steam", "store_id": "9"}])
    db = open_db(db_path)
    counts = import_games(db, rows)
    assert (counts.added, counts.existing, counts.refused) == (1, len(rows) - 1, [])
    total = sqlite3.connect(db_path).execute("SELECT count(*) FROM games").fetchone()[0]
    assert total == 46
    assert db.execute("SELECT name FROM sqlite_temp_master").fetchall() == []  # cleaned up
    # add_games takes the same path and gives the existing rows' ids.
    assert add_games(open_db(db_path), rows[:3] * 10)[:3] == [1, 2, 3]
