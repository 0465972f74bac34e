"""Opt-in live check: does real Steam still behave the way the fake CM assumes?

Run with ``uv run pytest -m live plugins/steam_pics``; deselected otherwise, and skipped
with the reason when Steam cannot be reached. It asks the Steam Directory for CMs, logs on
anonymously (TCP, then websocket), reads two well-known apps (Team Fortress 2 and Dota 2)
and asks a few PICS questions: about ten requests in all.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from patchwatch import Signal
from patchwatch.testing.live import require_online
from patchwatch_steam_pics import check_updates_bulk, is_available, pics, servers
from patchwatch_steam_pics.session import close_sessions, session_for
from patchwatch_steam_pics.settings import Settings

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]
APPS = (440, 570)
"""Free, public, anonymous-readable and updated often."""


@pytest.fixture(scope="module")
def online(request: Any) -> Iterator[None]:
    require_online(request.config, "api.steampowered.com")
    yield
    close_sessions()


def test_directory_answer_has_the_shape_the_fake_serves(online: None) -> None:
    found = servers.read_directory(servers.DIRECTORY_URL, timeout=15)
    kinds = {server.kind for server in found.servers}
    assert servers.TCP in kinds and servers.WEBSOCKET in kinds, kinds
    assert all(server.port > 0 and server.host for server in found.servers)


@pytest.mark.parametrize("transport", ["tcp", "websocket"])
def test_anonymous_logon_over_each_transport(online: None, transport: str) -> None:
    assert is_available({"transport": transport, "connect_timeout": 20}) is True


def test_two_apps_give_public_builds(online: None) -> None:
    from patchwatch import Game

    state: dict[str, Any] = {}
    games = [Game(id=n, store="steam", store_id=str(appid)) for n, appid in enumerate(APPS, 1)]
    results = dict(check_updates_bulk(games, {"connect_timeout": 20}, state))
    for n in (1, 2):
        signal = results[n]
        assert isinstance(signal, Signal), signal
        assert signal.kind == "buildid" and signal.value.isdigit() and int(signal.value) > 0
        assert signal.published_at and signal.published_at.endswith("Z")
        assert signal.detail["branch"] == "public" and signal.detail["change_number"] > 0
    assert state["change_number"] > 0 and state["cm_list"]["servers"]


def test_pics_answers_have_the_shapes_the_fake_sends(online: None) -> None:
    from patchwatch_steam_pics import depots, keyvalues

    session = session_for(Settings.from_mapping({"connect_timeout": 20}))
    fetched = session.call(pics.fetch, list(APPS), {}, 30.0, timeout=90)
    for appid in APPS:
        entry = fetched.apps[appid]
        assert not entry.missing_token
        assert entry.buffer.endswith(b"\x00")  # text KeyValues, NUL-terminated
        public = keyvalues.section(entry.buffer, "depots")["branches"]["public"]  # tab-indented
        assert public["buildid"].isdigit() and public["timeupdated"].isdigit()
        # Both manifest forms the plugin reads (DepotDownloader PR #425): a bare gid or
        # {gid, size, download}; at least one depot of these games has a public manifest.
        found = depots.manifests(keyvalues.section(entry.buffer, "depots"), "public")
        assert found and all(m["gid"].isdigit() for m in found.values())
        assert 2_000 < len(entry.buffer) < 2_000_000  # the fake's sizes: ~12 KB on average
    meta = session.call(pics.metadata, list(APPS), {}, 30.0, timeout=90)
    assert set(meta.change_numbers) == set(APPS)
    assert all(meta.change_numbers[a] == fetched.apps[a].change_number for a in APPS)
    unknown = session.call(pics.fetch, [4_294_967_290], {}, 30.0, timeout=90)
    assert unknown.unknown == {4_294_967_290}


def test_an_old_cursor_gets_force_full_app_update(online: None) -> None:
    session = session_for(Settings.from_mapping({"connect_timeout": 20}))
    now = session.call(pics.changes_since, 1, 30.0, timeout=90).current
    recent = session.call(pics.changes_since, now - 100, 30.0, timeout=90)
    assert not recent.force_full
    expired = session.call(pics.changes_since, now - 20_000, 30.0, timeout=90)
    assert expired.force_full and not expired.apps  # the retention window the fake keeps
