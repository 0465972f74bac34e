"""Unchanged: a plugin names the games whose stored signal still stands, the core stamps them."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from patchwatch import Game, Signal, Unchanged, hookimpl
from patchwatch.db import CHECKS, SIGNALS, open_db
from patchwatch.library import add_game, load_games
from patchwatch.state import recent_updates
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin, read_answers


def add(db_path, *ids):
    return [add_game(db_path, "steam", str(i), f"Game {i}") for i in ids]


def rows(db_path, sql):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


class Claims:
    """A plugin that answers with whatever the test scripts, per sync."""

    def __init__(self, store: str = "steam") -> None:
        self.store = store
        self.script = lambda games: []

    @hookimpl
    def store_info(self):
        from patchwatch import StoreInfo
        return StoreInfo(store=self.store, priority=100)

    @hookimpl
    def check_updates_bulk(self, games):
        yield from self.script(games)


def test_an_unchanged_library_is_stamped_seen_without_an_answer_per_game(db_path, make_pm,
                                                                          config):
    ids = add(db_path, 1, 2, 3)
    plugin = ExamplePlugin(catalogue={"1": 10, "2": 20, "3": 30})
    plugin.bulk_unchanged = True
    pm = make_pm(pics=plugin)
    first = sync_library(db_path, pm=pm, config=config)
    assert first.baselines == 3
    rows_before = dict(rows(db_path, f"SELECT game_id, last_seen FROM {SIGNALS}"))
    conn = sqlite3.connect(db_path)
    conn.execute(f"UPDATE {SIGNALS} SET last_seen = '2000-01-01T00:00:00+00:00'")
    conn.commit()
    conn.close()

    plugin.catalogue["3"] = 31
    second = sync_library(db_path, pm=pm, config=config)
    assert (second.checked, second.unchanged, second.baselines) == (3, 2, 0)
    assert [(u.store_id, u.new_value) for u in second.updated] == [("3", "31")]
    assert second.served_by() == {"pics": 3} and second.plugins[0].status == "ok"
    seen = dict(rows(db_path, f"SELECT game_id, last_seen FROM {SIGNALS}"))
    assert all(seen[i] >= rows_before[i] for i in ids), "every signal stamped seen again"
    checks = rows(db_path, f"SELECT game_id, plugin, status, run_id FROM {CHECKS} ORDER BY game_id")
    assert checks == [(i, "pics", "ok", second.run_id) for i in ids]
    values = rows(db_path, f"SELECT game_id, value FROM {SIGNALS} ORDER BY game_id")
    assert values == [(ids[0], "10"), (ids[1], "20"), (ids[2], "31")]
    assert [u["store_id"] for u in recent_updates(open_db(db_path))] == ["3"]


def test_first_seen_is_kept_and_the_plugin_that_saw_it_is_recorded(db_path, make_pm, config):
    [game] = add(db_path, 1)
    first = ExamplePlugin(catalogue={"1": 10})
    sync_library(db_path, pm=make_pm(first=first), config=config)
    [(first_seen, plugin)] = rows(db_path, f"SELECT first_seen, plugin FROM {SIGNALS}")
    claims = Claims()
    claims.script = lambda games: [Unchanged("buildid", [g.id for g in games])]
    summary = sync_library(db_path, pm=make_pm(claims=claims), config=config)
    assert summary.unchanged == 1
    assert rows(db_path, f"SELECT first_seen, plugin FROM {SIGNALS}") == [(first_seen, "claims")]


def test_a_game_with_no_stored_signal_of_the_kind_is_refused_and_goes_on(db_path, make_pm,
                                                                        config):
    one, two = add(db_path, 1, 2)
    baseline = ExamplePlugin(catalogue={"1": 10})  # game 2 has no signal yet
    sync_library(db_path, pm=make_pm(p=baseline), config=config)
    claims = Claims()
    claims.script = lambda games: [Unchanged("buildid", [one, two])]
    low = ExamplePlugin(priority=-1, catalogue={"1": 10, "2": 20})
    summary = sync_library(db_path, pm=make_pm(claims=claims, low=low), config=config)
    report = summary.plugins[0]
    assert report.status == "failed" and report.malformed == 1
    assert "no stored buildid signal" in report.reason and "steam:2" in report.reason
    assert low.calls == [["2"]], "only the refused game goes to the next plugin"
    assert summary.served_by() == {"claims": 1, "low": 1} and summary.baselines == 1


@pytest.mark.parametrize("games, fault", [
    ((g for g in [1]), "must be a list of Game.id"),
    ("12", "must be a list of Game.id"),
    ({1: 2}, "must be a list of Game.id"),
    ([1.0], "must hold Game.id values"),
    ([True], "must hold Game.id values"),
    (list(range(5)), "names 5 games, more than the 2"),
])
def test_a_malformed_claim_is_refused_whole_and_every_game_goes_on(db_path, make_pm, config,
                                                                  games, fault):
    add(db_path, 1, 2)
    sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"1": 1, "2": 2})), config=config)
    claims = Claims()
    claims.script = lambda _: [Unchanged("buildid", games)]
    low = ExamplePlugin(priority=-1, catalogue={"1": 1, "2": 2})
    summary = sync_library(db_path, pm=make_pm(claims=claims, low=low), config=config)
    assert summary.plugins[0].status == "failed" and fault in summary.plugins[0].reason
    assert summary.served_by() == {"low": 2}


def test_a_bad_kind_is_refused(db_path, make_pm, config):
    add(db_path, 1)
    sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"1": 1})), config=config)
    claims = Claims()
    claims.script = lambda games: [Unchanged(None, [g.id for g in games])]
    summary = sync_library(db_path, pm=make_pm(claims=claims), config=config)
    assert "Unchanged.kind must be non-empty text" in summary.plugins[0].reason
    assert summary.checked == 0 and len(summary.failures) == 1


def test_a_game_answered_first_keeps_that_answer_and_strangers_are_ignored(db_path, make_pm,
                                                                            config):
    one, two, _ = add(db_path, 1, 2, 3)
    sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"1": 1, "2": 2, "3": 3})),
                 config=config)
    claims = Claims()
    claims.script = lambda games: [(one, Signal("buildid", "9")),
                                   Unchanged("buildid", [one, two, 999_999])]
    summary = sync_library(db_path, pm=make_pm(claims=claims), config=config)
    assert (summary.checked, summary.unchanged, len(summary.failures)) == (2, 1, 1)
    assert [(u.store_id, u.new_value) for u in summary.updated] == [("1", "9")]
    assert summary.plugins[0].status == "ok"


def test_games_stamped_before_a_cancel_are_skipped_when_the_next_sync_resumes(db_path,
                                                                            make_pm, config):
    one, two, three = add(db_path, 1, 2, 3)
    sync_library(db_path, pm=make_pm(p=ExamplePlugin(catalogue={"1": 1, "2": 2, "3": 3})),
                 config=config)
    cancel, release = threading.Event(), threading.Event()
    offered: list[list[int]] = []

    def script(games):
        offered.append([g.id for g in games])
        yield Unchanged("buildid", [one, two])
        release.wait(5)  # the host cancels while the plugin works on game 3
        yield three, Signal("buildid", "3")

    def progress(done, total):  # the host cancels once the claim is recorded (not merely sent)
        if done >= 2:
            cancel.set()

    claims = Claims()
    claims.script = script
    first = sync_library(db_path, pm=make_pm(claims=claims), config=config, cancel=cancel,
                         progress=progress)
    release.set()
    assert first.cancelled and first.unchanged == 2
    claims.script = lambda games: (offered.append([g.id for g in games]) or
                                   [(g.id, Signal("buildid", g.store_id)) for g in games])
    resumed = sync_library(db_path, pm=make_pm(claims=claims), config=config)
    assert resumed.skipped_resumed == 2 and offered[-1] == [three]


def test_the_test_kit_reads_claims_as_the_core_does():
    stored = Signal("buildid", "7", detail={"branch": "public"})
    games = [Game(1, "steam", "10", signals={"buildid": stored}), Game(2, "steam", "20")]
    assert read_answers(games, [Unchanged("buildid", [1]), (2, Signal("buildid", "8"))]) == {
        1: stored, 2: Signal("buildid", "8")}
    with pytest.raises(AssertionError, match="no stored buildid signal"):
        read_answers(games, [Unchanged("buildid", [2])])
    with pytest.raises(AssertionError, match="answered twice"):
        read_answers(games, [(1, stored), Unchanged("buildid", [1])])


def test_a_damaged_stored_detail_reads_as_empty_and_the_sync_goes_on(db_path, make_pm, config):
    add(db_path, 1)
    plugin = ExamplePlugin(catalogue={"1": 1})
    sync_library(db_path, pm=make_pm(p=plugin), config=config)
    conn = sqlite3.connect(db_path)
    conn.execute(f"UPDATE {SIGNALS} SET detail = '{{not json'")
    conn.commit()
    conn.close()
    [game] = load_games(open_db(db_path))
    assert dict(game.signals["buildid"].detail) == {}
    plugin.catalogue["1"] = 2
    summary = sync_library(db_path, pm=make_pm(p=plugin), config=config)
    assert [(u.old_value, u.new_value) for u in summary.updated] == [("1", "2")]
