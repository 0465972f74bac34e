"""What the launchers on this machine know: reading them, importing, installed vs latest.

The path: every launcher plugin's ``read_launcher`` runs in its own thread, bounded in time
(:func:`read_launchers`) → its games and warnings are checked at the boundary → the
installed state is written to ``patchwatch_installed`` with only what changed
(:func:`record_installed`) → :func:`outdated` compares each installed build with the
newest build the store plugins reported for the same signal kind (its branch).

Hosts call :func:`refresh_installed` (what ``patchwatch watch`` does each cycle) and
:func:`outdated`; the CLI adds ``patchwatch games import-launchers`` and ``patchwatch outdated``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import sqlite_utils

from .config import Config, load_config
from .db import INSTALLED, LAUNCHER_CACHE, SIGNALS, open_db, write
from .errors import LauncherNotFound, PatchwatchError
from .library import _fast_rows, game_index, now_iso
from .library import import_games as add_to_library
from .models import (BadAnswer, LauncherGame, LauncherInfo, LauncherWarning, brief_repr,
                     checked_launcher_game)
from .plugins import NOT_IMPLEMENTED, PluginManager, call, get_plugin_manager, implements

READ_TIMEOUT = 60.0
"""Seconds one launcher plugin may take to read its launcher."""
INFO_TIMEOUT = 5.0
MAX_GAMES = 200_000
"""The most games taken from one launcher in one read (bounded memory)."""
MAX_WARNINGS = 10_000


@dataclass
class LauncherReport:
    """What one launcher plugin found in one read."""

    name: str
    launcher: str
    stores: tuple[str, ...] = ()
    games: list[LauncherGame] = field(default_factory=list)
    warnings: list[LauncherWarning] = field(default_factory=list)
    missing: str | None = None
    """Why the launcher is not on this machine (one line), when it is not."""
    error: str | None = None
    """Why the read failed as a whole (the plugin raised, hung or is broken)."""
    seconds: float = 0.0
    branch_setting: str | None = None
    finished: bool = False
    """The plugin's call returned (whatever it said) within the time allowed."""
    same_as_last: bool = False
    """The plugin handed back the very games and warnings of its last read in this process."""

    @property
    def complete(self) -> bool:
        """The read finished: what is not listed is no longer there."""
        return self.missing is None and self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "launcher": self.launcher, "stores": list(self.stores),
            "installed": sum(1 for g in self.games if g.installed),
            "owned_only": sum(1 for g in self.games if not g.installed),
            "warnings": [{"path": w.path, "message": w.message} for w in self.warnings],
            "missing": self.missing, "error": self.error, "seconds": round(self.seconds, 3),
        }


MAX_SAVED_CACHE = 8 * 1024 * 1024
"""The largest plugin cache (as JSON) kept in the database between processes."""


class _Cache(dict):
    """A plugin's ``cache``: a dict that knows whether the plugin changed it."""

    dirty = False

    def __setitem__(self, key: Any, value: Any) -> None:
        self.dirty = True
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self.dirty = True
        super().__delitem__(key)

    def _changing(name: str):  # type: ignore[misc]
        def method(self: "_Cache", *args: Any, **kwargs: Any) -> Any:
            self.dirty = True
            return getattr(dict, name)(self, *args, **kwargs)
        return method

    pop = _changing("pop")
    popitem = _changing("popitem")
    clear = _changing("clear")
    update = _changing("update")
    setdefault = _changing("setdefault")
    del _changing


_checked: dict[str, dict[int, tuple[LauncherGame, LauncherGame]]] = {}
_last_warnings: dict[str, list[LauncherWarning]] = {}
_fingerprints: dict[str, str] = {}
"""The fingerprint of each plugin's last read in this process (see :func:`_fingerprint`)."""
_caches: dict[str, _Cache] = {}
"""Each launcher plugin's ``cache``, kept for the life of the process (and, when it is
plain JSON data, in the database between processes: see :func:`read_launchers`)."""


def _pm_state(pm: PluginManager) -> tuple[dict[str, LauncherInfo | str],
                                          dict[str, threading.Thread]]:
    """The manager's launcher infos and hung reads, kept on the manager itself."""
    state = getattr(pm, "_patchwatch_launchers", None)
    if state is None:
        state = ({}, {})
        pm._patchwatch_launchers = state  # type: ignore[attr-defined]
    return state


def launcher_names(pm: PluginManager, config: Config | None = None) -> list[str]:
    """The registered launcher plugins not switched off, by name."""
    disabled = config.disabled() if config is not None else set()
    return sorted(name for name, plugin in pm.list_name_plugin()
                  if name and plugin is not None and name not in disabled
                  and implements(pm, name, "read_launcher"))


def launcher_info(pm: PluginManager, name: str) -> LauncherInfo | str:
    """The plugin's checked :class:`LauncherInfo`, or why there is none (cached per plugin)."""
    infos, _ = _pm_state(pm)
    if name not in infos:
        box: list[Any] = []

        def ask() -> None:
            try:
                box.append(call(pm, name, "launcher_info"))
            except Exception as exc:
                box.append(f"launcher_info() failed: {type(exc).__name__}: {exc}")

        worker = threading.Thread(target=ask, daemon=True, name=f"patchwatch-{name}-info")
        worker.start()
        worker.join(INFO_TIMEOUT)
        if not box:
            return f"launcher_info() did not answer in {INFO_TIMEOUT:g} s"
        infos[name] = _checked_info(box[0])
    return infos[name]


def _checked_info(info: Any) -> LauncherInfo | str:
    if isinstance(info, str):
        return info
    if info is NOT_IMPLEMENTED:
        return "does not implement launcher_info()"
    if not isinstance(info, LauncherInfo) or not isinstance(info.launcher, str) \
            or not isinstance(info.stores, (tuple, list)) \
            or not all(isinstance(s, str) for s in info.stores) \
            or not (info.branch_setting is None or isinstance(info.branch_setting, str)):
        return f"launcher_info() gave garbage: {brief_repr(info)}"
    return LauncherInfo(info.launcher[:100], tuple(s.lower() for s in info.stores),
                        str(info.description or "")[:200], info.branch_setting)


def read_launchers(pm: PluginManager | None = None, config: Config | None = None,
                   names: Iterable[str] | None = None, *, timeout: float = READ_TIMEOUT,
                   db: sqlite_utils.Database | None = None) -> list[LauncherReport]:
    """Read every launcher plugin (or those ``names``), side by side, each in its own
    thread and within ``timeout`` seconds. Never raises for a plugin's fault: a plugin
    that raises, hangs or yields garbage gets ``error`` or warnings in its report.

    With ``db``, a plugin's cache is also kept there between processes (when it is plain
    JSON data of at most :data:`MAX_SAVED_CACHE`), so a new process re-reads an unchanged
    launcher as cheaply as ``watch`` does."""
    pm = pm or get_plugin_manager()
    config = config or load_config()
    chosen = list(names) if names is not None else launcher_names(pm, config)
    if db is not None:
        _load_caches(db, chosen)
    reports = _read_all(pm, config, chosen, timeout)
    if db is not None and not getattr(db, "read_only", False):
        _save_caches(db, [r.name for r in reports if r.finished])
    return reports


def _load_caches(db: sqlite_utils.Database, names: list[str]) -> None:
    wanted = [n for n in names if n not in _caches]
    if not wanted or not db[LAUNCHER_CACHE].exists():
        return
    for name, data in db.execute(
            f"SELECT name, data FROM {LAUNCHER_CACHE} WHERE name IN "
            f"({', '.join('?' for _ in wanted)})", wanted):
        try:
            loaded = json.loads(data)
        except (TypeError, ValueError, RecursionError):
            continue  # a damaged row: the plugin reads everything again
        if isinstance(loaded, dict):
            _caches[name] = _Cache(loaded)


def _save_caches(db: sqlite_utils.Database, names: list[str]) -> None:
    rows = []
    for name in names:
        cache = _caches.get(name)
        if cache is None or not cache.dirty:
            continue
        try:
            text = json.dumps(cache, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            cache.dirty = False  # not plain data: kept in this process only
            continue
        if len(text) <= MAX_SAVED_CACHE:
            rows.append((name, text, now_iso()))
        cache.dirty = False
    if rows:
        with write(db):
            db.conn.executemany(
                f"INSERT INTO {LAUNCHER_CACHE} (name, data, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET data = excluded.data, "
                "updated_at = excluded.updated_at", rows)


def _read_all(pm: PluginManager, config: Config, chosen: list[str],
              timeout: float) -> list[LauncherReport]:
    reports = {name: LauncherReport(name, name) for name in chosen}
    _, hung = _pm_state(pm)
    boxes: dict[str, list[LauncherReport]] = {}
    workers: dict[str, threading.Thread] = {}
    for name, report in reports.items():
        info = launcher_info(pm, name)
        if isinstance(info, str):
            report.error = info
            continue
        report.launcher, report.stores = info.launcher, info.stores
        report.branch_setting = info.branch_setting
        if name in hung and hung[name].is_alive():
            report.error = "still stuck in an earlier read (not asked again)"
            continue
        boxes[name] = []
        workers[name] = threading.Thread(
            target=_read_one, args=(pm, name, config.settings_for(name), report, boxes[name]),
            daemon=True, name=f"patchwatch-{name}-launcher")
        workers[name].start()
    deadline = time.monotonic() + timeout
    for name, worker in workers.items():
        worker.join(max(0.0, deadline - time.monotonic()))
        if not boxes[name]:
            hung[name] = worker
            reports[name].error = f"did not finish reading in {timeout:g} s"
            reports[name].games, reports[name].warnings = [], []
    return list(reports.values())


def _read_one(pm: PluginManager, name: str, settings: dict[str, Any],
              report: LauncherReport, done: list[LauncherReport]) -> None:
    started = time.monotonic()
    cache = _caches.setdefault(name, _Cache())
    games: list[LauncherGame] = []
    warnings: list[LauncherWarning] = []
    # A plugin that hands back the very objects of its last read (from its cache) gets
    # them checked once: by identity, holding the object so its id cannot be reused.
    last = _checked.get(name, {})
    seen: dict[int, tuple[LauncherGame, LauncherGame]] = {}
    hits = 0
    try:
        items = call(pm, name, "read_launcher", settings=settings, cache=cache)
        if items is NOT_IMPLEMENTED:
            raise BadAnswer("does not implement read_launcher()")
        for item in items or ():
            if isinstance(item, LauncherWarning):
                if len(warnings) < MAX_WARNINGS:
                    warnings.append(LauncherWarning(str(item.path)[:1000],
                                                    str(item.message)[:1000]))
                continue
            try:
                known = last.get(id(item))
                if known is not None and known[0] is item:
                    checked = known[1]
                    hits += 1
                else:
                    checked = checked_launcher_game(item)
                seen[id(item)] = (item, checked)
                games.append(checked)
            except BadAnswer as exc:
                warnings.append(LauncherWarning(name, f"{name} gave a malformed game: {exc}"))
            if len(games) >= MAX_GAMES:
                warnings.append(LauncherWarning(name, f"more than {MAX_GAMES} games: "
                                                      "the rest were not read"))
                break
    except LauncherNotFound as exc:
        report.missing = str(exc) or f"{report.launcher} not found"
        games, warnings = [], []
    except PatchwatchError as exc:  # a bad setting: its message names it
        report.error = str(exc)
        games, warnings = [], []
    except Exception as exc:  # a plugin's fault never reaches the caller
        report.error = f"{type(exc).__name__}: {exc}"
        games, warnings = [], []
    report.games, report.warnings = games, warnings
    report.same_as_last = (report.complete and hits == len(games) == len(last)
                           and _last_warnings.get(name) == warnings)
    _checked[name], _last_warnings[name] = seen, warnings
    report.seconds = time.monotonic() - started
    report.finished = True
    done.append(report)


# -- the installed state ---------------------------------------------------------------

_COLUMNS = ("game_id", "title", "installed", "build", "kind", "version", "branch",
            "install_path", "update_pending", "source", "extra")


@dataclass
class InstalledChanges:
    """What :func:`record_installed` wrote."""

    changed: int = 0
    """Rows added or changed."""
    removed: int = 0
    """Games no longer listed by a launcher that was read completely."""
    kept: int = 0
    """Games not listed this time whose file had a warning: their state was kept."""
    updated: list[tuple[str, str, str]] = field(default_factory=list)
    """``(store, store_id, title)`` of installed games whose build changed."""


def _row_values(game: LauncherGame, game_id: Any) -> tuple[Any, ...]:
    return (game_id, game.title, int(game.installed), game.build, game.kind, game.version,
            game.branch, game.install_path,
            None if game.update_pending is None else int(game.update_pending), game.source,
            json.dumps(dict(game.extra), sort_keys=True) if game.extra else None)


def _under(path: str | None, warned: list[str]) -> bool:
    """Whether ``path`` is one of the warned files or inside a warned folder."""
    if not path:
        return bool(warned)  # a game from no known file: keep it while anything is wrong
    return any(path == w or path.startswith(w.rstrip("/\\") + "/")
               or path.startswith(w.rstrip("/\\") + "\\") for w in warned)


def record_installed(db: sqlite_utils.Database,
                     reports: Iterable[LauncherReport]) -> InstalledChanges:
    """Store what each completely read launcher reported, writing only what changed.

    A launcher that is missing or failed keeps its stored rows. A game no longer listed is
    removed, unless its ``source`` (or a folder above it) has a warning this time (a file
    being rewritten, an unmounted library folder). Each game is linked to its library row.
    """
    changes = InstalledChanges()
    index: dict[tuple[str, str], Any] | None = None
    now = now_iso()
    done = dict(db.execute(f"SELECT name, fingerprint FROM {LAUNCHER_CACHE}").fetchall())
    for report in reports:
        if not report.complete:
            continue
        fingerprint = (_fingerprints.get(report.name) if report.same_as_last else None) \
            or _fingerprint(report)
        _fingerprints[report.name] = fingerprint
        if done.get(report.name) == fingerprint:
            continue  # the same as the last read recorded: nothing to compare or write
        stored = {(r[0], r[1]): r[2:] for r in _fast_rows(db, 
            f"SELECT store, store_id, {', '.join(_COLUMNS)} FROM {INSTALLED} "
            "WHERE launcher = ?", [report.name])}
        fresh: dict[tuple[str, str], tuple[Any, ...]] = {}
        titles: dict[tuple[str, str], str | None] = {}
        for game in report.games:
            key = (game.store, game.store_id)
            before = stored.get(key)
            if before is not None and before[0] is not None:
                game_id = before[0]  # linked already: no need to read the library
            else:
                if index is None:
                    index = game_index(db)
                game_id = index.get(key)
            fresh[key] = _row_values(game, game_id)
            titles[key] = game.title
        warned = [w.path for w in report.warnings]
        upserts = [(key, values) for key, values in fresh.items() if stored.get(key) != values]
        gone = []
        for key, values in stored.items():
            if key in fresh:
                continue
            if _under(values[_COLUMNS.index("source")], warned):
                changes.kept += 1
            else:
                gone.append(key)
        remember = (f"INSERT INTO {LAUNCHER_CACHE} (name, fingerprint) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint")
        if not upserts and not gone:
            with write(db):
                db.execute(remember, [report.name, fingerprint])
            continue
        for key, values in upserts:
            before = stored.get(key)
            if before is not None and before[2] and values[2] and before[3] != values[3]:
                changes.updated.append((key[0], key[1], titles[key] or ""))
        with write(db):
            db.conn.executemany(
                f"""INSERT INTO {INSTALLED} (launcher, store, store_id, {', '.join(_COLUMNS)},
                        first_seen, changed_at)
                    VALUES (?, ?, ?, {', '.join('?' for _ in _COLUMNS)}, ?, ?)
                    ON CONFLICT (launcher, store, store_id) DO UPDATE SET
                    {', '.join(f'{c} = excluded.{c}' for c in _COLUMNS)},
                    changed_at = CASE WHEN build IS excluded.build THEN changed_at
                                      ELSE excluded.changed_at END""",
                [(report.name, *key, *values, now, now) for key, values in upserts])
            db.conn.executemany(
                f"DELETE FROM {INSTALLED} WHERE launcher = ? AND store = ? AND store_id = ?",
                [(report.name, *key) for key in gone])
            db.execute(remember, [report.name, fingerprint])
        changes.changed += len(upserts)
        changes.removed += len(gone)
    return changes


def _fingerprint(report: LauncherReport) -> str:
    """What a read said (games and warned paths), as a digest stable across processes: the
    same digest as the last recorded read means there is nothing to compare or write."""
    games = sorted((g.store, g.store_id, _row_values(g, None)[1:]) for g in report.games)
    warned = sorted(w.path for w in report.warnings)
    return hashlib.sha1(repr((games, warned)).encode("utf-8", "replace")).hexdigest()


def link_games(db: sqlite_utils.Database) -> int:
    """Link installed rows to library games added since they were read, or added again
    after being removed (their old row id is gone); returns how many were linked."""
    missing = db.execute(f"SELECT launcher, store, store_id FROM {INSTALLED} i "
                         "WHERE game_id IS NULL OR NOT EXISTS "
                         "(SELECT 1 FROM games g WHERE g.id = i.game_id)").fetchall()
    if not missing:
        return 0
    index = game_index(db)
    found = [(index[(s, i)], launcher, s, i) for launcher, s, i in missing if (s, i) in index]
    if found:
        with write(db):
            db.conn.executemany(f"UPDATE {INSTALLED} SET game_id = ? WHERE launcher = ? "
                                "AND store = ? AND store_id = ?", found)
    return len(found)


@dataclass
class Refresh:
    """One read of the launchers and what it changed."""

    reports: list[LauncherReport]
    changes: InstalledChanges


def refresh_installed(db: str | Path | sqlite_utils.Database, *,
                      pm: PluginManager | None = None, config: Config | None = None,
                      names: Iterable[str] | None = None) -> Refresh:
    """Re-read the launchers and store what changed: what ``patchwatch watch`` does each
    cycle and a host can call next to ``sync_library``. Cheap when nothing changed."""
    pm = pm or get_plugin_manager()
    config = config or load_config()
    own = not isinstance(db, sqlite_utils.Database)
    database = open_db(db, lock_wait=config.lock_wait) if own else db
    try:
        reports = read_launchers(pm, config, names, db=database)
        changes = record_installed(database, reports)
        link_games(database)
    finally:
        if own:
            database.close()
    return Refresh(reports, changes)


# -- import ----------------------------------------------------------------------------

@dataclass
class ImportSummary:
    reports: list[LauncherReport]
    added: list[dict[str, Any]]
    already: int
    skipped_owned: int = 0
    refused: list[str] = field(default_factory=list)
    """Games the library refused (one line each: text it cannot store)."""

    def to_dict(self) -> dict[str, Any]:
        return {"launchers": [r.to_dict() for r in self.reports], "added": self.added,
                "added_count": len(self.added), "already_in_library": self.already,
                "skipped_not_installed": self.skipped_owned, "refused": self.refused}


def import_games(db: sqlite_utils.Database, reports: list[LauncherReport], *,
                 installed_only: bool = False) -> ImportSummary:
    """Add the launchers' games that are not in the library yet, then record the installed
    state. A game is added once however many launchers list it; re-running adds nothing."""
    wanted: dict[tuple[str, str], LauncherGame] = {}
    skipped = 0
    for report in reports:
        for game in report.games:
            if installed_only and not game.installed:
                skipped += 1
                continue
            key = (game.store, game.store_id)
            if key not in wanted or (game.title and not wanted[key].title):
                wanted[key] = game
    before = game_index(db)
    fresh = [g for key, g in wanted.items() if key not in before]
    counts = add_to_library(db, ({"store": g.store, "store_id": g.store_id, "title": g.title,
                                  "extra": dict(g.extra) or None} for g in fresh))
    index = game_index(db)
    added = [{"id": index.get((g.store, g.store_id)), "store": g.store, "store_id": g.store_id,
              "title": g.title} for g in fresh if (g.store, g.store_id) in index]
    record_installed(db, reports)
    link_games(db)
    return ImportSummary(reports, added, len(wanted) - len(fresh) + counts.existing, skipped,
                         counts.refused)


# -- installed vs latest ---------------------------------------------------------------

@dataclass(frozen=True)
class Outdated:
    """An installed game whose build is not the newest known on its branch."""

    game_id: Any
    store: str
    store_id: str
    title: str | None
    launcher: str
    branch: str | None
    installed_build: str
    installed_version: str | None
    latest_build: str
    latest_version: str | None
    since: str | None
    """When the newer build came out (the store's publish time, else when first seen)."""
    update_pending: bool | None
    install_path: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class OutdatedReport:
    outdated: list[Outdated]
    installed: int = 0
    current: int = 0
    ahead: int = 0
    """Installed builds newer than the newest known (the store plugin has not seen them yet)."""
    not_compared: int = 0
    """Installed games with no known build to compare with (not in the library, never
    synced, their branch not tracked, or the launcher gives no build)."""

    def to_dict(self) -> dict[str, Any]:
        return {"outdated": [o.to_dict() for o in self.outdated],
                "counts": {"installed": self.installed, "outdated": len(self.outdated),
                           "current": self.current, "ahead": self.ahead,
                           "not_compared": self.not_compared}}


def _newer(installed: str, latest: str) -> bool:
    """Whether an installed build is known to be newer: both whole numbers (Steam build
    ids, GOG build ids grow) and the installed one larger. Other forms never are."""
    return installed.isdigit() and latest.isdigit() and int(installed) > int(latest)


def outdated(db: sqlite_utils.Database) -> OutdatedReport:
    """Installed games whose installed build differs from the newest build recorded for the
    same signal kind (and so the same branch), newest first. One query over the table."""
    report = OutdatedReport([])
    if not db[INSTALLED].exists():
        return report
    title = "g.name" if "name" in db["games"].columns_dict else (
        "g.title" if "title" in db["games"].columns_dict else "NULL")
    have_signals = db[SIGNALS].exists()
    rows = db.execute(
        f"""SELECT i.game_id, i.store, i.store_id, coalesce(i.title, {title}), i.launcher,
                   i.branch, i.build, i.version, s.value, s.version,
                   coalesce(s.published_at, s.first_seen), i.update_pending, i.install_path
            FROM {INSTALLED} i
            LEFT JOIN games g ON g.id = i.game_id
            LEFT JOIN {SIGNALS if have_signals else '(SELECT NULL AS game_id, NULL AS kind, NULL AS value, NULL AS version, NULL AS published_at, NULL AS first_seen)'} s
                   ON s.game_id = i.game_id AND s.kind = i.kind
            WHERE i.installed = 1
            ORDER BY i.build IS NULL, s.value IS NULL, i.launcher""").fetchall()
    seen: set[tuple[str, str]] = set()
    for row in rows:
        (game_id, store, store_id, name, launcher, branch, build, version, latest,
         latest_version, since, pending, path) = row
        if (store, store_id) in seen:  # two launchers list one install (legendary, Heroic)
            continue
        seen.add((store, store_id))
        report.installed += 1
        if not build or latest is None or game_id is None:
            report.not_compared += 1
        elif build == latest:
            report.current += 1
        elif _newer(build, latest):
            report.ahead += 1
        else:
            report.outdated.append(Outdated(
                game_id, store, store_id, name, launcher, branch, build, version, latest,
                latest_version, since, None if pending is None else bool(pending), path))
    report.outdated.sort(key=lambda o: (o.since or "", o.title or ""), reverse=True)
    return report


def installed_ids(db: sqlite_utils.Database) -> set[Any]:
    """Every library game a launcher on this machine has installed, as last read."""
    if not db[INSTALLED].exists():
        return set()
    return {r[0] for r in db.execute(f"SELECT DISTINCT game_id FROM {INSTALLED} "
                                     f"WHERE installed = 1 AND game_id IS NOT NULL")}


def installed_game_ids(db: sqlite_utils.Database, game_ids: Iterable[Any]) -> set[Any]:
    """Which of ``game_ids`` are installed on this machine (for a digest's marks)."""
    if not db[INSTALLED].exists():
        return set()
    ids = list(game_ids)
    found: set[Any] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found.update(r[0] for r in db.execute(
            f"SELECT DISTINCT game_id FROM {INSTALLED} WHERE installed = 1 AND game_id IN "
            f"({', '.join('?' for _ in chunk)})", chunk))
    return found


# -- the branch a game is installed on -------------------------------------------------

def with_installed_branches(db: sqlite_utils.Database, config: Config,
                            pm: PluginManager) -> Config:
    """``config`` where each store's branch table (a launcher's ``branch_setting``) also
    names the branch each installed game is on, unless the user's table names the game.

    A Steam game installed on ``beta`` is then tracked on ``beta``; the config file is not
    touched. Returns ``config`` itself when there is nothing to add."""
    if not db[INSTALLED].exists():
        return config
    stores = {store: dict(section) for store, section in config.stores.items()}
    added = False
    for name in launcher_names(pm, config):
        info = launcher_info(pm, name)
        if isinstance(info, str) or not info.branch_setting:
            continue
        for store, store_id, branch in db.execute(
                f"SELECT store, store_id, branch FROM {INSTALLED} WHERE launcher = ? AND "
                "installed = 1 AND branch IS NOT NULL AND branch != ''", [name]):
            section = stores.setdefault(store, {})
            table = section.get(info.branch_setting)
            table = dict(table) if isinstance(table, dict) else {} if table is None else None
            if table is None:  # the user wrote it another way (a string): theirs wins
                continue
            if store_id not in {str(k) for k in table}:
                table[store_id] = branch
                section[info.branch_setting] = table
                added = True
    return dataclasses.replace(config, stores=stores) if added else config
