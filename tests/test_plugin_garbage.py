"""A plugin's garbage fails that plugin, blames it by name and falls back; the sync goes on."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from patchwatch import Problem, Signal, StoreInfo, hookimpl
from patchwatch import plugins as plugins_module
from patchwatch.cli import cli
from patchwatch.db import SIGNALS, open_db
from patchwatch.library import add_game
from patchwatch.plugins import backends
from patchwatch.state import plugin_health
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin


class Garbage(ExamplePlugin):
    """Answers game "1" with ``bad`` and every other game properly."""

    def __init__(self, bad, **kwargs):
        super().__init__(priority=50, **kwargs)
        self.bad = bad

    @hookimpl
    def check_updates_bulk(self, games):
        for game in games:
            if game.store_id == "1":
                yield self.bad if self.bad == "not a pair" else (game.id, self.bad)
            else:
                yield game.id, Signal("buildid", "7")


@pytest.mark.parametrize("bad, blame", [
    (Signal("buildid", "1", detail=None), "Signal.detail must be a dict, got None"),
    (Signal("buildid", "1", detail={"depots": {1, 2}}), "Signal.detail must be plain JSON data"),
    (Signal("buildid", "1", is_build="yes"), "Signal.is_build must be True or False, got 'yes'"),
    (Signal("buildid", "1", version=[1, 2]), "Signal.version must be text or None, got [1, 2]"),
    (Signal(None, "1"), "Signal.kind must be non-empty text, got None"),
    (Signal("buildid", 5), "Signal.value must be text, got 5"),
    (Signal("buildid", "1", published_at=20260101), "Signal.published_at must be text or None"),
    (Problem("x", status="broken"), "Problem.status must be one of error, not_found, hidden"),
    (Problem(None), "Problem.message must be non-empty text, got None"),
    ({"kind": "buildid"}, "an answer must be a Signal or a Problem, got {'kind': 'buildid'}"),
    ("not a pair", "an answer must be a (game.id, result) pair, got 'not a pair'"),
])
def test_garbage_fails_the_plugin_by_name_and_the_game_falls_back(db_path, make_pm, config,
                                                                  bad, blame):
    for i in (1, 2):
        add_game(db_path, "steam", str(i))
    fallback = ExamplePlugin(priority=10, catalogue={"1": 100, "2": 200})
    summary = sync_library(db_path, pm=make_pm(junk=Garbage(bad), good=fallback), config=config)
    junk, good = summary.plugins
    assert junk.status == "failed" and junk.malformed == 1
    assert junk.reason.startswith("junk gave a malformed answer (")
    assert blame in junk.reason
    assert junk.answered == 1 and good.answered == 1  # game 2 kept from junk, game 1 fell back
    assert summary.served_by() == {"junk": 1, "good": 1}
    assert summary.failures == []
    assert open_db(db_path)[SIGNALS].count == 2
    assert plugin_health(open_db(db_path), "junk").failures == 1  # counts for the breaker


class BadInfo:
    def __init__(self, info):
        self.info = info

    @hookimpl
    def store_info(self):
        return self.info


class Hangs:
    def __init__(self):
        self.release = threading.Event()

    @hookimpl
    def store_info(self):
        self.release.wait(30)
        return StoreInfo("steam")


@pytest.mark.parametrize("info, blame", [
    (StoreInfo("steam", priority="high"), "StoreInfo.priority must be a whole number, got 'high'"),
    (StoreInfo("steam", priority=True), "StoreInfo.priority must be a whole number, got True"),
    (StoreInfo(None), "StoreInfo.store must be a store name, got None"),
    ("steam", "store_info() must return a patchwatch.StoreInfo, got 'steam'"),
])
def test_bad_store_info_blames_the_plugin_and_the_others_run(db_path, make_pm, config, info,
                                                             blame):
    add_game(db_path, "steam", "1")
    pm = make_pm(bad=BadInfo(info), good=ExamplePlugin(catalogue={"1": 1}))
    [bad] = [b for b in backends(pm, config) if b.name == "bad"]
    assert bad.error == f"store_info() gave garbage: {blame}"
    summary = sync_library(db_path, pm=pm, config=config)
    assert summary.served_by() == {"good": 1}


def test_store_info_that_never_returns_is_bounded_even_in_plugins(db_path, installed_pm,
                                                                  monkeypatch, tmp_path):
    monkeypatch.setattr(plugins_module, "STORE_INFO_TIMEOUT", 0.5)
    monkeypatch.setenv("PATCHWATCH_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    hangs = Hangs()
    installed_pm(stuck=hangs, good=ExamplePlugin(catalogue={"1": 1}))
    add_game(db_path, "steam", "1")
    try:
        listing = CliRunner().invoke(cli, ["--db", str(db_path), "plugins"])
        assert listing.exit_code == 0, listing.output
        [line] = [l for l in listing.output.splitlines() if l.startswith("stuck")]
        assert "error" in line and "store_info() did not answer in 0.5 s" in line
        synced = CliRunner().invoke(cli, ["--db", str(db_path), "sync"])
        assert "1 checked" in synced.output
    finally:
        hangs.release.set()


def test_a_flat_detail_is_checked_and_kept_as_a_private_copy():
    from patchwatch.models import MAX_DETAIL, BadAnswer, checked_result

    detail = {"branch": "public", "change_number": 7, "public": True, "note": None}
    checked = checked_result(Signal("buildid", "1", detail=detail))
    detail["change_number"] = 8
    assert checked.detail == {"branch": "public", "change_number": 7, "public": True,
                              "note": None}
    with pytest.raises(BadAnswer, match="plain JSON data"):
        checked_result(Signal("buildid", "1", detail={"ratio": float("nan")}))
    with pytest.raises(BadAnswer, match="plain JSON data"):
        checked_result(Signal("buildid", "1", detail={1: "x", "y": object()}))
    # within the character count but not as JSON: each astral character is 12 bytes escaped
    with pytest.raises(BadAnswer, match=f"more than {MAX_DETAIL}"):
        checked_result(Signal("buildid", "1", detail={"text": "\U0001F600" * (MAX_DETAIL // 6)}))
    assert checked_result(Signal("b", "1", detail={2: "int keys become text"})).detail == \
        {"2": "int keys become text"}
