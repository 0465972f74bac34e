"""End to end through the core's sync: steam_http takes over when steam_pics cannot."""

from __future__ import annotations

import time

import patchwatch_steam_http as steam_http
import pytest
from patchwatch.config import Config
from patchwatch.library import add_game
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing.example import ExamplePlugin

APPIDS = (10, 20, 30)


@pytest.fixture
def library(tmp_path):
    db = tmp_path / "library.db"
    ids = {str(a): add_game(db, "steam", str(a), f"Game {a}") for a in APPIDS}
    return db, ids


def _pics_stand_in(steam) -> ExamplePlugin:
    """Plays steam_pics (store steam, priority 100) with the same buildids as the fake."""
    catalogue = {str(a): str(steam.catalogue.apps[a].buildid) for a in APPIDS}
    return ExamplePlugin("steam", 100, catalogue)


def _sync(db, pm, steam, **config):
    return sync_library(db, pm=pm, config=Config(plugins={"steam_http": steam.settings()}, env={}, **config))


def test_steam_pics_unavailable_sends_every_game_to_steam_http(steam, library):
    db, ids = library
    pics = _pics_stand_in(steam)
    pics.available = "no CM server reachable"
    pm = new_plugin_manager({"steam_pics": pics, "steam_http": steam_http})
    summary = _sync(db, pm, steam)
    reports = {p.name: p for p in summary.plugins}
    assert reports["steam_pics"].status == "unavailable"
    assert reports["steam_pics"].fallback_to == "steam_http"
    assert reports["steam_http"].answered == 3 and reports["steam_http"].signals == 3
    assert summary.checked == 3 and summary.baselines == 3 and not summary.failures
    assert pics.calls == []  # never asked to check

    # a new build shows up as a real update, the untouched games stay quiet
    steam.catalogue.publish_build(20)
    steam.catalogue.edit_metadata(30, name="Game 30 GOTY")
    summary = _sync(db, pm, steam)
    (update,) = summary.updated
    assert update.game_id == ids["20"] and update.kind == "buildid" and update.plugin == "steam_http"
    assert update.new_value == str(steam.catalogue.apps[20].buildid) != update.old_value
    assert summary.unchanged == 2


def test_steam_pics_switched_off_in_config(steam, library):
    db, _ = library
    pm = new_plugin_manager({"steam_pics": _pics_stand_in(steam), "steam_http": steam_http})
    summary = _sync(db, pm, steam, disable={"steam_pics"})
    reports = {p.name: p for p in summary.plugins}
    assert reports["steam_pics"].status == "disabled"
    assert reports["steam_http"].answered == 3 and summary.checked == 3


def test_steam_pics_failing_mid_sync_hands_the_rest_to_steam_http(steam, library):
    db, ids = library
    pics = _pics_stand_in(steam)
    pics.raise_after = 1  # answers one game, then its CM connection drops
    pm = new_plugin_manager({"steam_pics": pics, "steam_http": steam_http})
    summary = _sync(db, pm, steam)
    reports = {p.name: p for p in summary.plugins}
    assert reports["steam_pics"].status == "failed" and reports["steam_pics"].answered == 1
    assert reports["steam_http"].offered == 2 and reports["steam_http"].answered == 2
    assert summary.checked == 3 and not summary.failures
    # same kind and value from both plugins: a later switch back to steam_pics is no "update"
    pics.raise_after = None
    summary = _sync(db, pm, steam)
    assert summary.updates == [] and summary.unchanged == 3


def test_steam_http_with_only_weak_signals_never_reports_a_build(steam, library):
    db, ids = library
    pm = new_plugin_manager({"steam_http": steam_http})
    config = dict(plugins={"steam_http": steam.settings(mirror=False)}, env={})
    sync_library(db, pm=pm, config=Config(**config))
    steam.catalogue.post_news(10, "Patch 2.0")
    summary = sync_library(db, pm=pm, config=Config(**config))
    assert summary.updated == []  # nothing counted as a new build
    (change,) = summary.updates
    assert change.game_id == ids["10"] and change.kind == "patch_notes" and change.is_build is False


def test_per_game_errors_reach_the_summary(steam, library, fake_store):
    db, ids = library
    steam.catalogue.remove(30)
    fake_store.fail(r"/v1/info/20", 503, times=10)
    pm = new_plugin_manager({"steam_http": steam_http})
    summary = sync_library(db, pm=pm, config=Config(
        plugins={"steam_http": steam.settings(news=False, appdetails=False)}, env={}))
    failures = {f.store_id: f for f in summary.failures}
    assert failures["20"].status == "error" and "HTTP 503" in failures["20"].message
    assert failures["30"].status == "not_found"
    assert summary.checked == 1


def test_three_failing_syncs_trip_the_breaker_and_lose_nothing(steam, library, fake_store):
    db, ids = library
    pm = new_plugin_manager({"steam_http": steam_http})
    config = Config(plugins={"steam_http": steam.settings(retries=0)}, env={}, failures_to_trip=3,
                    cooldown=0.5)
    sync_library(db, pm=pm, config=config)  # a good baseline first
    # the probe gets through, every real request then fails
    fake_store.fail(r"/(v1/info|ISteamNews|api)/.*", 503, times=10_000)
    for _ in range(3):
        summary = sync_library(db, pm=pm, config=config)
        assert {p.name: p.status for p in summary.plugins}["steam_http"] == "failed"
        assert len(summary.failures) == 3 and summary.checked == 0
    summary = sync_library(db, pm=pm, config=config)
    assert {p.name: p.status for p in summary.plugins}["steam_http"] == "off"
    # the baseline survived: after the cool-down, with the hosts back, nothing looks new
    fake_store.clear_faults()
    time.sleep(1.6)  # the cool-down, rounded up to the whole second
    summary = sync_library(db, pm=pm, config=config)
    assert summary.unchanged == 3 and summary.updates == []
