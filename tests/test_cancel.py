"""Cancelling a sync from the host, and progress with a message."""

from __future__ import annotations

import threading
import time

from patchwatch import hookimpl
from patchwatch.db import CHECKS, RUNS, open_db
from patchwatch.library import add_game
from patchwatch.state import plugin_health
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin


def library(db_path, n=200):
    for i in range(1, n + 1):
        add_game(db_path, "steam", str(i))


def slow_plugin(n=200, delay=0.02):
    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, n + 1)})
    plugin.delay = delay
    return plugin


def cancel_when(predicate, cancel: threading.Event) -> threading.Thread:
    def watch():
        while not predicate():
            time.sleep(0.01)
        cancel.set()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_cancel_event_stops_saves_marks_cancelled_and_next_sync_resumes(db_path, make_pm,
                                                                        config):
    library(db_path)
    plugin = slow_plugin()
    seen = []
    cancel = threading.Event()
    cancel_when(lambda: seen and seen[-1] >= 30, cancel)
    summary = sync_library(db_path, pm=make_pm(p=plugin), config=config,
                           progress=lambda done, total: seen.append(done), cancel=cancel)
    assert summary.cancelled
    [report] = summary.plugins
    assert report.status == "cancelled"
    db = open_db(db_path)
    saved = db[CHECKS].count
    assert 30 <= saved < 200
    assert summary.checked == saved  # everything fetched was recorded, nothing reported as failed
    assert summary.failures == []
    assert db[RUNS].get(summary.run_id)["status"] == "cancelled"
    assert plugin_health(db, "p").failures == 0  # a cancel is not the plugin's fault

    again = make_pm(p=slow_plugin(delay=0))
    second = sync_library(db_path, pm=again, config=config)
    assert second.resumed_from == summary.run_id
    assert second.skipped_resumed == saved
    assert not second.cancelled and db[CHECKS].count == 200


def test_cancel_callable_stops_a_plugin_that_is_not_answering(db_path, make_pm, config):
    library(db_path, 10)
    plugin = slow_plugin(10, delay=0)
    plugin.hang_after = 3  # then silent for up to 30 s (config.timeout is 5 s)
    asked = []
    t0 = time.monotonic()

    def cancelled():
        asked.append(1)
        return time.monotonic() - t0 > 0.5

    summary = sync_library(db_path, pm=make_pm(p=plugin), config=config, cancel=cancelled)
    plugin.release.set()
    assert summary.cancelled and summary.checked == 3
    assert summary.plugins[0].status == "cancelled"
    assert time.monotonic() - t0 < 3  # well before the plugin's 5 s timeout
    assert len(asked) < 100  # a callable is polled, not spun on


def test_cancel_while_is_available_hangs(db_path, make_pm, config):
    library(db_path, 3)
    gate = threading.Event()

    class Hanging(ExamplePlugin):
        @hookimpl
        def is_available(self, settings):
            gate.wait(30)
            return True

    plugin = Hanging(catalogue={"1": 1, "2": 2, "3": 3})
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    summary = sync_library(db_path, pm=make_pm(p=plugin), config=config, cancel=cancel)
    gate.set()
    assert summary.cancelled and plugin.calls == []
    assert summary.plugins[0].status == "cancelled"
    assert plugin_health(open_db(db_path), "p").failures == 0


def test_progress_gets_a_message_when_it_takes_one(db_path, make_pm, config):
    library(db_path, 5)
    add_game(db_path, "itch", "x")
    messages, pairs = [], []
    pm = make_pm(pics=slow_plugin(5, delay=0))
    sync_library(db_path, pm=pm, config=config,
                 progress=lambda done, total, message: messages.append((done, total, message)))
    sync_library(db_path, pm=pm, config=config, progress=lambda done, total: pairs.append(done))
    text = [m for _, _, m in messages]
    assert any("steam" in m and "pics" in m for m in text)
    assert any("itch" in m for m in text)
    assert messages[-1][0] == messages[-1][1] == 6 and "done" in text[-1]
    assert pairs and pairs[-1] == 6


def test_progress_positional_default_message_like_backlogia(db_path, make_pm, config):
    """``update_job_progress(job_id, progress, total, message="")`` through functools.partial."""
    import functools

    library(db_path, 2)
    got = []

    def update_job_progress(job_id, progress, total, message=""):
        got.append((job_id, progress, total, message))

    sync_library(db_path, pm=make_pm(p=slow_plugin(2, 0)), config=config,
                 progress=functools.partial(update_job_progress, "j1"))
    assert got and all(g[0] == "j1" for g in got) and all(g[3] for g in got)
