"""The websocket transport (issue 10, point 6): wss://host:port/cmsocket/, one Steam message
per binary message, no channel encryption, TLS with a certificate made at test time."""

from __future__ import annotations

from typing import Iterator

import pytest

from patchwatch import Signal
from patchwatch_steam_pics import is_available
from patchwatch_steam_pics.session import close_sessions
from patchwatch_steam_pics.settings import Settings
from patchwatch_steam_pics.testing import FakeSteamCM, FakeSteamDirectory, closed_address

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def ws_cm() -> Iterator[FakeSteamCM]:
    with FakeSteamCM(websocket=True, apps_per_part=7, compress_over=2_000) as cm, \
            cm.patched_universe_key(), cm.trusted_certificate():
        cm.catalogue.add_apps(range(100, 140))
        try:
            yield cm
        finally:
            close_sessions()



def test_check_over_websocket_by_setting(ws_cm: FakeSteamCM, mini_core: type) -> None:
    settings = {"cm_servers": ws_cm.ws_server, "transport": "websocket", "connect_timeout": 5}
    core = mini_core(*range(100, 140))
    results = core.sync(settings)
    assert len(results) == 40 and all(isinstance(r, Signal) for r in results.values())
    assert ws_cm.count("websocket") == 1 and ws_cm.count("handshake") == 0  # no channel encryption
    assert ws_cm.logons == 1 and ws_cm.count("product_info") == 1  # multi-part, gzip Multi: fine
    ws_cm.catalogue.publish_build(120)
    assert core.sync(settings)[21].value == str(ws_cm.catalogue.apps[120].branches["public"].buildid)


def test_websocket_is_chosen_when_tcp_fails(ws_cm: FakeSteamCM, mini_core: type) -> None:
    ws_cm.fail("logon", eresult=48, times=None)  # TryAnotherCM on TCP ...
    entries = [("netfilter", closed_address()), ("netfilter", ws_cm.server), ("websockets", ws_cm.ws_endpoint)]
    with FakeSteamDirectory(entries) as directory:
        settings = {"directory_url": directory.url, "connect_timeout": 5}
        ws_cm.clear_faults()
        ws_cm.fail("logon", eresult=48, times=1)  # ... once: the websocket logon is the second
        assert is_available(settings) is True
    assert ws_cm.count("websocket") == 1 and ws_cm.count("logon") == 2


def test_tcp_only_never_tries_websocket(ws_cm: FakeSteamCM) -> None:
    with FakeSteamDirectory([("netfilter", closed_address()), ("websockets", ws_cm.ws_endpoint)]) as directory:
        reason = is_available({"directory_url": directory.url, "transport": "tcp", "connect_timeout": 2})
    assert "no Steam CM reachable" in reason and ws_cm.count("websocket") == 0


def test_untrusted_certificate_is_refused() -> None:
    with FakeSteamCM(websocket=True) as cm, cm.patched_universe_key():  # no trusted_certificate()
        try:
            reason = is_available({"cm_servers": cm.ws_server, "connect_timeout": 2})
        finally:
            close_sessions()
    assert isinstance(reason, str) and cm.logons == 0


def test_websocket_drop_mid_answer_is_retried(ws_cm: FakeSteamCM, mini_core: type) -> None:
    ws_cm.fail("product_info", drop_after=1)
    core = mini_core(*range(100, 140))
    results = core.sync({"cm_servers": ws_cm.ws_server, "connect_timeout": 5})
    assert len(results) == 40 and ws_cm.logons == 2


def test_wss_entries_in_cm_servers() -> None:
    config = Settings.from_mapping({"cm_servers": "cm.example:27017, wss://ws.example:443/cmsocket/"})
    assert config.cm_servers == (("netfilter", "cm.example", 27017), ("websockets", "ws.example", 443))


def test_a_websocket_message_larger_than_the_cap_fails_naming_the_server(mini_core: type) -> None:
    from patchwatch import http
    from patchwatch_steam_pics.session import PicsError

    controls = http.controls("steam_pics")
    saved = controls.max_bytes
    controls.start(max_bytes=1 << 20)  # max_answer_mb = 1
    try:
        with FakeSteamCM(websocket=True, apps_per_part=1000, compress_over=None) as cm, \
                cm.patched_universe_key(), cm.trusted_certificate():
            cm.catalogue.add_apps(range(100, 200), info_size=12_000)  # one 1.2 MB message
            core = mini_core(*range(100, 200))
            try:
                with pytest.raises(PicsError, match=r"websocket message of more than 1 MiB \(max_answer_mb\)"):
                    core.sync({"cm_servers": cm.ws_server, "connect_timeout": 5, "batch_size": 100})
            finally:
                close_sessions()
    finally:
        controls.max_bytes = saved
