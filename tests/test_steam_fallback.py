"""The two real Steam plugins together: steam_pics down → steam_http checks the same games."""

from __future__ import annotations


import pytest

import patchwatch_steam_http
import patchwatch_steam_pics
from patchwatch.config import Config
from patchwatch.library import add_game
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import FakeStoreServer, closed_port
from patchwatch_steam_http.testing import SteamCatalogue, serve_steam
from patchwatch_steam_pics.session import close_sessions
from patchwatch_steam_pics.testing import FakeSteamCM

pytestmark = pytest.mark.timeout(60)
APPS = {10: 5001, 20: 5002, 30: 5003}


@pytest.fixture
def steam(tmp_path):
    """Both fakes serving the same builds, and a library of their apps."""
    web_catalogue = SteamCatalogue()
    for appid, buildid in APPS.items():
        web_catalogue.add(appid, buildid=buildid)
    with FakeSteamCM() as cm, cm.patched_universe_key(), FakeStoreServer() as server:
        for appid, buildid in APPS.items():
            cm.catalogue.add_app(appid, buildid=buildid)
        web = serve_steam(server, web_catalogue)
        db = tmp_path / "library.db"
        for appid in APPS:
            add_game(db, "steam", str(appid), f"App {appid}")
        try:
            yield cm, web, db
        finally:
            close_sessions()


def config_for(cm_server: str, web, **extra) -> Config:
    return Config(
        plugins={
            "steam_pics": {"cm_servers": cm_server, "connect_timeout": 1, "request_timeout": 2,
                           "retry_backoff": 0},
            "steam_http": web.settings(),
        },
        env={}, timeout=10, availability_timeout=5, **extra,
    )


def pm():
    return new_plugin_manager({"steam_pics": patchwatch_steam_pics,
                               "steam_http": patchwatch_steam_http})


def test_no_cm_reachable_sends_the_same_games_to_steam_http(steam):
    cm, web, db = steam
    summary = sync_library(db, pm=pm(), config=config_for(closed_port(), web))
    pics, http = summary.plugins
    # No CM reached: "unreachable"; steam_http reached its hosts, so this is no offline user
    # and it counts toward steam_pics's breaker like any failure (issue 18, point 2).
    assert (pics.name, pics.status, pics.fallback_to) == ("steam_pics", "unreachable", "steam_http")
    assert not summary.offline
    assert (http.name, http.answered) == ("steam_http", 3)
    assert summary.checked == 3 and summary.failures == []
    assert web.server.count(r"/v1/info/\d+") == 3


def test_switching_back_to_pics_raises_no_false_alarm_and_finds_real_builds(steam):
    cm, web, db = steam
    first = sync_library(db, pm=pm(), config=config_for(closed_port(), web))
    assert first.served_by() == {"steam_http": 3}
    # PICS is back: the same buildid kind, so no update for unchanged games ...
    cm.catalogue.edit_metadata(10, name="Renamed")
    new = cm.catalogue.publish_build(20)
    second = sync_library(db, pm=pm(), config=config_for(cm.server, web))
    assert second.served_by() == {"steam_pics": 3}
    # ... and the one real new build is reported.
    assert [(u.store_id, u.new_value, u.plugin) for u in second.updated] == [
        ("20", str(new), "steam_pics")]


def test_steam_pics_switched_off_by_env(steam):
    cm, web, db = steam
    config = config_for(cm.server, web)
    config.env = {"PATCHWATCH_DISABLE": "steam_pics"}
    summary = sync_library(db, pm=pm(), config=config)
    assert summary.plugins[0].status == "disabled"
    assert summary.served_by() == {"steam_http": 3}
    assert cm.count() == 0, "a switched-off plugin must not even connect"


def test_logon_refused_falls_back_quickly(steam):
    cm, web, db = steam
    cm.fail("logon", eresult=20, times=None)
    summary = sync_library(db, pm=pm(), config=config_for(cm.server, web))
    pics = summary.plugins[0]
    assert pics.status == "unavailable" and summary.served_by() == {"steam_http": 3}


def test_token_app_the_mirror_answered_is_not_asked_again_until_its_change_number_moves(steam):
    """steam_pics cannot see a token app, steam_http reads it from the mirror with the app's
    PICS change number; while Steam's change list says it did not move, steam_pics names it
    unchanged and the volunteer mirror is not asked again on every sync."""
    cm, web, db = steam
    cm.catalogue.add_app(40, buildid=5004, token=7)  # the fake refuses its token to anonymous
    web_app = web.catalogue.add(40, buildid=5004)
    web_app.change_number = cm.catalogue.apps[40].change_number  # one app, one PICS number
    add_game(db, "steam", "40", "App 40")
    config = config_for(cm.server, web)

    first = sync_library(db, pm=pm(), config=config)
    assert first.served_by() == {"steam_pics": 3, "steam_http": 1}
    assert web.server.count(r"/v1/info/40") == 1

    second = sync_library(db, pm=pm(), config=config)
    assert second.served_by() == {"steam_pics": 4} and second.unchanged == 4
    assert web.server.count(r"/v1/info/40") == 1, "the mirror was asked again"

    new = cm.catalogue.publish_build(40)
    web.catalogue.publish_build(40, buildid=new)
    web_app.change_number = cm.catalogue.apps[40].change_number
    third = sync_library(db, pm=pm(), config=config)
    assert [(u.store_id, u.new_value, u.plugin) for u in third.updated] == [
        ("40", str(new), "steam_http")]
    assert web.server.count(r"/v1/info/40") == 2
