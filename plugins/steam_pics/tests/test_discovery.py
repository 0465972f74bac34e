"""Finding a CM: the Steam Directory, the cached list, the fallback, failover (issue 10, point 1)."""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from patchwatch_steam_pics import is_available, servers
from patchwatch_steam_pics.session import close_sessions
from patchwatch_steam_pics.settings import Settings
from patchwatch_steam_pics.testing import FakeSteamCM, FakeSteamDirectory, closed_address
from patchwatch_steam_pics.testing.directory import PATH

pytestmark = pytest.mark.timeout(30)
TRY_ANOTHER_CM = 48


@pytest.fixture
def two_cms() -> Iterator[tuple[FakeSteamCM, FakeSteamCM]]:
    with FakeSteamCM() as first, FakeSteamCM() as second, first.patched_universe_key():
        for cm in (first, second):
            cm.catalogue.add_app(10, buildid=777)
        try:
            yield first, second
        finally:
            close_sessions()



def _settings(directory: FakeSteamDirectory, **extra: object) -> dict:
    return {"directory_url": directory.url, "connect_timeout": 3, "request_timeout": 3, "retry_backoff": 0,
            **extra}


def test_defaults_ask_the_steam_directory_not_cm0() -> None:
    config = Settings.from_mapping({})
    assert config.cm_servers is None
    assert config.directory_url == "https://api.steampowered.com/ISteamDirectory/GetCMListForConnect/v1/"
    assert all("cm0.steampowered.com" not in host for _, host, _ in servers.FALLBACK)


def test_directory_list_is_used_and_kept_in_state(two_cms, mini_core: type) -> None:
    cm, _ = two_cms
    with FakeSteamDirectory([("websockets", "127.0.0.1:1"), ("netfilter", cm.server)]) as directory:
        settings = _settings(directory)
        assert is_available(settings) is True
        core = mini_core(10)
        assert core.sync(settings)[1].value == "777"
        (request,) = directory.http.requests
        assert request.arg("cellid") == "0"
    assert cm.logons == 1 and directory.count() == 1
    kept = core.state["cm_list"]
    assert kept["servers"] == [["websockets", "127.0.0.1", 1], ["netfilter", "127.0.0.1", cm.address[1]]]
    assert abs(kept["fetched_at"] - time.time()) < 60  # the "china" entry was skipped, websockets kept


def test_cached_list_serves_a_new_process_when_the_directory_is_down(two_cms, mini_core: type) -> None:
    cm, _ = two_cms
    with FakeSteamDirectory([("netfilter", cm.server)]) as directory:
        core = mini_core(10)
        core.sync(_settings(directory))
        close_sessions()  # a new process: only the plugin's state survives
        directory.http.fail(PATH, 503, times=100)
        cm.catalogue.publish_build(10, buildid=778)
        assert core.sync(_settings(directory))[1].value == "778"
    assert directory.count() == 1  # the cached list was fresh: the directory was not asked again


def test_directory_down_and_no_cache_uses_the_fallback_list(two_cms, monkeypatch) -> None:
    cm, _ = two_cms
    monkeypatch.setattr(servers, "FALLBACK", (("netfilter", "127.0.0.1", cm.address[1]),))
    with FakeSteamDirectory([("netfilter", cm.server)]) as directory:
        directory.http.fail(PATH, 503, times=100)
        assert is_available(_settings(directory)) is True
    assert cm.logons == 1


def test_directory_down_and_fallback_unreachable_says_both(monkeypatch) -> None:
    host, port = closed_address().split(":")
    monkeypatch.setattr(servers, "FALLBACK", (("netfilter", host, int(port)),))
    with FakeSteamDirectory([]) as directory:
        directory.http.fail(PATH, 503, times=100)
        try:
            reason = is_available(_settings(directory))
        finally:
            close_sessions()
    assert "no Steam CM reachable" in reason and port in reason
    assert "fallback list" in reason and "HTTP 503" in reason


@pytest.mark.parametrize("how", ["refused", "TryAnotherCM", "ServiceUnavailable", "silent"])
def test_fails_over_to_the_next_cm(two_cms, how: str) -> None:
    first, second = two_cms
    entries = [("netfilter", first.server), ("netfilter", second.server)]
    if how == "refused":
        entries[0] = ("netfilter", closed_address())
    elif how == "silent":
        first.fail("logon", ignore=True, times=None)
    else:
        first.fail("logon", eresult=TRY_ANOTHER_CM if how == "TryAnotherCM" else 20, times=None)
    with FakeSteamDirectory(entries) as directory:
        started = time.monotonic()
        assert is_available(_settings(directory, connect_timeout=2)) is True
    assert time.monotonic() - started < 2.5
    assert second.logons == 1 and first.logons == 0


def test_a_failed_cm_is_tried_last_for_a_while(two_cms, mini_core: type, wait_until) -> None:
    first, second = two_cms
    first.fail("logon", eresult=TRY_ANOTHER_CM, times=1)
    with FakeSteamDirectory([("netfilter", first.server), ("netfilter", second.server)]) as directory:
        settings = _settings(directory)
        assert is_available(settings) is True
        second.drop_connections()
        # reconnects once it noticed the drop: the server that refused comes last
        wait_until(lambda: is_available(settings) is True and second.logons == 2)
    assert second.logons == 2 and first.count("logon") == 1


def test_every_cm_refusing_names_each_one(two_cms) -> None:
    first, second = two_cms
    first.fail("logon", eresult=TRY_ANOTHER_CM, times=None)
    second.fail("logon", eresult=20, times=None)
    with FakeSteamDirectory([("netfilter", first.server), ("netfilter", second.server)]) as directory:
        reason = is_available(_settings(directory))
    assert reason.startswith("no Steam CM would log us on (2 tried)")
    assert first.server in reason and second.server in reason


def test_explicit_cm_servers_skip_the_directory(two_cms) -> None:
    first, _ = two_cms
    with FakeSteamDirectory([]) as directory:
        assert is_available({**_settings(directory), "cm_servers": f"{closed_address()}, {first.server}"}) is True
        assert directory.count() == 0


def test_directory_answers_that_cannot_be_used() -> None:
    with pytest.raises(ValueError, match="success is false"):
        servers.parse_directory({"response": {"success": False, "message": "nope"}})
    with pytest.raises(ValueError, match="no netfilter or websockets"):
        servers.parse_directory({"response": {"success": True, "serverlist": [{"type": "china", "endpoint": "x:1"}]}})
    assert servers.ServerList.from_state({"servers": "garbage"}) is None
