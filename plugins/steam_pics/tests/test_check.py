"""check_updates_bulk through the plugin's own client against the fake CM."""

from __future__ import annotations

import re

import pytest

from patchwatch import Problem, Signal, Unchanged
from patchwatch_steam_pics.session import PicsError
from patchwatch_steam_pics.testing import FakeBranch, FakeSteamCM

pytestmark = pytest.mark.timeout(30)


def test_baseline_reports_public_buildid_and_publish_time(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10, 20, 30)
    steam_cm.catalogue.publish_build(20, buildid=4242, timeupdated=1_710_000_000)
    results = core.sync(settings)
    assert set(results) == {1, 2, 3}
    signal = results[2]
    assert isinstance(signal, Signal)
    assert (signal.kind, signal.value, signal.is_build) == ("buildid", "4242", True)
    assert signal.published_at == "2024-03-09T16:00:00Z"
    # A baseline: the branch, the change number and the manifest gid per depot (issue 21),
    # nothing about what changed (there is nothing to compare with).
    assert set(signal.detail) == {"branch", "change_number", "depots"}
    assert (signal.detail["branch"], signal.detail["change_number"]) == \
        ("public", steam_cm.catalogue.apps[20].change_number)
    assert re.fullmatch(r"21=\d+,22=\d+", signal.detail["depots"])
    assert results[1].value == str(steam_cm.catalogue.apps[10].branches["public"].buildid)
    assert core.state["change_number"] == steam_cm.catalogue.change_number


def test_real_update_is_a_new_public_build(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10, 20, 30)
    core.sync(settings)
    before = {g: core.build(g) for g in (1, 2, 3)}
    new = steam_cm.catalogue.publish_build(30)
    core.sync(settings)
    assert core.build(3) == str(new) != before[3]
    assert core.build(1) == before[1] and core.build(2) == before[2]
    assert core.results[3].published_at is not None


def test_metadata_only_change_is_not_an_update(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10, 20)
    core.sync(settings)
    before = core.results[1]
    steam_cm.catalogue.edit_metadata(10, name="Renamed", review_percentage=12)
    steam_cm.reset_records()
    core.sync(settings)
    assert steam_cm.requested_appids() == [10]  # the change number moved, so it was looked at
    assert core.results[1].value == before.value  # ... but the build did not change
    assert core.results[1].detail["change_number"] > before.detail["change_number"]


def test_beta_build_is_not_a_public_update(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10)
    core.sync(settings)
    before = core.build(1)
    steam_cm.catalogue.publish_build(10, branch="beta")
    core.sync(settings)
    assert core.build(1) == before


def test_token_app_gets_its_token_and_keeps_it(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    steam_cm.catalogue.add_app(70, token=777_000_123, token_answer="grant")  # e.g. sub 17906's apps
    core = mini_core(70, 10)
    results = core.sync(settings)
    assert isinstance(results[1], Signal)
    assert results[1].value == str(steam_cm.catalogue.apps[70].branches["public"].buildid)
    assert [list(r.appids) for r in steam_cm.requests("access_tokens")] == [[70]]
    assert core.state["tokens"] == {"70": 777_000_123}

    steam_cm.reset_records()
    new = steam_cm.catalogue.publish_build(70)
    core.sync(settings)
    assert core.build(1) == str(new)
    assert steam_cm.count("access_tokens") == 0  # the kept token was sent with the request
    (request,) = steam_cm.requests("product_info")
    assert [(a.appid, a.access_token) for a in request.apps] == [(70, 777_000_123)]


def test_app_whose_token_is_denied_is_left_to_the_next_plugin(steam_cm: FakeSteamCM, settings: dict,
                                                               mini_core: type) -> None:
    steam_cm.catalogue.add_app(80, token=5)  # the fake denies tokens to anonymous accounts by default
    core = mini_core(80, 10)
    results = core.sync(settings)
    assert list(results) == [2]  # app 80 unanswered: the core offers it to the next Steam plugin
    assert core.state["denied"] == {"80": steam_cm.catalogue.apps[80].change_number}
    steam_cm.reset_records()
    assert list(core.sync(settings)) == [2]  # remembered: nothing asked about it again ...
    assert steam_cm.count("product_info") == steam_cm.count("access_tokens") == 0
    steam_cm.catalogue.publish_build(80)
    steam_cm.catalogue.apps[80].token_answer = "grant"
    assert core.sync(settings)[1].value == str(steam_cm.catalogue.apps[80].branches["public"].buildid)
    assert core.state["denied"] == {}  # ... until its change number moves


def test_denied_app_the_next_plugin_read_at_its_change_number_is_named_unchanged(
        steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    """steam_http answered a token app from the mirror, whose answer carries the app's PICS
    change number: while that number does not move, the build stands and nobody asks again."""
    steam_cm.catalogue.add_app(80, token=5)
    core = mini_core(80, 10)
    core.sync(settings)
    seen_at = steam_cm.catalogue.apps[80].change_number
    core.signals[1] = {"buildid": Signal("buildid", "700", detail={"source": "mirror", "branch": "public",
                                                                   "change_number": seen_at})}
    steam_cm.reset_records()
    core.sync(settings)
    assert core.raw == [Unchanged("buildid", [1, 2])] and core.results[1].value == "700"
    assert [r.kind for r in steam_cm.received] == ["changes_since"]
    core.signals[1] = {"buildid": Signal("buildid", "700", detail={"change_number": seen_at - 1})}
    assert list(core.sync(settings)) == [2]  # read before the app's last change: asked again
    core.signals[1] = {"buildid": Signal("buildid", "700", detail={"change_number": seen_at})}
    steam_cm.catalogue.publish_build(80)
    steam_cm.reset_records()
    assert list(core.sync(settings)) == [2]  # its number moved: fetched, still denied, left over
    assert steam_cm.requested_appids() == [80]


def test_token_neither_granted_nor_denied_is_asked_again_on_the_next_full_pass(
        steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    steam_cm.catalogue.add_app(81, token=6, token_answer="silent")
    core = mini_core(81)
    assert core.sync(settings) == {}
    assert core.state["denied"] == {} and list(core.state["silent"]) == ["81"]
    steam_cm.reset_records()
    assert core.sync(settings) == {}
    assert steam_cm.count("access_tokens") == 0  # not on every incremental sync ...
    steam_cm.catalogue.advance(6_000)
    steam_cm.catalogue.apps[81].token_answer = "grant"
    assert core.sync(settings)[1].value == str(steam_cm.catalogue.apps[81].branches["public"].buildid)
    assert [list(r.appids) for r in steam_cm.requests("access_tokens")] == [[81]]  # ... but on a full one


def test_refused_token_survives_a_full_pass_without_asking(steam_cm: FakeSteamCM, settings: dict,
                                                           mini_core: type) -> None:
    steam_cm.catalogue.add_app(80, token=5)
    core = mini_core(80, 10)
    core.sync(settings)
    steam_cm.catalogue.advance(6_000)
    steam_cm.reset_records()
    assert list(core.sync(settings)) == [2]
    assert steam_cm.requested_appids(metadata=True) == [10, 80] or sorted(
        steam_cm.requested_appids(metadata=True)) == [10, 80]
    assert steam_cm.requested_appids() == [] and steam_cm.count("access_tokens") == 0


def test_unknown_app_and_bad_ids_are_not_found(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(999_999, "not-a-number", 10)
    results = core.sync(settings)
    assert results[1].status == "not_found" and "999999" in results[1].message
    assert results[2].status == "not_found" and "not a Steam app id" in results[2].message
    assert isinstance(results[3], Signal)


def test_app_pics_forgets_becomes_not_found(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10, 20)
    core.sync(settings)
    steam_cm.catalogue.remove_app(20)
    steam_cm.catalogue.forget_history()  # a delisting is only visible through a full pass
    results = core.sync(settings)
    assert isinstance(results[1], Signal)
    assert results[2].status == "not_found"


def test_delisted_app_keeps_its_build(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    """A delisted game stays in PICS: owners still get its updates."""
    core = mini_core(20)
    core.sync(settings)
    steam_cm.catalogue.delist_app(20)
    new = steam_cm.catalogue.publish_build(20)
    steam_cm.catalogue.forget_history()
    assert core.sync(settings)[1].value == str(new)


def test_incremental_sync_with_nothing_changed_is_one_request(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10, 20, 30, 40)
    first = core.sync(settings)
    steam_cm.reset_records()
    second = core.sync(settings)
    assert [r.kind for r in steam_cm.received] == ["changes_since"]
    assert steam_cm.requests("changes_since")[0].since_change_number == core.state["change_number"]
    assert second == first
    assert core.raw == [Unchanged("buildid", [1, 2, 3, 4])]  # one claim, no answer per game


def test_known_app_the_core_holds_no_build_for_is_fetched_again(steam_cm: FakeSteamCM, settings: dict,
                                                               mini_core: type) -> None:
    """The host deleted and re-added a game: Steam's change list says nothing moved, but the
    core has no build for the new row, so claiming it unchanged would leave it without one."""
    core = mini_core(10, 20, 30)
    core.sync(settings)
    core.signals.pop(2)
    steam_cm.reset_records()
    core.sync(settings)
    assert steam_cm.requested_appids() == [20]
    assert core.raw[0] == Unchanged("buildid", [1, 3])
    assert core.build(2) == str(steam_cm.catalogue.apps[20].branches["public"].buildid)


def test_incremental_sync_fetches_only_changed_library_apps(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10, 20, 30)
    core.sync(settings)
    steam_cm.catalogue.publish_build(20)
    steam_cm.catalogue.edit_metadata(30)
    steam_cm.catalogue.publish_build(60)  # changed, but not in this library
    steam_cm.reset_records()
    core.sync(settings)
    assert sorted(steam_cm.requested_appids()) == [20, 30]
    assert core.build(2) == str(steam_cm.catalogue.apps[20].branches["public"].buildid)


def test_no_cursor_means_a_full_pass(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10, 20, 30)
    core.sync(settings)
    core.state.clear()
    steam_cm.catalogue.publish_build(30)
    steam_cm.reset_records()
    core.sync(settings)
    assert sorted(steam_cm.requested_appids(metadata=True)) == [10, 20, 30]
    assert steam_cm.requested_appids() == [30]  # the recorded signals' change numbers still hold for 10, 20


@pytest.mark.parametrize("how", ["force_full_update", "history_forgotten", "cursor_expired"])
def test_full_pass_asks_metadata_first_and_fetches_only_what_moved(
        steam_cm: FakeSteamCM, settings: dict, how: str, mini_core: type) -> None:
    core = mini_core(10, 20, 30, 40)
    steam_cm.catalogue.add_app(40, branches={})  # answered with a problem: hidden
    core.sync(settings)
    new = steam_cm.catalogue.publish_build(10)
    steam_cm.catalogue.edit_metadata(20)
    if how == "force_full_update":
        steam_cm.catalogue.force_full_update = True
    elif how == "history_forgotten":
        steam_cm.catalogue.forget_history()
    else:
        steam_cm.catalogue.advance(7_148)  # ~11 h of Steam's changes (winnow)
    steam_cm.reset_records()
    results = core.sync(settings)
    (answer,) = [r for r in steam_cm.received if r.kind == "changes_since"]
    assert answer.body.since_change_number > 0
    assert sorted(steam_cm.requested_appids(metadata=True)) == [10, 20, 30, 40]
    assert sorted(steam_cm.requested_appids()) == [10, 20]  # only the two whose number moved
    assert core.build(1) == str(new) and results[2].value == core.build(2)
    assert results[4].status == "hidden"
    assert steam_cm.count("product_info") == 2


def test_cursor_inside_the_retention_window_is_incremental(steam_cm: FakeSteamCM, settings: dict,
                                                           mini_core: type) -> None:
    core = mini_core(10, 20)
    core.sync(settings)
    steam_cm.catalogue.advance(4_000)
    steam_cm.catalogue.publish_build(20)
    steam_cm.reset_records()
    core.sync(settings)
    assert steam_cm.requested_appids(metadata=True) == [] and steam_cm.requested_appids() == [20]


def test_expired_cursor_answer_has_the_real_shape(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10)
    core.sync(settings)
    steam_cm.catalogue.advance(5_001)
    current, forced, changes = steam_cm.catalogue.changes_since(core.state["change_number"])
    assert (current, forced, changes) == (steam_cm.catalogue.change_number, "app", [])


def test_apps_outside_a_partial_check_are_refetched_later(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    """The cursor covers only apps that were part of the check that moved it."""
    core = mini_core(10, 20)
    core.sync(settings)
    everything = core.games
    core.games = everything[:1]  # a check of only app 10 moves the cursor ...
    new = steam_cm.catalogue.publish_build(20)
    core.sync(settings)
    core.games = everything  # ... and app 20's change before that cursor is not missed
    core.sync(settings)
    assert core.build(2) == str(new)


def test_branch_setting_tracks_another_branch(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    steam_cm.catalogue.add_app(90, branches={"public": FakeBranch(100, 1_700_000_000),
                                             "beta": FakeBranch(200, 1_700_000_100, "open beta")})
    settings = {**settings, "branches": "90=beta"}
    core = mini_core(90, 10)
    results = core.sync(settings)
    assert results[1].value == "200" and results[1].detail["branch"] == "beta"
    assert results[2].detail["branch"] == "public"
    steam_cm.catalogue.publish_build(90, branch="public", buildid=101)
    core.sync(settings)
    assert core.build(1, "buildid@beta") == "200"
    steam_cm.catalogue.publish_build(90, branch="beta", buildid=201)
    core.sync(settings)
    assert core.build(1, "buildid@beta") == "201"


def test_missing_branch_is_an_error_naming_the_branches(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10)
    result = core.sync({**settings, "branches": {"10": "experimental"}})[1]
    assert isinstance(result, Problem) and result.status == "error"
    assert "experimental" in result.message and "public" in result.message


def test_switching_branch_refetches(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    steam_cm.catalogue.publish_build(10, branch="beta", buildid=555)
    core = mini_core(10)
    core.sync(settings)
    steam_cm.reset_records()
    core.sync({**settings, "branches": {10: "beta"}})
    assert steam_cm.requested_appids() == [10]
    assert core.build(1, "buildid@beta") == "555"


def test_many_parts_and_compressed_answers(mini_core: type) -> None:
    from patchwatch_steam_pics.session import close_sessions

    with FakeSteamCM(apps_per_part=7, compress_over=2_000) as cm, cm.patched_universe_key():
        cm.catalogue.add_apps(range(1000, 1100))
        core = mini_core(*range(1000, 1100))
        try:
            results = core.sync({"cm_servers": cm.server, "batch_size": 60})
        finally:
            close_sessions()
    assert all(isinstance(r, Signal) for r in results.values()) and len(results) == 100
    assert len(cm.requests("product_info")) == 2


def test_disconnect_mid_answer_fails_cleanly_and_loses_nothing(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    steam_cm.catalogue.add_apps(range(100, 130))
    steam_cm.apps_per_part = 3
    core = mini_core(*range(100, 130))
    settings = {**settings, "batch_size": 10, "in_flight": 1}
    core.sync(settings)
    cursor = dict(core.state)
    for appid in range(100, 130):
        steam_cm.catalogue.publish_build(appid)
    # The second batch's answer stops after one of its four parts, twice: the CM hangs up
    # on the first try and on the retry over a new connection.
    steam_cm.fail("product_info", times=1)  # the first batch: answered normally
    steam_cm.fail("product_info", drop_after=1, times=2)
    with pytest.raises(PicsError, match="dropped"):
        core.sync(settings)
    assert sorted(core.results) == list(range(1, 11))  # the first batch was yielded and kept
    assert core.state == cursor  # the cursor did not move past unanswered changes
    results = core.sync(settings)  # reconnects and catches up
    assert len(results) == 30
    assert all(core.build(i + 1) == str(steam_cm.catalogue.apps[100 + i].branches["public"].buildid)
               for i in range(30))
    assert steam_cm.logons == 3


def test_slow_answer_times_out(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    import time

    core = mini_core(10)
    core.sync(settings)
    steam_cm.fail("changes_since", delay=5)
    started = time.monotonic()
    with pytest.raises(PicsError, match="within 1 s"):
        core.sync({**settings, "request_timeout": 1})
    assert time.monotonic() - started < 2.5


def test_no_answer_times_out_then_recovers(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10, 20)
    steam_cm.fail("product_info", ignore=True, times=2)  # the batch and its one retry
    with pytest.raises(PicsError, match="product-info"):
        core.sync({**settings, "request_timeout": 0.5})
    assert core.results == {} and core.state == {}
    assert len(core.sync(settings)) == 2


def test_damaged_state_means_a_full_pass(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10, 20)
    core.sync(settings)
    core.state.update(change_number="garbage", known={"x": 1}, problems=[1, 2])
    steam_cm.reset_records()
    results = core.sync(settings)
    assert sorted(steam_cm.requested_appids(metadata=True)) == [10, 20] and len(results) == 2
    assert isinstance(core.state["change_number"], int)


@pytest.mark.parametrize("buffer, message", [
    (b"", "empty buffer"), (b'"x" { }', "no appinfo section"), (b'"appinfo" { "depots" {', "unbalanced"),
    (b"garbage", "no appinfo section"), (b'"appinfo" { } }', "unbalanced"),
])
def test_malformed_app_info_is_an_error_for_that_app(buffer: bytes, message: str) -> None:
    from patchwatch_steam_pics import pics

    fetched = pics.Fetched(apps={10: pics.AppEntry(10, 5, False, buffer)})
    result = pics.read_result(10, fetched, "public")
    assert isinstance(result, Problem) and result.status == "error" and message in result.message


def test_only_the_top_level_depots_section_counts() -> None:
    from patchwatch_steam_pics import pics

    from patchwatch_steam_pics.keyvalues import dumps

    tree = {"appinfo": {"appid": "10", "extended": {"depots": {"branches": {"public": {"buildid": "1"}}}},
                        "depots": {"branches": {"public": {"buildid": "22", "timeupdated": "1700000000"}}}}}
    text = dumps(tree).encode() + b"\x00"
    result = pics.read_result(10, pics.Fetched(apps={10: pics.AppEntry(10, 5, False, text)}), "public")
    assert result.value == "22" and result.published_at == "2023-11-14T22:13:20Z"
