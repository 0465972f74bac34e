"""Giving up on a plugin releases the process: threads end, waits end, the process exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from patchwatch.db import CHECKS, RUNS, open_db
from patchwatch.library import add_game
from patchwatch.testing import Response

pytestmark = pytest.mark.timeout(60)

# A store plugin built like the real ones: a ThreadPoolExecutor inside a generator, one
# patchwatch.http session, a shared HostGate and send_with_retries.
PLUGIN = textwrap.dedent("""
    import sys, threading, time
    from concurrent.futures import ThreadPoolExecutor, as_completed
    from patchwatch import Problem, Signal, StoreInfo, hookimpl
    from patchwatch.http import GaveUp, HostGate, RetryPolicy, new_session, send_with_retries

    class HttpStore:
        def __init__(self, url):
            self.url = url

        @hookimpl
        def store_info(self):
            return StoreInfo(store="steam", priority=10)

        @hookimpl
        def check_updates_bulk(self, games):
            session = new_session("trickly", pool_size=4)
            gate = HostGate()
            policy = RetryPolicy(retries=3, backoff=1.0, max_retry_after=60.0)

            def one(game):
                url = f"{self.url}/app/{game.store_id}"
                try:
                    answer = send_with_retries(lambda a: session.get(url, timeout=10), policy,
                                               gate=gate)
                except GaveUp as exc:
                    return game.id, Problem(f"{url}: {exc.reason}")
                return game.id, Signal("buildid", str(answer.json()["build"]))

            with ThreadPoolExecutor(4) as pool:
                futures = [pool.submit(one, g) for g in games]
                for future in as_completed(futures):
                    yield future.result()
""")

SYNC = PLUGIN + textwrap.dedent("""
    from patchwatch.config import Config
    from patchwatch.plugins import new_plugin_manager
    from patchwatch.sync import sync_library
    t0 = time.monotonic()
    summary = sync_library(sys.argv[1], pm=new_plugin_manager({"trickly": HttpStore(sys.argv[2])}),
                           config=Config(env={}, timeout=2))
    print("returned", round(time.monotonic() - t0, 1), summary.plugins[0].status, flush=True)
    t1 = time.monotonic()
    while time.monotonic() - t1 < 5 and threading.active_count() > 1:
        time.sleep(0.05)
    left = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    print("released", round(time.monotonic() - t1, 1), left, flush=True)
""")


def run_child(script, *args, timeout=40):
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)
    return done, time.monotonic() - t0


def library(db_path, n=4):
    for i in range(1, n + 1):
        add_game(db_path, "steam", str(i))


def test_store_trickling_one_byte_every_2s_is_released(fake_store, db_path):
    fake_store.route("GET", r"/app/\d+", Response(json={"build": 1, "pad": "x" * 40},
                                                  trickle=2.0))
    library(db_path)
    done, seconds = run_child(SYNC, db_path, fake_store.url)
    assert done.returncode == 0, done.stderr
    returned, released = done.stdout.splitlines()
    assert returned.split()[2] == "timeout"
    _, after, left = released.split(" ", 2)
    assert left == "[]", f"worker threads still alive: {left}"
    assert float(after) <= 1.5  # the pool's threads ended at once: their reads were cut off
    assert seconds < 15  # the body alone would take over 100 s at this rate


def test_429_retry_after_59_is_released(fake_store, db_path):
    fake_store.route("GET", r"/app/\d+", {"build": 1})
    fake_store.fail(r"/app/\d+", 429, times=100, retry_after=59)
    library(db_path)
    done, seconds = run_child(SYNC, db_path, fake_store.url)
    assert done.returncode == 0, done.stderr
    returned, released = done.stdout.splitlines()
    _, after, left = released.split(" ", 2)
    assert left == "[]" and float(after) <= 2.5
    assert seconds < 15  # not the 59 s the store asked for


CLI = PLUGIN + textwrap.dedent("""
    from patchwatch import plugins
    from patchwatch.cli import main
    from patchwatch.plugins import new_plugin_manager
    plugins._default = new_plugin_manager({"trickly": HttpStore(sys.argv[2])})
    main(["--db", sys.argv[1], "--config", sys.argv[3], "sync"])
""")


def test_cli_sync_exits_after_giving_up(fake_store, db_path, tmp_path):
    fake_store.route("GET", r"/app/\d+", Response(json={"build": 1, "pad": "x" * 40},
                                                  trickle=2.0))
    library(db_path)
    config = tmp_path / "config.toml"
    config.write_text("timeout = 2\n", encoding="utf-8")
    done, seconds = run_child(CLI, db_path, fake_store.url, config)
    assert done.returncode == 3, done.stderr
    assert "timeout" in done.stdout and "Traceback" not in done.stderr
    assert seconds < 15


STUBBORN = textwrap.dedent("""
    import sys, threading, time
    from patchwatch import Signal, StoreInfo, hookimpl, plugins
    from patchwatch.cli import main
    from patchwatch.plugins import new_plugin_manager

    class Stubborn:
        '''Starts a non-daemon thread that ignores every stop for 60 s.'''
        @hookimpl
        def store_info(self):
            return StoreInfo(store="steam")

        @hookimpl
        def check_updates_bulk(self, games):
            threading.Thread(target=time.sleep, args=(60,), name="stubborn", daemon=False).start()
            for game in games:
                yield game.id, Signal("buildid", "1")

    plugins._default = new_plugin_manager({"stubborn": Stubborn()})
    main(["--db", sys.argv[1], "sync"])
""")


def test_cli_does_not_wait_for_a_plugin_thread_that_ignores_the_stop(db_path):
    library(db_path, 2)
    done, seconds = run_child(STUBBORN, db_path)
    assert done.returncode == 0, done.stderr
    assert "2 checked" in done.stdout
    assert seconds < 20  # not the 60 s the plugin's thread sleeps
    assert open_db(db_path)[CHECKS].count == 2


TERM = textwrap.dedent("""
    import sys
    import patchwatch.sync as s
    from patchwatch import plugins
    from patchwatch.cli import main
    from patchwatch.plugins import new_plugin_manager
    from patchwatch.testing import ExamplePlugin
    s.FLUSH_EVERY = 5
    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, 201)})
    plugin.delay = 0.05
    plugins._default = new_plugin_manager({"p": plugin})
    main(["--db", sys.argv[1], "sync"])
""")


def test_sigterm_saves_marks_interrupted_prints_one_line_and_exits_143(db_path):
    library(db_path, 200)
    child = subprocess.Popen([sys.executable, "-c", TERM, str(db_path)], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and open_db(db_path)[CHECKS].count < 20:
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 143
    assert err.strip().splitlines()[-1] == \
        "Terminated (SIGTERM): what was fetched is saved; the next sync resumes."
    assert "Traceback" not in err
    db = open_db(db_path)
    [run] = list(db[RUNS].rows)
    assert run["status"] == "interrupted"
    assert run["processed"] == db[CHECKS].count >= 20
