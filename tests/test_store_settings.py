"""``[stores.<store>]``: settings written once that every plugin of that store receives."""

from __future__ import annotations

import pytest

from patchwatch import hookimpl
from patchwatch.config import Config, config_from_dict
from patchwatch.errors import ConfigError
from patchwatch.library import add_game
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing.example import ExamplePlugin


def test_store_section_reaches_every_plugin_of_that_store_only():
    config = config_from_dict({
        "stores": {"steam": {"branches": {"440": "beta"}, "timeout": 3}},
        "plugins": {"steam_http": {"timeout": 9}},
    })
    config.env = {"PATCHWATCH_STEAM_PICS_TIMEOUT": "7"}
    assert config.settings_for("steam_pics", "steam") == {"branches": {"440": "beta"}, "timeout": "7"}
    # the plugin's own section wins over the store's
    assert config.settings_for("steam_http", "steam") == {"branches": {"440": "beta"}, "timeout": 9}
    assert config.settings_for("gog", "gog") == {}
    assert config.settings_for("steam_http") == {"timeout": 9}  # no store given: own section only


def test_bad_store_section_is_a_config_error():
    with pytest.raises(ConfigError):
        config_from_dict({"stores": {"steam": "beta"}})


class Recorder(ExamplePlugin):
    """An example plugin that remembers the settings each hook got."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[dict] = []

    @hookimpl
    def is_available(self, settings):
        self.seen.append(dict(settings))
        return self.available


def test_sync_hands_the_store_section_to_each_plugin_it_tries(tmp_path):
    db = tmp_path / "t.db"
    add_game(db, "steam", "440", "TF2")
    add_game(db, "gog", "1", "A GOG game")
    first, second, gog = Recorder("steam", 100, {}), Recorder("steam", 50, {"440": "7"}), Recorder("gog", 50, {"1": "1"})
    first.available = "down"  # so the sync falls back to the second Steam plugin
    pm = new_plugin_manager({"first": first, "second": second, "gog": gog})
    config = Config(stores={"steam": {"branches": {"440": "beta"}}}, env={},
                    plugins={"second": {"extra": 1}})
    summary = sync_library(db, pm=pm, config=config)
    assert summary.checked == 2
    assert first.seen == [{"branches": {"440": "beta"}}]
    assert second.seen == [{"branches": {"440": "beta"}, "extra": 1}]
    assert gog.seen == [{}]
