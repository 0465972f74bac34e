"""What the gog plugin reports for a product's builds: baseline, updates, what it ignores."""

from __future__ import annotations

from datetime import datetime, timezone

from patchwatch import Problem, Signal
from patchwatch_gog.testing import gog_game


def test_baseline_is_newest_public_build(gog, run):
    product = gog.catalogue.add_product(1207658930, "The Witcher 2", version="3.5.0.26")
    build = product.builds[0]

    answers = run([gog_game(1207658930, 7)])

    signal = answers[7]
    assert isinstance(signal, Signal)
    assert signal.kind == "build_id"
    assert signal.value == build.build_id
    assert signal.version == "3.5.0.26"
    assert signal.is_build is True
    assert signal.published_at == build.date_published.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert signal.detail["branch"] is None
    assert signal.detail["builds"]["windows"]["build_id"] == build.build_id
    # One builds request, asking for both manifest generations; the product API is not needed.
    builds_requests = [r for r in gog.server.requests if "/builds" in r.path]
    assert len(builds_requests) == 1
    assert builds_requests[0].arg("generation") == "2"
    assert gog.server.count(gog.product_pattern()) == 0


def test_new_build_changes_value_and_label(gog, run):
    gog.catalogue.add_product(1207658930, version="1.0")
    before = run([gog_game(1207658930, 1)])[1]

    new = gog.catalogue.publish_build(1207658930, "windows", "1.1")
    after = run([gog_game(1207658930, 1, {before.kind: before})])[1]

    assert after.kind == before.kind
    assert after.value == new.build_id != before.value
    assert after.version == "1.1"


def test_store_page_edit_is_not_an_update(gog, run):
    gog.catalogue.add_product(1207658930, "Old title")
    before = run([gog_game(1207658930, 1)])[1]

    gog.catalogue.edit_metadata(1207658930, title="New title", release_date="2020-01-01T00:00:00+0000")
    after = run([gog_game(1207658930, 1)])[1]

    assert after.value == before.value


def test_default_branch_build_is_the_first_listed_with_null_branch(gog, run):
    # heroic-gogdl (manager.py) and Heroic (library.ts getMetaResponse) install the first
    # item whose branch is null, whatever its `public` flag; so does the plugin.
    gog.catalogue.add_product(1207658930, version="1.0")
    gog.catalogue.publish_build(1207658930, "windows", "1.2-beta", branch="beta")
    listed_first = gog.catalogue.publish_build(1207658930, "windows", "1.1", public=False)

    signal = run([gog_game(1207658930, 1)])[1]

    assert signal.value == listed_first.build_id
    assert signal.version == "1.1"
    assert signal.detail["builds"]["windows"]["public"] is False


def test_other_branch_ignored_unless_tracked(gog, run):
    product = gog.catalogue.add_product(1207658930, version="1.0")
    beta = gog.catalogue.publish_build(1207658930, "windows", "2.0-beta", branch="beta")

    default = run([gog_game(1207658930, 1)])[1]
    tracked = run([gog_game(1207658930, 1)], branch="beta")[1]

    assert default.value == product.builds[0].build_id
    assert tracked.value == beta.build_id
    assert tracked.version == "2.0-beta"
    # A different thing is tracked, so it is a different kind: no false update on switching.
    assert tracked.kind == "build_id:windows@beta"
    assert tracked.detail["branch"] == "beta"


def test_several_oses(gog, run):
    gog.catalogue.add_product(1207658930, oses=("windows", "osx"))
    gog.catalogue.add_product(1207658931, oses=("windows",))
    games = [gog_game(1207658930, 1), gog_game(1207658931, 2)]

    first = run(games, os="windows, osx")  # as it comes from PATCHWATCH_GOG_OS
    mac = gog.catalogue.publish_build(1207658930, "osx", "1.2-mac")
    second = run(games, os="windows,osx")

    both, windows_only = first[1], first[2]
    assert both.kind == windows_only.kind == "build_id:osx+windows"
    assert set(both.detail["builds"]) == {"osx", "windows"}
    assert both.value == ";".join(
        f"{os}:{both.detail['builds'][os]['build_id']}" for os in ("osx", "windows")
    )
    assert set(windows_only.detail["builds"]) == {"windows"}
    # A new build on one OS changes the value; the other game is untouched.
    assert second[1].value != both.value and f"osx:{mac.build_id}" in second[1].value
    assert second[1].version == "1.2-mac"
    assert second[2].value == windows_only.value
    assert gog.server.count(gog.builds_pattern(os="osx")) == 4


def test_os_tracked_alone(gog, run):
    product = gog.catalogue.add_product(1207658930, oses=("windows", "osx"))
    mac = [b for b in product.builds if b.os == "osx"][0]

    signal = run([gog_game(1207658930, 1)], os=["mac"])[1]

    assert (signal.kind, signal.value) == ("build_id:osx", mac.build_id)


def test_first_generation_builds_count(gog, run):
    gog.catalogue.add_product(1207658930, oses=())
    old = gog.catalogue.publish_build(1207658930, "windows", "", generation=1)

    signal = run([gog_game(1207658930, 1)])[1]

    assert signal.value == old.build_id
    assert signal.version is None  # GOG gives an empty version_name for many old builds


def test_newest_by_publication_date_not_publishing_order(gog, run):
    gog.catalogue.add_product(1207658930, version="2.0")
    gog.catalogue.publish_build(
        1207658930, "windows", "0.9", published=datetime(2010, 1, 1, tzinfo=timezone.utc)
    )

    assert run([gog_game(1207658930, 1)])[1].version == "2.0"


def test_no_default_branch_build_is_hidden_with_title(gog, run):
    gog.catalogue.add_product(1207658930, "Offline Installer Only", oses=())
    gog.catalogue.publish_build(1207658930, "windows", "0.1", branch="beta")

    problem = run([gog_game(1207658930, 1)])[1]

    assert isinstance(problem, Problem)
    assert problem.status == "hidden"
    assert "Offline Installer Only" in problem.message and "windows" in problem.message
    assert gog.server.count(gog.product_pattern(1207658930)) == 1


def test_many_games_each_answered_once(gog, run):
    ids = [gog.catalogue.add_product().id for _ in range(40)]

    answers = run([gog_game(pid, n) for n, pid in enumerate(ids)], concurrency=4)

    assert sorted(answers) == list(range(40))
    values = {answers[n].value for n in range(40)}
    assert len(values) == 40
    assert all(isinstance(a, Signal) for a in answers.values())

