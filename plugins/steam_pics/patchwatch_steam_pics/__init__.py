"""patchwatch plugin: Steam updates through Steam's PICS protocol (anonymous login, bulk, change numbers).

A real update is a new build id on the tracked branch (``depots/branches/public/buildid``
unless ``branches`` says otherwise); change numbers only decide what to fetch. See
README.md for the settings and the threading model.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from patchwatch import Game, Result, StoreInfo, Unchanged, hookimpl

PRIORITY = 100


@hookimpl
def store_info() -> StoreInfo:
    return StoreInfo(store="steam", priority=PRIORITY,
                     description="Steam builds through PICS (anonymous CM login, bulk, change numbers)",
                     # `patchwatch watch`: one changes-since request per cycle on the kept connection;
                     # DoctorMcKay/node-steam-user README, changelistUpdateInterval (default 60000 ms).
                     watch_interval=60, min_watch_interval=10,
                     # changes-since: a resumed sync asks about every app again for one request
                     change_feed=True)


@hookimpl
def check_store_id(store_id: str) -> str | None:
    """Steam app ids are whole numbers (the ``appid`` of store.steampowered.com/app/570/)."""
    return None if store_id.isdigit() else f"Steam app ids are whole numbers (570), got {store_id!r}"


@hookimpl
def check_settings(settings: Mapping[str, Any]) -> None:
    """Read the settings as a sync would; a bad one raises ``SettingsError`` naming it."""
    from .settings import Settings

    Settings.from_mapping(settings)


@hookimpl
def is_available(settings: Mapping[str, Any]) -> bool | str:
    """Log on (or reuse the logged-on connection) within ``connect_timeout``."""
    from patchwatch.http import Unreachable

    from .session import PicsError, PicsUnreachable, session_for, wait
    from .settings import Settings, SettingsError

    try:
        config = Settings.from_mapping(settings)
    except SettingsError as exc:
        return f"bad settings: {exc}"
    try:
        session = session_for(config)
        wait(session.submit(_noop), config.connect_timeout + 2)
    except PicsUnreachable as exc:  # no CM reachable at all: maybe the user is offline
        raise Unreachable(str(exc)) from None
    except PicsError as exc:
        return str(exc)
    return True


@hookimpl
def check_updates_bulk(games: list[Game], settings: Mapping[str, Any],
                       state: dict[str, Any]) -> Iterable[tuple[int, Result] | Unchanged]:
    from .check import check

    return check(games, settings, state)


def _noop(client: Any) -> None:
    """A job that needs nothing but a logged-on client."""
