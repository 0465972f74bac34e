"""The app's two actions in the background: "check now" (one sync, with progress and cancel)
and the watch schedule (:class:`patchwatch.watch.Watcher` in a thread, started and stopped).

Both run in daemon threads of the process that serves the pages; a sync they start is an
ordinary :func:`~patchwatch.sync.sync_library` (saved as it goes, resumed if cut short), and
syncs of one database in one process run one after another.
"""

from __future__ import annotations

import collections
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ..config import Config
from ..errors import PatchwatchError
from ..plugins import PluginManager


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, PatchwatchError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class CheckRunner:
    """Runs one sync at a time in a background thread and reports its progress."""

    def __init__(self, db_path: str | Path, pm: Callable[[], PluginManager],
                 config: Callable[[], Config]) -> None:
        self.db_path = Path(db_path)
        self._pm, self._config = pm, config
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._status: dict[str, Any] = {"state": "idle", "number": 0, "done": 0, "total": 0,
                                        "message": None, "started_at": None,
                                        "finished_at": None, "result": None, "error": None}

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start a check; False (nothing started) while one is running."""
        with self._lock:
            if self.running:
                return False
            self._cancel = threading.Event()
            self._status = {"state": "running", "number": self._status["number"] + 1,
                            "done": 0, "total": 0,
                            "message": "starting (waits for a scheduled check that is running)",
                            "started_at": _now(), "finished_at": None, "result": None,
                            "error": None}
            self._thread = threading.Thread(target=self._run, args=(self._cancel,),
                                            name="patchwatch-web-check", daemon=True)
            self._thread.start()
            return True

    def cancel(self) -> bool:
        """Ask the running check to stop (within about a second); False if none runs."""
        with self._lock:
            if not self.running:
                return False
            self._cancel.set()
            if self._status["state"] == "running":
                self._status["state"] = "cancelling"
            return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the running check to end; True when none is running."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def status(self) -> dict[str, Any]:
        with self._lock:
            status = dict(self._status)
        total = status["total"] or 0
        status["percent"] = int(100 * status["done"] / total) if total else (
            100 if status["state"] == "done" else 0)
        status["running"] = status["state"] in ("running", "cancelling")
        return status

    def _progress(self, done: int, total: int, message: str) -> None:
        with self._lock:
            self._status.update(done=done, total=total, message=message)

    def _run(self, cancel: threading.Event) -> None:
        from ..sync import sync_library

        state, result, error = "failed", None, None
        try:
            pm, config = self._pm(), self._config()
            summary = sync_library(self.db_path, pm=pm, config=config,
                                   progress=self._progress, cancel=cancel)
            result = {"checked": summary.checked, "updated": len(summary.updated),
                      "changed_not_build": len(summary.updates) - len(summary.updated),
                      "baselines": summary.baselines, "failed": len(summary.failures),
                      "unsupported": len(summary.unsupported), "seconds": summary.seconds}
            state = "cancelled" if summary.cancelled else "done"
            if config.notify and not summary.cancelled:
                result["notified"] = self._notify(pm, config)
        except Exception as exc:  # one line on the page, never a traceback
            error = _one_line(exc)
        with self._lock:
            self._status.update(state=state, result=result, error=error, finished_at=_now())

    def _notify(self, pm: PluginManager, config: Config) -> str | None:
        """The digest of what this check found, as ``patchwatch sync`` sends it."""
        from ..db import open_db
        from ..notify import notify_updates

        try:
            db = open_db(self.db_path, lock_wait=config.lock_wait)
            try:
                count, delivery = notify_updates(db, pm, config)
            finally:
                db.close()
        except Exception as exc:  # the check itself succeeded; say why nothing was sent
            return f"notifications failed: {_one_line(exc)}"
        if count is None:
            return None
        return f"{delivery.sent} sent, {delivery.failed} kept for a retry"


class Schedule:
    """patchwatch's watch loop (each store on its own schedule) in a background thread."""

    def __init__(self, db_path: str | Path, pm: Callable[[], PluginManager],
                 config: Callable[[], Config], log: Callable[[str], None] | None = None) -> None:
        self.db_path = Path(db_path)
        self._pm, self._config, self._echo = pm, config, log
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self._watcher: Any = None
        self.lines: collections.deque[str] = collections.deque(maxlen=50)
        self.started_at: str | None = None
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start the watch loop; False if it already runs or cannot start (see ``error``)."""
        from ..watch import Watcher

        with self._lock:
            if self.running:
                return False
            self._stop = threading.Event()
            self.error = None
            try:
                self._watcher = Watcher(self.db_path, pm=self._pm(), config=self._config(),
                                        log=self._log, stop=self._stop)
            except Exception as exc:  # a broken config: said on the page, never raised
                self.error = _one_line(exc)  # into a host that starts us at import
                self._log(f"the schedule did not start: {self.error}")
                return False
            self.started_at = _now()
            self._thread = threading.Thread(target=self._run, args=(self._watcher,),
                                            name="patchwatch-web-watch", daemon=True)
            self._thread.start()
            return True

    def stop(self, wait: float = 5.0) -> bool:
        """Stop the watch loop (a check under way stops within about a second, saved)."""
        with self._lock:
            if not self.running or self._stop is None:
                return False
            self._stop.set()
            thread = self._thread
        if thread is not None:
            thread.join(wait)
        return True

    def status(self) -> dict[str, Any]:
        watcher = self._watcher
        now = time.monotonic()
        stores = []
        if watcher is not None and self.running:
            for s in list(watcher.schedules.values()):
                stores.append({"store": s.store, "plugin": s.plugin, "interval": s.interval,
                               "checks": s.cycles,
                               "next_in": max(0, round(s.next_at - now)) if s.next_at else 0})
        return {"running": self.running, "started_at": self.started_at if self.running else None,
                "error": self.error, "stores": stores, "log": list(self.lines)[-20:]}

    def _log(self, line: str) -> None:
        stamped = f"{_now()} {line}"
        self.lines.append(stamped)
        if self._echo is not None:
            self._echo(stamped)

    def _run(self, watcher: Any) -> None:
        try:
            watcher.run()
        except Exception as exc:  # a bad notify URL, a missing database: shown on the page
            self.error = _one_line(exc)
            self._log(f"the schedule stopped: {self.error}")
