"""Where a Steam client keeps its files, per platform.

Linux: ``~/.local/share/Steam`` (``$XDG_DATA_HOME/Steam``), ``~/.steam/steam`` and
``~/.steam/root`` (symlinks the client keeps to its real folder), Debian's
``~/.steam/debian-installation``, Flatpak ``~/.var/app/com.valvesoftware.Steam/.local/share/Steam``
and ``.../data/Steam``, Snap ``~/snap/steam/common/.local/share/Steam``. macOS:
``~/Library/Application Support/Steam``. Windows: the ``SteamPath`` value of
``HKCU\\Software\\Valve\\Steam``, else ``%ProgramFiles(x86)%\\Steam``. The Steam Deck is Linux
native; its SD card is a library folder listed in ``libraryfolders.vdf``, never a fixed
path. Sources: lutris ``docs/steam.rst`` and ``lutris/util/steam/config.py``, Matoking/
protontricks ``steam.py`` (Flatpak/Snap), erri120/GameFinder ``GameFinder.StoreHandlers.Steam``
(registry value) -- facts only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Mapping

FLATPAK = ".var/app/com.valvesoftware.Steam"


def windows_registry_path() -> str | None:
    """``HKCU\\Software\\Valve\\Steam\\SteamPath``, or None (not Windows, no key)."""
    try:
        import winreg  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Valve\Steam") as key:
            value, _ = winreg.QueryValueEx(key, "SteamPath")
            return str(value) or None
    except OSError:
        return None


def default_roots(platform: str = sys.platform, home: Path | None = None,
                  env: Mapping[str, str] | None = None,
                  registry: Callable[[], str | None] = windows_registry_path) -> list[Path]:
    """The Steam client folders to look in on ``platform``, most likely first."""
    home = home or Path.home()
    env = os.environ if env is None else env
    if platform.startswith("win"):
        found = [registry()]
        found.append(str(Path(env.get("ProgramFiles(x86)", r"C:\Program Files (x86)")) / "Steam"))
        return [Path(p) for p in found if p]
    if platform == "darwin":
        return [home / "Library" / "Application Support" / "Steam"]
    data_home = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else home / ".local/share"
    return list(dict.fromkeys([data_home / "Steam", home / ".local/share/Steam", home / ".steam/steam",
            home / ".steam/root", home / ".steam/debian-installation",
            home / FLATPAK / ".local/share/Steam", home / FLATPAK / "data/Steam",
            home / "snap/steam/common/.local/share/Steam"]))
