"""Connection, logon, availability, backoff and threading, through the real client."""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import Any

import pytest

from patchwatch import Signal
from patchwatch import http as core_http
from patchwatch_steam_pics import check_updates_bulk, is_available
from patchwatch_steam_pics.session import close_sessions, session_for
from patchwatch_steam_pics.settings import Settings
from patchwatch_steam_pics.testing import FakeSteamCM, closed_address

pytestmark = pytest.mark.timeout(30)

SERVICE_UNAVAILABLE = 20


def test_handshake_logon_and_heartbeats() -> None:
    with FakeSteamCM(heartbeat_seconds=1) as cm, cm.patched_universe_key():
        try:
            assert is_available({"cm_servers": cm.server}) is True
            deadline = time.monotonic() + 5
            while cm.count("heartbeat") < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert cm.count("handshake") == 1 and cm.logons == 1
            assert cm.count("heartbeat") >= 2  # the idle connection is kept alive
            (logon,) = cm.requests("logon")
            assert logon.protocol_version == 65580 and not logon.account_name
        finally:
            close_sessions()


def test_wrong_universe_key_fails_the_handshake() -> None:
    """Without the key swap the client encrypts for Valve's key and the fake cannot read it."""
    with FakeSteamCM() as cm:
        try:
            reason = is_available({"cm_servers": cm.server, "connect_timeout": 1.5})
        finally:
            close_sessions()
    assert isinstance(reason, str) and "Steam CM" in reason
    assert cm.count("handshake") == 0 and cm.logons == 0


def test_connection_is_reused(steam_cm: FakeSteamCM, settings: dict) -> None:
    assert is_available(settings) is True
    games = [_game(10)]
    for _ in range(3):
        list(check_updates_bulk(games, settings, {}))
        assert is_available(settings) is True
    assert steam_cm.logons == 1 and steam_cm.count("handshake") == 1


def test_logon_refused_is_unavailable_with_reason_then_backs_off(steam_cm: FakeSteamCM, settings: dict) -> None:
    steam_cm.fail("logon", eresult=SERVICE_UNAVAILABLE, times=None)
    settings = {**settings, "retry_backoff": 30}
    reason = is_available(settings)
    assert isinstance(reason, str) and "refused" in reason and "ServiceUnavailable" in reason
    started = time.monotonic()
    again = is_available(settings)  # known failure: answered at once, no new attempt
    assert time.monotonic() - started < 0.5
    assert "refused" in again and "next try" in again
    assert steam_cm.count("logon") == 1


def test_recovers_after_backoff(steam_cm: FakeSteamCM, settings: dict) -> None:
    steam_cm.fail("logon", eresult=SERVICE_UNAVAILABLE, times=1)
    settings = {**settings, "retry_backoff": 0.3}
    assert isinstance(is_available(settings), str)
    time.sleep(0.35)
    assert is_available(settings) is True


def test_dropped_connection_reconnects(steam_cm: FakeSteamCM, settings: dict, wait_until) -> None:
    assert is_available(settings) is True
    steam_cm.drop_connections()
    # once the client has noticed the drop, the next check logs on again
    wait_until(lambda: is_available(settings) is True and steam_cm.logons == 2)
    assert steam_cm.logons == 2


def test_no_cm_reachable_is_quick_and_says_so() -> None:
    port = int(closed_address().rsplit(":", 1)[1])
    started = time.monotonic()
    try:
        # Not one CM reached (refused, as with no network or no route): raised as
        # unreachable, so the core can tell an offline user from a broken store.
        with pytest.raises(core_http.Unreachable, match="no Steam CM reachable") as raised:
            is_available({"cm_servers": f"127.0.0.1:{port}", "connect_timeout": 5})
    finally:
        close_sessions()
    assert time.monotonic() - started < 2
    assert str(port) in str(raised.value)


def test_silent_cm_is_unavailable_within_connect_timeout(steam_cm: FakeSteamCM, settings: dict) -> None:
    steam_cm.fail("logon", ignore=True)
    started = time.monotonic()
    reason = is_available({**settings, "connect_timeout": 1})
    assert 0.9 < time.monotonic() - started < 2.5
    assert re.search(r"no logon from the Steam CM within (1|0\.9\d*) s", reason), reason


def test_check_raises_when_unavailable() -> None:
    from patchwatch_steam_pics.session import PicsUnavailable

    try:
        with pytest.raises(PicsUnavailable, match="no Steam CM reachable"):
            list(check_updates_bulk([_game(10)], {"cm_servers": closed_address()}, {}))
    finally:
        close_sessions()


def test_never_reaches_beyond_loopback(steam_cm: FakeSteamCM, settings: dict) -> None:
    """Every socket the plugin opens goes to the configured CM: no web API or DNS bootstrap."""
    seen: list[Any] = []
    watching = threading.Event()

    def audit(event: str, args: tuple) -> None:
        if watching.is_set() and event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
            seen.append((event, args[1] if event == "socket.connect" else args[0]))

    sys.addaudithook(audit)
    watching.set()
    try:
        assert is_available(settings) is True
        list(check_updates_bulk([_game(10), _game(20)], settings, {}))
        with pytest.raises(core_http.Unreachable):
            is_available({"cm_servers": closed_address()})
    finally:
        watching.clear()
    connects = [addr for event, addr in seen if event == "socket.connect"]
    assert connects and all(addr[0] == "127.0.0.1" for addr in connects)
    assert all(host in ("127.0.0.1", None) for event, host in seen if event != "socket.connect")


def test_concurrent_checks_from_ordinary_threads_share_one_connection(
        steam_cm: FakeSteamCM, settings: dict) -> None:
    steam_cm.catalogue.add_apps(range(200, 260))
    steam_cm.latency = 0.02
    expected = {a: str(steam_cm.catalogue.apps[a].branches["public"].buildid) for a in range(200, 260)}
    results: dict[int, dict[int, str]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            games = [_game(a) for a in range(200, 260)]
            answers = dict(check_updates_bulk(games, {**settings, "batch_size": 7 + n}, {}))
            results[n] = {gid: r.value for gid, r in answers.items() if isinstance(r, Signal)}
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    assert len(results) == 6 and all(r == expected for r in results.values())
    assert steam_cm.logons == 1 and steam_cm.count("handshake") == 1


def test_concurrent_first_use_logs_on_once(steam_cm: FakeSteamCM, settings: dict) -> None:
    steam_cm.latency = 0.05
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(is_available(settings))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == [True] * 5 and steam_cm.logons == 1


def test_session_thread_stops_on_close(steam_cm: FakeSteamCM, settings: dict) -> None:
    session = session_for(Settings.from_mapping(settings))
    assert is_available(settings) is True
    close_sessions()
    assert not session._thread.is_alive()
    assert not any(t.name.startswith("steam-pics") and t.is_alive() for t in threading.enumerate())


def test_settings_come_as_strings_from_the_environment() -> None:
    config = Settings.from_mapping({
        "cm_servers": "10.0.0.1:27017, cm.example:27018", "connect_timeout": "2.5", "batch_size": "250",
        "in_flight": "2", "branches": "440=beta, 570 = experimental", "retry_backoff": "0",
    })
    assert config.cm_servers == (("netfilter", "10.0.0.1", 27017), ("netfilter", "cm.example", 27018))
    assert (config.connect_timeout, config.batch_size, config.in_flight) == (2.5, 250, 2)
    assert config.branch(440) == "beta" and config.branch(570) == "experimental" and config.branch(10) == "public"
    assert Settings.from_mapping({"branches": '{"440": "beta"}'}).branch(440) == "beta"


@pytest.mark.parametrize("bad", [{"cm_servers": "nohostport"}, {"batch_size": "0"}, {"batch_size": "ten"},
                                 {"connect_timeout": "-1"}, {"branches": "440"}, {"cm_servers": "a:b"}])
def test_bad_settings_make_it_unavailable_with_a_reason(bad: dict) -> None:
    reason = is_available(bad)
    assert isinstance(reason, str) and reason.startswith("bad settings: steam_pics setting")


def _game(appid: int) -> Any:
    from patchwatch import Game

    return Game(id=appid, store="steam", store_id=str(appid))

