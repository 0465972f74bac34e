"""Checking GOG games: one product at a time, many products in parallel."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Iterable, Iterator, Mapping

from patchwatch import Game, Problem, Result

from .builds import BadBuilds, Build, build_signal, newest_public, parse_builds
from .client import GogClient, GogError, NotFound, Unreachable
from .settings import GogSettings

GENERATION = 2
"""``generation=2`` lists the builds of both manifest generations."""


def check_product(client: GogClient, product_id: str, cfg: GogSettings) -> Result:
    """The newest public build of one product on the tracked branch and OSes, or why there is none.

    Raises :class:`Unreachable` when GOG could not be asked (the caller counts those).
    """
    newest: dict[str, Build] = {}
    for os in cfg.os:
        what = f"builds of GOG product {product_id} ({os})"
        url = f"{cfg.builds_url}/products/{product_id}/os/{os}/builds"
        try:
            answer = client.get_json(url, {"generation": GENERATION}, what=what)
            build = newest_public(parse_builds(answer, os), cfg.branch)
        except NotFound:
            continue  # same as an empty list: the product API says whether the product exists
        except BadBuilds as exc:
            return Problem(f"{what}: GOG sent a malformed answer ({exc})")
        except Unreachable:
            raise
        except GogError as exc:
            return Problem(str(exc))
        if build is not None:
            newest[os] = build
    if newest:
        return build_signal(newest, cfg.os, cfg.branch)
    return _why_no_build(client, product_id, cfg)


def _why_no_build(client: GogClient, product_id: str, cfg: GogSettings) -> Problem:
    what = f"GOG product {product_id}"
    try:
        product = client.get_json(f"{cfg.api_url}/products/{product_id}", what=what)
    except NotFound:
        return Problem(f"{what} not found: unknown id, or delisted from the store", status="not_found")
    except Unreachable:
        raise
    except GogError as exc:
        return Problem(str(exc))
    if not isinstance(product, Mapping) or "id" not in product:
        return Problem(f"{what}: GOG sent a malformed answer (no product id)")
    title = product.get("title")
    name = f"{what} ({title})" if isinstance(title, str) and title else what
    oses = " or ".join(cfg.os)
    branch = f"branch {cfg.branch!r}" if cfg.branch else "the default branch"
    return Problem(f"{name} has no public {oses} build on {branch}", status="hidden")


def check_games(games: Iterable[Game], cfg: GogSettings) -> Iterator[tuple[int, Result]]:
    """Yield ``(game.id, result)`` for every game, as answers arrive, ``cfg.concurrency`` at a time.

    Library rows sharing a product id are asked about once. After
    ``cfg.max_consecutive_failures`` products in a row that GOG did not answer, raises
    :class:`Unreachable` so the remaining games go to the next plugin.
    """
    by_product: dict[str, list[Game]] = {}
    for game in games:
        product_id = str(game.store_id or "").strip()
        if not product_id.isdecimal():
            yield game.id, Problem(
                f"{game.store_id!r} is not a GOG product id (a number)", status="not_found"
            )
            continue
        by_product.setdefault(product_id, []).append(game)
    if not by_product:
        return

    client = GogClient(cfg)
    pool = ThreadPoolExecutor(max_workers=min(cfg.concurrency, len(by_product)),
                              thread_name_prefix="patchwatch-gog")
    try:
        futures: dict[Future[Result], str] = {
            pool.submit(check_product, client, product_id, cfg): product_id for product_id in by_product
        }
        failures = 0
        for future in as_completed(futures):
            product_id = futures[future]
            result, failed = _outcome(future)
            failures = failures + 1 if failed else 0
            for game in by_product[product_id]:
                yield game.id, result
            if failures >= cfg.max_consecutive_failures:
                raise Unreachable(
                    f"GOG stopped answering: {failures} products in a row failed "
                    f"(last: {result.message if isinstance(result, Problem) else result})"
                )
    finally:
        client.abort()
        pool.shutdown(wait=True, cancel_futures=True)
        client.close()


def _outcome(future: Future[Result]) -> tuple[Result, bool]:
    """The future's result, and whether it failed for want of an answer from GOG."""
    try:
        return future.result(), False
    except Unreachable as exc:
        return Problem(str(exc)), True
    except Exception as exc:  # a bug or a surprise must not lose the other games' answers
        return Problem(f"unexpected error: {type(exc).__name__}: {exc}"), False
