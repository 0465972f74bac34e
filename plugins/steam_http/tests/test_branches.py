"""The tracked branch: read from the mirror (it shows every branch), kind buildid@<branch>."""

from __future__ import annotations


import pytest
from patchwatch import Game, Problem, Signal
from patchwatch.testing import closed_port
from patchwatch_steam_http.settings import Settings, SettingsError


@pytest.fixture
def beta(steam):
    """App 10 has a beta branch with build 9001 besides its public build."""
    steam.catalogue.publish_build(10, buildid=9001, branch="beta")
    return steam


def test_the_tracked_branch_is_read_from_the_mirror(beta, games_for, run):
    results = run(games_for(10, 20), beta.settings(branches={"10": "beta"}))
    signal = results["10"]
    assert isinstance(signal, Signal) and signal.is_build
    assert (signal.kind, signal.value, signal.detail["branch"]) == ("buildid@beta", "9001", "beta")
    assert signal.published_at is not None
    public = results["20"]  # other apps keep the public branch and its kind
    assert (public.kind, public.value) == ("buildid", str(beta.catalogue.apps[20].buildid))


def test_public_is_still_kind_buildid(beta, games_for, run):
    signal = run(games_for(10), beta.settings())["10"]
    assert (signal.kind, signal.value) == ("buildid", str(beta.catalogue.apps[10].buildid))


def test_a_branch_the_app_does_not_have_is_an_error_naming_its_branches(beta, games_for, run):
    result = run(games_for(10), beta.settings(branches={"10": "experimental"}))["10"]
    assert isinstance(result, Problem) and result.status == "error"
    assert "'experimental'" in result.message and "beta, public" in result.message
    assert beta.server.count(r"/ISteamNews/.*") == 0  # news cannot see branches


@pytest.mark.parametrize("change", [{"mirror": False}, {"mirror_url": "closed"}, {"missing": True}])
def test_a_plugin_that_cannot_see_the_branch_does_not_answer_for_that_game(beta, games_for, run, change):
    if change.pop("missing", False):
        beta.catalogue.remove(10)  # the mirror has nothing on the app
    if change.get("mirror_url") == "closed":
        change.update(mirror_url=f"http://{closed_port()}", host_failures=1)  # the mirror goes out at once
    results = run(games_for(10, 20), beta.settings(branches={"10": "beta"}, **change))
    assert "10" not in results  # the core passes the game on, instead of a weak signal
    assert isinstance(results["20"], Signal)
    mirror_answered_20 = "mirror_url" not in change and "mirror" not in change
    assert beta.server.count(r"/ISteamNews/GetNewsForApp/.*") == (0 if mirror_answered_20 else 1)


def test_branches_setting_from_the_environment_and_checks():
    assert Settings.from_mapping({"branches": "440=beta, 0570=rc"}).branch("570") == "rc"
    assert Settings.from_mapping({"branches": {440: "beta"}}).branch("440") == "beta"
    assert Settings().branch("440") == "public"
    with pytest.raises(SettingsError, match="'tf2' is not a Steam app id"):
        Settings.from_mapping({"branches": {"tf2": "beta"}})


def test_a_known_public_build_does_not_count_for_the_tracked_branch(beta, games_for, run):
    """A known build of another branch kind does not count as the tracked one's."""
    (game,) = games_for(10)
    game = Game(id=game.id, store="steam", store_id="10",
                signals={"buildid": Signal("buildid", "1", detail={"branch": "public"})})
    beta.catalogue.remove(10)
    # no buildid@beta known yet: an empty mirror answer is no verdict, and news cannot see beta
    assert run([game], beta.settings(branches={"10": "beta"})) == {}
