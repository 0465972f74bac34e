"""patchwatch launcher plugin: Epic and GOG games from legendary and the Heroic launcher.

Epic: legendary's config folder (``$LEGENDARY_CONFIG_PATH`` or ``~/.config/legendary``) and
Heroic's own copy (``<heroic>/legendaryConfig/legendary``), see :mod:`.legendary`. GOG:
Heroic's ``gog_store`` and ``store_cache`` files, see :mod:`.gog`. Read only; login files
(legendary ``user.json``, Heroic ``gog_store/auth.json``) are never opened.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from patchwatch import LauncherGame, LauncherInfo, LauncherNotFound, LauncherWarning, hookimpl
from patchwatch.settings import SettingsError, read_settings

from .gog import read_heroic_gog
from .legendary import read_legendary

__all__ = ["launcher_info", "read_launcher", "HeroicSettings", "default_folders"]

FLATPAK = ".var/app/com.heroicgameslauncher.hgl/config"


@dataclass(frozen=True)
class HeroicSettings:
    """``[plugins.launcher_heroic]``."""

    heroic_paths: tuple[str, ...] = ()
    """Heroic config folders (holding ``gog_store``, ``store_cache``); replaces the search."""
    legendary_paths: tuple[str, ...] = ()
    """legendary config folders (holding ``installed.json``); replaces the search."""
    max_file_mb: int = 64

    def validate(self) -> None:
        if not 1 <= self.max_file_mb <= 1024 * 1024:
            raise SettingsError(f"launcher_heroic setting max_file_mb must be a whole number of MiB "
                                f"from 1, got {self.max_file_mb!r}")


def default_folders(platform: str = sys.platform, home: Path | None = None,
                    env: Mapping[str, str] | None = None) -> tuple[list[Path], list[Path]]:
    """``(heroic folders, legendary folders)`` to look in on ``platform``.

    Heroic: ``$XDG_CONFIG_HOME/heroic`` (``~/.config/heroic``), Flatpak
    ``~/.var/app/com.heroicgameslauncher.hgl/config/heroic``, macOS
    ``~/Library/Application Support/heroic``, Windows ``%APPDATA%\\heroic`` (Heroic's
    ``src/backend/constants``; the issue's list). legendary: ``$LEGENDARY_CONFIG_PATH``,
    else ``~/.config/legendary`` (legendary ``lfs/lgndry.py``), the Flatpak Heroic's
    ``config/legendary``, and each Heroic folder's ``legendaryConfig/legendary``.
    """
    home = home or Path.home()
    env = os.environ if env is None else env
    config = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    if platform.startswith("win"):
        appdata = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
        heroic = [appdata / "heroic"]
    elif platform == "darwin":
        heroic = [home / "Library" / "Application Support" / "heroic"]
    else:
        heroic = [config / "heroic", home / FLATPAK / "heroic"]
    if env.get("LEGENDARY_CONFIG_PATH"):
        legendary = [Path(env["LEGENDARY_CONFIG_PATH"])]
    else:
        legendary = [config / "legendary", home / ".config" / "legendary"]
        if not platform.startswith("win") and platform != "darwin":
            legendary.append(home / FLATPAK / "legendary")
    legendary += [h / "legendaryConfig" / "legendary" for h in heroic]
    return heroic, legendary


@hookimpl
def launcher_info() -> LauncherInfo:
    return LauncherInfo(launcher="Heroic / legendary", stores=("epic", "gog"),
                        description="Epic and GOG games from legendary's and Heroic's files")


@hookimpl
def read_launcher(settings: Mapping[str, Any],
                  cache: dict[str, Any]) -> Iterator[LauncherGame | LauncherWarning]:
    cfg = read_settings(HeroicSettings, settings, plugin="launcher_heroic")
    heroic, legendary = default_folders()
    if cfg.heroic_paths or cfg.legendary_paths:
        heroic = [Path(os.path.expanduser(p)) for p in cfg.heroic_paths]
        legendary = [Path(os.path.expanduser(p)) for p in cfg.legendary_paths]
        legendary += [h / "legendaryConfig" / "legendary" for h in heroic]
    heroic = _unique(p for p in heroic if p.is_dir())
    legendary = _unique(p for p in legendary if p.is_dir())
    if not heroic and not legendary:
        raise LauncherNotFound("no Heroic or legendary config folder found")
    limit = cfg.max_file_mb * 1024 * 1024
    found: dict[tuple[str, str], LauncherGame] = {}
    sources = [read_legendary(f, cache, limit) for f in legendary]
    sources += [read_heroic_gog(f, cache, limit) for f in heroic]
    for source in sources:
        for item in source:
            if isinstance(item, LauncherWarning):
                yield item
                continue
            key = (item.store, item.store_id)
            # Listed by two folders (legendary and Heroic's copy): an install wins.
            if key not in found or (item.installed and not found[key].installed):
                found[key] = item
    yield from found.values()


def _unique(paths: Any) -> list[Path]:
    found: dict[str, Path] = {}
    for path in paths:
        try:
            real = os.path.realpath(path)
        except (OSError, RuntimeError):
            real = str(path)
        found.setdefault(real, path)
    return list(found.values())
