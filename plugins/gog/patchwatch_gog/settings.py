"""The gog plugin's settings: defaults, and coercion of values that may come from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

BUILDS_URL = "https://content-system.gog.com"
API_URL = "https://api.gog.com"

OS_ALIASES = {
    "windows": "windows", "win": "windows", "osx": "osx", "mac": "osx", "macos": "osx", "linux": "linux",
}
"""Names accepted in the ``os`` setting, mapped to the builds API's own OS names."""


class SettingsError(ValueError):
    """A setting has a value the plugin cannot use."""


@dataclass(frozen=True)
class GogSettings:
    builds_url: str = BUILDS_URL
    """Base URL of the content-system builds API."""
    api_url: str = API_URL
    """Base URL of the product API (asked only when a product has no build to report)."""
    os: tuple[str, ...] = ("windows",)
    """OSes whose builds are tracked; a new build on any of them is an update."""
    branch: str | None = None
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
        """Read a ``[plugins.gog]`` section; strings (from the environment) are coerced."""
        s = {str(k).lower(): v for k, v in (settings or {}).items()}
        d = cls()
        return cls(
            builds_url=_url(s.get("builds_url", d.builds_url), "builds_url"),
            api_url=_url(s.get("api_url", d.api_url), "api_url"),
            os=_oses(s.get("os", d.os)),
            branch=_branch(s.get("branch", d.branch)),
            concurrency=_number(s.get("concurrency", d.concurrency), int, "concurrency", minimum=1),
            timeout=_number(s.get("timeout", d.timeout), float, "timeout", minimum=0.001),
            retries=_number(s.get("retries", d.retries), int, "retries", minimum=0),
            backoff=_number(s.get("backoff", d.backoff), float, "backoff", minimum=0),
            max_retry_after=_number(s.get("max_retry_after", d.max_retry_after), float, "max_retry_after", minimum=0),
            max_consecutive_failures=_number(
                s.get("max_consecutive_failures", d.max_consecutive_failures), int,
                "max_consecutive_failures", minimum=1,
            ),
            probe_timeout=_number(s.get("probe_timeout", d.probe_timeout), float, "probe_timeout", minimum=0.001),
        )


def _url(value: Any, name: str) -> str:
    text = str(value or "").strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http(s) URL, got {value!r}")
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


def _number(value: Any, kind: type, name: str, *, minimum: float) -> Any:
    try:
        number = kind(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} must be a number, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{name} must be at least {minimum:g}, got {value!r}")
    return number
