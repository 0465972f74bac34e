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


def legendary_dirs() -> list[Path]:
    """Where legendary's files may be, in the order they are tried.

    ``$LEGENDARY_CONFIG_PATH`` when set (legendary ``lfs/lgndry.py``), else legendary's own
    ``$XDG_CONFIG_HOME/legendary`` (or ``~/.config/legendary``), then Heroic's copy of
    legendary, ``<config>/heroic/legendaryConfig/legendary``
    (HeroicGamesLauncher ``src/backend/storeManagers/legendary/constants.ts``), also
    inside Heroic's Flatpak.
    """
    base = os.environ.get("LEGENDARY_CONFIG_PATH")
    if base:
        return [Path(base)]
    xdg = os.environ.get("XDG_CONFIG_HOME")
    root = Path(xdg) if xdg else Path.home() / ".config"
    heroic = Path("heroic") / "legendaryConfig" / "legendary"
    flatpak = Path.home() / ".var" / "app" / "com.heroicgameslauncher.hgl" / "config"
    return [root / "legendary", root / heroic, flatpak / heroic]


def default_legendary_user() -> str:
    """The first ``user.json`` that exists among :func:`legendary_dirs`, else legendary's own."""
    dirs = legendary_dirs()
    for folder in dirs:
        if (folder / "user.json").is_file():
            return str(folder / "user.json")
    return str(dirs[0] / "user.json")


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
    """Refresh an expired login and save it back to ``user.json``. Off: the saved login is
    only read, never refreshed (Epic's refresh tokens are single-use: a refresh that
    cannot be saved logs legendary out)."""
    legendary_lock_timeout: float = 30.0
    """Seconds to wait for legendary's ``user.json.lock`` before skipping build versions."""
    local_max_age: float = 3600.0
    """Use legendary's ``assets.json`` (next to ``user.json``) when it was written less
    than this many seconds ago, instead of asking Epic. 0: always ask Epic."""
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
    assets_timeout: float = 90.0
    """Seconds for the launcher assets request, which lists every app and Unreal asset the
    account owns and is slow for large libraries. It is never retried after a 504 or a
    timeout (the next try would be as slow)."""
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
        if self.assets_timeout <= 0 or self.legendary_lock_timeout < 0 or self.local_max_age < 0:
            raise SettingsError("epic settings assets_timeout must be positive, "
                                "legendary_lock_timeout and local_max_age not negative")

    @property
    def legendary_dir(self) -> Path | None:
        """legendary's folder (``assets.json``, ``installed.json``): the one of ``user.json``."""
        return Path(self.legendary_user).expanduser().parent if self.legendary_user else None

    def url(self, base: str, path: str) -> str:
        """Join a base URL setting and an API path."""
        return getattr(self, base).rstrip("/") + path

