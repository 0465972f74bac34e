"""The plugin's settings (``[plugins.steam_pics]``), coerced from TOML values or env strings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

DEFAULT_SERVERS = "cm0.steampowered.com:27017"
"""The host the ``steam`` library's own DNS bootstrap uses; override with ``cm_servers``."""
DEFAULT_BATCH_SIZE = 250
"""Apps per product-info request; the fastest measured against the fake (see README)."""
DEFAULT_IN_FLIGHT = 4
"""Product-info requests sent before waiting for the first answer."""


class SettingsError(ValueError):
    """A setting has a value the plugin cannot use."""


@dataclass(frozen=True)
class Settings:
    servers: tuple[tuple[str, int], ...]
    """CM servers to use, in order (``cm_servers = "host:port, host:port"``)."""
    connect_timeout: float = 10.0
    """Seconds to connect, secure the channel and log on before giving up."""
    request_timeout: float = 30.0
    """Seconds one PICS request may take (all parts of its answer)."""
    batch_size: int = DEFAULT_BATCH_SIZE
    in_flight: int = DEFAULT_IN_FLIGHT
    retry_backoff: float = 1.0
    """Seconds to wait after a failed logon before trying again; doubles per failure."""
    retry_backoff_max: float = 60.0
    branches: Mapping[int, str] = field(default_factory=dict)
    """Branch to track per app id (``public`` when absent)."""

    def branch(self, appid: int) -> str:
        return self.branches.get(appid, "public")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None) -> "Settings":
        """Read the plugin's config section; values from the environment arrive as strings."""
        settings = settings or {}
        try:
            return cls(
                servers=parse_servers(settings.get("cm_servers", DEFAULT_SERVERS)),
                connect_timeout=_positive(settings, "connect_timeout", 10.0, float),
                request_timeout=_positive(settings, "request_timeout", 30.0, float),
                batch_size=int(_positive(settings, "batch_size", DEFAULT_BATCH_SIZE, int)),
                in_flight=int(_positive(settings, "in_flight", DEFAULT_IN_FLIGHT, int)),
                retry_backoff=_number(settings, "retry_backoff", 1.0),
                retry_backoff_max=_number(settings, "retry_backoff_max", 60.0),
                branches=parse_branches(settings.get("branches", {})),
            )
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"steam_pics settings: {exc}") from None


def _number(settings: Mapping[str, Any], key: str, default: float) -> float:
    value = settings.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{key} must not be negative, got {value!r}")
    return number


def _positive(settings: Mapping[str, Any], key: str, default: float, kind: type) -> float:
    number = _number(settings, key, default)
    if number <= 0 or (kind is int and number != int(number)):
        raise ValueError(f"{key} must be a positive {kind.__name__}, got {settings.get(key)!r}")
    return kind(number)


def parse_servers(value: Any) -> tuple[tuple[str, int], ...]:
    """``"h:p, h:p"`` or a list of ``"h:p"`` / ``[h, p]`` → ``((h, p), ...)``."""
    items = value.split(",") if isinstance(value, str) else list(value)
    servers = []
    for item in items:
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
            host, sep, port = item.rpartition(":")
            if not sep or not host:
                raise ValueError(f"cm_servers entry {item!r} is not host:port")
            servers.append((host.strip("[]"), int(port)))
        else:
            host, port = item
            servers.append((str(host), int(port)))
    if not servers:
        raise ValueError("cm_servers is empty")
    return tuple(servers)


def parse_branches(value: Any) -> dict[int, str]:
    """A mapping ``{appid: branch}``, a JSON object, or ``"440=beta, 570=beta"``."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            value = json.loads(text)
        else:
            pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError(f"branches must look like '440=beta, 570=beta', got {value!r}")
            value = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(value, Mapping):
        raise ValueError(f"branches must be a table of app id -> branch, got {value!r}")
    return {int(appid): str(branch) for appid, branch in value.items()}
