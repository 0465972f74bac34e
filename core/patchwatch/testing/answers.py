"""What the core makes of a plugin's answers, for plugin tests without a database."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from ..models import (BadAnswer, Game, LauncherGame, LauncherWarning, Result, Unchanged,
                      checked_claim, checked_launcher_game, checked_result)


def each_answer(games: Iterable[Game], answers: Iterable[Any]) -> Iterator[tuple[int, Result]]:
    """``(game.id, result)`` for each answer of ``check_updates_bulk``, as it arrives.

    An :class:`~patchwatch.Unchanged` gives each game it names its stored signal of that
    kind, as the core records it. Fails on what the core refuses or ignores: ``AssertionError`` for an
    answer for a game that was not asked about, a second answer for one game, or an
    ``Unchanged`` naming a game without that signal; ``patchwatch.models.BadAnswer`` for a
    malformed result or ``Unchanged``.
    """
    by_id = {game.id: game for game in games}
    seen: set[int] = set()

    def answer(game_id: Any, result: Result) -> tuple[int, Result]:
        assert game_id in by_id, f"answer for game {game_id!r}, which was not asked about"
        assert game_id not in seen, f"game {game_id} answered twice"
        seen.add(game_id)
        return game_id, result

    for item in answers:
        if isinstance(item, Unchanged):
            kind, ids = checked_claim(item, len(by_id))
            for game_id in ids:
                assert game_id in by_id, f"Unchanged names game {game_id!r}, which was not asked about"
                signal = by_id[game_id].signals.get(kind)
                assert signal is not None, \
                    f"Unchanged({kind!r}) names game {game_id}, which has no stored {kind} signal"
                yield answer(game_id, signal)
        else:
            game_id, result = item
            yield answer(game_id, checked_result(result))


def read_answers(games: Iterable[Game], answers: Iterable[Any]) -> dict[int, Result]:
    """All answers of ``check_updates_bulk`` by game id (see :func:`each_answer`)."""
    games = list(games)
    return dict(each_answer(games, answers))


def read_launcher_items(items: Iterable[Any]) -> tuple[list[LauncherGame], list[LauncherWarning]]:
    """A launcher plugin's ``read_launcher`` items as the core keeps them: the games, each
    checked at the boundary, and the warnings. Raises ``AssertionError`` naming an item the
    core would refuse (``LauncherNotFound`` from the plugin passes through)."""
    games: list[LauncherGame] = []
    warnings: list[LauncherWarning] = []
    for item in items:
        if isinstance(item, LauncherWarning):
            warnings.append(item)
            continue
        assert isinstance(item, LauncherGame), f"not a LauncherGame or LauncherWarning: {item!r}"
        try:
            games.append(checked_launcher_game(item))
        except BadAnswer as exc:
            raise AssertionError(f"the core refuses {item!r}: {exc}") from None
    return games, warnings
