"""One bulk check: change numbers as the cheap filter, product info for what changed.

``state`` (kept by the core between syncs) holds:

- ``change_number``: the PICS change number the plugin's knowledge is current at;
- ``known``: app ids whose last answer is current at that change number;
- ``problems``: ``{appid: [status, message, branch, change number]}`` for known apps
  answered with a problem;
- ``tokens``: access tokens Steam gave for token-protected apps;
- ``cm_list``: the Steam Directory's server list and when it was fetched (used for a
  week, and whenever the directory cannot be reached);
- ``denied``: ``{appid: change number}`` of apps whose access token Steam refused to the
  anonymous account; they are left unanswered (the next Steam plugin gets them) and not
  asked about again until their change number moves. Once the build the core holds for one
  was read at that change number (steam_http keeps the mirror's), it is named unchanged, so
  the next plugin is not asked again either;
- ``silent``: the same for apps whose token Steam neither granted nor refused; they are
  asked about again on the next full pass too.

An app is fetched again when it is not known, changed since the cursor, or the core holds
no signal of the kind now tracked (``buildid`` or ``buildid@<branch>``); the others are
named in one :class:`~patchwatch.Unchanged` per kind, or get their remembered problem. When the cursor is too old for Steam
(a full pass), a metadata-only pass gives every app's change number and only apps whose
number moved since their last answer are fetched. The cursor and ``known`` move only when
the whole check finished, so an interrupted check loses nothing.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Mapping
from typing import Any, Iterator

from patchwatch import Game, Problem, Result, Signal, Unchanged

from . import pics
from .depots import this_os
from .servers import ServerList
from .session import PicsError, PicsUnavailable, session_for, wait
from .settings import Settings

log = logging.getLogger(__name__)


def check(games: list[Game], settings: Mapping[str, Any],
          state: dict[str, Any]) -> Iterator[tuple[int, Result] | Unchanged]:
    config = Settings.from_mapping(settings)
    session = session_for(config)
    session.adopt(ServerList.from_state(state.get("cm_list")))
    by_app: dict[int, list[Game]] = collections.defaultdict(list)
    for game in games:
        appid = _appid(game.store_id)
        if appid is None:
            yield game.id, Problem(f"{game.store_id!r} is not a Steam app id", status="not_found")
        else:
            by_app[appid].append(game)

    since, known, problems, tokens, denied, silent = _read_state(state)
    # The first request of a sync may have to log on first.
    changes = session.call(pics.changes_since, since or 0, config.request_timeout,
                           timeout=config.connect_timeout + pics.deadline_for(config.request_timeout) + 5)
    full = since is None or changes.force_full or changes.current < since

    answered: dict[int, Problem | None] = {}
    """Apps answered in this check: their problem, or None for a build (the Signal itself is
    not kept: holding 20,000 of them for the whole pass only feeds the garbage collector)."""
    if full:
        # The cursor is gone (Steam keeps a few thousand change numbers, winnow
        # docs/spikes/update-signals.md): ask every app's change number first, in big
        # metadata-only requests (SteamDB FullUpdateProcessor.cs), and fetch full info only
        # for apps whose number moved since the answer we have.
        prior = {appid: _prior_change(appid, app_games, config.branch(appid), problems, denied)
                 for appid, app_games in by_app.items()}
        if any(cn is not None for cn in prior.values()):
            meta = _metadata_all(session, config, sorted(by_app), tokens)
            for appid in sorted(meta.unknown & set(by_app)):
                answered[appid] = Problem(f"Steam knows no app {appid} (unknown to PICS)", status="not_found")
                for game in by_app[appid]:
                    yield game.id, answered[appid]
            trusted = {appid for appid, cn in prior.items()
                       if cn is not None and meta.change_numbers.get(appid) == cn}
        else:
            trusted = set()
        known = set()
    else:
        trusted = {appid for appid in by_app
                   if appid not in changes.apps and (appid in known or appid in denied or appid in silent)}

    todo: list[int] = []
    kept: set[int] = set()
    unchanged: dict[str, list[int]] = collections.defaultdict(list)
    for appid, app_games in by_app.items():
        if appid in answered:
            continue
        if appid in trusted:
            branch = config.branch(appid)
            kind = pics.signal_kind(branch)
            if appid in denied or appid in silent:
                # Still refused (or unanswered): the next Steam plugin's, as last time. If the
                # build the core holds was read at the change number the app still has (the
                # mirror's `_change_number`), it stands: say so, and nobody asks again.
                seen_at = denied.get(appid, silent.get(appid))
                if all(_change_number(game.signals.get(kind)) == seen_at for game in app_games):
                    unchanged[kind] += [game.id for game in app_games]
                continue
            problem = problems.get(appid)
            if problem is None:
                if all(kind in game.signals for game in app_games):
                    # The core holds this app's build on the tracked branch and Steam says
                    # nothing changed since: one Unchanged for them all, no per-game answer.
                    kept.add(appid)
                    unchanged[kind] += [game.id for game in app_games]
                    continue
            else:
                result = _last_answer(app_games, branch, problem)
                if result is not None:
                    answered[appid] = result if isinstance(result, Problem) else None
                    for game in app_games:
                        yield game.id, result
                    continue
        todo.append(appid)
    for kind, game_ids in unchanged.items():
        yield Unchanged(kind, game_ids)

    change_of: dict[int, int] = {}
    owners: dict[str, Any] = {}
    """Depots sections of apps owning ``depotfromapp`` depots, fetched once per check."""
    unreadable: set[int] = set()
    for batch, fetched in _fetch_all(session, config, todo, tokens):
        tokens.update(fetched.tokens)
        wanted = pics.owners_needed(fetched, batch) - {int(a) for a in owners} - unreadable
        if wanted:
            owners.update(_owners(session, config, sorted(wanted), tokens))
            unreadable |= wanted - {int(a) for a in owners}
        for appid in batch:
            branch = config.branch(appid)
            previous = by_app[appid][0].signals.get(pics.signal_kind(branch))
            result = pics.read_result(appid, fetched, branch, previous, config.os or this_os(), owners)
            denied.pop(appid, None)
            silent.pop(appid, None)
            if result is None:  # needs a token we do not have: not ours to answer
                if appid in fetched.denied:
                    denied[appid] = fetched.apps[appid].change_number
                else:  # neither granted nor refused: asked again on the next full pass
                    silent[appid] = fetched.apps[appid].change_number
                continue
            entry = fetched.apps.get(appid)
            change_of[appid] = entry.change_number if entry is not None else 0
            answered[appid] = result if isinstance(result, Problem) else None
            for game in by_app[appid]:
                yield game.id, result

    # Everything answered: move the cursor. Apps known before but not in this check stay
    # known if they did not change; apps of this check are known with their new answer.
    here = set(by_app)
    known = {a for a in known if a not in here and a not in changes.apps}
    denied = {a: c for a, c in denied.items() if a in here or not (full or a in changes.apps)}
    silent = {a: c for a, c in silent.items() if a in here or not (full or a in changes.apps)}
    problems = {a: p for a, p in problems.items() if a in known or (a in trusted and a in answered)}
    known |= kept
    for appid, result in answered.items():
        if result is None or result.status in ("not_found", "hidden"):
            known.add(appid)
        if result is not None and appid in known and appid not in problems:
            problems[appid] = [result.status, result.message, config.branch(appid), change_of.get(appid, 0)]
    state["change_number"] = changes.current
    state["known"] = sorted(known)
    state["problems"] = {str(a): p for a, p in sorted(problems.items())}
    state["tokens"] = {str(a): t for a, t in sorted(tokens.items())}
    state["denied"] = {str(a): c for a, c in sorted(denied.items())}
    state["silent"] = {str(a): c for a, c in sorted(silent.items())}
    cm_list = session.cached_list()
    if cm_list is not None:
        state["cm_list"] = cm_list


def _owners(session: Any, config: Settings, appids: list[int], tokens: dict[int, int]) -> dict[str, Any]:
    """The depots sections of ``appids`` (owners of shared depots); none when Steam will
    not say (their depots are then left out of the comparison, not guessed)."""
    try:
        fetched = session.call(pics.fetch, appids, dict(tokens), config.request_timeout,
                               timeout=config.connect_timeout + 3 * pics.deadline_for(config.request_timeout) + 5)
    except PicsError as exc:
        log.info("steam_pics: owners of shared depots %s not read (%s)", appids, exc)
        return {}
    return pics.owner_depots(fetched)


def _prior_change(appid: int, games: list[Game], branch: str, problems: dict[int, list],
                  denied: dict[int, int]) -> int | None:
    """The change number of the answer we have for ``appid`` (None: no usable answer)."""
    if appid in denied:
        return denied[appid]
    problem = problems.get(appid)
    if problem is not None:
        return int(problem[3]) if len(problem) > 3 and problem[2] == branch and problem[3] else None
    return _change_number(_last_answer(games, branch, None))


def _change_number(signal: Any) -> int | None:
    """The PICS change number a stored signal was read at (None: it does not say)."""
    if isinstance(signal, Signal) and isinstance(signal.detail, Mapping):
        try:
            return int(signal.detail["change_number"])
        except (TypeError, ValueError, KeyError):
            return None
    return None


def _metadata_all(session: Any, config: Settings, appids: list[int], tokens: dict[int, int]) -> pics.Metadata:
    """Change numbers of ``appids``, :data:`pics.METADATA_BATCH` per request, all sent at once."""
    chunks = [appids[i:i + pics.METADATA_BATCH] for i in range(0, len(appids), pics.METADATA_BATCH)]
    futures = [session.submit(pics.metadata, chunk, dict(tokens), config.request_timeout) for chunk in chunks]
    total = pics.Metadata()
    for chunk, future in zip(chunks, futures):
        part = _outcome(session, config, future, pics.metadata, chunk, tokens, what="metadata request")
        total.change_numbers.update(part.change_numbers)
        total.unknown |= part.unknown
    return total


def _fetch_all(session: Any, config: Settings, appids: list[int],
               tokens: dict[int, int]) -> Iterator[tuple[list[int], pics.Fetched]]:
    """Product info in batches, ``in_flight`` requests at a time, answers in order.

    A batch that fails (timeout, dropped connection, ``DestJobFailed``) is sent once more;
    the session has dropped the connection it failed on, so the retry logs on afresh.
    """
    batches = [appids[i:i + config.batch_size] for i in range(0, len(appids), config.batch_size)]
    pending: collections.deque = collections.deque()
    try:
        for batch in batches:
            pending.append((batch, session.submit(pics.fetch, batch, dict(tokens), config.request_timeout)))
            if len(pending) >= config.in_flight:
                batch, future = pending.popleft()
                yield batch, _fetched(session, config, batch, future, tokens)
        while pending:
            batch, future = pending.popleft()
            yield batch, _fetched(session, config, batch, future, tokens)
    finally:
        for _, future in pending:
            future.cancel()


def _fetched(session: Any, config: Settings, batch: list[int], future: Any,
             tokens: dict[int, int]) -> pics.Fetched:
    return _outcome(session, config, future, pics.fetch, batch, tokens, what="batch")


def _outcome(session: Any, config: Settings, future: Any, job: Any, appids: list[int],
             tokens: dict[int, int], *, what: str) -> Any:
    """The result of ``future``; if it failed, ``job`` run once more on a new connection."""
    # Up to three requests per batch (product info, tokens, product info with tokens),
    # each bounded by its own deadline, after a logon if the connection dropped.
    timeout = config.connect_timeout + 3 * pics.deadline_for(config.request_timeout) + 5
    try:
        return wait(future, timeout)
    except PicsUnavailable:
        raise  # no connection to retry on; the session backs off
    except PicsError as first:
        log.info("steam_pics: %s of %d apps failed (%s); retrying once on a new connection",
                 what, len(appids), first)
        retry = session.submit(job, appids, dict(tokens), config.request_timeout)
        try:
            return wait(retry, timeout)
        except PicsError as second:
            raise PicsError(f"{second} (a {what} of {len(appids)} apps failed twice; first: {first})") from None


def _last_answer(games: list[Game], branch: str, problem: list[str] | None) -> Result | None:
    """The answer recorded last time, if it is still the one to give."""
    if problem is not None:
        status, message, problem_branch = problem[:3]
        return Problem(message, status=status) if problem_branch == branch else None
    for game in games:
        last = game.signals.get(pics.signal_kind(branch))
        if (isinstance(last, Signal) and isinstance(last.detail, Mapping)
                and last.detail.get("branch") == branch and "change_number" in last.detail):
            return last
    return None


def _read_state(state: Mapping[str, Any]) -> tuple[int | None, set[int], dict[int, list], dict[int, int],
                                                  dict[int, int], dict[int, int]]:
    """Cursor, known apps, remembered problems, tokens, denied and unanswered token apps;
    a damaged state means a full pass."""
    try:
        since = int(state["change_number"]) if state.get("change_number") is not None else None
        known = {int(a) for a in state.get("known", [])}
        problems = {int(a): list(p) for a, p in state.get("problems", {}).items() if len(p) in (3, 4)}
        tokens = {int(a): int(t) for a, t in state.get("tokens", {}).items()}
        denied = {int(a): int(c) for a, c in state.get("denied", {}).items()}
        silent = {int(a): int(c) for a, c in state.get("silent", {}).items()}
    except (TypeError, ValueError, AttributeError):
        return None, set(), {}, {}, {}, {}
    return since, known, problems, tokens, denied, silent


def _appid(store_id: Any) -> int | None:
    text = str(store_id).strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**32 else None

