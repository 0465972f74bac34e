"""The plugin's settings: the ``[plugins.epic]`` section, checked and typed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from patchwatch.settings import SettingsError, read_settings

# The Epic Games Launcher's public OAuth client (the one legendary and the launcher use).
# It is a public identifier, not a user secret: it only lets us ask for an anonymous
# client-credentials token and refresh the user's own launcher session.
LAUNCHER_CLIENT_ID = "34a02cf8f4414e29b15921876da36f9a"
LAUNCHER_CLIENT_SECRET = "daafbccc737745039dffe53d94fc76cf"


def default_legendary_user() -> str:
    """Where legendary keeps its login: ``$LEGENDARY_CONFIG_PATH`` or ``~/.config/legendary``."""
    base = os.environ.get("LEGENDARY_CONFIG_PATH")
    if base:
        return str(Path(base) / "user.json")
    xdg = os.environ.get("XDG_CONFIG_HOME")
    root = Path(xdg) if xdg else Path.home() / ".config"
    return str(root / "legendary" / "user.json")


@dataclass(frozen=True)
class EpicSettings:
    """Every setting, with its default. Values from the environment arrive as strings."""

    oauth_url: str = "https://account-public-service-prod03.ol.epicgames.com"
    launcher_url: str = "https://launcher-public-service-prod06.ol.epicgames.com"
    catalog_url: str = "https://catalog-public-service-prod06.ol.epicgames.com"
    client_id: str = LAUNCHER_CLIENT_ID
    client_secret: str = LAUNCHER_CLIENT_SECRET
    legendary_user: str = ""
    """Path of legendary's ``user.json`` (its saved login); empty switches the build signal off.
    When the setting is absent the default location is used."""
    legendary_write_back: bool = True
    """Save a refreshed session back to ``user.json`` (Epic rotates refresh tokens: without
    this, refreshing would log legendary out)."""
    platform: str = "Windows"
    label: str = "Live"
    country: str = "US"
    locale: str = "en-US"
    batch_size: int = 50
    """Catalog item ids per bulk request."""
    concurrency: int = 4
    """Catalog requests in flight at once (still bound by ``rate``)."""
    timeout: float = 10.0
    """Seconds per HTTP request."""
    retries: int = 3
    """Extra attempts after a 429, a 5xx, a timeout or a dropped connection."""
    backoff: float = 1.0
    """First wait between attempts, doubled each time (a ``Retry-After`` header wins)."""
    max_wait: float = 60.0
    """Longest single wait; a server asking for more is an error, not a hang."""
    rate: float = 20.0
    """Most requests per second to Epic (0: no limit)."""
    user_agent: str = "patchwatch-epic/0.1 (+https://github.com/patchwatch)"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> EpicSettings:
        """Check names and coerce values (environment overrides are strings)."""
        raw = dict(raw or {})
        raw.setdefault("legendary_user", default_legendary_user())
        return read_settings(cls, raw, plugin="epic")

    def validate(self) -> None:
        """Called by :func:`read_settings`: checks the types alone do not make."""
        for name in ("oauth_url", "launcher_url", "catalog_url"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://")):
                raise SettingsError(f"epic setting {name} must be an http(s) URL, got {url!r}")
        if not self.client_id or not self.client_secret:
            raise SettingsError("epic settings client_id and client_secret must not be empty")
        if self.batch_size < 1 or self.concurrency < 1 or self.timeout <= 0 or self.retries < 0:
            raise SettingsError("epic settings batch_size, concurrency and timeout must be "
                                "positive, retries >= 0")
        if self.backoff < 0 or self.max_wait < 0 or self.rate < 0:
            raise SettingsError("epic settings backoff, max_wait and rate must not be negative")

    def url(self, base: str, path: str) -> str:
        """Join a base URL setting and an API path."""
        return getattr(self, base).rstrip("/") + path

