"""The two Epic endpoints we read: launcher assets and catalog bulk items."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .auth import TokenSource, authorized
from .http import RETRY_STATUSES, EpicError, Http, error_text, json_body

ASSETS_PATH = "/launcher/api/public/assets/{platform}"
ITEMS_PATH = "/catalog/api/shared/namespace/{namespace}/bulk/items"
ASSETS_RETRY_STATUSES = RETRY_STATUSES - {504}
"""A 504 from the assets call is Epic's gateway giving up on a huge list (thousands of
Unreal/Fab assets, legendary-gl/legendary#789): trying again would fail the same way."""


def fetch_assets(http: Http, user: TokenSource) -> dict[str, dict[str, Any]]:
    """The live build of every app the user owns, by app name.

    ``GET /launcher/api/public/assets/<platform>?label=<label>`` answers a JSON list of
    ``{appName, labelName, buildVersion, catalogItemId, namespace, assetId, metadata}``.
    It gets its own, long timeout (``assets_timeout``) and no retry after a 504 or a
    timeout.
    """
    settings = http.settings
    what = f"launcher assets ({settings.platform}/{settings.label})"
    path = ASSETS_PATH.format(platform=quote(settings.platform, safe=""))
    url = settings.url("launcher_url", path)
    response = authorized(http, user, "GET", url, what, params={"label": settings.label},
                          timeout=settings.assets_timeout, retry_timeouts=False,
                          retry_statuses=ASSETS_RETRY_STATUSES)
    if response.status_code != 200:
        note = (" (Epic's gateway gave up on the list; not retried: large libraries with "
                "many Unreal assets hit this)" if response.status_code == 504 else "")
        raise EpicError(f"{what}: {error_text(response)}{note}", status=response.status_code,
                        systemic=response.status_code in (401, 403))
    body = json_body(response, what)
    if not isinstance(body, list):
        raise EpicError(f"{what}: expected a JSON list, got {type(body).__name__}")
    assets: dict[str, dict[str, Any]] = {}
    for asset in body:
        if isinstance(asset, dict) and isinstance(asset.get("appName"), str):
            assets[asset["appName"]] = asset
    return assets


def fetch_items(http: Http, client: TokenSource, namespace: str,
                ids: list[str]) -> dict[str, dict[str, Any]]:
    """Catalog items of one namespace, by id; ids the catalog does not know are absent.

    Several ids go as the launcher sends them: ``POST .../bulk/items?<options>`` with a
    form body of repeated ``id`` fields (dippyshere/battle-breakers-documentation,
    ``Catalog Service/.../bulk/items.md``); one id as legendary sends it, ``GET
    ...?id=<id>`` (legendary ``api/egs.py`` ``get_game_info``). An empty answer to several
    ids is asked again one id at a time, so a service that misreads the list cannot turn
    a whole batch into "not found". The answer maps each known id to its item (``id``,
    ``title``, ``namespace``, ``lastModifiedDate``, ``releaseInfo`` ...).
    """
    if len(ids) == 1:
        return _items(http, client, namespace, ids)
    items = _items(http, client, namespace, ids)
    if items:
        return items
    found: dict[str, dict[str, Any]] = {}
    for item_id in ids:
        found.update(_items(http, client, namespace, [item_id]))
    return found


def _items(http: Http, client: TokenSource, namespace: str,
           ids: list[str]) -> dict[str, dict[str, Any]]:
    settings = http.settings
    what = f"catalog items of namespace {namespace!r}"
    url = settings.url("catalog_url", ITEMS_PATH.format(namespace=quote(namespace, safe="")))
    params = {
        "includeDLCDetails": "false",
        "includeMainGameDetails": "false",
        "country": settings.country,
        "locale": settings.locale,
    }
    if len(ids) == 1:
        response = authorized(http, client, "GET", url, what, params={"id": ids[0], **params})
    else:
        response = authorized(http, client, "POST", url, what, params=params,
                              data=[("id", item_id) for item_id in ids])
    if response.status_code != 200:
        # A 403 here is a namespace this client may not read
        # (errors.com.epicgames.common.sandbox.access.control.missing_permission):
        # a problem for its games only. A refused token was handled by ``authorized``.
        raise EpicError(f"{what}: {error_text(response)}", status=response.status_code)
    body = json_body(response, what)
    if not isinstance(body, dict):
        raise EpicError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return {key: item for key, item in body.items() if isinstance(item, dict)}
