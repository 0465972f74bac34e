"""What a build really changed (issue 21, part 2): depots, "download up to", "no content
change", rollback, through the plugin and through the core's sync, digest and feeds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import patchwatch_steam_pics
from patchwatch import Signal
from patchwatch.config import Config
from patchwatch.db import open_db
from patchwatch.library import add_game
from patchwatch.notify import digest, pending_updates
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch_steam_pics.testing import FakeSteamCM

pytestmark = pytest.mark.timeout(30)

SHARED, WIN, LINUX, DLC, REDIST = 101, 102, 103, 104, 105
LAYOUT = {
    SHARED: {"oslist": "", "download": 50_000_000},
    WIN: {"oslist": "windows", "download": 1_200_000_000},
    LINUX: {"oslist": "linux", "download": 900_000_000},
    DLC: {"oslist": "windows", "dlcappid": 111, "download": 300_000_000},
    REDIST: {"depotfromapp": 228980, "oslist": ""},  # a shared redistributable, owned by 228980
}


def _app(cm: FakeSteamCM, appid: int = 100, form: str = "full") -> None:
    cm.catalogue.add_app(appid, depot_config=LAYOUT, manifest_form=form)


@pytest.mark.parametrize("os_name, changed, expected", [
    # the user's depots changed: the sum of their `download`, shared depot included
    ("windows", [SHARED, WIN, DLC], {"content_changed": True, "download_bytes": 1_250_000_000,
                                     "changed_depots": {"101": "shared", "102": "os", "104": "dlc"}}),
    # only Windows and DLC depots changed: nothing for a Linux user
    ("linux", [WIN, DLC], {"content_changed": False,
                           "changed_depots": {"102": "other-os", "104": "dlc"}}),
    # a new build id with every depot as it was (LinuxGSM #3143)
    ("windows", [], {"content_changed": False, "changed_depots": {}}),
])
def test_a_new_build_says_which_depots_changed(steam_cm: FakeSteamCM, settings: dict, mini_core: type,
                                               os_name: str, changed: list[int], expected: dict) -> None:
    _app(steam_cm)
    core = mini_core(100)
    settings = {**settings, "os": os_name}
    baseline = core.sync(settings)[1]
    assert re.fullmatch(r"101=\d+,102=\d+,103=\d+,104=\d+", baseline.detail["depots"])  # no depotfromapp one
    assert "content_changed" not in baseline.detail
    steam_cm.catalogue.publish_build(100, changed_depots=changed)
    signal = core.sync(settings)[1]
    assert isinstance(signal, Signal) and signal.value != baseline.value
    facts = {k: signal.detail[k] for k in ("content_changed", "download_bytes", "changed_depots")
             if k in signal.detail}
    assert facts == expected


def test_a_shared_depot_is_followed_to_the_app_that_owns_it(steam_cm: FakeSteamCM, settings: dict,
                                                            mini_core: type) -> None:
    steam_cm.catalogue.add_app(228980, "Steamworks Common Redistributables",
                               depot_config={REDIST: {"oslist": "", "download": 80_000_000}})
    _app(steam_cm, 100)
    _app(steam_cm, 200)
    core = mini_core(100, 200)
    settings = {**settings, "os": "windows"}
    baseline = core.sync(settings)[1]
    assert re.fullmatch(r"101=\d+,102=\d+,103=\d+,104=\d+,105=\d+", baseline.detail["depots"])
    assert steam_cm.requested_appids().count(228980) == 1  # once per check, not once per app
    steam_cm.catalogue.publish_build(228980, changed_depots=[REDIST])  # the redistributable moves
    steam_cm.catalogue.publish_build(100, changed_depots=[])           # nothing of the game's own
    steam_cm.reset_records()
    signal = core.sync(settings)[1]
    assert signal.detail["changed_depots"] == {"105": "shared"}
    assert signal.detail["content_changed"] is True and signal.detail["download_bytes"] == 80_000_000
    assert steam_cm.requested_appids().count(228980) == 1


def test_an_owner_steam_will_not_show_leaves_its_depots_out(steam_cm: FakeSteamCM, settings: dict,
                                                            mini_core: type) -> None:
    _app(steam_cm, 100)  # 228980 is not in this catalogue: Steam answers it unknown
    core = mini_core(100)
    baseline = core.sync(settings)[1]
    assert "105=" not in baseline.detail["depots"] and isinstance(baseline, Signal)


def test_the_bare_manifest_form_counts_the_depot_size(steam_cm: FakeSteamCM, settings: dict,
                                                      mini_core: type) -> None:
    _app(steam_cm, form="bare")  # manifests/public is just the gid; the depot has maxsize
    core = mini_core(100)
    core.sync({**settings, "os": "linux"})
    steam_cm.catalogue.publish_build(100, changed_depots=[LINUX])
    signal = core.sync({**settings, "os": "linux"})[1]
    assert signal.detail["content_changed"] is True
    assert signal.detail["download_bytes"] == 1_000_000_000 + LINUX  # the fake's maxsize of that depot


def test_same_build_refetched_adds_no_facts(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    _app(steam_cm)
    core = mini_core(100)
    core.sync(settings)
    steam_cm.catalogue.edit_metadata(100)  # a new change number, the same build
    again = core.sync(settings)[1]
    assert "content_changed" not in again.detail and "changed_depots" not in again.detail


def _sync(tmp_path: Path, cm: FakeSteamCM, **config: Any) -> Any:
    settings = {"cm_servers": cm.server, "connect_timeout": 2, "request_timeout": 2, "os": "windows"}
    pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics})
    return sync_library(tmp_path / "library.db", pm=pm,
                        config=Config(plugins={"steam_pics": settings}, env={}, **config))


def test_the_core_records_shows_and_notifies_them(tmp_path: Path, steam_cm: FakeSteamCM) -> None:
    from patchwatch import feeds
    from patchwatch.cli import cli

    for appid in (100, 200, 300):
        _app(steam_cm, appid)
        add_game(tmp_path / "library.db", "steam", str(appid), title=f"App {appid}")
    _sync(tmp_path, steam_cm)
    old_300 = steam_cm.catalogue.apps[300].branches["public"].buildid
    steam_cm.catalogue.publish_build(100, changed_depots=[WIN])            # a real update
    steam_cm.catalogue.publish_build(200, changed_depots=[])               # no content change
    steam_cm.catalogue.publish_build(300, buildid=old_300 - 5, changed_depots=[WIN])  # a rollback
    summary = _sync(tmp_path, steam_cm)
    assert sorted(u.store_id for u in summary.updates) == ["100", "200", "300"]

    db = open_db(tmp_path / "library.db")
    rows = {r["store_id"]: r for r in db.query("SELECT * FROM patchwatch_updates")}
    assert (rows["100"]["download_bytes"], rows["100"]["content_changed"], rows["100"]["rollback"]) == \
        (1_200_000_000, 1, 0)
    assert (rows["200"]["content_changed"], rows["200"]["rollback"]) == (0, 0)
    assert rows["300"]["rollback"] == 1 and rows["300"]["content_changed"] == 1

    # Notified: the real update and the rollback; the build with no content change only when asked.
    pending = {r["store_id"] for r in pending_updates(db, Config())}
    assert pending == {"100", "300"}
    assert {r["store_id"] for r in pending_updates(db, Config(notify_no_content_change=True))} == \
        {"100", "200", "300"}
    _, body = digest(pending_updates(db, Config(notify_no_content_change=True)))
    assert "download up to 1.2 GB" in body and "no content change" in body and "(rollback" in body

    feed = json.loads(feeds.json_feed(list(rows.values()), "t"))
    by_id = {item["_patchwatch"]["store_id"]: item for item in feed["items"]}
    assert by_id["100"]["_patchwatch"]["download_bytes"] == 1_200_000_000
    assert by_id["200"]["_patchwatch"]["content_changed"] is False and "no content change" in by_id["200"]["title"]
    assert by_id["300"]["_patchwatch"]["rollback"] is True

    out = CliRunner().invoke(cli, ["updates", "--db", str(tmp_path / "library.db")])
    assert out.exit_code == 0, out.output
    assert "(download up to 1.2 GB)" in out.output and "(no content change)" in out.output
    assert "(rollback, download up to 1.2 GB)" in out.output
    as_json = CliRunner().invoke(cli, ["updates", "--db", str(tmp_path / "library.db"), "--json"])
    assert {r["store_id"]: r["download_bytes"] for r in json.loads(as_json.output)}["100"] == 1_200_000_000
