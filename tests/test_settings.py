"""read_settings: type-driven coercion of environment strings, clear errors, the validate hook."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest

from patchwatch.errors import PatchwatchError
from patchwatch.settings import SettingsError, read_settings, setting


def _upper_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, str):
        raise TypeError(value)
    if "!" in value:
        raise SettingsError("no shouting in names")
    return tuple(part.strip().upper() for part in value.split(";"))


@dataclass(frozen=True)
class Example:
    url: str = "https://example.com"
    enabled: bool = True
    retries: int = 3
    timeout: float = 10.0
    tags: tuple[str, ...] = ("a",)
    ports: tuple[int, ...] = (80,)
    branch: str | None = None
    limit: int | None = None
    names: tuple[str, ...] = setting(("X",), parse=_upper_list, expected="names split by ';'")

    def validate(self) -> None:
        if self.retries < 0:
            raise SettingsError("example setting retries must not be negative")


def read(raw):
    return read_settings(Example, raw, plugin="example")


def test_absent_keys_keep_the_defaults():
    assert read(None) == Example() == read({})


def test_environment_strings_are_coerced_by_type():
    s = read({"url": "http://127.0.0.1:9", "enabled": "off", "retries": " 5 ", "timeout": "2.5",
              "tags": "x, y,,z ", "ports": "8080,9090", "branch": "beta", "limit": "7"})
    assert s == Example(url="http://127.0.0.1:9", enabled=False, retries=5, timeout=2.5,
                        tags=("x", "y", "z"), ports=(8080, 9090), branch="beta", limit=7)


@pytest.mark.parametrize("text, expected", [
    ("1", True), ("true", True), ("YES", True), (" on ", True),
    ("0", False), ("false", False), ("No", False), ("off", False), ("", False),
])
def test_booleans_from_text(text, expected):
    assert read({"enabled": text}).enabled is expected


def test_native_values_pass_through():
    s = read({"enabled": False, "retries": 4, "timeout": 3, "tags": ["p", "q"], "limit": None})
    assert (s.enabled, s.retries, s.timeout, s.tags, s.limit) == (False, 4, 3.0, ("p", "q"), None)
    assert isinstance(s.timeout, float)
    assert read({"retries": 6.0}).retries == 6


@pytest.mark.parametrize("raw, needle", [
    ({"enabled": "maybe"}, "example setting enabled must be a bool, got 'maybe'"),
    ({"retries": "many"}, "example setting retries must be a int, got 'many'"),
    ({"retries": 1.5}, "retries must be a int, got 1.5"),
    ({"retries": True}, "retries must be a int, got True"),
    ({"timeout": "soon"}, "example setting timeout must be a float, got 'soon'"),
    ({"ports": "80,http"}, "ports must be a comma-separated list of int, got '80,http'"),
    ({"tags": 5}, "tags must be a comma-separated list of str"),
    ({"limit": "lots"}, "limit must be a int \\(or nothing\\), got 'lots'"),
])
def test_a_bad_value_names_plugin_key_and_value(raw, needle):
    with pytest.raises(SettingsError, match=needle):
        read(raw)


def test_unknown_keys_are_named_with_the_known_ones():
    with pytest.raises(SettingsError) as info:
        read({"retires": "3", "colour": "red"})
    message = str(info.value)
    assert message.startswith("unknown example setting(s): colour, retires; known: ")
    assert "retries" in message and "url" in message


def test_a_field_parser_replaces_coercion():
    assert read({"names": "ann; bob"}).names == ("ANN", "BOB")
    with pytest.raises(SettingsError, match="example setting names must be names split by ';', got 5"):
        read({"names": 5})
    with pytest.raises(SettingsError, match="^no shouting in names$"):  # the parser's own message
        read({"names": "ann!"})


def test_the_validate_hook_runs_after_coercion():
    with pytest.raises(SettingsError, match="retries must not be negative"):
        read({"retries": "-1"})


def test_settings_are_frozen_and_errors_are_core_errors():
    s = read({})
    with pytest.raises(FrozenInstanceError):
        s.retries = 1  # type: ignore[misc]
    assert issubclass(SettingsError, PatchwatchError) and issubclass(SettingsError, ValueError)


def test_a_type_without_coercion_is_a_programming_error():
    @dataclass(frozen=True)
    class Odd:
        mapping: dict = None  # type: ignore[assignment]

    with pytest.raises(NotImplementedError, match="setting\\(parse=...\\)"):
        read_settings(Odd, {"mapping": "a=1"}, plugin="odd")


@dataclass(frozen=True)
class WithTable:
    branches: dict[str, str] | None = None


@pytest.mark.parametrize("raw", [{"440": "beta", 570: " rc "}, '{"440": "beta", "570": "rc"}',
                                 "440=beta, 570 = rc", "440=beta,570=rc,"])
def test_table_from_toml_json_or_environment(raw):
    assert read_settings(WithTable, {"branches": raw}, plugin="t").branches == {"440": "beta", "570": "rc"}


@pytest.mark.parametrize("raw", ["440", "440=", '{"440": {"x": 1}}', ["440=beta"], '{"440": '])
def test_bad_table_is_a_settings_error_naming_the_form(raw):
    with pytest.raises(SettingsError, match="t setting branches must be a table"):
        read_settings(WithTable, {"branches": raw}, plugin="t")
