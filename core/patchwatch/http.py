"""Polite JSON-over-HTTP for plugins: a session, a shared host gate, Retry-After, retries.

A plugin keeps its own client class (what it counts, which errors it raises, how it
decodes answers) and builds it from these pieces::

    session = new_session("example", pool_size=8)
    gate = HostGate()                        # shared by every worker thread of one host
    policy = RetryPolicy(retries=3, backoff=1.0, max_retry_after=60.0)
    try:
        response = send_with_retries(
            lambda attempt: session.get(url, timeout=10), policy, gate=gate)
    except GaveUp as exc:                    # RetryAfterTooLong or RetriesExhausted
        raise ExampleError(f"{url}: {exc.reason}") from None

``send`` is the place for per-attempt work such as taking a rate-limit token.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Callable

import requests
from requests.adapters import HTTPAdapter

from . import __version__


def user_agent(plugin: str) -> str:
    """The User-Agent a plugin sends: ``patchwatch/<version> (+<plugin>)``."""
    return f"patchwatch/{__version__} (+{plugin})"


def new_session(plugin: str, *, pool_size: int = 10, agent: str | None = None) -> requests.Session:
    """A session asking for JSON, with keep-alive and no hidden retries.

    ``pool_size`` is the most connections kept open per host (make it at least the number
    of worker threads); ``agent`` replaces the default :func:`user_agent`.
    """
    session = requests.Session()
    session.headers.update({"User-Agent": agent or user_agent(plugin), "Accept": "application/json"})
    adapter = HTTPAdapter(pool_maxsize=max(pool_size, 1), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
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


def retry_after_header(response: requests.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for: the default ``wait_from`` of
    :func:`send_with_retries`. A store that says it elsewhere (in its error body)
    passes its own reader, which may fall back to this one."""
    return retry_after_seconds(response.headers.get("Retry-After"))


class HostGate:
    """Holds every worker of one host back until a shared instant (a 429's Retry-After).

    ``stop``, when given and set, ends every wait at once (the sync is being given up).
    """

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0
        self._stop = stop or threading.Event()

    def close_for(self, seconds: float) -> None:
        """Let no request through for ``seconds`` from now (a later instant already set wins)."""
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def wait(self) -> None:
        """Return once the gate is open (or ``stop`` is set)."""
        while True:
            with self._lock:
                pause = self._not_before - time.monotonic()
            if pause <= 0 or self._stop.wait(pause):
                return


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how long to wait, before giving up on a request."""

    retries: int
    """Extra attempts after the first."""
    backoff: float
    """First wait when the server gives no Retry-After, doubled after each attempt."""
    max_retry_after: float
    """Longest Retry-After honoured; a longer one gives up at once."""
    max_backoff: float = math.inf
    """Cap on the doubled backoff."""

    def backoff_for(self, attempt: int) -> float:
        """The wait after attempt number ``attempt`` (0 is the first) without Retry-After."""
        return min(self.backoff * 2**attempt, self.max_backoff)


class GaveUp(Exception):
    """No usable answer: the plugin turns this into its own error."""

    def __init__(self, *, attempts: int, status: int | None, cause: BaseException | None,
                 retry_after: float | None = None):
        self.attempts = attempts
        """Requests sent."""
        self.status = status
        """Status of the last answer, None when the last attempt got none."""
        self.cause = cause
        """The exception of the last attempt, None when it got an answer."""
        self.retry_after = retry_after
        """The last Retry-After, in seconds, if any."""
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """``HTTP 503`` or ``ReadTimeout: ...``: what went wrong the last time."""
        if self.cause is not None:
            return f"{type(self.cause).__name__}: {self.cause}"
        return f"HTTP {self.status}"


class RetryAfterTooLong(GaveUp):
    """The server asked to wait longer than ``max_retry_after``; nothing more was sent."""


class RetriesExhausted(GaveUp):
    """Every attempt failed."""


def is_retryable_status(status: int) -> bool:
    """429 (rate limited) and every 5xx."""
    return status == 429 or status >= 500


def send_with_retries(
    send: Callable[[int], requests.Response],
    policy: RetryPolicy,
    *,
    gate: HostGate | None = None,
    before_attempt: Callable[[int], None] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    retry_on: tuple[type[BaseException], ...] = (requests.RequestException,),
    retry_status: Callable[[int], bool] = is_retryable_status,
    wait_from: Callable[[requests.Response], float | None] = retry_after_header,
) -> requests.Response:
    """Call ``send(attempt)`` until it returns an answer that is not worth retrying.

    Each attempt runs ``before_attempt(attempt)`` (raise there to stop), waits for
    ``gate``, then calls ``send``. An exception in ``retry_on`` or a status for which
    ``retry_status`` is true is retried after the wait the answer asks for
    (``wait_from(response)``, by default its Retry-After), else after
    ``policy.backoff_for(attempt)``. A 429 closes ``gate`` for that long, so every worker
    of the host waits; other waits ``sleep`` this thread. Returns the first other answer
    (2xx, 3xx, 4xx: the caller judges it). Raises :class:`RetryAfterTooLong` at once when
    the server asks for more than ``policy.max_retry_after``, :class:`RetriesExhausted`
    after ``policy.retries + 1`` failed attempts.
    """
    status: int | None = None
    cause: BaseException | None = None
    wait: float | None = None
    for attempt in range(policy.retries + 1):
        if before_attempt is not None:
            before_attempt(attempt)
        if gate is not None:
            gate.wait()
        try:
            response = send(attempt)
        except retry_on as exc:
            status, cause, wait = None, exc, None
        else:
            if not retry_status(response.status_code):
                return response
            status, cause = response.status_code, None
            wait = wait_from(response)
            response.close()
            if wait is not None and wait > policy.max_retry_after:
                raise RetryAfterTooLong(attempts=attempt + 1, status=status, cause=None,
                                        retry_after=wait)
        pause = policy.backoff_for(attempt) if wait is None else wait
        if status == 429 and gate is not None:
            gate.close_for(pause)  # even after the last attempt: the host is still limited
        elif attempt < policy.retries:
            sleep(pause)
    raise RetriesExhausted(attempts=policy.retries + 1, status=status, cause=cause, retry_after=wait)
