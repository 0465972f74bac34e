"""Opening the SQLite database and keeping its schema: the one place that knows tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from .errors import DatabaseError

SIGNALS = "patchwatch_signals"
CHECKS = "patchwatch_checks"
UPDATES = "patchwatch_updates"
RUNS = "patchwatch_runs"
PLUGIN_STATE = "patchwatch_plugin_state"
OUTBOX = "patchwatch_outbox"
NOTIFY_STATE = "patchwatch_notify_state"
BACKLOGIA_UPDATES = "game_depot_updates"
BUSY_TIMEOUT_MS = 5000


TABLES: dict[str, tuple[dict[str, type], str | tuple[str, ...], list[list[str]]]] = {
    SIGNALS: (
        {"game_id": int, "kind": str, "value": str, "version": str, "published_at": str,
         "is_build": int, "detail": str, "plugin": str, "first_seen": str, "last_seen": str},
        ("game_id", "kind"), [],
    ),
    CHECKS: (
        {"game_id": int, "store": str, "plugin": str, "status": str, "message": str,
         "checked_at": str, "run_id": int},
        "game_id", [["run_id"]],
    ),
    UPDATES: (
        {"id": int, "game_id": int, "store": str, "store_id": str, "title": str, "kind": str,
         "old_value": str, "new_value": str, "old_version": str, "version": str,
         "published_at": str, "is_build": int, "plugin": str, "detected_at": str,
         "run_id": int, "store_url": str, "notes_url": str, "notes": str},
        "id", [["detected_at"], ["game_id"]],
    ),
    RUNS: (
        {"id": int, "started_at": str, "finished_at": str, "status": str, "stores": str,
         "total": int, "processed": int, "pid": int, "resumed_from": int, "summary": str},
        "id", [],
    ),
    PLUGIN_STATE: (
        {"name": str, "failures": int, "off_until": str, "last_error": str, "state": str,
         "settings": str, "updated_at": str},
        "name", [],
    ),
    OUTBOX: (  # one row per digest and destination; see notify.py
        {"id": int, "created_at": str, "destination": str, "title": str, "body": str,
         "update_ids": str, "status": str, "attempts": int, "next_attempt_at": str,
         "sending_at": str, "sending_pid": int, "sent_at": str, "last_error": str},
        "id", [["status", "next_attempt_at"]],
    ),
    NOTIFY_STATE: (  # the last update id already turned into a digest
        {"name": str, "value": str},
        "name", [],
    ),
}
"""patchwatch's own tables: columns, primary key, indexes."""


def open_db(path: str | Path, *, create: bool = True) -> sqlite_utils.Database:
    """Open (and if needed create) the database with WAL on and the schema in place.

    Raises :class:`DatabaseError`, naming the file, when it is corrupt, read-only or locked.
    """
    path = Path(path)
    if not create and not path.exists():
        raise DatabaseError(f"database not found: {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        if db.journal_mode != "wal":
            db.enable_wal()
        ensure_schema(db)
    except (sqlite3.Error, OSError) as exc:
        raise database_error(path, exc) from None
    return db


def database_error(path: str | Path, exc: BaseException) -> DatabaseError:
    """Turn an sqlite3/OS error into one clear line that names the file."""
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered:
        why = "is not a valid SQLite database (corrupt?)"
    elif "readonly" in lowered or "read-only" in lowered or isinstance(exc, PermissionError):
        why = "is read-only: patchwatch needs to write to it"
    elif "locked" in lowered or "busy" in lowered:
        why = f"is locked by another program (waited {BUSY_TIMEOUT_MS // 1000} s)"
    elif "unable to open" in lowered:
        why = "cannot be opened (missing folder or no permission?)"
    else:
        why = f"failed: {text}"
    return DatabaseError(f"database {path} {why} [{text}]")


def db_file(db: sqlite_utils.Database) -> str:
    """The file behind a connection, for error messages."""
    return db.conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:"


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create what is missing; never alter a host's existing ``games`` columns."""
    with db.atomic():
        if not db["games"].exists():
            # Backlogia-compatible library table, for the embedded default.
            db["games"].create(
                {"id": int, "name": str, "store": str, "store_id": str, "extra_data": str,
                 "added_at": str},
                pk="id",
            )
            db["games"].create_index(["store", "store_id"], unique=True)
        else:
            missing = {"id", "store", "store_id"} - set(db["games"].columns_dict)
            if missing:
                raise DatabaseError(
                    f"table games in {db_file(db)} "
                    f"lacks column(s) {', '.join(sorted(missing))}"
                )
        if not db[BACKLOGIA_UPDATES].exists():
            # The table Backlogia reads detected updates from, in its own shape.
            db.execute(
                f"""CREATE TABLE {BACKLOGIA_UPDATES} (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    game_id INTEGER NOT NULL,
                    depot_id TEXT,
                    manifest_id TEXT,
                    update_timestamp TIMESTAMP,
                    fetched_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                    FOREIGN KEY (game_id) REFERENCES games(id) ON DELETE CASCADE
                )"""
            )
        for table, (columns, pk, indexes) in TABLES.items():
            if not db[table].exists():
                db[table].create(columns, pk=pk)
                for index in indexes:
                    db[table].create_index(index)
            else:  # a database from an older patchwatch: add what is new
                have = db[table].columns_dict
                for column, kind in columns.items():
                    if column not in have:
                        db[table].add_column(column, kind)
