"""What the real services do that a kinder fake would hide (issue 10, steam_http section)."""

from __future__ import annotations

import requests
import patchwatch_steam_http as steam_http
from patchwatch import Game, Problem, Signal
from patchwatch.config import Config
from patchwatch.library import add_game
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch_steam_http.settings import Settings


def _known(game: Game, value: str, kind: str = "buildid") -> Game:
    return Game(id=game.id, store=game.store, store_id=game.store_id,
                signals={kind: Signal(kind, value, detail={"branch": "public"})})


# -- the mirror: HTTP 200 and an empty object for an unknown app and for a failure ----------

def test_fake_mirror_answers_unknown_and_failed_apps_with_200_and_an_empty_object(steam):
    for setup in (lambda: steam.catalogue.remove(10), lambda: steam.fail_backend(20)):
        setup()
    for appid in ("10", "20", "999"):
        answer = requests.get(f"{steam.url}/v1/info/{appid}", timeout=5)
        assert answer.status_code == 200
        assert answer.json() == {"data": {appid: {}}, "status": "success"}
    assert requests.get(f"{steam.url}/v1/info/30", timeout=5).json()["data"]["30"]["depots"]


def test_empty_mirror_answer_for_a_game_with_a_known_build_is_a_problem_not_a_weak_signal(steam, games_for, run):
    steam.fail_backend(10)
    game = _known(games_for(10)[0], str(steam.catalogue.apps[10].buildid))
    result = run([game], steam.settings())["10"]
    assert isinstance(result, Problem) and result.status == "error"
    assert "empty answer" in result.message and str(steam.catalogue.apps[10].buildid) in result.message
    assert steam.server.count(r"/ISteamNews/.*") == 0 and steam.server.count(r"/api/.*") == 0


def test_mirror_out_for_a_game_with_a_known_build_is_a_problem_too(steam, fake_store, games_for, run):
    fake_store.fail(r"/v1/info/.*", 429, retry_after=3600, times=5)  # the host goes out
    game = _known(games_for(10)[0], "1")
    result = run([game], steam.settings(mirror_concurrency=1))["10"]
    assert isinstance(result, Problem) and "no weaker signal stands in for the known build 1" in result.message
    assert steam.server.count(r"/ISteamNews/.*") == 0


def test_through_the_core_a_backend_failure_leaves_the_build_and_adds_no_weak_baseline(steam, tmp_path):
    db = tmp_path / "library.db"
    ids = {a: add_game(db, "steam", str(a), f"Game {a}") for a in (10, 20)}
    pm = new_plugin_manager({"steam_http": steam_http})
    config = Config(plugins={"steam_http": steam.settings()}, env={})
    assert sync_library(db, pm=pm, config=config).baselines == 2
    steam.fail_backend()  # every request behind the mirror fails: 200 and {} for all
    summary = sync_library(db, pm=pm, config=config)
    assert summary.baselines == 0 and summary.updates == [] and summary.checked == 0
    assert {f.game_id for f in summary.failures} == set(ids.values())
    assert all("empty answer" in f.message for f in summary.failures)
    steam.restore_backend()
    steam.catalogue.publish_build(20)
    (update,) = sync_library(db, pm=pm, config=config).updates
    assert (update.game_id, update.kind) == (ids[20], "buildid")


# -- news: 403 with body {} is a lasting fact about one app, not throttling -------------------

def test_fake_news_answers_an_app_without_a_feed_with_403_and_an_empty_object(steam):
    steam.catalogue.add(480, news_feed=False)
    answer = requests.get(f"{steam.url}/ISteamNews/GetNewsForApp/v2/", params={"appid": 480}, timeout=5)
    assert (answer.status_code, answer.json()) == (403, {})


def test_news_403_is_remembered_per_app_and_slows_nothing(steam, games_for, run):
    no_feed = [1000 + 10 * i for i in range(8)]
    for appid in no_feed:
        steam.catalogue.add(appid, news_feed=False)
    settings = steam.settings(mirror=False, appdetails=False, host_failures=2)
    state: dict = {}
    results = run(games_for(*no_feed, 10), settings, state)
    # eight 403s in a row neither took the host out nor stopped app 10 getting its news
    assert results["10"].kind == "patch_notes" and state["last_sync"]["down"] == {}
    assert all(isinstance(results[str(a)], Problem) and results[str(a)].status == "not_found"
               and "no feed" in results[str(a)].message for a in no_feed)
    assert sorted(state["news_no_feed"]) == sorted(map(str, no_feed))
    asked = steam.server.count(r"/ISteamNews/.*")
    assert asked == 9
    results = run(games_for(*no_feed, 10), settings, state)  # the next sync does not ask again
    assert steam.server.count(r"/ISteamNews/.*") == asked + 1
    assert "no feed" in results[str(no_feed[0])].message
    run(games_for(*no_feed), {**settings, "news_recheck_days": 0}, state)  # ... until it is time
    assert steam.server.count(r"/ISteamNews/.*") == asked + 1 + 8
    state["news_no_feed"] = {"70": 1_000_000_000}  # an app long gone from the library
    run(games_for(10), settings, state)
    assert state["news_no_feed"] == {}  # expired entries are not kept


# -- appdetails: volatile URLs, and an HTML 403 is an IP block ---------------------------------

def test_store_page_digest_ignores_rotating_cdn_hosts_and_timestamps(steam, games_for, run):
    settings = steam.settings(mirror=False, news=False)
    values = {run(games_for(10), settings)["10"].value for _ in range(3)}
    assert len(values) == 1
    pages = [requests.get(f"{steam.url}/api/appdetails", params={"appids": 10}, timeout=5).json()
             for _ in range(2)]
    first, second = (page["10"]["data"] for page in pages)
    assert first["header_image"] != second["header_image"]  # the fake does rotate them
    assert first["detailed_description"] != second["detailed_description"]
    steam.catalogue.edit_metadata(10, short_description="Now with co-op.")
    assert run(games_for(10), settings)["10"].value not in values


def test_html_403_from_the_store_takes_it_out_for_the_rest_of_the_sync(steam, games_for, run):
    ids = steam.catalogue.populate(6, first=1000)
    steam.block_store(after=1)
    state: dict = {}
    results = run(games_for(*ids), steam.settings(mirror=False, news=False), state)
    assert sum(isinstance(r, Signal) for r in results.values()) == 1
    problems = [r for r in results.values() if isinstance(r, Problem)]
    assert len(problems) == 5 and all("blocked this IP" in p.message for p in problems)
    assert steam.server.count(r"/api/appdetails") == 2  # nothing sent after the block
    assert "blocked this IP" in state["last_sync"]["down"]["appdetails"]


def test_json_403_from_the_store_is_only_that_games_error(steam, fake_store, games_for, run):
    from patchwatch.testing import Response
    fake_store.fail(r"/api/appdetails", Response(403, json={}))
    results = run(games_for(10, 20), steam.settings(mirror=False, news=False, appdetails_concurrency=1))
    assert sum(isinstance(r, Problem) and "HTTP 403" in r.message for r in results.values()) == 1
    assert sum(isinstance(r, Signal) for r in results.values()) == 1


# -- the mirror: one volunteer server, 25 connections for everybody --------------------------

def test_at_most_two_mirror_requests_in_flight_by_default(steam, games_for, run):
    ids = steam.catalogue.populate(8, first=1000)
    steam.mirror_delay = 0.3  # longer than the default pacing (0.05 s) lets requests pile up
    settings = steam.settings()
    del settings["mirror_interval"]  # the defaults, apart from the fake's address
    results = run(games_for(*ids), settings)
    assert len(results) == 8 and steam.peak_in_flight["mirror"] == 2


def test_more_than_five_in_flight_against_the_public_mirror_is_refused():
    assert Settings().mirror_concurrency == 2
    assert "at most 5" in steam_http.is_available(settings={"mirror_concurrency": 8})
    assert Settings.from_mapping({"mirror_concurrency": 8, "mirror_url": "http://127.0.0.1:1"}).mirror_concurrency == 8
