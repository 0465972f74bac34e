"""patchwatch plugin: GOG updates from the public content-system builds API.

A game's ``store_id`` is its GOG product id (for a Heroic import, the core reads it from
``extra_data.app_name``). For Windows and macOS (setting ``os``, default ``windows``) the plugin reads
``{builds_url}/products/{id}/os/{os}/builds?generation=2[&password=...]`` and reports the
build a GOG launcher installs from the tracked branch (setting ``branch``; the first
listed build whose ``branch`` is null by default) as a ``build_id`` signal labelled with
its ``version_name``. GOG has no Linux builds: for ``linux`` it reports the Linux offline
installer's ``version`` from ``{api_url}/products/{id}?expand=downloads``
(``installer_version:linux``). The product API also tells an unknown or delisted product
(``not_found``) from one with nothing to report (``hidden``).
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import requests

from patchwatch import Game, Links, Result, Signal, StoreInfo, hookimpl
from patchwatch.http import Unreachable, is_unreachable

from .check import check_games
from .client import GogClient
from .settings import GogSettings, SettingsError

@hookimpl
def update_links(game: Game, signal: Signal, settings: Mapping[str, Any]) -> Links | None:
    """The product card and the newest changelog entry (see changelog.py)."""
    from .changelog import links_for

    return links_for(game, signal, settings)


__all__ = ["store_info", "is_available", "check_updates_bulk", "GogSettings"]


@hookimpl
def store_info() -> StoreInfo:
    return StoreInfo(
        store="gog", priority=50, description="GOG updates from the content-system builds API (Linux: installer versions)"
    )


@hookimpl
def check_store_id(store_id: str) -> str | None:
    """GOG product ids are whole numbers (api.gog.com/products/1207658924)."""
    return None if store_id.isdigit() else (f"GOG product ids are whole numbers (1207658924), "
                                             f"got {store_id!r}")


@hookimpl
def check_settings(settings: Mapping[str, Any]) -> None:
    """Read the settings as a sync would; a bad one raises ``SettingsError`` naming it."""
    GogSettings.from_mapping(settings)


@hookimpl
def is_available(settings: Mapping[str, Any]) -> bool | str:
    """True when the settings are usable and the API the tracked OSes need answers at all
    (any HTTP status): the builds API, or for Linux alone the product API."""
    try:
        cfg = GogSettings.from_mapping(settings)
    except SettingsError as exc:
        return f"bad gog settings: {exc}"
    name, url = ("builds API", cfg.builds_url) if cfg.build_oses else ("product API", cfg.api_url)
    try:
        GogClient(cfg).probe(url + "/")
    except requests.RequestException as exc:
        why = f"cannot reach the GOG {name} at {url}: {type(exc).__name__}"
        if is_unreachable(exc):  # no network, DNS or route: the core tells the user
            raise Unreachable(why) from None
        return why
    return True


@hookimpl
def check_updates_bulk(games: list[Game], settings: Mapping[str, Any]) -> Iterator[tuple[int, Result]]:
    """The tracked build (or Linux installer) of every game, yielded as answers arrive (see the module doc)."""
    return check_games(games, GogSettings.from_mapping(settings))
