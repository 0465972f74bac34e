"""What a sync reports: per plugin, per failed game, and the summary a host gets back."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .state import UpdateRecord


@dataclass
class PluginReport:
    """What one plugin did in a sync."""

    name: str
    store: str
    status: str
    """``ok``, ``unavailable``, ``misconfigured`` (its ``check_settings`` refused the settings),
    ``unreachable`` (no network, DNS, route: see
    :func:`patchwatch.http.is_unreachable`), ``failed``, ``timeout``, ``disabled``, ``off``,
    ``not_needed``, ``cancelled``."""
    reason: str | None = None
    offered: int = 0
    answered: int = 0
    signals: int = 0
    problems: int = 0
    errors: int = 0
    seconds: float = 0.0
    fallback_to: str | None = None
    """The plugin the unanswered games went to next."""
    malformed: int = 0
    """Answers that were not a valid Signal or Problem (those games went to the next plugin)."""
    weak_only: str | None = None
    """Why this plugin can only see weak signals with these settings (its ``weak_only`` hook)."""


@dataclass
class GameFailure:
    game_id: int
    store: str
    store_id: str
    title: str | None
    status: str
    message: str


@dataclass
class SyncSummary:
    """The result of one sync; ``to_dict()`` gives its JSON form."""

    run_id: int
    total: int = 0
    checked: int = 0
    baselines: int = 0
    unchanged: int = 0
    updates: list[UpdateRecord] = field(default_factory=list)
    failures: list[GameFailure] = field(default_factory=list)
    unsupported: list[GameFailure] = field(default_factory=list)
    plugins: list[PluginReport] = field(default_factory=list)
    load_errors: dict[str, str] = field(default_factory=dict)
    resumed_from: int | None = None
    skipped_resumed: int = 0
    earlier_updates: int = 0
    """How many of ``updates`` were found by the interrupted runs this sync resumed."""
    skipped_hidden: int = 0
    """Games the host marks hidden or removed, left out (``include_hidden`` checks them)."""
    host_tracked: int = 0
    """Updates the host's own tracker had already written to ``game_depot_updates`` (no
    second row was added): running both trackers is redundant."""
    seconds: float = 0.0
    cancelled: bool = False
    """True when the host cancelled the sync: what was fetched is saved, the run is marked
    ``cancelled`` and the next sync resumes it."""
    switched_off: dict[str, int] = field(default_factory=dict)
    """Games not checked because every plugin of their store is switched off by the user
    (``disable``), by store: not a failure."""
    offline: bool = False
    """True when every plugin tried was unreachable (no network, DNS, route): most likely
    the user's own outage, so none of it counted toward the circuit breakers."""

    @property
    def updated(self) -> list[UpdateRecord]:
        """Updates that are real new builds."""
        return [u for u in self.updates if u.is_build]

    def served_by(self) -> dict[str, int]:
        return {p.name: p.answered for p in self.plugins if p.answered}

    def to_dict(self) -> dict[str, Any]:
        # Every nested value is a flat dataclass: one level of copying (asdict's deep
        # recursion cost more than the rest of an unchanged sync with many failures).
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in data.items():
            if isinstance(value, list):
                data[key] = [dict(vars(item)) for item in value]
            elif isinstance(value, dict):
                data[key] = dict(value)
        data["updated"] = len(self.updated)
        data["changed_not_build"] = len(self.updates) - len(self.updated)
        data["failed"] = len(self.failures)
        data["unsupported_count"] = len(self.unsupported)
        return data
