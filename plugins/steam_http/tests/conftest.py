"""Fixtures: the Steam fake on the core's loopback server, and a helper to run the hook."""

from __future__ import annotations

from typing import Any

import patchwatch_steam_http as plugin
import pytest
from patchwatch import Game, Result
from patchwatch_steam_http.testing import SteamWebFake, serve_steam

APPS = (10, 20, 30)


@pytest.fixture
def steam(fake_store) -> SteamWebFake:
    fake = serve_steam(fake_store)
    for appid in APPS:
        fake.catalogue.add(appid, f"Game {appid}")
    return fake


def _games_for(*appids: Any) -> list[Game]:
    return [Game(id=n, store="steam", store_id=str(appid), title=f"Game {appid}")
            for n, appid in enumerate(appids, 1)]


def _run(games: list[Game], settings: dict[str, Any], state: dict[str, Any] | None = None
        ) -> dict[str, Result]:
    """Call check_updates_bulk; results keyed by store_id."""
    by_id = {g.id: g.store_id for g in games}
    state = state if state is not None else {}
    answers = plugin.check_updates_bulk(games=games, settings=settings, state=state)
    out: dict[str, Result] = {}
    for game_id, result in answers:
        assert game_id in by_id and by_id[game_id] not in out, "one answer per game"
        out[by_id[game_id]] = result
    return out


@pytest.fixture
def games_for():
    """``games_for(10, 20)``: library games for those app ids (row ids 1, 2, ...)."""
    return _games_for


@pytest.fixture
def run():
    """``run(games, settings, state=None)``: the hook's answers keyed by app id."""
    return _run
