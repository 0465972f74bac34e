"""patchwatch launcher plugin: GOG games from GOG Galaxy 2.0 and from install folders.

- **Install folders**: a GOG game's folder holds ``goggame-<productId>.info`` (JSON:
  ``gameId``, ``rootGameId``, ``buildId``, ``name``; written by Galaxy and gogdl) -- the
  installed build. Folders come from Galaxy's database and from the ``install_paths``
  setting (each folder and its sub-folders are looked at).
- **GOG Galaxy 2.0**: ``galaxy-2.0.db`` (SQLite; Windows ``%PROGRAMDATA%\\GOG.com\\Galaxy\\
  storage``, macOS ``/Users/Shared/GOG.com/Galaxy/Storage`` and ``~/Library/Application
  Support/GOG.com/Galaxy/Storage``): ``InstalledBaseProducts(productId, installationPath)``,
  owned games from ``ProductPurchaseDates.gameReleaseKey`` (``gog_<id>``), titles from
  ``LimitedDetails(productId, title)``. Opened read-only; when Galaxy holds its lock, read
  as an immutable snapshot instead, with a warning.

Sources (facts only): AB1908/GOG-Galaxy-Export-Script (tables), heroic-gogdl and Heroic
``storeManagers/gog`` (``goggame-*.info`` fields), erri120/GameFinder ``GOG``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from patchwatch import LauncherGame, LauncherInfo, LauncherNotFound, LauncherWarning, hookimpl
from patchwatch.models import checked_launcher_game
from patchwatch.settings import read_settings

__all__ = ["launcher_info", "read_launcher", "GogSettings", "default_databases"]

INFO = re.compile(r"^goggame-(\d+)\.info$")
MAX_INFO = 1024 * 1024
LOCK_WAIT = 1.0


@dataclass(frozen=True)
class GogSettings:
    """``[plugins.launcher_gog]``."""

    galaxy_db: tuple[str, ...] = ()
    """``galaxy-2.0.db`` files; replaces the search."""
    install_paths: tuple[str, ...] = ()
    """Folders holding GOG games (or one game): each and its sub-folders are looked at."""


def default_databases(platform: str = sys.platform, home: Path | None = None,
                      env: Mapping[str, str] | None = None) -> list[Path]:
    home = home or Path.home()
    env = os.environ if env is None else env
    name = "galaxy-2.0.db"
    if platform.startswith("win"):
        return [Path(env.get("PROGRAMDATA") or r"C:\ProgramData") / "GOG.com/Galaxy/storage" / name]
    if platform == "darwin":
        return [Path("/Users/Shared/GOG.com/Galaxy/Storage") / name,
                home / "Library/Application Support/GOG.com/Galaxy/Storage" / name]
    return []  # no Galaxy on Linux: install folders only


@hookimpl
def launcher_info() -> LauncherInfo:
    return LauncherInfo(launcher="GOG Galaxy / GOG installs", stores=("gog",),
                        description="GOG games from Galaxy 2.0 and goggame-<id>.info files")


@hookimpl
def read_launcher(settings: Mapping[str, Any],
                  cache: dict[str, Any]) -> Iterator[LauncherGame | LauncherWarning]:
    cfg = read_settings(GogSettings, settings, plugin="launcher_gog")
    databases = [Path(p).expanduser() for p in cfg.galaxy_db] or default_databases()
    databases = [p for p in databases if p.is_file()]
    folders = [Path(p).expanduser() for p in cfg.install_paths]
    if not databases and not any(f.is_dir() for f in folders):
        raise LauncherNotFound("no GOG Galaxy database and no GOG install folder found "
                               "(set [plugins.launcher_gog] install_paths)")
    found: dict[str, LauncherGame] = {}
    titles: dict[str, str] = {}
    owned: dict[str, str] = {}
    galaxy_installed: dict[str, tuple[str, str]] = {}
    game_folders: list[Path] = []
    for database in databases:
        read = read_galaxy(database)
        if isinstance(read, LauncherWarning):
            yield read
            continue
        installed, owned_here, titles_here, warning = read
        if warning:
            yield warning
        titles.update(titles_here)
        owned.update({pid: str(database) for pid in owned_here})
        galaxy_installed.update({pid: (p, str(database)) for pid, p in installed.items()})
        game_folders += [Path(p) for p in installed.values() if p]
    for folder in folders:
        if not folder.is_dir():
            yield LauncherWarning(str(folder), "install folder not found (unmounted?)")
            continue
        game_folders.append(folder)
        try:
            with os.scandir(folder) as entries:
                game_folders += [Path(e.path) for e in entries if _is_dir(e)]
        except OSError as exc:
            yield LauncherWarning(str(folder), f"cannot be listed: {exc.strerror or exc}")
    for folder in dict.fromkeys(game_folders):
        for item in _read_folder(folder, cache):
            if isinstance(item, LauncherWarning):
                yield item
            elif item.store_id not in found:
                found[item.store_id] = item
    for pid, game in found.items():
        yield game if game.title or pid not in titles else dataclasses.replace(
            game, title=titles[pid])
    for pid, (folder, source) in galaxy_installed.items():
        if pid not in found:  # Galaxy says installed, but no goggame file: no build known
            found[pid] = LauncherGame(store="gog", store_id=pid, title=titles.get(pid),
                                      installed=True, install_path=folder or None,
                                      source=source)
            yield found[pid]
    for pid, source in owned.items():
        if pid not in found:
            yield LauncherGame(store="gog", store_id=pid, title=titles.get(pid),
                               installed=False, source=source)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _read_folder(folder: Path, cache: dict[str, Any]) -> Iterator[LauncherGame | LauncherWarning]:
    try:
        with os.scandir(folder) as entries:
            infos = [e for e in entries if INFO.match(e.name)]
    except FileNotFoundError:
        return  # Galaxy lists a folder since removed: nothing installed there
    except OSError as exc:
        yield LauncherWarning(str(folder), f"cannot be listed: {exc.strerror or exc}")
        return
    for entry in infos:
        try:
            stat = entry.stat()
        except OSError as exc:
            yield LauncherWarning(entry.path, f"cannot be read: {exc.strerror or exc}")
            continue
        key = [stat.st_mtime_ns, stat.st_size]
        cached = cache.get(entry.path)
        item: LauncherGame | LauncherWarning | None
        try:
            item = (checked_launcher_game(LauncherGame.from_dict(cached[1]))
                    if cached[1] is not None else None) \
                if isinstance(cached, list) and cached[0] == key else False  # type: ignore[assignment]
        except (TypeError, ValueError, AttributeError, IndexError):
            item = False  # type: ignore[assignment]
        if item is False:
            item = _read_info(Path(entry.path), folder, stat.st_size)
            if not isinstance(item, LauncherWarning):  # plain JSON: kept between processes
                cache[entry.path] = [key, item.to_dict() if item is not None else None]
        if item is not None:
            yield item


def _read_info(path: Path, folder: Path, size: int) -> LauncherGame | LauncherWarning | None:
    if size > MAX_INFO:
        return LauncherWarning(str(path), "larger than 1 MiB: skipped")
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig", "replace"))
    except PermissionError:
        return LauncherWarning(str(path), "permission denied")
    except OSError as exc:
        return LauncherWarning(str(path), f"cannot be read: {exc.strerror or exc}")
    except (ValueError, RecursionError) as exc:
        return LauncherWarning(str(path), f"not valid JSON ({str(exc)[:80]})")
    if not isinstance(data, dict):
        return LauncherWarning(str(path), "not a JSON object")
    pid = _text(data.get("gameId")) or INFO.match(path.name)[1]  # type: ignore[index]
    root = _text(data.get("rootGameId"))
    if root and root != pid:
        return None  # a DLC's file, next to its game's
    build = _text(data.get("buildId"))
    return LauncherGame(store="gog", store_id=pid, title=_text(data.get("name")),
                        installed=True, build=build, kind="build_id" if build else None,
                        version=_text(data.get("version")), install_path=str(folder),
                        source=str(path))


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def read_galaxy(path: Path) -> tuple[dict[str, str], set[str], dict[str, str],
                                     LauncherWarning | None] | LauncherWarning:
    """``(installed {id: folder}, owned ids, titles, warning)`` from Galaxy's database, or a
    warning when it cannot be read at all. Never writes, never holds a lock for long."""
    warning = None
    try:
        conn = _connect(path, immutable=False)
        try:
            return (*_query(conn), None)
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            return LauncherWarning(str(path), f"cannot be read: {exc}")
        warning = LauncherWarning(str(path), "locked by GOG Galaxy: read as a snapshot "
                                             "without its lock (may be a moment behind)")
    except sqlite3.Error as exc:
        return LauncherWarning(str(path), f"cannot be read: {exc}")
    try:
        conn = _connect(path, immutable=True)
        try:
            return (*_query(conn), warning)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return LauncherWarning(str(path), f"locked by GOG Galaxy and unreadable without "
                                          f"its lock: {exc}")


def _connect(path: Path, immutable: bool) -> sqlite3.Connection:
    mode = "ro&immutable=1" if immutable else "ro"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True,
                           timeout=LOCK_WAIT)
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    return conn


def _query(conn: sqlite3.Connection) -> tuple[dict[str, str], set[str], dict[str, str]]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    installed: dict[str, str] = {}
    if "InstalledBaseProducts" in tables:
        for pid, folder in conn.execute(
                "SELECT productId, installationPath FROM InstalledBaseProducts"):
            if _text(pid):
                installed[_text(pid)] = folder if isinstance(folder, str) else ""  # type: ignore[index]
    owned: set[str] = set()
    if "ProductPurchaseDates" in tables:
        for (key,) in conn.execute("SELECT gameReleaseKey FROM ProductPurchaseDates "
                                   "WHERE gameReleaseKey LIKE 'gog\\_%' ESCAPE '\\'"):
            if isinstance(key, str) and key[4:].isdigit():
                owned.add(key[4:])
    titles: dict[str, str] = {}
    if "LimitedDetails" in tables:
        for pid, title in conn.execute("SELECT productId, title FROM LimitedDetails"):
            if _text(pid) and _text(title):
                titles[_text(pid)] = _text(title)  # type: ignore[index]
    return installed, owned, titles
