"""The values that pass between the core and store plugins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class StoreInfo:
    """What a plugin says about itself through the ``store_info`` hook."""

    store: str
    """The library's store id this plugin serves (``steam``, ``epic``, ``gog``, ...)."""
    priority: int = 0
    """Higher is tried first among plugins of the same store; users can override it."""
    description: str = ""
    """One line shown by ``patchwatch plugins``."""
    watch_interval: float | None = None
    """Seconds between two checks by ``patchwatch watch`` unless the user sets one (the
    core's default, hours, when None). Cheap change feeds may ask for a minute."""
    min_watch_interval: float | None = None
    """The shortest interval the store tolerates; shorter user settings are raised to it."""


@dataclass(frozen=True)
class Signal:
    """The current version signal of one game, as a store reports it."""

    kind: str
    """What ``value`` is: ``buildid``, ``build_version``, ``build_id``, ``last_modified``, ..."""
    value: str
    """Compared for equality with the last value of the same kind; a change is an update."""
    version: str | None = None
    """A human version label when the store has one (``1.0.3``)."""
    published_at: str | None = None
    """When the store says this build was published, ISO 8601 in UTC."""
    is_build: bool = True
    """False for weak signals (a page edit time, a news post): a change is recorded but
    labelled as not a confirmed new build."""
    detail: Mapping[str, Any] = field(default_factory=dict)
    """Anything else worth keeping (branch, change number, depot ...); JSON-serialisable."""


@dataclass(frozen=True)
class Problem:
    """A per-game answer that is not a signal."""

    message: str
    status: str = "error"
    """``error`` (the check failed), ``not_found`` (unknown or delisted id) or ``hidden``
    (the store knows the game but will not say more)."""


@dataclass(frozen=True)
class Game:
    """One game of the library, as handed to a plugin."""

    id: int
    """The library row id; results are keyed by it."""
    store: str
    store_id: str
    title: str | None = None
    row: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """The whole library row (e.g. Backlogia's ``extra_data`` for Epic ids)."""
    signals: Mapping[str, Signal] = field(default_factory=dict, compare=False, hash=False)
    """The last signal the core recorded for this game, by kind; empty on first sight."""


Result = Signal | Problem


@dataclass(frozen=True)
class Links:
    """Where a person reads about an update; what the ``update_links`` hook returns."""

    store_page: str | None = None
    """The game's page in the store."""
    patch_notes: str | None = None
    """A page with this build's patch notes, when the store has one."""
    notes: str | None = None
    """A short plain-text excerpt or title of the patch notes (a few hundred characters)."""
