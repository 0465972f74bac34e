"""A corrupt, read-only or locked database gives one clear error naming the file."""

from __future__ import annotations

import re
import sqlite3

import pytest

from patchwatch import db as db_module
from patchwatch.db import open_db
from patchwatch.errors import DatabaseError
from patchwatch.library import add_game
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin


def test_corrupt_file_is_reported_and_left_untouched(db_path):
    junk = b"this is not sqlite " * 100
    db_path.write_bytes(junk)
    with pytest.raises(DatabaseError) as info:
        open_db(db_path)
    assert str(db_path) in str(info.value) and "not a valid SQLite database" in str(info.value)
    assert db_path.read_bytes() == junk


def test_read_only_database_is_reported(db_path, make_pm, config, monkeypatch):
    add_game(db_path, "steam", "1")
    real_connect = sqlite3.connect

    def read_only(path, **kwargs):  # what a read-only file gives (root ignores chmod)
        return real_connect(f"file:{path}?mode=ro", uri=True, **kwargs)

    monkeypatch.setattr(db_module.sqlite3, "connect", read_only)
    with pytest.raises(DatabaseError) as info:
        add_game(db_path, "steam", "2")
    assert "read-only" in str(info.value) and str(db_path) in str(info.value)
    with pytest.raises(DatabaseError, match="read-only"):
        sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"1": 1})), config=config)


def test_locked_database_is_reported_after_waiting(db_path, make_pm, config, monkeypatch):
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)
    add_game(db_path, "steam", "1")
    config.lock_wait = 1.5
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseError) as info:
            sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"1": 1})),
                         config=config)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "locked" in str(info.value) and str(db_path) in str(info.value)
    # The message tells the truth about how long it waited for the write lock.
    assert re.search(r"waited (1\.[5-9]|2\.\d) s for its write lock", str(info.value))
    # Nothing was lost: the library is intact and a later sync works.
    summary = sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"1": 1})),
                           config=config)
    assert summary.checked == 1


def test_games_table_without_store_columns_is_refused(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE games (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="lacks column"):
        open_db(db_path)


def test_database_from_an_older_patchwatch_gets_new_columns(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE patchwatch_plugin_state (name TEXT PRIMARY KEY, failures INTEGER,"
                 " off_until TEXT, last_error TEXT, state TEXT, updated_at TEXT)")
    conn.execute("INSERT INTO patchwatch_plugin_state (name, failures, state)"
                 " VALUES ('gog', 2, '{\"cursor\": 7}')")
    conn.commit()
    conn.close()
    db = open_db(db_path)
    assert "settings" in db["patchwatch_plugin_state"].columns_dict
    assert db["patchwatch_plugin_state"].get("gog")["state"] == '{"cursor": 7}'


def test_lock_wait_is_a_checked_config_setting():
    from patchwatch.config import config_from_dict
    from patchwatch.errors import ConfigError

    assert config_from_dict({"lock_wait": 300}).lock_wait == 300
    with pytest.raises(ConfigError, match="lock_wait"):
        config_from_dict({"lock_wait": -1})
