"""Benchmark: Steam updates through PICS for a large library, against the realistic fake CM.

    uv run python bench/steam_pics.py --games 2000 --large 20000 --latency-ms 50 --json

The fake CM runs in a child process (so its CPU does not count against the plugin;
``--fake-in-process`` to share one) with ``--latency-ms`` added to every answer, a
catalogue with the realistic token mix and app info sizes (log-normal, ~12 KB on average;
``Catalogue.add_realistic_apps``). Games whose token Steam refuses to anonymous accounts
get no answer from steam_pics (they would go to steam_http, not installed here). Measured,
all through the real client and the core's ``sync_library``, for ``--games`` apps:

- ``full_sync_s``: the first sync of a fresh library (connect, logon, a full pass);
- ``incremental_sync_s`` (``..._requests``): the next sync, nothing changed;
- ``incremental_20_s``: after ``--changed`` new builds and as many store-page edits;
- ``daily_sync_s`` / ``daily_sync_requests``: the cursor expired (7,148 change numbers,
  ~11 h of Steam, later), 5 % of the apps got a new change number and 1 % of them a new
  build: a metadata-only pass, then full info for what moved;
- ``rss_after_full_sync_mb``: the process's resident memory right after that full sync;
- ``seed_design_s``: the seed's design on the same connection: ``get_product_info`` for
  batches of 50 apps (library defaults, so with its access-token request) and a 0.5 s
  pause after each batch; every sync of the seed costs this, whatever changed;

and the same first four at ``--large`` apps (keys prefixed ``large_``; 0 skips them).
``cold_start_plugins_s``: a new ``patchwatch plugins`` process, steam_pics installed
(median of 5; ``cold_start_python_s`` a bare interpreter for reference).
``batch_sweep`` (``--batch-sizes``) times plugin-only full passes per batch size.
Requests exclude heartbeats and include the handshake and logon when there is one.
The last stdout line is a JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEED_BATCH = 50
SEED_PAUSE = 0.5


def _serve_fake(conn: Any, latency: float) -> None:
    """Child process: run the fake CM and obey commands from the parent."""
    from patchwatch_steam_pics.testing import FakeSteamCM

    cm = FakeSteamCM(latency=latency).start()
    conn.send((cm.server, cm.public_key.export_key()))
    while True:
        command, args = conn.recv()
        if command == "stop":
            break
        target = cm.catalogue if hasattr(cm.catalogue, command) else cm
        try:
            conn.send(("ok", getattr(target, command)(*args)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            conn.send(("error", repr(exc)))
    cm.stop()
    conn.send(("ok", None))


class RemoteFake:
    """The fake CM in a child process; methods of the fake and its catalogue by name."""

    def __init__(self, latency: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve_fake, args=(child, latency), daemon=True)
        self._process.start()
        self.server, self.public_key_pem = self._conn.recv()

    def __getattr__(self, command: str) -> Any:
        def call(*args: Any) -> Any:
            self._conn.send((command, args))
            status, value = self._conn.recv()
            if status != "ok":
                raise RuntimeError(value)
            return value
        return call

    def close(self) -> None:
        self._conn.send(("stop", ()))
        self._conn.recv()
        self._process.join(5)


class LocalFake:
    def __init__(self, latency: float) -> None:
        from patchwatch_steam_pics.testing import FakeSteamCM

        self.cm = FakeSteamCM(latency=latency).start()
        self.server = self.cm.server
        self.public_key_pem = self.cm.public_key.export_key()

    def __getattr__(self, command: str) -> Any:
        return getattr(self.cm.catalogue, command, None) or getattr(self.cm, command)

    def close(self) -> None:
        self.cm.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000, help="a second, larger library (0: skip)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every fake answer")
    parser.add_argument("--changed", type=int, default=20, help="apps with a new build before the 3rd sync")
    parser.add_argument("--batch-sizes", default="",
                        help="batch sizes to sweep (plugin-only full passes), e.g. 100,250,500")
    parser.add_argument("--repeat", type=int, default=3, help="runs per batch size (median reported)")
    parser.add_argument("--skip-seed", action="store_true", help="skip the (slow) seed-design measurement")
    parser.add_argument("--fake-in-process", action="store_true", help="run the fake CM in this process")
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = parser.parse_args(argv)

    from Cryptodome.PublicKey import RSA
    from patchwatch_steam_pics import channel

    import patchwatch_steam_pics
    from patchwatch import Game
    from patchwatch_steam_pics.session import close_sessions, session_for
    from patchwatch_steam_pics.settings import DEFAULT_BATCH_SIZE, DEFAULT_IN_FLIGHT, Settings

    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    latency = args.latency_ms / 1000
    result: dict[str, Any] = {"games": args.games, "large": args.large, "latency_ms": args.latency_ms,
                              "fake": "in-process" if args.fake_in_process else "child process",
                              "batch_size": DEFAULT_BATCH_SIZE, "in_flight": DEFAULT_IN_FLIGHT}
    result.update(_cold_start())
    say(f"cold start of `patchwatch plugins`: {result['cold_start_plugins_s']} s "
        f"(bare python: {result['cold_start_python_s']} s)")
    for size, prefix in ((args.games, ""), (args.large, "large_")):
        if not size:
            continue
        fake = LocalFake(latency) if args.fake_in_process else RemoteFake(latency)
        appids = list(range(100_000, 100_000 + 10 * size, 10))
        try:
            groups = fake.add_realistic_apps(appids)
            held = fake.warm()
            channel.UNIVERSE_KEY = RSA.import_key(fake.public_key_pem)  # trust the fake's key
            settings = {"cm_servers": fake.server}
            unseen = len(groups["deny"]) + len(groups["silent"])
            result[f"{prefix}app_info_kb_mean"] = round(held / size / 1000, 1)
            say(f"--- {size} apps, app info {held / size / 1000:.1f} KB on average, "
                f"{unseen} whose token anonymous accounts do not get")
            result.update({prefix + k: v for k, v in _syncs(fake, appids, settings, args, unseen, say).items()})

            if not prefix:
                games = [Game(id=i, store="steam", store_id=str(a)) for i, a in enumerate(appids, 1)]
                sizes = [int(s) for s in args.batch_sizes.split(",") if s.strip()]
                sweep: dict[str, float] = {}
                for batch in sizes:
                    runs = []
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        answers = list(patchwatch_steam_pics.check_updates_bulk(
                            games, {**settings, "batch_size": batch}, {}))
                        runs.append(time.perf_counter() - started)
                        assert len(answers) == size - unseen
                    sweep[str(batch)] = round(statistics.median(runs), 3)
                    say(f"plugin full pass, batch {batch:>5}: {sweep[str(batch)]:.3f} s (median of {args.repeat})")
                if sweep:
                    result["batch_sweep"] = sweep
                    result["fastest_batch_size"] = int(min(sweep, key=sweep.get))

            if not prefix and not args.skip_seed:
                session = session_for(Settings.from_mapping(settings))
                session.call(lambda client: None, timeout=60)  # logged on, like the syncs above
                fake.reset_records()
                started = time.perf_counter()
                builds = session.call(_seed_design, appids, timeout=3600)
                seconds = time.perf_counter() - started
                assert len(builds) == size - unseen, (len(builds), size, unseen)
                result.update(seed_design_s=round(seconds, 3), seed_design_requests=fake.count(None))
                say(f"seed design (batches of {SEED_BATCH}, {SEED_PAUSE} s pauses): {seconds:.3f} s, "
                    f"{result['seed_design_requests']} requests")
        finally:
            close_sessions()
            fake.close()
    print(json.dumps(result))
    return 0


def _syncs(fake: Any, appids: list[int], settings: dict[str, Any], args: Any, unseen: int,
           say: Any) -> dict[str, Any]:
    """Full, incremental, incremental with changes, daily: seconds and requests of each."""
    import patchwatch_steam_pics
    from patchwatch.config import Config
    from patchwatch.db import open_db
    from patchwatch.library import add_games
    from patchwatch.plugins import new_plugin_manager
    from patchwatch.sync import sync_library

    size = len(appids)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "patchwatch.db"
        db = open_db(db_path)
        add_games(db, [{"store": "steam", "store_id": str(a), "title": f"App {a}"} for a in appids])
        db.close()
        pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics})
        config = Config(plugins={"steam_pics": settings}, env={})

        def timed_sync() -> tuple[float, Any, int]:
            fake.reset_records()
            started = time.perf_counter()
            summary = sync_library(db_path, pm=pm, config=config)
            seconds = time.perf_counter() - started
            return seconds, summary, fake.count(None)

        seconds, full, requests = timed_sync()
        assert full.baselines == size - unseen and len(full.failures) == unseen, (full.baselines, len(full.failures))
        out.update(full_sync_s=round(seconds, 3), full_sync_requests=requests, rss_after_full_sync_mb=_rss_mb())
        say(f"full sync: {seconds:.3f} s, {requests} requests (incl. handshake and logon)")

        seconds, incremental, requests = timed_sync()
        assert not incremental.updates and incremental.checked == size - unseen
        out.update(incremental_sync_s=round(seconds, 3), incremental_sync_requests=requests)
        say(f"incremental sync, nothing changed: {seconds:.3f} s, {requests} request(s)")

        rng = random.Random(7)
        seen = [a for a in appids if a not in set(fake.unseen_apps())]
        picked = rng.sample(seen, min(len(seen), 2 * args.changed))
        for appid in picked[: args.changed]:
            fake.publish_build(appid)
        for appid in picked[args.changed:]:
            fake.edit_metadata(appid)
        fake.warm()
        seconds, changed, requests = timed_sync()
        found = sorted(int(u.store_id) for u in changed.updated)
        assert found == sorted(picked[: args.changed]), "wrong updates detected"
        out.update(incremental_20_s=round(seconds, 3), incremental_20_requests=requests)
        say(f"incremental sync, {len(found)} new builds + {len(picked) - len(found)} page edits: "
            f"{seconds:.3f} s, {requests} requests")

        # A day later: the cursor is outside Steam's window; 5 % of the apps changed, 1 % built.
        moved = rng.sample(seen, len(seen) // 20)
        built = moved[: len(seen) // 100]
        for appid in built:
            fake.publish_build(appid)
        for appid in moved[len(built):]:
            fake.edit_metadata(appid)
        fake.advance(7_148)
        fake.warm()
        seconds, daily, requests = timed_sync()
        found = sorted(int(u.store_id) for u in daily.updated)
        assert found == sorted(built), "wrong updates detected in the daily sync"
        out.update(daily_sync_s=round(seconds, 3), daily_sync_requests=requests,
                   daily_sync_changed=len(moved), daily_sync_builds=len(built))
        say(f"daily sync (cursor expired, {len(moved)} apps changed, {len(built)} new builds): "
            f"{seconds:.3f} s, {requests} requests")
    return out


def _rss_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    import os

    with open("/proc/self/statm") as statm:
        return round(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576, 1)


def _cold_start(repeat: int = 5) -> dict[str, float]:
    """Median seconds of a new ``patchwatch plugins`` process (steam_pics installed), and of
    a bare interpreter start for reference."""
    import subprocess

    script = Path(sys.executable).with_name("patchwatch")

    def median_of(command: list[str]) -> float:
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            runs.append(time.perf_counter() - started)
        return round(statistics.median(runs), 3)

    return {"cold_start_plugins_s": median_of([str(script), "plugins"]),
            "cold_start_python_s": median_of([sys.executable, "-c", "pass"])}


def _seed_design(client: Any, appids: list[int]) -> dict[int, str]:
    """Runs in a session worker: the seed's loop, as ``steam`` 1.4.4's ``get_product_info``
    did it with its defaults (an access-token request before every batch, then product
    info with the tokens, every app's whole KeyValues text parsed) and a pause after each."""
    from patchwatch_steam_pics import keyvalues, messages as m, pics

    builds = {}
    for start in range(0, len(appids), SEED_BATCH):
        batch = appids[start:start + SEED_BATCH]
        (tokens,) = pics.request(client, pics.ACCESS_TOKENS, m.AccessTokenRequest(appids=batch), 10.0)
        granted = {t.appid: t.access_token for t in tokens.app_access_tokens}
        body = pics._product_request(((a, granted.get(a, 0)) for a in batch), metadata_only=False)
        for part in pics.request(client, pics.PRODUCT_INFO, body, 10.0):
            for app in part.apps:
                text = app.buffer.rstrip(b"\x00").decode("utf-8", "replace")
                tree = keyvalues.parse_block(text, text.index("{"))[0]
                if "depots" in tree:  # token apps it got no token for come public-only
                    builds[app.appid] = tree["depots"]["branches"]["public"]["buildid"]
        time.sleep(SEED_PAUSE)
    return builds


if __name__ == "__main__":
    sys.exit(main())
