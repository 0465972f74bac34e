"""Loading plugins: entry points, failures that must not take others down, listing."""

from __future__ import annotations

import inspect
from importlib.metadata import EntryPoint

import pytest

import patchwatch.plugins as plugins_module
from patchwatch import hookimpl, hookspecs
from patchwatch.config import Config
from patchwatch.plugins import backends, new_plugin_manager
from patchwatch.testing import ExamplePlugin

INSTALLED = {"steam_pics": "steam", "steam_http": "steam", "epic": "epic", "gog": "gog"}


def test_installed_plugins_are_discovered_through_entry_points():
    pm = new_plugin_manager(entry_points=True, strict=True)
    found = {b.name: b for b in backends(pm, Config(env={}))}
    assert set(INSTALLED) <= set(found)
    for name, store in INSTALLED.items():
        assert found[name].store == store and found[name].version == "0.1.0"
    assert found["steam_pics"].priority > found["steam_http"].priority


def test_loading_is_lazy(monkeypatch):
    monkeypatch.setattr(plugins_module, "_default", None)
    calls = []
    monkeypatch.setattr(plugins_module, "entry_points", lambda group: calls.append(group) or [])
    import patchwatch.sync  # noqa: F401 - importing the core loads no plugin
    assert calls == []
    plugins_module.get_plugin_manager()
    plugins_module.get_plugin_manager()
    assert calls == ["patchwatch"]


def fake_entry_points(monkeypatch, *eps: EntryPoint):
    monkeypatch.setattr(plugins_module, "entry_points", lambda group: list(eps))


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(monkeypatch):
    fake_entry_points(
        monkeypatch,
        EntryPoint("broken", "patchwatch_no_such_module_xyz", "patchwatch"),
        EntryPoint("good", "patchwatch.testing.example", "patchwatch"),
    )
    pm = new_plugin_manager(entry_points=True)
    assert "broken" in pm.load_errors and "ModuleNotFoundError" in pm.load_errors["broken"]
    assert pm.get_plugin("good") is not None
    listed = {b.name: b for b in backends(pm, Config(env={}))}
    assert listed["broken"].error and listed["broken"].store is None
    with pytest.raises(ModuleNotFoundError):
        new_plugin_manager(entry_points=True, strict=True)


def test_two_packages_claiming_one_name_are_reported_not_guessed(monkeypatch):
    fake_entry_points(
        monkeypatch,
        EntryPoint("gog", "patchwatch.testing.example", "patchwatch"),
        EntryPoint("gog", "patchwatch.testing.http", "patchwatch"),
    )
    pm = new_plugin_manager(entry_points=True)
    assert pm.get_plugin("gog") is None
    assert "claimed by several" in pm.load_errors["gog"]


class Misspelled:
    @hookimpl
    def check_update_bulk(self, games):  # typo: not a patchwatch hook
        return []


def test_a_misspelled_hook_is_reported_and_the_plugin_skipped():
    pm = new_plugin_manager({"typo": Misspelled(), "ok": ExamplePlugin()})
    assert "typo" in pm.load_errors and "check_update_bulk" in pm.load_errors["typo"]
    assert pm.get_plugin("typo") is None and pm.get_plugin("ok") is not None


class BadInfo:
    @hookimpl
    def store_info(self):
        raise RuntimeError("no idea which store")


def test_store_info_failure_makes_the_plugin_unusable_not_the_listing():
    pm = new_plugin_manager({"bad": BadInfo(), "ok": ExamplePlugin()})
    listed = {b.name: b for b in backends(pm, Config(env={}))}
    assert "no idea which store" in listed["bad"].error and listed["ok"].error is None


def test_env_settings_override_config_section():
    config = Config(plugins={"steam_pics": {"batch_size": 100, "timeout": 5}},
                    env={"PATCHWATCH_STEAM_PICS_BATCH_SIZE": "250", "PATCHWATCH_GOG_OS": "mac"})
    assert config.settings_for("steam_pics") == {"batch_size": "250", "timeout": 5}
    assert config.settings_for("gog") == {"os": "mac"}


def test_every_hook_is_documented_and_typed():
    hooks = [f for n, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(f, "patchwatch_spec")]
    assert {h.__name__ for h in hooks} >= {"store_info", "is_available", "check_updates_bulk"}
    for hook in hooks:
        assert hook.__doc__ and len(hook.__doc__.split()) > 20, hook.__name__
        assert inspect.signature(hook).return_annotation is not inspect.Signature.empty
