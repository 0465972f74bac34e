"""Opt-in (`pytest -m live`): read the real launcher on this machine, if there is one."""

from __future__ import annotations

import pytest

import patchwatch_launcher_heroic as plugin
from patchwatch import LauncherNotFound
from patchwatch.testing import read_launcher_items


@pytest.mark.live
def test_the_launcher_on_this_machine_reads_cleanly():
    try:
        read_launcher_items(plugin.read_launcher({}, {}))  # what the core accepts
    except LauncherNotFound as exc:
        pytest.skip(f"no launcher here: {exc}")
