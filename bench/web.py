"""How fast the web pages answer on a large library: 20,000 games and 5,000 updates.

    uv run python bench/web.py --games 20000 --updates 5000 --json

The library is built by real syncs (an in-process example plugin: baselines, then a sync
where ``--updates`` games have a new build, a fifth of them weak changes of a second store),
and the updates' detection times are then spread over the last 60 days, so the default
30-day page holds about half of them. The app runs in its own process under uvicorn on
loopback (``patchwatch.web.create_app``, no watch loop), and one client sends ``--requests``
requests in a row over a kept connection to: the recent-updates page (``/``), a game page
(a different updated game each time), the Atom feed answered in full, and the same feed
answered ``304 Not Modified`` from its ETag. Medians and 95th percentiles are in ms; the
server's memory is its resident set (VmRSS) after the run and its peak (VmHWM). The last
line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from patchwatch.config import Config
from patchwatch.db import UPDATES, open_db, write
from patchwatch.library import add_games
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin

SERVER = """
import socket, sys, uvicorn
from patchwatch.config import Config
from patchwatch.web import create_app
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP); sock.bind(("127.0.0.1", 0)); sock.listen(128)
print(sock.getsockname()[1], flush=True)
app = create_app(sys.argv[1], Config(env={}))
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
"""


def build(path: Path, games: int, updates: int) -> list[str]:
    """The library; returns the store ids of the games with an update."""
    epic = updates // 5
    rows = [{"store": "steam", "store_id": str(i), "title": f"Steam game {i}"}
            for i in range(1, games - epic + 1)]
    rows += [{"store": "epic", "store_id": f"e{i}", "title": f"Epic game {i}"}
             for i in range(1, epic + 1)]
    db = open_db(path)
    add_games(db, rows)
    db.close()
    steam = ExamplePlugin("steam", catalogue={r["store_id"]: 1 for r in rows if r["store"] == "steam"})
    weak = ExamplePlugin("epic", catalogue={r["store_id"]: "2026-01-01" for r in rows
                                            if r["store"] == "epic"},
                         kind="last_modified", is_build=False)
    pm, config = new_plugin_manager({"steam_x": steam, "epic_x": weak}), Config(env={})
    sync_library(path, pm=pm, config=config)
    changed = [str(i) for i in range(1, updates - epic + 1)]
    for store_id in changed:
        steam.catalogue[store_id] = 2
    for store_id in weak.catalogue:
        weak.catalogue[store_id] = "2026-02-01"
    summary = sync_library(path, pm=pm, config=config)
    assert len(summary.updates) == updates, len(summary.updates)
    db = open_db(path)
    with write(db):  # spread the detection times over 60 days, newest last
        db.execute(f"UPDATE {UPDATES} SET detected_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', "
                   f"'now', '-' || (((SELECT max(id) FROM {UPDATES}) - id) * 60 * 86400 / ?) "
                   f"|| ' seconds')", [updates])
    db.close()
    return changed


def timed(session: requests.Session, url: str, n: int, headers: dict | None = None,
          expect: int = 200) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        r = session.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == expect, (url, r.status_code, r.text[:200])
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2)}


def memory(pid: int) -> dict[str, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = round(int(value.split()[0]) / 1024, 1)
    return {"server_rss_mb": found.get("VmRSS"), "server_peak_mb": found.get("VmHWM")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=20000)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    rng = random.Random(22)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        changed = build(path, args.games, args.updates)
        build_s = round(time.perf_counter() - started, 1)
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(path)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            port = int(server.stdout.readline())
            base = f"http://127.0.0.1:{port}"
            session = requests.Session()
            for _ in range(5):  # warm up: imports, templates, SQLite's page cache
                session.get(base + "/")
            result = {"games": args.games, "updates": args.updates, "requests": args.requests,
                      "build_s": build_s}
            page = session.get(base + "/")
            result["recent_page_kb"] = round(len(page.content) / 1024, 1)
            result["recent"] = summary(timed(session, base + "/", args.requests))
            game_times = []
            for _ in range(args.requests):
                game_times += timed(session, f"{base}/games/steam/{rng.choice(changed)}", 1)
            result["game"] = summary(game_times)
            result["feed"] = summary(timed(session, base + "/feed.atom", args.requests))
            etag = session.get(base + "/feed.atom").headers["ETag"]
            result["feed_304"] = summary(timed(session, base + "/feed.atom", args.requests,
                                               {"If-None-Match": etag}, expect=304))
            result["recent_json"] = summary(timed(session, base + "/index.json", args.requests))
            result.update(memory(server.pid))
        finally:
            server.terminate()
            server.wait(10)
    if not args.json:
        for key in ("recent", "game", "feed", "feed_304", "recent_json"):
            print(f"{key}: median {result[key]['median_ms']} ms, p95 {result[key]['p95_ms']} ms")
        print(f"server memory: {result['server_rss_mb']} MB (peak {result['server_peak_mb']} MB)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
