"""Epic OAuth tokens: the public client-credentials token and legendary's saved login.

Never asks for a password: the build signal needs a user token, which we take from an
existing legendary login (its ``user.json``) and refresh the way legendary does.
"""

from __future__ import annotations

import errno
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
from filelock import FileLock, Timeout

from .http import AuthError, EpicError, Http, error_text, json_body

TOKEN_PATH = "/account/api/oauth/token"
MARGIN = 120.0
"""Seconds before expiry at which a token counts as expired already."""
LEGENDARY_MARGIN = 600.0
"""legendary reuses a saved session only while it has more than 10 minutes left
(``core.py`` ``_login``); past that both it and patchwatch count it as expired."""


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

    def fresh(self, now: float | None = None, margin: float = MARGIN) -> bool:
        return (time.time() if now is None else now) < self.expires_at - margin


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
    """The user's launcher login, shared with legendary (and Heroic) through ``user.json``.

    legendary reads and writes that file only while holding ``user.json.lock`` (a
    ``filelock.FileLock``; legendary ``lfs/utils.py`` ``LockedJSONData``) and deletes it
    when its own refresh is refused (``core.py`` ``_login``). Epic's refresh tokens are
    single-use, so every refresh here happens inside that same lock, after re-reading
    the file, and only when the stored session has expired or Epic refused it; the new
    session is saved before the lock is released, in legendary's format. Nothing is
    refreshed unless the file can be written: space for the new file is taken first.
    """

    def __init__(self, http: Http, path: Path):
        self.http = http
        self.path = path
        self.lock_path = Path(f"{path}.lock")
        self._access: Token | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, http: Http, path: str | Path) -> LegendarySession | None:
        """The saved login at ``path``; ``None`` when there is no such file."""
        path = Path(path).expanduser()
        return cls(http, path) if path.exists() else None

    def token(self) -> str:
        """The stored access token, refreshed first when it has expired."""
        with self._lock:
            if self._access is not None and self._access.fresh(margin=LEGENDARY_MARGIN):
                return self._access.access_token
            return self._under_legendary_lock(stale=None)

    def refresh(self, stale: str | None = None) -> str:
        """A usable token after Epic refused ``stale``: whatever legendary saved since, or a
        refreshed one."""
        with self._lock:
            current = self._access.access_token if self._access else None
            if stale is not None and current is not None and current != stale:
                return current  # renewed meanwhile by another thread
            return self._under_legendary_lock(stale=stale or current or "")

    # -- inside legendary's lock ----------------------------------------------------
    def _under_legendary_lock(self, stale: str | None) -> str:
        """Read the file inside legendary's lock; refresh only if it holds nothing usable.

        ``stale`` is a token Epic refused (``None``: none was refused yet).
        """
        settings = self.http.settings
        lock = FileLock(str(self.lock_path), timeout=settings.legendary_lock_timeout)
        try:
            lock.acquire()
        except Timeout:
            raise AuthError(
                f"legendary is busy: its lock {self.lock_path} stayed taken for more than "
                f"{settings.legendary_lock_timeout:g}s (setting legendary_lock_timeout); "
                "build versions skipped this time") from None
        except OSError as exc:
            # No lock can be taken (read-only folder): nobody can write the file either.
            # Use the saved token if it is still good; never refresh what cannot be saved.
            data = self._read()
            reason = f"cannot take legendary's lock {self.lock_path} ({exc.strerror or exc})"
            return self._use_or_refuse(data, stale, reason)
        try:
            data = self._read()
            usable = self._usable(data, stale)
            if usable is not None:
                return usable
            if not settings.legendary_write_back:
                return self._use_or_refuse(data, stale, "setting legendary_write_back is off")
            return self._refresh_locked(data)
        finally:
            lock.release()

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise AuthError(f"legendary login {self.path} is gone (logged out?); "
                            "log in with `legendary auth`") from None
        except OSError as exc:
            raise AuthError(f"cannot read legendary login {self.path}: "
                            f"{exc.strerror or exc}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise AuthError(f"legendary login {self.path} is not valid JSON") from None
        if not isinstance(data, dict) or not (data.get("access_token")
                                              or data.get("refresh_token")):
            raise AuthError(f"legendary login {self.path} holds no token; "
                            "log in with `legendary auth`")
        return data

    def _usable(self, data: dict[str, Any], stale: str | None) -> str | None:
        """The saved access token when it has not expired and Epic has not refused it."""
        access = data.get("access_token")
        expires_at = parse_time(data.get("expires_at"))
        if not isinstance(access, str) or not access or expires_at is None:
            return None
        token = Token(access, expires_at)
        if access == stale or not token.fresh(margin=LEGENDARY_MARGIN):
            return None
        self._access = token
        return access

    def _use_or_refuse(self, data: dict[str, Any], stale: str | None, why_not: str) -> str:
        usable = self._usable(data, stale)
        if usable is not None:
            return usable
        raise AuthError(f"legendary login {self.path} has expired and patchwatch will not "
                        f"refresh it: {why_not}; run legendary (or open Heroic) to refresh it")

    def _refresh_locked(self, data: dict[str, Any]) -> str:
        settings = self.http.settings
        client = data.get("client_id")
        if isinstance(client, str) and client and client != settings.client_id:
            raise AuthError(
                f"legendary login {self.path} belongs to OAuth client {client}, not to "
                f"{settings.client_id} (setting client_id): patchwatch will not refresh "
                "another client's session")
        refresh_token = data.get("refresh_token")
        refresh_until = parse_time(data.get("refresh_expires_at"))
        if not isinstance(refresh_token, str) or not refresh_token:
            raise AuthError(f"legendary login {self.path} has no refresh token; "
                            "log in again with `legendary auth`")
        if refresh_until is not None and refresh_until <= time.time():
            raise AuthError(f"legendary login {self.path} has expired; "
                            "log in again with `legendary auth`")
        with _Reserved(self.path, len(_legendary_json(data)) + 4096) as reserved:
            what = "refreshing legendary's login"
            try:
                body = request_token(
                    self.http, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                    what)
            except AuthError as exc:
                raise AuthError(f"{exc}; log in again with `legendary auth`",
                                status=exc.status) from None
            token = _token_from(body, what)
            self._access = token
            reserved.commit(_legendary_json({**data, **body}))
        return token.access_token


def _legendary_json(data: dict[str, Any]) -> str:
    """``user.json`` as legendary writes it: ``json.dump(..., indent=2, sort_keys=True)``."""
    return json.dumps(data, indent=2, sort_keys=True)


class _Reserved:
    """A temporary file next to ``path`` with room for the new content, taken *before*
    Epic is asked to rotate the refresh token; :meth:`commit` fills it and renames it over
    ``path``. If the room cannot be had (read-only, disk full), nothing is refreshed."""

    def __init__(self, path: Path, size: int):
        # Write where a symlinked user.json really is, as legendary's open(..., "w") does.
        self.path, self.size = Path(os.path.realpath(path)), size
        self._fd: int | None = None
        self._tmp = ""

    def __enter__(self) -> _Reserved:
        try:
            self._fd, self._tmp = tempfile.mkstemp(prefix=".user.", suffix=".json.tmp",
                                                   dir=self.path.parent)
            _allocate(self._fd, self.size)
        except OSError as exc:
            self._discard()
            raise AuthError(
                f"legendary login {self.path} cannot be written ({exc.strerror or exc}): not "
                "refreshing it, since Epic's refresh token is single-use and the new one "
                "would be lost; make room or make it writable, or run legendary") from None
        return self

    def commit(self, text: str) -> None:
        assert self._fd is not None
        data = text.encode("utf-8")
        try:
            mode = self.path.stat().st_mode & 0o777
        except OSError:
            mode = 0o600
        try:
            os.pwrite(self._fd, data, 0)
            os.ftruncate(self._fd, len(data))
            os.fsync(self._fd)
            os.fchmod(self._fd, mode)
            os.close(self._fd)
            self._fd = None
            os.replace(self._tmp, self.path)
            self._tmp = ""
        except OSError as exc:
            raise AuthError(
                f"Epic refreshed legendary's login but it could not be saved to {self.path} "
                f"({exc.strerror or exc}); log in again with `legendary auth`") from None

    def __exit__(self, *exc: Any) -> None:
        self._discard()

    def _discard(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
        if self._tmp:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = ""


def _allocate(fd: int, size: int) -> None:
    """Take ``size`` bytes of disk for ``fd`` now, so a full disk fails here."""
    try:
        os.posix_fallocate(fd, 0, size)
    except (AttributeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        os.pwrite(fd, b"\0" * size, 0)  # no fallocate here: write the room instead
        os.fsync(fd)


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
