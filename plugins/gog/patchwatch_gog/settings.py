"""The gog plugin's settings: defaults, and coercion of values that may come from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from patchwatch.settings import SettingsError, read_settings, setting

BUILDS_URL = "https://content-system.gog.com"
API_URL = "https://api.gog.com"

OS_ALIASES = {
    "windows": "windows", "win": "windows", "osx": "osx", "mac": "osx", "macos": "osx", "linux": "linux",
}
"""Names accepted in the ``os`` setting, mapped to the builds API's own OS names."""


def _url(value: Any) -> str:
    text = str(value or "").strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError(value)
    return text


def _oses(value: Any) -> tuple[str, ...]:
    items = value.replace(";", ",").split(",") if isinstance(value, str) else list(value or ())
    oses: list[str] = []
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        if name not in OS_ALIASES:
            raise SettingsError(f"unknown os {item!r} (use windows, osx or linux)")
        if OS_ALIASES[name] not in oses:
            oses.append(OS_ALIASES[name])
    if not oses:
        raise SettingsError("os must name at least one of windows, osx, linux")
    return tuple(sorted(oses))


def _branch(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in ("", "default", "none", "null") else text


URL = "an http(s) URL"


@dataclass(frozen=True)
class GogSettings:
    builds_url: str = setting(BUILDS_URL, parse=_url, expected=URL)
    """Base URL of the content-system builds API."""
    api_url: str = setting(API_URL, parse=_url, expected=URL)
    """Base URL of the product API (asked only when a product has no build to report)."""
    os: tuple[str, ...] = setting(("windows",), parse=_oses)
    """OSes whose builds are tracked; a new build on any of them is an update."""
    branch: str | None = setting(None, parse=_branch)
    """Tracked branch; ``None`` is the default (public) branch."""
    concurrency: int = 8
    """Most requests in flight at once."""
    timeout: float = 10.0
    """Seconds per request (connect and read)."""
    retries: int = 3
    """Extra attempts after a 429, a 5xx or a transport error."""
    backoff: float = 1.0
    """First wait before a retry, doubled each time (unless the server sends Retry-After)."""
    max_retry_after: float = 60.0
    """Longest Retry-After the plugin honours; a longer one fails the game instead."""
    max_consecutive_failures: int = 25
    """Games failing in a row on transport/server errors before the plugin gives up the sync."""
    probe_timeout: float = 3.0
    """Seconds ``is_available`` waits for the builds API."""

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None) -> "GogSettings":
        """Read a ``[plugins.gog]`` section (keys in any case); strings (from the environment) are coerced."""
        return read_settings(cls, {str(k).lower(): v for k, v in (settings or {}).items()}, plugin="gog")

    def validate(self) -> None:
        """Called by :func:`read_settings`: the lowest value of each number."""
        minimums = {"concurrency": 1, "timeout": 0.001, "retries": 0, "backoff": 0,
                    "max_retry_after": 0, "max_consecutive_failures": 1, "probe_timeout": 0.001}
        for name, minimum in minimums.items():
            if getattr(self, name) < minimum:
                raise SettingsError(f"gog setting {name} must be at least {minimum:g}, got {getattr(self, name)!r}")
