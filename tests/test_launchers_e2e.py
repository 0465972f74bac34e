"""End to end: a Steam client tree → import → sync with the real Steam plugin (its fake CM)
→ out of date; the installed beta branch is tracked; watch sees a launcher update."""

from __future__ import annotations

import pytest

import patchwatch_launcher_steam
import patchwatch_steam_pics
from patchwatch.config import Config
from patchwatch.db import open_db
from patchwatch.launchers import import_games, outdated, read_launchers
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin
from patchwatch.watch import Watcher
from patchwatch_launcher_steam.testing import add_app, make_client
from patchwatch_steam_pics.session import close_sessions
from patchwatch_steam_pics.testing import FakeSteamCM

pytestmark = pytest.mark.timeout(60)
PUBLIC, BETA = 5001, 7001


@pytest.fixture
def cm():
    with FakeSteamCM() as cm, cm.patched_universe_key():
        cm.catalogue.add_app(10, buildid=PUBLIC)
        cm.catalogue.publish_build(10, branch="beta", buildid=BETA)
        cm.catalogue.add_app(20, buildid=PUBLIC + 1)
        try:
            yield cm
        finally:
            close_sessions()


def test_a_game_installed_on_beta_is_tracked_on_beta_and_compared_there(cm, tmp_path):
    root = make_client(tmp_path / "Steam")
    add_app(root, 10, "Beta Game", BETA - 1, beta="beta")  # one beta build behind
    add_app(root, 20, "Public Game", PUBLIC + 1)          # current
    config = Config(plugins={
        "launcher_steam": {"paths": [str(root)]},
        "steam_pics": {"cm_servers": cm.server, "connect_timeout": 1, "request_timeout": 2,
                       "retry_backoff": 0}}, env={}, timeout=10, availability_timeout=5)
    pm = new_plugin_manager({"launcher_steam": patchwatch_launcher_steam,
                             "steam_pics": patchwatch_steam_pics})
    db_path = tmp_path / "db.sqlite"
    db = open_db(db_path)
    summary = import_games(db, read_launchers(pm, config))
    assert len(summary.added) == 2
    sync = sync_library(db_path, pm=pm, config=config)
    assert not sync.failures and sync.baselines == 2
    kinds = {row[0] for row in db.execute("SELECT kind FROM patchwatch_signals")}
    assert kinds == {"buildid", "buildid@beta"}  # app 10 followed on the branch it is on
    report = outdated(db)
    (item,) = report.outdated
    assert (item.store_id, item.branch, item.installed_build, item.latest_build) == (
        "10", "beta", str(BETA - 1), str(BETA))
    assert report.current == 1
    # The user says app 10 is to be followed on public: their setting wins.
    mine = Config(stores={"steam": {"branches": {"10": "public"}}}, plugins=config.plugins,
                  env={}, timeout=10, availability_timeout=5)
    sync_library(db_path, pm=pm, config=mine)
    assert db.execute("SELECT value FROM patchwatch_signals WHERE kind = 'buildid' AND "
                      "game_id = ?", [item.game_id]).fetchone()[0] == str(PUBLIC)


def test_watch_rereads_the_launcher_so_an_updated_game_leaves_the_list(tmp_path):
    root = make_client(tmp_path / "Steam")
    add_app(root, 1, "Game", 100)
    config = Config(plugins={"launcher_steam": {"paths": [str(root)]}}, env={})
    store = ExamplePlugin("steam", catalogue={"1": 101})
    pm = new_plugin_manager({"launcher_steam": patchwatch_launcher_steam, "steam": store})
    db_path = tmp_path / "db.sqlite"
    db = open_db(db_path)
    import_games(db, read_launchers(pm, config))
    lines: list[str] = []
    Watcher(db_path, pm=pm, config=config, log=lines.append).run(once=True)
    assert [o.store_id for o in outdated(db).outdated] == ["1"]
    add_app(root, 1, "Game", 101)  # updated through Steam
    Watcher(db_path, pm=pm, config=config, log=lines.append).run(once=True)
    assert outdated(db).outdated == [] and outdated(db).current == 1
    assert "updated through a launcher: Game" in lines


def test_import_into_a_backlogia_library_adds_only_what_backlogia_lacks(tmp_path):
    """Backlogia already imported Steam, Epic (legendary) and Heroic GOG games; the launchers
    know one more of each. Only those three are added; re-running adds nothing."""
    import patchwatch_launcher_heroic
    from patchwatch.testing.backlogia import (create_backlogia_db, epic_row, gog_heroic_row,
                                              steam_row)
    from patchwatch_launcher_heroic.testing import heroic_folder, legendary_folder

    path = create_backlogia_db(tmp_path / "game_library.db", [
        steam_row(570, "Dota 2"), epic_row("Fortnite", "Fortnite", "fn", "cat"),
        gog_heroic_row("1207664663", "The Witcher 3")])
    root = make_client(tmp_path / "Steam")
    add_app(root, 570, "Dota 2", 1)
    add_app(root, 440, "Team Fortress 2", 2)
    heroic = heroic_folder(tmp_path / "heroic", [
        {"appName": "1207664663", "buildId": "5", "version": "4.0"},
        {"appName": "1454587428", "buildId": "6", "version": "1.0"}])
    legendary_folder(heroic / "legendaryConfig/legendary", [
        {"app_name": "Fortnite", "title": "Fortnite", "version": "1"},
        {"app_name": "Sugar", "title": "Rocket League", "version": None}])
    pm = new_plugin_manager({"launcher_steam": patchwatch_launcher_steam,
                             "launcher_heroic": patchwatch_launcher_heroic})
    config = Config(plugins={"launcher_steam": {"paths": [str(root)]},
                             "launcher_heroic": {"heroic_paths": [str(heroic)]}}, env={})
    db = open_db(path)
    summary = import_games(db, read_launchers(pm, config, db=db))
    assert sorted((g["store"], g["store_id"]) for g in summary.added) == [
        ("epic", "Sugar"), ("gog", "1454587428"), ("steam", "440")]
    assert summary.already == 3 and db["games"].count == 6
    names = dict(db.execute("SELECT store_id, name FROM games WHERE id > 3").fetchall())
    assert names == {"440": "Team Fortress 2", "1454587428": "gog:1454587428",
                     "Sugar": "Rocket League"}  # name is NOT NULL in Backlogia: a stand-in
    assert import_games(db, read_launchers(pm, config, db=db)).added == []
    linked = db.execute("SELECT count(*) FROM patchwatch_installed WHERE game_id IS NULL "
                        "AND installed = 1").fetchone()[0]
    assert linked == 0  # every installed game points at its Backlogia row
