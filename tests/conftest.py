"""Shared fixtures: a temporary database and in-process example store plugins."""

from __future__ import annotations

from typing import Any

import pytest

from patchwatch import plugins as plugins_module
from patchwatch.config import Config
from patchwatch.plugins import new_plugin_manager


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "patchwatch.db"


@pytest.fixture
def config() -> Config:
    return Config(env={}, cooldown=900, timeout=5, availability_timeout=2)


@pytest.fixture
def make_pm():
    def make(**plugins: Any):
        return new_plugin_manager(plugins)
    return make


@pytest.fixture
def installed_pm(monkeypatch):
    """Make the CLI see only the given plugins instead of the installed ones."""
    def install(**plugins: Any):
        pm = new_plugin_manager(plugins)
        monkeypatch.setattr(plugins_module, "_default", pm)
        return pm
    return install


@pytest.fixture
def run(db_path, tmp_path, monkeypatch):
    """``run(*args)``: the CLI on ``db_path`` with an empty config (``timeout = 5``)."""
    from click.testing import CliRunner

    from patchwatch.cli import cli

    monkeypatch.setenv("PATCHWATCH_DB", str(db_path))
    monkeypatch.setenv("PATCHWATCH_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("timeout = 5\n")
    monkeypatch.delenv("PATCHWATCH_DISABLE", raising=False)

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return invoke
