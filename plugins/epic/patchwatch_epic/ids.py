"""The Epic ids of a library game, read the way Backlogia stores them.

Backlogia imports Epic games through ``legendary list --json``: ``store_id`` is the
launcher app name, and ``extra_data`` (JSON text) keeps the parsed game, among it
``app_name``, ``namespace`` and ``sku`` (the catalog item id, legendary's
``metadata.id``). Other spellings a library may use are accepted too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from patchwatch import Game

_CATALOG_KEYS = ("sku", "catalog_item_id", "catalogItemId", "catalog_id")
_NAMESPACE_KEYS = ("namespace", "catalog_namespace", "sandbox_id")
_APP_KEYS = ("app_name", "appName")


@dataclass(frozen=True)
class EpicIds:
    """What we know of one game. Any field may be missing; ``note`` says why when known."""

    app_name: str | None
    namespace: str | None
    catalog_item_id: str | None
    note: str | None = None

    @property
    def catalog_key(self) -> tuple[str, str] | None:
        """``(namespace, catalog item id)`` when both are known."""
        if self.namespace and self.catalog_item_id:
            return self.namespace, self.catalog_item_id
        return None

    def missing(self) -> list[str]:
        """Names of the catalog ids this game lacks."""
        return [name for name, value in (("namespace", self.namespace),
                                         ("catalog item id", self.catalog_item_id)) if not value]


def epic_ids(game: Game) -> EpicIds:
    """Read a game's Epic ids from its library row (``extra_data``) and ``store_id``."""
    extra, note = _extra_data(game.row)
    metadata = extra.get("metadata") if isinstance(extra.get("metadata"), Mapping) else {}
    app_name = _first(extra, _APP_KEYS) or _text(game.store_id)
    namespace = _first(extra, _NAMESPACE_KEYS) or _first(metadata, ("namespace",))
    catalog_item_id = _first(extra, _CATALOG_KEYS) or _first(metadata, ("id",))
    return EpicIds(app_name, namespace, catalog_item_id, note)


def _extra_data(row: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    raw = row.get("extra_data") if row else None
    if raw is None or raw == "":
        return {}, None
    if isinstance(raw, Mapping):
        return raw, None
    if isinstance(raw, (bytes, bytearray)):
        raw = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}, "extra_data is not valid JSON"
    if not isinstance(value, Mapping):
        return {}, f"extra_data is JSON {type(value).__name__}, not an object"
    return value, None


def _first(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = _text(data.get(key))
        if value:
            return value
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None
