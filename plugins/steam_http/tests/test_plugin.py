"""Packaging, availability, settings and politeness."""

from __future__ import annotations

import time
from importlib.metadata import entry_points

import patchwatch_steam_http as plugin
import pytest
from patchwatch import StoreInfo
from patchwatch.config import Config
from patchwatch.plugins import backends, new_plugin_manager
from patchwatch.testing import closed_port
from patchwatch_steam_http.settings import Settings, SettingsError


def test_entry_point_is_installed():
    (ep,) = [ep for ep in entry_points(group="patchwatch") if ep.name == "steam_http"]
    assert ep.load() is plugin
    pm = new_plugin_manager(entry_points=True, strict=True)
    (backend,) = [b for b in backends(pm, Config()) if b.name == "steam_http"]
    assert (backend.store, backend.priority, backend.error) == ("steam", 50, None)


def test_store_info_is_steam_below_steam_pics():
    info = plugin.store_info()
    assert isinstance(info, StoreInfo) and info.store == "steam" and info.priority < 100


def test_is_available_against_the_fake(steam):
    assert plugin.is_available(settings=steam.settings()) is True
    assert [r.path for r in steam.server.requests] == ["/v1/version"]  # one tiny request


def test_is_available_uses_a_lower_source_when_the_mirror_is_down(steam):
    settings = steam.settings(mirror_url=f"http://{closed_port()}")
    assert plugin.is_available(settings=settings) is True
    assert [r.path for r in steam.server.requests] == ["/ISteamWebAPIUtil/GetServerInfo/v1/"]


def test_is_available_says_why_when_nothing_answers(fake_store):
    dead = f"http://{closed_port()}"
    fake_store.fail(".*", 503, times=10)
    settings = {"mirror_url": dead, "news_url": fake_store.url, "store_url": dead, "probe_timeout": 0.5}
    started = time.monotonic()
    reason = plugin.is_available(settings=settings)
    assert time.monotonic() - started < 3
    assert isinstance(reason, str) and reason.startswith("no Steam HTTP source reachable")
    assert "mirror" in reason and "news" in reason and "HTTP 503" in reason and "appdetails" in reason


@pytest.mark.timeout(10)
def test_is_available_is_bounded_by_the_probe_timeout(fake_store):
    from patchwatch.testing import Response
    fake_store.fail(".*", Response(delay=5), times=10)
    started = time.monotonic()
    reason = plugin.is_available(settings={"mirror_url": fake_store.url, "news": False,
                                           "appdetails": False, "probe_timeout": 0.3})
    assert time.monotonic() - started < 2
    assert "no answer within 0.3 s" in reason


def test_is_available_rejects_bad_or_empty_settings():
    assert "unknown steam_http setting(s): mirrror" in plugin.is_available(settings={"mirrror": False})
    assert "switched off" in plugin.is_available(settings={"mirror": "0", "news": "no", "appdetails": "off"})


def test_settings_from_environment_strings_are_coerced():
    s = Settings.from_mapping({"mirror": "false", "news_concurrency": "2", "appdetails_interval": "2.5",
                               "store_url": "http://x/"})
    assert (s.mirror, s.news_concurrency, s.appdetails_interval) == (False, 2, 2.5)
    assert s.enabled() == ["news", "appdetails"] and s.base_url("appdetails") == "http://x"
    with pytest.raises(SettingsError, match="retries"):
        Settings.from_mapping({"retries": "many"})
    with pytest.raises(SettingsError, match="at least 1"):
        Settings.from_mapping({"mirror_concurrency": 0})


def test_defaults_are_the_polite_ones():
    s = Settings()
    assert s.appdetails_interval == 1.5 and s.appdetails_concurrency == 1
    assert s.mirror_url == "https://api.steamcmd.net" and s.enabled() == ["mirror", "news", "appdetails"]


def test_requests_carry_a_clear_user_agent(steam, games_for, run):
    run(games_for(10), steam.settings())
    agent = steam.server.requests[0].headers["User-Agent"]
    assert agent.startswith("patchwatch/") and agent.endswith("(+steam_http)")


def test_appdetails_default_pacing_is_one_request_per_1_5_s(steam, games_for, run):
    settings = steam.settings(mirror=False, news=False)
    del settings["appdetails_interval"]  # the default
    run(games_for(10, 20, 30), settings)
    times = steam.times["appdetails"]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 3 and min(gaps) >= 1.45


def test_mirror_pacing(steam, games_for, run):
    ids = steam.catalogue.populate(20, first=1000)
    results = run(games_for(*ids), steam.settings(mirror_interval=0.05, mirror_concurrency=4))
    assert len(results) == 20
    times = steam.times["mirror"]
    # 19 intervals of 0.05 s (the bucket); unpaced, 4 workers send the 20 in a few ms.
    # Judged over the whole run: single arrivals jitter by milliseconds on a busy machine.
    assert times[-1] - times[0] >= 19 * 0.05 * 0.9


def test_mirror_concurrency(steam, games_for, run):
    ids = steam.catalogue.populate(16, first=1000)
    steam.mirror_delay = 0.1
    results = run(games_for(*ids), steam.settings(mirror_concurrency=4))
    assert len(results) == 16 and steam.peak_in_flight["mirror"] == 4


def test_state_reports_requests_per_source(steam, games_for, run):
    state: dict = {}
    run(games_for(10, 20), steam.settings(), state)
    assert state["last_sync"] == {"requests": {"mirror": 2, "news": 0, "appdetails": 0}, "down": {}}


def test_no_source_reachable_at_all_is_unreachable_not_broken():
    """Issue 18, point 2: every host refused (as with no network): the core is told, so an
    offline user's syncs do not switch the plugin off."""
    from patchwatch import http as core_http

    dead = f"http://{closed_port()}"
    settings = {"mirror_url": dead, "news_url": dead, "store_url": dead, "probe_timeout": 0.5}
    with pytest.raises(core_http.Unreachable, match="no Steam HTTP source reachable"):
        plugin.is_available(settings=settings)
