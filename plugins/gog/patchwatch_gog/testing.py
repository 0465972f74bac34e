"""A fake GOG for tests and benchmarks: a catalogue as data, served with the real APIs' shapes.

Two GOG APIs are played on one :class:`~patchwatch.testing.FakeStoreServer`:

* the content-system builds API, ``GET /products/{id}/os/{os}/builds?generation=2``,
  answering ``{"total_count", "count", "items": [{build_id, product_id, os, branch,
  version_name, tags, public, date_published, generation, link[, legacy_build_id]}],
  "has_private_branches"}`` with the newest build first. ``generation=1`` (or no
  ``generation``) lists only first-generation builds; an unknown product gets an empty list;
* the product API, ``GET /products/{id}``: the product's base fields (id, title, slug,
  links, content_system_compatibility, ...), or 404 for an unknown or delisted product.

Tests change the catalogue while the server runs (publish a build, a private build, a
build on another branch, edit the store page, delist) and fault-inject with the server's
``fail()``; :attr:`FakeGog.builds_pattern` and :attr:`FakeGog.product_pattern` are path
patterns for that. Use::

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

OSES = ("windows", "osx", "linux")
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
class FakeProduct:
    """One GOG product: store-page fields and builds."""

    id: int
    title: str
    slug: str
    builds: list[FakeBuild] = field(default_factory=list)
    listed: bool = True
    """False once delisted: the product API answers 404."""
    builds_listed: bool = True
    """False when the builds API no longer lists this product's builds."""
    release_date: str = "2015-05-12T09:21:36+0300"

    def product_json(self) -> dict[str, Any]:
        card = f"https://www.gog.com/en/game/{self.slug}"
        images = "//images-1.gog-statics.com/" + hashlib.sha256(self.slug.encode()).hexdigest()
        return {
            "id": self.id,
            "title": self.title,
            "purchase_link": f"https://www.gog.com/checkout/manual/{self.id}",
            "slug": self.slug,
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


class GogCatalogue:
    """GOG's products and builds as data; safe to change while the fake serves it.

    A clock starting at ``start`` moves one hour per published build, so every new build
    is the newest unless a ``published`` date is given.
    """

    def __init__(self, start: datetime = datetime(2024, 1, 1, tzinfo=timezone.utc)) -> None:
        self.products: dict[int, FakeProduct] = {}
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
        """Add a product with one public build per OS in ``oses`` (none if ``oses`` is empty)."""
        with self._lock:
            if product_id is None:
                product_id = max(self.products, default=FIRST_PRODUCT_ID - 1) + 1
            title = title or f"Fake Game {product_id}"
            slug = "".join(c if c.isalnum() else "_" for c in title.lower()).strip("_")
            product = FakeProduct(id=product_id, title=title, slug=slug)
            self.products[product_id] = product
            for os in oses:
                self.publish_build(product_id, os, version)
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
        """Publish a build; ``public=False`` is a build GOG lists but does not release."""
        if os not in OSES:
            raise ValueError(f"unknown os {os!r}")
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
    def builds_answer(self, product_id: int, os: str, generation: int = 1) -> dict[str, Any]:
        with self._lock:
            product = self.products.get(product_id)
            builds = [] if product is None or not product.builds_listed else [
                b for b in product.builds if b.os == os and b.generation <= generation
            ]
            builds.sort(key=lambda b: b.date_published, reverse=True)
            items = [b.item(product_id) for b in builds]
        return {"total_count": len(items), "count": len(items), "items": items,
                "has_private_branches": False}

    def product_answer(self, product_id: int) -> dict[str, Any] | None:
        with self._lock:
            product = self.products.get(product_id)
            return product.product_json() if product is not None and product.listed else None


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
        if os not in OSES:
            return Response(400, json={"error": "invalid_os", "error_description": f"Unknown os: {os}"})
        try:
            generation = int(request.arg("generation") or 1)
        except ValueError:
            return Response(400, json={"error": "invalid_generation"})
        return self.catalogue.builds_answer(int(request.params["id"]), os, generation)

    def _product(self, request: Request) -> Response | dict:
        if self.observer is not None:
            self.observer(request)
        answer = self.catalogue.product_answer(int(request.params["id"]))
        if answer is None:
            return Response(404, json={"error": "not_found", "error_description": "Product not found"})
        return answer


@contextmanager
def serve_gog(catalogue: GogCatalogue | None = None, *, latency: float = 0.0) -> Iterator[FakeGog]:
    """A started fake GOG on loopback (stopped on exit)."""
    with FakeStoreServer(latency=latency) as server:
        yield FakeGog(server, catalogue)


def gog_game(product_id: int | str, game_id: int | None = None, signals: dict[str, Any] | None = None) -> Game:
    """A library game for a GOG product (its row id defaults to the product id's last digits)."""
    return Game(
        id=game_id if game_id is not None else int(product_id) % 1_000_000,
        store="gog",
        store_id=str(product_id),
        signals=signals or {},
    )
