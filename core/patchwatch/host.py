"""What a detected build changes in the host's own tables (Backlogia's, when present).

Three things, all inside the transaction that records the update:

- a row in ``game_depot_updates`` (the table Backlogia's "Recent Updates" view reads);
- ``games.last_modified`` (its "Recently Updated" view and "Last Updated" sort) and
  ``games.game_version`` (the version shown on the game's page), where those columns exist;
- every timestamp in the format the host's column already holds.

The update's time is the store's publish time when that falls after the game's previous
check (so it is when the change really happened); otherwise (a rollback to an old build, a
build published long ago and only now made the default, no publish time) it is the detection
time, so the update still shows among recent ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlite_utils

from .db import BACKLOGIA_UPDATES, UPDATES

_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(?P<sep>[ T])\d{2}:\d{2}:\d{2}"
                    r"(?P<frac>\.\d+)?(?P<tz>Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class TimeFormat:
    """How a column writes its timestamps: ``2026-11-26 16:40:00`` (SQLite's
    ``CURRENT_TIMESTAMP``, the default), ``2026-11-26T16:40:00.000Z``, ..."""

    sep: str = " "
    frac: int = 0
    tz: str = ""

    def format(self, when: datetime) -> str:
        when = when.astimezone(timezone.utc)
        text = when.strftime(f"%Y-%m-%d{self.sep}%H:%M:%S")
        if self.frac:
            text += f"{when.microsecond / 1e6:.{self.frac}f}"[1:]
        return text + self.tz


SQL_FORMAT = TimeFormat()


def column_format(db: sqlite_utils.Database, table: str, column: str,
                  sample: int = 50) -> TimeFormat:
    """The format most of the column's newest ``sample`` values use (SQLite's when empty)."""
    counts: dict[TimeFormat, int] = {}
    for (value,) in db.execute(f"SELECT [{column}] FROM [{table}] WHERE [{column}] IS NOT NULL "
                               f"ORDER BY rowid DESC LIMIT {int(sample)}"):
        match = _STAMP.match(str(value))
        if match:
            tz = match["tz"] or ""
            fmt = TimeFormat(match["sep"], len(match["frac"] or "") - 1 if match["frac"] else 0,
                             "+00:00" if tz and tz != "Z" else tz)
            counts[fmt] = counts.get(fmt, 0) + 1
    return max(counts, key=counts.get) if counts else SQL_FORMAT  # type: ignore[arg-type]


def parse_time(value: Any) -> datetime | None:
    """A host or store timestamp as an aware UTC datetime (naive ones are taken as UTC)."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def update_time(published_at: str | None, last_checked: str | None,
                detected: datetime) -> datetime:
    """The publish time if it falls after the game's previous check, else ``detected``."""
    published, checked = parse_time(published_at), parse_time(last_checked)
    if published is not None and published <= detected and (checked is None or published > checked):
        return published
    return detected


class HostTables:
    """The host's tables as this database has them; built once per batch."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.depot = db[BACKLOGIA_UPDATES].exists()
        games = db["games"].columns_dict
        self.last_modified = "last_modified" in games
        self.game_version = "game_version" in games
        self.depot_format = column_format(db, BACKLOGIA_UPDATES, "update_timestamp") \
            if self.depot else SQL_FORMAT
        self.fetched_format = column_format(db, BACKLOGIA_UPDATES, "fetched_at") \
            if self.depot else SQL_FORMAT
        self.games_format = column_format(db, "games", "last_modified") \
            if self.last_modified else SQL_FORMAT

    def tracked_elsewhere(self, game_id: Any, since: str | None) -> bool:
        """Whether another tracker (Backlogia's own) wrote a ``game_depot_updates`` row for
        the game since its previous check: then the same update must not get a second row."""
        if not self.depot:
            return False
        since_time = parse_time(since)
        if since_time is None:
            return False
        row = self.db.execute(
            f"""SELECT 1 FROM {BACKLOGIA_UPDATES} d
                WHERE d.game_id = ?
                  AND julianday(replace(coalesce(d.fetched_at, d.update_timestamp), 'Z', ''))
                      >= julianday(?)
                  AND NOT EXISTS (SELECT 1 FROM {UPDATES} p WHERE p.game_id = d.game_id
                                  AND p.new_value = d.manifest_id)
                LIMIT 1""",
            [game_id, since_time.strftime("%Y-%m-%d %H:%M:%S")]).fetchone()
        return row is not None

    def record_build(self, game_id: Any, depot_id: str, manifest_id: str, when: datetime,
                     detected: datetime, version: str | None, *, depot_row: bool) -> None:
        """Write one detected build where the host looks for it."""
        if self.depot and depot_row:
            self.db.execute(
                f"INSERT INTO {BACKLOGIA_UPDATES} (game_id, depot_id, manifest_id, "
                "update_timestamp, fetched_at) VALUES (?, ?, ?, ?, ?)",
                [game_id, depot_id, manifest_id, self.depot_format.format(when),
                 self.fetched_format.format(detected)])
        sets, params = [], []
        if self.last_modified:
            current = self.db.execute("SELECT last_modified FROM games WHERE id = ?",
                                      [game_id]).fetchone()
            newer = parse_time(current[0]) if current else None
            if newer is None or newer < when:  # never moves it backwards
                sets.append("last_modified = ?")
                params.append(self.games_format.format(when))
        if self.game_version and version:
            sets.append("game_version = ?")
            params.append(version)
        if sets:
            self.db.execute(f"UPDATE games SET {', '.join(sets)} WHERE id = ?",
                            [*params, game_id])
