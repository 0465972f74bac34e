"""The sync job: library → group by store → choose plugin → check in bulk → record → report."""

from __future__ import annotations

import inspect
import json
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable

import sqlite_utils

from . import http, launchers, state
from .config import Config, load_config
from .db import database_error, open_db
from .errors import PatchwatchError
from .library import fill_titles, hidden_count, load_games, now_iso
from .locks import Held, sync_lock
from .models import BadAnswer, Game, Result, Unchanged, brief_repr, checked_claim, checked_result
from .plugins import (NOT_IMPLEMENTED, Backend, PluginManager, backends, call, call_quick,
                      get_plugin_manager, settings_error)
from .state import UpdateRecord
from .summary import GameFailure, PluginReport, SyncSummary

__all__ = ["GameFailure", "PluginReport", "SyncBusy", "SyncSummary", "sync_library"]

Progress = Callable[..., None]
"""``progress(done, total)`` or ``progress(done, total, message)``: games processed so far,
games in the run, and (if the callable takes a third argument) a short line saying what
the sync is doing (``steam: checking 120 games with steam_pics``)."""

Cancel = threading.Event | Callable[[], bool]
"""Something that says the host wants the sync to stop: an event (``is_set()``) or a
callable returning True."""
CANCEL_POLL_SECONDS = 0.2
"""A cancel callable is asked at most this often (it may query the host's database)."""


class SyncBusy(PatchwatchError):
    """Another process is syncing the same database."""


class _Cancelled(Exception):
    """The host asked the sync to stop (raised and caught inside the sync)."""


UNREACHABLE = "unreachable"
"""What ``_available`` says of a plugin whose store could not be reached at all."""

FLUSH_EVERY = 200
FLUSH_SECONDS = 0.5


def sync_library(
    db: str | Path,
    *,
    pm: PluginManager | None = None,
    config: Config | None = None,
    stores: list[str] | None = None,
    progress: Progress | None = None,
    resume: bool = True,
    cancel: Cancel | None = None,
    include_hidden: bool = False,
    wal: bool = False,
) -> SyncSummary:
    """Check every game of the library (or of ``stores``) and record what changed.

    ``progress`` is called as answers arrive, at most about twice a second, with
    ``(processed, total)`` or, when it accepts a third positional argument,
    ``(processed, total, message)`` where ``message`` is one short line (current store and
    plugin). Backlogia's ``update_job_progress(job_id, progress, total, message)`` fits
    as ``functools.partial(update_job_progress, job_id)``.

    ``cancel`` is a :class:`threading.Event` or a callable returning True when the host
    wants the sync to stop (a callable is polled at most every 0.2 s, from the thread
    that called ``sync_library``). Within about a second of it turning true the sync stops
    at the next answer: what was fetched is saved, the plugin that was working is released
    (its worker is told to stop and its HTTP waits end), the run is marked ``cancelled``
    and the summary comes back with ``cancelled=True`` (no exception). The next sync
    resumes: games already checked are skipped. A cancelled plugin is not counted as
    failed by the circuit breaker.

    Safe to call from several threads: syncs of one database file in one process run one
    after another. An interrupted sync is resumed by the next one: games checked by the
    whole chain of unfinished runs are skipped, and the updates they found are in this
    summary (``earlier_updates`` says how many).

    Games the host marks ``hidden`` or ``removed`` are skipped (and counted in
    ``skipped_hidden``) unless ``include_hidden``. Writes take the write lock up front and
    wait up to ``config.lock_wait`` seconds while the host holds it. ``wal`` switches a
    database patchwatch did not create to WAL mode; otherwise its journal mode is kept.
    """
    path = str(Path(db).resolve())
    config = config or load_config()
    database = open_db(path, wal=wal, lock_wait=config.lock_wait)
    try:
        with sync_lock(path) as locked:
            pm = pm or get_plugin_manager()
            config = launchers.with_installed_branches(database, config, pm)
            sync = _Sync(database, path, pm, config, stores, progress, cancel)
            sync.include_hidden = include_hidden
            sync.locked = locked
            return sync.run(resume)
    except Held:
        raise SyncBusy(_busy_message(database, path)) from None
    except sqlite3.Error as exc:
        raise database_error(path, exc) from None
    finally:
        database.close()


def _busy_message(db: sqlite_utils.Database, path: str) -> str:
    """Who holds the sync lock, as far as the run rows tell."""
    try:
        run = state.unfinished_run(db)
    except sqlite3.Error:
        run = None
    who = (f" (pid {run['pid']}, started {run['started_at']}, last seen alive "
           f"{run.get('heartbeat_at')})" if run and run["status"] == "running" else "")
    return f"another patchwatch sync{who} is running on {path}; try again when it ends"


class _Sync:
    def __init__(self, db: sqlite_utils.Database, path: str, pm: PluginManager,
                 config: Config, stores: list[str] | None, progress: Progress | None,
                 cancel: Cancel | None = None):
        self.db, self.path, self.pm, self.config = db, path, pm, config
        self.stores = [s.lower() for s in stores] if stores else None
        self.progress = _progress_with_message(progress)
        self.cancelled = _cancel_check(cancel)
        self.message = "starting"
        self.processed = 0
        self.total = 0
        self.include_hidden = False
        self.unreached: list[tuple[str, str, str]] = []
        """Plugins that could not reach their store: (name, error, settings fingerprint),
        counted toward their breaker only if some other plugin reached its store."""
        self.locked = False
        self.http_controls: dict[str, http.PluginControls] = {}
        """Whether this sync holds the OS sync lock (see :mod:`patchwatch.locks`)."""

    def run(self, resume: bool) -> SyncSummary:
        started = time.monotonic()
        state.forget_deleted_games(self.db)
        games = load_games(self.db, self.stores, include_hidden=self.include_hidden)
        previous = state.unfinished_run(self.db)
        # Holding the sync lock, no other sync runs: a run row still "running" is dead,
        # whatever its pid (reused in a container) and heartbeat say.
        if previous is not None and not self.locked and state.running_elsewhere(previous):
            raise SyncBusy(_busy_message(self.db, self.path))
        if not resume:
            previous = None
        all_backends = backends(self.pm, self.config)
        skip: set[int] = set()
        earlier: list[UpdateRecord] = []
        if previous is not None:
            chain = state.run_chain(self.db, previous)
            # A store with a change feed is asked again about every game: cheap, and it
            # tells what changed after the cut-short runs checked a game.
            fed = {b.store for b in all_backends if b.change_feed and not b.disabled}
            skip = state.checked_in_runs(self.db, chain) & {g.id for g in games
                                                            if g.store not in fed}
            earlier = state.updates_in_runs(self.db, chain)
        todo = [g for g in games if g.id not in skip]
        self.total = len(games)
        self.processed = len(skip)
        run_id = state.start_run(self.db, self.stores, self.total,
                                 previous["id"] if previous else None)
        summary = SyncSummary(run_id, total=self.total, load_errors=dict(self.pm.load_errors),
                              resumed_from=previous["id"] if previous else None,
                              skipped_resumed=len(skip), updates=earlier,
                              earlier_updates=len(earlier),
                              skipped_hidden=hidden_count(self.db, self.stores)
                              if not self.include_hidden else 0)
        self._progress()
        by_store: dict[str, list[Game]] = {}
        no_id = [g for g in todo if not g.store_id]
        for game in todo:
            if game.store_id:
                by_store.setdefault(game.store, []).append(game)
        try:
            if no_id:  # reported, never dropped
                self._unchecked(no_id, "error", "the row has no store_id, and its extra_data "
                                "names no store id", run_id, summary.failures)
            with state.Heartbeat(self.path, run_id):
                for store, store_games in by_store.items():
                    if self.cancelled():
                        raise _Cancelled
                    candidates = [b for b in all_backends if b.store == store and not b.error]
                    self._sync_store(store, store_games, candidates, run_id, summary)
        except _Cancelled:
            summary.cancelled = True
        except BaseException:
            try:
                state.update_run(self.db, run_id, status="interrupted",
                                 processed=self.processed, finished_at=now_iso())
            except Exception:  # the heartbeat stops, so the run expires on its own
                pass
            raise
        self._settle_unreached(summary)
        summary.seconds = round(time.monotonic() - started, 3)
        status = "cancelled" if summary.cancelled else "done"
        state.update_run(self.db, run_id, status=status, processed=self.processed,
                         finished_at=now_iso(),
                         summary=json.dumps(summary.to_dict(), default=str))
        self._progress(f"cancelled after {self.processed} of {self.total} games; "
                       "the next sync resumes" if summary.cancelled else
                       f"done: {summary.checked} checked, {len(summary.updated)} updated")
        return summary

    def _settle_unreached(self, summary: SyncSummary) -> None:
        """Count the unreachable plugins toward their breakers, unless no plugin reached
        anything: then the user looks offline (``summary.offline``) and nothing counts."""
        tried = [p for p in summary.plugins if p.status not in ("disabled", "off", "cancelled")]
        summary.offline = bool(tried) and all(p.status == "unreachable" for p in tried)
        if not summary.offline:
            for name, error, fingerprint in self.unreached:
                self._fail(name, error, fingerprint)
        self.unreached = []

    def _progress(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        self.progress(self.processed, self.total, self.message)

    def _sync_store(self, store: str, games: list[Game], candidates: list[Backend],
                    run_id: int, summary: SyncSummary) -> None:
        if not candidates:
            message = f"no plugin installed for store {store!r}"
            self._unchecked(games, "unsupported", message, run_id, summary.unsupported)
            self._progress(f"{store}: {message}")
            return
        if all(b.disabled for b in candidates):  # the user's choice: said once, not failed
            summary.plugins += [PluginReport(b.name, store, "disabled", "switched off in the config "
                                             "(disable)", offered=len(games)) for b in candidates]
            summary.switched_off[store] = summary.switched_off.get(store, 0) + len(games)
            self.processed += len(games)
            self._progress(f"{store}: every plugin switched off; {len(games)} games skipped")
            return
        remaining = games
        last: PluginReport | None = None
        for backend in candidates:
            if not remaining:
                break
            if self.cancelled():
                raise _Cancelled
            report = PluginReport(backend.name, store, "ok", offered=len(remaining))
            summary.plugins.append(report)
            if last is not None:
                last.fallback_to = backend.name
            last = report
            self._progress(f"{store}: checking {len(remaining)} games with {backend.name}")
            t0 = time.monotonic()
            try:
                remaining = self._try_backend(backend, remaining, run_id, report, summary)
            finally:
                report.seconds = round(time.monotonic() - t0, 3)
        if remaining:
            reasons = "; ".join(f"{p.name}: {p.reason or 'gave no answer for it'}"
                                for p in summary.plugins if p.store == store)
            message = f"no {store} plugin could check it ({reasons or 'no answer'})"
            self._unchecked(remaining, "error", message, run_id, summary.failures)
            self._progress()

    def _unchecked(self, games: list[Game], status: str, message: str, run_id: int,
                   report: list[GameFailure]) -> None:
        """Record and report games no plugin checked (``unsupported`` or ``error``)."""
        state.record_unchecked(self.db, games, status, message, run_id)
        report += [_failure(g, status, message) for g in games]
        self.processed += len(games)

    def _try_backend(self, backend: Backend, games: list[Game], run_id: int,
                     report: PluginReport, summary: SyncSummary) -> list[Game]:
        """Offer ``games`` to one plugin; return those it did not answer."""
        name = backend.name
        if backend.disabled:
            report.status, report.reason = "disabled", "switched off in the config (disable)"
            return games
        health = state.plugin_health(self.db, name)
        settings = self.config.settings_for(name, backend.store)
        fingerprint = state.settings_fingerprint(self.config.breaker_inputs(name, backend.store))
        bad = settings_error(self.pm, name, settings)
        if bad:  # only the user can fix it: skipped, not counted toward the breaker
            report.status, report.reason = "misconfigured", f"bad settings: {bad}"
            return games
        if health.is_off(settings=fingerprint):
            report.status = "off"
            report.reason = (f"off until {health.off_until} after repeated failures "
                             f"(last: {health.last_error}); `patchwatch plugins --reset {name}` "
                             "tries it now")
            return games
        # This sync's own stop switch and cap for the plugin's HTTP (see http.bind).
        self.http_controls[name] = control = http.PluginControls(name)
        control.start(max_bytes=self.config.max_answer_bytes)
        # Threads the plugin starts itself are not bound: they read the process-wide cap.
        http.controls(name).max_bytes = self.config.max_answer_bytes
        ok, reason = self._available(name, settings)
        if ok is None:
            report.status, report.reason = "cancelled", "the sync was cancelled"
            raise _Cancelled
        if ok == UNREACHABLE:
            report.status, report.reason = "unreachable", reason
            self.unreached.append((name, f"unreachable: {reason}", fingerprint))
            return games
        if not ok:
            report.status, report.reason = "unavailable", reason
            self._fail(name, f"unavailable: {reason}", fingerprint)
            return games
        report.weak_only = weak_only(self.pm, name, settings)
        plugin_state = health.state or {}  # freshly read from the database: the plugin's own
        answered: set[int] = set()
        status, error = self._stream(name, games, settings, plugin_state, run_id, answered,
                                     report, summary)
        report.answered = len(answered)
        if status == "cancelled":  # neither a failure nor a completed call: state not saved
            report.status, report.reason = status, "the sync was cancelled"
            raise _Cancelled
        if status == "ok" and report.malformed:
            status = "failed"
            error = f"{name} {report.reason}" + (
                f" and {report.malformed - 1} more" if report.malformed > 1 else "")
        if status == "ok" and report.signals == 0 and 0 < report.errors == report.answered:
            status, error = "failed", "every game it answered was an error"
        if status == "ok":
            state.record_success(self.db, name, plugin_state)
        elif status == "unreachable":
            report.status, report.reason = status, error
            self.unreached.append((name, error or status, fingerprint))
        else:
            report.status, report.reason = status, error
            self._fail(name, error or status, fingerprint)
        return [g for g in games if g.id not in answered]

    def _fail(self, name: str, error: str, settings: str) -> None:
        state.record_failure(self.db, name, error, trip_after=self.config.failures_to_trip,
                             cooldown=self.config.cooldown, settings=settings)

    def _available(self, name: str, settings: dict[str, Any]) -> tuple[Any, str | None]:
        """Ask ``is_available`` in a worker, bounded in time: ``(True, None)``, ``(False,
        why)``, ``(UNREACHABLE, why)``, or ``(None, None)`` when cancelled."""
        box: list[Any] = []

        def ask() -> None:
            http.bind(self.http_controls[name])
            try:
                box.append(call(self.pm, name, "is_available", settings=settings))
            except Exception as exc:
                box.append(exc)

        worker = threading.Thread(target=ask, name=f"patchwatch-{name}-available", daemon=True)
        worker.start()
        deadline = time.monotonic() + self.config.availability_timeout
        while not box and time.monotonic() < deadline:
            if self.cancelled():
                return None, None
            worker.join(min(CANCEL_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        if not box:
            self.http_controls[name].give_up()  # a request it is stuck in ends; the thread exits
            return False, f"is_available did not answer in {self.config.availability_timeout:g} s"
        answer = box[0]
        if isinstance(answer, Exception):
            if http.is_unreachable(answer):
                return UNREACHABLE, str(answer) or type(answer).__name__
            return False, f"is_available raised {type(answer).__name__}: {answer}"
        if answer is True or answer is NOT_IMPLEMENTED:
            return True, None
        return False, answer if isinstance(answer, str) and answer else "reported unavailable"

    def _stream(self, name: str, games: list[Game], settings: dict[str, Any],
                plugin_state: dict[str, Any], run_id: int, answered: set[int],
                report: PluginReport, summary: SyncSummary) -> tuple[str, str | None]:
        """Run the plugin in a worker thread and record its answers as they arrive.

        Adds the id of every game it answered to ``answered``.
        """
        by_id = {g.id: g for g in games}
        answers: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()

        def produce() -> None:
            http.bind(self.http_controls[name])
            result: Any = None
            try:
                result = call(self.pm, name, "check_updates_bulk", games=list(games),
                              settings=settings, state=plugin_state)
                if result is NOT_IMPLEMENTED:
                    raise TypeError("plugin does not implement check_updates_bulk")
                if isinstance(result, dict):
                    result = result.items()
                for pair in result or ():
                    if stop.is_set():
                        return
                    answers.put(("answer", pair))
                answers.put(("done", None))
            except BaseException as exc:  # reported to the sync, never lost
                answers.put(("error", exc))
            finally:
                if stop.is_set():  # given up: run the plugin's own clean-up (pools, sockets) now
                    try:
                        getattr(result, "close", lambda: None)()
                    except BaseException:
                        pass

        worker = threading.Thread(target=produce, name=f"patchwatch-{name}-check", daemon=True)
        worker.start()
        batch: list[tuple[Game, Any]] = []
        claims: list[tuple[str, list[Game]]] = []
        last_flush = last_answer = time.monotonic()
        status, error = "ok", None
        ended = False  # the plugin said it is done, or raised: its thread ends by itself
        try:
            while True:
                wait = min(FLUSH_SECONDS, max(0.0, last_answer + self.config.timeout
                                              - time.monotonic()))
                if self.cancelled():
                    status, error = "cancelled", None
                    break
                try:
                    kind, payload = answers.get(timeout=min(wait, CANCEL_POLL_SECONDS))
                except queue.Empty:
                    if time.monotonic() - last_answer >= self.config.timeout:
                        status = "timeout"
                        error = f"no answer for {self.config.timeout:g} s"
                        break
                    kind, payload = "tick", None
                if kind == "answer":
                    last_answer = time.monotonic()
                    if isinstance(payload, Unchanged):
                        claim = self._claim(payload, by_id, answered, report)
                        if claim is not None:
                            claims.append(claim)
                            answered.update(g.id for g in claim[1])
                    else:
                        checked = self._validate(name, payload, by_id, answered, report)
                        if checked is not None:
                            batch.append(checked)
                            answered.add(checked[0].id)
                elif kind == "error":
                    ended = True
                    if http.is_unreachable(payload):
                        status, error = "unreachable", str(payload) or type(payload).__name__
                    else:
                        status, error = "failed", f"{type(payload).__name__}: {payload}"
                    break
                elif kind == "done":
                    ended = True
                    break
                if claims or (batch and (len(batch) >= FLUSH_EVERY
                                         or time.monotonic() - last_flush >= FLUSH_SECONDS)):
                    pending, batch, last_flush = batch, [], time.monotonic()
                    pending_claims, claims = claims, []
                    self._flush(name, pending, run_id, report, summary, pending_claims)
        finally:
            stop.set()
            # Given up (timeout, cancel, Ctrl-C): release its HTTP waits. A plugin that said
            # it is done (or raised) ends by itself: its sessions keep working.
            if not ended and worker.is_alive():
                self.http_controls[name].give_up()
            if batch or claims:  # also on Ctrl-C: what was fetched is saved
                self._flush(name, batch, run_id, report, summary, claims)
        return status, error

    def _validate(self, name: str, pair: Any, by_id: dict[int, Game],
                  answered: set[int], report: PluginReport) -> tuple[Game, Result] | None:
        """Keep well-formed answers for games that were asked about.

        A malformed answer is counted against the plugin (it then counts as failed and the
        game goes to the next plugin); an answer for a game it was not asked about, or a
        second one, is ignored.
        """
        try:
            game_id, result = pair
            game = by_id.get(game_id)
        except (TypeError, ValueError):
            self._malformed(report, f"an answer must be a (game.id, result) pair, got "
                                    f"{brief_repr(pair)}")
            return None
        if game is None or game_id in answered:
            return None
        try:
            return game, checked_result(result)
        except BadAnswer as exc:
            self._malformed(report, f"{game.store}:{game.store_id}: {exc}")
            return None

    def _claim(self, claim: Unchanged, by_id: dict[int, Game], answered: set[int],
               report: PluginReport) -> tuple[str, list[Game]] | None:
        """The games an :class:`Unchanged` covers: those asked about, not yet answered,
        whose stored signals hold its kind. Naming a game without that signal is malformed
        (that game goes to the next plugin); others not asked about are ignored."""
        try:
            kind, ids = checked_claim(claim, len(by_id))
        except BadAnswer as exc:
            self._malformed(report, str(exc))
            return None
        games: dict[int, Game] = {}
        missing: list[Game] = []
        for game_id in ids:
            game = by_id.get(game_id)
            if game is None or game_id in answered or game_id in games:
                continue
            if kind in game.signals:
                games[game_id] = game
            else:
                missing.append(game)
        if missing:
            first = missing[0]
            self._malformed(report, f"Unchanged({kind!r}) names {len(missing)} game(s) with no "
                                    f"stored {kind} signal, such as {first.store}:{first.store_id}")
        return (kind, list(games.values())) if games else None

    @staticmethod
    def _malformed(report: PluginReport, message: str) -> None:
        report.malformed += 1
        if report.malformed == 1:
            report.reason = f"gave a malformed answer ({message})"

    def _flush(self, name: str, batch: list[tuple[Game, Any]], run_id: int,
               report: PluginReport, summary: SyncSummary,
               claims: list[tuple[str, list[Game]]]) -> None:
        """Record a batch of answers and the games named unchanged since the last flush."""
        for kind, games in claims:
            state.record_unchanged(self.db, name, run_id, games[0].store, kind,
                                   [g.id for g in games])
            report.signals += len(games)
            summary.checked += len(games)
            summary.unchanged += len(games)
            self.processed += len(games)
        untitled = [(game, result.title) for game, result in batch
                    if getattr(result, "title", None) and not _has_title(game)]
        if untitled:
            fill_titles(self.db, untitled)
        for outcome in state.record_results(self.db, name, run_id, batch):
            if outcome.kind == "problem":
                report.problems += 1
                problem = outcome.problem
                report.errors += problem.status == "error"
                summary.failures.append(_failure(outcome.game, problem.status, problem.message))
                continue
            report.signals += 1
            summary.checked += 1
            if outcome.kind == "baseline":
                summary.baselines += 1
            elif outcome.kind == "unchanged":
                summary.unchanged += 1
            else:
                summary.updates.append(outcome.update)
                summary.host_tracked += outcome.host_tracked
        self.processed += len(batch)
        state.update_run(self.db, run_id, processed=self.processed)
        self._progress()


def weak_only(pm: PluginManager, name: str, settings: dict[str, Any]) -> str | None:
    """The plugin's ``weak_only(settings)`` answer: why it sees only weak signals, or None
    (also when it does not implement the hook, raises, or answers something else)."""
    try:
        answer = call_quick(pm, name, "weak_only", settings=settings)
    except Exception:  # a broken hint must not fail the sync
        return None
    return answer.strip()[:200] if isinstance(answer, str) and answer.strip() else None


def _progress_with_message(progress: Progress | None) -> Callable[[int, int, str], None]:
    """Call ``progress`` with a message only when it takes a third positional argument."""
    if progress is None:
        return lambda done, total, message: None
    try:
        inspect.signature(progress).bind(0, 0, "")
    except TypeError:
        return lambda done, total, message: progress(done, total)
    except ValueError:  # no signature to inspect (some builtins): the documented two
        return lambda done, total, message: progress(done, total)
    return progress


def _cancel_check(cancel: Cancel | None) -> Callable[[], bool]:
    """A cheap ``cancelled()``: an event is read each time, a callable every 0.2 s at most."""
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event) or hasattr(cancel, "is_set"):
        return cancel.is_set
    if not callable(cancel):
        raise TypeError("cancel must be a threading.Event or a callable returning True")
    last = {"at": -CANCEL_POLL_SECONDS, "answer": False}

    def cancelled() -> bool:
        now = time.monotonic()
        if not last["answer"] and now - last["at"] >= CANCEL_POLL_SECONDS:
            last["at"], last["answer"] = now, bool(cancel())
        return last["answer"]

    return cancelled


def _has_title(game: Game) -> bool:
    """Whether the library row has a title of its own (not the ``store:id`` placeholder)."""
    title = (game.title or "").strip()
    return bool(title) and title != f"{game.store}:{game.store_id}"


def _failure(game: Game, status: str, message: str) -> GameFailure:
    return GameFailure(game.id, game.store, game.store_id, game.title, status, message)
