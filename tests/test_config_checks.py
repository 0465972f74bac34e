"""Every core setting is checked: the error names the key, the value and what is allowed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from patchwatch.cli import cli
from patchwatch.config import Config, config_from_dict, load_config
from patchwatch.db import open_db
from patchwatch.errors import ConfigError
from patchwatch.library import add_game
from patchwatch.state import plugin_health
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin


@pytest.mark.parametrize("key, value, allowed", [
    ("availability_timeout", 0, "above 0 to 3600"),
    ("availability_timeout", -1, "above 0 to 3600"),
    ("cooldown", float("inf"), "from 0 to 2592000"),
    ("cooldown", 1e12, "from 0 to 2592000"),
    ("cooldown", -5, "from 0 to 2592000"),
    ("timeout", "fast", "a number of seconds above 0"),
    ("timeout", True, "a number of seconds above 0"),
    ("failures_to_trip", 1.5, "a whole number of failures from 1"),
    ("failures_to_trip", 0, "a whole number of failures from 1"),
    ("max_answer_mb", 0, "a number of MiB above 0"),
])
def test_bad_number_names_key_value_and_what_is_allowed(key, value, allowed):
    with pytest.raises(ConfigError) as caught:
        config_from_dict({key: value}, source="my.toml")
    message = str(caught.value)
    assert message.startswith(f"my.toml: {key} = {value!r} is not allowed: it must be ")
    assert allowed in message


def test_nan_from_toml_is_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("cooldown = nan\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cooldown = nan is not allowed"):
        load_config(path)


def test_a_host_building_config_directly_gets_the_same_checks():
    with pytest.raises(ConfigError, match="availability_timeout = 0 is not allowed"):
        Config(availability_timeout=0)


@pytest.mark.parametrize("text, expected", [
    ("priority = 5", "priority = 5 is not allowed: it must be a table ([priority])"),
    ("plugins = 3", "plugins = 3 is not allowed: it must be a table ([plugins])"),
    ("[plugins]\ngog = 1", "plugins.gog = 1 is not allowed: it must be a table ([plugins.gog])"),
    ("[priority]\ngog = 'high'", "priority.gog = 'high' is not allowed: it must be a whole number"),
    ("disable = 5", "disable = 5 is not allowed: it must be a plugin name or a list of them"),
    ("stores = 'steam'", "stores = 'steam' is not allowed: it must be a table ([stores])"),
])
def test_non_table_sections_name_the_key(tmp_path, monkeypatch, text, expected):
    path = tmp_path / "config.toml"
    path.write_text(text + "\n", encoding="utf-8")
    monkeypatch.setenv("PATCHWATCH_DB", str(tmp_path / "p.db"))
    result = CliRunner().invoke(cli, ["--config", str(path), "plugins"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {path}: {expected}" or \
        result.output.strip().startswith(f"Error: {path}: {expected}")
    assert "Traceback" not in result.output


def test_a_change_of_a_core_setting_closes_the_breaker(db_path, make_pm):
    add_game(db_path, "steam", "1")
    plugin = ExamplePlugin(catalogue={"1": 1})
    plugin.available = "slow to answer"
    pm = make_pm(p=plugin)
    config = Config(env={}, timeout=5, availability_timeout=2)
    for _ in range(3):
        sync_library(db_path, pm=pm, config=config)
    assert sync_library(db_path, pm=pm, config=config).plugins[0].status == "off"
    plugin.available = True
    fixed = Config(env={}, timeout=5, availability_timeout=10)
    summary = sync_library(db_path, pm=pm, config=fixed)
    assert summary.served_by() == {"p": 1}
    assert plugin_health(open_db(db_path), "p").failures == 0
