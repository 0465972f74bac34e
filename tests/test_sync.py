"""The sync job: baselines, updates, fallback, circuit breaker, resume."""

from __future__ import annotations

import json
import threading

import pytest

from patchwatch import Problem, Signal, hookimpl
from patchwatch.db import BACKLOGIA_UPDATES, CHECKS, open_db
from patchwatch.library import add_game
from patchwatch.state import plugin_health, recent_updates
from patchwatch.sync import sync_library

from patchwatch.testing import ExamplePlugin


def add(db_path, store, *ids):
    return [add_game(db_path, store, str(i), f"Game {i}") for i in ids]


def test_first_sight_is_baseline_then_new_value_is_update(db_path, make_pm, config):
    add(db_path, "steam", 10, 20)
    plugin = ExamplePlugin(catalogue={"10": 100, "20": 200})
    pm = make_pm(pics=plugin)

    first = sync_library(db_path, pm=pm, config=config)
    assert (first.checked, first.baselines, first.updates) == (2, 2, [])

    plugin.catalogue["20"] = 201
    second = sync_library(db_path, pm=pm, config=config)
    assert second.unchanged == 1
    [update] = second.updated
    assert (update.store_id, update.old_value, update.new_value) == ("20", "200", "201")
    assert (update.old_version, update.version, update.plugin) == ("v200", "v201", "pics")

    third = sync_library(db_path, pm=pm, config=config)
    assert third.updates == [] and third.unchanged == 2
    history = recent_updates(open_db(db_path))
    assert [(h["store_id"], h["new_value"]) for h in history] == [("20", "201")]


def test_weak_signal_change_is_recorded_but_not_called_a_build(db_path, make_pm, config):
    add(db_path, "epic", "a")
    plugin = ExamplePlugin("epic", catalogue={"a": "2026-01-01"}, kind="last_modified",
                           is_build=False)
    pm = make_pm(epic=plugin)
    sync_library(db_path, pm=pm, config=config)
    plugin.catalogue["a"] = "2026-02-01"
    summary = sync_library(db_path, pm=pm, config=config)
    assert len(summary.updates) == 1 and summary.updated == []
    db = open_db(db_path)
    assert recent_updates(db, builds_only=True) == []
    assert db[BACKLOGIA_UPDATES].count == 0


def test_signal_kinds_are_compared_separately(db_path, make_pm, config):
    """A fallback plugin reporting another kind starts its own baseline, not an update."""
    add(db_path, "steam", 1)
    pics = ExamplePlugin(priority=100, catalogue={"1": 5})
    http = ExamplePlugin(priority=50, catalogue={"1": "news-9"}, kind="patch_notes",
                         is_build=False)
    pm = make_pm(pics=pics, http=http)
    sync_library(db_path, pm=pm, config=config)
    pics.available = False
    summary = sync_library(db_path, pm=pm, config=config)
    assert summary.baselines == 1 and summary.updates == []
    pics.available = True
    pics.catalogue["1"] = 6
    summary = sync_library(db_path, pm=pm, config=config)
    assert [(u.kind, u.old_value, u.new_value) for u in summary.updates] == [("buildid", "5", "6")]


def test_highest_priority_available_plugin_serves_the_store(db_path, make_pm, config):
    add(db_path, "steam", 1, 2)
    low = ExamplePlugin(priority=10, catalogue={"1": 1, "2": 2})
    high = ExamplePlugin(priority=90, catalogue={"1": 1, "2": 2})
    summary = sync_library(db_path, pm=make_pm(low=low, high=high), config=config)
    assert high.calls == [["1", "2"]] and low.calls == []
    assert summary.served_by() == {"high": 2}


def test_config_priority_overrides_the_plugin_default(db_path, make_pm, config):
    add(db_path, "steam", 1)
    low = ExamplePlugin(priority=10, catalogue={"1": 1})
    high = ExamplePlugin(priority=90, catalogue={"1": 1})
    config.priorities = {"low": 100}
    summary = sync_library(db_path, pm=make_pm(low=low, high=high), config=config)
    assert summary.served_by() == {"low": 1}


def test_unavailable_plugin_falls_back_in_the_same_sync(db_path, make_pm, config):
    add(db_path, "steam", 1, 2)
    high = ExamplePlugin(priority=90, catalogue={"1": 1, "2": 2})
    high.available = "no CM server reachable"
    low = ExamplePlugin(priority=10, catalogue={"1": 1, "2": 2})
    summary = sync_library(db_path, pm=make_pm(high=high, low=low), config=config)
    assert summary.checked == 2 and summary.served_by() == {"low": 2}
    report = summary.plugins[0]
    assert (report.name, report.status, report.reason, report.fallback_to) == (
        "high", "unavailable", "no CM server reachable", "low")
    assert high.calls == []


def test_is_available_that_raises_or_hangs_counts_as_unavailable(db_path, make_pm, config):
    add(db_path, "steam", 1)
    high = ExamplePlugin(priority=90, catalogue={"1": 1})
    high.available = RuntimeError("boom")
    low = ExamplePlugin(priority=10, catalogue={"1": 1})
    summary = sync_library(db_path, pm=make_pm(high=high, low=low), config=config)
    assert "RuntimeError: boom" in summary.plugins[0].reason
    assert summary.served_by() == {"low": 1}


def test_plugin_raising_midway_keeps_answers_and_sends_the_rest_on(db_path, make_pm, config):
    add(db_path, "steam", 1, 2, 3, 4)
    high = ExamplePlugin(priority=90, catalogue={str(i): i for i in range(1, 5)})
    high.raise_after = 2
    low = ExamplePlugin(priority=10, catalogue={str(i): i for i in range(1, 5)})
    summary = sync_library(db_path, pm=make_pm(high=high, low=low), config=config)
    assert summary.checked == 4
    assert summary.served_by() == {"high": 2, "low": 2}
    assert low.calls == [["3", "4"]]
    assert summary.plugins[0].status == "failed"
    assert "connection dropped" in summary.plugins[0].reason


def test_unanswered_games_go_to_the_next_plugin(db_path, make_pm, config):
    add(db_path, "steam", 1, 2)
    high = ExamplePlugin(priority=90, catalogue={"1": 1, "2": 2})
    high.skip = {"2"}
    low = ExamplePlugin(priority=10, catalogue={"1": 1, "2": 2})
    summary = sync_library(db_path, pm=make_pm(high=high, low=low), config=config)
    assert summary.served_by() == {"high": 1, "low": 1}
    assert summary.plugins[0].status == "ok"


def test_a_plugin_that_stops_answering_times_out_and_falls_back(db_path, make_pm, config):
    add(db_path, "steam", 1, 2)
    high = ExamplePlugin(priority=90, catalogue={"1": 1, "2": 2})
    high.hang_after = 1
    low = ExamplePlugin(priority=10, catalogue={"1": 1, "2": 2})
    config.timeout = 0.5
    try:
        summary = sync_library(db_path, pm=make_pm(high=high, low=low), config=config)
    finally:
        high.release.set()
    assert summary.plugins[0].status == "timeout"
    assert summary.served_by() == {"high": 1, "low": 1}


def test_circuit_breaker_trips_after_three_failures_then_retries(db_path, make_pm, config):
    add(db_path, "steam", 1)
    high = ExamplePlugin(priority=90, catalogue={"1": 1})
    high.available = False
    low = ExamplePlugin(priority=10, catalogue={"1": 1})
    pm = make_pm(high=high, low=low)
    for _ in range(3):
        sync_library(db_path, pm=pm, config=config)
    assert high.available_calls == 3
    health = plugin_health(open_db(db_path), "high")
    assert health.failures == 3 and health.is_off()

    summary = sync_library(db_path, pm=pm, config=config)
    assert high.available_calls == 3, "an open breaker must not call the plugin"
    assert summary.plugins[0].status == "off" and summary.served_by() == {"low": 1}

    # Cool-down over: tried again; success resets the count.
    config.cooldown = 0
    high.available = True
    db = open_db(db_path)
    db["patchwatch_plugin_state"].update("high", {"off_until": "2000-01-01T00:00:00+00:00"})
    summary = sync_library(db_path, pm=pm, config=config)
    assert summary.served_by() == {"high": 1}
    assert plugin_health(open_db(db_path), "high").failures == 0


def test_changing_a_plugins_settings_closes_its_breaker(db_path, make_pm, config):
    """A user who fixes a bad setting need not wait out the cool-down."""
    add(db_path, "steam", 1)
    plugin = ExamplePlugin(catalogue={"1": 1})
    plugin.available = "bad setting url"
    pm = make_pm(p=plugin)
    for _ in range(3):
        sync_library(db_path, pm=pm, config=config)
    assert sync_library(db_path, pm=pm, config=config).plugins[0].status == "off"
    plugin.available = True
    config.plugins = {"p": {"url": "http://fixed"}}
    summary = sync_library(db_path, pm=pm, config=config)
    assert summary.served_by() == {"p": 1}
    assert plugin_health(open_db(db_path), "p").failures == 0


def test_every_answer_an_error_counts_as_a_failure(db_path, make_pm, config):
    add(db_path, "gog", 1, 2)
    plugin = ExamplePlugin("gog", catalogue={"1": Problem("HTTP 503"), "2": Problem("HTTP 503")})
    pm = make_pm(gog=plugin)
    summary = sync_library(db_path, pm=pm, config=config)
    assert summary.plugins[0].status == "failed"
    assert [f.message for f in summary.failures] == ["HTTP 503", "HTTP 503"]
    assert plugin_health(open_db(db_path), "gog").failures == 1


def test_not_found_is_a_per_game_status_not_a_plugin_failure(db_path, make_pm, config):
    add(db_path, "gog", 1, 2)
    plugin = ExamplePlugin("gog", catalogue={"1": 5})
    summary = sync_library(db_path, pm=make_pm(gog=plugin), config=config)
    assert [(f.store_id, f.status) for f in summary.failures] == [("2", "not_found")]
    assert summary.plugins[0].status == "ok"


def test_disabled_plugin_is_skipped_by_config_and_by_env(db_path, make_pm, config):
    add(db_path, "steam", 1)
    high = ExamplePlugin(priority=90, catalogue={"1": 1})
    low = ExamplePlugin(priority=10, catalogue={"1": 1})
    pm = make_pm(high=high, low=low)
    config.disable = {"high"}
    assert sync_library(db_path, pm=pm, config=config).served_by() == {"low": 1}
    config.disable = set()
    config.env = {"PATCHWATCH_DISABLE": "low, high"}
    summary = sync_library(db_path, pm=pm, config=config)
    assert [p.status for p in summary.plugins] == ["disabled", "disabled"]
    # Every plugin of the store switched off: the user's choice, reported once, not a failure.
    assert summary.failures == [] and summary.switched_off == {"steam": 1}
    assert high.calls == [] and low.calls == [["1"]]


def test_store_without_plugin_is_unsupported_not_a_crash(db_path, make_pm, config):
    add(db_path, "itch", 7)
    add(db_path, "steam", 1)
    summary = sync_library(db_path, pm=make_pm(s=ExamplePlugin(catalogue={"1": 1})),
                           config=config)
    assert [(u.store, u.status) for u in summary.unsupported] == [("itch", "unsupported")]
    assert summary.checked == 1


def test_only_requested_stores_are_synced(db_path, make_pm, config):
    add(db_path, "steam", 1)
    add(db_path, "gog", 2)
    steam, gog = ExamplePlugin(catalogue={"1": 1}), ExamplePlugin("gog", catalogue={"2": 2})
    summary = sync_library(db_path, pm=make_pm(steam=steam, gog=gog), config=config,
                           stores=["GOG"])
    assert summary.total == 1 and steam.calls == [] and gog.calls == [["2"]]


def test_plugin_state_is_kept_between_syncs_only_on_success(db_path, make_pm, config):
    add(db_path, "steam", 1, 2)
    plugin = ExamplePlugin(catalogue={"1": 1, "2": 2})
    pm = make_pm(p=plugin)
    sync_library(db_path, pm=pm, config=config)
    sync_library(db_path, pm=pm, config=config)
    assert plugin_health(open_db(db_path), "p").state == {"calls": 2}
    plugin.raise_after = 1
    sync_library(db_path, pm=pm, config=config)
    assert plugin_health(open_db(db_path), "p").state == {"calls": 2}


def test_progress_is_reported_up_to_total(db_path, make_pm, config):
    add(db_path, "steam", *range(1, 6))
    seen = []
    sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={str(i): i for i in range(6)})),
                 config=config, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_interrupted_sync_keeps_what_was_fetched_and_next_run_resumes(db_path, make_pm, config,
                                                                      monkeypatch):
    import patchwatch.sync as sync_module
    monkeypatch.setattr(sync_module, "FLUSH_EVERY", 2)
    add(db_path, "steam", *range(1, 7))
    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, 7)})
    pm = make_pm(p=plugin)

    def interrupt(done, total):
        if done >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync_library(db_path, pm=pm, config=config, progress=interrupt)
    db = open_db(db_path)
    assert db[CHECKS].count == 4
    assert db["patchwatch_runs"].get(1)["status"] == "interrupted"

    summary = sync_library(db_path, pm=pm, config=config)
    assert summary.resumed_from == 1 and summary.skipped_resumed == 4
    assert plugin.calls[-1] == ["5", "6"]
    assert summary.baselines == 2
    assert open_db(db_path)["patchwatch_signals"].count == 6


def test_concurrent_syncs_from_threads_record_each_update_once(db_path, make_pm, config):
    add(db_path, "steam", *range(1, 31))
    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, 31)})
    pm = make_pm(p=plugin)
    sync_library(db_path, pm=pm, config=config)
    for i in range(1, 31):
        plugin.catalogue[str(i)] = i + 1000
    errors, summaries = [], []

    def worker():
        try:
            summaries.append(sync_library(db_path, pm=pm, config=config))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(len(s.updated) for s in summaries) == [0, 0, 0, 30]
    assert len(recent_updates(open_db(db_path), limit=1000)) == 30


def test_summary_json_is_serialisable(db_path, make_pm, config):
    add(db_path, "steam", 1)
    summary = sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"1": 1})),
                           config=config)
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["checked"] == 1 and data["plugins"][0]["name"] == "p"


HOLDER = """
import sys
from patchwatch.locks import sync_lock
with sync_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_sync_running_in_another_process_is_not_run_twice(db_path, make_pm, config):
    import subprocess
    import sys

    from patchwatch.library import now_iso
    from patchwatch.sync import SyncBusy

    add(db_path, "steam", 1)
    plugin = ExamplePlugin(catalogue={"1": 1})
    db = open_db(db_path)
    db["patchwatch_runs"].insert({"started_at": now_iso(), "status": "running", "pid": 4242,
                                  "heartbeat_at": now_iso()})
    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline() == "held\n"
        with pytest.raises(SyncBusy, match="pid 4242.*is running on"):
            sync_library(db_path, pm=make_pm(p=plugin), config=config)
        assert plugin.calls == []
    finally:
        other.kill()  # kill -9: the kernel releases its lock
        other.wait()
    # Its process is gone: the run counts as interrupted and the next sync goes ahead.
    summary = sync_library(db_path, pm=make_pm(p=plugin), config=config)
    assert summary.checked == 1 and summary.resumed_from == 1


class _Scripted(ExamplePlugin):
    """Answers every game with ``self.signal``."""

    signal = None

    @hookimpl
    def check_updates_bulk(self, games):
        return [(game.id, self.signal) for game in games]


def test_unchanged_value_keeps_its_first_sight_but_stores_a_new_detail(db_path, make_pm, config):
    """A plugin's cheap filter reads ``detail`` (steam_pics: the change number): a new detail
    under the same value must be stored, and an identical answer still moves last_seen."""
    [game_id] = add(db_path, "steam", 1)
    plugin = _Scripted()
    pm = make_pm(pics=plugin)
    plugin.signal = Signal("buildid", "5", detail={"change_number": 10})
    sync_library(db_path, pm=pm, config=config)
    db = open_db(db_path)
    db.execute("UPDATE patchwatch_signals SET first_seen = 'A', last_seen = 'A'")
    db.conn.commit()

    plugin.signal = Signal("buildid", "5", detail={"change_number": 11})
    summary = sync_library(db_path, pm=pm, config=config)
    row = db.execute("SELECT detail, first_seen, last_seen FROM patchwatch_signals").fetchone()
    assert summary.unchanged == 1 and summary.updates == []
    assert (json.loads(row[0]), row[1]) == ({"change_number": 11}, "A") and row[2] != "A"

    db.execute("UPDATE patchwatch_signals SET last_seen = 'B'")
    db.conn.commit()
    sync_library(db_path, pm=pm, config=config)  # the very same answer
    row = db.execute("SELECT detail, first_seen, last_seen FROM patchwatch_signals").fetchone()
    assert (json.loads(row[0]), row[1]) == ({"change_number": 11}, "A") and row[2] != "B"
    check = db.execute(f"SELECT status, run_id FROM {CHECKS} WHERE game_id = ?",
                       [game_id]).fetchone()
    assert check[0] == "ok" and check[1] == db.execute(
        "SELECT max(id) FROM patchwatch_runs").fetchone()[0]


def test_a_cool_down_is_never_shorter_than_configured(db_path):
    """off_until is kept to the second: rounded up, or a 1 s cool-down could last 0 s."""
    from datetime import datetime, timedelta, timezone

    from patchwatch.state import record_failure

    db = open_db(db_path)
    for _ in range(20):
        before = datetime.now(timezone.utc)
        health = record_failure(db, "p", "down", trip_after=1, cooldown=0.3)
        until = datetime.fromisoformat(health.off_until)
        assert until >= before + timedelta(seconds=0.3) and until.microsecond == 0
        assert until <= before + timedelta(seconds=1.3 + 0.5)
