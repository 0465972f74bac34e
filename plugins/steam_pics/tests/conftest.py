"""Fixtures: a started fake CM whose key the real client trusts, and clean sessions."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from patchwatch import Game, Result, Signal
from patchwatch.testing import each_answer
from patchwatch_steam_pics import check_updates_bulk
from patchwatch_steam_pics.session import close_sessions
from patchwatch_steam_pics.testing import FakeSteamCM


@pytest.fixture
def steam_cm() -> Iterator[FakeSteamCM]:
    """A loopback CM with 6 apps; the client's universe key is swapped for the fake's."""
    with FakeSteamCM() as cm, cm.patched_universe_key():
        for appid in (10, 20, 30, 40, 50, 60):
            cm.catalogue.add_app(appid)
        try:
            yield cm
        finally:
            close_sessions()


@pytest.fixture
def settings(steam_cm: FakeSteamCM) -> dict[str, Any]:
    return {"cm_servers": steam_cm.server, "connect_timeout": 3, "request_timeout": 3, "retry_backoff": 0}


def games_for(*appids: Any) -> list[Game]:
    """Library games with row id = position + 1."""
    return [Game(id=i, store="steam", store_id=str(a)) for i, a in enumerate(appids, start=1)]


class MiniCore:
    """What the core does around the plugin: keeps its state and the last signal per game,
    records each answer as it arrives (also when the check then fails)."""

    def __init__(self, *appids: Any) -> None:
        self.games = games_for(*appids)
        self.signals: dict[int, dict[str, Signal]] = {}
        self.state: dict[str, Any] = {}
        self.results: dict[int, Result] = {}
        self.raw: list[Any] = []

    def sync(self, settings: dict[str, Any]) -> dict[int, Result]:
        games = [Game(id=g.id, store=g.store, store_id=g.store_id, signals=dict(self.signals.get(g.id, {})))
                 for g in self.games]
        self.results, self.raw = {}, []
        for game_id, result in each_answer(games, self._tap(check_updates_bulk(games, settings, self.state))):
            assert game_id not in self.results, f"game {game_id} answered twice"
            self.results[game_id] = result
            if isinstance(result, Signal):
                self.signals.setdefault(game_id, {})[result.kind] = result
        return self.results

    def _tap(self, answers: Any) -> Iterator[Any]:
        """The plugin's answers as it gave them (pairs and Unchanged) kept in ``raw``."""
        for answer in answers:
            self.raw.append(answer)
            yield answer

    def build(self, game_id: int, kind: str = "buildid") -> str | None:
        signal = self.signals.get(game_id, {}).get(kind)
        return signal.value if signal else None


@pytest.fixture
def mini_core() -> type[MiniCore]:
    """The :class:`MiniCore` class (test modules cannot import conftest)."""
    return MiniCore


@pytest.fixture
def wait_until():
    """``wait_until(condition)``: poll until it is true, failing after 30 s (a bound on a
    wait for an event, such as the client noticing a dropped connection, not a timing)."""
    import time

    def wait(condition, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "the condition never came true"
            time.sleep(0.02)
    return wait
