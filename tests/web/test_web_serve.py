"""``patchwatch serve`` as a user runs it: a real process, a real port, SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from patchwatch.db import open_db
from patchwatch.library import add_game

PATCHWATCH = [sys.executable, "-c", "from patchwatch.cli import main; main()"]


def start(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(  # the database from $PATCHWATCH_DB, as a default path
        [*PATCHWATCH, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
             "PATCHWATCH_DB": str(tmp_path / "lib.db"),
             "PATCHWATCH_DISABLE": "steam_pics,steam_http,epic,gog", **(env or {})})
    line = proc.stdout.readline()  # the first line names the address (or the error)
    match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
    if not match:
        proc.kill()
        pytest.fail(f"serve did not start: {line}{proc.stdout.read()}")
    return proc, match[1]


def stop(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    return proc.returncode, out


def test_serve_shows_a_new_user_the_pages_and_stops_on_sigterm(tmp_path):
    proc, url = start(tmp_path)
    try:
        page = urllib.request.urlopen(url, timeout=10).read().decode()
        assert "Recent updates" in page and "No new build" in page
        health = urllib.request.urlopen(url + "health.json", timeout=10).read().decode()
        assert '"running": true' in health  # the watch loop runs in the same process
        feed = urllib.request.urlopen(url + "feed.atom", timeout=10)
        assert feed.headers["ETag"] and b"<feed" in feed.read()
    finally:
        code, out = stop(proc)
    assert code == 143 and "Traceback" not in out, out
    assert (tmp_path / "lib.db").exists()


def test_serve_no_watch_and_a_library(tmp_path):
    db = open_db(tmp_path / "lib.db")
    add_game(db, "steam", "570", "Dota 2")
    db.close()
    proc, url = start(tmp_path, "--no-watch")
    try:
        health = urllib.request.urlopen(url + "health.json", timeout=10).read().decode()
        assert '"running": false' in health
        game = urllib.request.urlopen(url + "games/steam/570", timeout=10).read().decode()
        assert "Dota 2" in game
    finally:
        code, out = stop(proc)
    assert code == 143 and "Traceback" not in out, out


def test_serve_beyond_loopback_needs_a_token(tmp_path):
    result = subprocess.run([*PATCHWATCH, "--db", str(tmp_path / "lib.db"), "serve",
                             "--host", "0.0.0.0", "--port", "0"],
                            capture_output=True, text=True, timeout=30,
                            env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert result.returncode == 2
    assert "reaches beyond this machine: set --token" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_cli_does_not_import_the_web_extra_until_serve_runs():
    out = subprocess.run([sys.executable, "-c", "import sys, patchwatch.cli; "
                          "print(sorted(m for m in ('starlette', 'jinja2', 'uvicorn') "
                          "if m in sys.modules))"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_serve_without_the_web_extra_says_which_extra_in_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from patchwatch.cli import cli

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "serve"])
    assert result.exit_code == 1
    assert "needs the web extra: pip install 'patchwatch[web]'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_serve_refuses_a_typed_db_that_does_not_exist(tmp_path):
    result = subprocess.run([*PATCHWATCH, "--db", str(tmp_path / "typo.db"), "serve",
                             "--port", "0"], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert result.returncode == 1 and "no database at" in result.stderr
    assert not (tmp_path / "typo.db").exists()
