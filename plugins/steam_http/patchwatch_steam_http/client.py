"""Polite HTTP for one host: a token bucket, a cap on requests in flight, retries, 429 pauses."""

from __future__ import annotations

import json
import threading
from typing import Any, Mapping

import requests
from patchwatch.http import (GaveUp, HostGate, RetryAfterTooLong, RetryPolicy, is_unreachable,
                             send_with_retries)
from pyrate_limiter import Limiter, Rate, SingleBucketFactory, StateBucket, TokenBucket

from .settings import Settings

PLUGIN = "steam_http"


class FetchError(Exception):
    """A request that gave no usable answer, after any retries.

    ``transport`` marks failures of the host rather than of one game's answer (no
    connection, timeout, 5xx, 429): enough of them in a row take the host out of the sync.
    """

    def __init__(self, message: str, *, transport: bool = False):
        super().__init__(message)
        self.transport = transport


class HostDown(FetchError):
    """The host was taken out of this sync; the request was not sent."""

    def __init__(self, message: str):
        super().__init__(message, transport=True)


def _token_bucket(interval: float) -> Limiter | None:
    """At most one request per ``interval`` seconds, evenly spaced (burst of one)."""
    if interval <= 0:
        return None
    bucket = StateBucket([Rate(1, max(1, round(interval * 1000)), burst=1)], algorithm=TokenBucket())
    return Limiter(SingleBucketFactory(bucket, schedule_leak=False), buffer_ms=1)


class Host:
    """Everything one host gets from us, shared by the worker threads of one sync."""

    def __init__(self, name: str, session: requests.Session, settings: Settings,
                 interval: float, concurrency: int):
        self.name = name
        self.session = session
        self.settings = settings
        self.interval = interval
        self.concurrency = concurrency
        self._bucket = _token_bucket(interval)
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._gate = HostGate()
        self._failures = 0
        self.down: str | None = None
        """Why the host was taken out of this sync (None while it is in)."""
        self.requests = 0
        self.retried = 0

    # -- state shared between threads -------------------------------------------
    def _succeeded(self) -> None:
        with self._lock:
            self._failures = 0

    def _failed(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.settings.host_failures and self.down is None:
                self.down = f"{self._failures} failures in a row, last: {reason}"

    def take_down(self, reason: str) -> None:
        with self._lock:
            self.down = self.down or reason

    # -- requests ---------------------------------------------------------------
    def get(self, url: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        """GET with the host's limits; 429, 5xx, timeouts and dropped connections are retried.

        Returns any other response (2xx, 3xx, 4xx) for the caller to judge. Raises
        :class:`FetchError` (transport) when the retries run out, :class:`HostDown` when
        the host is out of this sync.
        """
        s = self.settings
        policy = RetryPolicy(retries=s.retries, backoff=s.backoff, max_retry_after=s.max_retry_after)

        def send(attempt: int) -> requests.Response:
            with self._slots:
                self._check_up()  # went out while this thread waited for a slot?
                if self._bucket is not None:
                    self._bucket.try_acquire(self.name)
                with self._lock:
                    self.requests += 1
                    self.retried += attempt > 0
                return self.session.get(url, params=params, timeout=s.timeout)

        try:
            response = send_with_retries(send, policy, gate=self._gate,
                                         before_attempt=lambda attempt: self._check_up())
        except RetryAfterTooLong as exc:
            reason = f"HTTP {exc.status} asking to wait {exc.retry_after:g} s (more than max_retry_after)"
            self.take_down(reason)
            raise FetchError(f"{self.name}: {reason}", transport=True) from None
        except GaveUp as exc:
            error = self._describe(exc)
            self._failed(error)
            raise FetchError(f"{self.name}: {error}" + (f" after {s.retries + 1} attempts" if s.retries else ""),
                             transport=True) from None
        if response.status_code == 403 and is_html(response):
            # Steam's edge (Akamai) answers an IP it blocks with an HTML "Access Denied" page
            # for every path, for minutes to hours (rafaelgomesxyz/esgst#650,
            # SmItH197/SteamAuthentication#252, Santodan/PlayniteAchievements#11): ask
            # nothing more of this host in this sync. A JSON 403 is the API's own answer.
            reason = "HTTP 403 with an HTML page: the host blocked this IP address"
            self.take_down(reason)
            raise FetchError(f"{self.name}: {reason}", transport=True)
        self._succeeded()
        return response

    def _check_up(self) -> None:
        if self.down:
            raise HostDown(f"{self.name} skipped for this sync ({self.down})")

    def _describe(self, exc: GaveUp) -> str:
        if isinstance(exc.cause, requests.Timeout):
            return f"no answer within {self.settings.timeout:g} s"
        if exc.cause is not None:
            return f"connection failed ({type(exc.cause).__name__})"
        return f"HTTP {exc.status}"

    def probe(self, url: str) -> str | None:
        """One quick request outside the limits; None if the host answers, else why not."""
        try:
            response = self.session.get(url, timeout=self.settings.probe_timeout)
        except requests.Timeout:
            return f"no answer within {self.settings.probe_timeout:g} s"
        except requests.RequestException as exc:
            if is_unreachable(exc):  # a str subclass the plugin's is_available counts
                return UnreachableReason(f"unreachable ({type(exc).__name__})")
            return f"unreachable ({type(exc).__name__})"
        response.close()
        if response.status_code >= 500:
            return f"HTTP {response.status_code}"
        return None


class UnreachableReason(str):
    """A probe's reason when the host could not be reached at all (DNS, route, refused)."""


def is_html(response: requests.Response) -> bool:
    """Whether an answer is a web page rather than the API's JSON."""
    if "html" in response.headers.get("Content-Type", "").lower():
        return True
    return response.content[:64].lstrip().startswith(b"<")


def decode_json(response: requests.Response, what: str) -> Any:
    """The body as JSON; an empty or malformed body is a per-game error."""
    body = response.content
    if not body or not body.strip():
        raise FetchError(f"{what}: empty answer (HTTP {response.status_code})")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise FetchError(f"{what}: malformed JSON ({exc.msg} at char {exc.pos})") from None
    except UnicodeDecodeError:
        raise FetchError(f"{what}: malformed JSON (not UTF-8)") from None
