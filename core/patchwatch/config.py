"""Where things live and what the user configured."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

ENV_DB = "PATCHWATCH_DB"
ENV_CONFIG = "PATCHWATCH_CONFIG"
ENV_DISABLE = "PATCHWATCH_DISABLE"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_db_path() -> Path:
    """``$PATCHWATCH_DB``, else ``$XDG_DATA_HOME/patchwatch/patchwatch.db``."""
    if os.environ.get(ENV_DB):
        return Path(os.environ[ENV_DB])
    return _xdg("XDG_DATA_HOME", ".local/share") / "patchwatch" / "patchwatch.db"


def default_config_path() -> Path:
    """``$PATCHWATCH_CONFIG``, else ``$XDG_CONFIG_HOME/patchwatch/config.toml``."""
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    return _xdg("XDG_CONFIG_HOME", ".config") / "patchwatch" / "config.toml"


@dataclass
class Config:
    """User settings. Built from the TOML config file, or directly by a host app or test."""

    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``[plugins.<name>]`` sections: each plugin's own settings."""
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``[stores.<store>]`` sections: settings every plugin of that store gets (e.g. the
    Steam branch to track), so they are written once; a plugin's own section wins."""
    disable: set[str] = field(default_factory=set)
    """Plugins switched off (``PATCHWATCH_DISABLE=a,b`` adds to it)."""
    priorities: dict[str, int] = field(default_factory=dict)
    """``[priority]`` overrides of the plugins' default priorities."""
    cooldown: float = 900.0
    """Seconds a plugin stays off after ``failures_to_trip`` failures in a row."""
    failures_to_trip: int = 3
    timeout: float = 120.0
    """Seconds a plugin may go without answering a game before it counts as timed out."""
    availability_timeout: float = 30.0
    """Seconds ``is_available`` may take before it counts as unavailable."""
    notify: list[str] = field(default_factory=list)
    """Apprise URLs that get a digest of new builds after each sync or watch cycle."""
    notify_weak: bool = False
    """Also notify store-data changes that are not confirmed builds."""
    mute: set[str] = field(default_factory=set)
    """Stores (``epic``) and games (``steam:570``) that never notify."""
    watch: dict[str, Any] = field(default_factory=dict)
    """The ``[watch]`` table: intervals per plugin, heartbeat, retry (read by watch.py)."""
    lock_wait: float = 120.0
    """Seconds a write waits while another program (the host) holds the database's write lock."""
    env: Mapping[str, str] | None = None
    """The environment to read overrides from (``os.environ`` when None)."""

    def _environ(self) -> Mapping[str, str]:
        return os.environ if self.env is None else self.env

    def disabled(self) -> set[str]:
        """Names of the plugins switched off by config or environment."""
        raw = self._environ().get(ENV_DISABLE, "")
        return set(self.disable) | {n.strip() for n in raw.split(",") if n.strip()}

    def settings_for(self, name: str, store: str | None = None) -> dict[str, Any]:
        """A plugin's settings: its store's section, its own section, then
        ``PATCHWATCH_<NAME>_<KEY>`` overrides."""
        settings = {**self.stores.get(store or "", {}), **self.plugins.get(name, {})}
        prefix = f"PATCHWATCH_{name.upper()}_"
        for key, value in self._environ().items():
            if key.startswith(prefix) and len(key) > len(prefix):
                settings[key[len(prefix):].lower()] = value
        return settings


def load_config(path: str | Path | None = None) -> Config:
    """Read the TOML config; a missing file at the default path means defaults."""
    explicit = path is not None or bool(os.environ.get(ENV_CONFIG))
    path = Path(path) if path is not None else default_config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file not found: {path}")
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    return config_from_dict(data, source=str(path))


def config_from_dict(data: Mapping[str, Any], source: str = "config") -> Config:
    """Validate a parsed config file."""
    known = {"plugins", "stores", "disable", "priority", "cooldown", "failures_to_trip", "timeout",
             "availability_timeout", "notify", "notify_weak", "mute", "watch"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(sorted(unknown))}")
    try:
        plugins = {str(k): dict(v) for k, v in dict(data.get("plugins", {})).items()}
        stores = {str(k): dict(v) for k, v in dict(data.get("stores", {})).items()}
        disable = data.get("disable", [])
        if isinstance(disable, str):
            disable = [disable]
        config = Config(
            plugins=plugins,
            stores=stores,
            disable={str(n) for n in disable},
            priorities={str(k): int(v) for k, v in dict(data.get("priority", {})).items()},
            cooldown=float(data.get("cooldown", 900.0)),
            failures_to_trip=int(data.get("failures_to_trip", 3)),
            timeout=float(data.get("timeout", 120.0)),
            availability_timeout=float(data.get("availability_timeout", 30.0)),
            notify=_strings(data.get("notify", []), "notify"),
            notify_weak=bool(data.get("notify_weak", False)),
            mute={m.lower() for m in _strings(data.get("mute", []), "mute")},
            watch=dict(data.get("watch", {})),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if config.failures_to_trip < 1 or config.timeout <= 0 or config.cooldown < 0:
        raise ConfigError(f"{source}: timeout, cooldown and failures_to_trip must be positive")
    return config


def _strings(value: Any, key: str) -> list[str]:
    """A string or a list of strings, as a list."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ValueError(f"{key} must be a list of strings, got {value!r}")
    return [i.strip() for i in items]
