"""End to end: a Backlogia-shaped library synced through the core with the epic plugin."""

from __future__ import annotations

import patchwatch_epic
import pytest
from patchwatch.config import Config
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing.backlogia import create_backlogia_db


@pytest.fixture
def library(epic, tmp_path):
    """A Backlogia database with three Epic games, rows written the way Backlogia writes them."""
    for name in ("Fig", "Sugar", "Salt"):
        epic.add_game(name)
    rows = []
    for item in epic.items.values():
        row = item.backlogia_row()
        rows.append({"name": row["name"], "store": row["store"], "store_id": row["store_id"],
                     "last_modified": item.last_modified, "extra_data": row["extra_data"]})
    return create_backlogia_db(tmp_path / "backlogia.db", rows)


def sync(path, settings):
    pm = new_plugin_manager({"epic": patchwatch_epic})
    return sync_library(path, pm=pm, config=Config(plugins={"epic": settings}, env={}))


@pytest.mark.timeout(30)
def test_builds_through_sync_library(epic, library, tmp_path):
    settings = epic.settings(legendary_user=str(epic.write_legendary_user(tmp_path / "user.json")))
    first = sync(library, settings)
    assert (first.checked, first.baselines, first.updates, first.failures) == (3, 3, [], [])
    epic.publish_build("Sugar")
    epic.edit_metadata("Salt")
    second = sync(library, settings)
    assert [(u.store_id, u.kind, u.is_build, u.plugin) for u in second.updated] == [
        ("Sugar", "build_version", True, "epic")]
    assert len(second.updates) == 1, "a metadata-only edit is no update when the build is known"
    assert second.unchanged == 2


@pytest.mark.timeout(30)
def test_weak_signals_and_delisting_through_sync_library(epic, library):
    settings = epic.settings()
    assert sync(library, settings).baselines == 3
    epic.edit_metadata("Fig")
    epic.delist("Salt")
    summary = sync(library, settings)
    assert summary.updated == [], "a catalog edit is never reported as a new build"
    [weak] = summary.updates
    assert (weak.store_id, weak.kind, weak.is_build) == ("Fig", "last_modified", False)
    [gone] = summary.failures
    assert (gone.store_id, gone.status) == ("Salt", "not_found")
    assert "delisted" in gone.message
