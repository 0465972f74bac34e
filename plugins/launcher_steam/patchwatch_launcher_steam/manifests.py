"""Reading ``libraryfolders.vdf`` and ``appmanifest_<appid>.acf`` files.

Fields (sources: erri120/GameFinder ``GameFinder.StoreHandlers.Steam``, lutris
``docs/steam.rst``, Matoking/protontricks ``steam.py``, all GPL, read for facts; a real
manifest is reproduced in GeeTwentyFive/GHSI ``src/app_manifest.go``):

- ``steamapps/libraryfolders.vdf``: ``libraryfolders { "0" { "path" "..." } ... }`` (since
  2021), or the older ``LibraryFolders { "1" "D:\\\\SteamLibrary" }``; the client's own folder
  is always a library too.
- ``<library>/steamapps/appmanifest_<appid>.acf``: ``AppState { appid, name, StateFlags,
  installdir, buildid, TargetBuildID, InstalledDepots, UserConfig { BetaKey },
  MountedConfig { BetaKey } }``. StateFlags bits: 2 update required, 4 fully installed,
  256/512/1024/1048576 updating/paused/started/downloading. ``TargetBuildID`` is 0 or the
  installed build when no update is pending. ``MountedConfig.BetaKey`` is the branch whose
  files are installed, ``UserConfig.BetaKey`` the one the user chose.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from patchwatch import LauncherGame, LauncherWarning

from .keyvalues import KeyValuesError, loads

MANIFEST = re.compile(r"^appmanifest_(\d+)\.acf$")
UPDATE_REQUIRED, FULLY_INSTALLED = 2, 4
BUSY = 256 | 512 | 1024 | 1048576
"""Updating, paused, started, downloading: an update is under way."""

TOOLS = frozenset({
    "228980",   # Steamworks Common Redistributables
    "1070560",  # Steam Linux Runtime 1.0 (scout)
    "1391110",  # Steam Linux Runtime 2.0 (soldier)
    "1628350",  # Steam Linux Runtime 3.0 (sniper)
    "1493710",  # Proton Experimental
    "2180100",  # Proton Hotfix
    "1826330",  # Proton EasyAntiCheat Runtime
    "1161040",  # Proton BattlEye Runtime
})
"""Tools the client installs next to games (ids as in the issue's sources); others are
recognised by name below."""
TOOL_NAMES = re.compile(r"^(Proton\b|Steam Linux Runtime\b|Steamworks Common Redistributables\b)")


def is_tool(appid: str, name: str | None) -> bool:
    return appid in TOOLS or bool(name and TOOL_NAMES.match(name))


def read_text(path: Path | str, limit: int) -> str | LauncherWarning:
    """The file's text, or a warning saying why not (never raises)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except PermissionError:
        return LauncherWarning(str(path), "permission denied")
    except OSError as exc:
        return LauncherWarning(str(path), f"cannot be read: {exc.strerror or exc}")
    if len(data) > limit:
        return LauncherWarning(str(path), f"larger than {limit // 1024} KiB: skipped")
    return data.decode("utf-8", "replace")


def library_paths(root: Path, limit: int) -> tuple[list[Path], list[LauncherWarning]]:
    """The library folders ``root``'s ``libraryfolders.vdf`` lists (``root`` first)."""
    folders, warnings = [root], []
    path = root / "steamapps" / "libraryfolders.vdf"
    if not path.exists():
        return folders, warnings
    text = read_text(path, limit)
    if isinstance(text, LauncherWarning):
        return folders, [text]
    try:
        doc = loads(text)
    except KeyValuesError as exc:
        return folders, [LauncherWarning(str(path), f"not valid KeyValues ({exc})")]
    block = doc.get("libraryfolders")
    if not isinstance(block, dict):
        return folders, [LauncherWarning(str(path), "no libraryfolders block")]
    for key, value in block.items():
        if isinstance(value, dict):
            value = value.get("path")
        if isinstance(value, str) and key.isdigit() and value.strip():
            folders.append(Path(value))
    return folders, warnings


def read_manifest(path: Path | str, library: Path | str, limit: int,
                  include_tools: bool = False) -> LauncherGame | LauncherWarning | None:
    """One app manifest as a game, a warning, or None for a tool (Proton, runtimes)."""
    path = str(path)  # plain strings: a Path per file costs as much as parsing it
    text = read_text(path, limit)
    if isinstance(text, LauncherWarning):
        return text
    try:
        doc = loads(text)
    except KeyValuesError as exc:
        return LauncherWarning(str(path), f"incomplete or malformed manifest ({exc}); "
                                          "Steam may be rewriting it: read again next time")
    state = doc.get("appstate")
    if not isinstance(state, dict):
        return LauncherWarning(str(path), "no AppState block")
    match = MANIFEST.match(os.path.basename(path))
    appid = _text(state.get("appid")) or (match[1] if match else None)
    if not appid or not appid.isdigit():
        return LauncherWarning(str(path), f"no numeric appid (got {appid!r})")
    name = _text(state.get("name"))
    if not include_tools and is_tool(appid, name):
        return None
    flags = _number(state.get("stateflags"))
    build = _text(state.get("buildid"))
    build = build if build and build != "0" else None
    target = _text(state.get("targetbuildid"))
    pending = bool(flags & (UPDATE_REQUIRED | BUSY)) or bool(
        target and target != "0" and build and target != build)
    branch = _beta(state.get("mountedconfig")) or _beta(state.get("userconfig"))
    installdir = _text(state.get("installdir"))
    return LauncherGame(
        store="steam", store_id=appid, title=name, installed=bool(flags & FULLY_INSTALLED),
        build=build, kind=f"buildid@{branch}" if branch else "buildid", branch=branch,
        install_path=os.path.join(library, "steamapps", "common", installdir)
        if installdir else None, update_pending=pending, source=path)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _number(value: Any) -> int:
    text = _text(value)
    return int(text) if text and text.isdigit() else 0


def _beta(config: Any) -> str | None:
    """``BetaKey`` of a config block; the public branch (empty, ``public``) is None."""
    if not isinstance(config, dict):
        return None
    key = _text(config.get("betakey"))
    return key if key and key.lower() != "public" else None


def scan_library(library: Path) -> tuple[list[os.DirEntry[str]], LauncherWarning | None]:
    """The manifest entries of one library folder, or a warning (unmounted, no access)."""
    steamapps = library / "steamapps"
    try:
        with os.scandir(steamapps) as entries:
            return [e for e in entries if MANIFEST.match(e.name)], None
    except FileNotFoundError:
        return [], LauncherWarning(str(library), "library folder not found (an unmounted "
                                                 "drive or SD card?): its games are kept as "
                                                 "they were")
    except PermissionError:
        return [], LauncherWarning(str(library), "permission denied")
    except OSError as exc:
        return [], LauncherWarning(str(library), f"cannot be listed: {exc.strerror or exc}")
