"""A Backlogia-shaped library database, for host-compatibility tests.

The tables are written as Backlogia writes them (its own ``CREATE TABLE`` and ``ALTER TABLE``
steps, kept apart from patchwatch's schema on purpose), so a test proves patchwatch works on
them unchanged. Facts come from Backlogia's ``updates-and-news`` branch
(github.com/davidp57/backlogia) unless a comment names another branch; the file each fact
comes from is named next to it. The database is left in SQLite's default rollback-journal
mode, because Backlogia opens it with a plain ``sqlite3.connect`` (web/database.py: get_db)
and never switches it to WAL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

# web/services/database_builder.py: create_database() (the base games table).
GAMES_SQL = """
CREATE TABLE games (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    store TEXT NOT NULL,
    store_id TEXT,
    description TEXT,
    developers TEXT,
    publishers TEXT,
    genres TEXT,
    cover_image TEXT,
    background_image TEXT,
    icon TEXT,
    supported_platforms TEXT,
    release_date TEXT,
    created_date TEXT,
    last_modified TEXT,
    playtime_hours REAL,
    critics_score REAL,
    average_rating REAL,
    can_run_offline BOOLEAN,
    dlcs TEXT,
    extra_data TEXT,
    added_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(store, store_id)
)"""

GAMES_MIGRATIONS = (
    # web/database.py: ensure_extra_columns()
    "ALTER TABLE games ADD COLUMN hidden BOOLEAN DEFAULT 0",
    "ALTER TABLE games ADD COLUMN nsfw BOOLEAN DEFAULT 0",
    "ALTER TABLE games ADD COLUMN cover_url_override TEXT",
    # web/database.py on Backlogia's main branch: ensure_extra_columns() adds `removed`.
    "ALTER TABLE games ADD COLUMN removed BOOLEAN DEFAULT 0",
    # web/database.py: ensure_news_and_status_tables()
    "ALTER TABLE games ADD COLUMN development_status TEXT",
    "ALTER TABLE games ADD COLUMN game_version TEXT",
    "ALTER TABLE games ADD COLUMN status_last_synced TIMESTAMP",
    "ALTER TABLE games ADD COLUMN news_last_checked TIMESTAMP",
    "CREATE INDEX IF NOT EXISTS idx_games_store ON games(store)",
    "CREATE INDEX IF NOT EXISTS idx_games_last_modified ON games(last_modified)",
)

# web/database.py: ensure_news_and_status_tables()
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
DEPOT_UPDATES_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_game_depot_updates_game_id ON game_depot_updates(game_id)",
    "CREATE INDEX IF NOT EXISTS idx_game_depot_updates_timestamp "
    "ON game_depot_updates(update_timestamp DESC)",
)

# web/utils/filters.py: EXCLUDE_HIDDEN_FILTER (after EXCLUDE_DUPLICATES_FILTER).
EXCLUDE_HIDDEN_FILTER = """
    AND name NOT LIKE '% - Amazon Prime'
    AND name NOT LIKE '% - Amazon Luna'
    AND (hidden IS NULL OR hidden = 0)
"""
# web/utils/filters.py: PREDEFINED_QUERIES["recently-updated"] (the "Recently Updated" view).
RECENTLY_UPDATED = "last_modified >= DATE('now', '-30 days')"
# web/utils/filters.py: PREDEFINED_QUERIES["recent-updates-detected"] ("Recent Updates").
RECENT_UPDATES_DETECTED = ("id IN (SELECT game_id FROM game_depot_updates "
                           "WHERE update_timestamp >= datetime('now', '-30 days'))")


def create_backlogia_db(path: str | Path, games: Iterable[Mapping[str, Any]] = (),
                        *, depot_updates: bool = True, migrated: bool = True) -> Path:
    """Create Backlogia's tables at ``path`` and insert ``games`` (dicts of ``games`` columns).

    ``migrated`` applies Backlogia's column migrations (hidden, removed, game_version, ...);
    without it the table is the bare one an older Backlogia built.
    """
    path = Path(path)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(GAMES_SQL)
            if migrated:
                for statement in GAMES_MIGRATIONS:
                    conn.execute(statement)
            if depot_updates:
                conn.execute(DEPOT_UPDATES_SQL)
                for statement in DEPOT_UPDATES_INDEXES:
                    conn.execute(statement)
            for game in games:
                insert_game(conn, game)
    finally:
        conn.close()
    return path


def insert_game(conn: sqlite3.Connection, game: Mapping[str, Any]) -> int:
    columns = ", ".join(game)
    marks = ", ".join("?" for _ in game)
    return conn.execute(f"INSERT INTO games ({columns}) VALUES ({marks})",
                        list(game.values())).lastrowid


# -- rows as Backlogia's importers fill them ----------------------------------

def steam_row(appid: int, name: str, playtime_hours: float = 0.0) -> dict[str, Any]:
    """web/services/database_builder.py: import_steam_games(); the game dict from
    web/sources/steam.py (name, appid as an int, playtime_hours, icon_url) is extra_data."""
    game = {"name": name, "appid": appid, "playtime_hours": playtime_hours,
            "icon_url": f"https://media.steampowered.com/steamcommunity/public/images/apps/"
                        f"{appid}/icon.jpg"}
    return {"name": name, "store": "steam", "store_id": str(appid),
            "playtime_hours": playtime_hours, "extra_data": json.dumps(game)}


def epic_row(app_name: str, name: str, namespace: str, catalog_id: str,
             last_modified: str = "2024-05-02T10:11:12.345Z") -> dict[str, Any]:
    """web/services/database_builder.py: import_epic_games(); store_id is legendary's
    app_name and last_modified the catalog's lastModifiedDate (web/sources/epic.py)."""
    game = {"name": name, "app_name": app_name, "sku": catalog_id, "namespace": namespace,
            "last_modified": last_modified, "created_date": "2019-01-01T00:00:00.000Z",
            "store": "epic"}
    return {"name": name, "store": "epic", "store_id": app_name,
            "last_modified": last_modified, "extra_data": json.dumps(game)}


def gog_galaxy_row(product_id: str, name: str) -> dict[str, Any]:
    """web/services/database_builder.py: import_gog_games() from GOG Galaxy's database;
    store_id is the product id cut from the release key ``gog_<id>`` (web/sources/gog.py)."""
    game = {"name": name, "release_key": f"gog_{product_id}", "product_id": product_id,
            "developers": [], "publishers": [], "genres": [], "themes": [], "store": "gog"}
    return {"name": name, "store": "gog", "store_id": product_id,
            "extra_data": json.dumps(game)}


def gog_heroic_row(app_name: str, name: str) -> dict[str, Any]:
    """web/sources/gog.py reads Heroic's gog_store/library.json into {name, app_name,
    platform}; import_gog_games() stores game.get("product_id"), so store_id is NULL."""
    game = {"name": name, "app_name": app_name, "platform": "gog"}
    return {"name": name, "store": "gog", "store_id": None, "extra_data": json.dumps(game)}


# -- what Backlogia itself does to the database -------------------------------

def recently_updated(conn: sqlite3.Connection) -> list[str]:
    """Names in the "Recently Updated" view, as web/routes/library.py builds it."""
    return [r[0] for r in conn.execute(
        "SELECT name FROM games WHERE 1=1" + EXCLUDE_HIDDEN_FILTER
        + f" AND {RECENTLY_UPDATED} ORDER BY last_modified DESC")]


def recent_updates_detected(conn: sqlite3.Connection) -> list[str]:
    """Names in the "Recent Updates" view (rows of game_depot_updates, last 30 days)."""
    return [r[0] for r in conn.execute(
        "SELECT name FROM games WHERE 1=1" + EXCLUDE_HIDDEN_FILTER
        + f" AND {RECENT_UPDATES_DETECTED} ORDER BY name")]


def hide_game(conn: sqlite3.Connection, game_id: int, hidden: bool = True) -> None:
    """web/routes/api_metadata.py: the hide endpoint, one UPDATE then commit."""
    conn.execute("UPDATE games SET hidden = ? WHERE id = ?", (1 if hidden else 0, game_id))
    conn.commit()


def old_tracker_update(conn: sqlite3.Connection, game_id: int, store: str, store_id: str,
                       new_last_modified: str) -> None:
    """Backlogia's own tracker on a version change (web/services/update_tracker.py:
    check_updates_for_game): last_modified set, a depot row with depot_id ``store:store_id``,
    manifest_id ``version_update`` and fetched_at from ``datetime.now().isoformat()``."""
    from datetime import datetime

    conn.execute("UPDATE games SET last_modified = ? WHERE id = ?", (new_last_modified, game_id))
    conn.execute("INSERT INTO game_depot_updates (game_id, depot_id, manifest_id, "
                 "update_timestamp, fetched_at) VALUES (?, ?, ?, ?, ?)",
                 (game_id, f"{store}:{store_id}", "version_update", new_last_modified,
                  datetime.now().isoformat()))
    conn.commit()


class HostWriter:
    """Backlogia's web app writing while patchwatch syncs: one short write every ``every``
    seconds (the hide endpoint above), and once a long write transaction of ``hold``
    seconds (an import, which writes every game in one transaction before it commits:
    web/services/database_builder.py). Errors are collected, never raised.

    Backlogia connects with ``sqlite3.connect(DATABASE_PATH)`` (web/database.py: get_db),
    so the host waits at most sqlite3's default 5 s for a lock.
    """

    def __init__(self, path: str | Path, game_ids: list[int], *, every: float = 0.05,
                 hold: float = 0.0, hold_after: float = 0.5) -> None:
        self.path, self.game_ids = str(path), game_ids
        self.every, self.hold, self.hold_after = every, hold, hold_after
        self.writes = 0
        self.errors: list[str] = []
        self.held = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backlogia-host", daemon=True)

    def __enter__(self) -> "HostWriter":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self.hold + 30)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path)
        started = time.monotonic()
        n = 0
        try:
            while not self._stop.is_set():
                if self.hold and not self.held.is_set() \
                        and time.monotonic() - started >= self.hold_after:
                    self._long_transaction(conn)
                    continue
                game_id = self.game_ids[n % len(self.game_ids)]
                n += 1
                try:
                    conn.execute("UPDATE games SET nsfw = ? WHERE id = ?", (n % 2, game_id))
                    conn.commit()
                    self.writes += 1
                except sqlite3.Error as exc:
                    conn.rollback()
                    self.errors.append(f"short write: {exc}")
                self._stop.wait(self.every)
        finally:
            conn.close()

    def _long_transaction(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE games SET updated_at = CURRENT_TIMESTAMP WHERE id = ?",
                         (self.game_ids[0],))
            self.held.set()
            time.sleep(self.hold)
            conn.commit()
            self.writes += 1
        except sqlite3.Error as exc:
            conn.rollback()
            self.errors.append(f"long transaction: {exc}")
        finally:
            self.held.set()


# -- Backlogia's background jobs (owned by the reliability work; see issue 9) -----------------
# Shaped after Backlogia's web/services/jobs.py, `updates-and-news` branch
# (github.com/davidp57/backlogia, web/services/jobs.py): the same table, the same function
# names and arguments, and the same quirks a host recipe has to live with.

import enum  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import Callable  # noqa: E402

JOBS_SQL = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    progress INTEGER DEFAULT 0,
    total INTEGER DEFAULT 0,
    message TEXT,
    result TEXT,
    error TEXT,
    cancelled BOOLEAN DEFAULT 0,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    completed_at TIMESTAMP
)"""


class JobStatus(str, enum.Enum):
    """Backlogia has no ``cancelled`` status: a cancelled job is ``failed`` with ``cancelled=1``."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class JobType(str, enum.Enum):
    STORE_SYNC = "store_sync"
    UPDATE_TRACKING = "update_tracking"


class BacklogiaJobs:
    """Backlogia's job functions over the ``jobs`` table of one database file.

    Each method opens its own connection, as Backlogia's functions do. Faithful quirks:
    ``update_job_progress`` sets ``status='running'`` whatever the status was (so it flips a
    cancelled job back to running); ``cancel_job`` marks the job ``failed`` with
    ``cancelled=1`` and ``error='Cancelled by user'`` only while it is pending or running, and
    remembers the id in memory; ``run_job_async`` runs ``job_func(job_id)`` in a daemon thread,
    ignores its return value (nothing calls ``complete_job`` for you) and turns an exception
    into ``fail_job(job_id, str(exc))``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._cancelled: set[str] = set()
        self._cancelled_lock = threading.Lock()
        self.threads: dict[str, threading.Thread] = {}
        """The job threads started, for tests to join (Backlogia forgets finished ones)."""

    def _write(self, sql: str, params: tuple) -> int:
        conn = sqlite3.connect(self.path)
        try:
            with conn:
                return conn.execute(sql, params).rowcount
        finally:
            conn.close()

    def ensure_jobs_table(self) -> None:
        self._write(JOBS_SQL, ())

    def create_job(self, job_type: JobType, message: str = "") -> str:
        self.ensure_jobs_table()
        job_id = str(uuid.uuid4())[:8]
        now = datetime.now().isoformat()  # Backlogia writes local time, ISO, no zone
        self._write("INSERT INTO jobs (id, type, status, message, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (job_id, job_type.value, JobStatus.PENDING.value, message, now, now))
        return job_id

    def update_job_progress(self, job_id: str, progress: int, total: int, message: str = "") -> None:
        self._write("UPDATE jobs SET progress = ?, total = ?, message = ?, status = ?, "
                    "updated_at = ? WHERE id = ?",
                    (progress, total, message, JobStatus.RUNNING.value,
                     datetime.now().isoformat(), job_id))

    def complete_job(self, job_id: str, result: str, message: str = "") -> None:
        now = datetime.now().isoformat()
        self._write("UPDATE jobs SET status = ?, result = ?, message = ?, progress = total, "
                    "updated_at = ?, completed_at = ? WHERE id = ?",
                    (JobStatus.COMPLETED.value, result, message, now, now, job_id))

    def fail_job(self, job_id: str, error: str) -> None:
        now = datetime.now().isoformat()
        self._write("UPDATE jobs SET status = ?, error = ?, updated_at = ?, completed_at = ? "
                    "WHERE id = ?", (JobStatus.FAILED.value, error, now, now, job_id))

    def cancel_job(self, job_id: str) -> bool:
        with self._cancelled_lock:
            self._cancelled.add(job_id)
        now = datetime.now().isoformat()
        return self._write(
            "UPDATE jobs SET status = ?, cancelled = 1, error = ?, updated_at = ?, "
            "completed_at = ? WHERE id = ? AND status IN (?, ?)",
            (JobStatus.FAILED.value, "Cancelled by user", now, now, job_id,
             JobStatus.PENDING.value, JobStatus.RUNNING.value)) > 0

    def is_job_cancelled(self, job_id: str) -> bool:
        with self._cancelled_lock:
            if job_id in self._cancelled:
                return True
        row = self.get_job(job_id)
        if row and row["cancelled"]:
            with self._cancelled_lock:
                self._cancelled.add(job_id)
            return True
        return False

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        conn = sqlite3.connect(self.path)
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        finally:
            conn.close()
        return dict(row) if row else None

    def run_job_async(self, job_id: str, job_func: Callable[[str], Any]) -> str:
        def wrapper() -> None:
            try:
                job_func(job_id)  # the return value is dropped, as in Backlogia
            except Exception as exc:
                self.fail_job(job_id, str(exc))

        thread = threading.Thread(target=wrapper, daemon=True)
        self.threads[job_id] = thread
        thread.start()
        return job_id
