"""What the core remembers: signals, checks, update history, runs and plugin health."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

import sqlite_utils

from .db import CHECKS, PLUGIN_STATE, RUNS, SIGNALS, UPDATES, write
from .host import HostTables, update_time
from .library import now_iso
from .models import Game, Problem, Result, Signal


@dataclass
class UpdateRecord:
    """One detected change of a game's signal."""

    game_id: int
    store: str
    store_id: str
    title: str | None
    kind: str
    old_value: str
    new_value: str
    old_version: str | None
    version: str | None
    published_at: str | None
    is_build: bool
    plugin: str
    detected_at: str


@dataclass
class Outcome:
    """What recording one answer meant."""

    game: Game
    kind: str  # baseline | update | unchanged | problem
    update: UpdateRecord | None = None
    problem: Problem | None = None
    host_tracked: bool = False
    """The host's own tracker already wrote this update to ``game_depot_updates``."""


def record_results(
    db: sqlite_utils.Database,
    plugin: str,
    run_id: int,
    answers: Iterable[tuple[Game, Result]],
) -> list[Outcome]:
    """Compare each answer with the stored signal and record it, all in one transaction.

    The stored signals are read inside that write transaction, not taken from the games as
    loaded: if another sync recorded the same new value in the meantime, this answer is
    unchanged, so an update is recorded once per (game, kind, new value) whatever the
    interleaving of syncs.
    """
    answers = list(answers)
    with write(db):
        stored = _stored_signals(db, [g.id for g, r in answers if not isinstance(r, Problem)])
        now = now_iso()
        outcomes, signals, seen, checks, updates, builds = _classify(
            answers, stored, plugin, run_id, now)
        if builds:
            _record_builds(db, builds, outcomes)
        # first_seen is when the current value was first seen: kept while it is unchanged.
        db.conn.executemany(
            f"""INSERT INTO {SIGNALS} (game_id, kind, value, version, published_at, is_build,
                    detail, plugin, first_seen, last_seen)
                VALUES (:game_id, :kind, :value, :version, :published_at, :is_build,
                    :detail, :plugin, :first_seen, :last_seen)
                ON CONFLICT (game_id, kind) DO UPDATE SET
                    first_seen = CASE WHEN value = excluded.value THEN first_seen
                                      ELSE excluded.first_seen END,
                    value = excluded.value, version = excluded.version,
                    published_at = excluded.published_at, is_build = excluded.is_build,
                    detail = excluded.detail, plugin = excluded.plugin,
                    last_seen = excluded.last_seen""",
            signals,
        )
        db.conn.executemany(
            f"UPDATE {SIGNALS} SET last_seen = ?, plugin = ? WHERE game_id = ? AND kind = ?",
            seen)
        _upsert_checks(db, checks)
        if updates:
            db[UPDATES].insert_all(
                {**asdict(u), "is_build": int(u.is_build), "run_id": run_id} for u in updates)
    return outcomes


def _stored_signals(db: sqlite_utils.Database,
                    game_ids: list[Any]) -> dict[tuple[Any, str], Signal]:
    """The stored signals of ``game_ids``, read now (one statement)."""
    if not game_ids:
        return {}
    from .library import StoredDetail

    rows = db.execute(
        f"SELECT game_id, kind, value, version, published_at, is_build, detail FROM {SIGNALS} "
        f"WHERE game_id IN (SELECT value FROM json_each(?))", [json.dumps(game_ids)])
    return {(game_id, kind): Signal(kind, value, version, published_at, bool(is_build),
                                    StoredDetail(detail))
            for game_id, kind, value, version, published_at, is_build, detail in rows}


def _classify(answers: list[tuple[Game, Result]], stored: dict[tuple[Any, str], Signal],
              plugin: str, run_id: int, now: str) -> tuple[list[Outcome], ...]:
    """What each answer means against the stored signals, and the rows that record it."""
    outcomes: list[Outcome] = []
    signals: list[dict[str, Any]] = []
    seen: list[tuple[str, str, Any, str]] = []
    checks: list[dict[str, Any]] = []
    updates: list[UpdateRecord] = []
    builds: list[tuple[Game, Signal]] = []
    for game, result in answers:
        if isinstance(result, Problem):
            checks.append(_check_row(game, plugin, result.status, result.message, now, run_id))
            outcomes.append(Outcome(game, "problem", problem=result))
            continue
        previous = stored.get((game.id, result.kind))
        update = None
        if previous is None:
            kind = "baseline"
        elif previous.value == result.value:
            kind = "unchanged"
        else:
            kind = "update"
            update = UpdateRecord(
                game.id, game.store, game.store_id, game.title, result.kind,
                previous.value, result.value, previous.version, result.version,
                result.published_at, result.is_build, plugin, now,
            )
            updates.append(update)
            if result.is_build:
                builds.append((game, result))
        if previous == result:  # the same in every field: only the time it was seen moves
            seen.append((now, plugin, game.id, result.kind))
        else:
            signals.append({
                "game_id": game.id, "kind": result.kind, "value": result.value,
                "version": result.version, "published_at": result.published_at,
                "is_build": int(result.is_build), "detail": json.dumps(dict(result.detail)),
                "plugin": plugin, "first_seen": now, "last_seen": now,
            })
        checks.append(_check_row(game, plugin, "ok", None, now, run_id))
        outcomes.append(Outcome(game, kind, update=update))
    return outcomes, signals, seen, checks, updates, builds


def record_unchanged(db: sqlite_utils.Database, plugin: str, run_id: int, store: str,
                     kind: str, game_ids: list[int | str]) -> None:
    """Stamp the stored ``kind`` signal of each game seen now, and its check ok, in one
    transaction of two statements (no per-game work in Python)."""
    now, ids = now_iso(), json.dumps(game_ids)
    with write(db):
        db.execute(
            f"""UPDATE {SIGNALS} SET last_seen = ?, plugin = ?
                WHERE kind = ? AND game_id IN (SELECT value FROM json_each(?))""",
            [now, plugin, kind, ids])
        # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
        db.execute(
            f"""INSERT INTO {CHECKS} (game_id, store, plugin, status, message, checked_at, run_id)
                SELECT value, ?, ?, 'ok', NULL, ?, ? FROM json_each(?) WHERE true
                ON CONFLICT (game_id) DO UPDATE SET
                    store = excluded.store, plugin = excluded.plugin, status = 'ok',
                    message = NULL, checked_at = excluded.checked_at, run_id = excluded.run_id""",
            [store, plugin, now, run_id, ids])


def _record_builds(db: sqlite_utils.Database, builds: list[tuple[Game, Signal]],
                   outcomes: list[Outcome]) -> None:
    """Write new builds into the host's tables (see :mod:`patchwatch.host`)."""
    tables = HostTables(db)
    detected = datetime.now(timezone.utc).replace(microsecond=0)
    by_game = {o.game.id: o for o in outcomes if o.kind == "update"}
    for game, result in builds:
        row = db.execute(f"SELECT last_seen FROM {SIGNALS} WHERE game_id = ? AND kind = ?",
                         [game.id, result.kind]).fetchone()
        last_checked = row[0] if row else None
        when = update_time(result.published_at, last_checked, detected)
        elsewhere = tables.tracked_elsewhere(game.id, last_checked)
        if elsewhere and game.id in by_game:
            by_game[game.id].host_tracked = True
        tables.record_build(game.id, str(result.detail.get("depot") or result.kind),
                            result.value, when, detected, result.version,
                            depot_row=not elsewhere)


def _check_row(game: Game, plugin: str | None, status: str, message: str | None, now: str,
               run_id: int) -> dict[str, Any]:
    return {"game_id": game.id, "store": game.store, "plugin": plugin, "status": status,
            "message": message, "checked_at": now, "run_id": run_id}


def record_unchecked(db: sqlite_utils.Database, games: Iterable[Game], status: str,
                     message: str, run_id: int) -> None:
    """Mark games no plugin could check (``unsupported`` or ``error``)."""
    now = now_iso()
    rows = [_check_row(game, None, status, message, now, run_id) for game in games]
    with write(db):
        _upsert_checks(db, rows)


def _upsert_checks(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> None:
    """One statement for a batch of check rows (sqlite-utils' upsert_all builds one per
    chunk in Python, which dominated an unchanged library's sync)."""
    db.conn.executemany(
        f"""INSERT INTO {CHECKS} (game_id, store, plugin, status, message, checked_at, run_id)
            VALUES (:game_id, :store, :plugin, :status, :message, :checked_at, :run_id)
            ON CONFLICT (game_id) DO UPDATE SET
                store = excluded.store, plugin = excluded.plugin, status = excluded.status,
                message = excluded.message, checked_at = excluded.checked_at,
                run_id = excluded.run_id""",
        rows)


# -- runs -------------------------------------------------------------------

HEARTBEAT_SECONDS = 15.0
"""How often a running sync stamps its run row."""
LEASE_SECONDS = 90.0
"""A ``running`` run whose stamp is older than this is dead (e.g. its thread died inside a
host process that lives on) and never blocks the next sync."""


def start_run(db: sqlite_utils.Database, stores: list[str] | None, total: int,
              resumed_from: int | None) -> int:
    now = now_iso()
    with write(db):
        if resumed_from is not None:
            db[RUNS].update(resumed_from, {"status": "resumed"})
        return db[RUNS].insert({
            "started_at": now, "status": "running", "stores": json.dumps(stores),
            "total": total, "processed": 0, "pid": os.getpid(), "resumed_from": resumed_from,
            "heartbeat_at": now,
        }).last_pk


def update_run(db: sqlite_utils.Database, run_id: int, **values: Any) -> None:
    with write(db):
        db[RUNS].update(run_id, {**values, "heartbeat_at": now_iso()})


def unfinished_run(db: sqlite_utils.Database) -> dict[str, Any] | None:
    """The newest run if it did not finish (interrupted, crashed, or still going)."""
    rows = list(db.query(f"SELECT * FROM {RUNS} ORDER BY id DESC LIMIT 1"))
    if not rows or rows[0]["status"] not in ("running", "interrupted", "cancelled"):
        return None
    return rows[0]


def running_elsewhere(run: dict[str, Any], stale_after: float = 12 * 3600) -> bool:
    """Whether ``run`` is being carried out right now by another sync.

    It is alive while its process lives and its heartbeat is younger than
    :data:`LEASE_SECONDS`: a sync that died inside a host process that lives on stops
    stamping and expires, whatever the pid says.
    """
    if run["status"] != "running" or run["pid"] == os.getpid() or not pid_alive(run["pid"]):
        return False
    beat = run.get("heartbeat_at")
    if beat:
        return _age(beat) < LEASE_SECONDS
    return _age(run["started_at"]) < stale_after  # a run from before heartbeats existed


def _age(stamp: str) -> float:
    when = datetime.fromisoformat(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - when).total_seconds()


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` runs on this machine."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeat:
    """Stamps a run's ``heartbeat_at`` from a daemon thread, on its own connection."""

    def __init__(self, path: str, run_id: int, every: float | None = None) -> None:
        self.path, self.run_id = path, run_id
        self.every = HEARTBEAT_SECONDS if every is None else every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="patchwatch-heartbeat",
                                        daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _beat(self) -> None:
        from .db import open_db

        db = None
        while not self._stop.wait(self.every):
            try:
                if db is None:
                    db = open_db(self.path, create=False, lock_wait=self.every)
                with write(db):
                    db.execute(f"UPDATE {RUNS} SET heartbeat_at = ? WHERE id = ?",
                               [now_iso(), self.run_id])
            except Exception:  # a missed beat is harmless; the next one retries
                continue
        if db is not None:
            db.close()


def run_chain(db: sqlite_utils.Database, run: dict[str, Any]) -> list[int]:
    """``run`` and every unfinished run it resumed, newest first."""
    chain, seen = [run["id"]], {run["id"]}
    parent = run.get("resumed_from")
    while parent is not None and parent not in seen:
        rows = list(db.query(f"SELECT id, status, resumed_from FROM {RUNS} WHERE id = ?",
                             [parent]))
        if not rows or rows[0]["status"] != "resumed":
            break
        chain.append(parent)
        seen.add(parent)
        parent = rows[0]["resumed_from"]
    return chain


def checked_in_runs(db: sqlite_utils.Database, run_ids: list[int]) -> set[int]:
    marks = ", ".join("?" for _ in run_ids)
    return {r["game_id"] for r in db.query(
        f"SELECT game_id FROM {CHECKS} WHERE run_id IN ({marks}) AND status != 'error'",
        run_ids)}


def checked_in_run(db: sqlite_utils.Database, run_id: int) -> set[int]:
    return checked_in_runs(db, [run_id])


def updates_in_runs(db: sqlite_utils.Database, run_ids: list[int]) -> list[UpdateRecord]:
    """The updates recorded by ``run_ids`` (the unfinished runs a sync resumes), oldest first."""
    marks = ", ".join("?" for _ in run_ids)
    names = [f.name for f in fields(UpdateRecord)]
    return [UpdateRecord(**{k: (bool(r[k]) if k == "is_build" else r[k]) for k in names})
            for r in db.query(f"SELECT * FROM {UPDATES} WHERE run_id IN ({marks}) "
                              "ORDER BY id", run_ids)]


def forget_deleted_games(db: sqlite_utils.Database) -> int:
    """Drop patchwatch's rows of games the host deleted; return how many games that was.

    Otherwise a stale signal would make a new game that reuses the id look updated.
    """
    gone = [r["game_id"] for r in db.query(
        f"SELECT DISTINCT game_id FROM {SIGNALS} WHERE game_id NOT IN (SELECT id FROM games) "
        f"UNION SELECT game_id FROM {CHECKS} WHERE game_id NOT IN (SELECT id FROM games)")]
    if gone:
        with write(db):
            for table in (SIGNALS, CHECKS, UPDATES):
                db.conn.executemany(f"DELETE FROM {table} WHERE game_id = ?",
                                    [(g,) for g in gone])
    return len(gone)


# -- plugin health and state ------------------------------------------------

@dataclass
class PluginHealth:
    failures: int = 0
    off_until: str | None = None
    last_error: str | None = None
    state: dict[str, Any] | None = None
    settings: str | None = None
    """Fingerprint of the settings the failures happened with."""

    def is_off(self, now: datetime | None = None, settings: str | None = None) -> bool:
        """Whether the breaker is open; new ``settings`` (a fixed config) close it early."""
        if not self.off_until or (settings is not None and settings != self.settings):
            return False
        now = now or datetime.now(timezone.utc)
        return datetime.fromisoformat(self.off_until) > now


def plugin_health(db: sqlite_utils.Database, name: str) -> PluginHealth:
    if not db[PLUGIN_STATE].exists():  # a host database opened read-only, never synced
        return PluginHealth(state={})
    rows = list(db.query(f"SELECT * FROM {PLUGIN_STATE} WHERE name = ?", [name]))
    if not rows:
        return PluginHealth(state={})
    row = rows[0]
    return PluginHealth(row["failures"] or 0, row["off_until"], row["last_error"],
                        json.loads(row["state"] or "{}"), row.get("settings"))


def settings_fingerprint(settings: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def record_failure(db: sqlite_utils.Database, name: str, error: str, *,
                   trip_after: int, cooldown: float, settings: str | None = None) -> PluginHealth:
    """Count a failure; at ``trip_after`` in a row, switch the plugin off for ``cooldown`` s.

    Failures under other ``settings`` (a fingerprint) are not counted against the new ones.
    """
    health = plugin_health(db, name)
    if settings is not None and health.settings != settings:
        health.failures, health.off_until = 0, None
    health.settings = settings
    health.failures += 1
    health.last_error = error
    if health.failures >= trip_after:
        until = datetime.now(timezone.utc) + timedelta(seconds=cooldown)
        if until.microsecond:  # kept to the second, rounded up: never shorter than asked
            until += timedelta(microseconds=1_000_000 - until.microsecond)
        health.off_until = until.isoformat()
    _save_health(db, name, health)
    return health


def reset_breaker(db: sqlite_utils.Database, name: str) -> bool:
    """Close plugin ``name``'s circuit breaker (failures forgotten, its state kept); False
    when it had no failures to forget."""
    health = plugin_health(db, name)
    if not health.failures and not health.off_until:
        return False
    health.failures, health.off_until = 0, None
    _save_health(db, name, health)
    return True


def record_success(db: sqlite_utils.Database, name: str, state: dict[str, Any] | None) -> None:
    """Reset the failure count and keep the plugin's state (when it gave one)."""
    health = plugin_health(db, name)
    health.failures, health.off_until, health.last_error = 0, None, None
    if state is not None:
        health.state = state
    _save_health(db, name, health)


def _save_health(db: sqlite_utils.Database, name: str, health: PluginHealth) -> None:
    with write(db):
        db[PLUGIN_STATE].upsert({
            "name": name, "failures": health.failures, "off_until": health.off_until,
            "last_error": health.last_error, "state": json.dumps(health.state or {}),
            "settings": health.settings,
            "updated_at": now_iso(),
        }, pk="name")


def recent_updates(db: sqlite_utils.Database, since: str | None = None,
                   builds_only: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
    """Detected updates, newest first (none when patchwatch never wrote to the database)."""
    if not db[UPDATES].exists():
        return []
    where, params = [], []
    if since:
        where.append("detected_at >= ?")
        params.append(since)
    if builds_only:
        where.append("is_build = 1")
    sql = f"SELECT * FROM {UPDATES}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY detected_at DESC, id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return list(db.query(sql, params))
