"""Who may sync a database now: one sync per file, across threads and processes.

Within a process, syncs of one file take turns (a :class:`threading.Lock` per path). Across
processes, a sync holds an OS file lock on ``<database>.patchwatch-lock`` beside the file;
the kernel releases it when its holder exits, however it exits (``kill -9``, a container
restart), so a crashed sync never blocks the next one, even when its pid has been reused.
A second process that finds the lock held is refused at once. Taking the lock is the claim
of a run: one atomic step, before the database is read.

Where no lock file can be made (a read-only folder), the run rows' lease (heartbeat + pid,
see :func:`patchwatch.state.running_elsewhere`) is all there is.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class Held(Exception):
    """Another process holds the sync lock of this database."""


def lock_path(db_path: str | Path) -> Path:
    """The lock file beside the database."""
    return Path(f"{db_path}.patchwatch-lock")


def _thread_lock(path: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


@contextmanager
def sync_lock(db_path: str | Path) -> Iterator[bool]:
    """Hold the right to sync ``db_path``: wait for this process's other syncs of it, then
    take the OS lock without waiting. Yields True when the OS lock is held, False when no
    lock file could be made (the caller then relies on the lease). Raises :class:`Held`
    when another process holds it."""
    path = str(Path(db_path).resolve())
    with _thread_lock(path):
        lock = FileLock(str(lock_path(path)), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise Held(path) from None
        except OSError:  # no lock file here (read-only folder): the lease decides
            yield False
            return
        try:
            yield True
        finally:
            lock.release()
