"""One shared HTTP session to Epic, with a rate limit and backoff on 429/5xx."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import requests
from patchwatch.http import GaveUp, RetryAfterTooLong, RetryPolicy, new_session, send_with_retries

from .settings import EpicSettings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class EpicError(Exception):
    """A request to Epic failed; the message is meant for a person.

    ``systemic`` marks failures that would hit every further request too (store
    unreachable, rate limit not lifting, credentials refused): the check stops there.
    """

    def __init__(self, message: str, *, status: int | None = None, systemic: bool = False):
        super().__init__(message)
        self.status = status
        self.systemic = systemic


class AuthError(EpicError):
    """A token was refused and could not be renewed."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message, status=status, systemic=True)


class RateLimiter:
    """Spaces requests at least ``1 / rate`` seconds apart (thread-safe)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


class Http:
    """Sends requests through one ``requests.Session``, retrying what is worth retrying."""

    def __init__(self, settings: EpicSettings, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        if session is None:
            session = new_session("epic", pool_size=max(10, settings.concurrency))
        self.session = session
        self.session.headers["User-Agent"] = settings.user_agent
        self.limiter = RateLimiter(settings.rate, sleep=sleep)
        self._sleep = sleep
        self.sent = 0
        """Requests sent, retries included."""

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        """Send ``method url`` and return the first answer that is not worth retrying.

        Retries 429 and 5xx answers, timeouts and dropped connections up to
        ``settings.retries`` times, waiting as ``Retry-After`` says or with exponential
        backoff. Raises a systemic :class:`EpicError` when the attempts run out.
        """
        settings = self.settings
        kwargs.setdefault("timeout", settings.timeout)
        policy = RetryPolicy(retries=settings.retries, backoff=settings.backoff,
                             max_retry_after=settings.max_wait, max_backoff=settings.max_wait)

        def send(attempt: int) -> requests.Response:
            self.limiter.wait()
            self.sent += 1
            return self.session.request(method, url, **kwargs)

        try:
            return send_with_retries(
                send, policy, sleep=self._sleep, retry_on=(requests.Timeout, requests.ConnectionError),
                retry_status=RETRY_STATUSES.__contains__,
            )
        except RetryAfterTooLong as exc:
            raise EpicError(
                f"{what}: Epic answered HTTP {exc.status} and asks to wait {exc.retry_after:g}s "
                f"(more than max_wait={settings.max_wait:g}s); try again later",
                status=exc.status, systemic=True,
            ) from None
        except GaveUp as exc:
            if isinstance(exc.cause, requests.Timeout):
                last = f"timed out after {settings.timeout:g}s"
            elif exc.cause is not None:
                last = f"connection failed ({_short(exc.cause)})"
            else:
                last = f"HTTP {exc.status}"
            raise EpicError(f"{what}: {last} after {exc.attempts} attempt(s)",
                            status=exc.status, systemic=True) from None


def json_body(response: requests.Response, what: str) -> Any:
    """The JSON of an answer, or a clear :class:`EpicError` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise EpicError(
            f"{what}: malformed JSON in Epic's answer (HTTP {response.status_code})",
            status=response.status_code,
        ) from None


def error_text(response: requests.Response) -> str:
    """``HTTP 404 errors.com.epicgames... (message)`` from an Epic error answer."""
    text = f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return text
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("error")
        message = body.get("errorMessage") or body.get("error_description")
        if code:
            text += f" {code}"
        if message:
            text += f" ({message})"
    return text


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "..."
