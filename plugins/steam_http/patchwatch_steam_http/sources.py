"""The three public HTTP signals of a Steam app, best first, and how to read their answers.

- ``mirror``: a PICS-over-HTTP mirror (steamcmd.net ``GET /v1/info/{appid}``) gives the
  public branch's ``buildid`` and ``timeupdated``: a real build signal (kind ``buildid``,
  the same kind and value the ``steam_pics`` plugin reports, so switching between the two
  is seamless).
- ``news``: ``ISteamNews/GetNewsForApp/v2`` filtered to posts tagged as patch notes:
  kind ``patch_notes``, value the newest post's ``gid``. Weak (``is_build=False``): a
  post announces an update, it is not one.
- ``appdetails``: the store's ``/api/appdetails`` gives a digest of the store page,
  kind ``store_page``. Weakest (``is_build=False``): a page edit is not a build.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from patchwatch import Problem, Signal

from .client import FetchError, Host, decode_json
from .settings import Settings


@dataclass(frozen=True)
class Unknown:
    """This source has nothing on the app: ask the next one."""

    reason: str
    hidden: bool = False
    """The source knows the app but shares no version of it."""


Answer = Signal | Problem | Unknown

STORE_PAGE_VOLATILE = frozenset({
    "price_overview", "package_groups", "packages", "recommendations", "metacritic",
    "achievements", "is_free", "ratings", "content_descriptors",
})
"""appdetails fields left out of the store-page digest: they move with sales and reviews,
not with the game."""


def iso_utc(timestamp: Any) -> str | None:
    """A Unix time (int or numeric string) as ISO 8601 UTC; None when absent or invalid."""
    try:
        seconds = int(str(timestamp).strip())
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


class Source:
    name: str

    def __init__(self, host: Host, settings: Settings):
        self.host = host
        self.settings = settings
        self.base = settings.base_url(self.name)

    def check(self, appid: str) -> Answer:  # pragma: no cover - interface
        raise NotImplementedError

    def probe_url(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class MirrorSource(Source):
    """steamcmd.net: ``{"status": "success", "data": {"<appid>": {<PICS appinfo>}}}``."""

    name = "mirror"

    def probe_url(self) -> str:
        return f"{self.base}/v1/version"

    def check(self, appid: str) -> Answer:
        response = self.host.get(f"{self.base}/v1/info/{appid}")
        if response.status_code == 404:
            return Unknown("the PICS mirror does not know this app")
        if response.status_code != 200:
            raise FetchError(f"mirror: HTTP {response.status_code}")
        body = decode_json(response, "mirror")
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise FetchError("mirror: malformed answer (no data object)")
        if body.get("status") != "success":
            raise FetchError(f"mirror: status {body.get('status')!r}")
        app = body["data"].get(appid)
        if not app:
            return Unknown("the PICS mirror does not know this app")
        if not isinstance(app, dict):
            raise FetchError("mirror: malformed app info")
        depots = app.get("depots")
        branches = depots.get("branches") if isinstance(depots, dict) else None
        public = branches.get("public") if isinstance(branches, dict) else None
        buildid = public.get("buildid") if isinstance(public, dict) else None
        if buildid in (None, ""):
            why = "its depots need an access token" if app.get("_missing_token") else "no public branch"
            return Unknown(f"the PICS mirror has no public build ({why})", hidden=True)
        if not str(buildid).strip().isdigit():
            raise FetchError(f"mirror: malformed buildid {buildid!r}")
        detail: dict[str, Any] = {"source": "mirror", "branch": "public"}
        if app.get("_change_number") is not None:
            detail["change_number"] = app["_change_number"]
        return Signal(
            kind="buildid",
            value=str(int(str(buildid).strip())),  # as steam_pics reports it: same kind, same value
            published_at=iso_utc(public.get("timeupdated")),
            is_build=True,
            detail=detail,
        )


class NewsSource(Source):
    """GetNewsForApp v2: ``{"appnews": {"appid": N, "newsitems": [...], "count": N}}``."""

    name = "news"

    def probe_url(self) -> str:
        return f"{self.base}/ISteamWebAPIUtil/GetServerInfo/v1/"

    def check(self, appid: str) -> Answer:
        s = self.settings
        params = {"appid": appid, "count": s.news_count, "maxlength": 1, "format": "json"}
        if s.news_feeds:
            params["feeds"] = s.news_feeds
        if s.news_tags:
            params["tags"] = s.news_tags
        response = self.host.get(f"{self.base}/ISteamNews/GetNewsForApp/v2/", params)
        if response.status_code in (403, 404):
            # The Web API refuses app ids it does not know rather than answering empty.
            return Unknown(f"Steam News does not know this app (HTTP {response.status_code})")
        if response.status_code != 200:
            raise FetchError(f"news: HTTP {response.status_code}")
        body = decode_json(response, "news")
        news = body.get("appnews") if isinstance(body, dict) else None
        items = news.get("newsitems") if isinstance(news, dict) else None
        if not isinstance(items, list):
            raise FetchError("news: malformed answer (no appnews.newsitems)")
        wanted_tags = {t.strip() for t in s.news_tags.split(",") if t.strip()}
        wanted_feeds = {f.strip() for f in s.news_feeds.split(",") if f.strip()}
        notes = [
            item for item in items
            if isinstance(item, dict) and item.get("gid")
            and (not wanted_tags or wanted_tags & set(item.get("tags") or ()))
            and (not wanted_feeds or item.get("feedname") in wanted_feeds)
        ]
        if not notes:
            return Signal(kind="patch_notes", value="none", is_build=False,
                          detail={"source": "news", "note": "no patch notes posted"})
        latest = max(notes, key=lambda item: (_int(item.get("date")), str(item["gid"])))
        return Signal(
            kind="patch_notes",
            value=str(latest["gid"]),
            published_at=iso_utc(latest.get("date")),
            is_build=False,
            detail={"source": "news", "title": latest.get("title"), "url": latest.get("url"),
                    "feed": latest.get("feedname")},
        )


class AppDetailsSource(Source):
    """Store appdetails: ``{"<appid>": {"success": true, "data": {...}}}``."""

    name = "appdetails"

    def probe_url(self) -> str:
        return f"{self.base}/"

    def check(self, appid: str) -> Answer:
        response = self.host.get(f"{self.base}/api/appdetails", {"appids": appid})
        if response.status_code != 200:
            raise FetchError(f"appdetails: HTTP {response.status_code}")
        body = decode_json(response, "appdetails")
        if body is None:
            raise FetchError("appdetails: empty answer (null)")
        entry = body.get(appid) if isinstance(body, dict) else None
        if not isinstance(entry, dict) or "success" not in entry:
            raise FetchError("appdetails: malformed answer (no entry for the app)")
        if entry["success"] is not True:
            return Unknown("the store has no page for this app (delisted or unknown)")
        data = entry.get("data")
        if not isinstance(data, dict) or not data:
            raise FetchError("appdetails: success without data")
        page = {k: v for k, v in data.items() if k not in STORE_PAGE_VOLATILE}
        digest = hashlib.sha256(json.dumps(page, sort_keys=True, default=str).encode()).hexdigest()
        release = data.get("release_date")
        return Signal(
            kind="store_page",
            value=digest[:16],
            is_build=False,
            detail={"source": "appdetails", "name": data.get("name"),
                    "release_date": release.get("date") if isinstance(release, dict) else None},
        )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


SOURCE_CLASSES: dict[str, type[Source]] = {
    "mirror": MirrorSource, "news": NewsSource, "appdetails": AppDetailsSource,
}
