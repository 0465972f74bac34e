"""Benchmark: `patchwatch watch` against the fake Steam CM and a loopback Apprise receiver.

    uv run python bench/watch.py --json

The real watch loop (:class:`patchwatch.watch.Watcher`) runs in this process with the
steam_pics plugin, the fake CM and a receiver of Apprise ``json://`` posts, all on
127.0.0.1. Measured:

- ``notify_latency_s``: from a build published on the fake to its notification arriving,
  with the Steam interval at ``--interval`` (5 s; the 10 s floor is lifted for the fake),
  builds published at random moments of the cycle; median and max of ``--samples``;
- ``idle_requests_per_hour``: PICS requests per idle cycle (nothing changed) times the
  cycles of an hour at the default 60 s interval; the CM keep-alive heartbeats the client
  sends whatever the interval are counted apart (``heartbeats_per_hour``);
- ``cron_requests_per_hour``: the same idle check done the way a cron job of
  ``patchwatch sync`` does it, a new connection each minute (handshake, logon, changes);
- ``digest_messages``: messages received when ``--burst`` games get a new build in one
  cycle (one digest: must be 1).

The last stdout line is a JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

DEFAULT_INTERVAL = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=200, help="library size")
    parser.add_argument("--interval", type=float, default=5.0, help="Steam interval for the latency run")
    parser.add_argument("--samples", type=int, default=6, help="builds published for the latency")
    parser.add_argument("--idle-cycles", type=int, default=20, help="idle cycles counted")
    parser.add_argument("--burst", type=int, default=50, help="games updated in one cycle")
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = parser.parse_args(argv)

    from Cryptodome.PublicKey import RSA
    from patchwatch_steam_pics import channel

    import patchwatch_steam_pics
    from patchwatch.config import Config
    from patchwatch.db import open_db
    from patchwatch.library import add_games
    from patchwatch.plugins import new_plugin_manager
    from patchwatch.sync import sync_library
    from patchwatch.testing.receiver import NotificationReceiver
    from patchwatch.watch import Watcher
    from patchwatch_steam_pics.session import close_sessions
    from patchwatch_steam_pics.testing import FakeSteamCM

    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    appids = list(range(100_000, 100_000 + 10 * args.games, 10))
    result: dict[str, object] = {"games": args.games, "interval_s": args.interval}
    rng = random.Random(11)
    with FakeSteamCM() as cm, NotificationReceiver() as receiver, tempfile.TemporaryDirectory() as tmp:
        channel.UNIVERSE_KEY = cm.public_key  # trust the fake's key
        cm.catalogue.add_apps(appids)
        db_path = Path(tmp) / "watch.db"
        add_games(open_db(db_path), [{"store": "steam", "store_id": str(a), "title": f"App {a}"}
                                     for a in appids])
        pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics})
        plugin_settings = {"steam_pics": {"cm_servers": cm.server}}

        def watcher(interval: float) -> tuple[Watcher, threading.Thread]:
            config = Config(plugins=plugin_settings, env={}, notify=[receiver.apprise_url],
                            watch={"interval": {"steam_pics": interval}, "ignore_minimum": True,
                                   "heartbeat": 3600})
            w = Watcher(db_path, pm=pm, config=config, log=lambda line: say("  watch:", line))
            thread = threading.Thread(target=w.run, daemon=True)
            thread.start()
            return w, thread

        def wait_cycles(w: Watcher, n: int, timeout: float = 120) -> None:
            deadline = time.monotonic() + timeout
            while w.stats.cycles < n and time.monotonic() < deadline:
                time.sleep(0.01)
            assert w.stats.cycles >= n, "the watch loop stalled"

        try:
            # -- latency: builds published at random moments, interval --interval ----------
            w, thread = watcher(args.interval)
            wait_cycles(w, 1)  # baselines
            latencies = []
            for n in range(args.samples):
                time.sleep(rng.uniform(0, args.interval))
                before = len(receiver.messages)
                published = time.time()
                cm.catalogue.publish_build(appids[n])
                arrived = receiver.wait_for(before + 1, timeout=args.interval + 30)
                assert len(arrived) == before + 1, "no notification"
                latencies.append(arrived[-1].at - published)
                say(f"build -> notification: {latencies[-1]:.2f} s")
            result["notify_latency_s"] = round(statistics.median(latencies), 2)
            result["notify_latency_max_s"] = round(max(latencies), 2)
            result["notify_latency_under_interval_plus_2s"] = max(latencies) < args.interval + 2

            # -- digest: --burst games get a build in one cycle ----------------------------
            before = len(receiver.messages)
            cycles = w.stats.cycles
            with cm.catalogue.lock:
                for appid in appids[-args.burst:]:
                    cm.catalogue.publish_build(appid)
            wait_cycles(w, cycles + 2, timeout=4 * args.interval + 30)
            time.sleep(1.0)
            burst = receiver.messages[before:]
            result["digest_messages"] = len(burst)
            result["digest_lists"] = burst[0].message.count("•") if burst else 0
            say(f"{args.burst} builds in one cycle: {len(burst)} message(s), "
                f"{result['digest_lists']} builds listed")
            w.stop.set()
            thread.join(5)

            # -- idle cost per cycle on the kept connection ---------------------------------
            w, thread = watcher(0.5)
            wait_cycles(w, 2)
            cm.reset_records()
            started, first = time.monotonic(), w.stats.cycles
            wait_cycles(w, first + args.idle_cycles)
            elapsed = time.monotonic() - started
            done = w.stats.cycles - first
            requests, heartbeats = cm.count(None), cm.count("heartbeat")
            w.stop.set()
            thread.join(5)
            per_cycle = requests / done
            result["idle_requests_per_cycle"] = round(per_cycle, 2)
            result["idle_requests_per_hour"] = round(per_cycle * 3600 / DEFAULT_INTERVAL)
            result["heartbeats_per_hour"] = round(heartbeats * 3600 / elapsed) if heartbeats else 0
            result["logons_total"] = cm.logons
            say(f"idle: {per_cycle:.2f} request(s) per cycle -> {result['idle_requests_per_hour']}"
                f" per hour at {DEFAULT_INTERVAL:g} s; {result['heartbeats_per_hour']} heartbeats/h;"
                f" {cm.logons} logon(s) in the whole run")

            # -- the cron way: a new process (connection) per minute -------------------------
            config = Config(plugins=plugin_settings, env={})
            counts = []
            for _ in range(3):
                close_sessions()
                cm.reset_records()
                sync_library(db_path, pm=pm, config=config, stores=["steam"])
                counts.append(cm.count(None))
            result["cron_requests_per_cycle"] = round(statistics.mean(counts), 2)
            result["cron_requests_per_hour"] = round(statistics.mean(counts) * 3600 / DEFAULT_INTERVAL)
            say(f"cron-style sync each minute: {result['cron_requests_per_cycle']} requests per run"
                f" -> {result['cron_requests_per_hour']} per hour")
        finally:
            close_sessions()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
