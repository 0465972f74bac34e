"""The plugin contract. Each function here is a hook a store plugin may implement.

A store plugin is a module (or object) registered under the entry-point group
``patchwatch``; the entry-point name is the plugin's name everywhere (``patchwatch
plugins``, ``PATCHWATCH_DISABLE``, the ``[plugins.<name>]`` config section). Implement
the hooks with ``from patchwatch import hookimpl``. Every argument is optional: declare
only those you use. The core calls one plugin at a time, so an error in yours never
reaches another plugin.

A launcher plugin (Steam client, Heroic, GOG Galaxy...) implements ``launcher_info`` and
``read_launcher`` instead: it says what a launcher on this machine knows (owned and
installed games, the installed build and branch), read from the launcher's files. It is
packaged and named the same way and gets its ``[plugins.<name>]`` section as settings.

This contract changes only with the core's second version number while it is 0.x: a plugin
for the 0.1 series requires ``patchwatch>=0.1,<0.2``, and the core refuses to load a plugin
whose requirement excludes it (``plugins.contract_error``).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pluggy

from .models import (Game, LauncherGame, LauncherInfo, LauncherWarning, Links, Result, Signal,
                     StoreInfo, Unchanged)

hookspec = pluggy.HookspecMarker("patchwatch")


@hookspec
def store_info() -> StoreInfo:
    """Say which store you serve and your default priority.

    Called once when the plugin is loaded. Return a :class:`StoreInfo`, e.g.
    ``StoreInfo(store="steam", priority=100, description="Steam PICS")``. Among the plugins
    for one store, the core tries the highest priority first and falls back to the next.
    Answer at once (no network): a call that takes more than 5 s, raises, or returns a
    ``StoreInfo`` with a non-text ``store`` or a ``priority`` that is not a whole number
    leaves your plugin unused, with the reason shown by ``patchwatch plugins``.
    """


@hookspec
def is_available(settings: Mapping[str, Any]) -> bool | str:
    """Say, quickly, whether you can check games right now.

    Called before each sync that has games for your store (unless the circuit breaker has
    switched you off). ``settings`` is your ``[plugins.<name>]`` config section over your
    store's ``[stores.<store>]`` section (settings every plugin of the store shares, such
    as Steam's tracked branches: accept them), with ``PATCHWATCH_<NAME>_<KEY>`` environment
    overrides applied (values from the environment are strings). Return ``True`` when usable; ``False`` or a short reason (a string) when
    not: the core then gives your games to the next plugin for the store. Keep it cheap
    and bounded by a short timeout; raising counts as unavailable.
    """


@hookspec
def check_store_id(store_id: str, extra: Mapping[str, Any]) -> str | None:
    """Say, without any request, whether ``store_id`` can be an id of your store.

    Called when a user adds or edits a game of your store (``extra`` is the row's extra
    ids, e.g. Epic's namespace; often empty). Return None when it has the right form (or
    your store has no fixed form), else one short line saying what the form is, e.g.
    ``Steam app ids are whole numbers (570), got 'abc'``: the game is refused with it.
    More than 5 s, or raising, counts as None.
    """


@hookspec
def check_settings(settings: Mapping[str, Any]) -> str | None:
    """Check your settings (the same mapping ``is_available`` gets) without any request.

    Called when the config is read (``patchwatch sync``, ``watch``, ``plugins``) and before
    each sync that has games for you. Raise an error (``patchwatch.settings.SettingsError``)
    or return a one-line reason naming the key and value, e.g. ``gog setting os must be
    windows, mac or linux, got 'windoze'``; return None when they are fine. A plugin with bad
    settings is skipped (its games go to the next plugin) and does not count toward its
    circuit breaker: the user has to fix the config, no retry can. More than 5 s counts as
    fine (None).
    """


@hookspec
def weak_only(settings: Mapping[str, Any]) -> str | None:
    """Say, without any request, whether these settings let you see only weak signals.

    Return None when you can see real builds, else one short reason, e.g. ``"no legendary
    login: only the catalog's edit date, not a confirmed build"``. ``patchwatch plugins``
    and the sync summary show it once, so a user knows why every change is labelled
    *not a confirmed build*. Raising, or more than 5 s, counts as None.
    """


@hookspec
def check_updates_bulk(
    games: list[Game], settings: Mapping[str, Any], state: dict[str, Any]
) -> Iterable[tuple[int, Result] | Unchanged]:
    """Check many games of your store at once.

    ``games`` all belong to your store; each carries ``signals``, the last signal the core
    recorded per kind, which you may use as a cheap filter (answer a game whose store data
    did not change with its last signal). ``state`` is a small JSON-serialisable dict that
    is yours alone and kept between syncs (e.g. a change cursor); mutate it in place. It is
    saved only when your call completes without raising, so a cursor never moves past
    answers that were lost.

    Yield (or return an iterable of) ``(game.id, result)`` pairs where ``result`` is a
    :class:`Signal` (the strongest version signal the store gives) or a :class:`Problem`.
    Yield as you go: the core saves each answer as it arrives, so an interrupted sync loses
    nothing already fetched. A game you do not answer goes to the next plugin for the
    store; raising stops you there and sends the remaining games on too. Never touch the
    database: the core compares signals and records updates.

    When the store tells you which games changed (a change feed, a cursor), say the rest
    with one :class:`Unchanged` (``yield Unchanged("buildid", [g.id for g in same])``),
    yielded on its own: each game it names keeps its stored signal of that kind, stamped
    seen, at the cost of two SQL statements for the lot. Name only games whose ``signals``
    hold that kind. ``patchwatch.testing.read_answers`` reads your answers as the core does.

    Every answer is checked at the boundary: a pair that is not ``(game.id, result)``, or a
    result whose fields are not what :class:`Signal` / :class:`Problem` declare (``detail``
    plain JSON data, ``is_build`` a bool, text where text is due) is refused, your plugin is
    reported failed by name with the field at fault, and that game goes to the next plugin.
    Make HTTP requests with :func:`patchwatch.http.new_session`: each answer is capped at
    the user's ``max_answer_mb``, and when the core gives up on you (``timeout``, a host's
    cancel) your pending requests, Retry-After waits and backoff pauses end within about a
    second, so your worker threads can finish.
    """


@hookspec
def update_links(game: Game, signal: Signal, settings: Mapping[str, Any]) -> Links | None:
    """Say where a person reads about a new build of one of your store's games.

    Called after a sync, once per update that is about to be notified, with the game and
    its new ``signal`` (``published_at`` and ``version`` as you reported them). Return a
    :class:`Links` (store page, patch-notes page, a short excerpt) or None. Keep it to one
    or two quick requests with short timeouts: the notification waits for you (at most
    ``links_timeout`` seconds for the whole cycle). Raising counts as no links.
    """


@hookspec
def launcher_info() -> LauncherInfo:
    """Say which launcher you read and the stores its games belong to.

    Called once per plugin manager, like ``store_info`` (same 5 s bound; no file access):
    ``LauncherInfo(launcher="Steam client", stores=("steam",), branch_setting="branches")``.
    """


@hookspec
def read_launcher(settings: Mapping[str, Any],
                  cache: dict[str, Any]) -> Iterable[LauncherGame | LauncherWarning]:
    """Yield what the launcher on this machine knows: one :class:`LauncherGame` per game.

    Find the launcher's files yourself (the platform's default places) unless ``settings``
    (your ``[plugins.<name>]`` section) names paths. When the launcher is not there at all,
    raise :class:`patchwatch.LauncherNotFound` with one line saying where you looked.

    The files are another program's, maybe being rewritten while you read: never write,
    lock or follow credentials files; for each file or folder you cannot use (missing,
    truncated, malformed, permission denied, too large), yield one :class:`LauncherWarning`
    naming it and go on with the rest. Set ``LauncherGame.source`` to the file a game came
    from: while that file (or a folder above it) has a warning, the core keeps what it knew.

    ``cache`` is yours, kept between calls (``patchwatch watch`` re-reads every cycle): keep
    what you parsed from each file under its ``(mtime, size)`` so an unchanged launcher is
    re-read with ``stat`` calls only. Keep it plain JSON data (``LauncherGame.to_dict()``)
    and the core also saves it in the database (up to 8 MiB), so a new process is as quick;
    anything else lives in the process only. Treat what you find there as untrusted.

    The core bounds the call in time (60 s) and checks each item as it does answers; a bad
    item becomes a warning naming your plugin. Yield the same ``LauncherGame`` objects for
    unchanged files and they are checked only once. ``patchwatch.launchers`` stores the
    results; your plugin never touches the database.
    """
