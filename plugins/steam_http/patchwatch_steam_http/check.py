"""Check many Steam games over public HTTP: the best signal each game has, hosts in parallel."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Iterable, Iterator

from patchwatch import Game, Problem, Result
from patchwatch.http import new_session

from .client import PLUGIN, FetchError, Host, HostDown
from .settings import Settings
from .sources import SOURCE_CLASSES, Source, Unknown


class Checker:
    """One sync's worth of sources, sharing one session; use as a context manager."""

    def __init__(self, settings: Settings):
        self.settings = settings
        enabled = settings.enabled()
        self.session = new_session(PLUGIN, pool_size=max((settings.concurrency(n) for n in enabled), default=1))
        self.sources: list[Source] = []
        for name in enabled:
            host = Host(name, self.session, settings, settings.interval(name), settings.concurrency(name))
            self.sources.append(SOURCE_CLASSES[name](host, settings))

    def __enter__(self) -> "Checker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    @property
    def requests(self) -> int:
        return sum(source.host.requests for source in self.sources)

    def check_game(self, game: Game) -> Result:
        """Ask the sources in order until one answers; never raises."""
        appid = str(game.store_id).strip()
        if not appid.isdigit() or not 0 < int(appid) < 2**32:
            return Problem(f"not a Steam app id: {game.store_id!r}", status="not_found")
        notes: list[str] = []
        unknown = hidden = 0
        for source in self.sources:
            try:
                answer = source.check(appid)
            except HostDown as exc:
                notes.append(str(exc))
                continue
            except FetchError as exc:
                if exc.transport and source.host.down:
                    notes.append(str(exc))
                    continue  # the host just went out: the next source takes the game
                return Problem(str(exc))
            except Exception as exc:  # a bug or an answer shape nobody foresaw: this game only
                return Problem(f"{source.name}: {type(exc).__name__}: {exc}")
            if isinstance(answer, Unknown):
                notes.append(f"{source.name}: {answer.reason}")
                unknown += 1
                hidden += answer.hidden
                continue
            return answer
        if not self.sources:
            return Problem("every steam_http signal is switched off (mirror, news, appdetails)")
        message = "; ".join(notes)
        if unknown < len(self.sources):
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
                    yield game.id, future.result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

