"""Benchmark: a full sync of N Steam games through steam_http, with its default limits.

    uv run python bench/steam_http.py --games 2000 --latency-ms 50 --json

Runs the core's ``sync_library`` on a fresh library with only ``steam_http`` installed,
against the Steam fake (``patchwatch_steam_http.testing``) on loopback with the given
latency per answer. Only the base URLs are changed from the defaults, so the pacing is
the real one. The last stdout line is a JSON object: ``full_sync_s`` and ``requests``
measured in this run, and ``floor_s``, the least time the limits allow for the signal
measured (``floor_by_signal_s`` gives it for every signal). For the mirror the seed's
design (8 requests in flight, now 2 out of respect for the one volunteer server) is
measured in the same run: ``seed``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import patchwatch_steam_http as steam_http
from patchwatch.config import Config
from patchwatch.db import open_db
from patchwatch.library import add_games
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import FakeStoreServer
from patchwatch_steam_http.settings import SOURCES, Settings
from patchwatch_steam_http.testing import serve_steam


def floor_seconds(games: int, latency: float, settings: Settings, source: str) -> float:
    """The least time ``games`` requests to ``source`` can take under its limits.

    Two bounds, the larger wins: the token bucket (one request per interval) and the
    round trips (``latency`` each, ``concurrency`` at once).
    """
    paced = (games - 1) * settings.interval(source) if games else 0.0
    round_trips = games * latency / settings.concurrency(source)
    return round(max(paced, round_trips), 3)


SEED_MIRROR_CONCURRENCY = 8
"""The seed's mirror_concurrency, before the mirror's 25 shared connections were known."""


def measure(games: int, latency: float, signal: str, overrides: dict[str, object]) -> dict[str, object]:
    """One full sync of ``games`` fresh games through steam_http; time and requests."""
    with FakeStoreServer(latency=latency) as server, tempfile.TemporaryDirectory() as tmp:
        fake = serve_steam(server)
        appids = fake.catalogue.populate(games)
        db_path = Path(tmp) / "library.db"
        db = open_db(db_path)
        add_games(db, [{"store": "steam", "store_id": str(a), "title": f"Game {a}"} for a in appids])
        db.close()

        # defaults everywhere but the addresses; earlier signals off to reach a later one
        settings: dict[str, object] = {"mirror_url": server.url, "news_url": server.url,
                                       "store_url": server.url, **overrides}
        for source in SOURCES[:SOURCES.index(signal)]:
            settings[source] = False
        config = Config(plugins={"steam_http": settings}, env={}, timeout=600.0)
        pm = new_plugin_manager({"steam_http": steam_http})

        last = [0.0]

        def progress(done: int, total: int, *_: object) -> None:
            now = time.monotonic()
            if now - last[0] >= 10 or done == total:
                last[0] = now
                print(f"  {done}/{total}", flush=True)

        started = time.monotonic()
        summary = sync_library(db_path, pm=pm, config=config, progress=progress)
        elapsed = time.monotonic() - started
        per_api = {"mirror": server.count(r"/v1/info/.*"),
                   "news": server.count(r"/ISteamNews/.*"),
                   "appdetails": server.count(r"/api/appdetails/?"),
                   "probe": server.count(r"/v1/version|/ISteamWebAPIUtil/.*|/")}
        return {"full_sync_s": round(elapsed, 3), "requests": len(server.requests),
                "requests_by_api": per_api, "checked": summary.checked,
                "failed": len(summary.failures)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--signal", choices=SOURCES, default="mirror",
                        help="the signal to measure (default: mirror, the default path)")
    parser.add_argument("--no-seed", action="store_true",
                        help="skip the seed's design (mirror: 8 requests in flight)")
    parser.add_argument("--json", action="store_true", help="end with a JSON summary line")
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000

    defaults = Settings()
    floors = {s: floor_seconds(args.games, latency, defaults, s) for s in SOURCES}
    floor = floors[args.signal]
    print(f"steam_http: {args.games} games, {args.latency_ms:g} ms latency, signal {args.signal}; "
          f"floor {floor:g} s (mirror {floors['mirror']:g} s, news {floors['news']:g} s, "
          f"appdetails {floors['appdetails']:g} s)", flush=True)
    if floor > 600:
        print(f"that would take over {floor / 60:.0f} min; use fewer --games for this signal",
              file=sys.stderr)

    run = measure(args.games, latency, args.signal, {})
    elapsed = run["full_sync_s"]
    result = {
        "games": args.games,
        "latency_ms": args.latency_ms,
        "signal": args.signal,
        **run,
        "games_per_s": round(args.games / elapsed, 2) if elapsed else None,
        "floor_s": floor,
        "floor_by_signal_s": floors,
        "limits": {s: {"interval_s": defaults.interval(s), "concurrency": defaults.concurrency(s)}
                   for s in SOURCES},
    }
    print(f"full sync {elapsed:.1f} s for {run['checked']} games ({run['failed']} failed), "
          f"{run['requests']} requests; floor {floor:g} s", flush=True)
    if args.signal == "mirror" and not args.no_seed:
        print(f"the seed's design: {SEED_MIRROR_CONCURRENCY} mirror requests in flight", flush=True)
        seed = measure(args.games, latency, "mirror", {"mirror_concurrency": SEED_MIRROR_CONCURRENCY})
        seed_floor = floor_seconds(args.games, latency, Settings(mirror_concurrency=SEED_MIRROR_CONCURRENCY,
                                                                 mirror_url="http://seed"), "mirror")
        result["seed"] = {"mirror_concurrency": SEED_MIRROR_CONCURRENCY, **seed, "floor_s": seed_floor}
        print(f"seed: {seed['full_sync_s']:.1f} s, {seed['requests']} requests; floor {seed_floor:g} s",
              flush=True)
    if args.json:
        print(json.dumps(result))
    return 0 if run["checked"] == args.games else 1


if __name__ == "__main__":
    sys.exit(main())
