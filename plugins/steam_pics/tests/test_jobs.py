"""Job-control messages and slow, multi-part answers (issue 10, point 4)."""

from __future__ import annotations

import time

import pytest

from patchwatch import Signal
from patchwatch_steam_pics.session import PicsError
from patchwatch_steam_pics.testing import FakeSteamCM

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("legacy_header", [False, True], ids=["protobuf", "extended-header"])
def test_job_heartbeats_extend_the_wait(steam_cm: FakeSteamCM, settings: dict, mini_core: type,
                                        legacy_header: bool) -> None:
    core = mini_core(10, 20)
    steam_cm.fail("product_info", delay=0.8, heartbeat_every=0.15, legacy_header=legacy_header)
    results = core.sync({**settings, "request_timeout": 0.3})
    assert all(isinstance(r, Signal) for r in results.values()) and len(results) == 2
    assert steam_cm.logons == 1  # no retry was needed


def test_without_heartbeats_the_same_delay_times_out(steam_cm: FakeSteamCM, settings: dict,
                                                      mini_core: type) -> None:
    core = mini_core(10)
    steam_cm.fail("product_info", delay=0.8, times=2)
    with pytest.raises(PicsError, match="within 0.3 s"):
        core.sync({**settings, "request_timeout": 0.3})


def test_heartbeats_forever_hit_the_deadline(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    core = mini_core(10)
    core.sync(settings)
    steam_cm.fail("changes_since", delay=30, heartbeat_every=0.05)
    started = time.monotonic()
    with pytest.raises(PicsError, match="no complete changes-since answer from Steam within 0.8 s"):
        core.sync({**settings, "request_timeout": 0.2})
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("legacy_header", [False, True], ids=["protobuf", "extended-header"])
def test_dest_job_failed_is_retried_once_on_a_new_connection(steam_cm: FakeSteamCM, settings: dict,
                                                             mini_core: type, legacy_header: bool) -> None:
    core = mini_core(10, 20, 30)
    steam_cm.fail("product_info", job_failed=True, legacy_header=legacy_header)
    results = core.sync(settings)
    assert all(isinstance(r, Signal) for r in results.values()) and len(results) == 3
    assert steam_cm.logons == 2 and steam_cm.count("product_info") == 2


def test_dest_job_failed_twice_fails_the_check_cleanly(steam_cm: FakeSteamCM, settings: dict,
                                                       mini_core: type) -> None:
    core = mini_core(10, 20)
    core.sync(settings)
    cursor = dict(core.state)
    steam_cm.catalogue.publish_build(10)
    steam_cm.fail("product_info", job_failed=True, times=2)
    started = time.monotonic()
    with pytest.raises(PicsError, match="DestJobFailed.*failed twice"):
        core.sync(settings)
    assert time.monotonic() - started < 2  # failed at once, not after a timeout
    assert core.state == cursor
    assert core.sync(settings)[1].value == str(steam_cm.catalogue.apps[10].branches["public"].buildid)


def test_each_part_has_its_own_timeout(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    """Five parts 0.2 s apart take 0.8 s in all, more than one part's 0.3 s: still fine."""
    steam_cm.catalogue.add_apps(range(100, 125))
    steam_cm.apps_per_part = 5
    steam_cm.part_gap = 0.2
    core = mini_core(*range(100, 125))
    started = time.monotonic()
    results = core.sync({**settings, "request_timeout": 0.3, "batch_size": 25})
    assert time.monotonic() - started > 0.8
    assert len(results) == 25 and all(isinstance(r, Signal) for r in results.values())
    assert steam_cm.count("product_info") == 1


def test_a_gap_longer_than_the_part_timeout_fails(steam_cm: FakeSteamCM, settings: dict, mini_core: type) -> None:
    steam_cm.catalogue.add_apps(range(100, 110))
    steam_cm.apps_per_part = 5
    steam_cm.part_gap = 0.5
    core = mini_core(*range(100, 110))
    with pytest.raises(PicsError, match="no next part of the product-info request from Steam within 0.3 s"):
        core.sync({**settings, "request_timeout": 0.3, "batch_size": 10})


def test_slow_jittery_answers_out_of_order(mini_core: type) -> None:
    from patchwatch_steam_pics.session import close_sessions

    with FakeSteamCM(latency=0.02, jitter=0.08, apps_per_part=9) as cm, cm.patched_universe_key():
        cm.catalogue.add_apps(range(1000, 1200))
        core = mini_core(*range(1000, 1200))
        try:
            results = core.sync({"cm_servers": cm.server, "batch_size": 20, "in_flight": 6})
        finally:
            close_sessions()
    assert len(results) == 200
    assert all(r.value == str(cm.catalogue.apps[1000 + i].branches["public"].buildid)
               for i, r in enumerate(results[g] for g in range(1, 201)))


@pytest.mark.parametrize("bundled", [True, False])
def test_logon_answer_with_or_without_servers_available(bundled: bool) -> None:
    from patchwatch_steam_pics import is_available
    from patchwatch_steam_pics.session import close_sessions

    with FakeSteamCM(servers_available=bundled) as cm, cm.patched_universe_key():
        try:
            assert is_available({"cm_servers": cm.server}) is True
        finally:
            close_sessions()
