"""Links for a new Steam build (the core's ``update_links`` hook): the store page and the
patch notes posted around the build.

The patch notes are the newest Steam News item tagged ``patchnotes`` within ±7 days of
the build's ``timeupdated``: a build can go live up to two days after its post, or before
it (safwyls/winnow docs/spikes/update-signals.md). One keyless request to
``ISteamNews/GetNewsForApp/v2`` with the plugin's ``news_url``, ``news_feeds`` and
``news_tags``; nothing is asked when ``news`` is switched off.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

import requests
from patchwatch import Game, Links, Signal
from patchwatch.http import new_session

from .settings import Settings

STORE_PAGE = "https://store.steampowered.com/app/{appid}/"
WINDOW = 7 * 86_400
"""Seconds around the build in which a patch-notes post counts as its notes."""


def links_for(game: Game, signal: Signal, settings: Mapping[str, Any]) -> Links | None:
    appid = str(game.store_id).strip()
    if not appid.isdigit():
        return None
    s = Settings.from_mapping(settings)
    store_page = STORE_PAGE.format(appid=appid)
    post = _patch_notes(s, appid, _epoch(signal.published_at)) if s.news else None
    if post is None:
        return Links(store_page=store_page)
    return Links(store_page=store_page, patch_notes=post.get("url") or None,
                 notes=str(post.get("title") or "") or None)


def _patch_notes(s: Settings, appid: str, built: float) -> dict[str, Any] | None:
    params: dict[str, Any] = {"appid": appid, "count": s.news_count, "maxlength": 1, "format": "json"}
    if s.news_feeds:
        params["feeds"] = s.news_feeds
    if s.news_tags:
        params["tags"] = s.news_tags
    try:
        with new_session("steam_http") as session:
            response = session.get(f"{s.base_url('news')}/ISteamNews/GetNewsForApp/v2/",
                                   params=params, timeout=s.timeout)
            body = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None  # no link is better than a late notification
    news = body.get("appnews") if isinstance(body, dict) else None
    items = news.get("newsitems") if isinstance(news, dict) else None
    wanted = {t.strip() for t in s.news_tags.split(",") if t.strip()}
    near = [item for item in items or () if isinstance(item, dict)
            and isinstance(item.get("date"), int) and abs(item["date"] - built) <= WINDOW
            and (not wanted or wanted & set(item.get("tags") or ()))]
    return max(near, key=lambda item: item["date"]) if near else None


def _epoch(published_at: str | None) -> float:
    """The build's publish time (now when unknown)."""
    if published_at:
        try:
            parsed = datetime.fromisoformat(published_at.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.timestamp()
        except ValueError:
            pass
    return datetime.now(timezone.utc).timestamp()
