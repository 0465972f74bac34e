"""Notifications: digest per sync, baselines silent, mute, outbox retries, at most one duplicate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest
from click.testing import CliRunner

from patchwatch import Links, hookimpl
from patchwatch.cli import cli
from patchwatch.db import OUTBOX, open_db
from patchwatch.library import add_games
from patchwatch.notify import deliver, digest, notify_updates, prime
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin
from patchwatch.testing.receiver import NotificationReceiver


@pytest.fixture
def receiver():
    with NotificationReceiver() as r:
        yield r


def library(db_path, *games):
    db = open_db(db_path)
    add_games(db, [{"store": s, "store_id": i, "title": t} for s, i, t in games])
    return db


def cycle(db_path, pm, config):
    """What watch and sync do: a sync, then the digest."""
    prime(open_db(db_path))
    summary = sync_library(db_path, pm=pm, config=config)
    count, delivery = notify_updates(open_db(db_path), pm, config)
    return summary, count, delivery


def test_one_digest_per_cycle_listing_each_new_build(db_path, make_pm, config, receiver):
    library(db_path, ("steam", "570", "Dota 2"), ("steam", "440", "TF2"), ("steam", "10", "CS"))
    plugin = ExamplePlugin(catalogue={"570": 1, "440": 7, "10": 3})
    pm = make_pm(steam_x=plugin)
    config = replace(config, notify=[receiver.apprise_url])
    _, count, _ = cycle(db_path, pm, config)
    assert count is None and receiver.messages == []  # baselines are silent
    plugin.catalogue.update({"570": 2, "440": 8})
    _, count, delivery = cycle(db_path, pm, config)
    assert count == 2 and delivery.sent == 1
    [message] = receiver.wait_for(1)
    assert message.title == "patchwatch: 2 new builds"
    assert "Dota 2 (steam): v1 → v2, buildid 1 → 2" in message.message
    assert "TF2 (steam): v7 → v8, buildid 7 → 8" in message.message
    assert "CS" not in message.message
    _, count, _ = cycle(db_path, pm, config)  # nothing new: nothing sent
    assert count is None and len(receiver.messages) == 1


def test_weak_changes_only_when_asked_and_mutes(db_path, make_pm, config, receiver):
    library(db_path, ("epic", "a", "Alan Wake"), ("steam", "570", "Dota 2"), ("steam", "440", "TF2"))
    weak = ExamplePlugin(store="epic", catalogue={"a": 1}, kind="last_modified", is_build=False)
    steam = ExamplePlugin(catalogue={"570": 1, "440": 1})
    pm = make_pm(epic_x=weak, steam_x=steam)
    config = replace(config, notify=[receiver.apprise_url], mute={"steam:440"})
    cycle(db_path, pm, config)
    weak.catalogue["a"], steam.catalogue["570"], steam.catalogue["440"] = 2, 2, 2
    cycle(db_path, pm, config)
    [message] = receiver.wait_for(1)
    assert "Dota 2" in message.message and "Alan Wake" not in message.message
    assert "TF2" not in message.message  # muted game
    weak.catalogue["a"], steam.catalogue["570"] = 3, 3
    cycle(db_path, pm, replace(config, notify_weak=True, mute={"steam"}))  # muted store
    messages = receiver.wait_for(2)
    assert len(messages) == 2
    assert "Alan Wake" in messages[1].message and "not a confirmed build" in messages[1].message
    assert "Dota 2" not in messages[1].message


def test_failed_delivery_waits_with_backoff_and_survives_a_restart(db_path, make_pm, config):
    library(db_path, ("steam", "570", "Dota 2"))
    plugin = ExamplePlugin(catalogue={"570": 1})
    pm = make_pm(steam_x=plugin)
    receiver = NotificationReceiver().start()
    port = receiver.port
    receiver.stop()  # the receiver is down
    config = replace(config, notify=[receiver.apprise_url], watch={"retry": 0.2, "retry_max": 0.4})
    cycle(db_path, pm, config)
    plugin.catalogue["570"] = 2
    _, count, delivery = cycle(db_path, pm, config)
    assert count == 1 and delivery.sent == 0 and delivery.failed == 1
    assert "127.0.0.1" in delivery.errors[0]
    db = open_db(db_path)
    row = db[OUTBOX].get(1)
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"]
    assert deliver(db, config).failed == 0  # not due yet: not tried again at once
    # A new process (a restart) with the receiver back delivers the message.
    receiver = NotificationReceiver(port=port).start()
    try:
        import time
        time.sleep(0.3)
        assert deliver(open_db(db_path), config).sent == 1
        [message] = receiver.wait_for(1)
        assert "Dota 2" in message.message
        assert deliver(open_db(db_path), config).sent == 0  # never twice
    finally:
        receiver.stop()


def test_http_error_counts_as_failed(db_path, config, receiver):
    db = open_db(db_path)
    receiver.status = 500
    from patchwatch.notify import enqueue_message

    enqueue_message(db, [receiver.apprise_url], "t", "b")
    report = deliver(db, replace(config, notify=[receiver.apprise_url]))
    assert report.failed == 1 and "500" in report.errors[0]


def test_crash_between_sending_and_recording_gives_one_duplicate_at_most(db_path, config, receiver,
                                                                          tmp_path):
    """A process claims the message, sends it and dies before marking it sent."""
    db = open_db(db_path)
    from patchwatch.notify import enqueue_message

    enqueue_message(db, [receiver.apprise_url], "digest", "body")
    script = textwrap.dedent(f"""
        import os
        from patchwatch.config import Config
        from patchwatch.db import open_db
        from patchwatch import notify
        def send_then_die(url, title, body):
            assert notify.send_apprise(url, title, body) is None
            os._exit(9)            # killed after sending, before recording
        notify.deliver(open_db({str(db_path)!r}), Config(notify=[{receiver.apprise_url!r}]),
                       send=send_then_die)
    """)
    crashed = subprocess.run([sys.executable, "-c", script], timeout=30)
    assert crashed.returncode == 9
    assert len(receiver.wait_for(1)) == 1
    config = replace(config, notify=[receiver.apprise_url])
    assert deliver(open_db(db_path), config).sent == 1  # the dead process's claim is taken over
    assert deliver(open_db(db_path), config).sent == 0
    assert len(receiver.wait_for(3, timeout=0.5)) == 2  # exactly one duplicate


def test_a_live_claim_is_not_sent_twice(db_path, config, receiver):
    db = open_db(db_path)
    from patchwatch.notify import enqueue_message

    [row_id] = enqueue_message(db, [receiver.apprise_url], "t", "b")
    db[OUTBOX].update(row_id, {"sending_at": "2999-01-01T00:00:00+00:00", "sending_pid": os.getppid()})
    assert deliver(db, replace(config, notify=[receiver.apprise_url])).sent == 0


class LinkPlugin:
    """A second steam plugin that only gives links, and records what it was asked."""

    def __init__(self, links: Links) -> None:
        self.links, self.seen = links, []

    @hookimpl
    def store_info(self):
        from patchwatch import StoreInfo
        return StoreInfo(store="steam", priority=-1)

    @hookimpl
    def update_links(self, game, signal, settings):
        self.seen.append((game, signal, dict(settings)))
        return self.links


def test_links_are_asked_kept_and_listed(db_path, make_pm, config, receiver):
    library(db_path, ("steam", "570", "Dota 2"))
    plugin = ExamplePlugin(catalogue={"570": 1})

    links = LinkPlugin(Links(store_page="https://store.example/570",
                             patch_notes="https://news.example/1", notes="Patch 7.36:   new hero"))
    pm = make_pm(steam_x=plugin, links_x=links)
    config = replace(config, notify=[receiver.apprise_url])
    cycle(db_path, pm, config)
    plugin.catalogue["570"] = 2
    cycle(db_path, pm, config)
    assert [(game.store_id, signal.value) for game, signal, _ in links.seen] == [("570", "2")]
    [message] = receiver.wait_for(1)
    assert "store: https://store.example/570" in message.message
    assert "patch notes: https://news.example/1" in message.message
    assert "Patch 7.36: new hero" in message.message
    row = next(open_db(db_path).query("SELECT * FROM patchwatch_updates"))
    assert row["notes_url"] == "https://news.example/1"


def test_a_plugin_whose_links_raise_or_hang_does_not_block_the_digest(db_path, make_pm, config, receiver):
    library(db_path, ("steam", "570", "Dota 2"))
    plugin = ExamplePlugin(catalogue={"570": 1})
    import threading
    never = threading.Event()

    class Hangs:
        @hookimpl
        def store_info(self):
            from patchwatch import StoreInfo
            return StoreInfo(store="steam", priority=-1)

        @hookimpl
        def update_links(self):
            never.wait(30)

    pm = make_pm(steam_x=plugin, hangs=Hangs())
    config = replace(config, notify=[receiver.apprise_url], watch={"links_timeout": 0.5})
    cycle(db_path, pm, config)
    plugin.catalogue["570"] = 2
    import time
    t0 = time.monotonic()
    _, count, delivery = cycle(db_path, pm, config)
    never.set()
    assert count == 1 and delivery.sent == 1 and time.monotonic() - t0 < 5


def test_first_use_of_notify_does_not_replay_history(db_path, make_pm, config, receiver):
    library(db_path, ("steam", "570", "Dota 2"))
    plugin = ExamplePlugin(catalogue={"570": 1})
    pm = make_pm(steam_x=plugin)
    sync_library(db_path, pm=pm, config=config)
    plugin.catalogue["570"] = 2
    sync_library(db_path, pm=pm, config=config)  # an update before notifications were set up
    _, count, _ = cycle(db_path, pm, replace(config, notify=[receiver.apprise_url]))
    assert count is None and receiver.messages == []


def test_digest_caps_long_lists():
    rows = [{"id": n, "store": "steam", "store_id": str(n), "title": f"G{n}", "kind": "buildid",
             "old_value": "1", "new_value": "2", "is_build": 1} for n in range(150)]
    title, body = digest(rows)
    assert title == "patchwatch: 150 new builds"
    assert body.count("•") == 100 and "... and 50 more" in body


# -- the command line ---------------------------------------------------------------

@pytest.fixture
def run(db_path, tmp_path, monkeypatch):
    monkeypatch.setenv("PATCHWATCH_DB", str(db_path))
    monkeypatch.setenv("PATCHWATCH_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("PATCHWATCH_DISABLE", raising=False)

    def invoke(*args: str, config: str = "timeout = 5\n"):
        (tmp_path / "config.toml").write_text(config)
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return invoke


def test_notify_test_sends_a_sample_and_reports_failures(run, receiver):
    result = run("notify", "test", config=f'notify = ["{receiver.apprise_url}"]\n')
    assert result.exit_code == 0, result.output
    [message] = receiver.wait_for(1)
    assert "a test from patchwatch" in message.title and "Dota 2" in message.message
    receiver.status = 503
    failed = run("notify", "test", config=f'notify = ["{receiver.apprise_url}"]\n')
    assert failed.exit_code == 1 and "FAILED json://127.0.0.1" in failed.output
    bad = run("notify", "test", "nosuchscheme://x")
    assert bad.exit_code == 1 and "Apprise does not understand" in bad.output
    assert run("notify", "test").exit_code == 2  # no URL anywhere


def test_sync_notifies_when_configured(run, installed_pm, receiver):
    plugin = ExamplePlugin(catalogue={"570": 1})
    installed_pm(steam_x=plugin)
    config = f'notify = ["{receiver.apprise_url}"]\n'
    run("games", "add", "steam", "570", "Dota 2", config=config)
    assert run("sync", config=config).exit_code == 0
    plugin.catalogue["570"] = 2
    result = run("sync", config=config)
    assert "notified: a digest of 1 update" in result.output
    assert len(receiver.wait_for(1)) == 1
    status = run("notify", "status", "--json", config=config)
    assert json.loads(status.output)["counts"] == {"sent": 1}


def test_bad_notify_config_is_one_line(run):
    result = run("sync", config='notify = "nosuchscheme://x"\n')
    assert result.exit_code == 1 and "Apprise does not understand" in result.output
    result = run("sync", config="notify = [1]\n")
    assert result.exit_code == 1 and "notify must be a list of strings" in result.output


def test_update_links_gets_the_stores_section_like_the_check_does(db_path, make_pm, config, receiver):
    library(db_path, ("steam", "570", "Dota 2"))
    plugin = ExamplePlugin(catalogue={"570": 1})

    links = LinkPlugin(Links(store_page="https://store.example/570"))
    pm = make_pm(steam_x=plugin, links_x=links)
    config = replace(config, notify=[receiver.apprise_url], stores={"steam": {"branches": {"570": "beta"}}},
                     plugins={"links_x": {"own": 1}})
    cycle(db_path, pm, config)
    plugin.catalogue["570"] = 2
    cycle(db_path, pm, config)
    assert [settings for _, _, settings in links.seen] == [{"branches": {"570": "beta"}, "own": 1}]
