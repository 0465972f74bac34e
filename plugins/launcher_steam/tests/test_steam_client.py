"""The Steam client launcher plugin on every layout, with the fields the client writes.

Trees are built by :mod:`patchwatch_launcher_steam.testing` in the client's documented format
(sources there and in :mod:`patchwatch_launcher_steam.manifests`).
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import patchwatch_launcher_steam as plugin
from patchwatch import LauncherGame, LauncherNotFound, LauncherWarning
from patchwatch.settings import SettingsError
from patchwatch_launcher_steam import manifests
from patchwatch_launcher_steam.keyvalues import KeyValuesError, loads
from patchwatch_launcher_steam.paths import default_roots
from patchwatch_launcher_steam.testing import add_app, make_client


def read(cache=None, **settings):
    items = list(plugin.read_launcher(settings, {} if cache is None else cache))
    games = {g.store_id: g for g in items if isinstance(g, LauncherGame)}
    return games, [w for w in items if isinstance(w, LauncherWarning)]


# -- KeyValues -----------------------------------------------------------------------

def test_keyvalues_reads_nesting_escapes_comments_conditions_and_bare_words():
    doc = loads('// a comment\n"LibraryFolders"\n{\n\t"1"\t"D:\\\\Steam \\"Lib\\""\n'
                '\t"TimeNextStatsReport" 123 [$WIN32]\n\tBare { "x" "y" }\n}\n')
    assert doc == {"libraryfolders": {"1": 'D:\\Steam "Lib"', "timenextstatsreport": "123",
                                      "bare": {"x": "y"}}}


@pytest.mark.parametrize("text, message", [
    ('"AppState"\n{\n\t"appid"\t"570"\n\t"name"\t"Do', "unterminated quoted string"),
    ('"AppState"\n{\n\t"appid"\t"570"\n', "open block"),
    ('"AppState"\n{\n\t"appid"\n}', "has no value"),
    ('"a" "b" }', "unmatched"),
    ('{ "a" "b" }', "without a key"),
    ('"k" {' * 100 + "}" * 100, "nested deeper"),
])
def test_keyvalues_refuses_truncated_and_malformed_text(text, message):
    with pytest.raises(KeyValuesError, match=message):
        loads(text)


# -- where the client is -------------------------------------------------------------

def test_default_roots_per_platform(tmp_path):
    linux = default_roots("linux", tmp_path, {})
    assert tmp_path / ".local/share/Steam" in linux and tmp_path / ".steam/steam" in linux
    assert tmp_path / ".var/app/com.valvesoftware.Steam/.local/share/Steam" in linux  # Flatpak
    assert tmp_path / "snap/steam/common/.local/share/Steam" in linux  # Snap
    assert default_roots("linux", tmp_path, {"XDG_DATA_HOME": "/data"})[0] == Path("/data/Steam")
    assert default_roots("darwin", tmp_path, {}) == [
        tmp_path / "Library/Application Support/Steam"]
    windows = default_roots("win32", tmp_path, {"ProgramFiles(x86)": "E:/Programs"},
                            registry=lambda: "c:/games/steam")
    assert windows == [Path("c:/games/steam"), Path("E:/Programs/Steam")]
    assert default_roots("win32", tmp_path, {}, registry=lambda: None)[0].name == "Steam"


@pytest.mark.parametrize("layout", [
    ".local/share/Steam",                                   # native
    ".var/app/com.valvesoftware.Steam/.local/share/Steam",  # Flatpak
    "snap/steam/common/.local/share/Steam",                 # Snap
])
def test_each_linux_layout_is_found_without_settings(tmp_path, monkeypatch, layout):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    root = make_client(tmp_path / layout)
    add_app(root, 570, "Dota 2", 1001)
    games, warnings = read()
    assert list(games) == ["570"] and warnings == []
    assert games["570"].install_path == str(root / "steamapps/common/Dota 2")


def test_the_steam_symlinks_do_not_list_games_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    root = make_client(tmp_path / ".local/share/Steam")
    (tmp_path / ".steam").mkdir()
    (tmp_path / ".steam/steam").symlink_to(root)
    (tmp_path / ".steam/root").symlink_to(root)
    add_app(root, 570, "Dota 2", 1001)
    items = list(plugin.read_launcher({}, {}))
    assert [g.store_id for g in items] == ["570"]


def test_a_steam_deck_sd_card_is_a_library_folder_of_its_own(tmp_path):
    root = tmp_path / "home/deck/.local/share/Steam"
    card = tmp_path / "run/media/deck/SD-card"  # wherever libraryfolders.vdf says
    make_client(root, [card])
    add_app(root, 570, "Dota 2", 1001)
    add_app(card, 1245620, "ELDEN RING", 2002)
    games, warnings = read(paths=[str(root)])
    assert sorted(games) == ["1245620", "570"] and warnings == []
    assert games["1245620"].source == str(card / "steamapps/appmanifest_1245620.acf")


@pytest.mark.parametrize("where", ["Library/Application Support/Steam",    # macOS
                                   "Program Files (x86)/Steam"])           # Windows
def test_macos_and_windows_folders_read_the_same_way(tmp_path, where):
    root = make_client(tmp_path / where)
    add_app(root, 400, "Portal", 5)
    games, _ = read(paths=[str(root)])
    assert games["400"].build == "5"


def test_an_old_style_libraryfolders_file_and_windows_paths(tmp_path):
    root = make_client(tmp_path / "Steam")
    other = tmp_path / "Other Lib"
    add_app(other, 220, "Half-Life 2", 7)
    (root / "steamapps/libraryfolders.vdf").write_text(
        '"LibraryFolders"\n{\n\t"TimeNextStatsReport"\t"1"\n\t"ContentStatsID"\t"-1"\n'
        f'\t"1"\t"{other}"\n\t"2"\t"D:\\\\SteamLibrary"\n}}\n')
    games, warnings = read(paths=[str(root)])
    assert list(games) == ["220"]
    assert [(w.path, "not found" in w.message) for w in warnings] == [("D:\\SteamLibrary", True)]


def test_no_client_is_a_one_line_not_found(tmp_path):
    with pytest.raises(LauncherNotFound, match="no Steam client folder in"):
        read(paths=[str(tmp_path / "nothing")])


def test_bad_settings_name_the_key():
    with pytest.raises(SettingsError, match="launcher_steam"):
        read(max_file_kb="lots")


# -- fields --------------------------------------------------------------------------

def test_fields_flags_pending_updates_branches_and_tools(tmp_path):
    root = make_client(tmp_path / "Steam")
    add_app(root, 570, "Dota 2", 1001)
    add_app(root, 440, "Team Fortress 2", 2001, flags=6, target=2002)   # update required
    add_app(root, 730, "Counter-Strike 2", 3001, target=3005)           # TargetBuildID ahead
    add_app(root, 10, "Counter-Strike", 4001, beta="beta")
    add_app(root, 20, "Team Fortress Classic", 0, flags=1026, target=9)  # first download
    add_app(root, 228980, "Steamworks Common Redistributables", 1)
    add_app(root, 2805730, "Proton 9.0", 1)
    games, warnings = read(paths=[str(root)])
    assert sorted(games) == ["10", "20", "440", "570", "730"] and warnings == []
    dota = games["570"]
    assert (dota.store, dota.title, dota.build, dota.kind, dota.branch, dota.installed,
            dota.update_pending) == ("steam", "Dota 2", "1001", "buildid", None, True, False)
    assert games["440"].update_pending and games["730"].update_pending
    assert (games["10"].branch, games["10"].kind) == ("beta", "buildid@beta")
    assert not games["20"].installed and games["20"].build is None
    with_tools, _ = read(paths=[str(root)], include_tools=True)
    assert {"228980", "2805730"} <= set(with_tools)


def test_an_unchanged_manifest_is_not_parsed_again(tmp_path, monkeypatch):
    root = make_client(tmp_path / "Steam")
    for appid in range(1, 6):
        add_app(root, appid, f"App {appid}", 100)
    parsed = []
    real = manifests.read_manifest
    monkeypatch.setattr(plugin, "read_manifest",
                        lambda path, *a: parsed.append(os.path.basename(path)) or real(path, *a))
    cache: dict = {}
    read(cache, paths=[str(root)])
    assert len(parsed) == 5
    parsed.clear()
    games, _ = read(cache, paths=[str(root)])
    assert parsed == [] and len(games) == 5
    path = add_app(root, 3, "App 3", 101)
    os.utime(path, ns=(1, 1))  # a new mtime, whatever the clock's resolution
    games, _ = read(cache, paths=[str(root)])
    assert parsed == ["appmanifest_3.acf"] and games["3"].build == "101"
    path.unlink()
    games, _ = read(cache, paths=[str(root)])
    assert "3" not in games and str(path) not in cache


def test_the_entry_point_is_installed():
    (ep,) = [e for e in entry_points(group="patchwatch") if e.name == "launcher_steam"]
    assert ep.load() is plugin


def test_a_bad_setting_is_one_line_in_the_import(tmp_path):
    from patchwatch.config import Config
    from patchwatch.launchers import read_launchers
    from patchwatch.plugins import new_plugin_manager

    pm = new_plugin_manager({"launcher_steam": plugin})
    config = Config(plugins={"launcher_steam": {"max_file_kb": 0, "paths": [str(tmp_path)]}},
                    env={})
    (report,) = read_launchers(pm, config)
    assert report.error == ("launcher_steam setting max_file_kb must be a whole number of KiB "
                            "from 1, got 0")
    config = Config(plugins={"launcher_steam": {"pathz": []}}, env={})
    (report,) = read_launchers(pm, config)
    assert report.error.startswith("unknown launcher_steam setting(s): pathz; known:")


def test_a_new_process_reads_an_unchanged_client_without_parsing(tmp_path, monkeypatch):
    from patchwatch import launchers
    from patchwatch.config import Config
    from patchwatch.db import LAUNCHER_CACHE, open_db
    from patchwatch.launchers import refresh_installed
    from patchwatch.plugins import new_plugin_manager

    root = make_client(tmp_path / "Steam")
    for appid in range(1, 4):
        add_app(root, appid, f"App {appid}", 100, beta="beta" if appid == 2 else None)
    db = open_db(tmp_path / "db.sqlite")
    pm = new_plugin_manager({"launcher_steam": plugin})
    config = Config(plugins={"launcher_steam": {"paths": [str(root)]}}, env={})
    monkeypatch.setattr(launchers, "_caches", {})
    first = refresh_installed(db, pm=pm, config=config)
    parsed = []
    real = manifests.read_manifest
    monkeypatch.setattr(plugin, "read_manifest",
                        lambda path, *a: parsed.append(os.path.basename(path)) or real(path, *a))
    monkeypatch.setattr(launchers, "_caches", {})  # a new process
    monkeypatch.setattr(plugin, "_parsed", {})
    again = refresh_installed(db, pm=pm, config=config)
    assert parsed == [] and again.changes.changed == 0
    assert again.reports[0].games == first.reports[0].games
    # A damaged saved cache is read again from the files, never trusted or fatal.
    import json

    saved = json.loads(db.execute(f"SELECT data FROM {LAUNCHER_CACHE}").fetchone()[0])
    path = str(root / "steamapps/appmanifest_1.acf")
    saved[path][1]["installed"] = "yes"  # a field of the wrong type
    saved[str(root / "steamapps/appmanifest_2.acf")] = [None, 5]
    saved["x"] = 3
    db.execute(f"UPDATE {LAUNCHER_CACHE} SET data = ?", [json.dumps(saved)])
    db.conn.commit()
    monkeypatch.setattr(launchers, "_caches", {})
    monkeypatch.setattr(plugin, "_parsed", {})
    third = refresh_installed(db, pm=pm, config=config)
    assert sorted(parsed) == ["appmanifest_1.acf", "appmanifest_2.acf"]
    assert third.reports[0].games == first.reports[0].games
