"""A fake GOG for tests and benchmarks: a catalogue as data, served with the real APIs' shapes.

Two GOG APIs are played on one :class:`~patchwatch.testing.FakeStoreServer`:

* the content-system builds API, ``GET /products/{id}/os/{os}/builds?generation=2
  [&password=...]``, answering ``{"total_count", "count", "items": [{build_id,
  product_id, os, branch, version_name, tags, public, date_published, generation,
  link[, legacy_build_id]}], "has_private_branches"}`` with the newest build first.
  Only ``windows`` and ``osx`` have builds: ``os/linux`` answers 404. Builds on a
  private branch are listed only to a request with that branch's password;
* the product API, ``GET /products/{id}[?expand=downloads]``: the product's base fields
  (id, title, slug, links, content_system_compatibility, ...) and, when expanded, its
  offline installers (``downloads.installers[]`` with ``os`` ``windows``/``mac``/``linux``
  and a ``version``), or 404 for an unknown or delisted product.

Every modelled behaviour names its public source in a comment; what no source documents
is listed as an assumption in the plugin's README.

Tests change the catalogue while the server runs (publish a build, a private build, a
build on another or a private branch, a Linux installer, edit the store page, delist)
and fault-inject with the server's ``fail()``; :attr:`FakeGog.builds_pattern` and
:attr:`FakeGog.product_pattern` are path patterns for that. Use::

    with serve_gog() as gog:
        gog.catalogue.add_product(1207658930, "The Witcher 2")
        settings = gog.settings            # {"builds_url": ..., "api_url": ...}
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from patchwatch import Game
from patchwatch.testing import FakeStoreServer, Request, Response

BUILD_OSES = ("windows", "osx")
"""OSes the builds API knows (gogapidocs galaxy.rst: "os: windows, osx")."""
INSTALLER_OSES = ("windows", "mac", "linux")
"""``downloads.installers[].os`` values (leolobato/playden docs/GOG_PROTOCOL.md: "use mac, not osx")."""
OSES = ("windows", "osx", "linux")
"""OS names :meth:`GogCatalogue.add_product` takes (``osx`` becomes a ``mac`` installer)."""
FIRST_PRODUCT_ID = 1207658000
"""Product ids handed out by :meth:`GogCatalogue.add_product` when none is given."""


@dataclass
class FakeBuild:
    """One build as the builds API lists it."""

    build_id: str
    os: str
    version_name: str
    date_published: datetime
    branch: str | None = None
    public: bool = True
    generation: int = 2
    tags: list[str] = field(default_factory=list)
    legacy_build_id: int | None = None

    def item(self, product_id: int) -> dict[str, Any]:
        # Item fields and link shapes: gogapidocs galaxy.rst, builds example (gen 1 and gen 2).
        digest = hashlib.md5(f"{product_id}/{self.build_id}".encode()).hexdigest()
        if self.generation == 1:
            link = (f"https://cdn.gog.com/content-system/v1/manifests/{product_id}/{self.os}/"
                    f"{self.legacy_build_id}/repository.json")
        else:
            link = f"https://cdn.gog.com/content-system/v2/meta/{digest[:2]}/{digest[2:4]}/{digest}"
        item = {
            "build_id": self.build_id,
            "product_id": str(product_id),
            "os": self.os,
            "branch": self.branch,
            "version_name": self.version_name,
            "tags": list(self.tags),
            "public": self.public,
            "date_published": self.date_published.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "generation": self.generation,
            "link": link,
        }
        if self.legacy_build_id is not None:
            item["legacy_build_id"] = self.legacy_build_id
        return item


@dataclass
class FakeInstaller:
    """One offline installer as ``?expand=downloads`` lists it (gogapidocs galaxy.rst)."""

    os: str
    language: str
    version: str | None
    total_size: int = 104_857_600

    def item(self, product_id: int) -> dict[str, Any]:
        # Fields: gogapidocs galaxy.rst, /products/(id) example, downloads.installers[].
        names = {"en": "English", "de": "Deutsch", "fr": "français", "pl": "polski"}
        file_id = f"{self.language}{1 + INSTALLER_OSES.index(self.os)}installer0"
        return {
            "id": f"installer_{self.os}_{self.language}",
            "name": f"Fake installer ({self.os})",
            "os": self.os,
            "language": self.language,
            "language_full": names.get(self.language, self.language),
            "version": self.version,
            "total_size": self.total_size,
            "files": [{
                "id": file_id,
                "size": self.total_size,
                "downlink": f"https://api.gog.com/products/{product_id}/downlink/installer/{file_id}",
            }],
        }


@dataclass
class FakeProduct:
    """One GOG product: store-page fields, builds and offline installers."""

    id: int
    title: str
    slug: str
    builds: list[FakeBuild] = field(default_factory=list)
    installers: list[FakeInstaller] = field(default_factory=list)
    private_branches: dict[str, str] = field(default_factory=dict)
    """Private branch name -> its password."""
    listed: bool = True
    """False once delisted: the product API answers 404."""
    builds_listed: bool = True
    """False when the builds API no longer lists this product's builds."""
    release_date: str = "2015-05-12T09:21:36+0300"
    changelog: str | None = None
    """The ``changelog`` section: HTML, newest entry first (null when the product has none)."""

    def product_json(self, expand: frozenset[str] = frozenset()) -> dict[str, Any]:
        # Base fields and the `expand` sections: gogapidocs galaxy.rst, /products/(id).
        card = f"https://www.gog.com/en/game/{self.slug}"
        images = "//images-1.gog-statics.com/" + hashlib.sha256(self.slug.encode()).hexdigest()
        answer: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "purchase_link": f"https://www.gog.com/checkout/manual/{self.id}",
            "slug": self.slug,
            # Linux is never a content-system OS (Yepoleb/gogdb#9: "GOG does not have Linux builds").
            "content_system_compatibility": {os: any(b.os == os for b in self.builds) for os in OSES},
            "languages": {"en": "English"},
            "links": {
                "purchase_link": f"https://www.gog.com/checkout/manual/{self.id}",
                "product_card": card,
                "support": f"https://www.gog.com/support/{self.slug}",
                "forum": f"https://www.gog.com/forum/{self.slug}",
            },
            "in_development": {"active": False, "until": None},
            "is_secret": False,
            "is_installable": True,
            "game_type": "game",
            "is_pre_order": False,
            "release_date": self.release_date,
            "images": {
                "background": images + ".jpg",
                "logo": images + "_glx_logo.jpg",
                "logo2x": images + "_glx_logo_2x.jpg",
                "icon": images + ".png",
                "sidebarIcon": images + "_sbicon.png",
                "sidebarIcon2x": images + "_sbicon_2x.png",
            },
            "dlcs": [],
        }
        if "downloads" in expand:
            answer["downloads"] = {
                "installers": [i.item(self.id) for i in self.installers],
                "patches": [],
                "language_packs": [],
                "bonus_content": [],
            }
        if "changelog" in expand:
            answer["changelog"] = self.changelog
        return answer


class GogCatalogue:
    """GOG's products, builds and installers as data; safe to change while the fake serves it.

    A clock starting at ``start`` moves one hour per published build, so every new build
    is the newest unless a ``published`` date is given. ``list_limit`` caps how many
    builds one builds answer lists (``total_count`` still counts them all), as seen in
    the field: ``total_count`` 393 with ``count`` 10 (leolobato/playden
    docs/GOG_PROTOCOL.md), 88 with 6 (Yepoleb/gogdb#36); ``None`` lists every build.
    """

    def __init__(self, start: datetime = datetime(2024, 1, 1, tzinfo=timezone.utc), *,
                 list_limit: int | None = None) -> None:
        self.products: dict[int, FakeProduct] = {}
        self.list_limit = list_limit
        self._clock = start
        self._builds = 0
        self._lock = threading.RLock()

    # -- changing the catalogue ---------------------------------------------
    def add_product(
        self,
        product_id: int | None = None,
        title: str | None = None,
        *,
        oses: tuple[str, ...] = ("windows",),
        version: str = "1.0",
    ) -> FakeProduct:
        """Add a product with, per OS in ``oses``, a public build (none for ``linux``, which
        has no builds) and an English offline installer of ``version``."""
        with self._lock:
            if product_id is None:
                product_id = max(self.products, default=FIRST_PRODUCT_ID - 1) + 1
            title = title or f"Fake Game {product_id}"
            slug = "".join(c if c.isalnum() else "_" for c in title.lower()).strip("_")
            product = FakeProduct(id=product_id, title=title, slug=slug)
            self.products[product_id] = product
            for os in oses:
                if os not in OSES:
                    raise ValueError(f"unknown os {os!r}")
                if os in BUILD_OSES:
                    self.publish_build(product_id, os, version)
                self.publish_installer(product_id, "mac" if os == "osx" else os, version)
            return product

    def publish_build(
        self,
        product_id: int,
        os: str = "windows",
        version_name: str | None = None,
        *,
        branch: str | None = None,
        public: bool = True,
        generation: int = 2,
        published: datetime | None = None,
    ) -> FakeBuild:
        """Publish a build; ``public=False`` is a build GOG lists with ``public: false``."""
        if os not in BUILD_OSES:
            # gogapidocs galaxy.rst: "Possible values: windows, osx"; Sude-/lgogdownloader
            # downloader.cpp: "Galaxy API doesn't have Linux support".
            raise ValueError(f"GOG has no {os!r} builds (the builds API knows windows and osx)")
        with self._lock:
            product = self.products[product_id]
            self._builds += 1
            self._clock += timedelta(hours=1)
            if generation == 1:
                build_id, legacy = str(3000 + self._builds), 37794000 + self._builds
            else:
                build_id, legacy = str(56_000_000_000_000_000 + self._builds * 7919), None
            build = FakeBuild(
                build_id=build_id,
                os=os,
                version_name=version_name if version_name is not None else f"1.0.{self._builds}",
                date_published=published or self._clock,
                branch=branch,
                public=public,
                generation=generation,
                legacy_build_id=legacy,
            )
            product.builds.append(build)
            return build

    def add_private_branch(self, product_id: int, branch: str, password: str) -> None:
        """Make ``branch`` private: its builds are listed only with ``&password=<password>``
        (heroic-gogdl dl/managers/manager.py get_builds; Heroic library.ts getBuilds)."""
        with self._lock:
            self.products[product_id].private_branches[branch] = password

    def publish_installer(self, product_id: int, os: str = "linux", version: str | None = "1.0",
                          *, language: str = "en") -> FakeInstaller:
        """Replace the ``os``/``language`` offline installer with one of ``version`` (``None``
        as in gogapidocs' example); ``os`` is ``windows``, ``mac`` or ``linux``."""
        if os not in INSTALLER_OSES:
            raise ValueError(f"unknown installer os {os!r} (use windows, mac or linux)")
        with self._lock:
            product = self.products[product_id]
            installer = FakeInstaller(os=os, language=language, version=version)
            kept = [i for i in product.installers if (i.os, i.language) != (os, language)]
            product.installers = kept + [installer]
            return installer

    def edit_metadata(self, product_id: int, **fields: Any) -> FakeProduct:
        """Change store-page fields (``title``, ``slug``, ``release_date``): no new build."""
        with self._lock:
            product = self.products[product_id]
            for name, value in fields.items():
                if name not in ("title", "slug", "release_date"):
                    raise ValueError(f"not a store-page field: {name}")
                setattr(product, name, value)
            return product

    def delist(self, product_id: int, *, keep_builds: bool = False) -> None:
        """Take a product off the store (product API 404); ``keep_builds`` leaves its builds listed,
        as GOG does for products that owners can still download."""
        with self._lock:
            product = self.products[product_id]
            product.listed = False
            product.builds_listed = keep_builds

    # -- answers -------------------------------------------------------------
    def builds_answer(self, product_id: int, os: str, generation: int = 1,
                      password: str | None = None) -> dict[str, Any]:
        with self._lock:
            product = self.products.get(product_id)
            if product is None or not product.builds_listed:
                builds: list[FakeBuild] = []
                private: dict[str, str] = {}
            else:
                # generation=1 lists gen 1 only, generation=2 both (gogapidocs: "Max manifest
                # version"; playden GOG_PROTOCOL.md: "returns a mix of gen1 and gen2 items").
                builds = [b for b in product.builds if b.os == os and b.generation <= generation]
                private = dict(product.private_branches)
            # Newest first (playden GOG_PROTOCOL.md: "Items are ordered newest first").
            builds.sort(key=lambda b: b.date_published, reverse=True)
            # A private branch's builds need its password (gogdl manager.py: '&password=').
            listed = [b for b in builds
                      if b.branch not in private or (password is not None and private[b.branch] == password)]
            if self.list_limit is not None:
                listed = listed[: self.list_limit]
            items = [b.item(product_id) for b in listed]
        # total_count counts what is not listed too (playden: 393 vs 10; gogdb#36: 88 vs 6).
        return {"total_count": len(builds), "count": len(items), "items": items,
                "has_private_branches": bool(private)}

    def product_answer(self, product_id: int, expand: frozenset[str] = frozenset()) -> dict[str, Any] | None:
        with self._lock:
            product = self.products.get(product_id)
            return product.product_json(expand) if product is not None and product.listed else None


class FakeGog:
    """Routes for the builds and product APIs on ``server``, served from ``catalogue``."""

    def __init__(
        self,
        server: FakeStoreServer,
        catalogue: GogCatalogue | None = None,
        *,
        builds_prefix: str = "/content-system",
        api_prefix: str = "/api",
    ) -> None:
        self.server = server
        self.catalogue = catalogue or GogCatalogue()
        self.builds_prefix = builds_prefix
        self.api_prefix = api_prefix
        self.observer: Callable[[Request], None] | None = None
        """Called in the server thread before each routed answer (to record or slow requests)."""
        server.route("GET", rf"{builds_prefix}/products/(?P<id>\d+)/os/(?P<os>[^/]+)/builds", self._builds)
        server.route("GET", rf"{api_prefix}/products/(?P<id>\d+)", self._product)

    @property
    def settings(self) -> dict[str, str]:
        """The gog plugin settings that point it at this fake."""
        return {"builds_url": self.server.url + self.builds_prefix, "api_url": self.server.url + self.api_prefix}

    def builds_pattern(self, product_id: int | str = r"\d+", os: str = "[^/]+") -> str:
        """A path pattern for ``server.fail()`` / ``server.count()``: builds requests."""
        return rf"{self.builds_prefix}/products/{product_id}/os/{os}/builds"

    def product_pattern(self, product_id: int | str = r"\d+") -> str:
        """A path pattern for ``server.fail()`` / ``server.count()``: product API requests."""
        return rf"{self.api_prefix}/products/{product_id}"

    def _builds(self, request: Request) -> Response | dict:
        if self.observer is not None:
            self.observer(request)
        os = request.params["os"]
        if os not in BUILD_OSES:
            # os/linux answers 404 (Sude-/lgogdownloader#294, Nexus-Mods/NexusMods.App#3714);
            # other names are assumed to answer the same (no source found).
            return Response(404, json={"error": "not_found", "error_description": "Not Found"})
        try:
            generation = int(request.arg("generation") or 1)
        except ValueError:
            return Response(400, json={"error": "invalid_generation"})  # assumption: no source
        # No paging parameter is documented (playden GOG_PROTOCOL.md: "none of the four
        # clients pages this list"): page/limit/offset are ignored.
        return self.catalogue.builds_answer(int(request.params["id"]), os, generation,
                                            password=request.arg("password"))

    def _product(self, request: Request) -> Response | dict:
        if self.observer is not None:
            self.observer(request)
        # `expand`: a comma-separated list of extra sections (gogapidocs galaxy.rst), asked
        # without a login by Heroic's checkForLinuxInstallerUpdate (library.ts).
        expand = frozenset(s.strip() for s in (request.arg("expand") or "").split(",") if s.strip())
        answer = self.catalogue.product_answer(int(request.params["id"]), expand)
        if answer is None:
            return Response(404, json={"error": "not_found", "error_description": "Product not found"})
        return answer


@contextmanager
def serve_gog(catalogue: GogCatalogue | None = None, *, latency: float = 0.0) -> Iterator[FakeGog]:
    """A started fake GOG on loopback (stopped on exit)."""
    with FakeStoreServer(latency=latency) as server:
        yield FakeGog(server, catalogue)


def gog_game(product_id: int | str | None, game_id: int | None = None,
             signals: dict[str, Any] | None = None, *, row: dict[str, Any] | None = None) -> Game:
    """A library game for a GOG product (its row id defaults to the product id's last digits).

    ``row`` is the whole library row (a Heroic import keeps the id in ``extra_data``).
    """
    if game_id is None:
        game_id = int(product_id) % 1_000_000 if product_id is not None else 1
    return Game(
        id=game_id,
        store="gog",
        store_id=str(product_id) if product_id is not None else "",
        signals=signals or {},
        row=row or {},
    )
