"""The plugin's settings (``[plugins.steam_pics]``), coerced from TOML values or env strings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from patchwatch.settings import SettingsError, coerce, read_settings, setting

__all__ = ["Settings", "SettingsError", "parse_servers", "parse_branches"]

from .servers import DIRECTORY_URL, TCP, WEBSOCKET

TRANSPORTS = ("auto", "tcp", "websocket")
DEFAULT_BATCH_SIZE = 250
"""Apps per product-info request; the fastest measured against the fake (see README)."""
DEFAULT_IN_FLIGHT = 4
"""Product-info requests sent before waiting for the first answer."""


@dataclass(frozen=True)
class Settings:
    cm_servers: tuple[tuple[str, str, int], ...] | None = setting(
        None, parse=lambda value: parse_servers(value), expected="host:port or wss://host:port/cmsocket/, ...")
    """CM servers to use, in order, instead of asking the Steam Directory: ``host:port``
    for TCP, ``wss://host:port/cmsocket/`` for websocket."""
    transport: str = "auto"
    """``auto`` (TCP, then websocket servers when no TCP server logs us on), ``tcp`` or ``websocket``."""
    directory_url: str = DIRECTORY_URL
    """``ISteamDirectory/GetCMListForConnect``; empty: only the built-in fallback servers."""
    connect_timeout: float = 10.0
    """Seconds to connect, secure the channel and log on before giving up."""
    request_timeout: float = 30.0
    """Seconds one PICS request may take (all parts of its answer)."""
    batch_size: int = DEFAULT_BATCH_SIZE
    in_flight: int = DEFAULT_IN_FLIGHT
    retry_backoff: float = 1.0
    """Seconds to wait after a failed logon before trying again; doubles per failure."""
    retry_backoff_max: float = 60.0
    os: str = ""
    """The system whose depots count for "download up to" and "no content change":
    ``windows``, ``macos`` or ``linux``; empty: this machine's."""
    branches: Mapping[int, str] | None = setting(
        None, parse=lambda value: parse_branches(value), expected="a table of app id -> branch")
    """Branch to track per app id (``public`` when absent)."""

    def validate(self) -> None:
        for key in ("connect_timeout", "request_timeout", "batch_size", "in_flight"):
            if getattr(self, key) <= 0:
                raise SettingsError(f"steam_pics setting {key} must be positive, "
                                    f"got {getattr(self, key)!r}")
        if self.transport not in TRANSPORTS:
            raise SettingsError(f"steam_pics setting transport must be one of {', '.join(TRANSPORTS)}, "
                                f"got {self.transport!r}")
        if self.os not in ("", "windows", "macos", "linux"):
            raise SettingsError(f"steam_pics setting os must be windows, macos or linux, got {self.os!r}")
        for key in ("retry_backoff", "retry_backoff_max"):
            if getattr(self, key) < 0:
                raise SettingsError(f"steam_pics setting {key} must not be negative, "
                                    f"got {getattr(self, key)!r}")

    @property
    def session_key(self) -> tuple[Any, ...]:
        """Settings that need a connection of their own (one per distinct value)."""
        return (self.cm_servers, self.directory_url, self.transport)

    def branch(self, appid: int) -> str:
        return (self.branches or {}).get(appid, "public")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None) -> "Settings":
        """Read the plugin's config section; values from the environment arrive as strings."""
        return read_settings(cls, settings, plugin="steam_pics")


def parse_servers(value: Any) -> tuple[tuple[str, str, int], ...] | None:
    """``"h:p, wss://h:p/cmsocket/"`` or a list of such strings / ``[h, p]`` →
    ``((kind, h, p), ...)`` with kind ``netfilter`` (TCP) or ``websockets``; None for
    ``None`` or an empty string (ask the Steam Directory)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    servers = []
    for item in items:
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
            kind, address = TCP, item
            if item.lower().startswith("wss://"):
                kind, address = WEBSOCKET, item[len("wss://"):].split("/", 1)[0]
            host, sep, port = address.rpartition(":")
            if not sep or not host:
                raise ValueError(f"cm_servers entry {item!r} is not host:port or wss://host:port/cmsocket/")
            servers.append((kind, host.strip("[]"), int(port)))
        else:
            host, port = item
            servers.append((TCP, str(host), int(port)))
    if not servers:
        raise ValueError("cm_servers is empty")
    return tuple(servers)


def parse_branches(value: Any) -> dict[int, str]:
    """A mapping ``{appid: branch}``, a JSON object, or ``"440=beta, 570=beta"``."""
    return {int(appid): branch for appid, branch in coerce(value, dict[str, str]).items()}
