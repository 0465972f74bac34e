"""The bulk check against the fake Epic: signals, batching, bad data, faults."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from patchwatch import Game, Problem, Signal
from patchwatch.testing import MALFORMED, Response
from patchwatch_epic import EpicError, check_updates_bulk

CATALOG = r"/catalog/api/shared/namespace/.*/bulk/items"
ASSETS = r"/launcher/api/public/assets/.*"
TOKEN = r"/account/api/oauth/token"


@pytest.fixture
def logged_in(epic, tmp_path):
    """Settings with a legendary login for the fake's account."""
    return epic.settings(legendary_user=str(epic.write_legendary_user(tmp_path / "user.json")))


def games_of(epic, signals=None):
    return [item.game(i, (signals or {}).get(i)) for i, item in enumerate(epic.items.values(), 1)]


def as_signals(results):
    return {gid: {r.kind: r} for gid, r in results.items() if isinstance(r, Signal)}


# -- the strong signal: launcher build versions ----------------------------------
def test_baseline_with_login_reports_build_versions_from_one_assets_request(
        epic, logged_in, check, fake_store):
    a = epic.add_game("Fig", build_version="1.2.0-CL-555-Windows")
    epic.add_game("Sugar")
    epic.add_game("Salt")
    results = check(games_of(epic), logged_in)
    assert set(results) == {1, 2, 3}
    first = results[1]
    assert isinstance(first, Signal)
    assert (first.kind, first.value, first.is_build) == ("build_version", "1.2.0-CL-555-Windows", True)
    assert first.detail["namespace"] == a.namespace
    assert first.detail["catalog_item_id"] == a.catalog_item_id
    assert first.detail["label"] == "Live-Windows"
    assert all(r.kind == "build_version" for r in results.values())
    assert fake_store.count(ASSETS) == 1
    assert fake_store.count(CATALOG) == 0, "no catalog call needed when the build is known"


def test_new_build_changes_the_build_version(epic, logged_in, check):
    epic.add_game("Fig")
    epic.add_game("Sugar")
    before = check(games_of(epic), logged_in)
    new = epic.publish_build("Fig")
    after = check(games_of(epic, as_signals(before)), logged_in)
    assert after[1].value == new != before[1].value
    assert after[1].is_build
    assert after[2].value == before[2].value


def test_metadata_only_change_with_login_is_not_an_update(epic, logged_in, check):
    epic.add_game("Fig")
    before = check(games_of(epic), logged_in)
    epic.edit_metadata("Fig", title="Fig: Definitive Edition")
    after = check(games_of(epic, as_signals(before)), logged_in)
    assert after[1].kind == "build_version"
    assert after[1].value == before[1].value


def test_game_tracked_by_build_but_gone_from_assets_is_not_found(epic, logged_in, check):
    epic.add_game("Fig")
    epic.add_game("Sugar")
    before = check(games_of(epic), logged_in)
    epic.delist("Fig")
    after = check(games_of(epic, as_signals(before)), logged_in)
    assert isinstance(after[1], Problem) and after[1].status == "not_found"
    assert "no longer among the launcher assets" in after[1].message
    assert isinstance(after[2], Signal) and after[2].kind == "build_version"


def test_game_not_in_assets_and_never_built_falls_back_to_catalog(epic, logged_in, check):
    epic.add_game("Fig")
    epic.add_game("Sugar")
    epic.owned = {"Fig"}  # Sugar: in the library, but this account's assets lack it
    results = check(games_of(epic), logged_in)
    assert results[1].kind == "build_version"
    assert results[2].kind == "last_modified" and results[2].is_build is False


def test_with_login_missing_catalog_ids_do_not_matter(epic, logged_in, check):
    item = epic.add_game("Fig")
    game = Game(1, "epic", "Fig", "Fig", {"store_id": "Fig", "extra_data": None})
    result = check([game], logged_in)[1]
    assert isinstance(result, Signal) and result.value == item.build_version


def test_tracked_build_without_login_is_an_error_not_a_weak_signal(epic, check):
    epic.add_game("Fig")
    previous = {1: {"build_version": Signal("build_version", "1.0.0")}}
    result = check(games_of(epic, previous), epic.settings())[1]
    assert isinstance(result, Problem) and result.status == "error"
    assert "cannot read the build version" in result.message
    assert "legendary_user is empty" in result.message


def test_missing_login_file_is_said(epic, check, tmp_path):
    epic.add_game("Fig")
    previous = {1: {"build_version": Signal("build_version", "1.0.0")}}
    settings = epic.settings(legendary_user=str(tmp_path / "nope" / "user.json"))
    result = check(games_of(epic, previous), settings)[1]
    assert isinstance(result, Problem) and "no legendary login found" in result.message


# -- the weak signal: catalog lastModifiedDate -------------------------------------
def test_baseline_without_login_reports_weak_last_modified(epic, check, fake_store):
    item = epic.add_game("Fig", title="Fig")
    results = check(games_of(epic), epic.settings())
    signal = results[1]
    assert isinstance(signal, Signal)
    assert (signal.kind, signal.value, signal.is_build) == ("last_modified", item.last_modified, False)
    assert "NOT a confirmed new build" in signal.detail["weak"]
    assert signal.published_at == "2024-01-01T00:01:00+00:00"
    assert signal.detail["title"] == "Fig"
    assert fake_store.count(ASSETS) == 0


def test_metadata_only_change_without_login_is_weak(epic, check):
    epic.add_game("Fig")
    before = check(games_of(epic), epic.settings())
    epic.edit_metadata("Fig")
    after = check(games_of(epic, as_signals(before)), epic.settings())
    assert after[1].value != before[1].value
    assert after[1].is_build is False


def test_new_build_alone_does_not_move_the_catalog_signal(epic, check):
    epic.add_game("Fig")
    before = check(games_of(epic), epic.settings())
    epic.publish_build("Fig")
    after = check(games_of(epic, as_signals(before)), epic.settings())
    assert after[1].value == before[1].value


def test_catalog_requests_are_batched_per_namespace(epic, check, fake_store):
    for n in range(7):
        epic.add_game(f"Pack{n}", namespace="shared-ns")
    epic.add_game("Solo1")
    epic.add_game("Solo2")
    results = check(games_of(epic), epic.settings(batch_size=3))
    assert len(results) == 9 and all(isinstance(r, Signal) for r in results.values())
    shared = [r for r in fake_store.requests if "/shared-ns/" in r.path]
    assert len(shared) == 3  # 7 ids in chunks of 3
    sizes = sorted(len(parse_qs(r.body.decode()).get("id", [])) if r.method == "POST"
                   else len(r.query["id"]) for r in shared)
    assert sizes == [1, 3, 3]
    assert fake_store.count(CATALOG) == 5
    assert fake_store.count(TOKEN) == 1, "one anonymous token for every request"


def test_rows_sharing_a_catalog_item_ask_for_it_once(epic, check, fake_store):
    item = epic.add_game("Fig")
    games = [item.game(1), item.game(2)]
    results = check(games, epic.settings())
    assert results[1].value == results[2].value == item.last_modified
    assert fake_store.requests[-1].arg("id") == item.catalog_item_id


# -- bad data -------------------------------------------------------------------------
def test_delisted_item_is_not_found_and_others_still_answered(epic, check):
    epic.add_game("Fig")
    epic.add_game("Sugar", namespace="ns-2")
    epic.delist("Fig")
    results = check(games_of(epic), epic.settings())
    assert isinstance(results[1], Problem) and results[1].status == "not_found"
    assert "not found in namespace" in results[1].message
    assert isinstance(results[2], Signal)


def test_unknown_namespace_is_not_found(epic, check):
    item = epic.add_game("Fig")
    row = item.backlogia_row(1)
    extra = json.loads(row["extra_data"])
    extra["namespace"] = "no-such-namespace"
    row["extra_data"] = json.dumps(extra)
    result = check([Game(1, "epic", "Fig", "Fig", row)], epic.settings())[1]
    assert isinstance(result, Problem) and result.status == "not_found"
    assert "no-such-namespace" in result.message


def test_missing_ids_in_row_are_a_clear_error(epic, check, fake_store):
    epic.add_game("Fig")
    bare = Game(1, "epic", "Fig", "Fig", {"store_id": "Fig"})
    half = Game(2, "epic", "Fig", "Fig", {"extra_data": json.dumps({"namespace": "x"})})
    results = check([bare, half], epic.settings())
    assert "lacks the Epic namespace and catalog item id" in results[1].message
    assert "lacks the Epic catalog item id" in results[2].message
    assert "legendary_user is empty" in results[1].message
    assert fake_store.count(CATALOG) == 0


def test_malformed_extra_data_is_named(epic, check):
    game = Game(1, "epic", "Fig", "Fig", {"extra_data": "{not json"})
    result = check([game], epic.settings())[1]
    assert isinstance(result, Problem) and "extra_data is not valid JSON" in result.message


def test_catalog_item_without_last_modified_is_an_error(epic, check, fake_store):
    item = epic.add_game("Fig")
    fake_store.fail(CATALOG, Response(200, json={item.catalog_item_id: {"id": item.catalog_item_id}}))
    result = check(games_of(epic), epic.settings())[1]
    assert isinstance(result, Problem) and "no lastModifiedDate" in result.message


def test_malformed_catalog_answer_fails_only_its_batch(epic, check, fake_store):
    epic.add_game("Fig", namespace="ns-a")
    epic.add_game("Sugar", namespace="ns-b")
    fake_store.fail(r".*/ns-a/.*", MALFORMED, times=1)
    results = check(games_of(epic), epic.settings())
    assert isinstance(results[1], Problem) and "malformed JSON" in results[1].message
    assert isinstance(results[2], Signal)


# -- faults: 429, 5xx, timeouts ------------------------------------------------------
def test_429_is_retried_after_retry_after(epic, check, fake_store):
    epic.add_game("Fig")
    fake_store.fail(CATALOG, 429, times=2, retry_after=0.01)
    results = check(games_of(epic), epic.settings())
    assert isinstance(results[1], Signal)
    assert fake_store.count(CATALOG) == 3


def test_503_is_retried(epic, check, fake_store, logged_in):
    epic.add_game("Fig")
    fake_store.fail(ASSETS, 503, times=1)
    results = check(games_of(epic), logged_in)
    assert results[1].kind == "build_version"
    assert fake_store.count(ASSETS) == 2


def test_timeout_is_retried(epic, check, fake_store):
    epic.add_game("Fig")
    fake_store.fail(CATALOG, Response(delay=1.0), times=1)
    results = check(games_of(epic), epic.settings(timeout=0.3))
    assert isinstance(results[1], Signal)


@pytest.mark.timeout(20)
def test_429_that_never_lifts_stops_with_a_clear_error_keeping_earlier_answers(
        epic, fake_store):
    epic.add_game("Fig", namespace="ns-a")
    epic.add_game("Sugar", namespace="ns-b")
    fake_store.fail(r".*/ns-b/.*", 429, times=100)
    answers = []
    with pytest.raises(EpicError, match=r"HTTP 429 after 3 attempt\(s\)"):
        settings = epic.settings(retries=2, concurrency=1)
        for pair in check_updates_bulk(games=games_of(epic), settings=settings):
            answers.append(pair)
    assert [gid for gid, _ in answers] == [1]
    assert fake_store.count(r".*/ns-b/.*") == 3


@pytest.mark.timeout(20)
def test_parallel_batches_answer_every_game_once_and_stop_on_a_systemic_error(epic, check,
                                                                            fake_store):
    for n in range(12):
        epic.add_game(f"Game{n}", namespace=f"ns-{n}")
    results = check(games_of(epic), epic.settings(concurrency=4))
    assert len(results) == 12 and all(isinstance(r, Signal) for r in results.values())
    assert fake_store.count(TOKEN) == 1, "parallel requests share one token"
    fake_store.fail(r".*/ns-5/.*", 503, times=100)
    answers = []
    with pytest.raises(EpicError, match="ns-5.*HTTP 503 after 2 attempt"):
        for pair in check_updates_bulk(games=games_of(epic),
                                       settings=epic.settings(concurrency=4, retries=1)):
            answers.append(pair[0])
    assert len(answers) == len(set(answers)) and 6 not in answers


def test_retry_after_beyond_max_wait_is_not_waited_for(epic, fake_store):
    epic.add_game("Fig")
    fake_store.fail(CATALOG, 429, times=5, retry_after=3600)
    with pytest.raises(EpicError, match="asks to wait 3600s"):
        list(check_updates_bulk(games=games_of(epic), settings=epic.settings()))
    assert fake_store.count(CATALOG) == 1


def test_assets_outage_degrades_to_catalog_for_new_games_only(epic, logged_in, check, fake_store):
    epic.add_game("Fig")
    epic.add_game("Sugar")
    fake_store.fail(ASSETS, 503, times=100)
    previous = {1: {"build_version": Signal("build_version", "1.0.0")}}
    results = check(games_of(epic, previous), dict(logged_in, retries=1))
    assert isinstance(results[1], Problem) and "HTTP 503 after 2 attempt(s)" in results[1].message
    assert results[2].kind == "last_modified"


def test_empty_game_list_makes_no_request(epic, check, fake_store, logged_in):
    assert check([], logged_in) == {}
    assert fake_store.requests == []
