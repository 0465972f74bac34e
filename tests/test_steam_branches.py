"""Tracking a Steam branch other than public, with both real Steam plugins and their fakes.

The tracked branch is set once in ``[stores.steam]``; the signal kind is ``buildid`` for
the public branch and ``buildid@<branch>`` for any other, so a change of tracked branch
starts a new baseline and never looks like a new build.
"""

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
PUBLIC, BETA = 5001, 7001


@pytest.fixture
def steam(tmp_path):
    """Both fakes: app 10 with a public and a beta build, app 20 public only; a library of both."""
    web_catalogue = SteamCatalogue()
    with FakeSteamCM() as cm, cm.patched_universe_key(), FakeStoreServer() as server:
        for appid, buildid in ((10, PUBLIC), (20, PUBLIC + 1)):
            cm.catalogue.add_app(appid, buildid=buildid)
            web_catalogue.add(appid, buildid=buildid)
        cm.catalogue.publish_build(10, branch="beta", buildid=BETA)
        web_catalogue.publish_build(10, buildid=BETA, branch="beta")
        web = serve_steam(server, web_catalogue)
        db = tmp_path / "library.db"
        for appid in (10, 20):
            add_game(db, "steam", str(appid), f"App {appid}")
        try:
            yield cm, web, db
        finally:
            close_sessions()


def sync(cm, web, db, *, branch: str | None = None, pics_up: bool = True):
    """One sync; ``branch`` is app 10's tracked branch, set once for both plugins."""
    stores = {"steam": {"branches": {"10": branch}}} if branch else {}
    config = Config(
        stores=stores,
        plugins={
            "steam_pics": {"cm_servers": cm.server if pics_up else closed_port(),
                           "connect_timeout": 1, "request_timeout": 2, "retry_backoff": 0},
            "steam_http": web.settings(),
        },
        env={}, timeout=10, availability_timeout=5,
    )
    pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics, "steam_http": patchwatch_steam_http})
    summary = sync_library(db, pm=pm, config=config)
    assert not summary.failures, summary.failures
    return summary


def test_public_to_beta_and_back_with_nothing_published_is_no_update(steam):
    cm, web, db = steam
    assert sync(cm, web, db).baselines == 2
    to_beta = sync(cm, web, db, branch="beta")
    assert to_beta.updates == [] and to_beta.baselines == 1  # buildid@beta is new: a baseline
    back = sync(cm, web, db)
    assert back.updates == [] and back.baselines == 0 and back.unchanged == 2


def test_a_new_beta_build_is_one_update_and_public_builds_are_not_watched(steam):
    cm, web, db = steam
    sync(cm, web, db, branch="beta")
    cm.catalogue.publish_build(10, branch="public", buildid=PUBLIC + 50)  # not the tracked branch
    assert sync(cm, web, db, branch="beta").updates == []
    cm.catalogue.publish_build(10, branch="beta", buildid=BETA + 1)
    (update,) = sync(cm, web, db, branch="beta").updates
    assert (update.kind, update.old_value, update.new_value) == ("buildid@beta", str(BETA), str(BETA + 1))
    assert update.is_build


def test_tracking_beta_a_fallback_to_steam_http_and_back_is_no_update(steam):
    cm, web, db = steam
    first = sync(cm, web, db, branch="beta")
    assert first.served_by() == {"steam_pics": 2}
    fallback = sync(cm, web, db, branch="beta", pics_up=False)
    assert fallback.served_by() == {"steam_http": 2}
    assert fallback.updates == [] and fallback.baselines == 0 and fallback.unchanged == 2
    assert web.server.count(r"/v1/info/10") == 1  # read from the mirror, which shows every branch
    back = sync(cm, web, db, branch="beta")
    assert back.served_by() == {"steam_pics": 2}
    assert back.updates == [] and back.baselines == 0 and back.unchanged == 2


def test_a_new_beta_build_seen_by_steam_http_is_one_update(steam):
    cm, web, db = steam
    sync(cm, web, db, branch="beta")
    cm.catalogue.publish_build(10, branch="beta", buildid=BETA + 1)
    web.catalogue.publish_build(10, buildid=BETA + 1, branch="beta")
    (update,) = sync(cm, web, db, branch="beta", pics_up=False).updates
    assert (update.kind, update.new_value, update.plugin) == ("buildid@beta", str(BETA + 1), "steam_http")
    assert sync(cm, web, db, branch="beta").updates == []  # steam_pics agrees: nothing new
