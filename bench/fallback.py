"""How long the core takes to give Steam games to steam_http once steam_pics cannot serve.

    uv run python bench/fallback.py --games 200 --json

For each way PICS can be down (no CM listening, logon refused, a CM that accepts the
connection and never answers) this runs one sync of ``--games`` apps with both real Steam
plugins against their loopback fakes and reports the seconds spent on steam_pics before the
games went to steam_http (``switch_s``), the whole sync (``sync_s``), and the switch in a
second sync of the same process, once the failure is known (``switch_known_s``; the brief's
bound is < 2 s). The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
from pathlib import Path

import patchwatch_steam_http
import patchwatch_steam_pics
from patchwatch.config import Config
from patchwatch.db import open_db
from patchwatch.library import add_games
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import FakeStoreServer
from patchwatch_steam_http.testing import SteamCatalogue, serve_steam
from patchwatch_steam_pics.session import close_sessions
from patchwatch_steam_pics.testing import FakeSteamCM


def run(scenario: str, games: int, tmp: Path) -> dict[str, float | str]:
    appids = [10 * (i + 1) for i in range(games)]
    web_catalogue = SteamCatalogue()
    for appid in appids:
        web_catalogue.add(appid)
    db = tmp / f"{scenario}.db"
    add_games(open_db(db), [{"store": "steam", "store_id": str(a)} for a in appids])
    listener = socket.socket()  # accepts connections (backlog), never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with FakeSteamCM() as cm, cm.patched_universe_key(), FakeStoreServer() as server:
        cm.catalogue.add_apps(appids)
        web = serve_steam(server, web_catalogue)
        if scenario == "no_cm":
            cm_server = f"127.0.0.1:{listener.getsockname()[1] + 0}"
            listener.close()
        elif scenario == "silent_cm":
            cm_server = "127.0.0.1:%d" % listener.getsockname()[1]
        else:
            cm.fail("logon", eresult=20, times=None)
            cm_server = cm.server
        config = Config(
            plugins={"steam_pics": {"cm_servers": cm_server}, "steam_http": web.settings()},
            env={},
        )
        pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics,
                                 "steam_http": patchwatch_steam_http})
        try:
            summary = sync_library(db, pm=pm, config=config)
            again = sync_library(db, pm=pm, config=config)  # the failure is now known
        finally:
            close_sessions()
            listener.close()
    pics = summary.plugins[0]
    assert summary.served_by() == {"steam_http": games}, summary.to_dict()
    return {"switch_s": pics.seconds, "sync_s": summary.seconds,
            "switch_known_s": again.plugins[0].seconds, "why": pics.reason or ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in ("no_cm", "logon_refused", "silent_cm"):
            results[scenario] = run(scenario, args.games, Path(tmp))
            if not args.json:
                print(scenario, results[scenario])
    print(json.dumps({"games": args.games, **results}))


if __name__ == "__main__":
    main()
