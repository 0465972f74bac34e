"""The two Epic endpoints we read: launcher assets and catalog bulk items."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .auth import TokenSource, authorized
from .http import EpicError, Http, error_text, json_body

ASSETS_PATH = "/launcher/api/public/assets/{platform}"
ITEMS_PATH = "/catalog/api/shared/namespace/{namespace}/bulk/items"


def fetch_assets(http: Http, user: TokenSource) -> dict[str, dict[str, Any]]:
    """The live build of every app the user owns, by app name.

    ``GET /launcher/api/public/assets/<platform>?label=<label>`` answers a JSON list of
    ``{appName, labelName, buildVersion, catalogItemId, namespace, assetId, metadata}``.
    """
    settings = http.settings
    what = f"launcher assets ({settings.platform}/{settings.label})"
    path = ASSETS_PATH.format(platform=quote(settings.platform, safe=""))
    url = settings.url("launcher_url", path)
    response = authorized(http, user, "GET", url, what, params={"label": settings.label})
    if response.status_code != 200:
        raise EpicError(f"{what}: {error_text(response)}", status=response.status_code,
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

    ``GET /catalog/api/shared/namespace/<ns>/bulk/items?id=a,b,...`` answers a JSON object
    mapping each known id to its item (``id``, ``title``, ``namespace``,
    ``lastModifiedDate``, ``releaseInfo`` ...).
    """
    settings = http.settings
    what = f"catalog items of namespace {namespace!r}"
    url = settings.url("catalog_url", ITEMS_PATH.format(namespace=quote(namespace, safe="")))
    params = {
        "id": ",".join(ids),
        "includeDLCDetails": "false",
        "includeMainGameDetails": "false",
        "country": settings.country,
        "locale": settings.locale,
    }
    response = authorized(http, client, "GET", url, what, params=params)
    if response.status_code != 200:
        raise EpicError(f"{what}: {error_text(response)}", status=response.status_code,
                        systemic=response.status_code == 403)
    body = json_body(response, what)
    if not isinstance(body, dict):
        raise EpicError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return {key: item for key, item in body.items() if isinstance(item, dict)}
