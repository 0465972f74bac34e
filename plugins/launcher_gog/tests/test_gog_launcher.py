"""GOG Galaxy 2.0 and GOG install folders: fields, a locked or corrupt database, bad files."""

from __future__ import annotations

import sqlite3
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import patchwatch_launcher_gog as plugin
from patchwatch import LauncherGame, LauncherNotFound, LauncherWarning
from patchwatch_launcher_gog.testing import galaxy_db, game_folder


def read(**settings):
    items = list(plugin.read_launcher(settings, {}))
    return ({g.store_id: g for g in items if isinstance(g, LauncherGame)},
            {w.path: w.message for w in items if isinstance(w, LauncherWarning)})


@pytest.fixture
def galaxy(tmp_path):
    witcher = tmp_path / "Games/The Witcher 3"
    game_folder(witcher, "1207664663", "The Witcher 3", "56000000000007919")
    game_folder(witcher, "1640424747", "Blood and Wine", "1", root_id="1207664663")  # a DLC
    gone = tmp_path / "Games/Removed"  # Galaxy still lists it; the folder is gone
    no_info = tmp_path / "Games/No Info"
    no_info.mkdir(parents=True)
    db = galaxy_db(tmp_path / "storage/galaxy-2.0.db",
                   {"1207664663": witcher, "1111111111": gone, "1222222222": no_info},
                   {"1207664663": "The Witcher 3: Wild Hunt", "1333333333": "Owned Only",
                    "1222222222": "No Info Game"})
    return db


def test_galaxy_installed_owned_and_titles(galaxy):
    games, warnings = read(galaxy_db=[str(galaxy)])
    assert warnings == {}
    witcher = games["1207664663"]
    assert (witcher.store, witcher.title, witcher.build, witcher.kind, witcher.installed) == (
        "gog", "The Witcher 3", "56000000000007919", "build_id", True)
    assert "1640424747" not in games  # DLC file skipped
    assert games["1333333333"].installed is False and games["1333333333"].title == "Owned Only"
    no_info = games["1222222222"]
    assert no_info.installed and no_info.build is None and no_info.title == "No Info Game"
    assert games["1111111111"].build is None  # listed by Galaxy, nothing on disk


def test_install_folders_without_galaxy(tmp_path):
    game_folder(tmp_path / "GOG Games/Celeste", "1790434547", "Celeste", "5555")
    games, _ = read(install_paths=[str(tmp_path / "GOG Games")])
    assert games["1790434547"].build == "5555"
    games, _ = read(install_paths=[str(tmp_path / "GOG Games/Celeste")])  # one game's folder
    assert list(games) == ["1790434547"]


def test_a_database_locked_by_galaxy_is_read_as_a_snapshot_with_a_warning(galaxy):
    holder = sqlite3.connect(galaxy, timeout=0)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")  # Galaxy writing: readers are locked out
    try:
        games, warnings = read(galaxy_db=[str(galaxy)])
    finally:
        holder.rollback()
        holder.close()
    assert "locked by GOG Galaxy" in warnings[str(galaxy)]
    assert games["1207664663"].build == "56000000000007919"


def test_a_corrupt_database_is_one_warning_and_install_folders_still_read(tmp_path):
    bad = tmp_path / "galaxy-2.0.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\xff" * 2000)
    game_folder(tmp_path / "Games/Celeste", "1790434547", "Celeste", "5555")
    games, warnings = read(galaxy_db=[str(bad)], install_paths=[str(tmp_path / "Games")])
    assert list(games) == ["1790434547"] and list(warnings) == [str(bad)]


def test_the_database_is_never_written(galaxy):
    before = galaxy.read_bytes()
    read(galaxy_db=[str(galaxy)])
    assert galaxy.read_bytes() == before
    assert not Path(f"{galaxy}-journal").exists() and not Path(f"{galaxy}-wal").exists()


@pytest.mark.parametrize("content", [b"", b"{", b"[1, 2]", b"\xff\xfe garbage"])
def test_a_bad_info_file_is_one_warning(tmp_path, content):
    game_folder(tmp_path / "Games/A", "1", "A", "10")
    (tmp_path / "Games/B").mkdir()
    (tmp_path / "Games/B/goggame-2.info").write_bytes(content)
    games, warnings = read(install_paths=[str(tmp_path / "Games")])
    assert list(games) == ["1"] and list(warnings) == [str(tmp_path / "Games/B/goggame-2.info")]


def test_symlink_loops_and_missing_folders(tmp_path):
    game_folder(tmp_path / "Games/A", "1", "A", "10")
    loop = tmp_path / "Games/B/goggame-3.info"
    loop.parent.mkdir()
    loop.symlink_to(loop)
    (tmp_path / "Games/C").symlink_to(tmp_path / "Games/C")
    games, warnings = read(install_paths=[str(tmp_path / "Games"), str(tmp_path / "gone")])
    assert list(games) == ["1"]
    assert str(loop) in warnings and "not found" in warnings[str(tmp_path / "gone")]


def test_nothing_there_is_not_found(tmp_path):
    with pytest.raises(LauncherNotFound):
        read(galaxy_db=[str(tmp_path / "none.db")])


def test_default_databases_per_platform(tmp_path):
    assert plugin.default_databases("win32", tmp_path, {"PROGRAMDATA": "D:/PD"}) == [
        Path("D:/PD/GOG.com/Galaxy/storage/galaxy-2.0.db")]
    assert plugin.default_databases("darwin", tmp_path, {}) == [
        Path("/Users/Shared/GOG.com/Galaxy/Storage/galaxy-2.0.db"),
        tmp_path / "Library/Application Support/GOG.com/Galaxy/Storage/galaxy-2.0.db"]
    assert plugin.default_databases("linux", tmp_path, {}) == []


def test_the_entry_point_is_installed():
    (ep,) = [e for e in entry_points(group="patchwatch") if e.name == "launcher_gog"]
    assert ep.load() is plugin
