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

