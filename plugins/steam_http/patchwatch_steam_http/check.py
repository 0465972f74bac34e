"""Check many Steam games over public HTTP: the best signal each game has, hosts in parallel.

Which source may answer a game:

- the mirror first: it reads the build of the branch tracked for the app;
- for an app tracking another branch than ``public`` only the mirror can see that branch:
  when it cannot answer, the game is not answered at all (the core passes it on);
- for an app whose build of the tracked branch is known, a weaker signal never replaces
  it: when the mirror cannot give the build, the answer is a problem for that game.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Iterable, Iterator

from patchwatch import Game, Problem, Result, Signal
from patchwatch.http import new_session

from .client import PLUGIN, FetchError, Host, HostDown
from .settings import Settings
from .sources import SOURCE_CLASSES, NewsSource, Source, Target, Unknown, signal_kind


class Checker:
    """One sync's worth of sources, sharing one session; use as a context manager."""

    def __init__(self, settings: Settings, state: dict[str, Any] | None = None):
        self.settings = settings
        enabled = settings.enabled()
        self.session = new_session(PLUGIN, pool_size=max((settings.concurrency(n) for n in enabled), default=1))
        self.sources: list[Source] = []
        for name in enabled:
            host = Host(name, self.session, settings, settings.interval(name), settings.concurrency(name))
            self.sources.append(SOURCE_CLASSES[name](host, settings))
        if state is not None:
            for source in self.sources:
                if isinstance(source, NewsSource):
                    source.remembered(state)

    def save(self, state: dict[str, Any]) -> None:
        """Keep what outlives this sync (apps without a news feed) in the plugin's state."""
        for source in self.sources:
            if isinstance(source, NewsSource):
                source.remember(state)

    def __enter__(self) -> "Checker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    @property
    def requests(self) -> int:
        return sum(source.host.requests for source in self.sources)

    def target(self, game: Game, appid: str) -> Target:
        branch = self.settings.branch(appid)
        last = game.signals.get(signal_kind(branch))
        known = last.value if isinstance(last, Signal) and last.is_build else None
        return Target(appid, branch, known)

    def check_game(self, game: Game) -> Result | None:
        """Ask the sources in order until one answers; never raises.

        None means this plugin cannot see the app's tracked branch: no answer for the game.
        """
        appid = str(game.store_id).strip()
        if not appid.isdigit() or not 0 < int(appid) < 2**32:
            return Problem(f"not a Steam app id: {game.store_id!r}", status="not_found")
        if not self.sources:
            return Problem("every steam_http signal is switched off (mirror, news, appdetails)")
        target = self.target(game, appid)
        notes: list[str] = []
        asked = unknown = hidden = 0
        build_missing = False
        for source in self.sources:
            if not source.sees_builds and (
                    target.branch != "public" or (build_missing and target.known_build is not None)):
                break  # a weaker signal sees no branch and never stands in for a known build
            asked += 1
            try:
                answer = source.check(target)
            except HostDown as exc:
                notes.append(str(exc))
                build_missing |= source.sees_builds
                continue
            except FetchError as exc:
                if exc.transport and source.host.down:
                    notes.append(str(exc))
                    build_missing |= source.sees_builds
                    continue  # the host just went out: the next source takes the game
                return Problem(str(exc))
            except Exception as exc:  # a bug or an answer shape nobody foresaw: this game only
                return Problem(f"{source.name}: {type(exc).__name__}: {exc}")
            if isinstance(answer, Unknown):
                notes.append(f"{source.name}: {answer.reason}")
                unknown += 1
                hidden += answer.hidden
                build_missing |= source.sees_builds
                continue
            return answer
        if target.branch != "public":
            return None
        message = "; ".join(notes)
        if asked < len(self.sources):
            return Problem(f"{message}; no weaker signal stands in for the known build "
                           f"{target.known_build}", status="hidden" if hidden else "error")
        if unknown < asked:
            return Problem(message)  # some source could not be asked: not a verdict
        return Problem(message, status="hidden" if hidden else "not_found")

    def check_many(self, games: Iterable[Game]) -> Iterator[tuple[int, Result]]:
        """Yield ``(game.id, result)`` as answers arrive; each host keeps its own limits."""
        games = list(games)
        workers = max((s.host.concurrency for s in self.sources), default=1)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="steam_http")
        pending: dict[Future[Result], Game] = {}
        queue = iter(games)
        try:
            # Keep a bounded window in flight so stopping early wastes little.
            for game in queue:
                pending[pool.submit(self.check_game, game)] = game
                if len(pending) >= workers * 2:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    game = pending.pop(future)
                    next_game = next(queue, None)
                    if next_game is not None:
                        pending[pool.submit(self.check_game, next_game)] = next_game
                    result = future.result()
                    if result is not None:
                        yield game.id, result
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

