"""Bad launcher files: one warning per file, the rest read, never a traceback."""

from __future__ import annotations

import builtins
import tracemalloc

import pytest
from click.testing import CliRunner

import patchwatch_launcher_steam as plugin
from patchwatch import LauncherGame, LauncherWarning
from patchwatch.cli import cli
from patchwatch.config import Config
from patchwatch.db import INSTALLED, open_db
from patchwatch.launchers import read_launchers, record_installed
from patchwatch.plugins import new_plugin_manager
from patchwatch_launcher_steam import manifests
from patchwatch_launcher_steam.testing import add_app, app_manifest, make_client

pytestmark = pytest.mark.timeout(120)


def read(root, **settings):
    items = list(plugin.read_launcher({"paths": [str(root)], **settings}, {}))
    return ({g.store_id: g for g in items if isinstance(g, LauncherGame)},
            {w.path: w.message for w in items if isinstance(w, LauncherWarning)})


@pytest.fixture
def root(tmp_path):
    root = make_client(tmp_path / "Steam")
    add_app(root, 570, "Dota 2", 1001)
    return root


def test_a_manifest_being_rewritten_is_one_warning_and_kept(root, tmp_path):
    text = app_manifest(440, "Team Fortress 2", 2001)
    path = root / "steamapps/appmanifest_440.acf"
    path.write_text(text)
    db = open_db(tmp_path / "db.sqlite")
    pm = new_plugin_manager({"launcher_steam": plugin})
    config = Config(plugins={"launcher_steam": {"paths": [str(root)]}}, env={})
    record_installed(db, read_launchers(pm, config))
    path.write_text(text[: len(text) // 2])  # Steam is half-way through writing it
    (report,) = read_launchers(pm, config)
    assert [g.store_id for g in report.games] == ["570"]
    (warning,) = report.warnings
    assert warning.path == str(path) and "Steam may be rewriting it" in warning.message
    record_installed(db, [report])
    assert db[INSTALLED].count == 2  # what it knew about 440 is kept
    path.write_text(text)  # written in full again: read at once (bad files are not cached)
    (report,) = read_launchers(pm, config)
    assert sorted(g.store_id for g in report.games) == ["440", "570"] and not report.warnings


@pytest.mark.parametrize("content", [
    b"", b"\x00\x01\x02binary\xff\xfe", b'"AppState" { "appid" }', b"}}}}",
    b'"Nope"\n{\n}\n', b'"AppState"\n{\n\t"appid"\t"abc"\n}\n',
    '"AppState"\n{\n\t"appid"\t"5"\n\t"name"\t"caf\xe9"\n'.encode("latin-1"),
])
def test_malformed_manifests_are_one_warning_each(root, content):
    (root / "steamapps/appmanifest_5.acf").write_bytes(content)
    games, warnings = read(root)
    assert list(games) == ["570"]
    assert list(warnings) == [str(root / "steamapps/appmanifest_5.acf")]


def test_permission_denied(root, monkeypatch):
    path = root / "steamapps/appmanifest_440.acf"
    path.write_text(app_manifest(440, "TF2", 1))
    real_open = builtins.open

    def guarded(file, *args, **kwargs):  # as root, chmod does not stop a read: refuse here
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(manifests, "open", guarded, raising=False)
    games, warnings = read(root)
    assert list(games) == ["570"] and warnings == {str(path): "permission denied"}


def test_symlink_loops_and_dangling_links(root, tmp_path):
    loop = root / "steamapps/appmanifest_1.acf"
    loop.symlink_to(loop)
    (root / "steamapps/appmanifest_2.acf").symlink_to(tmp_path / "gone.acf")
    a, b = tmp_path / "loopa", tmp_path / "loopb"
    a.symlink_to(b)
    b.symlink_to(a)
    (root / "steamapps/libraryfolders.vdf").write_text(
        f'"libraryfolders"\n{{\n\t"0"\n\t{{\n\t\t"path"\t"{root}"\n\t}}\n'
        f'\t"1"\n\t{{\n\t\t"path"\t"{a}"\n\t}}\n}}\n')
    games, warnings = read(root)
    assert list(games) == ["570"]
    assert sorted(warnings) == sorted([str(loop), str(root / "steamapps/appmanifest_2.acf"),
                                       str(a)])


def test_an_unmounted_library_folder_is_one_warning(root, tmp_path):
    make_client(root, [tmp_path / "media/sd"])
    add_app(tmp_path / "media/sd", 730, "CS2", 3)
    (tmp_path / "media/sd/steamapps/appmanifest_730.acf").unlink()
    (tmp_path / "media/sd/steamapps").rmdir()
    games, warnings = read(root)
    assert list(games) == ["570"]
    assert "unmounted" in warnings[str(tmp_path / "media/sd")]


def test_a_huge_manifest_is_skipped_without_reading_it_whole(root):
    path = root / "steamapps/appmanifest_9.acf"
    path.write_bytes(b'"AppState" { "name" "' + b"x" * (2 * 1024 * 1024) + b'" }')
    games, warnings = read(root)
    assert list(games) == ["570"] and "larger than 1024 KiB" in warnings[str(path)]


def test_a_malformed_libraryfolders_file_still_reads_the_main_library(root):
    (root / "steamapps/libraryfolders.vdf").write_text('"libraryfolders"\n{\n\t"0"\n\t{')
    games, warnings = read(root)
    assert list(games) == ["570"]
    assert list(warnings) == [str(root / "steamapps/libraryfolders.vdf")]


def test_ten_thousand_manifests_some_bad_in_bounded_time_and_memory(tmp_path):
    root = make_client(tmp_path / "Steam")
    steamapps = root / "steamapps"
    bad = set(range(0, 10_000, 97))
    for appid in range(10_000):
        text = app_manifest(appid + 100_000, f"Game {appid}", appid)
        (steamapps / f"appmanifest_{appid + 100_000}.acf").write_text(
            text[:40] if appid in bad else text)
    tracemalloc.start()
    games, warnings = read(root)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(games) == 10_000 - len(bad) and len(warnings) == len(bad)
    assert peak < 200 * 1024 * 1024


def test_the_import_command_lists_each_bad_file_and_goes_on(root, tmp_path):
    (root / "steamapps/appmanifest_5.acf").write_text('"AppState"\n{\n')
    config = tmp_path / "config.toml"
    config.write_text(f'[plugins.launcher_steam]\npaths = ["{root}"]\n')
    from patchwatch import plugins as plugins_module

    pm = new_plugin_manager({"launcher_steam": plugin})
    original = plugins_module._default
    plugins_module._default = pm
    try:
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "db"), "--config", str(config),
                                          "games", "import-launchers"])
    finally:
        plugins_module._default = original
    assert result.exit_code == 0, result.output
    assert "launcher_steam (Steam client): 1 installed; 1 file(s) skipped" in result.output
    assert f"warning: {root / 'steamapps/appmanifest_5.acf'}: incomplete or malformed" \
        in result.output
    assert "Traceback" not in result.output
