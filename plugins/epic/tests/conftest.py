"""Fixtures for the epic plugin tests: a fake Epic on loopback, a clean token cache."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import patchwatch_epic
import pytest
from patchwatch import Game, Result
from patchwatch.testing import FakeStoreServer
from patchwatch_epic.auth import ClientToken
from patchwatch_epic.testing import FakeEpic


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    ClientToken.forget_all()
    yield
    ClientToken.forget_all()


@pytest.fixture
def epic(fake_store: FakeStoreServer) -> FakeEpic:
    """A fake Epic with an empty catalogue."""
    return FakeEpic(fake_store)


@pytest.fixture
def check() -> Callable[..., dict[int, Result]]:
    """Run the plugin's bulk check and collect its answers by game id (each exactly once)."""

    def run(games: list[Game], settings: dict[str, Any]) -> dict[int, Result]:
        answers: dict[int, Result] = {}
        for game_id, result in patchwatch_epic.check_updates_bulk(games=games, settings=settings):
            assert game_id not in answers, f"game {game_id} answered twice"
            answers[game_id] = result
        return answers

    return run


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too, so the live checks work before and after the root pyproject
    # declares the marker (it deselects them by default with -m "not live").
    config.addinivalue_line("markers", "live: talks to the real Epic services (opt-in: -m live)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Live checks run only when asked for by name: ``-m live``."""
    wanted = "live" in (config.option.markexpr or "").replace("not live", "")
    for item in items:
        if item.get_closest_marker("live") and not wanted:
            item.add_marker(pytest.mark.skip(reason="live check against the real Epic: "
                                                    "opt in with -m live"))
