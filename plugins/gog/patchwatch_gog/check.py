"""Checking GOG games: one product at a time, many products in parallel."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any, Callable, Iterable, Iterator, Mapping

from patchwatch import Game, Problem, Result

from .builds import BadBuilds, Build, BuildList, parse_builds, pick_build
from .client import GogClient, GogError, NotFound, Unreachable, scrub
from .installers import BadProduct, Installer, linux_installer, parse_installers
from .settings import GogSettings
from .signals import make_signal

GENERATION = 2
"""``generation=2`` lists the builds of both manifest generations."""


class _Missing:
    """GOG answered 404 or 410."""


MISSING = _Missing()


def _ask(client: GogClient, url: str, params: dict[str, Any] | None, what: str,
         parse: Callable[[Any], Any]) -> Any:
    """``parse`` of GOG's JSON answer, :data:`MISSING` on 404, or a :class:`Problem`.

    Raises :class:`Unreachable` when GOG could not be asked (the caller counts those).
    """
    try:
        return parse(client.get_json(url, params, what=what))
    except NotFound:
        return MISSING
    except (BadBuilds, BadProduct) as exc:
        return Problem(f"{what}: GOG sent a malformed answer ({exc})")
    except Unreachable:
        raise
    except GogError as exc:
        return Problem(str(exc))


def check_product(client: GogClient, product_id: str, cfg: GogSettings) -> Result:
    """The tracked build of each tracked OS (and the Linux installer), or why there is none.

    Raises :class:`Unreachable` when GOG could not be asked (the caller counts those).
    """
    password = cfg.password_for(product_id)
    chosen: dict[str, Build] = {}
    listings: dict[str, BuildList] = {}
    for os in cfg.build_oses:
        params: dict[str, Any] = {"generation": GENERATION}
        if password is not None:
            params["password"] = password  # heroic-gogdl manager.py get_builds: '&password='
        listing = _ask(client, f"{cfg.builds_url}/products/{product_id}/os/{os}/builds", params,
                       f"builds of GOG product {product_id} ({os})", lambda a, os=os: parse_builds(a, os))
        if isinstance(listing, Problem):
            return listing
        if listing is MISSING:
            continue  # same as an empty list: the product API says whether the product exists
        listings[os] = listing
        build = pick_build(listing.builds, cfg.branch)
        if build is not None:
            chosen[os] = build

    problem = _unlisted(product_id, cfg, listings, chosen, password is not None)
    if problem is not None:
        return problem

    installer: Installer | None = None
    product: Any = None  # not asked yet
    if "linux" in cfg.os:
        what = f"GOG product {product_id}"
        answer = _ask(client, f"{cfg.api_url}/products/{product_id}", {"expand": "downloads"}, what,
                      lambda a: (a, linux_installer(parse_installers(a))))
        if isinstance(answer, Problem):
            return answer
        product = MISSING
        if answer is not MISSING:
            product, installer = answer
            if not chosen and installer is not None and not installer.version:
                return Problem(f"{_name(what, product)}: its Linux installer has no version to follow",
                               status="hidden")
    if chosen or (installer is not None and installer.version):
        return make_signal(chosen, installer, cfg.os, cfg.branch)
    if product is None:
        product = _ask(client, f"{cfg.api_url}/products/{product_id}", None, f"GOG product {product_id}",
                       _product)
        if isinstance(product, Problem):
            return product
    return _nothing_to_report(product_id, cfg, None if product is MISSING else product)


def _product(answer: Any) -> Any:
    if not isinstance(answer, Mapping) or "id" not in answer:
        raise BadProduct("no product id")
    return answer


def _unlisted(product_id: str, cfg: GogSettings, listings: Mapping[str, BuildList],
              chosen: Mapping[str, Build], has_password: bool) -> Problem | None:
    """A Problem when a tracked build may exist but GOG did not list it; else None.

    GOG's ``total_count`` can exceed the builds it lists (393 with ``count`` 10), and no
    client documents a way to list the rest: rather than call such a game hidden, or drop
    one OS from a several-OS value (a false update), say what is known.
    """
    branch = f"branch {cfg.branch!r}" if cfg.branch else "the default branch"
    for os, listing in listings.items():
        if os in chosen:
            continue
        if cfg.branch is not None and listing.has_private_branches and not has_password:
            if listing.partial or not chosen:
                return Problem(
                    f"GOG product {product_id} has private branches and no {os} build on {branch} "
                    f"is listed without its password: set branch_passwords for {product_id}",
                    status="hidden",
                )
        if listing.partial:
            hint = " (is its branch_passwords entry right?)" if has_password and cfg.branch else ""
            return Problem(
                f"GOG product {product_id}: GOG listed only {len(listing.builds)} of "
                f"{listing.total_count} {os} builds and none is on {branch}{hint}; GOG documents "
                f"no way to list the rest, so its current build cannot be told"
            )
    return None


def _nothing_to_report(product_id: str, cfg: GogSettings, product: Mapping[str, Any] | None) -> Problem:
    what = f"GOG product {product_id}"
    if product is None:
        return Problem(f"{what} not found: unknown id, or delisted from the store", status="not_found")
    missing = []
    if cfg.build_oses:
        branch = f"branch {cfg.branch!r}" if cfg.branch else "the default branch"
        missing.append(f"no {' or '.join(cfg.build_oses)} build on {branch}")
    if "linux" in cfg.os:
        missing.append("no Linux installer")
    return Problem(f"{_name(what, product)} has {' and '.join(missing)}", status="hidden")


def _name(what: str, product: Mapping[str, Any] | None) -> str:
    title = product.get("title") if isinstance(product, Mapping) else None
    return f"{what} ({title})" if isinstance(title, str) and title else what


def product_id_of(game: Game) -> str:
    """The GOG product id of a library game: its ``store_id`` (for a Heroic import the core
    fills it in from ``extra_data.app_name``)."""
    return str(game.store_id or "").strip()


def check_games(games: Iterable[Game], cfg: GogSettings) -> Iterator[tuple[int, Result]]:
    """Yield ``(game.id, result)`` for every game, as answers arrive, ``cfg.concurrency`` at a time.

    Library rows sharing a product id are asked about once. After
    ``cfg.max_consecutive_failures`` products in a row that GOG did not answer, raises
    :class:`Unreachable` so the remaining games go to the next plugin.
    """
    by_product: dict[str, list[Game]] = {}
    for game in games:
        product_id = product_id_of(game)
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
        return Problem(scrub(f"unexpected error: {type(exc).__name__}: {exc}")), False
