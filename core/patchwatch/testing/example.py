"""A scripted store plugin for tests of the core and of host applications."""

from __future__ import annotations

import threading
import time
from typing import Any

from ..models import Game, Problem, Signal, StoreInfo, Unchanged
from .. import hookimpl  # noqa: E402


class ExamplePlugin:
    """A store plugin driven by a dict catalogue, with switches for every failure mode."""

    def __init__(self, store: str = "steam", priority: int = 0, catalogue: dict | None = None,
                 *, kind: str = "buildid", is_build: bool = True) -> None:
        self.store, self.priority = store, priority
        self.catalogue: dict[str, Any] = catalogue if catalogue is not None else {}
        self.kind, self.is_build = kind, is_build
        self.available: bool | str = True
        self.change_feed = False
        """Say so in ``store_info`` (a resumed sync then offers every game again)."""
        self.raise_after: int | None = None
        self.hang_after: int | None = None
        self.skip: set[str] = set()
        self.calls: list[list[str]] = []
        self.available_calls = 0
        self.release = threading.Event()
        self.delay = 0.0
        """Seconds to wait before each answer (a slow store)."""
        self.bulk_unchanged = False
        """Answer every game whose stored signal still matches the catalogue with one
        :class:`~patchwatch.Unchanged`, as a plugin with a change feed does."""

    @hookimpl
    def store_info(self) -> StoreInfo:
        return StoreInfo(store=self.store, priority=self.priority, description="example",
                         change_feed=self.change_feed)

    @hookimpl
    def is_available(self, settings):
        self.available_calls += 1
        if isinstance(self.available, Exception):
            raise self.available
        return self.available

    @hookimpl
    def check_updates_bulk(self, games: list[Game], state: dict):
        self.calls.append([g.store_id for g in games])
        state["calls"] = state.get("calls", 0) + 1
        # The store answers as of one moment: a test that changes the catalogue while a
        # check runs sees the change whole in this check or the next, never half of it.
        catalogue = dict(self.catalogue)
        unchanged: list[Any] = []
        for n, game in enumerate(games):
            if self.raise_after is not None and n >= self.raise_after:
                raise ConnectionError("connection dropped")
            if self.hang_after is not None and n >= self.hang_after:
                self.release.wait(30)
                return
            if self.delay:
                time.sleep(self.delay)
            if game.store_id in self.skip:
                continue
            value = catalogue.get(game.store_id)
            stored = game.signals.get(self.kind)
            if self.bulk_unchanged and value is not None and stored is not None \
                    and stored.value == str(value):
                unchanged.append(game.id)
                continue
            if value is None:
                yield game.id, Problem(f"unknown id {game.store_id}", status="not_found")
            elif isinstance(value, Problem):
                yield game.id, value
            else:
                yield game.id, Signal(self.kind, str(value), version=f"v{value}",
                                      is_build=self.is_build)
        if unchanged:
            yield Unchanged(self.kind, unchanged)
