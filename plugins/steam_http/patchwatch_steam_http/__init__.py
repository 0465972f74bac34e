"""patchwatch plugin: Steam updates over public HTTP APIs (the fallback for ``steam_pics``).

Signals, best first, each switchable in ``[plugins.steam_http]``: a PICS-over-HTTP mirror's
public ``buildid`` (a real build), Steam News patch notes (weak), the store's
``appdetails`` page digest (weakest). Every result says where it came from in
``detail["source"]``. See :mod:`patchwatch_steam_http.settings` for every setting.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from patchwatch import Game, Links, Result, Signal, StoreInfo, hookimpl
from patchwatch.http import Unreachable

from .check import Checker
from .client import UnreachableReason
from .settings import Settings, SettingsError

PRIORITY = 50
"""Below ``steam_pics`` (100): this plugin is the fallback."""


@hookimpl
def store_info() -> StoreInfo:
    return StoreInfo(store="steam", priority=PRIORITY,
                     description="Steam updates over public HTTP APIs (the fallback)")


@hookimpl
def check_store_id(store_id: str) -> str | None:
    """Steam app ids are whole numbers (the ``appid`` of store.steampowered.com/app/570/)."""
    return None if store_id.isdigit() else f"Steam app ids are whole numbers (570), got {store_id!r}"


@hookimpl
def check_settings(settings: Mapping[str, Any]) -> None:
    """Read the settings as a sync would; a bad one raises ``SettingsError`` naming it."""
    Settings.from_mapping(settings)


@hookimpl
def is_available(settings: Mapping[str, Any]) -> bool | str:
    """True when at least one switched-on source answers a tiny request quickly."""
    try:
        s = Settings.from_mapping(settings)
    except SettingsError as exc:
        return str(exc)
    if not s.enabled():
        return "every signal is switched off (mirror, news, appdetails)"
    reasons = []
    unreached = 0
    with Checker(s) as checker:
        for source in checker.sources:
            reason = source.host.probe(source.probe_url())
            if reason is None:
                return True
            unreached += isinstance(reason, UnreachableReason)
            reasons.append(f"{source.name} ({source.base}): {reason}")
    why = "no Steam HTTP source reachable: " + "; ".join(reasons)
    if unreached == len(reasons):  # not one host reached: maybe the user is offline
        raise Unreachable(why)
    return why


@hookimpl
def check_updates_bulk(games: list[Game], settings: Mapping[str, Any],
                       state: dict[str, Any]) -> Iterator[tuple[int, Result]]:
    """The best public signal for each game, yielded as it arrives."""
    s = Settings.from_mapping(settings)  # a bad setting raises: the core reports it
    with Checker(s, state) as checker:
        yield from checker.check_many(games)
        checker.save(state)
        state["last_sync"] = {
            "requests": {src.name: src.host.requests for src in checker.sources},
            "down": {src.name: src.host.down for src in checker.sources if src.host.down},
        }


@hookimpl
def update_links(game: Game, signal: Signal, settings: Mapping[str, Any]) -> Links | None:
    """The store page and the patch notes posted around a new build (see links.py)."""
    from .links import links_for

    return links_for(game, signal, settings)


__all__ = ["store_info", "is_available", "check_updates_bulk", "Settings", "Checker", "PRIORITY"]
