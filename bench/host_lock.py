"""A sync of a Backlogia database while Backlogia writes to it: does either side fail?

    uv run python bench/host_lock.py --games 3000 --every-ms 50 --hold-s 20 --json

Builds a Backlogia-shaped database (its own tables, rollback-journal mode as Backlogia leaves
it; ``--wal`` for WAL), then syncs every game through an in-process example plugin while a
second connection writes one row every ``--every-ms`` and, ``--hold-after-s`` into the sync,
holds the write lock for ``--hold-s`` seconds. Reports the errors on both sides and how many
answers were saved. ``--seed`` runs the seed's design in the same run for comparison
(deferred ``BEGIN`` and only sqlite3's 5 s busy timeout). The last line is JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from patchwatch import db as db_module
from patchwatch import library, state
from patchwatch.config import Config
from patchwatch.db import CHECKS, SIGNALS, open_db
from patchwatch.errors import PatchwatchError
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin
from patchwatch.testing.backlogia import HostWriter, create_backlogia_db, steam_row


@contextlib.contextmanager
def _seed_write(db):
    """The seed's transactions: a deferred BEGIN, no retry beyond the busy timeout."""
    with db.atomic():
        yield db


def run(args: argparse.Namespace, seed: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "game_library.db"
        create_backlogia_db(path, [steam_row(i, f"Game {i}") for i in range(1, args.games + 1)])
        if args.wal:
            sqlite3.connect(path).execute("PRAGMA journal_mode=wal").close()
        plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, args.games + 1)})
        plugin.delay = args.plugin_s / args.games
        patched = []
        if seed:
            for module in (db_module, state, library):
                patched.append((module, module.write))
                module.write = _seed_write
        started = time.perf_counter()
        error = None
        try:
            with HostWriter(path, list(range(1, args.games + 1)), every=args.every_ms / 1000,
                            hold=args.hold_s, hold_after=args.hold_after_s) as host:
                try:
                    summary = sync_library(path, pm=new_plugin_manager({"example": plugin}),
                                           config=Config(env={}))
                except PatchwatchError as exc:
                    error, summary = str(exc), None
                seconds = round(time.perf_counter() - started, 2)
                while not host.held.is_set():  # the comparison needs the hold to happen
                    time.sleep(0.1)
        finally:
            for module, original in patched:
                module.write = original
        db = open_db(path, read_only=True)
        saved = db[SIGNALS].count if db[SIGNALS].exists() else 0
        checks = db[CHECKS].count if db[CHECKS].exists() else 0
        db.close()
        return {
            "design": "seed" if seed else "current", "games": args.games,
            "seconds": seconds, "sync_error": error,
            "sync_failures": len(summary.failures) if summary else None,
            "host_writes": host.writes, "host_errors": host.errors[:3],
            "host_error_count": len(host.errors),
            "answers_saved": saved, "checks_saved": checks,
            "lost": args.games - saved,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=3000)
    parser.add_argument("--every-ms", type=float, default=50)
    parser.add_argument("--hold-s", type=float, default=20)
    parser.add_argument("--hold-after-s", type=float, default=2)
    parser.add_argument("--plugin-s", type=float, default=6,
                        help="how long the plugin takes to answer every game")
    parser.add_argument("--wal", action="store_true", help="put the host database in WAL mode")
    parser.add_argument("--seed", action="store_true", help="also run the seed's design")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    results = [run(args, seed=False)]
    if args.seed:
        results.append(run(args, seed=True))
    if not args.json:
        for result in results:
            print(f"{result['design']}: {result['seconds']} s, sync error: {result['sync_error']}, "
                  f"host errors: {result['host_error_count']} of {result['host_writes']} writes, "
                  f"lost answers: {result['lost']}")
    print(json.dumps({"every_ms": args.every_ms, "hold_s": args.hold_s,
                      "journal": "wal" if args.wal else "delete", "runs": results}))


if __name__ == "__main__":
    main()
