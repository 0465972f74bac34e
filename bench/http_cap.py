"""Memory of one hostile HTTP answer: a gzip bomb through patchwatch.http, and through the
seed's design (a plain requests session that decodes the whole body) for comparison.

    python3 -m uv run python bench/http_cap.py [--gib 4] [--seed-mib 512]

Each read runs in its own process so its peak memory (ru_maxrss) is its own. The last line
printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from patchwatch.testing import FakeStoreServer, gzip_bomb

CAPPED = """
import resource, sys
from patchwatch.http import AnswerTooLarge, new_session
try:
    new_session("bench").get(sys.argv[1], timeout=30)
    print("read")
except AnswerTooLarge as exc:
    print(exc)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""

SEED = """
import resource, sys
import requests
try:
    body = requests.Session().get(sys.argv[1], timeout=30).content
    print(f"read {len(body)} bytes")
except MemoryError:
    print("MemoryError")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def measure(script: str, url: str) -> tuple[str, int, float]:
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return out[0], int(out[1]), round(time.monotonic() - t0, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=4.0, help="decoded size of the bomb")
    parser.add_argument("--seed-mib", type=int, default=512,
                        help="decoded size for the seed's design (it holds it all in memory)")
    args = parser.parse_args()
    big = gzip_bomb(int(args.gib * 1024 ** 3))
    small = gzip_bomb(args.seed_mib * 1024 ** 2)
    with FakeStoreServer() as fake:
        fake.route("GET", "/big", big)
        fake.route("GET", "/small", small)
        capped_big = measure(CAPPED, f"{fake.url}/big")
        capped_small = measure(CAPPED, f"{fake.url}/small")
        seed_small = measure(SEED, f"{fake.url}/small")
    for name, (outcome, rss, seconds) in {
            f"patchwatch.http, {args.gib:g} GiB bomb": capped_big,
            f"patchwatch.http, {args.seed_mib} MiB bomb": capped_small,
            f"seed (requests), {args.seed_mib} MiB bomb": seed_small}.items():
        print(f"{name}: peak {rss} MB in {seconds} s: {outcome}")
    print(json.dumps({
        "bomb_gib": args.gib, "bomb_body_mb": round(len(big.body) / 1e6, 2),
        "capped_peak_rss_mb": capped_big[1], "capped_seconds": capped_big[2],
        "seed_bomb_mib": args.seed_mib, "capped_small_peak_rss_mb": capped_small[1],
        "seed_small_peak_rss_mb": seed_small[1], "seed_small_seconds": seed_small[2],
    }))


if __name__ == "__main__":
    main()
