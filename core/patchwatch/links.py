"""Store-page and patch-notes links for detected updates, from the plugins' ``update_links``.

Asked only for updates about to be notified, a few at a time, within one deadline for
the whole batch: a slow news API delays a notification by ``links_timeout`` at most.
The links are kept in the update's row (``store_url``, ``notes_url``, ``notes``).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any, Mapping

import sqlite_utils

from .config import Config
from .db import SIGNALS, UPDATES, write
from .models import Game, Links, Signal
from .plugins import NOT_IMPLEMENTED, PluginManager, backends, call

LINKS_TIMEOUT = 10.0
WORKERS = 4
NOTES_CHARS = 300


def links_timeout(config: Config) -> float:
    try:
        return max(0.0, float(config.watch.get("links_timeout", LINKS_TIMEOUT)))
    except (TypeError, ValueError):
        from .errors import ConfigError
        raise ConfigError("[watch] links_timeout must be a number of seconds") from None


def fill_links(db: sqlite_utils.Database, pm: PluginManager, config: Config,
               rows: list[dict[str, Any]], *, store: bool = True) -> int:
    """Ask the store's plugins for links to each update in ``rows``; store what they say.

    ``rows`` (update rows) are updated in place. Returns how many got at least one link.
    With ``store=False`` nothing is written (``patchwatch updates`` and the feeds read the
    database read-only, and look up the links of updates found while notifications were off).
    """
    todo = [r for r in rows if not (r.get("store_url") or r.get("notes_url") or r.get("notes"))]
    deadline = time.monotonic() + links_timeout(config)
    if not todo or deadline <= time.monotonic():
        return 0
    by_store: dict[str, list[str]] = {}
    for backend in backends(pm, config):
        if backend.store and not backend.disabled and not backend.error:
            by_store.setdefault(backend.store, []).append(backend.name)
    jobs: queue.Queue[dict[str, Any]] = queue.Queue()
    for row in todo:
        if by_store.get(row["store"]):
            jobs.put(row)
    found: queue.Queue[tuple[dict[str, Any], Links]] = queue.Queue()
    games = _games(db, [r["game_id"] for r in todo])

    def work() -> None:
        while time.monotonic() < deadline:
            try:
                row = jobs.get_nowait()
            except queue.Empty:
                return
            links = _ask(pm, config, by_store[row["store"]], games.get(row["game_id"]), row, db_signal(db_rows, row))
            if links is not None:
                found.put((row, links))

    db_rows = _signal_details(db, todo)
    workers = [threading.Thread(target=work, name="patchwatch-links", daemon=True)
               for _ in range(min(WORKERS, jobs.qsize()))]
    for worker in workers:
        worker.start()
    for worker in workers:  # daemon threads: one stuck past the deadline is left behind
        worker.join(max(0.0, deadline - time.monotonic()))
    answers = []
    while not found.empty():
        row, links = found.get_nowait()
        values = {"store_url": _clean(links.store_page, 500), "notes_url": _clean(links.patch_notes, 500),
                  "notes": _clean(links.notes, NOTES_CHARS)}
        row.update(values)
        answers.append((row, values))
    if store and answers:
        with write(db):  # the write lock up front (see db.write)
            for row, values in answers:
                db[UPDATES].update(row["id"], values)
    return sum(1 for _, values in answers if any(values.values()))


def _ask(pm: PluginManager, config: Config, names: list[str], game: Game | None,
         row: Mapping[str, Any], signal: Signal) -> Links | None:
    """The first links each field gets, asking the store's plugins by priority."""
    if game is None:
        game = Game(row["game_id"], row["store"], row["store_id"], row.get("title"))
    merged: dict[str, str | None] = {"store_page": None, "patch_notes": None, "notes": None}
    for name in names:
        try:
            answer = call(pm, name, "update_links", game=game, signal=signal,
                          settings=config.settings_for(name, game.store))
        except Exception:  # a plugin that raises gives no links; the digest goes out anyway
            continue
        if answer is NOT_IMPLEMENTED or not isinstance(answer, Links):
            continue
        for key in merged:
            merged[key] = merged[key] or getattr(answer, key)
        if all(merged.values()):
            break
    return Links(**merged) if any(merged.values()) else None


def _clean(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _games(db: sqlite_utils.Database, ids: list[int]) -> dict[int, Game]:
    from .library import load_games

    wanted = set(ids)
    return {g.id: g for g in load_games(db) if g.id in wanted}


def _signal_details(db: sqlite_utils.Database, rows: list[Mapping[str, Any]]) -> dict[tuple[int, str], dict]:
    ids = sorted({r["game_id"] for r in rows})
    found: dict[tuple[int, str], dict] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for s in db.query(f"SELECT game_id, kind, value, detail FROM {SIGNALS} WHERE game_id IN "
                          f"({', '.join('?' for _ in chunk)})", chunk):
            found[(s["game_id"], s["kind"])] = s
    return found


def db_signal(details: dict[tuple[int, str], dict], row: Mapping[str, Any]) -> Signal:
    """The update's new signal, with the detail the plugin recorded when it is still current."""
    stored = details.get((row["game_id"], row["kind"]))
    detail: dict[str, Any] = {}
    if stored and stored["value"] == row["new_value"]:
        try:
            detail = json.loads(stored["detail"] or "{}")
        except ValueError:
            detail = {}
    return Signal(kind=row["kind"], value=row["new_value"], version=row.get("version"),
                  published_at=row.get("published_at"), is_build=bool(row["is_build"]),
                  detail=detail)
