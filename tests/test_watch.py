"""The watch loop in-process: schedules per store, one digest per cycle, stop, --once."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from click.testing import CliRunner

from patchwatch import StoreInfo, hookimpl
from patchwatch.cli import cli
from patchwatch.db import open_db
from patchwatch.errors import ConfigError
from patchwatch.library import add_games
from patchwatch.testing import ExamplePlugin
from patchwatch.testing.receiver import NotificationReceiver
from patchwatch.watch import DEFAULT_INTERVAL, Watcher, parse_seconds, plan


class Declares(ExamplePlugin):
    """An example plugin that declares its watch interval and minimum."""

    def __init__(self, *args, interval=None, minimum=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.interval, self.minimum = interval, minimum

    @hookimpl
    def store_info(self) -> StoreInfo:
        return StoreInfo(store=self.store, priority=self.priority, watch_interval=self.interval,
                         min_watch_interval=self.minimum)


def test_plan_uses_the_first_usable_plugin_and_the_users_overrides(make_pm, config):
    pm = make_pm(fast=Declares(priority=10, interval=60, minimum=10),
                 slow=Declares(priority=5), other=Declares(store="gog"))
    [steam, gog] = plan(pm, config, ["steam", "gog"])
    assert (steam.plugin, steam.interval, gog.interval) == ("fast", 60, DEFAULT_INTERVAL)
    custom = replace(config, watch={"interval": {"fast": "30s", "gog": "12h"}})
    [steam, gog] = plan(pm, custom, ["steam", "gog"])
    assert (steam.interval, gog.interval) == (30, 12 * 3600)
    too_fast = replace(config, watch={"interval": {"steam": 2}})
    [steam] = plan(pm, too_fast, ["steam"])
    assert steam.interval == 10 and "raised to 10 s" in steam.note
    [steam] = plan(pm, replace(config, disable={"fast"}), ["steam"])  # the fallback's schedule
    assert (steam.plugin, steam.interval) == ("slow", DEFAULT_INTERVAL)
    [steam] = plan(pm, replace(too_fast, watch={**too_fast.watch, "ignore_minimum": True}), ["steam"])
    assert steam.interval == 2


@pytest.mark.parametrize("value", ["soon", -5, "0s", [1]])
def test_bad_intervals_are_one_line_errors(value):
    with pytest.raises(ConfigError, match=r"\[watch\] x"):
        parse_seconds(value, "x")


def start(watcher: Watcher) -> threading.Thread:
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    return thread


def wait_until(condition, seconds: float = 30) -> None:
    """Wait for ``condition()`` (polled), failing after ``seconds``: a bound, not a timing."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.02)


def test_watch_sends_one_digest_per_cycle_and_stops_at_once(db_path, make_pm, config):
    db = open_db(db_path)
    add_games(db, [{"store": "steam", "store_id": str(n), "title": f"Game {n}"} for n in range(20)])
    plugin = ExamplePlugin(catalogue={str(n): 1 for n in range(20)})
    pm = make_pm(steam_x=plugin)
    lines: list[str] = []
    with NotificationReceiver() as receiver:
        config = replace(config, notify=[receiver.apprise_url],
                         watch={"interval": {"steam": 0.3}, "ignore_minimum": True})
        watcher = Watcher(db_path, pm=pm, config=config, log=lines.append)
        thread = start(watcher)
        deadline = time.monotonic() + 10
        while watcher.stats.cycles < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.messages == []  # baselines are silent
        plugin.catalogue.update({str(n): 2 for n in range(12)})  # at once, as a store would
        [message] = receiver.wait_for(1)
        assert message.title == "patchwatch: 12 new builds"
        time.sleep(1.0)  # more idle cycles: no more messages
        assert len(receiver.messages) == 1
        plugin.catalogue["15"] = 3
        messages = receiver.wait_for(2)
        assert messages[1].title == "patchwatch: New build: Game 15"
        t0 = time.monotonic()
        watcher.stop.set()
        thread.join(5)
        assert not thread.is_alive() and time.monotonic() - t0 < 2
    assert lines[0].startswith("watching steam every 0.3 s (steam_x); notifying 1 destination")
    assert any("steam: 12 new build(s): Game 0 (v1 → v2)" in line for line in lines)
    assert lines[-1].startswith("stopped after")


def test_a_stop_during_a_slow_check_saves_what_was_fetched(db_path, make_pm, config):
    db = open_db(db_path)
    add_games(db, [{"store": "steam", "store_id": str(n)} for n in range(40)])
    plugin = ExamplePlugin(catalogue={str(n): 1 for n in range(40)})
    plugin.delay = 0.05  # two seconds for the whole library
    watcher = Watcher(db_path, pm=make_pm(steam_x=plugin), config=config, log=lambda line: None)
    thread = start(watcher)
    wait_until(lambda: open_db(db_path).execute(
        "SELECT count(*) FROM patchwatch_signals").fetchone()[0] > 0)  # the first batch saved
    t0 = time.monotonic()
    watcher.stop.set()
    thread.join(5)
    assert time.monotonic() - t0 < 2
    checked = open_db(db_path).execute("SELECT count(*) FROM patchwatch_signals").fetchone()[0]
    assert 0 < checked < 40
    status = open_db(db_path).execute(
        "SELECT status FROM patchwatch_runs ORDER BY id DESC").fetchone()[0]
    assert status in ("cancelled", "interrupted")


def test_heartbeat_when_nothing_happens(db_path, make_pm, config):
    add_games(open_db(db_path), [{"store": "steam", "store_id": "1"}])
    lines: list[str] = []
    config = replace(config, watch={"interval": {"steam": 0.2}, "ignore_minimum": True,
                                    "heartbeat": 0.5})
    watcher = Watcher(db_path, pm=make_pm(steam_x=ExamplePlugin(catalogue={"1": 1})),
                      config=config, log=lines.append)
    thread = start(watcher)
    beats = lambda: [line for line in lines if line.startswith("still watching (steam ")]
    wait_until(lambda: len(beats()) >= 2)
    watcher.stop.set()
    thread.join(5)
    assert 2 <= len(beats()) <= 4
    assert len(lines) < 10  # idle cycles log nothing else


def test_watch_once_for_cron(db_path, tmp_path, monkeypatch, installed_pm):
    plugin = ExamplePlugin(catalogue={"570": 1})
    installed_pm(steam_x=plugin)
    monkeypatch.setenv("PATCHWATCH_DB", str(db_path))
    monkeypatch.setenv("PATCHWATCH_CONFIG", str(tmp_path / "config.toml"))
    with NotificationReceiver() as receiver:
        (tmp_path / "config.toml").write_text(f'notify = ["{receiver.apprise_url}"]\n')

        def run(*args):
            return CliRunner().invoke(cli, list(args), catch_exceptions=False)

        run("games", "add", "steam", "570", "Dota 2")
        first = run("watch", "--once")
        assert first.exit_code == 0, first.output
        assert "steam: 1 new baseline(s)" in first.output
        plugin.catalogue["570"] = 2
        second = run("watch", "--once")
        assert "steam: 1 new build(s): Dota 2 (v1 → v2)" in second.output
        [message] = receiver.wait_for(1, timeout=2)
        assert "Dota 2" in message.message
        assert len(plugin.calls) == 2


def test_bad_watch_config_is_one_line(db_path, tmp_path, monkeypatch, installed_pm):
    installed_pm(steam_x=ExamplePlugin())
    monkeypatch.setenv("PATCHWATCH_DB", str(db_path))
    monkeypatch.setenv("PATCHWATCH_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text('[watch.interval]\nsteam = "often"\n')
    add_games(open_db(db_path), [{"store": "steam", "store_id": "1"}])
    result = CliRunner().invoke(cli, ["watch", "--once"])
    assert result.exit_code == 1 and "[watch] interval.steam" in result.output


def test_a_database_error_between_checks_is_logged_and_the_watch_goes_on(db_path, make_pm, config,
                                                                         monkeypatch):
    from patchwatch import notify
    from patchwatch.errors import DatabaseError

    add_games(open_db(db_path), [{"store": "steam", "store_id": "1", "title": "One"}])
    plugin = ExamplePlugin(catalogue={"1": 1})
    real = notify.pending_updates
    failures = iter([DatabaseError("database x is locked by another program (waited 5 s)")])

    def flaky(*args, **kwargs):
        for error in failures:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(notify, "pending_updates", flaky)
    lines: list[str] = []
    with NotificationReceiver() as receiver:
        config = replace(config, notify=[receiver.apprise_url],
                         watch={"interval": {"steam": 0.2}, "ignore_minimum": True})
        watcher = Watcher(db_path, pm=make_pm(steam_x=plugin), config=config, log=lines.append)
        thread = start(watcher)
        time.sleep(0.8)
        plugin.catalogue["1"] = 2
        [message] = receiver.wait_for(1)
        watcher.stop.set()
        thread.join(5)
    assert "One" in message.message
    assert any(line.startswith("notifications failed, trying again next cycle: database x is locked")
               for line in lines)
