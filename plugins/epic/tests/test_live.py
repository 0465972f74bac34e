"""Opt-in checks that the real Epic still answers in the shapes the fake assumes.

    python3 -m uv run pytest -m live plugins/epic

Read-only and anonymous: the public launcher client's client-credentials token and the
catalog. They never read or refresh a user's login. Each skips when Epic is unreachable.
"""

from __future__ import annotations

import pytest
import requests
from patchwatch.testing.live import require_online
from patchwatch_epic.settings import EpicSettings

pytestmark = pytest.mark.live

SETTINGS = EpicSettings.from_mapping({"legendary_user": ""})
# Catalog items of namespace "wex" seen in captured launcher traffic
# (dippyshere/battle-breakers-documentation, Catalog Service .../wex/bulk/items.md).
NAMESPACE = "wex"
IDS = ["a1689ab49a0d41e1a0828505861d0bb9", "a53e821fbdc24181877243a8dbb63463"]
OPTIONS = {"includeDLCDetails": "false", "includeMainGameDetails": "false",
           "country": "US", "locale": "en-US"}


@pytest.fixture(scope="module")
def token(request: pytest.FixtureRequest) -> str:
    for url in (SETTINGS.oauth_url, SETTINGS.catalog_url):
        require_online(request.config, url)
    answer = requests.post(SETTINGS.url("oauth_url", "/account/api/oauth/token"),
                           data={"grant_type": "client_credentials", "token_type": "eg1"},
                           auth=(SETTINGS.client_id, SETTINGS.client_secret), timeout=20)
    assert answer.status_code == 200, answer.text[:300]
    body = answer.json()
    assert {"access_token", "expires_at", "expires_in", "client_id"} <= body.keys()
    return body["access_token"]


def _items_url() -> str:
    return SETTINGS.url("catalog_url", f"/catalog/api/shared/namespace/{NAMESPACE}/bulk/items")


def _check_item(item_id: str, item: dict) -> None:
    assert item["id"] == item_id and item["namespace"] == NAMESPACE
    assert isinstance(item["lastModifiedDate"], str) and item["lastModifiedDate"].endswith("Z")
    assert isinstance(item.get("releaseInfo", []), list)


def test_the_launchers_post_form_answers_every_id(token):
    answer = requests.post(_items_url(), params=OPTIONS, data=[("id", i) for i in IDS],
                           headers={"Authorization": f"bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    body = answer.json()
    assert isinstance(body, dict) and set(body) <= set(IDS) and body
    for item_id, item in body.items():
        _check_item(item_id, item)


def test_legendarys_one_id_get_answers_that_id(token):
    answer = requests.get(_items_url(), params={"id": IDS[0], **OPTIONS},
                          headers={"Authorization": f"bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    body = answer.json()
    assert list(body) == [IDS[0]]
    _check_item(IDS[0], body[IDS[0]])


def test_a_comma_joined_id_is_not_several_ids(token):
    """The fake reads ``id=a,b`` as one unknown id (``{}``); the plugin never sends it."""
    answer = requests.get(_items_url(), params={"id": ",".join(IDS), **OPTIONS},
                          headers={"Authorization": f"bearer {token}"}, timeout=30)
    assert answer.status_code in (200, 400), answer.text[:300]
    assert answer.status_code == 400 or answer.json() == {}


def test_errors_come_in_epics_envelope(token):
    answer = requests.get(_items_url(), params=OPTIONS,
                          headers={"Authorization": f"bearer {token}"}, timeout=30)
    assert answer.status_code >= 400
    body = answer.json()
    assert {"errorCode", "errorMessage", "messageVars", "numericErrorCode"} <= body.keys()
