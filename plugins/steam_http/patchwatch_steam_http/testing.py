"""A fake of Steam's public HTTP APIs, in their real response shapes, for tests and benchmarks.

Build a :class:`SteamCatalogue` (the data: apps, builds, news posts, store pages), then
:func:`serve_steam` registers the three APIs on a core :class:`FakeStoreServer`:

- PICS mirror (steamcmd.net): ``GET /v1/info/{appid}`` →
  ``{"data": {"<appid>": {"_change_number", "_missing_token", "_sha", "_size", "appid",
  "common", "config", "depots": {..., "branches": {"public": {"buildid", "timeupdated",
  "timebuildupdated"}, "beta": {...}}}, "extended"}}, "status": "success"}``; an unknown
  app, and a failed request behind the mirror (:meth:`SteamWebFake.fail_backend`), →
  HTTP 200 with ``{"data": {"<appid>": {}}, "status": "success"}``; ``GET /v1/version``.
  PICS values are strings (they come from Valve's KeyValues), as on the real mirror.
- Steam Web API: ``GET /ISteamNews/GetNewsForApp/v2/`` (``appid``, ``count``,
  ``maxlength``, ``feeds``, ``tags``) → ``{"appnews": {"appid", "newsitems": [...],
  "count"}}``; an app without a news feed (or unknown) → HTTP 403 with body ``{}``;
  ``GET /ISteamWebAPIUtil/GetServerInfo/v1/``.
- Store: ``GET /api/appdetails?appids=N`` → ``{"N": {"success": true, "data": {...}}}``
  whose image and movie URLs change host and ``?t=`` on every answer; delisted or
  unknown → ``{"N": {"success": false}}``; several ids without ``filters=price_overview``
  → ``null`` (as the store does); after :meth:`SteamWebFake.block_store` an HTML 403
  "Access Denied" page for every request (an IP block).

Tests mutate the catalogue between syncs: :meth:`SteamCatalogue.publish_build` (any
branch), :meth:`~SteamCatalogue.edit_metadata`, :meth:`~SteamCatalogue.post_news`,
:meth:`~SteamCatalogue.delist`, :meth:`~SteamCatalogue.remove`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from patchwatch.testing import FakeStoreServer, Request, Response

BASE_TIME = 1_700_000_000
ACCESS_DENIED_HTML = (
    # What Steam's Akamai edge sends an IP it blocks (SmItH197/SteamAuthentication#252).
    '<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \n'
    'You don\'t have permission to access "http&#58;&#47;&#47;store&#46;steampowered&#46;com&#47;api&#47;'
    'appdetails&#63;" on this server.<P>\nReference&#32;&#35;18&#46;5c3e1002&#46;1700000000&#46;1f2e3d4c\n'
    '</BODY>\n</HTML>\n'
)
CDN_HOSTS = ("shared.akamai.steamstatic.com", "shared.fastly.steamstatic.com",
             "shared.cloudflare.steamstatic.com")
"""The store serves the same assets from these hosts in turn (Revadike/SteamWebIntegration#78)."""


@dataclass
class NewsPost:
    gid: str
    title: str
    date: int
    feedname: str = "steam_community_announcements"
    tags: tuple[str, ...] = ()
    contents: str = ""


@dataclass
class Branch:
    """A branch other than public (``depots/branches/<name>``)."""

    buildid: int
    timeupdated: int
    description: str = ""
    pwdrequired: bool = False


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
    branches: dict[str, Branch] = field(default_factory=dict)
    """Branches other than public (the public one is ``buildid`` / ``timeupdated``)."""
    news_feed: bool = True
    """False for an app without a news feed (tools, some delisted apps): news answers 403."""


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
            missing_token: bool = False, news_feed: bool = True) -> SteamApp:
        """Add an app with a public build and ``patch_notes`` patch-notes posts."""
        with self._lock:
            app = SteamApp(
                appid=appid, name=name or f"Game {appid}",
                buildid=buildid if buildid is not None else 1_000_000 + appid,
                timeupdated=timeupdated if timeupdated is not None else BASE_TIME + appid % 86_400,
                change_number=self._next_change(), listed=listed,
                short_description=f"About game {appid}.", missing_token=missing_token,
                news_feed=news_feed,
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

    def publish_build(self, appid: int, buildid: int | None = None, when: int | None = None,
                      branch: str = "public") -> int:
        """A new build on ``branch`` (made if new): its buildid, timeupdated and the change number move."""
        with self._lock:
            app = self.apps[appid]
            if branch == "public":
                app.buildid = buildid if buildid is not None else app.buildid + 1
                app.timeupdated = when if when is not None else app.timeupdated + 86_400
                new = app.buildid
            else:
                old = app.branches.get(branch)
                new = buildid if buildid is not None else max([app.buildid, *(b.buildid for b in app.branches.values())]) + 1
                app.branches[branch] = Branch(new, when if when is not None else app.timeupdated + 3_600,
                                              description=old.description if old else f"{branch} branch")
            app.change_number = self._next_change()
            return new

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
        # Every branch with buildid, timeupdated and timebuildupdated, as the live mirror
        # shows them (safwyls/winnow docs/spikes/update-signals.md, §1: 620 lists beta,
        # demo_viewer and previous_release besides public).
        builds = {"public": Branch(app.buildid, app.timeupdated), **app.branches}
        branches: dict[str, Any] = {}
        manifests: dict[str, Any] = {}
        for name, branch in builds.items():
            entry = {"buildid": str(branch.buildid), "timebuildupdated": str(branch.timeupdated - 279),
                     "timeupdated": str(branch.timeupdated)}
            if branch.description:
                entry["description"] = branch.description
            if branch.pwdrequired:
                entry["pwdrequired"] = "1"
            branches[name] = entry
            gid = str(int(hashlib.sha1(f"{app.appid}:{branch.buildid}".encode()).hexdigest()[:15], 16))
            manifests[name] = {"gid": gid, "size": "1073741824", "download": "536870912"}
        info["depots"] = {
            depot: {"config": {"oslist": "windows"}, "maxsize": "1073741824", "manifests": manifests},
            "branches": branches,
        }
    # Real answers are 8.9-15.1 KB, ~12.1 KB on average (safwyls/winnow
    # docs/spikes/update-signals.md §4): fill ``ufs`` (one of the sections they carry) up to
    # a size drawn uniformly from that range, the same for an app every time.
    target = 8_900 + int(hashlib.sha1(str(app.appid).encode()).hexdigest()[:8], 16) % 6_200
    size = len(json.dumps(info))
    ufs: dict[str, Any] = {"quota": "1000000000", "maxnumfiles": "1000", "savefiles": {}}
    while size < target:
        n = len(ufs["savefiles"])
        entry = {"root": "WinAppDataLocal", "path": f"{app.name}/Saved/SaveGames/slot{n}", "pattern": "*.sav",
                 "platforms": {"1": "Windows"}, "recursive": "1"}
        ufs["savefiles"][str(n)] = entry
        size += len(json.dumps(entry)) + 8
    info["ufs"] = ufs
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


def store_data(app: SteamApp, serial: int = 0) -> dict[str, Any]:
    """The appdetails ``data`` of an app; ``serial`` (the answer's number) picks the CDN host
    and the ``?t=`` of every asset URL, which change between answers on the real store."""
    released = datetime.fromtimestamp(BASE_TIME, timezone.utc).strftime("%-d %b, %Y")
    cdn = f"https://{CDN_HOSTS[serial % len(CDN_HOSTS)]}/store_item_assets/steam/apps/{app.appid}"
    t = f"?t={BASE_TIME + 3_600 * serial}"
    extra = f'<p><img src="{cdn}/extras/banner.gif{t}"></p>'
    return {
        "type": "game", "name": app.name, "steam_appid": app.appid, "required_age": 0,
        "is_free": False, "detailed_description": app.short_description + extra,
        "about_the_game": app.short_description + extra, "short_description": app.short_description,
        "supported_languages": "English", "header_image": f"{cdn}/header.jpg{t}",
        "capsule_image": f"{cdn}/capsule_231x87.jpg{t}", "capsule_imagev5": f"{cdn}/capsule_184x69.jpg{t}",
        "background": f"https://store.akamai.steamstatic.com/images/storepagebackground/app/{app.appid}{t}",
        "screenshots": [{"id": 0, "path_thumbnail": f"{cdn}/ss_1.600x338.jpg{t}",
                         "path_full": f"{cdn}/ss_1.1920x1080.jpg{t}"}],
        "movies": [{"id": 256_000_000 + app.appid, "name": "Trailer", "thumbnail": f"{cdn}/movie.jpg{t}",
                    "highlight": True}],
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
        self.backend_failing: set[int] | None = set()
        """Apps whose request behind the mirror fails (None: every app)."""
        self.store_blocked_after: int | None = None
        """appdetails requests answered before the store blocks this IP (None: never)."""
        self.mirror_delay = 0.0
        """Seconds the mirror takes over each answer, counted as in flight (unlike ``latency``)."""
        self.in_flight: dict[str, int] = {"mirror": 0}
        self.peak_in_flight: dict[str, int] = {"mirror": 0}
        """Most mirror requests the fake was answering at once."""
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

    def fail_backend(self, *appids: int) -> None:
        """The mirror's own requests to Steam fail, for these apps (none given: every app)."""
        with self._lock:
            if not appids:
                self.backend_failing = None
            elif self.backend_failing is not None:
                self.backend_failing.update(appids)

    def restore_backend(self) -> None:
        with self._lock:
            self.backend_failing = set()

    def block_store(self, after: int = 0) -> None:
        """The store blocks this IP after ``after`` more appdetails requests."""
        with self._lock:
            self.store_blocked_after = len(self.times["appdetails"]) + after

    def _hit(self, api: str) -> int:
        """Record a request; returns how many of this API came before it."""
        with self._lock:
            self.times[api].append(time.monotonic())
            return len(self.times[api]) - 1

    def _mirror(self, request: Request) -> Response:
        self._hit("mirror")
        with self._lock:
            self.in_flight["mirror"] += 1
            self.peak_in_flight["mirror"] = max(self.peak_in_flight["mirror"], self.in_flight["mirror"])
        try:
            time.sleep(self.mirror_delay)
            return self._mirror_answer(request)
        finally:
            with self._lock:
                self.in_flight["mirror"] -= 1

    def _mirror_answer(self, request: Request) -> Response:
        appid = request.params["appid"]
        app = self.catalogue.get(appid)
        with self._lock:
            failing = self.backend_failing is None or (app is not None and app.appid in self.backend_failing)
        if app is None or failing:
            # An unknown app and a failed request to Steam both get HTTP 200 and an empty
            # object (steamcmd/api src/web.py; live: safwyls/winnow docs/spikes/update-signals.md §1).
            return Response(200, json={"data": {appid: {}}, "status": "success"})
        return Response(200, json={"data": {str(app.appid): pics_appinfo(app)}, "status": "success"})

    def _news(self, request: Request) -> Response:
        self._hit("news")
        app = self.catalogue.get(request.arg("appid"))
        if app is None or not app.news_feed:
            # An app without a news feed gets 403 with body {} (safwyls/winnow
            # docs/spikes/update-signals.md §3); that an unknown id gets the same is assumed.
            return Response(403, json={})
        feeds = {f for f in (request.arg("feeds") or "").split(",") if f}
        tags = {t for t in (request.arg("tags") or "").split(",") if t}
        posts = [p for p in app.news
                 if (not feeds or p.feedname in feeds) and (not tags or tags & set(p.tags))]
        count = int(request.arg("count") or 20)
        maxlength = int(request.arg("maxlength") or 0)
        items = [news_item(app, p, maxlength) for p in posts[:count]]
        return Response(200, json={"appnews": {"appid": app.appid, "newsitems": items, "count": len(posts)}})

    def _appdetails(self, request: Request) -> Response:
        serial = self._hit("appdetails")
        with self._lock:
            blocked = self.store_blocked_after is not None and serial >= self.store_blocked_after
        if blocked:
            # A blocked IP gets Akamai's HTML "Access Denied" with 403 for every request
            # (rafaelgomesxyz/esgst#650, Santodan/PlayniteAchievements#11).
            return Response(403, body=ACCESS_DENIED_HTML,
                            headers={"Content-Type": "text/html", "Server": "AkamaiGHost"})
        ids = [i for i in (request.arg("appids") or "").split(",") if i]
        if len(ids) != 1 and request.arg("filters") != "price_overview":
            return Response(200, body="null", headers={"Content-Type": "application/json"})
        answer: dict[str, Any] = {}
        for appid in ids:
            app = self.catalogue.get(appid)
            if app is None or not app.listed:
                answer[appid] = {"success": False}
            else:
                answer[appid] = {"success": True, "data": store_data(app, serial)}
        return Response(200, json=answer)


def serve_steam(server: FakeStoreServer, catalogue: SteamCatalogue | None = None) -> SteamWebFake:
    """Register the Steam APIs on a started ``server``; returns the fake (``.catalogue``, ``.settings()``)."""
    return SteamWebFake(server, catalogue)
