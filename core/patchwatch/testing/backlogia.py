"""A Backlogia-shaped library database, for host-compatibility tests.

The tables are written as Backlogia writes them (its own ``CREATE TABLE`` text, kept apart
from patchwatch's schema on purpose), so a test proves patchwatch works on them unchanged.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Iterable, Mapping

GAMES_SQL = """
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

DEPOT_UPDATES_SQL = """
CREATE TABLE game_depot_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    game_id INTEGER NOT NULL,
    depot_id TEXT,
    manifest_id TEXT,
    update_timestamp TIMESTAMP,
    fetched_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (game_id) REFERENCES games(id) ON DELETE CASCADE
)"""


def create_backlogia_db(path: str | Path, games: Iterable[Mapping[str, Any]] = (),
                        *, depot_updates: bool = True) -> Path:
    """Create Backlogia's tables at ``path`` and insert ``games`` (dicts of ``games`` columns)."""
    path = Path(path)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(GAMES_SQL)
            if depot_updates:
                conn.execute(DEPOT_UPDATES_SQL)
            for game in games:
                columns = ", ".join(game)
                marks = ", ".join("?" for _ in game)
                conn.execute(f"INSERT INTO games ({columns}) VALUES ({marks})", list(game.values()))
    finally:
        conn.close()
    return path
