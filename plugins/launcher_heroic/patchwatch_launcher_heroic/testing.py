"""legendary and Heroic folders for tests and benchmarks, in the launchers' own formats.

Fields and where they are documented (GPL projects read for facts only):
- legendary ``installed.json`` {app_name: {app_name, title, version, install_path, platform,
  is_dlc}}, ``metadata/<app>.json`` {app_name, app_title, asset_infos.<platform>.build_version,
  metadata.{id, namespace, mainGameItem}}, ``assets.json`` {<platform>: [{app_name,
  build_version, ...}]}: legendary ``legendary/lfs/lgndry.py``, ``legendary/models/game.py``.
- Heroic ``gog_store/installed.json`` {"installed": [{appName, platform, install_path,
  version, buildId, branch, pinnedVersion, is_dlc}]}: Heroic
  ``src/backend/storeManagers/gog`` (and the issue's list of fields).
- Owned GOG games ``store_cache/gog_library.json`` (Heroic >= 2.7.0) or
  ``gog_store/library.json`` (before) {"games": [{app_name, title, runner}]}:
  redromnon/HeroicBashLauncher ``func/configpath.py`` for the old path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def legendary_folder(folder: Path, games: list[dict[str, Any]],
                     latest: dict[str, str] | None = None) -> Path:
    """A legendary config folder. Each game: ``app_name``, ``title``, ``version`` (None:
    owned only), optional ``platform``, ``namespace``, ``catalog_item_id``, ``dlc``.
    ``latest`` is ``assets.json``'s Windows build per app name."""
    installed = {}
    for game in games:
        app = game["app_name"]
        _write(folder / "metadata" / f"{app}.json", {
            "app_name": app, "app_title": game["title"],
            "asset_infos": {"Windows": {"app_name": app, "build_version":
                                        (latest or {}).get(app, game.get("version") or "1")}},
            "metadata": {"id": game.get("catalog_item_id", f"cat-{app}"),
                         "namespace": game.get("namespace", f"ns-{app}"),
                         "title": game["title"],
                         **({"mainGameItem": {"id": "main"}} if game.get("dlc") else {})},
        })
        if game.get("version"):
            installed[app] = {"app_name": app, "title": game["title"],
                              "version": game["version"], "platform": game.get("platform", "Windows"),
                              "install_path": f"/games/{app}", "is_dlc": bool(game.get("dlc")),
                              "executable": "Game.exe", "install_size": 1, "can_run_offline": True}
    _write(folder / "installed.json", installed)
    if latest is not None:
        _write(folder / "assets.json", {"Windows": [
            {"app_name": app, "asset_id": app, "build_version": build, "catalog_item_id": "c",
             "label_name": "Live-Windows", "namespace": "n", "metadata": {}}
            for app, build in latest.items()]})
    return folder


def heroic_folder(folder: Path, installed: list[dict[str, Any]],
                  owned: list[dict[str, Any]] | None = None, *, old_layout: bool = False) -> Path:
    """A Heroic config folder with GOG games. ``installed``: ``appName``, ``buildId``,
    ``version``, optional ``platform`` (windows), ``branch``. ``owned``: ``app_name``, ``title``.
    ``old_layout`` writes the owned list where Heroic kept it before 2.7.0."""
    _write(folder / "gog_store" / "installed.json", {"installed": [{
        "platform": g.get("platform", "windows"), "executable": "", "install_path":
        f"/games/gog/{g['appName']}", "install_size": "1 GiB", "is_dlc": bool(g.get("dlc")),
        "version": g.get("version"), "appName": g["appName"], "installedWithDLCs": False,
        "language": "en-US", "versionEtag": "", "buildId": g.get("buildId"),
        "pinnedVersion": False, "branch": g.get("branch")} for g in installed]})
    library = [{"app_name": g["app_name"], "title": g["title"], "runner": "gog",
                "is_installed": False} for g in owned or []]
    where = "gog_store/library.json" if old_layout else "store_cache/gog_library.json"
    _write(folder / where, {"games": library})
    return folder
