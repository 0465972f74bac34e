"""Links for a new GOG build (the core's ``update_links`` hook): the product card and the
newest entry of the product's changelog.

One request: ``{api_url}/products/{id}?expand=changelog`` (gogapidocs galaxy.rst). The
``changelog`` section is HTML or null; its layout is not documented, so the excerpt is the
text before the second heading (the newest entry when entries start with a heading, as
GOG's store pages show them), or the first few hundred characters.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any, Mapping

from patchwatch import Game, Links, Signal
from patchwatch.http import new_session

from .check import product_id_of
from .settings import GogSettings

EXCERPT = 300


def links_for(game: Game, signal: Signal, settings: Mapping[str, Any]) -> Links | None:
    product_id = product_id_of(game)
    if not product_id.isdigit():
        return None
    cfg = GogSettings.from_mapping(settings)
    try:
        with new_session("gog") as session:
            response = session.get(f"{cfg.api_url}/products/{product_id}",
                                   params={"expand": "changelog"}, timeout=cfg.timeout)
            body = response.json() if response.status_code == 200 else None
    except Exception:  # requests errors, a malformed body: no links rather than a late message
        return None
    if not isinstance(body, dict):
        return None
    links = body.get("links") if isinstance(body.get("links"), dict) else {}
    card = links.get("product_card")
    notes = newest_entry(body.get("changelog"))
    if not isinstance(card, str) and not notes:
        return None
    return Links(store_page=card if isinstance(card, str) else None, notes=notes)


def newest_entry(changelog: Any) -> str | None:
    """Plain text of the newest changelog entry (at most :data:`EXCERPT` characters)."""
    if not isinstance(changelog, str) or not changelog.strip():
        return None
    sections = [s for s in re.split(r"(?i)(?=<h[1-6][\s>])", changelog) if s.strip()]
    text = _Text.of(sections[0] if sections else changelog)
    if not text:
        return None
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"


class _Text(HTMLParser):
    """The text of an HTML fragment, one space between blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("br", "p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "div"):
            self.parts.append(" ")

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        parser.close()
        return " ".join("".join(parser.parts).split())
