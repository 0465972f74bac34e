"""legendary's own files: the zero-network build signal.

legendary (and Heroic, which runs legendary with its own config folder) saves the
launcher assets it fetched in ``assets.json`` and what it installed in ``installed.json``
(legendary ``lfs/lgndry.py``, ``models/game.py``). When ``assets.json`` was written
recently, its build versions are as good as a new request, and cost none.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .settings import EpicSettings

FUTURE_SLACK = 60.0
"""Seconds an mtime may lie in the future (clock skew) before the file is distrusted."""


def local_assets(settings: EpicSettings, now: float | None = None
                 ) -> tuple[dict[str, dict[str, Any]], str] | None:
    """The assets of ``settings.platform`` from a fresh ``assets.json``, by app name, in
    the launcher's field names, and where they came from; ``None`` when there is no such
    file, it is older than ``local_max_age``, unreadable, or lacks the platform.

    ``assets.json`` is ``{platform: [{app_name, asset_id, build_version, catalog_item_id,
    label_name, namespace, metadata, sidecar_rev}]}`` (a bare list of Windows assets in
    legendary before 0.20.19). legendary rewrites it only when the list changed, so its
    mtime is when it was last known right: trusting it for ``local_max_age`` is safe.

    ``installed.json`` is a cross-check: an installed ``version`` that differs from
    ``assets.json`` in a file written later means legendary installed a build the saved
    asset list does not know; that app is left out (Epic is asked instead).
    """
    folder = settings.legendary_dir
    if folder is None or settings.local_max_age <= 0 or settings.label != "Live":
        return None  # legendary saves only the Live label's assets
    now = time.time() if now is None else now
    path = folder / "assets.json"
    loaded = _load_fresh(path, settings.local_max_age, now)
    if loaded is None:
        return None
    data, written = loaded
    if isinstance(data, dict):
        entries = data.get(settings.platform)
    else:
        entries = data if settings.platform == "Windows" else None
    if not isinstance(entries, list):
        return None
    assets: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("app_name"), str) \
                and isinstance(entry.get("build_version"), str) and entry["build_version"]:
            assets[entry["app_name"]] = {
                "appName": entry["app_name"],
                "buildVersion": entry["build_version"],
                "catalogItemId": entry.get("catalog_item_id"),
                "namespace": entry.get("namespace"),
                "assetId": entry.get("asset_id"),
                "labelName": entry.get("label_name"),
            }
    for app_name in _installed_elsewhere(folder / "installed.json", written, assets,
                                         settings.platform):
        del assets[app_name]
    stamp = datetime.fromtimestamp(written, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return assets, f"legendary's {path} (written {stamp})"


def _load_fresh(path: Path, max_age: float, now: float) -> tuple[Any, float] | None:
    try:
        written = path.stat().st_mtime
    except OSError:
        return None
    if not (now - max_age <= written <= now + FUTURE_SLACK):
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")), written
    except (OSError, ValueError):
        return None  # legendary may be rewriting it (it writes in place): ask Epic


def _installed_elsewhere(path: Path, assets_written: float, assets: dict[str, dict[str, Any]],
                         platform: str) -> list[str]:
    try:
        if path.stat().st_mtime <= assets_written:
            return []
        installed = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(installed, dict):
        return []
    stale = []
    for app_name, game in installed.items():
        if not isinstance(game, dict) or app_name not in assets:
            continue
        if game.get("platform", "Windows") != platform:
            continue
        version = game.get("version")
        if isinstance(version, str) and version and version != assets[app_name]["buildVersion"]:
            stale.append(app_name)
    return stale
