"""Issue 13, Epic 2 and 3: the catalog's real request forms, and a namespace refused."""

from __future__ import annotations

from urllib.parse import parse_qs

import requests
from patchwatch import Problem, Signal
from patchwatch.testing import Response

CATALOG = r"/catalog/api/shared/namespace/.*/bulk/items"


def games_of(epic):
    return [item.game(i) for i, item in enumerate(epic.items.values(), 1)]


def catalog_requests(fake_store):
    return [r for r in fake_store.requests if "/bulk/items" in r.path]


def test_several_ids_go_as_the_launchers_form(epic, check, fake_store):
    for name in ("Fig", "Sugar", "Salt"):
        epic.add_game(name, namespace="shared-ns")
    results = check(games_of(epic), epic.settings())
    assert all(isinstance(r, Signal) for r in results.values()), results
    [request] = catalog_requests(fake_store)
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sorted(parse_qs(request.body.decode())["id"]) == sorted(
        item.catalog_item_id for item in epic.items.values())
    assert request.query == {"includeDLCDetails": ["false"], "includeMainGameDetails": ["false"],
                             "country": ["US"], "locale": ["en-US"]}


def test_one_id_goes_as_legendarys_get(epic, check, fake_store):
    item = epic.add_game("Fig")
    assert isinstance(check(games_of(epic), epic.settings())[1], Signal)
    [request] = catalog_requests(fake_store)
    assert request.method == "GET" and request.query["id"] == [item.catalog_item_id]


def test_the_fake_reads_a_comma_joined_id_as_one_unknown_id(epic, fake_store):
    a = epic.add_game("Fig", namespace="ns")
    b = epic.add_game("Sugar", namespace="ns")
    token = epic._issue("client", None)["access_token"]
    url = f"{fake_store.url}/catalog/api/shared/namespace/ns/bulk/items"
    headers = {"Authorization": f"bearer {token}"}
    joined = requests.get(url, params={"id": f"{a.catalog_item_id},{b.catalog_item_id}"},
                          headers=headers, timeout=5)
    assert joined.status_code == 200 and joined.json() == {}
    form = requests.post(url, data=[("id", a.catalog_item_id), ("id", b.catalog_item_id)],
                         headers=headers, timeout=5)
    assert set(form.json()) == {a.catalog_item_id, b.catalog_item_id}


def test_an_empty_answer_to_several_ids_is_asked_again_one_id_at_a_time(epic, check, fake_store):
    for name in ("Fig", "Sugar", "Salt"):
        epic.add_game(name, namespace="shared-ns")
    epic.delist("Salt")
    fake_store.fail(CATALOG, Response(200, json={}), method="POST", times=1)
    results = check(games_of(epic), epic.settings())
    assert isinstance(results[1], Signal) and isinstance(results[2], Signal)
    assert isinstance(results[3], Problem) and results[3].status == "not_found"
    methods = [r.method for r in catalog_requests(fake_store)]
    assert methods == ["POST", "GET", "GET", "GET"]


def test_a_partial_answer_is_not_asked_again(epic, check, fake_store):
    for name in ("Fig", "Sugar"):
        epic.add_game(name, namespace="shared-ns")
    epic.delist("Sugar")
    results = check(games_of(epic), epic.settings())
    assert isinstance(results[1], Signal) and results[2].status == "not_found"
    assert len(catalog_requests(fake_store)) == 1


def test_a_restricted_namespace_is_a_problem_for_its_games_only(epic, check, fake_store):
    epic.add_game("Fig", namespace="private-ns")
    epic.add_game("Pear", namespace="private-ns")
    for n in range(4):
        epic.add_game(f"Open{n}")
    epic.restrict("private-ns")
    results = check(games_of(epic), epic.settings(concurrency=2))
    assert len(results) == 6
    for gid in (1, 2):
        assert isinstance(results[gid], Problem) and results[gid].status == "error"
        assert "sandbox.access.control.missing_permission" in results[gid].message
        assert "private-ns" in results[gid].message
    assert all(isinstance(results[gid], Signal) for gid in range(3, 7))
