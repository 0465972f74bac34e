"""A sync killed midway (kill -9) loses nothing it had fetched; the next run resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from patchwatch.db import CHECKS, SIGNALS, open_db
from patchwatch.library import add_game
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin

SCRIPT = textwrap.dedent("""
    import sys
    import patchwatch.sync as s
    from patchwatch.config import Config
    from patchwatch.plugins import new_plugin_manager
    from patchwatch.testing import ExamplePlugin
    s.FLUSH_EVERY = 5
    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, 201)})
    plugin.delay = 0.02
    s.sync_library(sys.argv[1], pm=new_plugin_manager({"p": plugin}), config=Config(env={}))
""")


def test_killed_sync_resumes_where_it_stopped(db_path, config):
    for i in range(1, 201):
        add_game(db_path, "steam", str(i))
    child = subprocess.Popen([sys.executable, "-c", SCRIPT, str(db_path)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if open_db(db_path)[CHECKS].count >= 40:
                break
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    saved = open_db(db_path)[CHECKS].count
    assert 40 <= saved < 200, "the child must have been killed midway"

    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, 201)})
    from patchwatch.plugins import new_plugin_manager
    summary = sync_library(db_path, pm=new_plugin_manager({"p": plugin}), config=config)
    assert summary.resumed_from == 1
    assert summary.skipped_resumed == saved
    assert len(plugin.calls[0]) == 200 - saved
    assert open_db(db_path)[SIGNALS].count == 200
    assert summary.updates == []
