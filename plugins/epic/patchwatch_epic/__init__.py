"""patchwatch plugin: Epic Games Store updates.

Signals, strongest first: ``build_version`` (the launcher assets' live build, read with
an existing legendary login) and ``last_modified`` (the catalog item's edit time, a weak
signal with ``is_build=False``). See README.md for ids, settings and wire formats.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator, Mapping

from patchwatch import Game, Result, StoreInfo, hookimpl

from .auth import ClientToken
from .check import check_games
from .http import EpicError, Http
from .settings import EpicSettings, SettingsError

__all__ = ["store_info", "is_available", "check_updates_bulk", "EpicSettings", "EpicError"]

AVAILABILITY_TIMEOUT = 5.0


@hookimpl
def store_info() -> StoreInfo:
    return StoreInfo(
        store="epic", priority=50,
        description="Epic Games Store: launcher build versions (legendary login), "
                    "else catalog edit times",
    )


@hookimpl
def is_available(settings: Mapping[str, Any]) -> bool | str:
    """True when the settings are valid and Epic grants the anonymous catalog token."""
    try:
        parsed = EpicSettings.from_mapping(settings)
    except SettingsError as exc:
        return str(exc)
    quick = replace(parsed, retries=0, timeout=min(parsed.timeout, AVAILABILITY_TIMEOUT))
    http = Http(quick)
    try:
        ClientToken(http).token()
    except EpicError as exc:
        return f"Epic OAuth at {parsed.oauth_url} unusable: {exc}"
    finally:
        http.close()
    return True


@hookimpl
def check_updates_bulk(games: list[Game], settings: Mapping[str, Any]
                       ) -> Iterator[tuple[int, Result]]:
    """Yield each game's build version (or weak catalog edit time) as it arrives."""
    return check_games(games, EpicSettings.from_mapping(settings))
