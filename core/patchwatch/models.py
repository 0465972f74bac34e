"""The values that pass between the core and store plugins."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping


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
    change_feed: bool = False
    """The plugin learns from the store what changed since its last check (Steam's PICS
    change numbers), so checking a game again costs next to nothing. A sync that resumes
    cut-short runs then offers it the games those runs checked too, instead of skipping
    them: when it finishes, every change published before it started is recorded."""


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
    title: str | None = None
    """The game's name in the store, when the answer has it: a library row added without a
    title gets it (an existing title is never changed)."""


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
class Unchanged:
    """Games whose store data did not change since the signal of ``kind`` the core holds.

    Yielded on its own (not in a pair) by ``check_updates_bulk`` instead of one answer per
    game: the core keeps each game's stored signal of ``kind`` and stamps it seen, in two
    SQL statements for the lot, with no per-game work in Python.
    Name only games whose ``signals`` hold ``kind``; any other is refused as malformed and
    goes to the next plugin.
    """

    kind: str
    """The signal kind the claim is about (``buildid``)."""
    games: Collection[int | str]
    """``Game.id`` of each game it covers (a list, tuple or set)."""


@dataclass(frozen=True)
class Links:
    """Where a person reads about an update; what the ``update_links`` hook returns."""

    store_page: str | None = None
    """The game's page in the store."""
    patch_notes: str | None = None
    """A page with this build's patch notes, when the store has one."""
    notes: str | None = None
    """A short plain-text excerpt or title of the patch notes (a few hundred characters)."""


PROBLEM_STATUSES = ("error", "not_found", "hidden")
MAX_TEXT = 1000
"""The longest ``kind``/``value``/``version``/``published_at``/message the core keeps."""
MAX_DETAIL = 64 * 1024
"""The largest ``detail`` (as JSON) the core keeps."""


class BadAnswer(ValueError):
    """A plugin returned something that is not a valid :class:`Signal` or :class:`Problem`."""


def checked_result(result: Any) -> Result:
    """``result`` with every field checked, as a fresh value the plugin cannot change later;
    raises :class:`BadAnswer` naming the field, the value and what is allowed."""
    if isinstance(result, Problem):
        message = _text(result, "message", required=True)
        if result.status not in PROBLEM_STATUSES:
            raise BadAnswer(f"Problem.status must be one of {', '.join(PROBLEM_STATUSES)}, "
                            f"got {brief_repr(result.status)}")
        return Problem(message, result.status)
    if not isinstance(result, Signal):
        raise BadAnswer(f"an answer must be a Signal or a Problem, got {brief_repr(result)}")
    if not isinstance(result.is_build, bool):
        raise BadAnswer(f"Signal.is_build must be True or False, got {brief_repr(result.is_build)}")
    if not isinstance(result.detail, Mapping):
        raise BadAnswer(f"Signal.detail must be a dict, got {brief_repr(result.detail)}")
    return Signal(
        kind=_text(result, "kind", required=True),
        value=_text(result, "value", required=False, empty_ok=True),
        version=_text(result, "version"),
        published_at=_text(result, "published_at"),
        is_build=result.is_build,
        detail=_detail_copy(result.detail),
        title=_text(result, "title"),
    )


def checked_claim(claim: Unchanged, limit: int) -> tuple[str, list[int | str]]:
    """The kind and game ids of an :class:`Unchanged`, checked like any answer; at most
    ``limit`` ids (the games the plugin was given)."""
    kind = _text(claim, "kind", required=True)
    games = claim.games
    # Built-in collections only: reading them runs no plugin code in the core's thread.
    if type(games) not in (list, tuple, set, frozenset):
        raise BadAnswer(f"Unchanged.games must be a list of Game.id, got {brief_repr(games)}")
    if len(games) > limit:
        raise BadAnswer(f"Unchanged.games names {len(games)} games, more than the {limit} "
                        "it was given")
    try:
        ids = list(games)
    except RuntimeError as exc:  # a set the plugin changed meanwhile
        raise BadAnswer(f"Unchanged.games cannot be read ({exc})") from None
    for game_id in ids:
        if type(game_id) not in (int, str):  # a host's primary key may be text
            raise BadAnswer(f"Unchanged.games must hold Game.id values, got {brief_repr(game_id)}")
    return kind, ids


_FLAT_VALUES = (str, int, bool, type(None))
_FLAT_CHARS = MAX_DETAIL // 12
"""A flat detail this long in characters is within MAX_DETAIL however JSON escapes it (an
astral character becomes a 12-character surrogate pair)."""


def _detail_copy(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A private copy of ``detail`` that is plain JSON within :data:`MAX_DETAIL`.

    The common flat dict of text and whole numbers is checked and copied directly; anything
    else (nesting, floats, other types) takes a JSON round trip, which also checks it.
    """
    copy = dict(detail)
    chars = 0
    for key, value in copy.items():
        if type(key) is not str or type(value) not in _FLAT_VALUES:
            break
        chars += len(key) + (len(value) if type(value) is str else 24) + 4
    else:
        if chars <= _FLAT_CHARS:
            return copy
    try:
        encoded = json.dumps(copy, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadAnswer(f"Signal.detail must be plain JSON data ({exc})") from None
    if len(encoded) > MAX_DETAIL:
        raise BadAnswer(f"Signal.detail is {len(encoded)} bytes as JSON, more than {MAX_DETAIL}")
    return json.loads(encoded)


def checked_store_info(info: Any) -> StoreInfo:
    """``info`` with every field checked; raises :class:`BadAnswer` naming what is wrong."""
    if not isinstance(info, StoreInfo):
        raise BadAnswer(f"store_info() must return a patchwatch.StoreInfo, got {brief_repr(info)}")
    if not isinstance(info.store, str) or not info.store.strip():
        raise BadAnswer(f"StoreInfo.store must be a store name, got {brief_repr(info.store)}")
    if isinstance(info.priority, bool) or not isinstance(info.priority, int):
        raise BadAnswer(f"StoreInfo.priority must be a whole number, got {brief_repr(info.priority)}")
    if not isinstance(info.description, str):
        raise BadAnswer(f"StoreInfo.description must be text, got {brief_repr(info.description)}")
    return StoreInfo(info.store, info.priority, info.description[:200],
                     change_feed=info.change_feed is True)


def _text(obj: Any, name: str, *, required: bool = False, empty_ok: bool = False) -> Any:
    value = getattr(obj, name)
    owner = type(obj).__name__
    if value is None and not required and not empty_ok:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        what = "non-empty text" if required else "text" + ("" if empty_ok else " or None")
        raise BadAnswer(f"{owner}.{name} must be {what}, got {brief_repr(value)}")
    if len(value) > MAX_TEXT:
        raise BadAnswer(f"{owner}.{name} is {len(value)} characters long, more than {MAX_TEXT}")
    return value


def brief_repr(value: Any) -> str:
    """``repr(value)``, cut to 80 characters for a message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- launcher plugins ------------------------------------------------------------------

@dataclass(frozen=True)
class LauncherInfo:
    """What a launcher plugin says about itself through the ``launcher_info`` hook."""

    launcher: str
    """The launcher's name for people (``Steam client``, ``Heroic``)."""
    stores: tuple[str, ...] = ()
    """The library store ids its games belong to (``("epic", "gog")``)."""
    description: str = ""
    branch_setting: str | None = None
    """The ``[stores.<store>]`` setting, a table of store id → branch, that the store's
    plugins track a branch from (``branches`` for Steam). When set, a game installed on a
    non-default branch is tracked on that branch unless the user's table names the game."""


@dataclass(frozen=True)
class LauncherGame:
    """One game a launcher on this machine knows: installed, or only owned."""

    store: str
    """The library's store id (``steam``, ``epic``, ``gog``)."""
    store_id: str
    """The game's id in that store, as the store plugins use it (app id, app name, product id)."""
    title: str | None = None
    installed: bool = True
    """False for a game the launcher lists as owned but not installed."""
    build: str | None = None
    """The installed build, in the form the store's plugins report as the value of ``kind``."""
    kind: str | None = None
    """The signal kind ``build`` compares with (``buildid``, ``buildid@beta``, ``build_id``)."""
    version: str | None = None
    """The installed version label, for people (``1.0.3``)."""
    branch: str | None = None
    """The branch installed; None for the default one."""
    install_path: str | None = None
    update_pending: bool | None = None
    """The launcher's own "update required" flag; None when it does not say."""
    source: str | None = None
    """The file this came from: its stored state is kept while that file cannot be read."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Ids a store plugin needs besides ``store_id`` (Epic's ``namespace``); plain JSON."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (for a plugin's ``cache``); :meth:`from_dict` reads it back."""
        data = {name: getattr(self, name) for name in _LAUNCHER_GAME_FIELDS}
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LauncherGame":
        """A game from :meth:`to_dict`'s data; raises ``TypeError`` for anything else."""
        return cls(**{k: v for k, v in data.items() if k in _LAUNCHER_GAME_FIELDS})


_LAUNCHER_GAME_FIELDS = ("store", "store_id", "title", "installed", "build", "kind", "version",
                         "branch", "install_path", "update_pending", "source", "extra")


@dataclass(frozen=True)
class LauncherWarning:
    """A file (or folder) the plugin could not read; the rest of the read goes on."""

    path: str
    message: str


def checked_launcher_game(game: Any) -> LauncherGame:
    """``game`` with every field checked (as :func:`checked_result` does for signals)."""
    if not isinstance(game, LauncherGame):
        raise BadAnswer(f"read_launcher() must yield LauncherGame or LauncherWarning, "
                        f"got {brief_repr(game)}")
    for name in ("installed",):
        if not isinstance(getattr(game, name), bool):
            raise BadAnswer(f"LauncherGame.{name} must be True or False, got "
                            f"{brief_repr(getattr(game, name))}")
    if game.update_pending is not None and not isinstance(game.update_pending, bool):
        raise BadAnswer(f"LauncherGame.update_pending must be True, False or None, got "
                        f"{brief_repr(game.update_pending)}")
    if not isinstance(game.extra, Mapping):
        raise BadAnswer(f"LauncherGame.extra must be a dict, got {brief_repr(game.extra)}")
    texts = {name: _text(game, name) for name in
             ("title", "build", "kind", "version", "branch", "install_path", "source")}
    return LauncherGame(
        store=_text(game, "store", required=True).strip().lower(),
        store_id=_text(game, "store_id", required=True).strip(),
        installed=game.installed, update_pending=game.update_pending,
        extra=_detail_copy(game.extra), **texts)
