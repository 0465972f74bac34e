"""update_links: the store page, and the patch-notes post within ±7 days of the build."""

from __future__ import annotations

from datetime import datetime, timezone

import patchwatch_steam_http as plugin
from patchwatch import Game, Signal

DAY = 86_400


def _signal(when: int) -> Signal:
    iso = datetime.fromtimestamp(when, timezone.utc).isoformat()
    return Signal("buildid", "123", published_at=iso)


def _game(appid: "int | str") -> Game:
    return Game(id=1, store="steam", store_id=str(appid))


def test_newest_patch_notes_near_the_build(steam):
    built = 1_800_000_000
    app = steam.catalogue.apps[10]
    app.news.clear()
    steam.catalogue.post_news(10, "Hotfix before", date=built - 3 * DAY)
    near = steam.catalogue.post_news(10, "Patch 2.0 notes", date=built + 1 * DAY)
    steam.catalogue.post_news(10, "Much later patch", date=built + 10 * DAY)
    steam.catalogue.post_news(10, "Sale!", patch_notes=False, date=built + 2 * DAY)
    links = plugin.update_links(game=_game(10), signal=_signal(built), settings=steam.settings())
    assert links.store_page == "https://store.steampowered.com/app/10/"
    assert links.patch_notes.endswith(f"/{near}") and links.notes == "Patch 2.0 notes"


def test_no_post_near_the_build_gives_the_store_page_only(steam):
    built = 1_800_000_000
    steam.catalogue.apps[20].news.clear()
    steam.catalogue.post_news(20, "Ancient patch", date=built - 30 * DAY)
    links = plugin.update_links(game=_game(20), signal=_signal(built), settings=steam.settings())
    assert links.store_page and links.patch_notes is None and links.notes is None


def test_news_switched_off_or_refused_asks_nothing_or_gives_up_quietly(steam):
    before = steam.server.count("/ISteamNews/.*")
    links = plugin.update_links(game=_game(10), signal=_signal(1_800_000_000),
                                settings=steam.settings(news=False))
    assert links.patch_notes is None and steam.server.count("/ISteamNews/.*") == before
    unknown = plugin.update_links(game=_game(999), signal=_signal(1_800_000_000),
                                  settings=steam.settings())  # 403 {} from Steam News
    assert unknown.store_page.endswith("/999/") and unknown.patch_notes is None
    assert plugin.update_links(game=_game("abc"), signal=_signal(0), settings=steam.settings()) is None
