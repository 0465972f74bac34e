"""GOG games from Heroic's files.

- ``gog_store/installed.json``: ``{"installed": [{appName, platform, install_path,
  version, buildId, branch, pinnedVersion, is_dlc, ...}]}`` (Heroic
  ``src/backend/storeManagers/gog``; appName is the GOG product id). ``buildId`` is the
  installed build (content-system ``build_id``); Linux installs come from offline
  installers and carry only ``version``.
- Owned games: ``store_cache/gog_library.json`` since Heroic 2.7.0, ``gog_store/library.json``
  before it; both ``{"games": [{app_name, title, ...}]}`` (paths: redromnon/HeroicBashLauncher
  ``func/configpath.py`` for the old one). ``is_installed`` there is not trusted.
- ``gog_store/auth.json`` holds the login: never opened here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from patchwatch import LauncherGame, LauncherWarning

from .files import load_json, text

LIBRARIES = ("store_cache/gog_library.json", "gog_store/library.json")


def gog_kind(platform: str, branch: str | None) -> str | None:
    """The signal kind the gog store plugin uses for what this install follows (its
    ``signal_kind``: ``build_id`` for Windows on the default branch, ``build_id:osx``,
    ``build_id:windows@<branch>``, ``installer_version:linux``)."""
    if platform == "linux":
        return None if branch else "installer_version:linux"
    if platform == "windows":
        return f"build_id:windows@{branch}" if branch else "build_id"
    if platform == "osx":
        return f"build_id:osx@{branch}" if branch else "build_id:osx"
    return None


def read_heroic_gog(folder: Path, cache: dict[str, Any],
                    limit: int) -> Iterator[LauncherGame | LauncherWarning]:
    titles: dict[str, tuple[str | None, str]] = {}
    for name in LIBRARIES:
        path = folder / name
        if not path.exists():
            continue
        data = load_json(path, cache, limit)
        if isinstance(data, LauncherWarning):
            yield data
            continue
        games = data.get("games") if isinstance(data, dict) else data
        for game in games if isinstance(games, list) else ():
            if isinstance(game, dict) and text(game.get("app_name")) \
                    and game.get("runner", "gog") == "gog":
                titles.setdefault(text(game["app_name"]), (text(game.get("title")), str(path)))
    installed_ids: set[str] = set()
    # installed.json decides what is installed: every GOG game read here names it as its
    # source, so while it cannot be read the core keeps what it knew of them all.
    path = folder / "gog_store" / "installed.json"
    if path.exists():
        data = load_json(path, cache, limit)
        if isinstance(data, LauncherWarning):
            yield data
            return
        entries = data.get("installed") if isinstance(data, dict) else None
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict) or entry.get("is_dlc"):
                continue
            app = text(entry.get("appName"))
            if not app:
                continue
            installed_ids.add(app)
            platform = (text(entry.get("platform")) or "windows").lower()
            branch = text(entry.get("branch"))
            version = text(entry.get("version"))
            build = version if platform == "linux" else text(entry.get("buildId"))
            yield LauncherGame(
                store="gog", store_id=app, title=titles.get(app, (None, ""))[0],
                installed=True, build=build, kind=gog_kind(platform, branch),
                version=version, branch=branch, install_path=text(entry.get("install_path")),
                source=str(path))
    for app, (title, _) in titles.items():
        if app not in installed_ids:
            yield LauncherGame(store="gog", store_id=app, title=title, installed=False,
                               source=str(path))
