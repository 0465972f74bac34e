"""A polite HTTP client for GOG's public APIs: sessions per thread, retries, a shared back-off gate."""

from __future__ import annotations

import re
import threading
from typing import Any

import requests
from patchwatch.http import (GaveUp, HostGate, RetryAfterTooLong, RetryPolicy, new_session,
                             send_with_retries)

from .settings import GogSettings

_PASSWORD = re.compile(r"(password=)[^&\s'\"]*", re.IGNORECASE)


def scrub(text: str) -> str:
    """``text`` with any ``password=`` query value masked (transport errors quote the URL)."""
    return _PASSWORD.sub(r"\1***", text)


class GogError(Exception):
    """A request to GOG failed; the message says which and why."""


class NotFound(GogError):
    """GOG answered 404."""


class Malformed(GogError):
    """GOG answered 200 with a body that is not what its API sends."""


class Unreachable(GogError):
    """GOG kept failing at the transport or server level (timeouts, 5xx, 429) after retries."""


class GogClient:
    """GETs JSON from GOG with retries; safe to use from several threads at once."""

    def __init__(self, settings: GogSettings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._gate = HostGate(self._stop)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def abort(self) -> None:
        """Make waiting and future requests fail at once (the sync is being given up)."""
        self._stop.set()

    def close(self) -> None:
        self.abort()
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> "GogClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = new_session("gog")
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def get_json(self, url: str, params: dict[str, Any] | None = None, *, what: str) -> Any:
        """GET ``url`` and decode its JSON, retrying 429, 5xx and transport errors.

        Raises :class:`NotFound` on 404 or 410, :class:`Malformed` on an undecodable 200,
        :class:`Unreachable` when retries run out and :class:`GogError` on other statuses.
        ``what`` names the request in messages (``builds of product 1207658930 (windows)``).
        """
        s = self.settings
        policy = RetryPolicy(retries=s.retries, backoff=s.backoff, max_retry_after=s.max_retry_after)

        def send(attempt: int) -> requests.Response:
            if self._stop.is_set():
                raise Unreachable(f"{what}: not asked, the check was stopped")
            return self._session().get(url, params=params, timeout=s.timeout)

        try:
            response = send_with_retries(send, policy, gate=self._gate, sleep=self._stop.wait)
        except RetryAfterTooLong as exc:
            raise Unreachable(
                f"{what}: GOG asked to wait {exc.retry_after:g} s (Retry-After), more than "
                f"max_retry_after={s.max_retry_after:g} s"
            ) from None
        except GaveUp as exc:
            raise Unreachable(
                f"{what}: no answer after {exc.attempts} attempt{'s' if exc.attempts > 1 else ''} "
                f"(last: {scrub(exc.reason)})"
            ) from None
        status = response.status_code
        if status == 200:
            try:
                return response.json()
            except ValueError as exc:
                raise Malformed(f"{what}: GOG sent a malformed answer ({exc})") from None
        if status in (404, 410):
            raise NotFound(f"{what}: GOG answered HTTP {status}")
        raise GogError(f"{what}: GOG answered HTTP {status}")

    def probe(self, url: str) -> None:
        """One quick GET with no retry; raises :class:`requests.RequestException` if unreachable."""
        with new_session("gog") as session:
            session.get(url, timeout=self.settings.probe_timeout).close()
