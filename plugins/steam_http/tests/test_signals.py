"""Which signal each game gets, and what counts as a change: against the Steam fake."""

from __future__ import annotations

from patchwatch import Problem, Signal


def test_baseline_reads_the_public_buildid_from_the_mirror(steam, games_for, run):
    app = steam.catalogue.apps[10]
    results = run(games_for(10, 20, 30), steam.settings())
    signal = results["10"]
    assert isinstance(signal, Signal)
    assert signal.kind == "buildid" and signal.is_build
    assert signal.value == str(app.buildid)
    assert signal.published_at == "2023-11-14T22:13:30Z"  # 1_700_000_010 s
    assert signal.detail["source"] == "mirror"
    assert signal.detail["change_number"] == app.change_number
    assert {r.value for r in results.values()} == {str(steam.catalogue.apps[a].buildid) for a in (10, 20, 30)}
    # the mirror answered everything: the weaker APIs were never asked
    assert steam.server.count(r"/ISteamNews/.*") == 0 and steam.server.count(r"/api/.*") == 0


def test_new_build_changes_value_and_publish_time(steam, games_for, run):
    before = run(games_for(10, 20), steam.settings())
    new = steam.catalogue.publish_build(20, when=1_750_000_000)
    after = run(games_for(10, 20), steam.settings())
    assert after["10"] == before["10"]
    assert after["20"].value == str(new) != before["20"].value
    assert after["20"].published_at == "2025-06-15T15:06:40Z"


def test_metadata_only_change_keeps_the_build_value(steam, games_for, run):
    before = run(games_for(10), steam.settings())["10"]
    steam.catalogue.edit_metadata(10, name="Game 10: Remastered Edition", price_cents=499)
    after = run(games_for(10), steam.settings())["10"]
    assert after.detail["change_number"] > before.detail["change_number"]  # PICS did change
    assert (after.kind, after.value, after.published_at) == (before.kind, before.value, before.published_at)


def test_news_gives_a_weak_patch_notes_signal(steam, games_for, run):
    settings = steam.settings(mirror=False)
    before = run(games_for(10), settings)["10"]
    assert before.kind == "patch_notes" and before.is_build is False
    assert before.detail["source"] == "news"
    # a post that is not patch notes changes nothing
    steam.catalogue.post_news(10, "Summer sale!", patch_notes=False)
    steam.catalogue.post_news(10, "Patch notes in the wrong feed", feedname="steam_updates")
    assert run(games_for(10), settings)["10"].value == before.value
    gid = steam.catalogue.post_news(10, "Patch 1.1")
    after = run(games_for(10), settings)["10"]
    assert after.value == gid != before.value
    assert after.is_build is False and after.detail["title"] == "Patch 1.1"
    assert after.published_at is not None
    # the filters went to the API, and only a tiny body was asked for
    request = [r for r in steam.server.requests if r.path.startswith("/ISteamNews/")][-1]
    assert request.arg("tags") == "patchnotes"
    assert request.arg("feeds") == "steam_community_announcements"
    assert request.arg("maxlength") == "1"


def test_game_without_patch_notes_gets_a_none_value(steam, games_for, run):
    steam.catalogue.add(40, patch_notes=0)
    result = run(games_for(40), steam.settings(mirror=False))["40"]
    assert (result.kind, result.value, result.is_build) == ("patch_notes", "none", False)


def test_appdetails_is_the_weakest_signal_and_ignores_prices(steam, games_for, run):
    settings = steam.settings(mirror=False, news=False)
    before = run(games_for(10), settings)["10"]
    assert before.kind == "store_page" and before.is_build is False
    assert before.detail == {"source": "appdetails", "name": "Game 10", "release_date": "14 Nov, 2023"}
    steam.catalogue.edit_metadata(10, price_cents=99)  # a sale
    assert run(games_for(10), settings)["10"].value == before.value
    steam.catalogue.edit_metadata(10, short_description="Now with a level editor.")
    changed = run(games_for(10), settings)["10"]
    assert changed.value != before.value and changed.is_build is False


def test_unknown_to_the_mirror_falls_to_news(steam, fake_store, games_for, run):
    # an app the mirror has not cached yet (an older gateway answered 404): with no build
    # known for it, the game goes to the next signal
    fake_store.fail(r"/v1/info/20", 404, times=1)
    results = run(games_for(10, 20), steam.settings())
    assert results["10"].detail["source"] == "mirror"
    assert results["20"].detail["source"] == "news" and results["20"].is_build is False


def test_unknown_app_gets_the_mirrors_empty_answer(steam, games_for, run):
    steam.catalogue.remove(10)
    result = run(games_for(10), steam.settings(news=False, appdetails=False))["10"]
    assert isinstance(result, Problem) and result.status == "not_found"
    assert "nothing on this app" in result.message


def test_app_without_public_build_is_hidden(steam, games_for, run):
    steam.catalogue.add(50, missing_token=True)
    result = run(games_for(50), steam.settings(news=False, appdetails=False))["50"]
    assert isinstance(result, Problem) and result.status == "hidden"
    assert "access token" in result.message


def test_delisted_app_keeps_its_build_signal(steam, games_for, run):
    # owners of a delisted game still get its builds: PICS keeps answering
    steam.catalogue.delist(30)
    result = run(games_for(30), steam.settings())["30"]
    assert result.kind == "buildid" and result.value == str(steam.catalogue.apps[30].buildid)


def test_delisted_app_is_not_found_on_the_store(steam, games_for, run):
    steam.catalogue.delist(30)
    result = run(games_for(30), steam.settings(mirror=False, news=False))["30"]
    assert isinstance(result, Problem) and result.status == "not_found"
    assert "delisted" in result.message


def test_unknown_app_is_not_found_everywhere(steam, games_for, run):
    steam.catalogue.remove(20)
    results = run(games_for(10, 20), steam.settings())
    assert isinstance(results["10"], Signal)
    problem = results["20"]
    assert isinstance(problem, Problem) and problem.status == "not_found"
    assert "mirror" in problem.message and "news" in problem.message and "appdetails" in problem.message


def test_non_numeric_id_is_not_found_without_a_request(steam, games_for, run):
    results = run(games_for("abc", "10; DROP", "0", "4294967296", ""), steam.settings())
    assert {r.status for r in results.values()} == {"not_found"}
    assert steam.server.requests == []


def test_every_signal_switched_off_is_an_error(steam, games_for, run):
    result = run(games_for(10), steam.settings(mirror=False, news=False, appdetails=False))["10"]
    assert isinstance(result, Problem) and "switched off" in result.message
