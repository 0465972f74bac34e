"""The three public HTTP signals of a Steam app, best first, and how to read their answers.

- ``mirror``: a PICS-over-HTTP mirror (steamcmd.net ``GET /v1/info/{appid}``) gives every
  branch's ``buildid`` and ``timeupdated``: a real build signal of the tracked branch,
  kind ``buildid`` for ``public`` and ``buildid@<branch>`` for another, the same kind and
  value the ``steam_pics`` plugin reports, so switching between the two is seamless.
- ``news``: ``ISteamNews/GetNewsForApp/v2`` filtered to posts tagged as patch notes:
  kind ``patch_notes``, value the newest post's ``gid``. Weak (``is_build=False``): a
  post announces an update, it is not one.
- ``appdetails``: the store's ``/api/appdetails`` gives a digest of the store page's stable
  fields, kind ``store_page``. Weakest (``is_build=False``): a page edit is not a build.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from patchwatch import Problem, Signal

from .client import FetchError, Host, decode_json
from .settings import Settings


def signal_kind(branch: str) -> str:
    """``buildid`` for the public branch (as ever), ``buildid@<branch>`` for any other,
    as ``steam_pics`` names them: a change of tracked branch starts a new baseline."""
    return "buildid" if branch == "public" else f"buildid@{branch}"


@dataclass(frozen=True)
class Target:
    """One app to check: its id, the branch tracked for it and its last recorded build."""

    appid: str
    branch: str = "public"
    known_build: str | None = None
    """The last build the core recorded for this branch (None on first sight)."""


@dataclass(frozen=True)
class Unknown:
    """This source has nothing on the app: ask the next one."""

    reason: str
    hidden: bool = False
    """The source knows the app but shares no version of it."""


Answer = Signal | Problem | Unknown

STORE_PAGE_FIELDS = (
    "type", "name", "required_age", "controller_support", "dlc", "demos",
    "short_description", "detailed_description", "about_the_game", "supported_languages",
    "pc_requirements", "mac_requirements", "linux_requirements", "legal_notice",
    "developers", "publishers", "platforms", "categories", "genres", "release_date",
)
"""The appdetails fields the store-page digest covers: what the page says about the game.
Prices, packages, reviews, ratings and media (images, screenshots, movies) are left out:
they move with sales, reviews and the CDN, not with the game."""

_URL = re.compile(r"""https?://[^/\s"'<>]+(?P<path>/[^\s"'<>?#]*)(?:\?[^\s"'<>#]*)?(?:#[^\s"'<>]*)?""")


def stable(value: Any) -> Any:
    """``value`` with every URL cut down to its path: appdetails serves the same asset from
    rotating CDN hosts with a changing ``?t=`` (Revadike/SteamWebIntegration#78)."""
    if isinstance(value, str):
        return _URL.sub(lambda m: re.sub("/+", "/", m.group("path")), value)
    if isinstance(value, list):
        return [stable(item) for item in value]
    if isinstance(value, dict):
        return {key: stable(item) for key, item in value.items()}
    return value


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
    sees_builds = False
    """Whether this source reads builds (of any branch); the weaker ones see no branch."""

    def __init__(self, host: Host, settings: Settings):
        self.host = host
        self.settings = settings
        self.base = settings.base_url(self.name)

    def check(self, target: Target) -> Answer:  # pragma: no cover - interface
        raise NotImplementedError

    def probe_url(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class MirrorSource(Source):
    """steamcmd.net: ``{"status": "success", "data": {"<appid>": {<PICS appinfo>}}}``."""

    name = "mirror"
    sees_builds = True

    def probe_url(self) -> str:
        return f"{self.base}/v1/version"

    def check(self, target: Target) -> Answer:
        appid = target.appid
        response = self.host.get(f"{self.base}/v1/info/{appid}")
        if response.status_code == 404:
            # steamcmd/api's redis gateway answered an app missing from its cache with 404
            # (services/gateway/source/main.py); the live mirror answers 200 and {} instead.
            return self._empty(target)
        if response.status_code != 200:
            raise FetchError(f"mirror: HTTP {response.status_code}")
        body = decode_json(response, "mirror")
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise FetchError("mirror: malformed answer (no data object)")
        if body.get("status") != "success":
            raise FetchError(f"mirror: status {body.get('status')!r}")
        app = body["data"].get(appid)
        if not app:
            # steamcmd/api src/web.py answers an unknown app *and* a failed Steam request
            # with HTTP 200, status "success" and an empty object: the two look the same.
            return self._empty(target)
        if not isinstance(app, dict):
            raise FetchError("mirror: malformed app info")
        depots = app.get("depots")
        branches = depots.get("branches") if isinstance(depots, dict) else None
        if not isinstance(branches, dict) or not branches:
            why = "its depots need an access token" if app.get("_missing_token") else "no branches"
            return Unknown(f"the PICS mirror shows no build ({why})", hidden=True)
        found = branches.get(target.branch)
        buildid = found.get("buildid") if isinstance(found, dict) else None
        if buildid in (None, ""):
            if target.branch == "public":
                return Unknown("the PICS mirror has no public build", hidden=True)
            return Problem(f"mirror: Steam app {appid} has no branch {target.branch!r} with a build "
                           f"(branches: {', '.join(sorted(map(str, branches)))})")
        if not str(buildid).strip().isdigit():
            raise FetchError(f"mirror: malformed buildid {buildid!r}")
        detail: dict[str, Any] = {"source": "mirror", "branch": target.branch}
        if app.get("_change_number") is not None:
            detail["change_number"] = app["_change_number"]
        return Signal(
            kind=signal_kind(target.branch),
            value=str(int(str(buildid).strip())),  # as steam_pics reports it: same kind, same value
            published_at=iso_utc(found.get("timeupdated")),
            is_build=True,
            detail=detail,
        )

    def _empty(self, target: Target) -> Unknown:
        """An empty answer: unknown app or a failure behind the mirror, which cannot be told
        apart. For an app whose build is known it is a failure, never a reason to fall back."""
        if target.known_build is not None:
            raise FetchError(f"mirror: empty answer for app {target.appid}, whose last build was "
                             f"{target.known_build} (the mirror answers a failed Steam request "
                             "the same way as an unknown app)")
        return Unknown("the PICS mirror has nothing on this app (unknown to it, or its request to Steam failed)")


class NewsSource(Source):
    """GetNewsForApp v2: ``{"appnews": {"appid": N, "newsitems": [...], "count": N}}``."""

    name = "news"

    def __init__(self, host: Host, settings: Settings):
        super().__init__(host, settings)
        self.no_feed: dict[str, float] = {}
        """App id -> when Steam News last said (HTTP 403) that the app has no feed."""
        self._lock = threading.Lock()

    def probe_url(self) -> str:
        return f"{self.base}/ISteamWebAPIUtil/GetServerInfo/v1/"

    def check(self, target: Target) -> Answer:
        s = self.settings
        appid = target.appid
        with self._lock:
            since = self.no_feed.get(appid)
        if since is not None and time.time() - since < s.news_recheck_days * 86_400:
            return Unknown(f"Steam News has no feed for this app (HTTP 403 on {_day(since)})")
        params = {"appid": appid, "count": s.news_count, "maxlength": 1, "format": "json"}
        if s.news_feeds:
            params["feeds"] = s.news_feeds
        if s.news_tags:
            params["tags"] = s.news_tags
        response = self.host.get(f"{self.base}/ISteamNews/GetNewsForApp/v2/", params)
        if response.status_code == 403:
            # 403 with body {} is a lasting fact about an app that has no news feed, not
            # throttling (only 429 is): safwyls/winnow docs/spikes/update-signals.md, §3.
            # Remembered, so the app is not asked again for news_recheck_days.
            with self._lock:
                self.no_feed[appid] = time.time()
            return Unknown("Steam News has no feed for this app (HTTP 403)")
        if response.status_code == 404:
            return Unknown("Steam News does not know this app (HTTP 404)")
        if response.status_code != 200:
            raise FetchError(f"news: HTTP {response.status_code}")
        with self._lock:
            self.no_feed.pop(appid, None)
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

    def remembered(self, state: dict[str, Any]) -> None:
        """Load the apps without a news feed from the plugin's ``state``."""
        try:
            self.no_feed = {str(k): float(v) for k, v in dict(state.get("news_no_feed") or {}).items()}
        except (TypeError, ValueError):
            self.no_feed = {}

    def remember(self, state: dict[str, Any]) -> None:
        """Save the apps without a news feed into the plugin's ``state``."""
        oldest = time.time() - self.settings.news_recheck_days * 86_400
        with self._lock:  # older entries would be asked again anyway: keep the state small
            state["news_no_feed"] = {k: int(v) for k, v in sorted(self.no_feed.items()) if v >= oldest}


class AppDetailsSource(Source):
    """Store appdetails: ``{"<appid>": {"success": true, "data": {...}}}``."""

    name = "appdetails"

    def probe_url(self) -> str:
        return f"{self.base}/"

    def check(self, target: Target) -> Answer:
        appid = target.appid
        # An HTML 403 (the store blocking this IP) never gets here: Host.get takes the host out.
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
        page = {key: stable(data[key]) for key in STORE_PAGE_FIELDS if key in data}
        digest = hashlib.sha256(json.dumps(page, sort_keys=True, default=str).encode()).hexdigest()
        release = data.get("release_date")
        return Signal(
            kind="store_page",
            value=digest[:16],
            is_build=False,
            detail={"source": "appdetails", "name": data.get("name"),
                    "release_date": release.get("date") if isinstance(release, dict) else None},
        )


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


SOURCE_CLASSES: dict[str, type[Source]] = {
    "mirror": MirrorSource, "news": NewsSource, "appdetails": AppDetailsSource,
}
