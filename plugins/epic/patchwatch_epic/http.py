"""One shared HTTP session to Epic, with a rate limit and backoff on 429/5xx."""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Callable

import requests
from patchwatch.http import (GaveUp, HostGate, RetryAfterTooLong, RetryPolicy, is_unreachable,
                             new_session,
                             retry_after_header, send_with_retries)

from .settings import EpicSettings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
THROTTLED = 1041
"""Epic's ``numericErrorCode`` for ``errors.com.epicgames.common.throttled``
(FortniteEndpointsDocumentation ``EpicGames/Errors.md``)."""
_SECONDS = re.compile(r"try again in (\d+(?:\.\d+)?) second")


def epic_wait(response: requests.Response) -> float | None:
    """The wait Epic asks for: ``Retry-After`` if sent, else the throttling error's body.

    Epic's 429 usually has no ``Retry-After``; its body says ``numericErrorCode`` 1041 with
    the seconds as ``messageVars[0]`` and in ``errorMessage`` ("... please try again in 221
    second(s).", qlaffont/fortnite-api#86 and #146).
    """
    header = retry_after_header(response)
    if header is not None:
        return header
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or (body.get("numericErrorCode") != THROTTLED and
                                      not str(body.get("errorCode", "")).endswith("throttled")):
        return None
    found = body.get("messageVars")
    candidates = list(found) if isinstance(found, list) else []
    match = _SECONDS.search(str(body.get("errorMessage") or ""))
    if match:
        candidates.append(match.group(1))
    for value in candidates:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return None


class EpicError(Exception):
    """A request to Epic failed; the message is meant for a person.

    ``systemic`` marks failures that would hit every further request too (store
    unreachable, rate limit not lifting, credentials refused): the check stops there.
    """

    def __init__(self, message: str, *, status: int | None = None, systemic: bool = False):
        super().__init__(message)
        self.status = status
        self.systemic = systemic
        self.unreachable = False
        """The host could not be reached at all (no network, DNS, route, refused)."""


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
        self.gate = HostGate()
        """Closed by a 429 for the wait Epic asks, so every worker thread holds back."""
        self._sleep = sleep
        self.sent = 0
        """Requests sent, retries included."""

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, what: str, *,
                retry_statuses: frozenset[int] = RETRY_STATUSES, retry_timeouts: bool = True,
                **kwargs: Any) -> requests.Response:
        """Send ``method url`` and return the first answer that is not worth retrying.

        Retries ``retry_statuses`` answers, dropped connections and (with
        ``retry_timeouts``) timeouts up to ``settings.retries`` times, waiting as Epic asks
        (:func:`epic_wait`) or with exponential backoff. Raises a systemic
        :class:`EpicError` when the attempts run out.
        """
        settings = self.settings
        timeout = kwargs.setdefault("timeout", settings.timeout)
        retry_on: tuple[type[BaseException], ...] = (
            (requests.Timeout, requests.ConnectionError) if retry_timeouts
            else (requests.ConnectionError,))
        policy = RetryPolicy(retries=settings.retries, backoff=settings.backoff,
                             max_retry_after=settings.max_wait, max_backoff=settings.max_wait)

        def send(attempt: int) -> requests.Response:
            self.limiter.wait()
            self.sent += 1
            return self.session.request(method, url, **kwargs)

        try:
            return send_with_retries(
                send, policy, gate=self.gate, sleep=self._sleep, retry_on=retry_on,
                retry_status=retry_statuses.__contains__, wait_from=epic_wait,
            )
        except requests.Timeout:
            raise EpicError(f"{what}: no answer within {timeout:g}s (not retried: the next "
                            "try would be as slow)", systemic=True) from None
        except RetryAfterTooLong as exc:
            raise EpicError(
                f"{what}: Epic answered HTTP {exc.status} and asks to wait {exc.retry_after:g}s "
                f"(more than max_wait={settings.max_wait:g}s); try again later",
                status=exc.status, systemic=True,
            ) from None
        except GaveUp as exc:
            if isinstance(exc.cause, requests.Timeout):
                last = f"timed out after {timeout:g}s"
            elif exc.cause is not None:
                last = f"connection failed ({_short(exc.cause)})"
            else:
                last = f"HTTP {exc.status}"
            error = EpicError(f"{what}: {last} after {exc.attempts} attempt(s)",
                              status=exc.status, systemic=True)
            error.unreachable = is_unreachable(exc.cause)  # no network, DNS, route: say so
            raise error from None


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
