"""Opt-in (`pytest -m live`): read the real launcher on this machine, if there is one."""

from __future__ import annotations

import pytest

import patchwatch_launcher_gog as plugin
from patchwatch import LauncherNotFound
from patchwatch.models import LauncherGame, LauncherWarning, checked_launcher_game


@pytest.mark.live
def test_the_launcher_on_this_machine_reads_cleanly():
    try:
        items = list(plugin.read_launcher({}, {}))
    except LauncherNotFound as exc:
        pytest.skip(f"no launcher here: {exc}")
    for item in items:
        assert isinstance(item, (LauncherGame, LauncherWarning))
        if isinstance(item, LauncherGame):
            checked_launcher_game(item)  # what the core accepts
