"""Benchmark: how late a host's asyncio event loop runs while steam_pics syncs a large library.

    uv run python bench/steam_loop.py --games 20000 --latency-ms 50 --json

A host like Backlogia (FastAPI under uvicorn) runs the sync in a worker thread
(``run_in_executor``, as its ``run_job_async`` does) while its event loop keeps serving
pages. This script does the same with a plain asyncio loop in the main thread: a ticker
coroutine sleeps ``--tick-ms`` and records how late it wakes up (the loop's lag), first
for ``--idle-s`` seconds with nothing else running (the baseline), then during a
plugin-only full pass (``check_updates_bulk``, answers consumed, nothing recorded: the
plugin's share), then during the first
sync of a fresh ``--games`` library through the core's ``sync_library`` (connect, logon,
a full pass, recording in SQLite), then during a daily sync (cursor expired, 5 % of the
apps changed, 1 % new builds). The fake CM runs in a child process (bench/steam_pics.py's
``RemoteFake``) with ``--latency-ms`` added to every answer and the realistic catalogue
(~12 KB of app info per app).

Reported: lag p50 / p99 / max in ms for each phase, the sync's seconds, and the process's
RSS after the full sync. Target (issue 21): p99 under 15 ms, max under 50 ms during the
full pass. The last stdout line is a JSON object with all figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import os

    return round(pages * os.sysconf("SC_PAGE_SIZE") / 1048576, 1)


def _figures(lags: list[float]) -> dict[str, float]:
    ordered = sorted(lags)
    if not ordered:
        return {"samples": 0}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"samples": len(ordered), "p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 2)}


async def _measure(work: Callable[[], Any] | None, tick: float, idle: float) -> tuple[list[float], Any, float]:
    """Lags of a ticker while ``work`` runs in the default executor (or for ``idle`` s)."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(tick)
            lags.append(max(0.0, loop.time() - before - tick))

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    if work is None:
        await asyncio.sleep(idle)
        result = None
    else:
        result = await loop.run_in_executor(None, work)
    seconds = time.perf_counter() - started
    done.set()
    await task
    return lags, result, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=20000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--tick-ms", type=float, default=5.0, help="the ticker's sleep")
    parser.add_argument("--idle-s", type=float, default=2.0, help="baseline measurement length")
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = parser.parse_args(argv)

    from Cryptodome.PublicKey import RSA
    from steam_pics import RemoteFake

    import patchwatch_steam_pics
    from patchwatch.config import Config
    from patchwatch.db import open_db
    from patchwatch.library import add_games
    from patchwatch.plugins import new_plugin_manager
    from patchwatch.sync import sync_library
    from patchwatch_steam_pics import channel
    from patchwatch_steam_pics.session import close_sessions

    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    tick = args.tick_ms / 1000
    result: dict[str, Any] = {"games": args.games, "latency_ms": args.latency_ms, "tick_ms": args.tick_ms}
    fake = RemoteFake(args.latency_ms / 1000)
    appids = list(range(100_000, 100_000 + 10 * args.games, 10))
    try:
        groups = fake.add_realistic_apps(appids)
        fake.warm()
        unseen = len(groups["deny"]) + len(groups["silent"])
        channel.UNIVERSE_KEY = RSA.import_key(fake.public_key_pem)  # trust the fake's key
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "patchwatch.db"
            db = open_db(db_path)
            add_games(db, [{"store": "steam", "store_id": str(a), "title": f"App {a}"} for a in appids])
            db.close()
            pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics})
            config = Config(plugins={"steam_pics": {"cm_servers": fake.server}}, env={})

            def sync() -> Any:
                return sync_library(db_path, pm=pm, config=config)

            lags, _, _ = asyncio.run(_measure(None, tick, args.idle_s))
            result["idle"] = _figures(lags)
            say(f"idle loop: {result['idle']}")

            from patchwatch import Game

            games = [Game(id=i, store="steam", store_id=str(a)) for i, a in enumerate(appids, 1)]

            def plugin_only() -> int:
                return sum(1 for _ in patchwatch_steam_pics.check_updates_bulk(games, {"cm_servers": fake.server}, {}))

            lags, answers, seconds = asyncio.run(_measure(plugin_only, tick, 0))
            assert answers == args.games - unseen, (answers, args.games, unseen)
            result["plugin_only_full"] = {**_figures(lags), "pass_s": round(seconds, 3)}
            say(f"plugin-only full pass (no core, no recording): {result['plugin_only_full']}")

            lags, full, seconds = asyncio.run(_measure(sync, tick, 0))
            assert full.baselines == args.games - unseen, (full.baselines, args.games, unseen)
            result["full"] = {**_figures(lags), "sync_s": round(seconds, 3)}
            result["rss_after_full_mb"] = _rss_mb()
            say(f"full sync of {args.games} apps: {result['full']}; RSS {result['rss_after_full_mb']} MB")

            rng = random.Random(7)
            unseen_ids = set(fake.unseen_apps())
            seen = [a for a in appids if a not in unseen_ids]
            moved = rng.sample(seen, len(seen) // 20)
            built = moved[: len(seen) // 100]
            for appid in built:
                fake.publish_build(appid)
            for appid in moved[len(built):]:
                fake.edit_metadata(appid)
            fake.advance(7_148)
            fake.warm()
            lags, daily, seconds = asyncio.run(_measure(sync, tick, 0))
            assert sorted(int(u.store_id) for u in daily.updated) == sorted(built)
            result["daily"] = {**_figures(lags), "sync_s": round(seconds, 3)}
            say(f"daily sync: {result['daily']}")
    finally:
        close_sessions()
        fake.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
