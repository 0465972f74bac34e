"""Issue 13, Epic 6: legendary's own assets.json answers before the network does."""

from __future__ import annotations

import json
import os
import time

from patchwatch import Signal
from patchwatch_epic.settings import EpicSettings
from patchwatch_epic.local import local_assets

ASSETS = r"/launcher/api/public/assets/.*"


def games_of(epic, tracked=()):
    signals = {"build_version": Signal("build_version", "0")}
    return [item.game(i, signals if item.app_name in tracked else None)
            for i, item in enumerate(epic.items.values(), 1)]


def age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def arrange(epic, tmp_path):
    for name in ("Fig", "Sugar"):
        epic.add_game(name)
    folder = tmp_path / "legendary"
    user = epic.write_legendary_user(folder / "user.json")
    epic.write_legendary_assets(folder)
    return folder, epic.settings(legendary_user=str(user))


def test_a_fresh_assets_json_answers_without_any_request(epic, check, fake_store, tmp_path):
    folder, settings = arrange(epic, tmp_path)
    results = check(games_of(epic), settings)
    assert fake_store.requests == [], "no token, no assets call"
    for gid, item in enumerate(epic.items.values(), 1):
        assert (results[gid].kind, results[gid].value) == ("build_version", item.build_version)
        assert "assets.json" in results[gid].detail["source"]


def test_same_value_from_file_and_from_epic(epic, check, tmp_path):
    """Switching between the file and the network never looks like an update."""
    folder, settings = arrange(epic, tmp_path)
    local = check(games_of(epic), settings)
    remote = check(games_of(epic), dict(settings, local_max_age=0))
    assert "launcher assets" in remote[1].detail["source"]
    assert {g: r.value for g, r in local.items()} == {g: r.value for g, r in remote.items()}


def test_a_stale_assets_json_is_not_trusted(epic, check, fake_store, tmp_path):
    folder, settings = arrange(epic, tmp_path)
    new = epic.publish_build("Fig")
    age(folder / "assets.json", 7200)
    assert check(games_of(epic), settings)[1].value == new
    assert fake_store.count(ASSETS) == 1


def test_an_app_missing_from_assets_json_asks_epic(epic, check, fake_store, tmp_path):
    folder, settings = arrange(epic, tmp_path)
    epic.add_game("Salt")  # bought after legendary last listed the assets
    results = check(games_of(epic), settings)
    assert results[3].kind == "build_version"
    assert fake_store.count(ASSETS) == 1


def test_an_install_newer_than_assets_json_asks_epic(epic, check, fake_store, tmp_path):
    folder, settings = arrange(epic, tmp_path)
    age(folder / "assets.json", 60)
    new = epic.publish_build("Fig")
    epic.write_legendary_installed(folder, {"Fig": new})  # legendary installed the update
    results = check(games_of(epic), settings)
    assert results[1].value == new
    assert fake_store.count(ASSETS) == 1


def test_an_older_install_does_not_distrust_assets_json(epic, check, fake_store, tmp_path):
    folder, settings = arrange(epic, tmp_path)
    fig = epic.items["Fig"]
    epic.write_legendary_installed(folder, {"Fig": fig.build_version})
    age(folder / "installed.json", 60)
    check(games_of(epic), settings)
    assert fake_store.requests == []


def test_local_max_age_zero_always_asks_epic(epic, check, fake_store, tmp_path):
    folder, settings = arrange(epic, tmp_path)
    check(games_of(epic), dict(settings, local_max_age=0))
    assert fake_store.count(ASSETS) == 1


def test_a_broken_assets_json_falls_back_to_epic(epic, check, fake_store, tmp_path):
    folder, settings = arrange(epic, tmp_path)
    (folder / "assets.json").write_text('{"Windows": [')  # legendary mid-write
    assert check(games_of(epic), settings)[1].kind == "build_version"
    assert fake_store.count(ASSETS) == 1


def test_legendarys_older_list_format_is_read(epic, tmp_path):
    item = epic.add_game("Fig")
    folder = tmp_path / "legendary"
    folder.mkdir()
    (folder / "assets.json").write_text(json.dumps([item.legendary_asset()]))
    settings = EpicSettings.from_mapping(epic.settings(legendary_user=str(folder / "user.json")))
    assets, source = local_assets(settings)
    assert assets["Fig"]["buildVersion"] == item.build_version and "assets.json" in source
    mac = EpicSettings.from_mapping(epic.settings(legendary_user=str(folder / "user.json"),
                                                  platform="Mac"))
    assert local_assets(mac) is None, "the old list held Windows assets only"


def test_other_platforms_and_labels_are_not_read_from_the_file(epic, tmp_path):
    epic.add_game("Fig")
    folder = tmp_path / "legendary"
    epic.write_legendary_assets(folder, platform="Windows")
    user = str(folder / "user.json")
    assert local_assets(EpicSettings.from_mapping(epic.settings(legendary_user=user))) is not None
    for other in ({"platform": "Mac"}, {"label": "Beta"}):
        settings = EpicSettings.from_mapping(epic.settings(legendary_user=user, **other))
        assert local_assets(settings) is None
