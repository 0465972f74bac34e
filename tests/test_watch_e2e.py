"""End to end: `patchwatch watch` in its own process against the fake Steam CM and a loopback
Apprise receiver: one digest per cycle, nothing lost while the receiver is down, SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from patchwatch.db import open_db
from patchwatch.library import add_games
from patchwatch.testing.receiver import NotificationReceiver
from patchwatch_steam_pics.testing import FakeSteamCM

pytestmark = pytest.mark.timeout(90)

# The watch process runs the real CLI; the only change is the Steam universe key, which
# the fake cannot sign for (the same swap as FakeSteamCM.patched_universe_key()).
LAUNCH = """
import os, sys
from Cryptodome.PublicKey import RSA
from patchwatch_steam_pics import channel
channel.UNIVERSE_KEY = RSA.import_key(os.environ["FAKE_CM_KEY"])
from patchwatch.cli import cli
sys.exit(cli(["watch"]))
"""


class Output:
    """The watch process's stdout, read line by line in a thread."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, text: str, count: int = 1, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while sum(text in line for line in self.lines) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"no {text!r} (x{count}) in:\n" + "\n".join(self.lines)
                self._cond.wait(left)


@contextlib.contextmanager
def watching(db_path: Path, config: Path, cm: FakeSteamCM) -> Iterator[tuple[subprocess.Popen, Output]]:
    """`patchwatch watch` in its own process, trusting the fake CM's key; killed on the way
    out if a test left it running."""
    env = {**os.environ, "PATCHWATCH_DB": str(db_path), "PATCHWATCH_CONFIG": str(config),
           "FAKE_CM_KEY": cm.public_key.export_key().decode(), "PYTHONUNBUFFERED": "1"}
    env.pop("PATCHWATCH_DISABLE", None)
    process = subprocess.Popen([sys.executable, "-c", LAUNCH], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield process, Output(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def last_run_status(db_path: Path) -> str:
    return open_db(db_path).execute(
        "SELECT status FROM patchwatch_runs ORDER BY id DESC").fetchone()[0]


def publish(cm: FakeSteamCM, *appids: int) -> None:
    """New builds for several apps at once (one change-number burst, so one cycle)."""
    with cm.catalogue.lock:
        for appid in appids:
            cm.catalogue.publish_build(appid)


def test_watch_process_digests_survives_a_receiver_outage_and_stops_on_sigterm(tmp_path: Path):
    with FakeSteamCM() as cm, NotificationReceiver() as receiver:
        for appid in range(10, 16):
            cm.catalogue.add_app(appid, f"Game {appid}")
        db_path = tmp_path / "watch.db"
        add_games(open_db(db_path), [{"store": "steam", "store_id": str(a), "title": f"Game {a}"}
                                     for a in range(10, 16)])
        config = tmp_path / "config.toml"
        config.write_text(f"""
disable = ["steam_http"]
notify = ["{receiver.apprise_url}"]
[plugins.steam_pics]
cm_servers = "{cm.server}"
connect_timeout = 3
request_timeout = 3
[watch]
ignore_minimum = true   # a 1 s cycle against the fake; real Steam never under 10 s
retry = 0.5
retry_max = 1
[watch.interval]
steam_pics = 1
""")
        with watching(db_path, config, cm) as (process, out):
            out.wait_for("steam: 6 new baseline(s)")
            assert receiver.messages == []  # baselines are silent

            publish(cm, 10, 11)
            [first] = receiver.wait_for(1)
            assert first.title == "patchwatch: 2 new builds"
            assert "Game 10" in first.message and "Game 11" in first.message

            publish(cm, 12)
            second = receiver.wait_for(2)[1]
            assert second.title == "patchwatch: New build: Game 12"

            receiver.stop()  # the receiver goes away for a while
            publish(cm, 13)
            out.wait_for("notification not delivered, kept and retried")
            publish(cm, 14, 15)
            out.wait_for("steam: 2 new build(s)")
            out.wait_for("notification not delivered, kept and retried", count=2)
            time.sleep(0.5)  # a few failed retries
            assert len(receiver.messages) == 2
            receiver.start()  # back, on the same port
            messages = receiver.wait_for(4, timeout=15)
            time.sleep(1.0)  # and nothing more arrives
            assert len(receiver.messages) == 4
            out.wait_for("that had failed before")  # one or two lines, as retries fall due
            assert sum("not delivered" in line for line in out.lines) == 2  # once per message
            later = sorted(m.title for m in messages[2:])
            assert later == ["patchwatch: 2 new builds", "patchwatch: New build: Game 13"]
            everything = "\n".join(m.message for m in receiver.messages)
            for appid in range(10, 16):  # every update exactly once
                assert everything.count(f"Game {appid} (steam)") == 1, everything

            _terminate_within_2s(process, out)
            if os.environ.get("SHOW_WATCH_OUTPUT"):
                print("\n".join(out.lines))
        assert last_run_status(db_path) in ("done", "cancelled")


def _terminate_within_2s(process, out) -> None:
    """SIGTERM: watch exits 0 within 2 s and says it stopped."""
    t0 = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert time.monotonic() - t0 < 2.0
    out.wait_for("stopped after")


def test_idle_steam_cycles_cost_one_request_and_digests_carry_patch_notes(tmp_path: Path, fake_store):
    """In-process: steam_pics on the fake CM checks, steam_http's fake Steam News gives links."""

    import patchwatch_steam_http
    import patchwatch_steam_pics
    from patchwatch.config import Config
    from patchwatch.plugins import new_plugin_manager
    from patchwatch.watch import Watcher
    from patchwatch_steam_http.testing import serve_steam
    from patchwatch_steam_pics.session import close_sessions

    web = serve_steam(fake_store)
    with FakeSteamCM() as cm, cm.patched_universe_key(), NotificationReceiver() as receiver:
        for appid in (10, 20, 30):
            cm.catalogue.add_app(appid, f"Game {appid}")
            web.catalogue.add(appid, f"Game {appid}")
        db_path = tmp_path / "watch.db"
        add_games(open_db(db_path), [{"store": "steam", "store_id": str(a), "title": f"Game {a}"}
                                     for a in (10, 20, 30)])
        pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics,
                                 "steam_http": patchwatch_steam_http})
        config = Config(env={}, notify=[receiver.apprise_url],
                        plugins={"steam_pics": {"cm_servers": cm.server, "connect_timeout": 3},
                                 "steam_http": web.settings()},
                        watch={"interval": {"steam_pics": 0.2}, "ignore_minimum": True})
        watcher = Watcher(db_path, pm=pm, config=config, log=lambda line: None)
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while watcher.stats.cycles < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            cm.reset_records()
            first = watcher.stats.cycles
            while watcher.stats.cycles < first + 10 and time.monotonic() < deadline:
                time.sleep(0.02)
            idle = watcher.stats.cycles - first
            requests = cm.count(None)
            assert idle >= 10
            # One changes-since request per idle cycle (one more may be under way), one logon.
            assert idle <= requests <= idle + 1 and cm.count("changes_since") == requests
            assert cm.logons == 1

            built = 1_800_000_000
            gid = web.catalogue.post_news(20, "Patch 1.1 notes", date=built - 3600)
            cm.catalogue.publish_build(20, timeupdated=built)
            [message] = receiver.wait_for(1)
            assert "Game 20 (steam)" in message.message
            assert "store: https://store.steampowered.com/app/20/" in message.message
            assert f"patch notes: https://steamstore-a.akamaihd.net/news/externalpost/" \
                   f"steam_community_announcements/{gid}" in message.message
            assert "Patch 1.1 notes" in message.message
            row = next(open_db(db_path).query("SELECT * FROM patchwatch_updates"))
            assert row["notes_url"].endswith(f"/{gid}") and row["notes"] == "Patch 1.1 notes"
        finally:
            watcher.stop.set()
            thread.join(5)
            close_sessions()
        assert not thread.is_alive()


def test_sigterm_during_a_check_the_cm_never_answers_stops_within_two_seconds(tmp_path: Path):
    with FakeSteamCM() as cm:
        cm.catalogue.add_app(10, "Game 10")
        db_path = tmp_path / "watch.db"
        add_games(open_db(db_path), [{"store": "steam", "store_id": "10", "title": "Game 10"}])
        config = tmp_path / "config.toml"
        config.write_text(f"""
disable = ["steam_http"]
[plugins.steam_pics]
cm_servers = "{cm.server}"
request_timeout = 60
[watch]
ignore_minimum = true
[watch.interval]
steam_pics = 0.5
""")
        with watching(db_path, config, cm) as (process, out):
            out.wait_for("steam: 1 new baseline(s)")
            cm.fail("changes_since", ignore=True, times=None)  # the CM stops answering
            asked = cm.count("changes_since")
            deadline = time.monotonic() + 10
            while cm.count("changes_since") == asked and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # the check is now waiting for an answer that never comes
            _terminate_within_2s(process, out)
        assert last_run_status(db_path) in ("cancelled", "interrupted")
