"""The steam_http plugin's settings: defaults, and coercion of values from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

from patchwatch.settings import SettingsError, read_settings

MIRROR_URL = "https://api.steamcmd.net"
NEWS_URL = "https://api.steampowered.com"
STORE_URL = "https://store.steampowered.com"

PUBLIC_MIRROR_CONNECTIONS = 25
"""api.steamcmd.net is one volunteer server with a hard limit of 25 connections shared by
every user (steamcmd/api ``fly.toml``: ``[services.concurrency] hard_limit = 25``)."""
MAX_PUBLIC_MIRROR_CONCURRENCY = 5
"""The most requests in flight this plugin allows itself against the public mirror."""

SOURCES = ("mirror", "news", "appdetails")
"""The signals, best first. Each can be switched off with its own boolean setting."""


@dataclass(frozen=True)
class Settings:
    # -- which signals, best first --------------------------------------------------
    mirror: bool = True
    """Ask a PICS-over-HTTP mirror (steamcmd.net's ``/v1/info/{appid}``) for the public buildid."""
    news: bool = True
    """Ask Steam News for the latest post tagged as patch notes (a weak signal)."""
    appdetails: bool = True
    """Ask the store's ``appdetails`` for a digest of the store page (weakest; last resort)."""
    # -- where ---------------------------------------------------------------------
    mirror_url: str = MIRROR_URL
    news_url: str = NEWS_URL
    store_url: str = STORE_URL
    # -- how fast, per host ---------------------------------------------------------
    mirror_interval: float = 0.05
    """Seconds between two mirror requests (a token bucket: 20 per second)."""
    mirror_concurrency: int = 2
    """Mirror requests in flight at once. The public mirror is one volunteer server whose 25
    connections every user shares: 2 by default, at most 5 against it (a mirror of your
    own may take more)."""
    news_interval: float = 0.1
    news_concurrency: int = 4
    appdetails_interval: float = 1.5
    """Seconds between two store requests: the store throttles ``appdetails`` hard."""
    appdetails_concurrency: int = 1
    # -- news filters ---------------------------------------------------------------
    news_feeds: str = "steam_community_announcements"
    """Comma-separated feed names passed to GetNewsForApp (empty: every feed)."""
    news_tags: str = "patchnotes"
    """Comma-separated tags a post must carry to count as patch notes (empty: any post)."""
    news_count: int = 10
    news_recheck_days: float = 30.0
    """Days before asking again for the news of an app that has no news feed (HTTP 403)."""
    # -- what to track ----------------------------------------------------------------
    branches: dict[str, str] | None = None
    """Branch to track per app id (``public`` when absent): ``{"440" = "beta"}``. Set it in
    ``[stores.steam]`` so ``steam_pics`` tracks the same branches."""
    # -- failure handling -----------------------------------------------------------
    timeout: float = 10.0
    """Seconds per request (connect and read)."""
    retries: int = 2
    """Extra attempts after a 429, a 5xx, a timeout or a dropped connection."""
    backoff: float = 0.5
    """First wait before a retry, doubled each time (unless the server sends Retry-After)."""
    max_retry_after: float = 60.0
    """Longest Retry-After honoured; a longer one takes that host out for the rest of the sync."""
    host_failures: int = 3
    """Games in a row failing on one host (transport/5xx) before the host is skipped for the sync."""
    probe_timeout: float = 3.0
    """Seconds ``is_available`` waits for a host."""

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> "Settings":
        """Read settings; strings (from the environment) are coerced, unknown keys are errors."""
        return read_settings(cls, raw, plugin="steam_http")

    def validate(self) -> None:
        """Called by :func:`read_settings`: ranges the types alone do not catch."""
        for name in ("mirror_interval", "news_interval", "appdetails_interval", "backoff",
                     "news_recheck_days"):
            if getattr(self, name) < 0:
                raise SettingsError(f"steam_http setting {name} must not be negative")
        for name in ("mirror_concurrency", "news_concurrency", "appdetails_concurrency",
                     "news_count", "host_failures"):
            if getattr(self, name) < 1:
                raise SettingsError(f"steam_http setting {name} must be at least 1")
        if self.retries < 0 or self.timeout <= 0 or self.probe_timeout <= 0:
            raise SettingsError("steam_http settings retries, timeout and probe_timeout must be positive")
        if (self.base_url("mirror") == MIRROR_URL
                and self.mirror_concurrency > MAX_PUBLIC_MIRROR_CONCURRENCY):
            raise SettingsError(
                f"steam_http setting mirror_concurrency must be at most {MAX_PUBLIC_MIRROR_CONCURRENCY} "
                f"for {MIRROR_URL}: it is one volunteer server with {PUBLIC_MIRROR_CONNECTIONS} "
                f"connections for every user (got {self.mirror_concurrency})")
        bad = [key for key in (self.branches or {}) if not key.isdigit()]
        if bad:
            raise SettingsError(f"steam_http setting branches: {', '.join(map(repr, bad))} "
                                "is not a Steam app id")

    @cached_property
    def _branches(self) -> dict[str, str]:
        return {str(int(appid)): branch for appid, branch in (self.branches or {}).items()}

    def branch(self, appid: str) -> str:
        """The branch tracked for ``appid`` (a decimal app id)."""
        return self._branches.get(str(int(appid)), "public")

    def enabled(self) -> list[str]:
        """The switched-on sources, best first."""
        return [name for name in SOURCES if getattr(self, name)]

    def base_url(self, source: str) -> str:
        url = {"mirror": self.mirror_url, "news": self.news_url, "appdetails": self.store_url}[source]
        return url.rstrip("/")

    def interval(self, source: str) -> float:
        return getattr(self, f"{source}_interval")

    def concurrency(self, source: str) -> int:
        return getattr(self, f"{source}_concurrency")
