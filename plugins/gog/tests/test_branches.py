"""Branches: which build is the default branch's, and private branches behind a password."""

from __future__ import annotations

import requests

from patchwatch import Problem, Signal
from patchwatch.testing import Response
from patchwatch_gog.settings import GogSettings
from patchwatch_gog.testing import gog_game

PID = 1207658930


def _builds(gog, **params):
    url = f"{gog.settings['builds_url']}/products/{PID}/os/windows/builds"
    return requests.get(url, params={"generation": 2, **params}, timeout=5).json()


def test_fake_hides_private_branch_builds_without_the_password(gog):
    gog.catalogue.add_product(PID, version="1.0")
    gog.catalogue.add_private_branch(PID, "qa", password="s3cret")
    qa = gog.catalogue.publish_build(PID, "windows", "2.0-qa", branch="qa")

    anonymous, wrong, right = _builds(gog), _builds(gog, password="nope"), _builds(gog, password="s3cret")

    assert anonymous["has_private_branches"] is True
    assert [i["branch"] for i in anonymous["items"]] == [None]
    assert anonymous["total_count"] == 2 and anonymous["count"] == 1
    assert [i["branch"] for i in wrong["items"]] == [None]
    assert [i["build_id"] for i in right["items"]] == [qa.build_id, gog.catalogue.products[PID].builds[0].build_id]


def test_private_branch_tracked_with_its_password(gog, run):
    gog.catalogue.add_product(PID, version="1.0")
    gog.catalogue.add_private_branch(PID, "qa", password="s3cret")
    qa = gog.catalogue.publish_build(PID, "windows", "2.0-qa", branch="qa")

    signal = run([gog_game(PID, 1)], branch="qa", branch_passwords={str(PID): "s3cret"})[1]

    assert isinstance(signal, Signal), signal
    assert (signal.kind, signal.value) == ("build_id:windows@qa", qa.build_id)
    [request] = [r for r in gog.server.requests if "/builds" in r.path]
    assert request.arg("password") == "s3cret"
    assert "s3cret" not in repr(signal)


def test_private_branch_without_password_says_what_to_set(gog, run):
    gog.catalogue.add_product(PID, version="1.0")
    gog.catalogue.add_private_branch(PID, "qa", password="s3cret")
    gog.catalogue.publish_build(PID, "windows", "2.0-qa", branch="qa")

    problem = run([gog_game(PID, 1)], branch="qa")[1]

    assert isinstance(problem, Problem) and problem.status == "hidden"
    assert "private branches" in problem.message and "branch_passwords" in problem.message


def test_wrong_password_is_not_a_build(gog, run):
    gog.catalogue.add_product(PID, version="1.0")
    gog.catalogue.add_private_branch(PID, "qa", password="s3cret")
    gog.catalogue.publish_build(PID, "windows", "2.0-qa", branch="qa")

    problem = run([gog_game(PID, 1)], branch="qa", branch_passwords=f"{PID}=wrong")[1]

    assert isinstance(problem, Problem) and "wrong" not in problem.message
    assert "branch_passwords" in problem.message


def test_password_is_sent_only_for_its_own_product(gog, run):
    gog.catalogue.add_product(PID)
    gog.catalogue.add_product(PID + 1)

    run([gog_game(PID, 1), gog_game(PID + 1, 2)], branch_passwords={str(PID): "s3cret"})

    sent = {r.path.split("/")[-4]: r.arg("password") for r in gog.server.requests if "/builds" in r.path}
    assert sent == {str(PID): "s3cret", str(PID + 1): None}


def test_password_never_appears_in_messages(gog, run):
    gog.catalogue.add_product(PID)
    gog.server.fail(gog.builds_pattern(PID), Response(drop=True), times=10)

    problem = run([gog_game(PID, 1)], branch_passwords={str(PID): "s3cret"}, retries=1)[1]

    assert isinstance(problem, Problem)
    assert "s3cret" not in problem.message


def test_password_setting_from_the_environment_and_hidden_in_repr():
    settings = GogSettings.from_mapping({"branch_passwords": f"{PID}=s3=cret, {PID + 1}=other"})

    assert settings.password_for(str(PID)) == "s3=cret"
    assert settings.password_for(str(PID + 1)) == "other"
    assert settings.password_for("1") is None
    assert "s3=cret" not in repr(settings) and "other" not in repr(settings)


def test_bad_password_settings_do_not_echo_the_password():
    import pytest

    from patchwatch_gog.settings import SettingsError

    for bad in ("hunter2", {"not-an-id": "x"}, {str(PID): ""}, 42):
        with pytest.raises(SettingsError) as error:
            GogSettings.from_mapping({"branch_passwords": bad})
        assert "hunter2" not in str(error.value)


def test_empty_branch_name_is_the_default_branch(gog, run):
    # Heroic takes `!build.branch`: an empty string is the default branch too.
    gog.catalogue.add_product(PID, oses=())
    build = gog.catalogue.publish_build(PID, "windows", "1.0", branch="")

    assert run([gog_game(PID, 1)])[1].value == build.build_id
