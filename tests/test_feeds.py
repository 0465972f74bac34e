"""`patchwatch updates --format atom|json`: valid feeds of the whole library or one game."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from patchwatch.cli import cli
from patchwatch.db import UPDATES, open_db
from patchwatch.testing import ExamplePlugin

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def synced(db_path, tmp_path, monkeypatch, installed_pm):
    monkeypatch.setenv("PATCHWATCH_DB", str(db_path))
    monkeypatch.setenv("PATCHWATCH_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("timeout = 5\n")
    plugin = ExamplePlugin(catalogue={"570": 1, "440": 1})
    weak = ExamplePlugin(store="epic", catalogue={"a": 1}, kind="last_modified", is_build=False)
    installed_pm(steam_x=plugin, epic_x=weak)

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    run("games", "add", "steam", "570", "Dota <2> & co")
    run("games", "add", "steam", "440", "TF2")
    run("games", "add", "epic", "a", "Alan Wake")
    run("sync")
    plugin.catalogue.update({"570": 2, "440": 2})
    weak.catalogue["a"] = 2
    run("sync")
    db = open_db(db_path)
    with db.atomic():
        db.execute(f"UPDATE {UPDATES} SET notes_url = ?, store_url = ? WHERE store_id = '570'",
                   ["https://news.example/1?a=1&b=2", "https://store.example/570"])
    return run


def test_atom_feed_of_the_library(synced):
    result = synced("updates", "--format", "atom")
    assert result.exit_code == 0, result.output
    feed = ET.fromstring(result.output)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert titles == ["New build: TF2 v2", "New build: Dota <2> & co v2"]  # builds only, newest first
    dota = entries[1]
    assert dota.find(f"{ATOM}link").get("href") == "https://news.example/1?a=1&b=2"
    assert dota.find(f"{ATOM}id").text == "urn:patchwatch:update:steam:570:buildid:2"
    assert "buildid 1 → 2" in dota.find(f"{ATOM}content").text
    with_weak = ET.fromstring(synced("updates", "--format", "atom", "--all").output)
    assert len(with_weak.findall(f"{ATOM}entry")) == 3


def test_json_feed_of_one_game(synced):
    result = synced("updates", "--format", "json", "--game", "steam:570")
    assert result.exit_code == 0, result.output
    feed = json.loads(result.output)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "patchwatch: updates of steam:570"
    [item] = feed["items"]
    assert item["id"] == "urn:patchwatch:update:steam:570:buildid:2"
    assert item["url"] == "https://news.example/1?a=1&b=2"
    assert item["external_url"] == "https://store.example/570"
    assert item["content_text"] and item["_patchwatch"]["new_value"] == "2"
    by_row_id = json.loads(synced("updates", "--format", "json", "--game", "2").output)
    assert [i["_patchwatch"]["store_id"] for i in by_row_id["items"]] == ["440"]


def test_unknown_game_is_a_usage_error(synced):
    result = synced("updates", "--format", "json", "--game", "steam:999")
    assert result.exit_code == 2 and "no game 'steam:999'" in result.output
    assert synced("updates", "--game", "nonsense").exit_code == 2


def test_empty_feed_is_still_valid(synced):
    feed = json.loads(synced("updates", "--format", "json", "--since", "2999-01-01").output)
    assert feed["items"] == []
    ET.fromstring(synced("updates", "--format", "atom", "--since", "2999-01-01").output)
