"""patchwatch.http against the loopback fake: session, Retry-After, host gate, retry loop."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

import patchwatch
from patchwatch.http import (HostGate, RetriesExhausted, RetryAfterTooLong, RetryPolicy,
                             new_session, retry_after_seconds, send_with_retries, user_agent)
from patchwatch.testing import Response

pytestmark = pytest.mark.timeout(10)

FAST = RetryPolicy(retries=2, backoff=0.01, max_retry_after=5.0)


@pytest.fixture
def session():
    with new_session("example", pool_size=4) as s:
        yield s


def getter(session, url, timeout=2.0):
    return lambda attempt: session.get(url, timeout=timeout)


def test_session_sends_a_clear_user_agent_and_asks_for_json(fake_store, session):
    fake_store.route("GET", "/ping", {"ok": True})
    assert session.get(f"{fake_store.url}/ping").json() == {"ok": True}
    headers = fake_store.requests[0].headers
    assert headers["User-Agent"] == f"patchwatch/{patchwatch.__version__} (+example)" == user_agent("example")
    assert headers["Accept"] == "application/json"
    with new_session("example", agent="custom/1.0") as other:
        other.get(f"{fake_store.url}/ping")
    assert fake_store.requests[1].headers["User-Agent"] == "custom/1.0"


@pytest.mark.parametrize("header, expected", [
    ("3", 3.0), (" 0.5 ", 0.5), ("-2", 0.0), ("soon", None), ("", None), (None, None),
])
def test_retry_after_seconds(header, expected):
    assert retry_after_seconds(header) == expected


def test_retry_after_http_date():
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 31
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(earlier) == 0.0


def test_5xx_is_retried_with_doubling_backoff(fake_store, session):
    fake_store.route("GET", "/item", {"id": 1})
    fake_store.fail("/item", 503, times=2)
    waits: list[float] = []
    policy = RetryPolicy(retries=3, backoff=0.25, max_retry_after=5.0)
    response = send_with_retries(getter(session, f"{fake_store.url}/item"), policy, sleep=waits.append)
    assert response.status_code == 200 and response.json() == {"id": 1}
    assert waits == [0.25, 0.5] and fake_store.count("/item") == 3


def test_backoff_is_capped_by_max_backoff(fake_store, session):
    fake_store.fail("/item", 500, times=4)
    waits: list[float] = []
    policy = RetryPolicy(retries=3, backoff=0.5, max_retry_after=5.0, max_backoff=1.5)
    with pytest.raises(RetriesExhausted) as info:
        send_with_retries(getter(session, f"{fake_store.url}/item"), policy, sleep=waits.append)
    assert waits == [0.5, 1.0, 1.5]  # no wait after the last attempt
    assert (info.value.attempts, info.value.status, info.value.reason) == (4, 500, "HTTP 500")


def test_retry_after_of_a_5xx_is_the_wait(fake_store, session):
    fake_store.route("GET", "/item", {"id": 1})
    fake_store.fail("/item", 503, times=1, retry_after=2)
    waits: list[float] = []
    send_with_retries(getter(session, f"{fake_store.url}/item"), FAST, sleep=waits.append)
    assert waits == [2.0]


def test_other_answers_are_returned_unretried(fake_store, session):
    fake_store.route("GET", "/gone", Response(404, json={"error": "no such product"}))
    response = send_with_retries(getter(session, f"{fake_store.url}/gone"), FAST, sleep=pytest.fail)
    assert response.status_code == 404 and fake_store.count("/gone") == 1


def test_too_long_a_retry_after_gives_up_at_once(fake_store, session):
    fake_store.fail("/item", 429, times=5, retry_after=3600)
    gate = HostGate()
    with pytest.raises(RetryAfterTooLong) as info:
        send_with_retries(getter(session, f"{fake_store.url}/item"), FAST, gate=gate, sleep=pytest.fail)
    assert (info.value.status, info.value.retry_after, info.value.attempts) == (429, 3600.0, 1)
    assert fake_store.count("/item") == 1
    start = time.monotonic()
    gate.wait()  # the gate was not closed for an hour
    assert time.monotonic() - start < 0.5


def test_timeouts_and_dropped_connections_are_retried(fake_store, session):
    fake_store.route("GET", "/item", {"id": 1})
    fake_store.fail("/item", Response(delay=1.0), times=1)
    fake_store.fail("/item", Response(drop=True), times=1)
    causes: list[str] = []

    def send(attempt: int) -> requests.Response:
        try:
            return session.get(f"{fake_store.url}/item", timeout=0.3)
        except requests.RequestException as exc:
            causes.append(type(exc).__name__)
            raise

    assert send_with_retries(send, FAST, sleep=lambda s: None).json() == {"id": 1}
    assert causes[0] == "ReadTimeout" and len(causes) == 2 and fake_store.count("/item") == 3


def test_exhausted_retries_keep_the_last_cause(fake_store, session):
    fake_store.fail("/item", Response(drop=True), times=3)
    with pytest.raises(RetriesExhausted) as info:
        send_with_retries(getter(session, f"{fake_store.url}/item"), FAST, sleep=lambda s: None)
    assert info.value.status is None and isinstance(info.value.cause, requests.ConnectionError)
    assert info.value.reason.startswith("ConnectionError: ") and fake_store.count("/item") == 3


def test_what_is_retried_is_the_callers_choice(fake_store, session):
    fake_store.route("GET", "/item", {"id": 1})
    fake_store.fail("/item", 501, times=1)
    only_timeouts = dict(retry_on=(requests.Timeout,), retry_status={429, 503}.__contains__)
    assert send_with_retries(getter(session, f"{fake_store.url}/item"), FAST,
                             **only_timeouts).status_code == 501
    fake_store.fail("/item", Response(drop=True), times=1)
    with pytest.raises(requests.ConnectionError):
        send_with_retries(getter(session, f"{fake_store.url}/item"), FAST, **only_timeouts)


def test_hooks_see_each_attempt_and_may_stop_the_loop(fake_store, session):
    fake_store.fail("/item", 503, times=5)
    seen: list[tuple[str, int]] = []

    def before(attempt: int) -> None:
        seen.append(("before", attempt))
        if attempt == 2:
            raise LookupError("host taken out")

    def send(attempt: int) -> requests.Response:
        seen.append(("send", attempt))
        return session.get(f"{fake_store.url}/item", timeout=2)

    with pytest.raises(LookupError):
        send_with_retries(send, FAST, before_attempt=before, sleep=lambda s: None)
    assert seen == [("before", 0), ("send", 0), ("before", 1), ("send", 1), ("before", 2)]


def test_a_429_holds_back_every_worker_of_the_host(fake_store, session):
    fake_store.route("GET", "/item", {"id": 1})
    fake_store.fail("/item", 429, times=1, retry_after=0.6)
    gate = HostGate()
    policy = RetryPolicy(retries=0, backoff=0.01, max_retry_after=5.0)
    with pytest.raises(RetriesExhausted):  # the 429 was the last attempt: the gate closes anyway
        send_with_retries(getter(session, f"{fake_store.url}/item"), policy, gate=gate, sleep=pytest.fail)
    closed_at = time.monotonic()

    sent_at: list[float] = []
    statuses: list[int] = []

    def worker() -> None:
        def send(attempt: int) -> requests.Response:
            sent_at.append(time.monotonic())
            return session.get(f"{fake_store.url}/item", timeout=2)
        statuses.append(send_with_retries(send, FAST, gate=gate).status_code)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200, 200] and min(sent_at) - closed_at >= 0.5


def test_a_429_without_retry_after_closes_the_gate_for_the_backoff(fake_store, session):
    fake_store.route("GET", "/item", {"id": 1})
    fake_store.fail("/item", 429, times=1)
    policy = RetryPolicy(retries=1, backoff=0.4, max_retry_after=5.0)
    start = time.monotonic()
    response = send_with_retries(getter(session, f"{fake_store.url}/item"), policy,
                                 gate=HostGate(), sleep=pytest.fail)
    assert response.status_code == 200 and time.monotonic() - start >= 0.35


def test_stopping_opens_the_gate():
    stop = threading.Event()
    gate = HostGate(stop)
    gate.close_for(60)
    threading.Timer(0.1, stop.set).start()
    start = time.monotonic()
    gate.wait()
    assert time.monotonic() - start < 5


def test_a_later_instant_wins():
    gate = HostGate()
    gate.close_for(0.3)
    gate.close_for(0.05)  # does not shorten the pause
    start = time.monotonic()
    gate.wait()
    assert time.monotonic() - start >= 0.25


def test_a_store_may_say_the_wait_in_its_body(fake_store, session):
    """``wait_from`` reads the wait where the store puts it (Epic: a 429's error body)."""
    fake_store.route("GET", "/item", {"id": 1})
    fake_store.fail("/item", Response(429, json={"wait": 0.5}), times=1)
    slept: list[float] = []

    def body_wait(response):
        return float(response.json()["wait"])

    response = send_with_retries(getter(session, f"{fake_store.url}/item"), FAST,
                                 sleep=slept.append, wait_from=body_wait)
    assert response.json() == {"id": 1}
    assert slept == [0.5], "the body's wait, not the 0.01 s backoff"
    fake_store.fail("/item", Response(429, json={"wait": 60}), times=1)
    with pytest.raises(RetryAfterTooLong):
        send_with_retries(getter(session, f"{fake_store.url}/item"), FAST,
                          sleep=slept.append, wait_from=body_wait)
