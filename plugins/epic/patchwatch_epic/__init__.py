"""patchwatch plugin: Epic Games Store updates.

Signals, strongest first: ``build_version`` (the launcher assets' live build, read with
an existing legendary login) and ``last_modified`` (the catalog item's edit time, a weak
signal with ``is_build=False``). See README.md for ids, settings and wire formats.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator, Mapping

from patchwatch import Game, Result, StoreInfo, hookimpl
from patchwatch.http import Unreachable

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
def check_store_id(store_id: str, extra: Mapping[str, Any]) -> str | None:
    """An app name has no fixed form; a catalog item id given in ``extra`` is 32 hexadecimal
    characters (Fortnite's: 4fe75bbc5a674f4f9b356b5c90567da5, as in the launcher's own
    ``com.epicgames.launcher://apps/fn%3A4fe75bbc5a674f4f9b356b5c90567da5%3AFortnite`` link)."""
    import re

    from .ids import _CATALOG_KEYS

    for key in _CATALOG_KEYS:
        value = extra.get(key)
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", str(value)):
            return (f"Epic catalog item ids are 32 hexadecimal characters "
                    f"(4fe75bbc5a674f4f9b356b5c90567da5), got {key} = {str(value)[:40]!r}")
    return None


@hookimpl
def check_settings(settings: Mapping[str, Any]) -> None:
    """Read the settings as a sync would; a bad one raises ``SettingsError`` naming it."""
    EpicSettings.from_mapping(settings)


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
        why = f"Epic OAuth at {parsed.oauth_url} unusable: {exc}"
        if exc.unreachable:  # the core tells the user they may be offline
            raise Unreachable(why) from None
        return why
    finally:
        http.close()
    return True


@hookimpl
def weak_only(settings: Mapping[str, Any]) -> str | None:
    """Without a legendary/Heroic login (and no fresh legendary ``assets.json``) only the
    catalog's ``lastModifiedDate`` can be read: every change is weak."""
    from pathlib import Path

    from .local import local_assets

    try:
        parsed = EpicSettings.from_mapping(settings)
    except SettingsError:
        return None  # is_available says what is wrong
    if parsed.legendary_user and Path(parsed.legendary_user).expanduser().exists():
        return None
    if local_assets(parsed) is not None:
        return None
    where = f" at {parsed.legendary_user}" if parsed.legendary_user else ""
    return (f"no legendary login{where} (`legendary auth` makes one): only the catalog's "
            "edit date, so a change is never a confirmed build")


@hookimpl
def check_updates_bulk(games: list[Game], settings: Mapping[str, Any]
                       ) -> Iterator[tuple[int, Result]]:
    """Yield each game's build version (or weak catalog edit time) as it arrives."""
    return check_games(games, EpicSettings.from_mapping(settings))
