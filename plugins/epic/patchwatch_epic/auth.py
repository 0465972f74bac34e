"""Epic OAuth tokens: the public client-credentials token and legendary's saved login.

Never asks for a password: the build signal needs a user token, which we take from an
existing legendary login (its ``user.json``) and refresh the way legendary does.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import requests

from .http import AuthError, EpicError, Http, error_text, json_body

TOKEN_PATH = "/account/api/oauth/token"
MARGIN = 120.0
"""Seconds before expiry at which a token counts as expired already."""


class TokenSource(Protocol):
    """Something that hands out a bearer token and can renew it."""

    def token(self) -> str: ...

    def refresh(self, stale: str | None = None) -> str:
        """A new token; when ``stale`` is no longer the current one, the current one."""


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_at: float
    """Epoch seconds."""

    def fresh(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) < self.expires_at - MARGIN


def parse_time(value: Any) -> float | None:
    """Epoch seconds from Epic's ISO 8601 times (``2023-08-30T20:32:21.466Z``)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _token_from(body: dict[str, Any], what: str) -> Token:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise AuthError(f"{what}: Epic's token answer has no access_token")
    expires_at = parse_time(body.get("expires_at"))
    if expires_at is None:
        expires_in = body.get("expires_in")
        seconds = float(expires_in) if isinstance(expires_in, (int, float)) else 0.0
        expires_at = time.time() + seconds
    return Token(access, expires_at)


def request_token(http: Http, form: dict[str, str], what: str) -> dict[str, Any]:
    """POST a grant to the OAuth token endpoint with the launcher client's basic auth."""
    settings = http.settings
    response = http.request(
        "POST", settings.url("oauth_url", TOKEN_PATH), what,
        data={**form, "token_type": "eg1"},
        auth=(settings.client_id, settings.client_secret),
    )
    if response.status_code != 200:
        raise AuthError(f"{what}: Epic refused the grant ({error_text(response)})",
                        status=response.status_code)
    body = json_body(response, what)
    if not isinstance(body, dict):
        raise AuthError(f"{what}: Epic's token answer is not a JSON object")
    return body


class ClientToken:
    """The anonymous client-credentials token, shared by every check in this process."""

    _cache: dict[tuple[str, str], Token] = {}
    _lock = threading.Lock()
    _grant_lock = threading.Lock()
    """Held while granting, so parallel requests share one new token."""

    def __init__(self, http: Http):
        self.http = http
        self._key = (http.settings.oauth_url, http.settings.client_id)

    def _current(self) -> Token | None:
        with self._lock:
            cached = self._cache.get(self._key)
        return cached if cached is not None and cached.fresh() else None

    def token(self) -> str:
        cached = self._current()
        if cached is None:
            with self._grant_lock:
                cached = self._current() or self._grant()
        return cached.access_token

    def refresh(self, stale: str | None = None) -> str:
        with self._grant_lock:
            cached = self._current()
            if stale is None or cached is None or cached.access_token == stale:
                cached = self._grant()
            return cached.access_token  # else another thread renewed it already

    def _grant(self) -> Token:
        what = "client-credentials token"
        body = request_token(self.http, {"grant_type": "client_credentials"}, what)
        token = _token_from(body, what)
        with self._lock:
            self._cache[self._key] = token
        return token

    @classmethod
    def forget_all(cls) -> None:
        """Drop every cached token (tests, or after changing client credentials)."""
        with cls._lock:
            cls._cache.clear()


class LegendarySession:
    """The user's launcher session as legendary saved it in ``user.json``."""

    def __init__(self, http: Http, path: Path, data: dict[str, Any]):
        self.http = http
        self.path = path
        self.data = data
        self._lock = threading.Lock()

    @classmethod
    def load(cls, http: Http, path: str | Path) -> LegendarySession | None:
        """The saved session, ``None`` when there is no file; :class:`EpicError` when unusable."""
        path = Path(path).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise EpicError(f"cannot read legendary login {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise EpicError(f"legendary login {path} is not valid JSON") from None
        if not isinstance(data, dict) or not (data.get("access_token")
                                              or data.get("refresh_token")):
            raise EpicError(f"legendary login {path} holds no token; log in with `legendary auth`")
        return cls(http, path, data)

    @property
    def account(self) -> str:
        return str(self.data.get("displayName") or self.data.get("account_id") or "?")

    def token(self) -> str:
        with self._lock:
            access = self.data.get("access_token")
            expires_at = parse_time(self.data.get("expires_at"))
            if isinstance(access, str) and access and expires_at is not None:
                if Token(access, expires_at).fresh():
                    return access
        return self.refresh()

    def refresh(self, stale: str | None = None) -> str:
        """Trade the refresh token for a new session; save it back when allowed."""
        with self._lock:
            current = self.data.get("access_token")
            if stale is not None and isinstance(current, str) and current != stale:
                return current  # renewed meanwhile (refresh tokens are single-use)
            refresh_token = self.data.get("refresh_token")
            refresh_until = parse_time(self.data.get("refresh_expires_at"))
            if not isinstance(refresh_token, str) or not refresh_token:
                raise AuthError(f"legendary login {self.path} has no refresh token; "
                                "log in again with `legendary auth`")
            if refresh_until is not None and refresh_until <= time.time():
                raise AuthError(f"legendary login {self.path} has expired; "
                                "log in again with `legendary auth`")
            what = "refreshing legendary's login"
            try:
                body = request_token(
                    self.http, {"grant_type": "refresh_token", "refresh_token": refresh_token}, what
                )
            except AuthError as exc:
                raise AuthError(f"{exc}; log in again with `legendary auth`",
                                status=exc.status) from None
            token = _token_from(body, what)
            self.data.update(body)
            if self.http.settings.legendary_write_back:
                self._save()
            return token.access_token

    def _save(self) -> None:
        """Replace ``user.json`` atomically, keeping its permissions."""
        try:
            mode = self.path.stat().st_mode & 0o777
        except OSError:
            mode = 0o600
        fd, tmp = tempfile.mkstemp(prefix=".user.", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, indent=2, sort_keys=True)
            os.chmod(tmp, mode)
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise EpicError(f"cannot save the refreshed legendary login to {self.path}: "
                            f"{exc.strerror or exc}") from None


def authorized(http: Http, source: TokenSource, method: str, url: str, what: str,
               **kwargs: Any) -> requests.Response:
    """Send a request with a bearer token; on 401 renew the token once, then give up."""
    headers = dict(kwargs.pop("headers", None) or {})
    used = source.token()
    headers["Authorization"] = f"bearer {used}"
    response = http.request(method, url, what, headers=headers, **kwargs)
    if response.status_code != 401:
        return response
    headers["Authorization"] = f"bearer {source.refresh(used)}"
    response = http.request(method, url, what, headers=headers, **kwargs)
    if response.status_code == 401:
        raise AuthError(f"{what}: token refused even after renewing it ({error_text(response)})",
                        status=401)
    return response
