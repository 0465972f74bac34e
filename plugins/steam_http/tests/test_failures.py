"""Bad answers and unhappy hosts: each gives a clear per-game result and loses nothing."""

from __future__ import annotations

import time

import pytest
from patchwatch import Problem, Signal
from patchwatch.testing import MALFORMED, Response, closed_port


def test_429_with_retry_after_is_honoured_then_answered(steam, fake_store, games_for, run):
    fake_store.fail(r"/v1/info/10", 429, retry_after=1)
    started = time.monotonic()
    result = run(games_for(10), steam.settings())["10"]
    elapsed = time.monotonic() - started
    assert isinstance(result, Signal) and result.kind == "buildid"
    assert elapsed >= 1.0  # waited as told, not the tiny test backoff
    assert fake_store.count(r"/v1/info/10") == 2
    assert steam.times["mirror"][0] - started >= 1.0


def test_429_pauses_the_whole_host(steam, fake_store, games_for, run):
    # one game's 429 holds back the requests of the other worker threads too
    ids = steam.catalogue.populate(20, first=1000)
    fake_store.fail(rf"/v1/info/{ids[0]}", 429, retry_after=1)
    started = time.monotonic()
    results = run(games_for(*ids), steam.settings(mirror_concurrency=4))
    assert {r.kind for r in results.values()} == {"buildid"} and len(results) == 20
    early = [t for t in steam.times["mirror"] if t - started < 0.9]
    assert len(early) < 8  # only requests already on their way; without the pause: 19


def test_429_asking_too_long_takes_the_host_out_and_news_answers(steam, fake_store, games_for, run):
    fake_store.fail(r"/v1/info/.*", 429, retry_after=3600, times=50)
    started = time.monotonic()
    results = run(games_for(10, 20, 30), steam.settings(mirror_concurrency=1))
    assert time.monotonic() - started < 5
    assert fake_store.count(r"/v1/info/.*") == 1  # no hammering a host that said "later"
    assert {r.detail["source"] for r in results.values()} == {"news"}
    assert all(r.is_build is False for r in results.values())


def test_429_without_news_fallback_is_a_clear_error(steam, fake_store, games_for, run):
    fake_store.fail(r"/v1/info/.*", 429, retry_after=3600, times=50)
    results = run(games_for(10, 20), steam.settings(news=False, appdetails=False))
    assert all(isinstance(r, Problem) and r.status == "error" for r in results.values())
    assert all("429" in r.message and "3600" in r.message for r in results.values())


def test_5xx_once_is_retried(steam, fake_store, games_for, run):
    fake_store.fail(r"/v1/info/20", 503, times=1)
    results = run(games_for(10, 20), steam.settings())
    assert results["20"].kind == "buildid"
    assert fake_store.count(r"/v1/info/20") == 2


def test_5xx_that_persists_fails_that_game_only(steam, fake_store, games_for, run):
    fake_store.fail(r"/v1/info/20", 502, times=10)
    results = run(games_for(10, 20, 30), steam.settings())
    problem = results["20"]
    assert isinstance(problem, Problem) and problem.status == "error"
    assert "HTTP 502" in problem.message and "3 attempts" in problem.message
    assert results["10"].kind == results["30"].kind == "buildid"
    assert fake_store.count(r"/v1/info/20") == 3  # 1 + 2 retries, then it stops
    assert fake_store.count(r"/ISteamNews/.*") == 0  # one bad answer does not degrade the game


def test_host_that_keeps_failing_is_skipped_for_the_rest_of_the_sync(steam, fake_store, games_for, run):
    fake_store.fail(r"/v1/info/.*", 500, times=1000)
    steam.catalogue.populate(10, first=1000)
    ids = [10, 20, 30] + [1000 + 10 * i for i in range(10)]
    # one worker thread (every host at concurrency 1) makes the order deterministic
    results = run(games_for(*ids), steam.settings(mirror_concurrency=1, news_concurrency=1))
    # two games failed on the mirror; the third failure took the host out, so that game
    # and every later one went to news
    errors = [r for r in results.values() if isinstance(r, Problem)]
    assert len(errors) == 2 and all("HTTP 500" in p.message for p in errors)
    assert sum(isinstance(r, Signal) and r.detail["source"] == "news" for r in results.values()) == 11
    assert fake_store.count(r"/v1/info/.*") == 3 * 3


@pytest.mark.parametrize("answer, words", [
    (MALFORMED, "malformed JSON"),
    (Response(200, body=b""), "empty answer"),
    (Response(200, body=b"   \n"), "empty answer"),
    (Response(200, json={"data": {"10": {}}, "status": "failed"}), "status 'failed'"),
    (Response(200, json=["not", "an", "object"]), "malformed answer"),
    (Response(200, json={"data": {"10": "oops"}, "status": "success"}), "malformed app info"),
    (Response(418, body="I'm a teapot"), "HTTP 418"),
    (Response(200, json={"data": {"10": {"depots": {"branches": {"public": {"buildid": "x1"}}}}},
                         "status": "success"}), "malformed buildid"),
])
def test_bad_mirror_answers_are_per_game_errors(steam, fake_store, games_for, run, answer, words):
    fake_store.fail(r"/v1/info/10", answer)
    results = run(games_for(10, 20), steam.settings())
    problem = results["10"]
    assert isinstance(problem, Problem) and problem.status == "error"
    assert words in problem.message and problem.message.startswith("mirror")
    assert results["20"].kind == "buildid"
    assert fake_store.count(r"/v1/info/10") == 1  # a bad body is not retried


@pytest.mark.parametrize("answer, words", [
    (Response(200, body="null", headers={"Content-Type": "application/json"}), "empty answer (null)"),
    (MALFORMED, "malformed JSON"),
    (Response(200, json={"10": {"success": True, "data": []}}), "success without data"),
    (Response(200, json={"99": {"success": True, "data": {"name": "x"}}}), "no entry for the app"),
])
def test_bad_appdetails_answers_are_per_game_errors(steam, fake_store, games_for, run, answer, words):
    fake_store.fail(r"/api/appdetails", answer)
    result = run(games_for(10), steam.settings(mirror=False, news=False))["10"]
    assert isinstance(result, Problem) and result.status == "error" and words in result.message


def test_bad_news_answer_is_a_per_game_error(steam, fake_store, games_for, run):
    fake_store.fail(r"/ISteamNews/.*", Response(200, json={"appnews": {"appid": 10}}))
    result = run(games_for(10), steam.settings(mirror=False))["10"]
    assert isinstance(result, Problem) and "appnews.newsitems" in result.message


@pytest.mark.timeout(20)
def test_timeout_is_a_per_game_error(steam, fake_store, games_for, run):
    fake_store.fail(r"/v1/info/10", Response(delay=3), times=5)
    results = run(games_for(10, 20), steam.settings(timeout=0.3, retries=1))
    problem = results["10"]
    assert isinstance(problem, Problem) and problem.status == "error"
    assert "no answer within 0.3 s" in problem.message
    assert results["20"].kind == "buildid"


def test_dropped_connection_is_retried(steam, fake_store, games_for, run):
    fake_store.fail(r"/v1/info/10", Response(drop=True), times=1)
    assert run(games_for(10), steam.settings())["10"].kind == "buildid"


def test_unreachable_mirror_falls_to_news_quickly(steam, games_for, run):
    steam.catalogue.populate(20, first=1000)
    ids = [1000 + 10 * i for i in range(20)]
    started = time.monotonic()
    results = run(games_for(*ids), steam.settings(mirror_url=f"http://{closed_port()}"))
    assert time.monotonic() - started < 5
    by_source = {}
    for r in results.values():
        key = r.detail["source"] if isinstance(r, Signal) else "error"
        by_source[key] = by_source.get(key, 0) + 1
    # with 8 threads some games failed before the host was taken out; none was lost
    assert by_source["news"] >= 20 - 8 and sum(by_source.values()) == 20
    assert set(by_source) <= {"news", "error"}
