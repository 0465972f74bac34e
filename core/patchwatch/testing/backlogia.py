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


# -- Backlogia's background jobs (owned by the reliability work; see issue 9) -----------------
# Shaped after Backlogia's web/services/jobs.py, `updates-and-news` branch
# (github.com/davidp57/backlogia, web/services/jobs.py): the same table, the same function
# names and arguments, and the same quirks a host recipe has to live with.

import enum  # noqa: E402
import threading  # noqa: E402
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
