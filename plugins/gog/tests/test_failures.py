"""Bad input and a misbehaving GOG: unknown ids, malformed answers, 429, 5xx, timeouts."""

from __future__ import annotations

import itertools
import socket
import threading
import time

import pytest
from patchwatch import http as core_http

from patchwatch import Problem, Signal
from patchwatch.testing import MALFORMED, Response
from patchwatch_gog import check_updates_bulk, is_available
from patchwatch_gog.client import Unreachable
from patchwatch_gog.settings import SettingsError
from patchwatch_gog.testing import gog_game


def test_unknown_product_is_not_found(gog, run):
    gog.catalogue.add_product(1207658930)

    answers = run([gog_game(1207658930, 1), gog_game(1999999999, 2)])

    assert isinstance(answers[1], Signal)
    assert answers[2].status == "not_found"
    assert "1999999999" in answers[2].message
    assert gog.server.count(gog.product_pattern(1999999999)) == 1


def test_delisted_product_is_not_found(gog, run):
    gog.catalogue.add_product(1207658930)
    assert isinstance(run([gog_game(1207658930, 1)])[1], Signal)

    gog.catalogue.delist(1207658930)
    problem = run([gog_game(1207658930, 1)])[1]

    assert isinstance(problem, Problem) and problem.status == "not_found"
    assert "delisted" in problem.message


def test_delisted_product_with_builds_still_reports_them(gog, run):
    gog.catalogue.add_product(1207658930)
    gog.catalogue.delist(1207658930, keep_builds=True)
    new = gog.catalogue.publish_build(1207658930, "windows", "1.1")

    assert run([gog_game(1207658930, 1)])[1].value == new.build_id


def test_builds_404_falls_back_to_product_api(gog, run):
    gog.catalogue.add_product(1207658930, "Exists")
    gog.server.fail(gog.builds_pattern(1207658930), Response(404, json={"error": "not_found"}))

    problem = run([gog_game(1207658930, 1)])[1]

    assert problem.status == "hidden" and "Exists" in problem.message


def test_not_a_product_id(gog, run):
    answers = run([gog_game("witcher_2", 1)])

    assert answers[1].status == "not_found" and "witcher_2" in answers[1].message
    assert gog.server.requests == []


def test_malformed_body_is_an_error_for_that_game_only(gog, run):
    gog.catalogue.add_product(1207658930)
    gog.catalogue.add_product(1207658931)
    gog.server.fail(gog.builds_pattern(1207658930), MALFORMED)

    answers = run([gog_game(1207658930, 1), gog_game(1207658931, 2)])

    assert answers[1].status == "error" and "malformed" in answers[1].message
    assert "1207658930" in answers[1].message
    assert isinstance(answers[2], Signal)


@pytest.mark.parametrize("body", [
    {"total_count": 1, "count": 1},                              # no items
    {"items": [{"os": "windows", "public": True}]},              # an item without build_id
    {"items": [{"build_id": "1", "public": True, "branch": None, "date_published": "yesterday"}]},
    ["not", "an", "object"],
])
def test_wrong_shape_is_malformed(gog, run, body):
    gog.catalogue.add_product(1207658930)
    gog.server.fail(gog.builds_pattern(1207658930), Response(200, json=body))

    problem = run([gog_game(1207658930, 1)])[1]

    assert problem.status == "error" and "malformed" in problem.message


def test_malformed_product_answer(gog, run):
    gog.server.fail(gog.product_pattern(1207658930), MALFORMED)

    problem = run([gog_game(1207658930, 1)])[1]

    assert problem.status == "error" and "malformed" in problem.message


def test_429_waits_retry_after_then_succeeds(gog, run):
    gog.catalogue.add_product(1207658930)
    gog.server.fail(gog.builds_pattern(), 429, times=2, retry_after=0.2)

    started = time.monotonic()
    signal = run([gog_game(1207658930, 1)])[1]

    assert isinstance(signal, Signal)
    assert gog.server.count(gog.builds_pattern()) == 3
    assert time.monotonic() - started >= 0.4  # two Retry-After waits were honoured


def test_429_holds_back_every_worker(gog, run):
    for _ in range(10):
        gog.catalogue.add_product()
    first = next(iter(gog.catalogue.products))
    gog.server.latency = 0.05
    gog.server.fail(gog.builds_pattern(first), 429, times=1, retry_after=0.6)
    arrivals: list[float] = []
    gog.observer = lambda request: arrivals.append(time.monotonic())

    started = time.monotonic()
    answers = run([gog_game(pid, n) for n, pid in enumerate(gog.catalogue.products)], concurrency=2)

    assert all(isinstance(a, Signal) for a in answers.values()) and len(arrivals) == 10
    # Without a shared pause the other worker would ask every 0.05 s and be done before the
    # rate-limited one came back. With it, everybody pauses: one long silence, then the
    # remaining products, several of them, are asked for.
    times = [started] + arrivals
    gaps = [b - a for a, b in itertools.pairwise(times)]
    longest = max(range(len(gaps)), key=gaps.__getitem__)
    assert gaps[longest] >= 0.45
    assert len(arrivals) - longest >= 3


def test_429_forever_is_an_error_and_others_go_on(gog, run):
    gog.catalogue.add_product(1207658930)
    gog.catalogue.add_product(1207658931)
    gog.server.fail(gog.builds_pattern(1207658930), 429, times=100, retry_after=0)

    answers = run([gog_game(1207658930, 1), gog_game(1207658931, 2)], retries=2)

    assert answers[1].status == "error" and "429" in answers[1].message
    assert gog.server.count(gog.builds_pattern(1207658930)) == 3
    assert isinstance(answers[2], Signal)


def test_retry_after_too_long_fails_fast(gog, run):
    gog.catalogue.add_product(1207658930)
    gog.server.fail(gog.builds_pattern(), 429, times=1, retry_after=3600)

    problem = run([gog_game(1207658930, 1)], max_retry_after=5)[1]

    assert problem.status == "error" and "Retry-After" in problem.message
    assert gog.server.count(gog.builds_pattern()) == 1


def test_5xx_is_retried_with_backoff(gog, run):
    gog.catalogue.add_product(1207658930)
    gog.server.fail(gog.builds_pattern(), 503, times=2)

    assert isinstance(run([gog_game(1207658930, 1)])[1], Signal)
    assert gog.server.count(gog.builds_pattern()) == 3


def test_timeout_and_dropped_connection_are_errors(gog, run):
    gog.catalogue.add_product(1207658930)
    gog.catalogue.add_product(1207658931)
    gog.server.fail(gog.builds_pattern(1207658930), Response(delay=2), times=1)
    gog.server.fail(gog.builds_pattern(1207658931), Response(drop=True), times=1)

    answers = run([gog_game(1207658930, 1), gog_game(1207658931, 2)], timeout=0.3, retries=0)

    assert answers[1].status == "error" and "Timeout" in answers[1].message
    assert answers[2].status == "error" and "no answer after 1 attempt " in answers[2].message


def test_gives_up_when_gog_keeps_failing(gog):
    for _ in range(10):
        gog.catalogue.add_product()
    gog.server.fail(".*", 503, times=1000)
    games = [gog_game(pid, n) for n, pid in enumerate(gog.catalogue.products)]
    settings = {**gog.settings, "retries": 0, "concurrency": 1, "max_consecutive_failures": 3}

    answered = []
    with pytest.raises(Unreachable, match="3 products in a row"):
        for _game_id, result in check_updates_bulk(games=games, settings=settings):
            answered.append(result)

    # The failures were answered (recorded as errors); the rest are left to the next plugin.
    assert len(answered) == 3 and all(r.status == "error" for r in answered)
    assert gog.server.count(".*") < 10


def test_stopping_early_cancels_pending_requests(gog):
    for _ in range(30):
        gog.catalogue.add_product()
    gog.server.latency = 0.05
    games = [gog_game(pid, n) for n, pid in enumerate(gog.catalogue.products)]

    results = check_updates_bulk(games=games, settings={**gog.settings, "concurrency": 2})
    next(iter(results))
    results.close()

    assert gog.server.count(".*") < 10


def test_concurrency_limit_is_honoured(gog, run):
    in_flight, peak, lock = 0, 0, threading.Lock()

    def slow(request):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.03)
        with lock:
            in_flight -= 1

    gog.observer = slow
    for _ in range(24):
        gog.catalogue.add_product()

    answers = run([gog_game(pid, n) for n, pid in enumerate(gog.catalogue.products)], concurrency=3)

    assert len(answers) == 24
    assert 2 <= peak <= 3


def test_bad_settings(gog):
    with pytest.raises(SettingsError, match="unknown os"):
        check_updates_bulk(games=[gog_game(1, 1)], settings={**gog.settings, "os": "windows,amiga"})
    assert "concurrency" in is_available(settings={**gog.settings, "concurrency": "zero"})
    assert "builds_url" in is_available(settings={"builds_url": "content-system.gog.com"})


def test_is_available(gog):
    assert is_available(settings=gog.settings) is True

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listening (refused, like no network or no route): the core is told it is
    # unreachable, so an offline user's syncs never switch the plugin off.
    with pytest.raises(core_http.Unreachable, match="cannot reach the GOG builds API"):
        is_available(settings={"builds_url": f"http://127.0.0.1:{port}", "probe_timeout": "0.5"})


def test_linux_alone_needs_only_the_product_api(gog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = f"http://127.0.0.1:{port}"

    assert is_available(settings={**gog.settings, "builds_url": closed, "os": "linux"}) is True
    with pytest.raises(core_http.Unreachable, match="product API"):
        is_available(settings={**gog.settings, "api_url": closed, "os": "linux", "probe_timeout": "0.5"})
