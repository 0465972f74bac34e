"""Reading the launchers: a Steam client with 5,000 apps over 3 library folders plus Heroic
with 1,000 Epic and GOG games, then the out-of-date list over a 20,000-game library.

    uv run python bench/launchers.py            # 5,000 and 20,000 Steam apps
    uv run python bench/launchers.py --apps 5000 --json

Per size: ``import_s`` is the first ``games import-launchers`` (every file parsed, every
game added, installed state written); ``reread_s`` a re-read with nothing changed in the
same process (what ``watch`` does each cycle: ``stat`` calls, no parsing, no writes);
``reread_new_process_s`` the same from a new process (the plugins' caches read back from
the database); ``reread_cold_s`` with no cache at all (every file parsed again);
``outdated_s`` the out-of-date list once the library has 20,000 games (or the apps, if more)
all synced, a tenth of the installed ones behind. The last line is JSON with the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import patchwatch_launcher_heroic
import patchwatch_launcher_steam
from patchwatch import launchers
from patchwatch.config import Config
from patchwatch.db import LAUNCHER_CACHE, open_db
from patchwatch.launchers import import_games, outdated, read_launchers, refresh_installed
from patchwatch.library import import_games as add_to_library
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin
from patchwatch_launcher_heroic.testing import heroic_folder, legendary_folder
from patchwatch_launcher_steam.testing import app_manifest, make_client

LIBRARY = 20_000


def build_trees(tmp: Path, apps: int, heroic_games: int) -> tuple[Path, Path]:
    steam = tmp / "Steam"
    folders = [tmp / "lib1", tmp / "lib2"]
    make_client(steam, folders)
    for n in range(apps):
        appid = 100_000 + n
        library = [steam, *folders][n % 3]
        (library / "steamapps" / f"appmanifest_{appid}.acf").write_text(
            app_manifest(appid, f"Game {appid}", 1000 + n), encoding="utf-8")
    heroic = tmp / "heroic"
    half = heroic_games // 2
    heroic_folder(heroic, [{"appName": str(1_000_000_000 + n), "buildId": str(5000 + n),
                            "version": "1.0"} for n in range(0, half, 2)],
                  [{"app_name": str(1_000_000_000 + n), "title": f"GOG {n}"}
                   for n in range(half)])
    legendary_folder(heroic / "legendaryConfig" / "legendary",
                     [{"app_name": f"App{n}", "title": f"Epic {n}",
                       "version": f"1.{n}" if n % 2 == 0 else None}
                      for n in range(heroic_games - half)])
    return steam, heroic


def run(apps: int, heroic_games: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        steam, heroic = build_trees(tmp, apps, heroic_games)
        config = Config(plugins={"launcher_steam": {"paths": [str(steam)]},
                                 "launcher_heroic": {"heroic_paths": [str(heroic)]}}, env={})
        pm = new_plugin_manager({"launcher_steam": patchwatch_launcher_steam,
                                 "launcher_heroic": patchwatch_launcher_heroic})
        launchers._caches.clear()
        db_path = tmp / "db.sqlite"
        db = open_db(db_path)

        started = time.perf_counter()
        summary = import_games(db, read_launchers(pm, config, db=db))
        import_s = time.perf_counter() - started
        warnings = sum(len(r.warnings) for r in summary.reports)

        started = time.perf_counter()
        refresh = refresh_installed(db, pm=pm, config=config)
        reread_s = time.perf_counter() - started
        assert refresh.changes.changed == 0, refresh.changes

        launchers._caches.clear()  # a new process: the caches saved in the database
        started = time.perf_counter()
        refresh_installed(db, pm=pm, config=config)
        reread_process_s = time.perf_counter() - started

        launchers._caches.clear()  # no cache at all: every file parsed again
        db.execute(f"DELETE FROM {LAUNCHER_CACHE}")
        db.conn.commit()
        started = time.perf_counter()
        refresh_installed(db, pm=pm, config=config)
        reread_cold_s = time.perf_counter() - started

        # Fill the library up and sync it: a tenth of the installed games are behind.
        extra = max(0, LIBRARY - db["games"].count)
        add_to_library(db, [{"store": "steam", "store_id": str(900_000 + n)}
                           for n in range(extra)])
        installed = {(s, i): b for s, i, b in db.execute(
            "SELECT store, store_id, build FROM patchwatch_installed WHERE installed = 1")}
        catalogues: dict[str, dict[str, str]] = {"steam": {}, "epic": {}, "gog": {}}
        for store, store_id, _ in db.execute("SELECT store, store_id, NULL FROM games"):
            build = installed.get((store, store_id)) or "1"
            behind = build.isdigit() and int(build) % 10 == 0
            catalogues[store][store_id] = str(int(build) + 1) if behind else build
        stores = {"steam": ("buildid", catalogues["steam"]),
                  "epic": ("build_version", catalogues["epic"]),
                  "gog": ("build_id", catalogues["gog"])}
        store_pm = new_plugin_manager({f"{s}_x": ExamplePlugin(s, catalogue=c, kind=k)
                                       for s, (k, c) in stores.items()})
        sync_library(db_path, pm=store_pm, config=Config(env={}))

        started = time.perf_counter()
        report = outdated(db)
        outdated_s = time.perf_counter() - started
        db.close()
        return {"apps": apps, "heroic_games": heroic_games, "games_added": len(summary.added),
                "warnings": warnings, "library": LIBRARY if extra else apps + heroic_games,
                "installed": report.installed, "outdated": len(report.outdated),
                "import_s": round(import_s, 3), "reread_s": round(reread_s, 3),
                "reread_new_process_s": round(reread_process_s, 3),
                "reread_cold_s": round(reread_cold_s, 3), "outdated_s": round(outdated_s, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, action="append",
                        help="Steam apps (repeatable; default 5000 and 20000)")
    parser.add_argument("--heroic", type=int, default=1000, help="Epic + GOG games")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    results = [run(apps, args.heroic) for apps in (args.apps or [5000, 20000])]
    if not args.json:
        for r in results:
            print(f"{r['apps']} Steam apps + {r['heroic_games']} Heroic games: import "
                  f"{r['import_s']} s, unchanged re-read {r['reread_s']} s "
                  f"(new process {r['reread_new_process_s']} s, no cache {r['reread_cold_s']} s), "
                  f"out-of-date list over "
                  f"{r['library']} games {r['outdated_s']} s ({r['outdated']} behind)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"sizes": results, "peak_rss_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    main()
