"""Turn Epic's answers into one Signal or Problem per library game.

Strongest signal first: the live build version from the launcher assets (needs
legendary's login). Without it, the catalog item's ``lastModifiedDate`` (anonymous
token), a weak signal: any store-page edit moves it.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import Any, Callable, Iterable, Iterator

from patchwatch import Game, Problem, Result, Signal

from .api import fetch_assets, fetch_items
from .auth import ClientToken, LegendarySession
from .http import EpicError, Http
from .ids import EpicIds, epic_ids
from .local import local_assets
from .settings import EpicSettings

BUILD = "build_version"
MODIFIED = "last_modified"
WEAK_NOTE = ("catalog lastModifiedDate: moves on any store-data edit (text, images, price), "
             "so a change is NOT a confirmed new build")

Entry = tuple[Game, EpicIds]


def check_games(games: Iterable[Game], settings: EpicSettings,
                http: Http | None = None) -> Iterator[tuple[int, Result]]:
    """Yield ``(game.id, Signal | Problem)`` for every game, as answers arrive.

    Raises :class:`EpicError` when Epic cannot be used at all (unreachable, rate limit
    not lifting, anonymous token refused); games not yet answered are then left out.
    """
    own = http is None
    http = http or Http(settings)
    try:
        yield from _check(list(games), http)
    finally:
        if own:
            http.close()


def _check(games: list[Game], http: Http) -> Iterator[tuple[int, Result]]:
    settings = http.settings
    entries = [(game, epic_ids(game)) for game in games]
    wanted = {ids.app_name for _, ids in entries if ids.app_name}
    assets, why_no_build, source = _load_assets(http, wanted) if entries else (None, None, "")
    pending: list[Entry] = []
    for game, ids in entries:
        asset = assets.get(ids.app_name) if assets is not None and ids.app_name else None
        if asset is not None and _text(asset.get("buildVersion")):
            yield game.id, build_signal(asset, ids, settings, source)
        elif BUILD in game.signals:
            # Never fall back silently from a build to a weak signal for a game we
            # tracked by build: say why the build cannot be read instead.
            yield game.id, _lost_build(ids, assets is not None, why_no_build, settings)
        else:
            if asset is not None:
                ids = EpicIds(ids.app_name, ids.namespace or _text(asset.get("namespace")),
                              ids.catalog_item_id or _text(asset.get("catalogItemId")), ids.note)
            pending.append((game, ids))
    if pending:
        yield from _check_catalog(http, pending, why_no_build)


def _load_assets(http: Http, wanted: set[str]
                 ) -> tuple[dict[str, dict[str, Any]] | None, str | None, str]:
    """The user's launcher assets, or ``None`` and the reason there are none; and where
    they came from.

    legendary's fresh ``assets.json`` first, when it knows every wanted app: no request,
    no token. Else one request to the launcher service with legendary's login.
    """
    settings = http.settings
    local = local_assets(settings)
    if local is not None and wanted <= local[0].keys():
        return local[0], None, local[1]
    path = settings.legendary_user
    if not path:
        return None, "no legendary login configured (setting legendary_user is empty)", ""
    try:
        session = LegendarySession.load(http, path)
        if session is None:
            return (None, f"no legendary login found at {path} (log in with `legendary auth`)",
                    "")
        return fetch_assets(http, session), None, "Epic's launcher assets"
    except EpicError as exc:
        return None, str(exc), ""


def _lost_build(ids: EpicIds, have_assets: bool, why: str | None,
                settings: EpicSettings) -> Problem:
    if not ids.app_name:
        return Problem("library row has no Epic app name (store_id / extra_data.app_name)")
    if have_assets:
        return Problem(
            f"app {ids.app_name!r} is no longer among the launcher assets for "
            f"{settings.platform}/{settings.label} (delisted, or not owned by this account)",
            status="not_found",
        )
    return Problem(f"cannot read the build version of {ids.app_name!r}: {why}")


def _check_catalog(http: Http, pending: list[Entry],
                   why_no_build: str | None) -> Iterator[tuple[int, Result]]:
    """Weak signals from the catalog, one bulk request per namespace and batch of ids."""
    settings = http.settings
    client = ClientToken(http)
    by_namespace: dict[str, dict[str, list[Entry]]] = {}
    for game, ids in pending:
        key = ids.catalog_key
        if key is None:
            yield game.id, _missing_ids(ids, why_no_build)
            continue
        by_namespace.setdefault(key[0], {}).setdefault(key[1], []).append((game, ids))
    batches = [
        (namespace, list(by_id)[start:start + settings.batch_size])
        for namespace, by_id in by_namespace.items()
        for start in range(0, len(by_id), settings.batch_size)
    ]

    def fetch(batch: tuple[str, list[str]]) -> dict[str, dict[str, Any]]:
        return fetch_items(http, client, *batch)

    if settings.concurrency == 1 or len(batches) < 2:
        for batch in batches:
            yield from _answers(batch, by_namespace[batch[0]], fetch, None)
        return
    workers = min(settings.concurrency, len(batches))
    with ThreadPoolExecutor(workers, thread_name_prefix="patchwatch-epic") as pool:
        futures = {pool.submit(fetch, batch): batch for batch in batches}
        try:
            for future in as_completed(futures):
                batch = futures[future]
                yield from _answers(batch, by_namespace[batch[0]], None, future)
        finally:
            for future in futures:
                future.cancel()


def _answers(batch: tuple[str, list[str]], by_id: dict[str, list[Entry]],
             fetch: Callable[[tuple[str, list[str]]], dict[str, dict[str, Any]]] | None,
             future: Future[dict[str, dict[str, Any]]] | None) -> Iterator[tuple[int, Result]]:
    """The results of one bulk request (run now by ``fetch``, or done in ``future``)."""
    try:
        items = fetch(batch) if fetch is not None else future.result()  # type: ignore[union-attr]
    except EpicError as exc:
        if exc.systemic:
            raise
        status = "not_found" if exc.status in (400, 404) else "error"
        for item_id in batch[1]:
            for game, _ in by_id[item_id]:
                yield game.id, Problem(str(exc), status=status)
        return
    for item_id in batch[1]:
        for game, ids in by_id[item_id]:
            yield game.id, modified_signal(items.get(item_id), ids)


def _missing_ids(ids: EpicIds, why_no_build: str | None) -> Problem:
    message = (f"cannot check: the library row lacks the Epic {' and '.join(ids.missing())} "
               "(Backlogia keeps them in extra_data as 'namespace' and 'sku')")
    if ids.note:
        message += f"; {ids.note}"
    if why_no_build:
        message += f"; and the build version is unavailable: {why_no_build}"
    return Problem(message)


def build_signal(asset: dict[str, Any], ids: EpicIds, settings: EpicSettings,
                 source: str = "Epic's launcher assets") -> Signal:
    """The strong signal: the build the launcher would install now, read from ``source``."""
    build = str(asset["buildVersion"])
    return Signal(
        kind=BUILD,
        value=build,
        version=build,
        is_build=True,
        detail={
            "app_name": ids.app_name,
            "namespace": _text(asset.get("namespace")) or ids.namespace,
            "catalog_item_id": _text(asset.get("catalogItemId")) or ids.catalog_item_id,
            "asset_id": _text(asset.get("assetId")),
            "platform": settings.platform,
            "label": _text(asset.get("labelName")) or settings.label,
            "source": source,
        },
    )


def modified_signal(item: dict[str, Any] | None, ids: EpicIds) -> Result:
    """The weak signal: when the catalog item last changed, labelled as such."""
    if item is None:
        return Problem(
            f"catalog item {ids.catalog_item_id!r} not found in namespace {ids.namespace!r} "
            "(delisted, or a wrong id in the library row)",
            status="not_found",
        )
    value = _text(item.get("lastModifiedDate"))
    if value is None:
        return Problem(f"catalog item {ids.catalog_item_id!r} has no lastModifiedDate "
                       "(malformed answer from Epic)")
    return Signal(
        kind=MODIFIED,
        value=value,
        published_at=iso_utc(value),
        is_build=False,
        detail={
            "weak": WEAK_NOTE,
            "namespace": ids.namespace,
            "catalog_item_id": ids.catalog_item_id,
            "title": _text(item.get("title")),
        },
        title=(_text(item.get("title")) or "")[:300] or None,  # names an untitled library row
    )


def iso_utc(value: str) -> str | None:
    """``2024-05-01T10:00:00.123Z`` -> ``2024-05-01T10:00:00.123000+00:00``; None if unparsable."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
