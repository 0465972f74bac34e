"""Bad input and damaged files give one line, never a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from patchwatch import db as db_module
from patchwatch.cli import cli
from patchwatch.db import database_error, open_db
from patchwatch.library import add_games
from patchwatch.testing import ExamplePlugin


@pytest.fixture
def run(db_path, tmp_path, monkeypatch, installed_pm):
    monkeypatch.setenv("PATCHWATCH_DB", str(db_path))
    monkeypatch.setenv("PATCHWATCH_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("")
    installed_pm()

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return invoke


def one_error_line(result, *parts):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for part in parts:
        assert part in lines[0]
    return lines[0]


def damage_table_pages(path, tables):
    """Overwrite the root page of each table with garbage, as a bad disk sector would."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = [conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [t]).fetchone()[0]
             for t in tables]
    conn.close()
    with open(path, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * size)
            f.write(b"\xa5" * size)


@pytest.mark.parametrize("command, tables", [
    (["updates"], ["patchwatch_updates"]),
    (["games", "list"], ["games"]),
    (["plugins"], ["patchwatch_plugin_state"]),
])
def test_damaged_table_pages_give_one_line(run, db_path, installed_pm, command, tables):
    installed_pm(p=ExamplePlugin())
    db = open_db(db_path)
    add_games(db, [{"store": "steam", "store_id": str(i), "title": f"Game {i}"} for i in range(50)])
    db["patchwatch_plugin_state"].insert({"name": "p", "failures": 1})
    db["patchwatch_updates"].insert({"game_id": 1, "store": "steam", "store_id": "1",
                                     "kind": "buildid", "old_value": "1", "new_value": "2",
                                     "is_build": 1, "plugin": "p",
                                     "detected_at": "2026-01-01T00:00:00Z"})
    db.conn.close()
    damage_table_pages(db_path, tables)
    one_error_line(run(*command), str(db_path), "is not a valid SQLite database (corrupt?)")


def test_lone_surrogate_in_a_json_import_names_the_row(run, tmp_path):
    path = tmp_path / "games.json"
    path.write_text('[{"store": "steam", "store_id": "1", "title": "ok"},'
                    ' {"store": "steam", "store_id": "2", "title": "bad \\ud800 title"}]')
    result = run("games", "import", str(path))
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert ("refused game #2: title is not valid text (a lone surrogate \\ud800 at position 4)"
            in result.output)
    assert "1 added, 0 already in the library, 1 refused" in result.output
    assert [line.split()[1] for line in run("games", "list").output.splitlines()] == ["steam:1"]


def test_non_utf8_title_on_the_command_line(db_path):
    script = "from patchwatch.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", script, "--db", str(db_path), "games", "add",
                           "steam", "1", b"caf\xe9"], capture_output=True,
                          env={**os.environ, "LC_ALL": "C.UTF-8", "PATCHWATCH_CONFIG": os.devnull})
    assert done.returncode == 1, done.stderr
    err = done.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "title is not valid text (byte 0xe9 that is not UTF-8 at position 3)" in err


def test_since_far_in_the_past_and_limit_zero(run):
    assert run("games", "add", "steam", "1").exit_code == 0
    result = run("updates", "--since", "1000000d")
    assert result.exit_code == 0 and result.output == "No updates detected in that period.\n"
    zero = run("updates", "--limit", "0")
    assert zero.exit_code == 2
    assert "Invalid value for '--limit': 0 is not in the range x>=1" in zero.output


def test_read_only_mount_is_reported_as_read_only(tmp_path, monkeypatch):
    real = os.statvfs

    class ReadOnly:
        def __init__(self, result):
            self.f_flag = result.f_flag | os.ST_RDONLY

    monkeypatch.setattr(db_module.os, "statvfs", lambda p: ReadOnly(real(p)))
    error = database_error(tmp_path / "sub" / "p.db",
                           sqlite3.OperationalError("unable to open database file"))
    assert "is on a read-only file system" in str(error)
    assert "missing folder" not in str(error)


@pytest.mark.parametrize("command", [("games", "list"), ("games", "list", "--json"), ("sync",),
                                     ("games", "add", "steam", "570"), ("watch", "--once")])
def test_a_host_games_table_without_store_id_is_one_line(run, db_path, command):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE games (id INTEGER PRIMARY KEY, name TEXT, store TEXT)")
    conn.execute("INSERT INTO games (name, store) VALUES ('Dota 2', 'steam')")
    conn.commit()
    conn.close()
    one_error_line(run(*command), str(db_path), "lacks column(s) store_id")
