"""Where things live and what the user configured."""

from __future__ import annotations

import difflib
import math
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
    max_answer_mb: float = 64.0
    """The most one HTTP answer of a plugin may decode to, in MiB (gzip included)."""
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

    def __post_init__(self) -> None:
        for key in NUMBERS:  # a host building a Config directly gets the same checks
            check_number(key, getattr(self, key))

    def breaker_inputs(self, name: str, store: str | None = None) -> dict[str, Any]:
        """Everything that decides whether plugin ``name`` can work: a change of any of it
        closes the plugin's circuit breaker."""
        return {"settings": self.settings_for(name, store),
                "core": {key: getattr(self, key) for key in NUMBERS if key != "lock_wait"}}

    @property
    def max_answer_bytes(self) -> int:
        return int(self.max_answer_mb * 1024 * 1024)

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


NUMBERS: dict[str, tuple[type, float, float, bool, str]] = {
    # key: (type, lowest, highest, lowest allowed itself, unit)
    "cooldown": (float, 0, 30 * 86400, True, "seconds"),
    "failures_to_trip": (int, 1, 1000, True, "failures"),
    "timeout": (float, 0, 86400, False, "seconds"),
    "availability_timeout": (float, 0, 3600, False, "seconds"),
    "max_answer_mb": (float, 0, 4096, False, "MiB"),
    "lock_wait": (float, 0, 86400, True, "seconds"),
}
"""The core's number settings and what each allows."""


def check_number(key: str, value: Any) -> float | int:
    """``value`` of core setting ``key`` if allowed, else a :class:`ConfigError` saying why."""
    kind, low, high, low_ok, unit = NUMBERS[key]
    whole = "a whole number" if kind is int else "a number"
    above = f"from {low:g}" if low_ok else f"above {low:g}"
    allowed = f"{whole} of {unit} {above} to {int(high)}"
    if unit == "seconds" and high >= 86400:
        allowed += f" ({int(high // 86400)} day{'s' if high >= 172800 else ''})"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and kind is int and isinstance(value, float):
        ok = value.is_integer()
    if ok:
        ok = math.isfinite(value) and (value >= low if low_ok else value > low) and value <= high
    if not ok:
        raise ConfigError(f"{key} = {value!r} is not allowed: it must be {allowed}")
    return kind(value)


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} = {value!r} is not allowed: it must be a table ([{key}])")
    return dict(value)


def _tables(data: Mapping[str, Any], key: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, value in _table(data, key).items():
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}.{name} = {value!r} is not allowed: it must be a table "
                              f"([{key}.{name}])")
        found[str(name)] = dict(value)
    return found


def _priorities(data: Mapping[str, Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for name, value in _table(data, "priority").items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"priority.{name} = {value!r} is not allowed: it must be a "
                              "whole number (higher is tried first)")
        found[str(name)] = value
    return found


def config_from_dict(data: Mapping[str, Any], source: str = "config") -> Config:
    """Validate a parsed config file: each error names the key, the value and what is allowed."""
    known = {"plugins", "stores", "disable", "priority", "notify", "notify_weak", "mute",
             "watch", *NUMBERS}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(known))}")
    try:
        disable = data.get("disable", [])
        if isinstance(disable, str):
            disable = [disable]
        if not isinstance(disable, list) or not all(isinstance(n, str) for n in disable):
            raise ConfigError(f"disable = {data.get('disable')!r} is not allowed: it must be a "
                              "plugin name or a list of them")
        numbers = {key: check_number(key, data[key]) for key in NUMBERS if key in data}
        try:
            config = Config(
                plugins=_tables(data, "plugins"),
                stores=_tables(data, "stores"),
                disable=set(disable),
                priorities=_priorities(data),
                notify=_strings(data.get("notify", []), "notify"),
                notify_weak=bool(data.get("notify_weak", False)),
                mute={m.lower() for m in _strings(data.get("mute", []), "mute")},
                watch=_table(data, "watch"),
                **numbers,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return config


def _strings(value: Any, key: str) -> list[str]:
    """A string or a list of strings, as a list."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ValueError(f"{key} must be a list of strings, got {value!r}")
    return [i.strip() for i in items]


def closest(name: str, known: list[str] | set[str]) -> str:
    """``; did you mean 'x'? known: a, b, c`` for a message about an unknown ``name``."""
    known = sorted(known)
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {match[0]!r}?" if match else ""
    return hint + (f" known: {', '.join(known)}" if known else " none is installed")


def is_typo(name: str, known: list[str] | set[str]) -> bool:
    """Whether ``name`` is not in ``known`` but close to one of them (a misspelling)."""
    return name not in known and bool(difflib.get_close_matches(name, sorted(known), n=1,
                                                                cutoff=0.6))
