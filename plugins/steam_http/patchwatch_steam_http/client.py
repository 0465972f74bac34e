"""Polite HTTP for one host: a token bucket, a cap on requests in flight, retries, 429 pauses."""

from __future__ import annotations

import json
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any, Mapping

import patchwatch
import requests
from pyrate_limiter import Limiter, Rate, SingleBucketFactory, StateBucket, TokenBucket
from requests.adapters import HTTPAdapter

from .settings import Settings

USER_AGENT = f"patchwatch/{patchwatch.__version__} (+steam_http)"


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


def new_session(pool_size: int) -> requests.Session:
    """One shared session: keep-alive connections, a clear User-Agent, no hidden retries."""
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 1), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _token_bucket(interval: float) -> Limiter | None:
    """At most one request per ``interval`` seconds, evenly spaced (burst of one)."""
    if interval <= 0:
        return None
    bucket = StateBucket([Rate(1, max(1, round(interval * 1000)), burst=1)], algorithm=TokenBucket())
    return Limiter(SingleBucketFactory(bucket, schedule_leak=False), buffer_ms=1)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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
        self._paused_until = 0.0
        self._failures = 0
        self.down: str | None = None
        """Why the host was taken out of this sync (None while it is in)."""
        self.requests = 0
        self.retried = 0

    # -- state shared between threads -------------------------------------------
    def _pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _wait_for_pause(self) -> None:
        while True:
            with self._lock:
                wait = self._paused_until - time.monotonic()
            if wait <= 0:
                return
            time.sleep(wait)

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
        error = "no attempt"
        for attempt in range(s.retries + 1):
            if self.down:
                raise HostDown(f"{self.name} skipped for this sync ({self.down})")
            self._wait_for_pause()
            wait: float | None = None
            with self._slots:
                if self.down:  # went out while this thread waited for a slot
                    raise HostDown(f"{self.name} skipped for this sync ({self.down})")
                if self._bucket is not None:
                    self._bucket.try_acquire(self.name)
                with self._lock:
                    self.requests += 1
                    self.retried += attempt > 0
                try:
                    response = self.session.get(url, params=params, timeout=s.timeout)
                except requests.Timeout:
                    error = f"no answer within {s.timeout:g} s"
                except requests.RequestException as exc:
                    error = f"connection failed ({type(exc).__name__})"
                else:
                    if response.status_code != 429 and response.status_code < 500:
                        self._succeeded()
                        return response
                    error = f"HTTP {response.status_code}"
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    response.close()
            if wait is None:
                wait = s.backoff * 2 ** attempt
            elif wait > s.max_retry_after:
                reason = f"{error} asking to wait {wait:g} s (more than max_retry_after)"
                self.take_down(reason)
                raise FetchError(f"{self.name}: {reason}", transport=True)
            if error == "HTTP 429":
                self._pause(wait)  # the whole host waits, not only this thread
            elif attempt < s.retries:
                time.sleep(wait)
            if attempt == s.retries:
                break
        self._failed(error)
        raise FetchError(f"{self.name}: {error}" + (f" after {s.retries + 1} attempts" if s.retries else ""),
                         transport=True)

    def probe(self, url: str) -> str | None:
        """One quick request outside the limits; None if the host answers, else why not."""
        try:
            response = self.session.get(url, timeout=self.settings.probe_timeout)
        except requests.Timeout:
            return f"no answer within {self.settings.probe_timeout:g} s"
        except requests.RequestException as exc:
            return f"unreachable ({type(exc).__name__})"
        response.close()
        if response.status_code >= 500:
            return f"HTTP {response.status_code}"
        return None


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
