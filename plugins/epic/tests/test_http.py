"""The shared session: rate limit spacing and Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from patchwatch.http import retry_after_seconds as retry_after
from patchwatch_epic.http import Http, RateLimiter
from patchwatch_epic.settings import EpicSettings


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_rate_limiter_spaces_requests():
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.wait()
    assert clock.slept == [0.25, 0.25]
    clock.now += 10  # idle: no wait owed
    limiter.wait()
    assert clock.slept == [0.25, 0.25]


def test_rate_zero_means_no_limit():
    clock = FakeClock()
    limiter = RateLimiter(0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.wait()
    assert clock.slept == []


def test_requests_go_through_the_limiter(epic, fake_store):
    waits: list[float] = []
    settings = EpicSettings.from_mapping(epic.settings(rate=2))
    http = Http(settings, sleep=waits.append)
    for _ in range(3):
        assert http.request("POST", f"{fake_store.url}/account/api/oauth/token", "t").status_code == 401
    http.close()
    # the sleep is not real, so the debt piles up: 0.5 s, then 1 s (minus elapsed time)
    assert len(waits) == 2 and 0.3 < waits[0] <= 0.5 and 0.8 < waits[1] <= 1.0
    assert http.sent == 3


def test_backoff_doubles_between_attempts(epic, fake_store):
    waits: list[float] = []
    settings = EpicSettings.from_mapping(epic.settings(backoff=0.5, retries=3, max_wait=1.5))
    http = Http(settings, sleep=waits.append)
    fake_store.fail(".*", 503, times=3)
    response = http.request("POST", f"{fake_store.url}/account/api/oauth/token", "t")
    assert response.status_code == 401  # the 4th attempt reached the route
    assert waits == [0.5, 1.0, 1.5]


@pytest.mark.parametrize("header, low, high", [
    ("3", 3, 3), ("0.5", 0.5, 0.5), ("-2", 0, 0), ("soon", None, None), (None, None, None),
])
def test_retry_after_seconds(header, low, high):
    value = retry_after(header)
    assert value == low == high if low is None else low <= value <= high


def test_retry_after_http_date():
    when = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= retry_after(format_datetime(when, usegmt=True)) <= 31
