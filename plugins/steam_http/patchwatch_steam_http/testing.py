"""A fake of Steam's public HTTP APIs, in their real response shapes, for tests and benchmarks.

Build a :class:`SteamCatalogue` (the data: apps, builds, news posts, store pages), then
:func:`serve_steam` registers the three APIs on a core :class:`FakeStoreServer`:

- PICS mirror (steamcmd.net): ``GET /v1/info/{appid}`` →
  ``{"data": {"<appid>": {"_change_number", "_missing_token", "_sha", "_size", "appid",
  "common", "config", "depots": {..., "branches": {"public": {"buildid", "timeupdated"}}},
  "extended"}}, "status": "success"}``; an unknown app → HTTP 404 with
  ``{"data": {"<appid>": {}}, "status": "success"}``; ``GET /v1/version``.
  PICS values are strings (they come from Valve's KeyValues), as on the real mirror.
- Steam Web API: ``GET /ISteamNews/GetNewsForApp/v2/`` (``appid``, ``count``,
  ``maxlength``, ``feeds``, ``tags``) → ``{"appnews": {"appid", "newsitems": [...],
  "count"}}``; an unknown app → HTTP 403 with an HTML body;
  ``GET /ISteamWebAPIUtil/GetServerInfo/v1/``.
- Store: ``GET /api/appdetails?appids=N`` → ``{"N": {"success": true, "data": {...}}}``;
  delisted or unknown → ``{"N": {"success": false}}``; several ids without
  ``filters=price_overview`` → ``null`` (as the store does).

Tests mutate the catalogue between syncs: :meth:`SteamCatalogue.publish_build`,
:meth:`~SteamCatalogue.edit_metadata`, :meth:`~SteamCatalogue.post_news`,
:meth:`~SteamCatalogue.delist`, :meth:`~SteamCatalogue.remove`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from patchwatch.testing import FakeStoreServer, Request, Response

BASE_TIME = 1_700_000_000
FORBIDDEN_HTML = (
    "<html><head><title>Forbidden</title></head><body><h1>Forbidden</h1>"
    "Access is denied. Retrying will not help. Please verify your <pre>key=</pre> parameter."
    "</body></html>"
)


@dataclass
class NewsPost:
    gid: str
    title: str
    date: int
    feedname: str = "steam_community_announcements"
    tags: tuple[str, ...] = ()
    contents: str = ""


@dataclass
class SteamApp:
    """One app as the three APIs see it."""

    appid: int
    name: str
    buildid: int
    timeupdated: int
    change_number: int
    listed: bool = True
    """False once delisted: the store page is gone, PICS and news still answer."""
    short_description: str = ""
    price_cents: int = 1999
    news: list[NewsPost] = field(default_factory=list)
    missing_token: bool = False
    """True for an app whose depots PICS hides without an access token (no public branch)."""


class SteamCatalogue:
    """The fake's data; thread-safe mutations that bump change numbers like Steam does."""

    def __init__(self) -> None:
        self.apps: dict[int, SteamApp] = {}
        self._lock = threading.Lock()
        self._change = 20_000_000
        self._gid = 5_000_000_000_000_000_000

    def _next_change(self) -> int:
        self._change += 1
        return self._change

    def add(self, appid: int, name: str | None = None, *, buildid: int | None = None,
            timeupdated: int | None = None, patch_notes: int = 1, listed: bool = True,
            missing_token: bool = False) -> SteamApp:
        """Add an app with a public build and ``patch_notes`` patch-notes posts."""
        with self._lock:
            app = SteamApp(
                appid=appid, name=name or f"Game {appid}",
                buildid=buildid if buildid is not None else 1_000_000 + appid,
                timeupdated=timeupdated if timeupdated is not None else BASE_TIME + appid % 86_400,
                change_number=self._next_change(), listed=listed,
                short_description=f"About game {appid}.", missing_token=missing_token,
            )
            self.apps[appid] = app
        for n in range(patch_notes):
            self.post_news(appid, f"Patch 1.{n}", patch_notes=True, date=app.timeupdated - 3600 + n)
        return app

    def populate(self, count: int, first: int = 10) -> list[int]:
        """Add ``count`` apps with ids ``first``, ``first + 10``, ... (Steam ids step by 10)."""
        ids = [first + 10 * i for i in range(count)]
        for appid in ids:
            self.add(appid)
        return ids

    def publish_build(self, appid: int, buildid: int | None = None, when: int | None = None) -> int:
        """A new public build: buildid, timeupdated and the change number move."""
        with self._lock:
            app = self.apps[appid]
            app.buildid = buildid if buildid is not None else app.buildid + 1
            app.timeupdated = when if when is not None else app.timeupdated + 86_400
            app.change_number = self._next_change()
            return app.buildid

    def edit_metadata(self, appid: int, *, name: str | None = None,
                      short_description: str | None = None, price_cents: int | None = None) -> None:
        """A store or PICS metadata edit: the change number moves, the build does not."""
        with self._lock:
            app = self.apps[appid]
            app.name = name if name is not None else app.name
            if short_description is not None:
                app.short_description = short_description
            if price_cents is not None:
                app.price_cents = price_cents
            app.change_number = self._next_change()

    def post_news(self, appid: int, title: str, *, patch_notes: bool = True,
                  feedname: str = "steam_community_announcements", date: int | None = None) -> str:
        """A news post; ``patch_notes`` tags it ``patchnotes`` as Steam's update posts are."""
        with self._lock:
            app = self.apps[appid]
            self._gid += 1
            post = NewsPost(
                gid=str(self._gid), title=title,
                date=date if date is not None else max([p.date for p in app.news] + [app.timeupdated]) + 60,
                feedname=feedname, tags=("patchnotes",) if patch_notes else (),
                contents=f"{title}: fixes and improvements.",
            )
            app.news.insert(0, post)
            app.news.sort(key=lambda p: p.date, reverse=True)
            return post.gid

    def delist(self, appid: int) -> None:
        """The store page goes away; owners keep the game, so PICS and news still answer."""
        with self._lock:
            self.apps[appid].listed = False
            self.apps[appid].change_number = self._next_change()

    def remove(self, appid: int) -> None:
        """The app is unknown to every API (a wrong or purged id)."""
        with self._lock:
            self.apps.pop(appid, None)

    def get(self, appid: Any) -> SteamApp | None:
        try:
            return self.apps.get(int(appid))
        except (TypeError, ValueError):
            return None


# -- the answers ------------------------------------------------------------------------
def pics_appinfo(app: SteamApp) -> dict[str, Any]:
    """The PICS appinfo of an app, as the mirror serves it (strings, as KeyValues are)."""
    depot = str(app.appid + 1)
    info: dict[str, Any] = {
        "_change_number": app.change_number,
        "_missing_token": app.missing_token,
        "appid": str(app.appid),
        "common": {"name": app.name, "type": "Game", "oslist": "windows,linux",
                   "gameid": str(app.appid), "releasestate": "released"},
        "config": {"installdir": app.name, "launch": {"0": {"executable": "game.exe"}}},
        "extended": {"developer": "Fake Studio", "publisher": "Fake Publisher"},
    }
    if not app.missing_token:
        gid = str(int(hashlib.sha1(f"{app.appid}:{app.buildid}".encode()).hexdigest()[:15], 16))
        info["depots"] = {
            depot: {"config": {"oslist": "windows"}, "maxsize": "1073741824",
                    "manifests": {"public": {"gid": gid, "size": "1073741824", "download": "536870912"}}},
            "branches": {"public": {"buildid": str(app.buildid), "timeupdated": str(app.timeupdated)}},
        }
    raw = repr(sorted(info.items())).encode()
    info["_sha"] = hashlib.sha1(raw).hexdigest()
    info["_size"] = len(raw)
    return info


def news_item(app: SteamApp, post: NewsPost, maxlength: int) -> dict[str, Any]:
    contents = post.contents if maxlength <= 0 else post.contents[:maxlength]
    item: dict[str, Any] = {
        "gid": post.gid, "title": post.title,
        "url": f"https://steamstore-a.akamaihd.net/news/externalpost/{post.feedname}/{post.gid}",
        "is_external_url": True, "author": "Fake Studio", "contents": contents,
        "feedlabel": "Community Announcements", "date": post.date, "feedname": post.feedname,
        "feed_type": 1, "appid": app.appid,
    }
    if post.tags:
        item["tags"] = list(post.tags)
    return item


def store_data(app: SteamApp) -> dict[str, Any]:
    released = datetime.fromtimestamp(BASE_TIME, timezone.utc).strftime("%-d %b, %Y")
    return {
        "type": "game", "name": app.name, "steam_appid": app.appid, "required_age": 0,
        "is_free": False, "detailed_description": app.short_description,
        "about_the_game": app.short_description, "short_description": app.short_description,
        "supported_languages": "English", "header_image": f"https://cdn.example/{app.appid}.jpg",
        "developers": ["Fake Studio"], "publishers": ["Fake Publisher"],
        "price_overview": {"currency": "EUR", "initial": app.price_cents, "final": app.price_cents,
                           "discount_percent": 0, "initial_formatted": "",
                           "final_formatted": f"{app.price_cents / 100:.2f}€"},
        "packages": [app.appid * 3], "platforms": {"windows": True, "mac": False, "linux": True},
        "categories": [{"id": 2, "description": "Single-player"}],
        "release_date": {"coming_soon": False, "date": released},
    }


class SteamWebFake:
    """The three APIs on one :class:`FakeStoreServer`, backed by a catalogue."""

    def __init__(self, server: FakeStoreServer, catalogue: SteamCatalogue | None = None):
        self.server = server
        self.catalogue = catalogue or SteamCatalogue()
        self.times: dict[str, list[float]] = {"mirror": [], "news": [], "appdetails": []}
        """Monotonic arrival time of every request, per API (to check pacing)."""
        self._lock = threading.Lock()
        server.route("GET", r"/v1/info/(?P<appid>[^/]+)", self._mirror)
        server.route("GET", r"/v1/version", {"status": "success", "data": {
            "major": 1, "minor": 0, "patch": 0, "prerelease": None, "build": None}})
        server.route("GET", r"/ISteamNews/GetNewsForApp/(v2|v0002)/?", self._news)
        server.route("GET", r"/ISteamWebAPIUtil/GetServerInfo/v1/?", lambda r: {
            "servertime": int(time.time()),
            "servertimestring": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime())})
        server.route("GET", r"/api/appdetails/?", self._appdetails)
        server.route("GET", r"/", Response(200, body="<html><body>Steam Store</body></html>",
                                            headers={"Content-Type": "text/html"}))

    @property
    def url(self) -> str:
        return self.server.url

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """steam_http settings pointing every API at this fake, with test-speed pacing."""
        base = {
            "mirror_url": self.url, "news_url": self.url, "store_url": self.url,
            "mirror_interval": 0, "news_interval": 0, "appdetails_interval": 0,
            "timeout": 2.0, "backoff": 0.01, "probe_timeout": 1.0,
        }
        return {**base, **overrides}

    def _hit(self, api: str) -> None:
        with self._lock:
            self.times[api].append(time.monotonic())

    def _mirror(self, request: Request) -> Response:
        self._hit("mirror")
        appid = request.params["appid"]
        app = self.catalogue.get(appid)
        if app is None:
            return Response(404, json={"data": {appid: {}}, "status": "success"})
        return Response(200, json={"data": {str(app.appid): pics_appinfo(app)}, "status": "success"})

    def _news(self, request: Request) -> Response:
        self._hit("news")
        app = self.catalogue.get(request.arg("appid"))
        if app is None:
            return Response(403, body=FORBIDDEN_HTML, headers={"Content-Type": "text/html"})
        feeds = {f for f in (request.arg("feeds") or "").split(",") if f}
        tags = {t for t in (request.arg("tags") or "").split(",") if t}
        posts = [p for p in app.news
                 if (not feeds or p.feedname in feeds) and (not tags or tags & set(p.tags))]
        count = int(request.arg("count") or 20)
        maxlength = int(request.arg("maxlength") or 0)
        items = [news_item(app, p, maxlength) for p in posts[:count]]
        return Response(200, json={"appnews": {"appid": app.appid, "newsitems": items, "count": len(posts)}})

    def _appdetails(self, request: Request) -> Response:
        self._hit("appdetails")
        ids = [i for i in (request.arg("appids") or "").split(",") if i]
        if len(ids) != 1 and request.arg("filters") != "price_overview":
            return Response(200, body="null", headers={"Content-Type": "application/json"})
        answer: dict[str, Any] = {}
        for appid in ids:
            app = self.catalogue.get(appid)
            if app is None or not app.listed:
                answer[appid] = {"success": False}
            else:
                answer[appid] = {"success": True, "data": store_data(app)}
        return Response(200, json=answer)


def serve_steam(server: FakeStoreServer, catalogue: SteamCatalogue | None = None) -> SteamWebFake:
    """Register the Steam APIs on a started ``server``; returns the fake (``.catalogue``, ``.settings()``)."""
    return SteamWebFake(server, catalogue)
