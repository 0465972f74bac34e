"""patchwatch launcher plugin: the Steam client's installed games, builds and branches.

Reads ``steamapps/libraryfolders.vdf`` and every library folder's
``appmanifest_<appid>.acf`` (see :mod:`.manifests` for the fields and their sources).
Nothing is written, no network, no credentials. Files are re-parsed only when their
``(mtime, size)`` changed since the last read in the same process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from patchwatch import LauncherGame, LauncherInfo, LauncherNotFound, LauncherWarning, hookimpl
from patchwatch.models import checked_launcher_game
from patchwatch.settings import SettingsError, read_settings

from .manifests import library_paths, read_manifest, scan_library
from .paths import default_roots

__all__ = ["launcher_info", "read_launcher", "SteamClientSettings"]


@dataclass(frozen=True)
class SteamClientSettings:
    """``[plugins.launcher_steam]``."""

    paths: tuple[str, ...] = ()
    """Steam client folders (the ones holding ``steamapps``); replaces the search."""
    include_tools: bool = False
    """Also list Proton, the Steam Linux Runtimes and the redistributables."""
    max_file_kb: int = 1024
    """Larger manifests are skipped with a warning (bounded memory)."""

    def validate(self) -> None:
        if not 1 <= self.max_file_kb <= 1024 * 1024:
            raise SettingsError(f"launcher_steam setting max_file_kb must be a whole number of KiB "
                                f"from 1, got {self.max_file_kb!r}")


@hookimpl
def launcher_info() -> LauncherInfo:
    return LauncherInfo(launcher="Steam client", stores=("steam",),
                        description="installed Steam games from the client's app manifests",
                        branch_setting="branches")


@hookimpl
def read_launcher(settings: Mapping[str, Any],
                  cache: dict[str, Any]) -> Iterator[LauncherGame | LauncherWarning]:
    cfg = read_settings(SteamClientSettings, settings, plugin="launcher_steam")
    roots = [Path(os.path.expanduser(p)) for p in cfg.paths] or default_roots()
    clients = _unique(r for r in roots if (r / "steamapps").is_dir())
    if not clients:
        raise LauncherNotFound("no Steam client folder in " + ", ".join(map(str, roots)))
    limit = cfg.max_file_kb * 1024
    libraries: list[Path] = []
    for root in clients:
        folders, warnings = library_paths(root, limit)
        yield from warnings
        libraries.extend(folders)
    seen: set[str] = set()
    for library in _unique(libraries):
        entries, warning = scan_library(library)
        if warning is not None:
            yield warning
            continue
        for entry in entries:
            yield from _manifest(entry, library, limit, cfg.include_tools, cache, seen)
    for stale in set(cache) - seen:  # manifests gone since the last read
        del cache[stale]
        _parsed.pop(stale, None)


def _manifest(entry: os.DirEntry[str], library: Path, limit: int, include_tools: bool,
              cache: dict[str, Any], seen: set[str]) -> Iterator[LauncherGame | LauncherWarning]:
    path = entry.path
    try:
        stat = entry.stat()  # follows a symlink: a loop or a dangling one raises
    except OSError as exc:
        yield LauncherWarning(path, f"cannot be read: {exc.strerror or exc}")
        return
    key = [stat.st_mtime_ns, stat.st_size, include_tools]
    memo = _parsed.get(path)
    item = memo[1] if memo is not None and memo[0] == key and path in cache \
        else _cached(cache.get(path), key)
    if item is not False:
        _parsed[path] = (key, item)
    else:
        item = read_manifest(path, library, limit, include_tools)
        if not isinstance(item, LauncherWarning):  # a bad file is read again next time
            # Plain JSON data, so the core can keep it between processes too.
            cache[path] = [key, item.to_dict() if item is not None else None]
            _parsed[path] = (key, item)
    seen.add(path)
    if item is not None:
        yield item


_parsed: dict[str, tuple[list[Any], LauncherGame | None]] = {}
"""The games already built in this process, by manifest path: an unchanged manifest costs
one ``stat`` (the ``cache`` entry, plain data from the database, is checked only once)."""


def _cached(entry: Any, key: list[Any]) -> LauncherGame | None | bool:
    """The game a cache entry holds for an unchanged file, None for a skipped tool, or
    False when the file must be read (changed, never read, or a damaged entry)."""
    if not isinstance(entry, list) or len(entry) != 2 or entry[0] != key:
        return False
    if entry[1] is None:
        return None
    try:  # saved in the database: checked as the core checks what a plugin yields
        return checked_launcher_game(LauncherGame.from_dict(entry[1]))
    except (TypeError, ValueError, AttributeError):
        return False


def _unique(paths: Any) -> list[Path]:
    """``paths`` without repeats, comparing real locations (``~/.steam/steam`` is a link)."""
    found: dict[str, Path] = {}
    for path in paths:
        try:
            real = os.path.realpath(path)
        except (OSError, RuntimeError):  # a symlink loop
            real = str(path)
        found.setdefault(real, path)
    return list(found.values())
