"""Read a plugin's settings mapping into a typed, frozen dataclass.

A plugin declares its settings as a frozen dataclass whose fields have defaults, then::

    @dataclass(frozen=True)
    class Settings:
        base_url: str = "https://api.example.com"
        retries: int = 3
        oses: tuple[str, ...] = ("windows",)

        def validate(self) -> None:          # optional: checks across fields
            if self.retries < 0:
                raise SettingsError("example setting retries must not be negative")

    settings = read_settings(Settings, raw, plugin="example")

``raw`` is the ``[plugins.<name>]`` section with ``PATCHWATCH_<NAME>_<KEY>`` overrides,
whose values are strings: each value is coerced to its field's type (``bool``, ``int``,
``float``, ``str``, ``tuple[str, ...]`` from a comma-separated string, ``dict[str, str]``
from a table, a JSON object or ``"key=value, key=value"``, and ``X | None``).
A field may bring its own parser instead: ``os: tuple[str, ...] = setting(("windows",),
parse=parse_oses)``. Every error is a :class:`SettingsError` naming plugin, key and value.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Callable, Mapping, TypeVar

from .errors import PatchwatchError

T = TypeVar("T")

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(PatchwatchError, ValueError):
    """A setting has a wrong name or a value the plugin cannot use; the message says which."""


def setting(default: T, *, parse: Callable[[Any], T], expected: str | None = None) -> T:
    """A dataclass field whose given values go through ``parse`` instead of type coercion.

    ``parse`` gets the raw value (maybe a string from the environment) and returns the
    field's value. It raises :class:`SettingsError` with a message of its own, or
    ``ValueError`` / ``TypeError`` for the standard one: ``<plugin> setting <key> must be
    <expected>, got <value>`` (``expected`` defaults to the field's type, ``a float``).
    """
    metadata = {"parse": parse, "expected": expected}
    return dataclasses.field(default=default, metadata=metadata)  # type: ignore[return-value]


def read_settings(cls: type[T], raw: Mapping[str, Any] | None, *, plugin: str) -> T:
    """An instance of the dataclass ``cls`` from ``raw``; absent keys keep their defaults.

    Raises :class:`SettingsError` for an unknown key (listing the known ones), for a value
    that cannot be coerced, and for whatever the class's ``validate()`` method rejects.
    """
    raw = dict(raw or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise SettingsError(
            f"unknown {plugin} setting(s): {', '.join(unknown)}; known: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        parse = fields[key].metadata.get("parse")
        kind = hints[key]
        try:
            values[key] = parse(value) if parse else coerce(value, kind)
        except SettingsError:
            raise
        except (TypeError, ValueError):
            expected = fields[key].metadata.get("expected") or f"a {_type_name(kind)}"
            raise SettingsError(f"{plugin} setting {key} must be {expected}, got {value!r}") from None
    settings = cls(**values)
    validate = getattr(settings, "validate", None)
    if callable(validate):
        validate()
    return settings


def coerce(value: Any, kind: Any) -> Any:
    """``value`` as type ``kind``; raises ``ValueError`` or ``TypeError`` when it is not one."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in args:
        if value is None:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return coerce(value, inner)
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value.strip()) if isinstance(value, str) else int(value)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind is str:
        return "" if value is None else str(value)
    if typing.get_origin(kind) is tuple and args[1:] == (Ellipsis,):
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)):
            raise TypeError(value)
        return tuple(coerce(item.strip() if isinstance(item, str) else item, args[0])
                     for item in items if not (isinstance(item, str) and not item.strip()))
    if typing.get_origin(kind) is dict and args == (str, str):
        return _table(value)
    raise NotImplementedError(f"no coercion to {kind!r}: give the field setting(parse=...)")


def _table(value: Any) -> dict[str, str]:
    """A TOML table, a JSON object, or ``"key=value, key=value"`` (the environment's form)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            value = json.loads(text)
        else:
            pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError(value)
            value = dict(pairs)
    if not isinstance(value, Mapping):
        raise TypeError(value)
    table = {str(k).strip(): str(v).strip() for k, v in value.items()}
    if any(not k or not v for k, v in table.items()) or any(isinstance(v, (dict, list)) for v in value.values()):
        raise ValueError(value)
    return table


def _type_name(kind: Any) -> str:
    args = typing.get_args(kind)
    if typing.get_origin(kind) is tuple:
        return f"comma-separated list of {_type_name(args[0])}"
    if typing.get_origin(kind) is dict:
        return "table (key = value, or 'key=value, key=value')"
    if type(None) in args:
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " (or nothing)"
    return getattr(kind, "__name__", str(kind))
