"""A polite HTTP client for GOG's public APIs: sessions per thread, retries, a shared back-off gate."""

from __future__ import annotations

import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from .settings import GogSettings

USER_AGENT = "patchwatch-gog/0.1 (+https://github.com/patchwatch)"


class GogError(Exception):
    """A request to GOG failed; the message says which and why."""


class NotFound(GogError):
    """GOG answered 404."""


class Malformed(GogError):
    """GOG answered 200 with a body that is not what its API sends."""


class Unreachable(GogError):
    """GOG kept failing at the transport or server level (timeouts, 5xx, 429) after retries."""


class _Gate:
    """Holds every worker back until a shared instant (set by a 429's Retry-After)."""

    def __init__(self, stop: threading.Event) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0
        self._stop = stop

    def close_for(self, seconds: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def wait(self) -> None:
        while True:
            with self._lock:
                pause = self._not_before - time.monotonic()
            if pause <= 0 or self._stop.wait(pause):
                return


class GogClient:
    """GETs JSON from GOG with retries; safe to use from several threads at once."""

    def __init__(self, settings: GogSettings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._gate = _Gate(self._stop)
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
            session = requests.Session()
            session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
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
        last = ""
        for attempt in range(s.retries + 1):
            self._gate.wait()
            if self._stop.is_set():
                raise Unreachable(f"{what}: not asked, the check was stopped")
            try:
                response = self._session().get(url, params=params, timeout=s.timeout)
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
                self._pause(attempt, None)
                continue
            status = response.status_code
            if status == 200:
                try:
                    return response.json()
                except ValueError as exc:
                    raise Malformed(f"{what}: GOG sent a malformed answer ({exc})") from None
            if status in (404, 410):
                raise NotFound(f"{what}: GOG answered HTTP {status}")
            if status == 429 or status >= 500:
                last = f"HTTP {status}"
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait is not None and wait > s.max_retry_after:
                    raise Unreachable(
                        f"{what}: GOG asked to wait {wait:g} s (Retry-After), more than "
                        f"max_retry_after={s.max_retry_after:g} s"
                    )
                if status == 429:
                    # One rate-limit answer holds back every worker, not just this one.
                    self._gate.close_for(wait if wait is not None else self._backoff(attempt))
                else:
                    self._pause(attempt, wait)
                continue
            raise GogError(f"{what}: GOG answered HTTP {status}")
        attempts = s.retries + 1
        raise Unreachable(
            f"{what}: no answer after {attempts} attempt{'s' if attempts > 1 else ''} (last: {last})"
        )

    def probe(self, url: str) -> None:
        """One quick GET with no retry; raises :class:`requests.RequestException` if unreachable."""
        with requests.Session() as session:
            session.headers["User-Agent"] = USER_AGENT
            session.get(url, timeout=self.settings.probe_timeout).close()

    def _backoff(self, attempt: int) -> float:
        return self.settings.backoff * (2**attempt)

    def _pause(self, attempt: int, retry_after: float | None) -> None:
        if attempt < self.settings.retries:
            self._stop.wait(retry_after if retry_after is not None else self._backoff(attempt))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
