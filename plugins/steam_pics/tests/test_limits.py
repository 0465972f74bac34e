"""A CM's gzip Multi is decoded only up to the core's answer cap (issue 12, point 7)."""

from __future__ import annotations

import resource

import pytest

from patchwatch import http
from patchwatch_steam_pics.session import PicsError
from patchwatch_steam_pics.testing import FakeSteamCM

pytestmark = pytest.mark.timeout(30)
MIB = 1 << 20


@pytest.fixture
def cap_2_mib():
    controls = http.controls("steam_pics")
    saved = controls.max_bytes
    controls.start(max_bytes=2 * MIB)  # what the core does with max_answer_mb = 2
    yield
    controls.max_bytes = saved


@pytest.mark.parametrize("claims", [None, 1000], ids=["honest-size", "lying-size"])
def test_a_multi_larger_than_the_cap_fails_naming_the_server(
        steam_cm: FakeSteamCM, settings: dict, mini_core: type, cap_2_mib: None, claims: int | None) -> None:
    core = mini_core(10, 20)
    steam_cm.fail("product_info", multi_bytes=64 * MIB, multi_claims=claims, times=2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(PicsError) as raised:
        core.sync(settings)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert f"Steam CM {steam_cm.server} sent a Multi message of more than 2 MiB decoded (max_answer_mb)" \
        in str(raised.value)
    assert grown_mib < 32  # never held the 64 MiB
    assert core.results == {} and core.state == {}
    assert len(core.sync(settings)) == 2  # the next check is fine


def test_a_multi_under_the_cap_is_read(mini_core: type, cap_2_mib: None) -> None:
    from patchwatch_steam_pics.session import close_sessions

    with FakeSteamCM(compress_over=1_000) as cm, cm.patched_universe_key():
        cm.catalogue.add_apps(range(1000, 1050), info_size=12_000)
        core = mini_core(*range(1000, 1050))
        try:
            assert len(core.sync({"cm_servers": cm.server})) == 50
        finally:
            close_sessions()


def test_a_multi_whose_size_does_not_match_is_refused(steam_cm: FakeSteamCM, settings: dict,
                                                      mini_core: type, cap_2_mib: None) -> None:
    core = mini_core(10)
    steam_cm.fail("product_info", multi_bytes=MIB, multi_claims=MIB + 1, times=2)
    with pytest.raises(PicsError, match="does not match"):
        core.sync(settings)
