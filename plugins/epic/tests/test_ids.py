"""Reading a game's Epic ids from a Backlogia library row."""

from __future__ import annotations

import json

from patchwatch import Game
from patchwatch_epic.ids import epic_ids


def game(row, store_id="Fig"):
    return Game(1, "epic", store_id, "Fig", row)


def test_backlogia_row_gives_app_name_namespace_and_catalog_item_id():
    row = {"store_id": "Fig", "extra_data": json.dumps(
        {"app_name": "Fig", "namespace": "ns1", "sku": "item1", "name": "Fig", "store": "epic"})}
    ids = epic_ids(game(row))
    assert (ids.app_name, ids.namespace, ids.catalog_item_id) == ("Fig", "ns1", "item1")
    assert ids.catalog_key == ("ns1", "item1") and ids.missing() == []


def test_store_id_is_the_app_name_when_extra_data_lacks_it():
    ids = epic_ids(game({"extra_data": json.dumps({"namespace": "ns1"})}, store_id="Sugar"))
    assert ids.app_name == "Sugar"
    assert ids.catalog_key is None and ids.missing() == ["catalog item id"]


def test_other_spellings_and_legendary_metadata_are_accepted():
    assert epic_ids(game({"extra_data": {"catalogItemId": "c", "namespace": "n"}})).catalog_key == ("n", "c")
    legendary = {"metadata": {"id": "c2", "namespace": "n2"}, "app_name": "Fig"}
    assert epic_ids(game({"extra_data": json.dumps(legendary)})).catalog_key == ("n2", "c2")


def test_bad_extra_data_is_noted_not_raised():
    assert epic_ids(game({"extra_data": "{oops"})).note == "extra_data is not valid JSON"
    assert "not an object" in epic_ids(game({"extra_data": "[1, 2]"})).note
    empty = epic_ids(game({}, store_id=""))
    assert (empty.app_name, empty.namespace, empty.catalog_item_id, empty.note) == (None, None, None, None)
