"""Tokens against the fake Epic: grants, expiry, refresh once, write-back."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import patchwatch_epic
import pytest
from patchwatch import http as core_http
import requests
from patchwatch import Problem, Signal
from patchwatch.testing import FakeStoreServer, Response
from patchwatch_epic import EpicError, check_updates_bulk
from patchwatch_epic.testing import epic_error

TOKEN = r"/account/api/oauth/token"
ASSETS = r"/launcher/api/public/assets/.*"
CATALOG = r"/catalog/api/shared/namespace/.*/bulk/items"


def games_of(epic, signals=None):
    return [item.game(i, (signals or {}).get(i)) for i, item in enumerate(epic.items.values(), 1)]


def test_is_available_grants_a_client_credentials_token(epic, fake_store):
    assert patchwatch_epic.is_available(settings=epic.settings()) is True
    assert epic.grants == ["client_credentials"]
    request = fake_store.requests[0]
    assert request.method == "POST" and request.path == "/account/api/oauth/token"
    form = parse_qs(request.body.decode())
    assert form == {"grant_type": ["client_credentials"], "token_type": ["eg1"]}
    scheme, _, value = request.headers["Authorization"].partition(" ")
    assert scheme.lower() == "basic"
    assert base64.b64decode(value).decode() == f"{epic.client_id}:{epic.client_secret}"


def test_the_token_is_reused_by_the_check(epic, check, fake_store):
    epic.add_game("Fig")
    assert patchwatch_epic.is_available(settings=epic.settings()) is True
    check(games_of(epic), epic.settings())
    check(games_of(epic), epic.settings())
    assert fake_store.count(TOKEN) == 1
    bearer = fake_store.requests[-1].headers["Authorization"]
    assert bearer.startswith("bearer eg1~")


def test_is_available_says_why_credentials_are_refused(epic):
    reason = patchwatch_epic.is_available(settings=epic.settings(client_secret="wrong"))
    assert isinstance(reason, str)
    assert "invalid_client_credentials" in reason and "HTTP 401" in reason


def test_is_available_is_quick_and_truthful_when_epic_is_unreachable():
    with FakeStoreServer() as closed:
        url = closed.url
    # Refused (as with no network or no route): raised as unreachable, so the core can tell
    # an offline user from a broken store and trip no breaker.
    with pytest.raises(core_http.Unreachable, match="connection failed"):
        patchwatch_epic.is_available(settings={"oauth_url": url, "legendary_user": ""})


def test_is_available_reports_bad_settings():
    reason = patchwatch_epic.is_available(settings={"catalog_url": "ftp://x"})
    assert isinstance(reason, str) and "catalog_url" in reason


def test_expired_client_token_is_granted_again_once(epic, check, fake_store):
    epic.add_game("Fig")
    check(games_of(epic), epic.settings())
    epic.expire_tokens()
    results = check(games_of(epic), epic.settings())
    assert isinstance(results[1], Signal)
    assert epic.grants == ["client_credentials", "client_credentials"]
    assert fake_store.count(CATALOG) == 3  # ok, 401, ok after the new grant


def test_token_refused_after_renewal_is_an_error(epic, fake_store):
    epic.add_game("Fig")
    refused = epic_error(401, "errors.com.epicgames.common.authentication.token_verification_failed",
                         "Sorry the auth token is invalid", 1014)
    fake_store.fail(CATALOG, refused, times=2)
    with pytest.raises(EpicError, match="token refused even after renewing it"):
        list(check_updates_bulk(games=games_of(epic), settings=epic.settings()))
    assert epic.grants == ["client_credentials", "client_credentials"]
    assert fake_store.count(CATALOG) == 2


def test_expired_user_token_is_refreshed_once_and_saved_back(epic, check, fake_store, tmp_path):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json")
    path.chmod(0o600)
    settings = epic.settings(legendary_user=str(path))
    check(games_of(epic), settings)
    old = json.loads(path.read_text())
    epic.expire_tokens()
    results = check(games_of(epic), settings)
    assert results[1].kind == "build_version"
    assert epic.grants == ["refresh_token"]
    new = json.loads(path.read_text())
    assert new["refresh_token"] != old["refresh_token"], "Epic rotates refresh tokens"
    assert new["access_token"] != old["access_token"]
    assert new["displayName"] == old["displayName"]
    assert path.stat().st_mode & 0o777 == 0o600, "permissions kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user.json", "user.json.lock"], \
        "no temp file left; the lock file stays, as legendary leaves it"


def test_expired_saved_login_is_refreshed_before_use(epic, check, fake_store, tmp_path):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    results = check(games_of(epic), epic.settings(legendary_user=str(path)))
    assert results[1].kind == "build_version"
    assert epic.grants == ["refresh_token"]
    assert fake_store.count(ASSETS) == 1, "no request wasted on a token known to be expired"


def test_write_back_off_never_refreshes_a_login_it_could_not_save(epic, check, tmp_path):
    """Refreshing without saving would consume legendary's single-use refresh token."""
    epic.add_game("Fig")
    epic.add_game("Sugar")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    before = path.read_text()
    settings = epic.settings(legendary_user=str(path), legendary_write_back="false")
    previous = {1: {"build_version": Signal("build_version", "1.0.0")}}
    results = check(games_of(epic, previous), settings)
    assert isinstance(results[1], Problem) and "legendary_write_back is off" in results[1].message
    assert results[2].kind == "last_modified"
    assert "refresh_token" not in epic.grants
    assert path.read_text() == before
    assert epic.refresh_token_valid(json.loads(before)["refresh_token"]), "legendary's login kept"


def test_write_back_off_still_uses_a_fresh_saved_token(epic, check, tmp_path):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json")
    settings = epic.settings(legendary_user=str(path), legendary_write_back="false")
    assert check(games_of(epic), settings)[1].kind == "build_version"
    assert epic.grants == []


def test_refused_refresh_asks_to_log_in_again(epic, check, tmp_path):
    epic.add_game("Fig")
    epic.add_game("Sugar")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    epic.revoke_refresh_tokens()
    previous = {1: {"build_version": Signal("build_version", "1.0.0")}}
    results = check(games_of(epic, previous), epic.settings(legendary_user=str(path)))
    assert isinstance(results[1], Problem)
    assert "invalid_refresh_token" in results[1].message
    assert "legendary auth" in results[1].message
    assert results[2].kind == "last_modified", "a game never tracked by build gets the weak signal"


def test_user_token_refused_after_refresh_is_a_per_game_error(epic, check, fake_store, tmp_path):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json")
    fake_store.fail(ASSETS, Response(401, json={"errorCode": "x"}), times=2)
    previous = {1: {"build_version": Signal("build_version", "1.0.0")}}
    result = check(games_of(epic, previous), epic.settings(legendary_user=str(path)))[1]
    assert isinstance(result, Problem) and "even after renewing" in result.message
    assert epic.grants == ["refresh_token"]


def test_client_token_cannot_read_launcher_assets(epic, fake_store):
    """The fake refuses the anonymous token where Epic wants a user (403, not 401)."""
    epic.add_game("Fig")
    token = epic._issue("client", None)["access_token"]
    response = requests.get(f"{fake_store.url}/launcher/api/public/assets/Windows",
                            params={"label": "Live"},
                            headers={"Authorization": f"bearer {token}"}, timeout=5)
    assert response.status_code == 403
    assert response.json()["errorCode"] == "errors.com.epicgames.common.missing_permission"


@pytest.mark.parametrize("content, expected", [
    ("{broken", "not valid JSON"),
    ('{"displayName": "x"}', "holds no token"),
])
def test_unusable_login_file_is_named(epic, check, tmp_path, content, expected):
    epic.add_game("Fig")
    path = tmp_path / "user.json"
    path.write_text(content)
    previous = {1: {"build_version": Signal("build_version", "1.0.0")}}
    result = check(games_of(epic, previous), epic.settings(legendary_user=str(path)))[1]
    assert isinstance(result, Problem) and expected in result.message
