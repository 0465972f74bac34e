"""Issue 13, Epic 4 and 5: Epic's throttling answer, and the slow, huge assets call."""

from __future__ import annotations

import pytest
import requests
from patchwatch import Problem, Signal
from patchwatch.testing import Response
from patchwatch_epic import EpicError, check_updates_bulk
from patchwatch_epic.http import epic_wait
from patchwatch_epic.testing import throttled

CATALOG = "/bulk/items"
ASSETS = r"/launcher/api/public/assets/.*"

pytestmark = pytest.mark.timeout(30)


def games_of(epic, tracked=()):
    signals = {"build_version": Signal("build_version", "0")}
    return [item.game(i, signals if item.app_name in tracked else None)
            for i, item in enumerate(epic.items.values(), 1)]


def answered(response: Response) -> requests.Response:
    """A ``requests.Response`` carrying a fake's answer, for the parsing tests."""
    body, headers = response.encoded()
    real = requests.Response()
    real.status_code, real._content = response.status, body
    real.headers.update(headers)
    return real


# -- 4. throttling -----------------------------------------------------------------------
def test_the_fakes_429_says_its_wait_only_in_the_body(epic, fake_store):
    epic.add_game("Fig")
    epic.throttle(221)
    token = epic._issue("client", None)["access_token"]
    item = next(iter(epic.items.values()))
    answer = requests.get(
        f"{fake_store.url}/catalog/api/shared/namespace/{item.namespace}/bulk/items",
        params={"id": item.catalog_item_id}, headers={"Authorization": f"bearer {token}"},
        timeout=5)
    assert answer.status_code == 429 and "Retry-After" not in answer.headers
    body = answer.json()
    assert (body["numericErrorCode"], body["messageVars"]) == (1041, ["221"])
    assert body["errorCode"] == "errors.com.epicgames.common.throttled"


@pytest.mark.parametrize("response, wait", [
    (throttled(221), 221.0),
    (Response(429, json={"numericErrorCode": 1041, "messageVars": [],
                         "errorMessage": "please try again in 5 second(s)."}), 5.0),
    (Response(429, json={"numericErrorCode": 1041, "messageVars": ["x"]}), None),
    (Response(429, json={"numericErrorCode": 1041, "messageVars": ["9"]},
              headers={"Retry-After": "2"}), 2.0),
    (Response(503, json={"numericErrorCode": 1000, "messageVars": ["30"]}), None),
    (Response(429, body=b"<html>busy</html>"), None),
])
def test_epic_wait_reads_the_throttling_body(response, wait):
    assert epic_wait(answered(response)) == wait


def test_a_throttled_catalog_waits_as_long_as_epic_says(epic, check):
    epic.add_game("Fig")
    epic.throttle(1)
    results = check(games_of(epic), epic.settings(backoff=0.01))
    assert isinstance(results[1], Signal)
    catalog = [(at, status) for at, _, path, status in epic.log if CATALOG in path]
    assert [status for _, status in catalog] == [429, 200]
    assert catalog[1][0] - catalog[0][0] >= 0.95, "waited the 1 s Epic asked, not the backoff"


def test_a_throttle_longer_than_max_wait_stops_with_a_clear_error(epic):
    epic.add_game("Fig")
    epic.throttle(8036)
    with pytest.raises(EpicError, match="asks to wait 8036s"):
        list(check_updates_bulk(games=games_of(epic), settings=epic.settings(max_wait=60)))
    assert sum(1 for _, _, path, _ in epic.log if CATALOG in path) == 1


def test_a_throttle_holds_back_every_worker(epic, check, fake_store):
    for n in range(40):
        epic.add_game(f"Game{n}")
    fake_store.latency = 0.05  # 40 single-id batches on 4 workers: about 0.5 s of work
    epic.throttle(1)
    results = check(games_of(epic), epic.settings(concurrency=4))
    assert len(results) == 40 and all(isinstance(r, Signal) for r in results.values())
    catalog = [(at, status) for at, _, path, status in epic.log if CATALOG in path]
    limited = next(at for at, status in catalog if status == 429)
    during = [at for at, _ in catalog if limited + 0.2 < at < limited + 0.9]
    assert during == [], "no worker sends while Epic asks everyone to wait"


# -- 5. the assets call ------------------------------------------------------------------
def test_slow_assets_get_their_own_timeout(epic, check, tmp_path, fake_store):
    epic.add_game("Fig")
    epic.assets_delay = 1.0
    path = epic.write_legendary_user(tmp_path / "user.json")
    settings = epic.settings(legendary_user=str(path), timeout=0.3, assets_timeout=5)
    assert check(games_of(epic), settings)[1].kind == "build_version"
    assert fake_store.count(ASSETS) == 1


def test_a_504_from_the_assets_call_is_not_retried(epic, check, tmp_path, fake_store):
    epic.add_game("Fig")
    epic.add_game("Sugar")
    epic.assets_delay, epic.gateway_timeout = 1.0, 0.2
    path = epic.write_legendary_user(tmp_path / "user.json")
    results = check(games_of(epic, tracked={"Fig"}), epic.settings(legendary_user=str(path)))
    assert fake_store.count(ASSETS) == 1, "no blind retry"
    assert isinstance(results[1], Problem) and "HTTP 504" in results[1].message
    assert results[2].kind == "last_modified"


def test_an_assets_timeout_is_not_retried(epic, check, tmp_path, fake_store):
    epic.add_game("Fig")
    epic.assets_delay = 1.5
    path = epic.write_legendary_user(tmp_path / "user.json")
    settings = epic.settings(legendary_user=str(path), assets_timeout=0.3)
    result = check(games_of(epic, tracked={"Fig"}), settings)[1]
    assert fake_store.count(ASSETS) == 1
    assert isinstance(result, Problem) and "no answer within 0.3s" in result.message


def test_thousands_of_unreal_assets_in_one_answer(epic, check, tmp_path, fake_store):
    for n in range(60):
        epic.add_game(f"Game{n:03d}")
    epic.add_unreal_assets(5000)
    path = epic.write_legendary_user(tmp_path / "user.json")
    results = check(games_of(epic), epic.settings(legendary_user=str(path)))
    assert len(results) == 60 and all(r.kind == "build_version" for r in results.values())
    assert fake_store.count(ASSETS) == 1


def test_a_throttled_assets_call_is_still_retried_after_the_wait(epic, check, tmp_path):
    epic.add_game("Fig")
    epic.throttle(1, service="assets")
    path = epic.write_legendary_user(tmp_path / "user.json")
    assert check(games_of(epic), epic.settings(legendary_user=str(path)))[1].kind == \
        "build_version"
