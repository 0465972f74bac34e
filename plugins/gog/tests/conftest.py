"""Fixtures for the gog plugin's tests: a fake GOG on loopback and a way to run the hook."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from patchwatch import Game, Result
from patchwatch_gog import check_updates_bulk
from patchwatch_gog.testing import FakeGog, serve_gog

FAST = {"backoff": 0.01, "timeout": 5}
"""Settings that keep retries quick in tests."""

Runner = Callable[..., dict[int, Result]]


@pytest.fixture
def gog() -> Iterator[FakeGog]:
    with serve_gog() as fake:
        yield fake


@pytest.fixture
def run(gog: FakeGog) -> Runner:
    """``run(games, **settings)``: call the hook like the core does, answers by game id."""

    def runner(games: list[Game], **settings: Any) -> dict[int, Result]:
        answers: dict[int, Result] = {}
        for game_id, result in check_updates_bulk(games=games, settings={**gog.settings, **FAST, **settings}):
            assert game_id not in answers, f"game {game_id} answered twice"
            answers[game_id] = result
        return answers

    return runner

