"""The gog plugin as installed and as the core runs it: entry point and sync_library end to end."""

from __future__ import annotations

import json
from importlib.metadata import entry_points

import sqlite_utils

import patchwatch_gog
from patchwatch.config import Config
from patchwatch.library import add_game
from patchwatch.plugins import backends, new_plugin_manager
from patchwatch.sync import sync_library


def test_entry_point_is_installed():
    (ep,) = [ep for ep in entry_points(group="patchwatch") if ep.name == "gog"]
    assert ep.value == "patchwatch_gog"
    assert ep.dist is not None and ep.dist.name == "patchwatch-gog"

    pm = new_plugin_manager(entry_points=True)
    assert "gog" not in pm.load_errors
    assert pm.get_plugin("gog") is patchwatch_gog
    (backend,) = [b for b in backends(pm, Config(env={})) if b.name == "gog"]
    assert (backend.store, backend.priority, backend.error) == ("gog", 50, None)


def test_sync_library_end_to_end(gog, tmp_path):
    db = tmp_path / "patchwatch.db"
    gog.catalogue.add_product(1207658930, "The Witcher 2", oses=("windows", "osx"), version="3.5")
    gog.catalogue.add_product(1207658931, "Gothic", version="1.30")
    witcher = add_game(db, "gog", "1207658930", "The Witcher 2")
    gothic = add_game(db, "gog", "1207658931", "Gothic")
    gone = add_game(db, "gog", "1999999999", "Delisted Game")
    pm = new_plugin_manager({"gog": patchwatch_gog})
    # Settings as the environment gives them: strings.
    env = {"PATCHWATCH_GOG_BUILDS_URL": gog.settings["builds_url"],
           "PATCHWATCH_GOG_API_URL": gog.settings["api_url"],
           "PATCHWATCH_GOG_CONCURRENCY": "2", "PATCHWATCH_GOG_OS": "windows"}
    config = Config(env=env, timeout=10, availability_timeout=5)

    first = sync_library(db, pm=pm, config=config)

    assert (first.baselines, first.updates) == (2, [])
    assert [(f.game_id, f.status) for f in first.failures] == [(gone, "not_found")]

    new = gog.catalogue.publish_build(1207658930, "windows", "3.6")
    gog.catalogue.publish_build(1207658930, "osx", "3.6-mac")       # not tracked
    gog.catalogue.publish_build(1207658931, "windows", "2.0", branch="beta")  # not tracked
    gog.catalogue.edit_metadata(1207658931, title="Gothic Classic")  # a page edit
    second = sync_library(db, pm=pm, config=config)

    assert [(u.game_id, u.new_value, u.version, u.is_build, u.plugin) for u in second.updated] == [
        (witcher, new.build_id, "3.6", True, "gog")
    ]
    assert second.unchanged == 1
    assert {p.name: p.answered for p in second.plugins} == {"gog": 3}
    assert gothic not in {u.game_id for u in second.updates}


def test_heroic_imported_linux_game_end_to_end(gog, tmp_path):
    # Backlogia keeps a GOG game imported through Heroic with no store_id and the product
    # id as extra_data's app_name; the core hands it over with that id.
    db = tmp_path / "patchwatch.db"
    gog.catalogue.add_product(1207658930, "The Witcher 2", oses=("windows", "linux"), version="3.5 (gog-1)")
    add_game(db, "gog", "1207658931", "placeholder")  # creates the library table
    heroic = sqlite_utils.Database(db)["games"].insert(
        {"name": "The Witcher 2", "store": "gog", "store_id": None,
         "extra_data": json.dumps({"app_name": "1207658930", "platform": "linux"})}).last_pk
    pm = new_plugin_manager({"gog": patchwatch_gog})
    config = Config(plugins={"gog": {**gog.settings, "os": "linux"}}, env={}, timeout=10,
                    availability_timeout=5)

    first = sync_library(db, pm=pm, config=config)
    gog.catalogue.publish_installer(1207658930, "linux", "3.6 (gog-2)")
    second = sync_library(db, pm=pm, config=config)

    assert first.baselines == 1
    assert [(u.game_id, u.kind, u.old_value, u.new_value, u.is_build) for u in second.updated] == [
        (heroic, "installer_version:linux", "3.5 (gog-1)", "3.6 (gog-2)", True)
    ]
