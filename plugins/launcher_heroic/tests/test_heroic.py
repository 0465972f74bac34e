"""The Heroic / legendary launcher plugin: Epic and GOG, both Heroic layouts, bad files."""

from __future__ import annotations

import builtins
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import patchwatch_launcher_heroic as plugin
from patchwatch import LauncherGame, LauncherNotFound, LauncherWarning
from patchwatch.config import Config
from patchwatch.db import open_db
from patchwatch.launchers import import_games, read_launchers
from patchwatch.library import add_game
from patchwatch.plugins import new_plugin_manager
from patchwatch_launcher_heroic import files
from patchwatch_launcher_heroic.testing import heroic_folder, legendary_folder

EPIC = [
    {"app_name": "Fortnite", "title": "Fortnite", "version": "++Fortnite+Release-28.10-CL-1"},
    {"app_name": "Sugar", "title": "Rocket League", "version": None},        # owned only
    {"app_name": "MacOnly", "title": "Mac Game", "version": "2.0", "platform": "Mac"},
    {"app_name": "Fortnite_DLC", "title": "A Skin", "version": "1", "dlc": True},
]
GOG_INSTALLED = [
    {"appName": "1207664663", "buildId": "56000000000007919", "version": "4.04"},
    {"appName": "1454587428", "buildId": "5000", "version": "1.1", "branch": "beta"},
    {"appName": "1097893768", "buildId": None, "version": "1.0.3 (gog-2)", "platform": "linux"},
]
GOG_OWNED = [{"app_name": "1207664663", "title": "The Witcher 3"},
             {"app_name": "1454587428", "title": "Cyberpunk 2077"},
             {"app_name": "2000000000", "title": "Owned Only"}]


def read(cache=None, **settings):
    items = list(plugin.read_launcher(settings, {} if cache is None else cache))
    return ({(g.store, g.store_id): g for g in items if isinstance(g, LauncherGame)},
            {w.path: w.message for w in items if isinstance(w, LauncherWarning)})


@pytest.fixture
def heroic(tmp_path):
    folder = heroic_folder(tmp_path / "heroic", GOG_INSTALLED, GOG_OWNED)
    legendary_folder(folder / "legendaryConfig/legendary", EPIC,
                     latest={"Fortnite": "++Fortnite+Release-28.20-CL-2"})
    return folder


def test_epic_games_from_heroics_legendary_copy(heroic):
    games, warnings = read(heroic_paths=[str(heroic)])
    assert warnings == {}
    fortnite = games[("epic", "Fortnite")]
    assert (fortnite.installed, fortnite.build, fortnite.kind, fortnite.update_pending) == (
        True, "++Fortnite+Release-28.10-CL-1", "build_version", True)  # assets.json is newer
    assert dict(fortnite.extra) == {"app_name": "Fortnite", "namespace": "ns-Fortnite",
                                    "catalog_item_id": "cat-Fortnite"}
    assert games[("epic", "Sugar")].installed is False
    assert games[("epic", "Sugar")].title == "Rocket League"
    assert games[("epic", "MacOnly")].kind is None  # not the platform the epic plugin follows
    assert ("epic", "Fortnite_DLC") not in games


def test_gog_games_with_builds_branches_and_linux_installers(heroic):
    games, _ = read(heroic_paths=[str(heroic)])
    witcher = games[("gog", "1207664663")]
    assert (witcher.title, witcher.build, witcher.kind, witcher.version, witcher.installed) == (
        "The Witcher 3", "56000000000007919", "build_id", "4.04", True)
    beta = games[("gog", "1454587428")]
    assert (beta.branch, beta.kind) == ("beta", "build_id:windows@beta")
    linux = games[("gog", "1097893768")]
    assert (linux.build, linux.kind) == ("1.0.3 (gog-2)", "installer_version:linux")
    assert games[("gog", "2000000000")].installed is False


def test_the_layout_before_heroic_2_7_0(tmp_path):
    folder = heroic_folder(tmp_path / "heroic", [], GOG_OWNED, old_layout=True)
    games, _ = read(heroic_paths=[str(folder)])
    assert games[("gog", "2000000000")].title == "Owned Only"


def test_default_folders_and_legendary_config_path(tmp_path):
    heroic, legendary = plugin.default_folders("linux", tmp_path, {})
    assert heroic == [tmp_path / ".config/heroic",
                      tmp_path / ".var/app/com.heroicgameslauncher.hgl/config/heroic"]
    assert tmp_path / ".config/legendary" in legendary
    assert tmp_path / ".config/heroic/legendaryConfig/legendary" in legendary
    _, legendary = plugin.default_folders("linux", tmp_path, {"LEGENDARY_CONFIG_PATH": "/lg"})
    assert legendary[0] == Path("/lg")
    heroic, _ = plugin.default_folders("win32", tmp_path, {"APPDATA": "C:/Users/u/AppData/Roaming"})
    assert heroic == [Path("C:/Users/u/AppData/Roaming/heroic")]
    heroic, _ = plugin.default_folders("darwin", tmp_path, {})
    assert heroic == [tmp_path / "Library/Application Support/heroic"]


def test_found_without_settings_flatpak_and_legendary_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    heroic_folder(tmp_path / ".var/app/com.heroicgameslauncher.hgl/config/heroic",
                  GOG_INSTALLED[:1], GOG_OWNED[:1])
    monkeypatch.setenv("LEGENDARY_CONFIG_PATH", str(tmp_path / "lg"))
    legendary_folder(tmp_path / "lg", EPIC[:1])
    games, _ = read()
    assert sorted(games) == [("epic", "Fortnite"), ("gog", "1207664663")]


def test_one_game_in_two_legendary_folders_is_listed_once_installed(tmp_path):
    legendary_folder(tmp_path / "a", [{**EPIC[0], "version": None}])
    legendary_folder(tmp_path / "b", EPIC[:1])
    items = [g for g in plugin.read_launcher({"legendary_paths": [str(tmp_path / "a"),
                                                                  str(tmp_path / "b")]}, {})]
    assert [(g.store_id, g.installed) for g in items] == [("Fortnite", True)]


def test_nothing_there_is_not_found(tmp_path):
    with pytest.raises(LauncherNotFound):
        read(heroic_paths=[str(tmp_path / "none")])


def test_credentials_are_never_opened(heroic, monkeypatch):
    (heroic / "gog_store/auth.json").write_text('{"secret": 1}')
    (heroic / "legendaryConfig/legendary/user.json").write_text('{"secret": 1}')
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(files, "open", lambda f, *a, **k: opened.append(str(f))
                        or real_open(f, *a, **k), raising=False)
    read(heroic_paths=[str(heroic)])
    assert opened and not any(p.endswith(("auth.json", "user.json")) for p in opened)


@pytest.mark.parametrize("name", ["gog_store/installed.json", "store_cache/gog_library.json",
                                  "legendaryConfig/legendary/installed.json",
                                  "legendaryConfig/legendary/assets.json",
                                  "legendaryConfig/legendary/metadata/Sugar.json"])
def test_a_truncated_json_file_is_one_warning_and_the_rest_is_read(heroic, name):
    path = heroic / name
    path.write_text(path.read_text()[:30])
    games, warnings = read(heroic_paths=[str(heroic)])
    assert list(warnings) == [str(path)] and "not valid JSON" in warnings[str(path)]
    assert len(games) >= 3


def test_an_unchanged_file_is_parsed_once(heroic, monkeypatch):
    cache: dict = {}
    read(cache, heroic_paths=[str(heroic)])
    monkeypatch.setattr(files.json, "loads", lambda *a: pytest.fail("parsed again"))
    games, _ = read(cache, heroic_paths=[str(heroic)])
    assert ("epic", "Fortnite") in games


def test_import_through_the_core_with_a_backlogia_heroic_gog_row(heroic, tmp_path):
    """Backlogia's Heroic GOG rows have store_id NULL and the id in extra_data.app_name."""
    db = open_db(tmp_path / "db.sqlite")
    add_game(db, "epic", "Fortnite", "Fortnite")
    db.execute("INSERT INTO games (name, store, store_id, extra_data) VALUES "
               "('The Witcher 3', 'gog', NULL, '{\"app_name\": \"1207664663\"}')")
    db.conn.commit()
    pm = new_plugin_manager({"launcher_heroic": plugin})
    config = Config(plugins={"launcher_heroic": {"heroic_paths": [str(heroic)]}}, env={})
    summary = import_games(db, read_launchers(pm, config))
    assert summary.already == 2
    assert sorted(g["store_id"] for g in summary.added) == [
        "1097893768", "1454587428", "2000000000", "MacOnly", "Sugar"]
    assert import_games(db, read_launchers(pm, config)).added == []


def test_the_entry_point_is_installed():
    (ep,) = [e for e in entry_points(group="patchwatch") if e.name == "launcher_heroic"]
    assert ep.load() is plugin


def test_while_installed_json_is_rewritten_nothing_looks_uninstalled(heroic, tmp_path):
    from patchwatch.db import INSTALLED
    from patchwatch.launchers import record_installed

    db = open_db(tmp_path / "db.sqlite")
    pm = new_plugin_manager({"launcher_heroic": plugin})
    config = Config(plugins={"launcher_heroic": {"heroic_paths": [str(heroic)]}}, env={})
    record_installed(db, read_launchers(pm, config))
    before = {(r["store_id"], r["installed"]) for r in db.query(f"SELECT * FROM {INSTALLED}")}
    for name in ("gog_store/installed.json", "legendaryConfig/legendary/installed.json"):
        (heroic / name).write_text('{"installed": [{"appN')
    (report,) = read_launchers(pm, config)
    assert len(report.warnings) == 2 and report.games == []
    record_installed(db, [report])
    after = {(r["store_id"], r["installed"]) for r in db.query(f"SELECT * FROM {INSTALLED}")}
    assert after == before and ("Fortnite", 1) in after
