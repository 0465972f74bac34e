"""Benchmark: a full sync of a GOG library against the fake GOG (loopback, with latency).

    uv run python bench/gog.py --games 2000 --latency-ms 50 --json [--os linux]

Builds a catalogue of ``--games`` products (each with Windows and macOS builds and a
Linux installer), adds them to a fresh library and runs ``sync_library`` twice through
the gog plugin with its ``os`` setting set to ``--os``: a full sync (first sight: every
game gets its baseline), then a second sync after ``--updates`` products published a new
Windows/macOS build and a new Linux installer.
Everything is measured in this run; the last stdout line is a JSON object with
``full_sync_s`` and ``requests`` (HTTP requests the fake received during the full sync).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import patchwatch_gog
from patchwatch.config import Config
from patchwatch.db import open_db
from patchwatch.library import add_games
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch_gog.settings import GogSettings
from patchwatch_gog.testing import GogCatalogue, serve_gog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every fake answer")
    parser.add_argument("--concurrency", type=int, default=GogSettings.concurrency,
                        help="the plugin's concurrency setting (default: the plugin's default)")
    parser.add_argument("--updates", type=int, default=20, help="products given a new build before the 2nd sync")
    parser.add_argument("--os", default="windows",
                        help="the plugin's os setting: windows (builds API), linux (product API), ...")
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = parser.parse_args(argv)

    catalogue = GogCatalogue()
    products = [catalogue.add_product(version="1.0", oses=("windows", "osx", "linux")).id
                for _ in range(args.games)]
    with serve_gog(catalogue, latency=args.latency_ms / 1000) as gog, \
            tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "patchwatch.db"
        db = open_db(db_path)
        add_games(db, [{"store": "gog", "store_id": str(pid), "title": f"Game {pid}"} for pid in products])
        db.close()
        pm = new_plugin_manager({"gog": patchwatch_gog})
        config = Config(plugins={"gog": {**gog.settings, "concurrency": args.concurrency, "os": args.os}},
                        env={})

        before = len(gog.server.requests)
        started = time.perf_counter()
        full = sync_library(db_path, pm=pm, config=config)
        full_sync_s = time.perf_counter() - started
        requests = len(gog.server.requests) - before

        changed = products[:: max(1, args.games // max(1, args.updates))][: args.updates]
        for pid in changed:
            catalogue.publish_build(pid, "windows", "1.1")
            catalogue.publish_build(pid, "osx", "1.1")
            catalogue.publish_installer(pid, "linux", "1.1")
        before = len(gog.server.requests)
        started = time.perf_counter()
        second = sync_library(db_path, pm=pm, config=config)
        second_sync_s = time.perf_counter() - started
        second_requests = len(gog.server.requests) - before

    result = {
        "benchmark": "gog",
        "games": args.games,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "os": args.os,
        "full_sync_s": round(full_sync_s, 3),
        "requests": requests,
        "games_per_s": round(args.games / full_sync_s, 1),
        "baselines": full.baselines,
        "failures": len(full.failures),
        "second_sync_s": round(second_sync_s, 3),
        "second_requests": second_requests,
        "updates_published": len(changed),
        "updates_detected": len(second.updated),
    }
    ok = full.baselines == args.games and not full.failures and len(second.updated) == len(changed)
    if not args.json:
        print(f"full sync of {args.games} GOG games at {args.latency_ms:g} ms latency, "
              f"concurrency {args.concurrency}, os {args.os}: {full_sync_s:.2f} s, {requests} requests")
        print(f"second sync: {second_sync_s:.2f} s, {len(second.updated)}/{len(changed)} updates found")
        if not ok:
            print("WARNING: results are not what the catalogue says", file=sys.stderr)
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
