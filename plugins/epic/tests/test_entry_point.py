"""The packaging: the installed entry point loads this plugin under the name ``epic``."""

from __future__ import annotations

from importlib.metadata import entry_points

import patchwatch_epic
from patchwatch.plugins import call, new_plugin_manager


def test_entry_point_is_installed_and_registers_epic():
    (ep,) = [ep for ep in entry_points(group="patchwatch") if ep.name == "epic"]
    assert ep.value == "patchwatch_epic" and ep.load() is patchwatch_epic
    pm = new_plugin_manager(entry_points=True)
    assert "epic" not in pm.load_errors
    assert pm.get_plugin("epic") is patchwatch_epic
    info = call(pm, "epic", "store_info")
    assert (info.store, info.priority) == ("epic", 50)
