"""Settings: names checked, environment strings coerced, defaults sane."""

from __future__ import annotations

import pytest
from patchwatch_epic.settings import EpicSettings, SettingsError, default_legendary_user


def test_environment_strings_are_coerced():
    s = EpicSettings.from_mapping({
        "timeout": "2.5", "retries": "0", "batch_size": "25", "rate": "0",
        "legendary_write_back": "false", "legendary_user": "",
    })
    assert (s.timeout, s.retries, s.batch_size, s.rate) == (2.5, 0, 25, 0.0)
    assert s.legendary_write_back is False and s.legendary_user == ""


def test_unknown_setting_is_named_with_the_known_ones():
    with pytest.raises(SettingsError, match="unknown epic setting.*catalog_ur;.*catalog_url"):
        EpicSettings.from_mapping({"catalog_ur": "http://x"})


@pytest.mark.parametrize("raw, needle", [
    ({"timeout": "soon"}, "timeout must be a float"),
    ({"retries": 1.5}, "retries must be a int"),
    ({"legendary_write_back": "maybe"}, "legendary_write_back must be a bool"),
    ({"oauth_url": "localhost:80"}, "oauth_url must be an http"),
    ({"batch_size": 0}, "batch_size"),
    ({"client_secret": ""}, "client_secret"),
])
def test_bad_values_are_explained(raw, needle):
    with pytest.raises(SettingsError, match=needle):
        EpicSettings.from_mapping(raw)


def test_legendary_login_defaults_to_legendarys_own_location(monkeypatch, tmp_path):
    monkeypatch.setenv("LEGENDARY_CONFIG_PATH", str(tmp_path / "lg"))
    assert default_legendary_user() == str(tmp_path / "lg" / "user.json")
    assert EpicSettings.from_mapping({}).legendary_user == str(tmp_path / "lg" / "user.json")
    monkeypatch.delenv("LEGENDARY_CONFIG_PATH")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_legendary_user() == str(tmp_path / "xdg" / "legendary" / "user.json")


def test_urls_join_without_double_slashes():
    s = EpicSettings.from_mapping({"catalog_url": "http://127.0.0.1:9/", "legendary_user": ""})
    assert s.url("catalog_url", "/catalog/x") == "http://127.0.0.1:9/catalog/x"


def test_heroics_legendary_login_is_found_when_legendarys_own_is_absent(monkeypatch, tmp_path):
    monkeypatch.delenv("LEGENDARY_CONFIG_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    heroic = tmp_path / "heroic" / "legendaryConfig" / "legendary" / "user.json"
    heroic.parent.mkdir(parents=True)
    heroic.write_text("{}")
    assert default_legendary_user() == str(heroic)
    own = tmp_path / "legendary" / "user.json"
    own.parent.mkdir()
    own.write_text("{}")
    assert default_legendary_user() == str(own), "legendary's own login comes first"


@pytest.mark.parametrize("raw, needle", [
    ({"assets_timeout": 0}, "assets_timeout"),
    ({"legendary_lock_timeout": -1}, "legendary_lock_timeout"),
    ({"local_max_age": -5}, "local_max_age"),
])
def test_new_limits_are_checked(raw, needle):
    with pytest.raises(SettingsError, match=needle):
        EpicSettings.from_mapping(raw)


def test_the_assets_call_waits_longer_than_other_calls_by_default():
    settings = EpicSettings.from_mapping({"legendary_user": ""})
    assert 60 <= settings.assets_timeout <= 120 and settings.timeout < settings.assets_timeout
