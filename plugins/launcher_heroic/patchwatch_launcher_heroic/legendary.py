"""Epic games from a legendary config folder (legendary itself, or Heroic's own copy).

Files (legendary-gl/legendary ``legendary/lfs/lgndry.py`` and ``legendary/models/game.py``,
GPL, read for facts):

- ``installed.json``: ``{app_name: {app_name, title, version, install_path, platform,
  is_dlc, ...}}``; ``version`` is the installed build version (the value Epic's launcher
  assets call ``buildVersion``).
- ``metadata/<app_name>.json``: one per owned game: ``{app_name, app_title, asset_infos:
  {<platform>: {build_version, ...}}, metadata: {id, namespace, mainGameItem, ...}}``
  (``mainGameItem`` marks a DLC).
- ``assets.json``: ``{<platform>: [{app_name, build_version, ...}]}`` as of legendary's
  last refresh (older legendary wrote a bare list, the Windows assets).
- ``user.json`` holds the login: never opened here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

from patchwatch import LauncherGame, LauncherWarning

from .files import load_json, text

TRACKED_PLATFORM = "Windows"
"""The platform the epic store plugin follows by default (its ``platform`` setting)."""


def read_legendary(folder: Path, cache: dict[str, Any],
                   limit: int) -> Iterator[LauncherGame | LauncherWarning]:
    latest = _latest_builds(folder, cache, limit)
    if isinstance(latest, LauncherWarning):
        yield latest
        latest = {}
    metadata, warnings = _metadata(folder, cache, limit)
    yield from warnings
    # installed.json decides what is installed: every game from this folder names it as
    # its source, so while it cannot be read the core keeps what it knew of them all.
    installed_path = folder / "installed.json"
    installed: dict[str, Any] = {}
    if installed_path.exists():
        data = load_json(installed_path, cache, limit)
        if not isinstance(data, dict):
            yield data if isinstance(data, LauncherWarning) else LauncherWarning(
                str(installed_path), "not a JSON object of installed games")
            return
        installed = data
    for app_name, entry in installed.items():
        if not isinstance(entry, dict) or entry.get("is_dlc"):
            continue
        app = text(entry.get("app_name")) or text(app_name)
        if not app:
            continue
        meta, _ = metadata.get(app, ({}, None))
        platform = text(entry.get("platform")) or TRACKED_PLATFORM
        build = text(entry.get("version"))
        newest = latest.get((platform, app))
        yield LauncherGame(
            store="epic", store_id=app, title=text(entry.get("title")) or _title(meta),
            installed=True, build=build,
            # The epic plugin reports build_version for one platform (Windows unless set):
            # another platform's build is not comparable with it.
            kind="build_version" if platform == TRACKED_PLATFORM else None,
            install_path=text(entry.get("install_path")),
            update_pending=(newest != build) if newest and build else None,
            source=str(installed_path), extra=_ids(app, meta))
    for app, (meta, path) in metadata.items():
        if app in installed or _is_dlc(meta):
            continue
        yield LauncherGame(store="epic", store_id=app, title=_title(meta), installed=False,
                           source=str(installed_path), extra=_ids(app, meta))


def _metadata(folder: Path, cache: dict[str, Any], limit: int
              ) -> tuple[dict[str, tuple[dict[str, Any], str]], list[LauncherWarning]]:
    found: dict[str, tuple[dict[str, Any], str]] = {}
    warnings: list[LauncherWarning] = []
    try:
        with os.scandir(folder / "metadata") as entries:
            names = [e.path for e in entries if e.name.endswith(".json")]
    except FileNotFoundError:
        return found, warnings
    except OSError as exc:
        return found, [LauncherWarning(str(folder / "metadata"),
                                       f"cannot be listed: {exc.strerror or exc}")]
    for path in sorted(names):
        data = load_json(Path(path), cache, limit)
        if isinstance(data, dict):
            app = text(data.get("app_name")) or Path(path).stem
            found[app] = (data, path)
        else:
            warnings.append(data if isinstance(data, LauncherWarning)
                            else LauncherWarning(path, "not a JSON object"))
    return found, warnings


def _latest_builds(folder: Path, cache: dict[str, Any],
                   limit: int) -> dict[tuple[str, str], str] | LauncherWarning:
    path = folder / "assets.json"
    if not path.exists():
        return {}
    data = load_json(path, cache, limit)
    if isinstance(data, LauncherWarning):
        return data
    if isinstance(data, list):
        data = {TRACKED_PLATFORM: data}
    latest: dict[tuple[str, str], str] = {}
    if isinstance(data, dict):
        for platform, assets in data.items():
            for asset in assets if isinstance(assets, list) else ():
                if isinstance(asset, dict) and text(asset.get("app_name")) \
                        and text(asset.get("build_version")):
                    latest[(platform, text(asset["app_name"]))] = text(asset["build_version"])
    return latest


def _title(meta: dict[str, Any]) -> str | None:
    inner = meta.get("metadata") if isinstance(meta.get("metadata"), dict) else {}
    return text(meta.get("app_title")) or text(inner.get("title"))


def _is_dlc(meta: dict[str, Any]) -> bool:
    inner = meta.get("metadata")
    return isinstance(inner, dict) and bool(inner.get("mainGameItem"))


def _ids(app: str, meta: dict[str, Any]) -> dict[str, str]:
    """What the epic plugin reads from ``extra_data`` (its README): app name, namespace and
    the catalog item id (legendary's ``metadata.id``)."""
    inner = meta.get("metadata") if isinstance(meta.get("metadata"), dict) else {}
    ids = {"app_name": app}
    if text(inner.get("namespace")):
        ids["namespace"] = text(inner["namespace"])
    if text(inner.get("id")):
        ids["catalog_item_id"] = text(inner["id"])
    return ids
