"""Opt-in live check: the real mirror, news and store still answer as the fake assumes.

Run with ``python3 -m uv run pytest -m live plugins/steam_http``; it is deselected by
default and each test skips, saying why, when the host cannot be reached. About a dozen
polite requests in all (the mirror is one volunteer server).
"""

from __future__ import annotations

import pytest
import patchwatch_steam_http as plugin
from patchwatch import Game, Signal
from patchwatch.http import new_session
from patchwatch.testing.live import require_online
from patchwatch_steam_http.settings import MIRROR_URL, NEWS_URL, STORE_URL

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

DOTA2, PORTAL2, STARDEW, SPACEWAR = 570, 620, 413150, 480
"""Well-known apps; Portal 2 lists branches besides public and Spacewar has no news feed
(both as observed by safwyls/winnow docs/spikes/update-signals.md)."""


@pytest.fixture(scope="module")
def http():
    session = new_session("steam_http")
    yield session
    session.close()


def test_mirror_answers_in_the_shape_the_fake_assumes(http, request):
    require_online(request.config, MIRROR_URL)
    answer = http.get(f"{MIRROR_URL}/v1/info/{DOTA2}", timeout=30)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "success"
    app = body["data"][str(DOTA2)]
    assert isinstance(app["_change_number"], int) and app["_missing_token"] is False
    public = app["depots"]["branches"]["public"]
    assert public["buildid"].isdigit() and public["timeupdated"].isdigit()


def test_mirror_answers_an_unknown_app_with_200_and_an_empty_object(http, request):
    require_online(request.config, MIRROR_URL)
    answer = http.get(f"{MIRROR_URL}/v1/info/999999999", timeout=30)
    assert answer.status_code == 200
    assert answer.json() == {"data": {"999999999": {}}, "status": "success"}


def test_plugin_reads_public_and_another_branch_from_the_mirror(http, request):
    require_online(request.config, MIRROR_URL)
    branches = http.get(f"{MIRROR_URL}/v1/info/{PORTAL2}", timeout=30).json()["data"][str(PORTAL2)]["depots"]["branches"]
    others = sorted(name for name, b in branches.items()
                    if name != "public" and str(b.get("buildid", "")).isdigit())
    assert others, f"Portal 2 lists no branch besides public any more: {sorted(branches)}"
    games = [Game(id=1, store="steam", store_id=str(DOTA2)), Game(id=2, store="steam", store_id=str(PORTAL2))]
    settings = {"news": False, "appdetails": False, "branches": {str(PORTAL2): others[0]}}
    results = dict(plugin.check_updates_bulk(games=games, settings=settings, state={}))
    assert isinstance(results[1], Signal) and results[1].kind == "buildid" and results[1].value.isdigit()
    assert isinstance(results[2], Signal) and results[2].kind == f"buildid@{others[0]}"
    assert results[2].value == str(int(branches[others[0]]["buildid"]))


def test_news_shapes_patch_notes_and_403_with_an_empty_object_without_a_feed(http, request):
    require_online(request.config, NEWS_URL)
    url = f"{NEWS_URL}/ISteamNews/GetNewsForApp/v2/"
    answer = http.get(url, params={"appid": STARDEW, "count": 1, "maxlength": 1, "tags": "patchnotes"}, timeout=30)
    assert answer.status_code == 200
    news = answer.json()["appnews"]
    (item,) = news["newsitems"]
    assert {"gid", "title", "url", "date", "feedname"} <= set(item) and "patchnotes" in item["tags"]
    assert isinstance(news["count"], int)
    no_feed = http.get(url, params={"appid": SPACEWAR, "count": 1, "maxlength": 1}, timeout=30)
    assert no_feed.status_code == 403 and no_feed.json() == {}


def test_appdetails_shape_volatile_urls_and_a_stable_digest(http, request):
    require_online(request.config, STORE_URL)
    answer = http.get(f"{STORE_URL}/api/appdetails", params={"appids": DOTA2}, timeout=30)
    assert answer.status_code == 200, answer.text[:200]
    entry = answer.json()[str(DOTA2)]
    assert entry["success"] is True
    data = entry["data"]
    assert data["name"] and data["type"] == "game"
    assert "?t=" in data["header_image"] and ".steamstatic.com/" in data["header_image"]
    games = [Game(id=1, store="steam", store_id=str(DOTA2))]
    settings = {"mirror": False, "news": False}
    first, second = (dict(plugin.check_updates_bulk(games=games, settings=settings, state={}))[1]
                     for _ in range(2))
    assert first.kind == "store_page" and first.value == second.value
