"""``patchwatch watch``: each store checked on its own schedule, a digest after each cycle.

A cycle is an ordinary :func:`~patchwatch.sync.sync_library` of one store (same recording,
resume, circuit breaker and fallback), followed by :func:`~patchwatch.notify.enqueue` of
what it found. Deliveries run in a background thread, so a slow notification service
never delays the next check or a stop. The stop event (SIGTERM, Ctrl-C, or the host's)
is handed to the sync as ``cancel``; a plugin that does not let go within
:data:`STOP_GRACE` seconds is interrupted: what was fetched is saved either way.
"""

from __future__ import annotations

import _thread
import re
import sqlite3
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .config import Config
from .db import open_db
from .errors import ConfigError, PatchwatchError
from .plugins import NOT_IMPLEMENTED, PluginManager, backends, call
from .sync import SyncSummary, sync_library

DEFAULT_INTERVAL = 6 * 3600.0
"""A store whose plugin says nothing: every six hours (HTTP stores are polled politely)."""
DEFAULT_MINIMUM = 60.0
"""The shortest interval for a plugin that declares no minimum of its own."""
HEARTBEAT = 600.0
"""Seconds between "still watching" lines when nothing was found."""
STOP_GRACE = 1.5
"""Seconds a sync may take to honour the stop before it is interrupted."""

Log = Callable[[str], None]


@dataclass
class StoreSchedule:
    """When one store is checked next, and by which plugin first."""

    store: str
    plugin: str | None
    interval: float
    note: str | None = None
    """Why the interval is not the one configured (raised to the plugin's minimum)."""
    next_at: float = 0.0
    cycles: int = 0


@dataclass
class WatchStats:
    cycles: int = 0
    updates: int = 0
    digests: int = 0
    unchecked: int = 0
    """Games a cycle could not check (and checks that failed as a whole)."""
    started: float = field(default_factory=time.monotonic)


def parse_seconds(value: Any, what: str) -> float:
    """``90``, ``"90s"``, ``"5m"``, ``"6h"``, ``"1d"`` → seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(value))
        if not match:
            raise ConfigError(f"[watch] {what}: expected seconds or a span like 90s, 5m, 6h, "
                              f"1d, got {value!r}")
        seconds = float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    if seconds <= 0:
        raise ConfigError(f"[watch] {what} must be positive, got {value!r}")
    return seconds


def human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"


def plan(pm: PluginManager, config: Config, stores: list[str]) -> list[StoreSchedule]:
    """The schedule of each store: its first usable plugin's interval, the user's override
    (``[watch.interval]`` by plugin or store name), never under the plugin's minimum."""
    overrides = config.watch.get("interval", {})
    if not isinstance(overrides, dict):
        raise ConfigError("[watch] interval must be a table: plugin or store = seconds")
    ignore_minimum = bool(config.watch.get("ignore_minimum", False))
    usable = [b for b in backends(pm, config) if b.store and not b.disabled and not b.error]
    schedules = []
    for store in stores:
        primary = next((b for b in usable if b.store == store), None)
        if primary is None:  # no plugin, or all switched off: nothing to check (see skipped)
            continue
        default, minimum = DEFAULT_INTERVAL, DEFAULT_MINIMUM
        if primary is not None:
            try:
                info = call(pm, primary.name, "store_info")
            except Exception:  # already reported by backends(); keep the defaults
                info = NOT_IMPLEMENTED
            if info is not NOT_IMPLEMENTED:
                default = info.watch_interval or default
                minimum = info.min_watch_interval or minimum
        key = next((k for k in (primary.name if primary else None, store) if k in overrides), None)
        interval = parse_seconds(overrides[key], f"interval.{key}") if key else default
        note = None
        if interval < minimum and not ignore_minimum:
            note = (f"{key} = {human(interval)} raised to {human(minimum)}, the shortest "
                    f"{primary.name if primary else store} allows")
            interval = minimum
        schedules.append(StoreSchedule(store, primary.name if primary else None, interval, note))
    return schedules


class Watcher:
    """Runs the watch loop until :attr:`stop` is set (or once, with ``once=True``)."""

    def __init__(self, db_path: str | Path, *, pm: PluginManager, config: Config,
                 stores: list[str] | None = None, log: Log = print,
                 stop: threading.Event | None = None) -> None:
        self.db_path = Path(db_path)
        self.pm, self.config, self.log = pm, config, log
        self.only = [s.lower() for s in stores] if stores else None
        self.stop = stop or threading.Event()
        self.schedules: dict[str, StoreSchedule] = {}
        self.stats = WatchStats()
        self.heartbeat = parse_seconds(config.watch.get("heartbeat", HEARTBEAT), "heartbeat")
        self._busy = False
        self._launcher_errors: dict[str, str | None] = {}
        self.skipped: set[str] = set()
        """Stores of the library not watched: no plugin installed, or all switched off."""
        self._wake_delivery = threading.Event()
        self._delivery_thread: threading.Thread | None = None

    # -- the loop ----------------------------------------------------------------------
    def run(self, once: bool = False) -> int:
        """Watch until stopped; returns the exit code: 0, or with ``once`` 3 when some games
        could not be checked (as ``patchwatch sync``)."""
        from . import notify

        if self.config.notify:
            notify.check_urls(self.config.notify)
        notify.retry_delays(self.config)
        db = open_db(self.db_path)
        notify.prime(db)
        db.close()
        restore = self._install_signal_handlers()
        try:
            self._refresh_schedules(announce=True)
            if not once:
                self._start_delivery()
            last_line = time.monotonic()
            while not self.stop.is_set():
                due = [s for s in self.schedules.values() if s.next_at <= time.monotonic()]
                if due:  # what was updated through a launcher leaves `outdated` by itself
                    self._guard("reading the launchers", self._launchers)
                for schedule in due:
                    if self.stop.is_set():
                        break
                    if self._cycle(schedule):
                        last_line = time.monotonic()
                if due and not self.stop.is_set():
                    if self._guard("notifications", self._notify, once):
                        last_line = time.monotonic()
                if once:
                    break
                if time.monotonic() - last_line >= self.heartbeat:
                    self._heartbeat()
                    last_line = time.monotonic()
                self._guard("reading the library", self._refresh_schedules)
                upcoming = min((s.next_at for s in self.schedules.values()),
                               default=time.monotonic() + 60)
                wait = max(0.0, min(upcoming, last_line + self.heartbeat) - time.monotonic())
                self.stop.wait(min(wait, 60.0))  # re-read the library's stores each minute
        except KeyboardInterrupt:
            self.stop.set()
        finally:
            restore()
        self.log(f"stopped after {self.stats.cycles} cycle(s), {self.stats.updates} update(s), "
                 f"{self.stats.digests} digest(s); nothing is lost: an unfinished check resumes "
                 "and undelivered notifications are sent next time")
        return 3 if once and self.stats.unchecked else 0

    def _guard(self, what: str, step: Callable[..., Any], *args: Any) -> Any:
        """Run a step of the loop; a busy or locked database is logged and tried next time."""
        try:
            return step(*args)
        except (PatchwatchError, sqlite3.Error) as exc:
            self.log(f"{what} failed, trying again next cycle: {exc}")
            return None

    def _refresh_schedules(self, announce: bool = False) -> None:
        db = open_db(self.db_path)
        try:
            stores = [r[0] for r in db.execute(
                "SELECT DISTINCT lower(trim(store)) FROM games WHERE store IS NOT NULL "
                "AND store_id IS NOT NULL AND store_id != '' ORDER BY 1").fetchall()]
        finally:
            db.close()
        if self.only is not None:
            stores = [s for s in stores if s in self.only]
        new = [s for s in stores if s not in self.schedules and s not in self.skipped]
        planned = plan(self.pm, self.config, new)
        for schedule in planned:
            self.schedules[schedule.store] = schedule  # next_at 0: checked at once
        skipped = [s for s in new if s not in {p.store for p in planned}]
        if skipped:
            self.skipped.update(skipped)
            self._log_skipped(skipped)
        self.skipped &= set(stores)
        for gone in set(self.schedules) - set(stores):
            del self.schedules[gone]
        if announce or new:
            parts = [f"{s.store} every {human(s.interval)}" + (f" ({s.plugin})" if s.plugin else "")
                     for s in self.schedules.values() if s.store in new or announce]
            notify = (f"; notifying {len(self.config.notify)} destination(s)"
                      if self.config.notify else "; no notify URLs configured")
            if announce:
                self.log(f"watching {', '.join(parts) or 'an empty library'}{notify}")
            elif parts:
                self.log(f"now also watching {', '.join(parts)}")
            for schedule in self.schedules.values():
                if schedule.note and (announce or schedule.store in new):
                    self.log(f"note: {schedule.note}")

    def _launchers(self) -> None:
        """Re-read the launchers (only changed files are parsed); log what changed."""
        from .launchers import refresh_installed

        refresh = refresh_installed(self.db_path, pm=self.pm, config=self.config)
        for report in refresh.reports:
            if report.error and self._launcher_errors.get(report.name) != report.error:
                self.log(f"launcher {report.name}: failed: {report.error}")
            self._launcher_errors[report.name] = report.error
        updated = refresh.changes.updated
        if updated:
            names = ", ".join(title or f"{store}:{store_id}"
                              for store, store_id, title in updated[:5])
            more = f" and {len(updated) - 5} more" if len(updated) > 5 else ""
            self.log(f"updated through a launcher: {names}{more}")

    def _log_skipped(self, stores: list[str]) -> None:
        """One line per store that is not watched, and why."""
        served = {b.store: b for b in backends(self.pm, self.config) if b.store and not b.error}
        for store in sorted(stores):
            if store in served:
                self.log(f"{store}: not watched, every {store} plugin is switched off in the "
                         "config (disable)")
            else:
                self.log(f"{store}: not watched, no plugin installed for this store")

    def _cycle(self, schedule: StoreSchedule) -> bool:
        """One sync of one store; returns True when it logged a line."""
        started = time.monotonic()
        self._busy = True
        try:
            summary = sync_library(self.db_path, pm=self.pm, config=self.config,
                                   stores=[schedule.store], cancel=self.stop)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a bad database, a busy one: say so, try again next time
            summary = None
            self.stats.unchecked += 1
            self.log(f"{schedule.store}: check failed: {exc}")
        finally:
            self._busy = False
            schedule.cycles += 1
            self.stats.cycles += 1
            # The next check is an interval after this one started (a slow one: at once).
            schedule.next_at = max(started + schedule.interval, time.monotonic())
        if summary is None:
            return True
        return self._report(schedule, summary, time.monotonic() - started)

    def _report(self, schedule: StoreSchedule, summary: SyncSummary, seconds: float) -> bool:
        updates = summary.updates
        self.stats.updates += len(updates)
        parts = []
        if updates:
            names = ", ".join(f"{u.title or u.store_id} ({u.old_version or u.old_value} → "
                              f"{u.version or u.new_value})" for u in updates[:5])
            more = f" and {len(updates) - 5} more" if len(updates) > 5 else ""
            builds = sum(1 for u in updates if u.is_build)
            parts.append(f"{builds} new build(s)" + (f", {len(updates) - builds} weak change(s)"
                                                   if builds != len(updates) else "")
                         + f": {names}{more}")
        if summary.baselines:
            parts.append(f"{summary.baselines} new baseline(s)")
        problems = len(summary.failures) + len(summary.unsupported)
        self.stats.unchecked += len(summary.failures)
        if summary.offline:
            parts.append(f"no store could be reached: are you offline? {problems} game(s) not "
                         "checked (nothing counts against the plugins; tried again next cycle)")
        elif problems:
            # What each plugin said: a plugin that answered fine or is switched off is not
            # the reason a game was left unchecked; the games' own reason then is.
            reasons = "; ".join(f"{p.name}: {_short(p.reason)}" for p in summary.plugins
                                if p.reason and p.status not in ("ok", "disabled"))
            if not reasons:
                reasons = _short((summary.failures or summary.unsupported)[0].message)
            parts.append(f"{problems} game(s) not checked ({reasons})")
        if getattr(summary, "cancelled", False):
            parts.append("stopped midway (resumes next time)")
        if not parts:
            return False
        self.log(f"{schedule.store}: {'; '.join(parts)} [{seconds:.1f} s]")
        return True

    def _notify(self, deliver_now: bool) -> bool:
        from . import notify

        db = open_db(self.db_path)
        self._busy = True
        try:
            count, delivery = (None, None)
            rows = notify.pending_updates(db, self.config)
            if rows and self.config.notify:
                from .links import fill_links
                fill_links(db, self.pm, self.config, rows)
            count = notify.enqueue(db, self.config, rows)
            if deliver_now:
                delivery = notify.deliver(db, self.config, stop=self.stop)
        finally:
            self._busy = False
            db.close()
        if count:
            self.stats.digests += 1
            self._wake_delivery.set()
        if delivery is not None:
            self._log_delivery(delivery)
        return bool(count)

    def _log_delivery(self, report: Any) -> None:
        """A line for a message's first failure and one when retries got through."""
        for error in report.first_errors or []:
            self.log(f"notification not delivered, kept and retried with backoff: {error}")
        if report.recovered:
            self.log(f"delivered {report.recovered} notification(s) that had failed before")

    def _heartbeat(self) -> None:
        uptime = human(round(time.monotonic() - self.stats.started))
        stores = ", ".join(f"{s.store} {s.cycles}x" for s in self.schedules.values())
        self.log(f"still watching ({stores or 'no stores'}); up {uptime}, "
                 f"{self.stats.updates} update(s) so far")

    # -- deliveries in the background --------------------------------------------------
    def _start_delivery(self) -> None:
        self._wake_delivery.set()  # what an earlier run left in the outbox goes out now
        self._delivery_thread = threading.Thread(target=self._deliver_loop,
                                                 name="patchwatch-deliver", daemon=True)
        self._delivery_thread.start()

    def _deliver_loop(self) -> None:
        from . import notify

        while not self.stop.is_set():
            self._wake_delivery.clear()
            next_retry = None
            try:
                db = open_db(self.db_path)
                try:
                    report = notify.deliver(db, self.config, stop=self.stop)
                finally:
                    db.close()
                self._log_delivery(report)
                next_retry = report.next_retry
            except Exception as exc:  # a locked database: try again shortly
                self.log(f"notifications: {exc}")
                next_retry = None
                self._wake_delivery.wait(5)
            wait = 3600.0
            if next_retry:
                due = datetime.fromisoformat(next_retry)
                wait = max(0.05, (due - datetime.now(timezone.utc)).total_seconds())
            self._wake_delivery.wait(min(wait, 3600.0))

    # -- stopping ----------------------------------------------------------------------
    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None  # a host thread: the host sets ``stop``
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

        def handler(signum: int, frame: Any) -> None:
            if self.stop.is_set() and self._busy:
                raise KeyboardInterrupt  # the sync did not let go in time (or a second Ctrl-C)
            self.stop.set()
            if self._busy:
                timer = threading.Timer(STOP_GRACE, _interrupt_if, args=(self,))
                timer.daemon = True
                timer.start()

        for sig in previous:
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore


def _short(text: str | None, limit: int = 200) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _interrupt_if(watcher: Watcher) -> None:
    if watcher._busy:
        _thread.interrupt_main()
