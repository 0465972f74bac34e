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
