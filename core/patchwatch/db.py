"""Opening the SQLite database and keeping its schema: the one place that knows tables."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator

import sqlite_utils

from .errors import DatabaseError

SIGNALS = "patchwatch_signals"
CHECKS = "patchwatch_checks"
UPDATES = "patchwatch_updates"
RUNS = "patchwatch_runs"
PLUGIN_STATE = "patchwatch_plugin_state"
OUTBOX = "patchwatch_outbox"
NOTIFY_STATE = "patchwatch_notify_state"
INSTALLED = "patchwatch_installed"
LAUNCHER_CACHE = "patchwatch_launcher_cache"
BACKLOGIA_UPDATES = "game_depot_updates"
BUSY_TIMEOUT_MS = 5000


TABLES: dict[str, tuple[dict[str, type], str | tuple[str, ...], list[list[str]]]] = {
    SIGNALS: (
        {"game_id": int, "kind": str, "value": str, "version": str, "published_at": str,
         "is_build": int, "detail": str, "plugin": str, "first_seen": str, "last_seen": str},
        ("game_id", "kind"), [],
    ),
    CHECKS: (
        # game_id typed BLOB (no conversion): as a key, INTEGER would refuse a host's
        # TEXT/UUID game ids ("datatype mismatch"); TEXT would turn 5 into '5'.
        {"game_id": bytes, "store": str, "plugin": str, "status": str, "message": str,
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
         "total": int, "processed": int, "pid": int, "resumed_from": int, "summary": str,
         "heartbeat_at": str},
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
    INSTALLED: (  # what the launchers on this machine know; see launchers.py
        # game_id typed BLOB (no conversion), as in CHECKS: a host's ids may be text.
        {"launcher": str, "store": str, "store_id": str, "game_id": bytes, "title": str,
         "installed": int, "build": str, "kind": str, "version": str, "branch": str,
         "install_path": str, "update_pending": int, "source": str, "extra": str,
         "first_seen": str, "changed_at": str},
        ("launcher", "store", "store_id"), [["game_id"]],
    ),
    LAUNCHER_CACHE: (  # each launcher plugin's read cache, as JSON; see launchers.py
        {"name": str, "data": str, "updated_at": str, "fingerprint": str},
        "name", [],
    ),
}
"""patchwatch's own tables: columns, primary key, indexes."""


LOCK_WAIT = 120.0
"""Default seconds a write waits for another program's write lock (a host's long transaction)."""

TIMESTAMP_SQL = "%Y-%m-%d %H:%M:%S"
"""SQLite's ``CURRENT_TIMESTAMP`` form (UTC), the one Backlogia's tables hold."""


def open_db(path: str | Path, *, create: bool = True, read_only: bool = False,
            wal: bool = False, lock_wait: float = LOCK_WAIT) -> sqlite_utils.Database:
    """Open the database; for writing, create it and the schema when missing.

    ``read_only`` opens an existing file without creating or changing anything (a missing
    file is an error). A file patchwatch creates is put in WAL mode; an existing file keeps
    the journal mode its owner chose unless ``wal`` opts in. Every write waits up to
    ``lock_wait`` seconds for another program's write lock. Raises :class:`DatabaseError`,
    naming the file, when it is missing, corrupt, read-only or locked.
    """
    if str(path) == ":memory:" or str(path).startswith("file::memory:"):
        raise DatabaseError(
            "database ':memory:' keeps nothing once the command ends: give a file path "
            "(--db or PATCHWATCH_DB)")
    path = Path(path)
    if (read_only or not create) and not path.is_file():
        raise DatabaseError(f"database not found: {path} (check --db or PATCHWATCH_DB)")
    try:
        new_file = not path.exists() or path.stat().st_size == 0
        if read_only:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
        # A host row with bytes that are not UTF-8 (one bad title) is read with U+FFFD
        # instead of making the whole table unreadable.
        conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
        db = sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)
        db.lock_wait = lock_wait  # type: ignore[attr-defined]
        db.read_only = read_only  # type: ignore[attr-defined]
        if read_only:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fails if corrupt
        else:
            if (new_file or wal) and db.journal_mode != "wal":
                db.enable_wal()
            ensure_schema(db)
    except (sqlite3.Error, OSError) as exc:
        raise database_error(path, exc) from None
    return db


class LockWaitError(sqlite3.OperationalError):
    """Another program held the write lock for longer than ``lock_wait``."""

    def __init__(self, waited: float, attempts: int) -> None:
        super().__init__(f"database is locked (waited {waited:.1f} s over {attempts} attempts)")
        self.waited, self.attempts = waited, attempts


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One short write transaction that takes the write lock up front (``BEGIN IMMEDIATE``).

    A deferred transaction that reads and then writes cannot get the lock in WAL mode once
    another connection has committed, and the busy timeout does not help it. When another
    program holds the lock, keep trying for the database's ``lock_wait`` seconds, then raise
    :class:`LockWaitError` saying how long it waited. Nested use joins the open transaction.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():  # a savepoint inside the caller's transaction
            yield db
        return
    budget = getattr(db, "lock_wait", LOCK_WAIT)
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" not in text and "busy" not in text:
                raise
            waited = time.monotonic() - started
            if waited >= budget:
                raise LockWaitError(waited, attempts) from None
            time.sleep(min(0.05 * attempts, 1.0, max(0.0, budget - waited)))
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    # COMMIT needs the lock too (in rollback-journal mode, readers must finish first).
    while True:
        try:
            conn.commit()
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc).lower() and "busy" not in str(exc).lower()) \
                    or time.monotonic() - started >= budget:
                conn.rollback()
                raise
            time.sleep(0.05)


def database_error(path: str | Path, exc: BaseException) -> DatabaseError:
    """Turn an sqlite3/OS error into one clear line that names the file."""
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered:
        why = "is not a valid SQLite database (corrupt?)"
    elif _on_read_only_mount(path) and ("unable to open" in lowered or "readonly" in lowered
                                        or "read-only" in lowered or isinstance(exc, OSError)):
        why = ("is on a read-only file system: patchwatch needs to write to it and to its "
               "-wal and -shm files next to it; remount it read-write or use another --db")
    elif "readonly" in lowered or "read-only" in lowered or isinstance(exc, PermissionError):
        why = "is read-only: patchwatch needs to write to it"
    elif isinstance(exc, LockWaitError):
        why = (f"is locked by another program: waited {exc.waited:.1f} s for its write lock "
               f"({exc.attempts} attempts; raise lock_wait to wait longer)")
    elif "locked" in lowered or "busy" in lowered:
        why = f"is locked by another program (waited {BUSY_TIMEOUT_MS / 1000:g} s)"
    elif "unable to open" in lowered:
        why = "cannot be opened (missing folder or no permission?)"
    else:
        why = f"failed: {text}"
    return DatabaseError(f"database {path} {why} [{text}]")


def _on_read_only_mount(path: str | Path) -> bool:
    """Whether the nearest existing folder of ``path`` is on a file system mounted read-only."""
    folder = Path(path).absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): say nothing
        return False


def db_file(db: sqlite_utils.Database) -> str:
    """The file behind a connection, for error messages."""
    return db.conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:"


def has_table(db: sqlite_utils.Database, table: str) -> bool:
    """Whether ``table`` exists (a read-only open of a host database may lack ours)."""
    return db[table].exists()


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create what is missing; never alter a host's existing ``games`` columns."""
    if all(db[t].exists() for t in TABLES) and db[BACKLOGIA_UPDATES].exists() \
            and db["games"].exists() and _up_to_date(db):
        return  # nothing to do: no write lock taken
    with write(db):
        if not db["games"].exists():
            # Backlogia-compatible library table, for the embedded default.
            db["games"].create(
                {"id": int, "name": str, "store": str, "store_id": str, "extra_data": str,
                 "added_at": str},
                pk="id",
            )
            db["games"].create_index(["store", "store_id"], unique=True)
        else:
            check_games_table(db)
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
        if _checks_need_any_id(db):
            db[CHECKS].transform(types={"game_id": bytes})
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


GAMES_COLUMNS = ("id", "store", "store_id")
"""The columns of a host's ``games`` table patchwatch needs."""


def check_games_table(db: sqlite_utils.Database) -> None:
    """Raise :class:`DatabaseError` in one line when ``games`` is missing or lacks a column."""
    if not db["games"].exists():
        raise DatabaseError(f"database {db_file(db)} has no games table (is it a game library?)")
    missing = set(GAMES_COLUMNS) - set(db["games"].columns_dict)
    if missing:
        raise DatabaseError(f"table games in {db_file(db)} lacks column(s) "
                            f"{', '.join(sorted(missing))}: patchwatch needs "
                            f"{', '.join(GAMES_COLUMNS)}")


def _up_to_date(db: sqlite_utils.Database) -> bool:
    missing = {"id", "store", "store_id"} - set(db["games"].columns_dict)
    if missing or _checks_need_any_id(db):
        return False
    return all(set(columns) <= set(db[table].columns_dict)
               for table, (columns, _, _) in TABLES.items())


def _checks_need_any_id(db: sqlite_utils.Database) -> bool:
    """Whether an older patchwatch_checks keys ``game_id`` as INTEGER (a rowid, which refuses
    text) while the host's game ids are not integers (TEXT or UUID primary keys)."""
    return (db[CHECKS].exists() and db["games"].exists()
            and db["games"].columns_dict.get("id") is not int
            and db[CHECKS].columns_dict.get("game_id") is int)
