"""The loopback HTTP fake that plugin authors test against."""

from __future__ import annotations

import time

import pytest
import requests

from patchwatch.testing import MALFORMED, FakeStoreServer, Response


def test_routes_answer_json_with_named_groups_and_query(fake_store):
    fake_store.route("GET", r"/products/(?P<pid>\d+)",
                     lambda r: {"id": int(r.params["pid"]), "expand": r.arg("expand")})
    answer = requests.get(f"{fake_store.url}/products/42?expand=downloads", timeout=5)
    assert answer.status_code == 200 and answer.json() == {"id": 42, "expand": "downloads"}
    assert answer.headers["Content-Type"].startswith("application/json")
    assert fake_store.url.startswith("http://127.0.0.1:")
    assert fake_store.count(r"/products/\d+") == 1


def test_unknown_route_is_404(fake_store):
    assert requests.get(f"{fake_store.url}/nope", timeout=5).status_code == 404


def test_injected_429_with_retry_after_then_normal(fake_store):
    fake_store.route("GET", "/x", {"ok": True})
    fake_store.fail("/x", 429, times=2, retry_after=1.5)
    first = requests.get(f"{fake_store.url}/x", timeout=5)
    assert first.status_code == 429 and first.headers["Retry-After"] == "1.5"
    assert requests.get(f"{fake_store.url}/x", timeout=5).status_code == 429
    assert requests.get(f"{fake_store.url}/x", timeout=5).json() == {"ok": True}


def test_malformed_body_and_5xx(fake_store):
    fake_store.route("GET", "/x", {"ok": True})
    fake_store.fail("/x", MALFORMED)
    fake_store.fail("/x", 503)
    with pytest.raises(ValueError):
        requests.get(f"{fake_store.url}/x", timeout=5).json()
    assert requests.get(f"{fake_store.url}/x", timeout=5).status_code == 503


def test_timeouts_and_dropped_connections(fake_store):
    fake_store.route("GET", "/x", {"ok": True})
    fake_store.fail("/x", Response(delay=2))
    with pytest.raises(requests.Timeout):
        requests.get(f"{fake_store.url}/x", timeout=0.3)
    fake_store.fail("/x", Response(drop=True))
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{fake_store.url}/x", timeout=5)


def test_latency_is_added_to_every_answer():
    with FakeStoreServer(latency=0.2) as server:
        server.route("POST", "/t", lambda r: Response(201, json=r.json()))
        started = time.monotonic()
        answer = requests.post(f"{server.url}/t", json={"a": 1}, timeout=5)
        assert answer.status_code == 201 and answer.json() == {"a": 1}
        assert time.monotonic() - started >= 0.2
        assert server.requests[0].method == "POST"


class _Config:
    def __init__(self, markexpr: str) -> None:
        self.markexpr = markexpr

    def getoption(self, name: str, default: object = None) -> object:
        return self.markexpr if name == "markexpr" else default


@pytest.mark.parametrize("markexpr", ["", "not live", "slow"])
def test_live_checks_send_nothing_unless_asked_for(monkeypatch, markexpr):
    from patchwatch.testing import live

    def no_network(*args, **kwargs):
        raise AssertionError("a live check tried to connect without -m live")

    monkeypatch.setattr(live.socket, "create_connection", no_network)
    with pytest.raises(pytest.skip.Exception, match="run with -m live"):
        live.require_online(_Config(markexpr), "https://api.steampowered.com/x")


def test_live_check_skips_with_its_reason_when_the_host_cannot_be_reached():
    from patchwatch.testing import closed_port, live

    host, port = closed_port().split(":")
    with pytest.raises(pytest.skip.Exception, match=f"offline: cannot reach {host}:{port}"):
        live.require_online(_Config("live"), host, port=int(port), timeout=1)


def test_read_launcher_items_keeps_what_the_core_keeps_and_names_what_it_refuses():
    from patchwatch.models import LauncherGame, LauncherWarning
    from patchwatch.testing import read_launcher_items

    warning = LauncherWarning("/steam/appmanifest_1.acf", "truncated")
    games, warnings = read_launcher_items([LauncherGame(" Steam ", "570", build="1"), warning])
    assert [(g.store, g.store_id, g.build) for g in games] == [("steam", "570", "1")]
    assert warnings == [warning]
    with pytest.raises(AssertionError, match="installed must be True or False"):
        read_launcher_items([LauncherGame("steam", "570", installed="yes")])
    with pytest.raises(AssertionError, match="not a LauncherGame or LauncherWarning"):
        read_launcher_items([("steam", "570")])
