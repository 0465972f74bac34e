"""Linux: GOG has no Linux builds, so the plugin follows the Linux installer's version."""

from __future__ import annotations

import pytest
import requests

from patchwatch import Problem, Signal
from patchwatch_gog.settings import GogSettings, SettingsError
from patchwatch_gog.testing import gog_game


def test_fake_builds_api_has_no_linux(gog):
    gog.catalogue.add_product(1207658930, oses=("windows", "linux"))

    answer = requests.get(f"{gog.settings['builds_url']}/products/1207658930/os/linux/builds",
                          params={"generation": 2}, timeout=5)

    assert answer.status_code == 404
    with pytest.raises(ValueError, match="no 'linux' builds"):
        gog.catalogue.publish_build(1207658930, "linux", "1.1")


def test_linux_reports_the_installer_version(gog, run):
    gog.catalogue.add_product(1207658930, "Linux Game", oses=("linux",), version="1.0 (gog-1)")

    signal = run([gog_game(1207658930, 1)], os="linux")[1]

    assert isinstance(signal, Signal), signal
    assert (signal.kind, signal.value, signal.version) == ("installer_version:linux", "1.0 (gog-1)", "1.0 (gog-1)")
    assert signal.is_build is True
    assert signal.published_at is None  # installers carry no date
    assert signal.detail["linux_installer"]["language"] == "en"
    # Only the product API is asked, with ?expand=downloads; never os/linux/builds.
    assert gog.server.count(gog.builds_pattern()) == 0
    [product_request] = [r for r in gog.server.requests if "/products/" in r.path]
    assert product_request.arg("expand") == "downloads"


def test_new_linux_installer_is_an_update(gog, run):
    gog.catalogue.add_product(1207658930, oses=("linux",), version="1.0 (gog-1)")
    before = run([gog_game(1207658930, 1)], os="linux")[1]

    gog.catalogue.publish_installer(1207658930, "linux", "1.1 (gog-2)")
    gog.catalogue.publish_installer(1207658930, "windows", "9.9")  # another OS: not tracked
    after = run([gog_game(1207658930, 1)], os="linux")[1]

    assert after.kind == before.kind
    assert (before.value, after.value) == ("1.0 (gog-1)", "1.1 (gog-2)")


def test_windows_and_linux_together(gog, run):
    product = gog.catalogue.add_product(1207658930, oses=("windows", "linux"), version="2.0")
    gog.catalogue.add_product(1207658931, oses=("windows",))

    answers = run([gog_game(1207658930, 1), gog_game(1207658931, 2)], os="windows,linux")

    both, windows_only = answers[1], answers[2]
    assert both.kind == windows_only.kind == "build_id:windows&installer_version:linux"
    assert both.value == f"linux:2.0;windows:{product.builds[0].build_id}"
    assert windows_only.value == f"windows:{gog.catalogue.products[1207658931].builds[0].build_id}"
    assert "linux_installer" not in windows_only.detail


def test_linux_kind_differs_from_the_old_linux_build_kind(gog, run):
    # Earlier versions called os = "windows,linux" `build_id:linux+windows` (and expected
    # Linux builds): the new value gets a new baseline instead of a false update.
    gog.catalogue.add_product(1207658930, oses=("windows", "linux"))

    signal = run([gog_game(1207658930, 1)], os="windows,linux")[1]

    assert signal.kind != "build_id:linux+windows"


def test_english_installer_is_followed_first(gog, run):
    gog.catalogue.add_product(1207658930, oses=())
    gog.catalogue.publish_installer(1207658930, "linux", "1.0-de", language="de")
    gog.catalogue.publish_installer(1207658930, "linux", "1.0-en", language="en")

    assert run([gog_game(1207658930, 1)], os="linux")[1].value == "1.0-en"


def test_linux_installer_without_version_is_hidden(gog, run):
    gog.catalogue.add_product(1207658930, "No Version", oses=())
    gog.catalogue.publish_installer(1207658930, "linux", None)  # gogapidocs' example has null

    problem = run([gog_game(1207658930, 1)], os="linux")[1]

    assert isinstance(problem, Problem) and problem.status == "hidden"
    assert "No Version" in problem.message and "no version" in problem.message


def test_no_linux_installer_is_hidden_and_unknown_is_not_found(gog, run):
    gog.catalogue.add_product(1207658930, "Windows Only", oses=("windows",))

    answers = run([gog_game(1207658930, 1), gog_game(1999999999, 2)], os="linux")

    assert answers[1].status == "hidden" and "no Linux installer" in answers[1].message
    assert answers[2].status == "not_found"
    # One product request each: the expanded answer also tells whether the product exists.
    assert gog.server.count(gog.product_pattern()) == 2


def test_malformed_downloads_is_an_error(gog, run):
    from patchwatch.testing import Response

    gog.catalogue.add_product(1207658930, oses=("linux",))
    gog.server.fail(gog.product_pattern(1207658930), Response(200, json={"id": 1207658930}))

    problem = run([gog_game(1207658930, 1)], os="linux")[1]

    assert problem.status == "error" and "downloads" in problem.message


def test_branch_with_only_linux_is_refused():
    with pytest.raises(SettingsError, match="no Linux builds"):
        GogSettings.from_mapping({"os": "linux", "branch": "beta"})
    assert GogSettings.from_mapping({"os": "linux,windows", "branch": "beta"}).build_oses == ("windows",)
