"""`patchwatch games import` at two sizes: does it stay linear in the rows?

    uv run python bench/import.py --rows 10000 --large 40000 --json

Writes a CSV of N GOG games (store,store_id,title), imports it into a new database with the
real command (a subprocess, so process start and memory are included), then imports it
again (every row already there), and does the same at ``--large``. Also imports into a
Backlogia-shaped host table whose ``store_id`` has no type (numbers stored as numbers), the
case an index cannot serve. The last line is a JSON object: seconds per step, peak memory
(max RSS, MB) of each import, and the large/small ratio (linear work gives large/rows).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_csv(path: Path, rows: int) -> None:
    with path.open("w") as f:
        f.write("store,store_id,title\n")
        for k in range(rows):
            f.write(f"gog,{1_000_000 + k},A game title number {k}\n")


def timed_import(db: Path, csv_path: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "patchwatch", "--db", str(db), "games",
                           "import", str(csv_path)], capture_output=True, text=True,
                          env={**os.environ, "PATCHWATCH_CONFIG": os.devnull})
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"import failed: {done.stderr or done.stdout}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(elapsed, 2), round(max(peak, before) / 1024, 1)


def host_db(path: Path, rows: int) -> None:
    """A Backlogia-like games table with a typeless store_id, already holding half the rows."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE games (id INTEGER PRIMARY KEY, name TEXT, store TEXT, "
                 "store_id, extra_data TEXT, added_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)")
    conn.executemany("INSERT INTO games (name, store, store_id) VALUES (?, 'GOG', ?)",
                     [(f"Game {k}", 1_000_000 + k) for k in range(0, rows, 2)])
    conn.commit()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=40_000)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.rows, args.large):
            csv_path = Path(tmp) / f"games{n}.csv"
            write_csv(csv_path, n)
            db = Path(tmp) / f"new{n}.db"
            result[f"import_{n}_s"], result[f"import_{n}_max_rss_mb"] = timed_import(db, csv_path)
            result[f"reimport_{n}_s"], _ = timed_import(db, csv_path)
            host = Path(tmp) / f"host{n}.db"
            host_db(host, n)
            result[f"host_half_there_{n}_s"], _ = timed_import(host, csv_path)
            if not args.json:
                print(f"{n} rows: import {result[f'import_{n}_s']} s, again "
                      f"{result[f'reimport_{n}_s']} s, into a half-full typeless host table "
                      f"{result[f'host_half_there_{n}_s']} s")
    result["ratio"] = round(result[f"import_{args.large}_s"] / result[f"import_{args.rows}_s"], 2)
    result["rows_ratio"] = round(args.large / args.rows, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
