"""patchwatch runs on a Backlogia database without changing its columns."""

from __future__ import annotations

import json
import sqlite3

from patchwatch.library import load_games
from patchwatch.db import open_db
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin

BACKLOGIA_GAMES = """
CREATE TABLE games (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    store TEXT NOT NULL,
    store_id TEXT,
    description TEXT,
    cover_image TEXT,
    playtime_hours REAL,
    extra_data TEXT,
    added_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_modified TEXT,
    hidden BOOLEAN DEFAULT 0,
    UNIQUE(store, store_id)
)"""

BACKLOGIA_DEPOT_UPDATES = """
CREATE TABLE game_depot_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    game_id INTEGER NOT NULL,
    depot_id TEXT,
    manifest_id TEXT,
    update_timestamp TIMESTAMP,
    fetched_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (game_id) REFERENCES games(id) ON DELETE CASCADE
)"""


def make_backlogia(path):
    conn = sqlite3.connect(path)
    conn.execute(BACKLOGIA_GAMES)
    conn.execute(BACKLOGIA_DEPOT_UPDATES)
    conn.executemany(
        "INSERT INTO games (name, store, store_id, extra_data, playtime_hours) VALUES (?,?,?,?,?)",
        [("Dota 2", "steam", "570", None, 12.5),
         ("Fortnite", "epic", "Fortnite",
          json.dumps({"namespace": "fn", "catalog_item_id": "abc"}), 0),
         ("Local thing", "local", "x", None, 0)],
    )
    conn.commit()
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
