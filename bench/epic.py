"""Benchmark: full syncs of an Epic library against the fake Epic (loopback, with latency).

    uv run python bench/epic.py --games 2000 --latency-ms 50 --json

Builds a catalogue of ``--games`` games (``--per-namespace`` catalog items share a
namespace), adds them to a fresh library the way Backlogia stores them and runs
``sync_library`` through the epic plugin in both modes:

* ``login``: a legendary login is present, build versions come from one assets request
  (``--unreal-assets`` adds that many Unreal Engine assets to its answer, as large
  accounts have);
* ``local``: legendary also left a fresh ``assets.json`` (as ``legendary list`` or Heroic
  do): build versions without any request; before sync 2 the file is rewritten, as
  legendary would after listing the new builds;
* ``catalog``: no login, weak ``lastModifiedDate`` signals from bulk catalog requests
  (several ids of one namespace go in one POST, ``--per-namespace``).

Each mode does a full sync (baselines), then a second sync after ``--updates`` games got
a new build (and as many others a metadata-only edit). The last stdout line is a JSON
object with, per mode, ``full_sync_s``, ``requests``, ``second_sync_s``, ``updated``
(builds reported) and ``weak`` (changes reported as not a confirmed build).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import patchwatch_epic
from patchwatch.config import Config
from patchwatch.db import open_db
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import FakeStoreServer
from patchwatch_epic.auth import ClientToken
from patchwatch_epic.settings import EpicSettings
from patchwatch_epic.testing import FakeEpic


def run_mode(mode: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    ClientToken.forget_all()
    with FakeStoreServer(latency=args.latency_ms / 1000) as server:
        epic = FakeEpic(server)
        names = [f"App{n:05d}" for n in range(args.games)]
        for n, name in enumerate(names):
            epic.add_game(name, namespace=f"ns{n // args.per_namespace:05d}")
        db_path = tmp / f"{mode}.db"
        db = open_db(db_path)
        db["games"].insert_all(
            [{k: v for k, v in item.backlogia_row().items()} for item in epic.items.values()])
        db.close()
        epic.add_unreal_assets(args.unreal_assets if mode == "login" else 0)
        settings = epic.settings(concurrency=args.concurrency, rate=args.rate,
                                 timeout=10.0, backoff=0.5, max_wait=10.0, local_max_age=0)
        folder = tmp / mode
        if mode in ("login", "local"):
            settings["legendary_user"] = str(epic.write_legendary_user(folder / "user.json"))
        if mode == "local":
            epic.write_legendary_assets(folder)
            settings["local_max_age"] = 3600
        pm = new_plugin_manager({"epic": patchwatch_epic})
        config = Config(plugins={"epic": settings}, env={})

        before = len(server.requests)
        started = time.perf_counter()
        full = sync_library(db_path, pm=pm, config=config)
        full_s = time.perf_counter() - started
        requests = len(server.requests) - before

        step = max(1, args.games // max(1, 2 * args.updates))
        touched = names[::step][: 2 * args.updates]
        for name in touched[::2]:
            epic.publish_build(name)
        for name in touched[1::2]:
            epic.edit_metadata(name)
        if mode == "local":
            epic.write_legendary_assets(folder)
        before = len(server.requests)
        started = time.perf_counter()
        second = sync_library(db_path, pm=pm, config=config)
        second_s = time.perf_counter() - started
        second_requests = len(server.requests) - before
    return {
        "full_sync_s": round(full_s, 3),
        "requests": requests,
        "baselines": full.baselines,
        "failed": len(full.failures),
        "second_sync_s": round(second_s, 3),
        "second_requests": second_requests,
        "updated": len(second.updated),
        "weak": len(second.updates) - len(second.updated),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every fake answer")
    parser.add_argument("--per-namespace", type=int, default=1,
                        help="catalog items per namespace (Epic: usually 1 game per namespace)")
    parser.add_argument("--concurrency", type=int, default=EpicSettings.concurrency)
    parser.add_argument("--rate", type=float, default=EpicSettings.rate,
                        help="requests per second (0: unlimited; default: the plugin's default)")
    parser.add_argument("--updates", type=int, default=20,
                        help="games given a new build (and as many a metadata edit) before sync 2")
    parser.add_argument("--unreal-assets", type=int, default=0,
                        help="Unreal Engine assets the account owns (login mode's assets answer)")
    parser.add_argument("--modes", default="login,local,catalog")
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = parser.parse_args(argv)

    result: dict[str, Any] = {"games": args.games, "latency_ms": args.latency_ms,
                              "concurrency": args.concurrency, "rate": args.rate}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            result[mode] = run_mode(mode, args, Path(tmp))
            if not args.json:
                print(f"{mode}: {result[mode]}", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
