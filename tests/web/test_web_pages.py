"""The pages and their JSON twins, feeds with validators, and the app under a prefix."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

import pytest

from patchwatch.db import OUTBOX, open_db, write
from patchwatch.notify import enqueue_message
from patchwatch.state import record_failure


@pytest.fixture
def lib(library):
    lib = library()
    lib.sync()                        # baselines
    lib.steam.catalogue["2"] = 555    # a new build
    lib.epic.catalogue["e1"] = "2026-02-01"  # a weak change
    lib.sync()
    return lib


def test_recent_updates_lists_builds_first_and_labels_weak_changes(lib, kit):
    c = kit.client(lib.app())
    page = c.get("/")
    assert page.status_code == 200
    html = page.text
    assert "Steam game 2" in html and "Epic game 1" in html
    assert html.index("Steam game 2") < html.index("Epic game 1")  # builds first
    weak_part = html[html.index("Other changes"):]
    assert "Epic game 1" in weak_part and "not a confirmed build" in weak_part
    twin = c.get("/index.json").json()
    assert [u["store_id"] for u in twin["builds"]] == ["2"]
    assert [(u["store_id"], u["is_build"]) for u in twin["changes"]] == [("e1", False)]
    assert twin["builds"][0]["new_value"] == "555" and twin["builds"][0]["version"] == "v555"


def test_filter_by_store_and_period(lib, kit):
    lib.set_row(lib.update_id("2"), detected_at=(datetime.now(timezone.utc) - timedelta(days=40))
                .replace(microsecond=0).isoformat())
    c = kit.client(lib.app())
    recent = c.get("/index.json").json()
    everything = c.get("/index.json?period=all").json()
    assert len(recent["builds"]) + len(recent["changes"]) == 1
    assert len(everything["builds"]) + len(everything["changes"]) == 2
    only_epic = c.get("/index.json?period=all&store=epic").json()
    assert only_epic["builds"] == [] and [u["store"] for u in only_epic["changes"]] == ["epic"]
    assert only_epic["stores"] == ["epic", "steam"]
    assert 'value="epic" selected' in c.get("/?store=epic").text
    bad = c.get("/?period=forever")
    assert bad.status_code == 400 and "period must be one of" in bad.text
    assert c.get("/index.json?period=forever").json()["error"].startswith("period must be")


def test_filter_by_what_is_installed_and_out_of_date_here(lib, kit):
    """The launchers' last read (patchwatch_installed) narrows the list: game 2 is installed
    on the build before its update (out of date), game 3 installed and current."""
    from patchwatch.launchers import LauncherReport, record_installed
    from patchwatch.models import LauncherGame
    lib.steam.catalogue["3"] = 777
    lib.sync()
    games = [LauncherGame("steam", "2", build="102", kind="buildid", source="/s/2.acf"),
             LauncherGame("steam", "3", build="777", kind="buildid", source="/s/3.acf")]
    db = open_db(lib.path)
    record_installed(db, [LauncherReport("launcher_steam", "Steam", ("steam",), games,
                                         finished=True)])
    db.close()
    c = kit.client(lib.app())
    ids = lambda query: sorted(u["store_id"] for u in c.get(f"/index.json?{query}").json()["builds"])
    assert ids("") == ["2", "3"]
    assert ids("show=installed") == ["2", "3"]
    assert ids("show=outdated") == ["2"]
    assert 'value="outdated" selected' in c.get("/?show=outdated").text
    assert c.get("/?show=bogus").status_code == 400


def test_game_page_shows_history_versions_times_and_links(lib, kit):
    lib.set_row(lib.update_id("2"), store_url="https://store.example/app/2",
                notes_url="https://news.example/2", notes="Fixed the thing",
                published_at="2026-12-01T10:00:00+00:00")
    c = kit.client(lib.app())
    page = c.get("/games/steam/2")
    assert page.status_code == 200
    for text in ("Steam game 2", "v102", "v555", "555", "2026-12-01 10:00 UTC",
                 'href="https://store.example/app/2"', 'href="https://news.example/2"',
                 "Fixed the thing", "/games/steam/2/feed.atom"):
        assert text in page.text, text
    twin = c.get("/games/steam/2.json").json()
    assert twin["game"]["title"] == "Steam game 2"
    assert twin["signals"][0]["value"] == "555" and twin["check"]["status"] == "ok"
    assert [(u["old_value"], u["new_value"]) for u in twin["updates"]] == [("102", "555")]
    assert twin["store_url"] == "https://store.example/app/2"
    missing = c.get("/games/steam/999")
    assert missing.status_code == 404 and "no game steam:999" in missing.text
    assert c.get("/games/steam/999.json").status_code == 404


def test_health_shows_plugin_state_breaker_last_sync_and_failing_games(lib, kit):
    lib.steam.catalogue.pop("3")  # answered with a Problem: not_found
    lib.sync()
    db = open_db(lib.path)
    record_failure(db, "epic_fake", "catalog said 503", trip_after=1, cooldown=600)
    db.close()
    c = kit.client(lib.app())
    twin = c.get("/health.json").json()
    plugins = {p["name"]: p for p in twin["plugins"]}
    assert plugins["steam_fake"]["state"] == "ok"
    assert plugins["epic_fake"]["state"] == "off" and plugins["epic_fake"]["off_until"]
    assert plugins["epic_fake"]["last_error"] == "catalog said 503"
    stores = {s["store"]: s for s in twin["stores"]}
    assert stores["steam"]["games"] == 5 and stores["steam"]["failed"] == 1
    assert [(f["store_id"], f["status"]) for f in twin["failing"]] == [("3", "not_found")]
    assert twin["runs"][0]["status"] == "done"
    html = c.get("/health").text
    assert "off until" in html and "catalog said 503" in html and "unknown id 3" in html


def test_outbox_shows_statuses_and_never_a_notification_url(lib, kit):
    secret = "ntfys://ntfy.example/my-secret-topic-4242"
    other = "discord://webhook111/tokentokentoken"
    db = open_db(lib.path)
    ids = enqueue_message(db, [secret, other, secret], "patchwatch: 1 new build", "body")
    with write(db):
        db[OUTBOX].update(ids[0], {"status": "sent", "attempts": 1, "sent_at": "2026-12-07T10:00:00+00:00"})
        db[OUTBOX].update(ids[1], {"attempts": 2, "last_error":
                                   f"Failed to send to {other}: webhook111 said 401"})
    db.close()
    c = kit.client(lib.app())
    twin = c.get("/outbox.json")
    html = c.get("/outbox")
    assert twin.json()["counts"] == {"waiting": 1, "failed": 1, "delivered": 1, "dropped": 0}
    statuses = sorted(m["status_label"] for m in twin.json()["messages"])
    assert statuses == ["delivered", "failed, retrying", "waiting"]
    for body in (twin.text, html.text):
        for piece in ("my-secret-topic", "tokentokentoken", "webhook111", "ntfy.example/my"):
            assert piece not in body, piece
    assert "discord (#" in html.text and "ntfys (#" in html.text


def test_feeds_answer_304_from_etag_or_date_and_change_with_a_new_build(lib, kit):
    c = kit.client(lib.app())
    atom = c.get("/feed.atom")
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(atom.content)
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title")
              for e in root.iter("{http://www.w3.org/2005/Atom}entry")]
    assert titles == ["New build: Steam game 2 v555"]  # weak changes only with ?all=1
    assert len(c.get("/feed.json?all=1").json()["items"]) == 2
    etag, modified = atom.headers["etag"], atom.headers["last-modified"]
    again = c.get("/feed.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert c.get("/feed.atom", headers={"If-Modified-Since": modified}).status_code == 304
    assert c.get("/feed.atom", headers={"If-None-Match": '"other"'}).status_code == 200
    game_feed = c.get("/games/steam/2/feed.json")
    assert [i["_patchwatch"]["new_value"] for i in game_feed.json()["items"]] == ["555"]
    assert c.get("/games/steam/2/feed.json",
                 headers={"If-None-Match": game_feed.headers["etag"]}).status_code == 304
    # links added to an update later change the feed, so its validator changes too
    lib.set_row(lib.update_id("2"), notes_url="https://news.example/2")
    assert c.get("/feed.atom", headers={"If-None-Match": etag}).status_code == 200
    lib.steam.catalogue["1"] = 777
    lib.sync()
    fresh = c.get("/feed.atom", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and "Steam game 1 v777" in fresh.text


def test_works_under_a_prefix_when_mounted(lib, kit):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    inner = lib.app()
    host = Starlette(routes=[Route("/", lambda r: PlainTextResponse("host home")),
                             Mount("/updates", app=inner)])
    c = kit.client(host)
    assert c.get("/").text == "host home"
    page = c.get("/updates/")
    assert page.status_code == 200
    assert 'href="/updates/games/steam/2"' in page.text
    assert 'href="/updates/static/style.css"' in page.text and 'href="/updates/health"' in page.text
    assert c.get("/updates/static/style.css").status_code == 200
    assert c.get("/updates/games/steam/2.json").json()["game"]["store_id"] == "2"
    started = kit.post(c, inner, "/updates/check")
    assert started.status_code == 303 and started.headers["location"] == "/updates/check"
    assert inner.checks.join(20)
    assert c.get("/updates/check.json").json()["check"]["state"] == "done"


def test_pages_read_only_and_a_missing_or_broken_database_is_one_line(tmp_path, kit, library):
    lib = library()
    before = lib.path.read_bytes()
    c = kit.client(lib.app())
    for url in ("/", "/health", "/outbox", "/check", "/feed.atom", "/games/steam/1"):
        assert c.get(url).status_code == 200, url
    assert lib.path.read_bytes() == before  # nothing written, not even a baseline schema
    missing = kit.create_app(tmp_path / "nope.db", lib.config, pm=lib.pm)
    r = kit.client(missing).get("/")
    assert r.status_code == 503 and "database not found" in r.text and "Traceback" not in r.text
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not sqlite" * 100)
    r = kit.client(kit.create_app(broken, lib.config, pm=lib.pm)).get("/index.json")
    assert r.status_code == 503 and "not a valid SQLite database" in r.json()["error"]


def test_a_host_database_patchwatch_never_wrote_to_shows_empty_pages(tmp_path, kit, library):
    from patchwatch.testing.backlogia import create_backlogia_db

    path = create_backlogia_db(tmp_path / "game_library.db",
                               [{"name": "Dota 2", "store": "steam", "store_id": "570"}],
                               depot_updates=False)
    lib = library()
    app = kit.create_app(path, lib.config, pm=lib.pm)
    c = kit.client(app)
    for url in ("/", "/index.json", "/health", "/outbox", "/feed.atom", "/games/steam/570"):
        assert c.get(url).status_code == 200, url
    assert "No new build" in c.get("/").text
    assert c.get("/games/steam/570.json").json()["game"]["title"] == "Dota 2"
    tables = {r[0] for r in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}
    assert not any(t.startswith("patchwatch_") for t in tables)
