"""The gog plugin's settings: defaults, and coercion of values that may come from the environment."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from patchwatch.settings import SettingsError, read_settings, setting

BUILDS_URL = "https://content-system.gog.com"
API_URL = "https://api.gog.com"

OS_ALIASES = {
    "windows": "windows", "win": "windows", "osx": "osx", "mac": "osx", "macos": "osx", "linux": "linux",
}
"""Names accepted in the ``os`` setting, mapped to the builds API's own OS names (``linux``
has no builds: it is tracked through its offline installer's version)."""


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


def _passwords(value: Any) -> tuple[tuple[str, str], ...]:
    """``{product id: password}`` from a table, or from ``"id=password,id=password"`` text."""
    if isinstance(value, Mapping):
        pairs = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, str):
        pairs = []
        for item in value.split(","):
            if not item.strip():
                continue
            if "=" not in item:
                raise SettingsError(  # the item is not shown: it may be a password
                    "gog setting branch_passwords: each item must be <product id>=<password>"
                )
            key, _, password = item.partition("=")
            pairs.append((key, password))
    else:
        raise SettingsError("gog setting branch_passwords must be a table of product id = password")
    passwords: dict[str, str] = {}
    for key, password in pairs:
        product_id = str(key).strip()
        if not product_id.isdecimal():
            raise SettingsError(f"gog setting branch_passwords: {product_id!r} is not a GOG product id")
        if not isinstance(password, str) or not password:
            raise SettingsError(f"gog setting branch_passwords: product {product_id} needs a non-empty password")
        passwords[product_id] = password
    return tuple(sorted(passwords.items()))


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
    """Base URL of the product API (Linux installers; why a product has no build)."""
    os: tuple[str, ...] = setting(("windows",), parse=_oses)
    """Tracked OSes: builds for windows/osx, the offline installer's version for linux."""
    branch: str | None = setting(None, parse=_branch)
    """Tracked branch of the Windows/macOS builds; ``None`` is the default branch."""
    branch_passwords: tuple[tuple[str, str], ...] = setting((), parse=_passwords)
    """Per product id, the password that lists its private branches' builds."""
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

    def __repr__(self) -> str:  # never print the passwords
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "branch_passwords"}
        hidden = f"<{len(self.branch_passwords)} hidden>"
        return f"GogSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())}, branch_passwords={hidden})"

    def password_for(self, product_id: str) -> str | None:
        """The private-branch password set for ``product_id``, if any."""
        return dict(self.branch_passwords).get(product_id)

    @property
    def build_oses(self) -> tuple[str, ...]:
        """Tracked OSes that have content-system builds (all but ``linux``)."""
        return tuple(os for os in self.os if os != "linux")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None) -> "GogSettings":
        """Read a ``[plugins.gog]`` section (keys in any case); strings (from the environment) are coerced."""
        return read_settings(cls, {str(k).lower(): v for k, v in (settings or {}).items()}, plugin="gog")

    def validate(self) -> None:
        """Called by :func:`read_settings`: the lowest value of each number."""
        minimums = {"concurrency": 1, "timeout": 0.001, "retries": 0, "backoff": 0,
                    "max_retry_after": 0, "max_consecutive_failures": 1, "probe_timeout": 0.001}
        if self.branch is not None and not self.build_oses:
            raise SettingsError(
                "gog setting branch applies to Windows/macOS builds; GOG has no Linux builds, "
                "only installers (track os = \"windows\" or \"osx\" with a branch)"
            )
        for name, minimum in minimums.items():
            if getattr(self, name) < minimum:
                raise SettingsError(f"gog setting {name} must be at least {minimum:g}, got {getattr(self, name)!r}")
