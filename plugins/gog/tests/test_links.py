"""update_links: the product card and the newest changelog entry, one product-API request."""

from __future__ import annotations

from patchwatch import Signal
from patchwatch_gog import update_links
from patchwatch_gog.changelog import newest_entry
from patchwatch_gog.testing import gog_game

CHANGELOG = (
    "<h4>Version 1.2 (26 November 2026)</h4><ul><li>Fixed a crash &amp; a freeze</li>"
    "<li>New difficulty</li></ul><h4>Version 1.1</h4><ul><li>Older things</li></ul>"
)


def test_product_card_and_newest_changelog_entry(gog):
    product = gog.catalogue.add_product(1207658930, "The Witcher 2")
    product.changelog = CHANGELOG
    links = update_links(game=gog_game(1207658930), signal=Signal("build_id", "9"),
                         settings=gog.settings)
    assert links.store_page == f"https://www.gog.com/en/game/{product.slug}"
    assert links.notes == "Version 1.2 (26 November 2026) Fixed a crash & a freeze New difficulty"
    assert links.patch_notes is None
    assert gog.server.count(gog.product_pattern(1207658930)) == 1


def test_no_changelog_still_gives_the_product_card(gog):
    gog.catalogue.add_product(1207658931, "No Notes")
    links = update_links(game=gog_game(1207658931), signal=Signal("build_id", "9"),
                         settings=gog.settings)
    assert links.store_page.endswith("/no_notes") and links.notes is None


def test_delisted_or_unreachable_gives_no_links(gog):
    assert update_links(game=gog_game(1207650000), signal=Signal("build_id", "9"),
                        settings=gog.settings) is None  # 404
    gog.catalogue.add_product(1207658932)
    gog.server.fail(gog.product_pattern(1207658932), 500, times=5)
    assert update_links(game=gog_game(1207658932), signal=Signal("build_id", "9"),
                        settings=gog.settings) is None


def test_excerpt_of_unstructured_or_long_changelogs():
    assert newest_entry(None) is None and newest_entry("  ") is None
    assert newest_entry("<p>Just text</p>") == "Just text"
    long = newest_entry("<p>" + "word " * 200 + "</p>")
    assert len(long) == 300 and long.endswith("…")
