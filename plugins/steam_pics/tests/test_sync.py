"""End to end: the core's sync_library with steam_pics against the fake CM."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

import patchwatch_steam_pics
from patchwatch import Signal, StoreInfo, hookimpl
from patchwatch.config import Config
from patchwatch.library import add_game
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch_steam_pics.testing import FakeSteamCM

pytestmark = pytest.mark.timeout(30)


class Backup:
    """A lower-priority Steam plugin standing in for steam_http: answers whatever it gets."""

    def __init__(self) -> None:
        self.offered: list[str] = []

    @hookimpl
    def store_info(self) -> StoreInfo:
        return StoreInfo(store="steam", priority=10)

    @hookimpl
    def check_updates_bulk(self, games: list, settings: Any, state: dict) -> Any:
        for game in games:
            self.offered.append(game.store_id)
            yield game.id, Signal("last_modified", "2024-01-01T00:00:00Z", is_build=False)


def _config(steam_cm: FakeSteamCM, **extra: Any) -> Config:
    settings = {"cm_servers": steam_cm.server, "connect_timeout": 2, "request_timeout": 2, "retry_backoff": 0}
    return Config(plugins={"steam_pics": {**settings, **extra}}, env={}, timeout=10, availability_timeout=5)


def _library(tmp_path: Path, *appids: int) -> Path:
    db = tmp_path / "library.db"
    for appid in appids:
        add_game(db, "steam", str(appid), title=f"App {appid}")
    return db


def test_sync_records_baseline_then_only_real_builds(tmp_path: Path, steam_cm: FakeSteamCM) -> None:
    db = _library(tmp_path, 10, 20, 30)
    pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics})
    config = _config(steam_cm)
    first = sync_library(db, pm=pm, config=config)
    assert first.checked == 3 and first.baselines == 3 and not first.updates and not first.failures

    new = steam_cm.catalogue.publish_build(20)
    steam_cm.catalogue.edit_metadata(30)
    second = sync_library(db, pm=pm, config=config)
    assert [(u.store_id, u.kind, u.new_value, u.is_build, u.plugin) for u in second.updates] == [
        ("20", "buildid", str(new), True, "steam_pics")]
    assert second.updated[0].published_at is not None

    steam_cm.reset_records()
    third = sync_library(db, pm=pm, config=config)
    assert not third.updates and third.checked == 3
    assert [r.kind for r in steam_cm.received] == ["changes_since"]  # the core kept the cursor


def test_dropped_connection_falls_back_and_loses_nothing(tmp_path: Path, steam_cm: FakeSteamCM) -> None:
    steam_cm.catalogue.add_apps(range(100, 120))
    steam_cm.apps_per_part = 2
    db = _library(tmp_path, *range(100, 120))
    backup = Backup()
    pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics, "backup": backup})
    config = _config(steam_cm, batch_size=10, in_flight=1)
    steam_cm.fail("product_info", times=1)
    steam_cm.fail("product_info", drop_after=2, times=2)  # the second batch and its retry
    summary = sync_library(db, pm=pm, config=config)
    pics = next(p for p in summary.plugins if p.name == "steam_pics")
    assert pics.status == "failed" and "dropped" in (pics.reason or "") and pics.fallback_to == "backup"
    assert pics.answered == 10 and sorted(backup.offered) == [str(a) for a in range(110, 120)]
    assert summary.checked == 20 and not summary.failures

    # Next time PICS is back and answers everything with build ids: no cursor was kept, so
    # a metadata pass, then full info for the apps it has no build of its own for.
    backup.offered.clear()
    steam_cm.reset_records()
    again = sync_library(db, pm=pm, config=config)
    assert not backup.offered and sorted(steam_cm.requested_appids(metadata=True)) == list(range(100, 120))
    assert sorted(steam_cm.requested_appids()) == list(range(110, 120))
    assert again.checked == 20


def test_refused_logon_sends_every_game_to_the_fallback(tmp_path: Path, steam_cm: FakeSteamCM) -> None:
    steam_cm.fail("logon", eresult=20, times=None)
    db = _library(tmp_path, 10, 20)
    backup = Backup()
    pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics, "backup": backup})
    summary = sync_library(db, pm=pm, config=_config(steam_cm))
    pics = next(p for p in summary.plugins if p.name == "steam_pics")
    assert pics.status == "unavailable" and "refused" in pics.reason
    assert sorted(backup.offered) == ["10", "20"]


def test_entry_point_is_installed() -> None:
    (ep,) = [ep for ep in entry_points(group="patchwatch") if ep.name == "steam_pics"]
    module = ep.load()
    assert module is patchwatch_steam_pics
    info = module.store_info()
    assert (info.store, info.priority) == ("steam", 100)
    pm = new_plugin_manager(entry_points=True, strict=True)
    assert pm.get_plugin("steam_pics") is patchwatch_steam_pics


def test_problem_answers_reach_the_core(tmp_path: Path, steam_cm: FakeSteamCM) -> None:
    steam_cm.catalogue.add_app(80, branches={})  # in PICS, but no public build listed
    db = _library(tmp_path, 80, 999_999)
    pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics})
    summary = sync_library(db, pm=pm, config=_config(steam_cm))
    statuses = sorted(f.status for f in summary.failures)
    assert statuses == ["hidden", "not_found"], summary.failures


def test_token_apps_it_cannot_see_go_to_the_next_steam_plugin(tmp_path: Path, steam_cm: FakeSteamCM) -> None:
    groups = steam_cm.catalogue.add_realistic_apps(range(1000, 1400), seed=3)
    assert groups["deny"] and groups["silent"] and groups["grant"]  # the mix has all three
    db = _library(tmp_path, *range(1000, 1400))
    backup = Backup()
    pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics, "backup": backup})
    summary = sync_library(db, pm=pm, config=_config(steam_cm))
    assert sorted(int(a) for a in backup.offered) == sorted(groups["deny"] + groups["silent"])
    assert summary.served_by() == {"steam_pics": 400 - len(backup.offered), "backup": len(backup.offered)}
    assert not summary.failures
