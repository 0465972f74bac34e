"""How much time the core itself adds to a sync: 2,000 games answered instantly.

    uv run python bench/core.py --games 2000 --json

Against an in-process example plugin: a first sync (all baselines); a second with every
game unchanged, answered one pair per game (``unchanged_s``, a plugin with no change feed);
a third answered with one ``Unchanged`` (``unchanged_bulk_s``, a plugin with a change feed,
as steam_pics); a fourth where ``--changed`` games have a new build and the rest are named
in one ``Unchanged`` (``changed_s``). ``read_library_s`` is reading the library with its
signals alone, the part of an unchanged sync that still grows with the library. The last
line is a JSON object with the durations in seconds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from patchwatch.config import Config
from patchwatch.db import open_db
from patchwatch.library import add_games, load_games
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=2000)
    parser.add_argument("--changed", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        add_games(open_db(path), [{"store": "steam", "store_id": str(i)}
                                  for i in range(1, args.games + 1)])
        plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, args.games + 1)})
        pm, config = new_plugin_manager({"example": plugin}), Config(env={})
        timings = {}
        for label in ("baseline_s", "unchanged_s", "unchanged_bulk_s", "changed_s"):
            plugin.bulk_unchanged = label in ("unchanged_bulk_s", "changed_s")
            if label == "changed_s":
                for i in range(1, args.changed + 1):
                    plugin.catalogue[str(i)] += 1_000_000
            started = time.perf_counter()
            summary = sync_library(path, pm=pm, config=config)
            timings[label] = round(time.perf_counter() - started, 3)
            if not args.json:
                print(f"{label}: {timings[label]} s ({summary.checked} checked, "
                      f"{len(summary.updated)} updated)")
        assert len(summary.updated) == args.changed
        assert summary.unchanged == args.games - args.changed
        db = open_db(path)
        started = time.perf_counter()
        load_games(db)
        timings["read_library_s"] = round(time.perf_counter() - started, 3)
        db.close()
    print(json.dumps({"games": args.games, "changed": args.changed, **timings}))


if __name__ == "__main__":
    main()
