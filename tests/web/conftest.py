"""Fixtures of the web tests: a library with updates, a client for the app, helpers."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (uv sync installs it)")

from starlette.testclient import TestClient  # noqa: E402

from patchwatch import hookimpl  # noqa: E402
from patchwatch.config import Config  # noqa: E402
from patchwatch.db import UPDATES, open_db, write  # noqa: E402
from patchwatch.library import add_game  # noqa: E402
from patchwatch.plugins import new_plugin_manager  # noqa: E402
from patchwatch.sync import sync_library  # noqa: E402
from patchwatch.testing import ExamplePlugin  # noqa: E402
from patchwatch.web.app import create_app  # noqa: E402

LOCAL = ("127.0.0.1", 50000)


class Library:
    """A database with Steam games (build ids) and Epic games (weak catalog dates)."""

    def __init__(self, path: Path, steam: int = 5, epic: int = 2,
                 titles: dict[str, str] | None = None) -> None:
        self.path = path
        titles = titles or {}
        db = open_db(path)
        for i in range(1, steam + 1):
            add_game(db, "steam", str(i), titles.get(f"steam:{i}", f"Steam game {i}"))
        for i in range(1, epic + 1):
            add_game(db, "epic", f"e{i}", titles.get(f"epic:e{i}", f"Epic game {i}"))
        db.close()
        self.steam = GatedPlugin("steam", catalogue={str(i): 100 + i for i in range(1, steam + 1)})
        self.epic = ExamplePlugin("epic", catalogue={f"e{i}": f"2026-01-0{i}" for i in range(1, epic + 1)},
                                  kind="last_modified", is_build=False)
        self.pm = new_plugin_manager({"steam_fake": self.steam, "epic_fake": self.epic})
        self.config = Config(env={}, timeout=5, availability_timeout=2)
        self.apps: list[Any] = []

    def sync(self) -> Any:
        return sync_library(self.path, pm=self.pm, config=self.config)

    def set_row(self, update_id: int, **values: Any) -> None:
        db = open_db(self.path)
        with write(db):
            db[UPDATES].update(update_id, values)
        db.close()

    def update_id(self, store_id: str) -> int:
        """The newest update of the game ``store_id``."""
        db = open_db(self.path)
        try:
            return db.execute(f"SELECT max(id) FROM {UPDATES} WHERE store_id = ?",
                              [store_id]).fetchone()[0]
        finally:
            db.close()

    def update_ids(self) -> list[int]:
        db = open_db(self.path)
        try:
            return [r[0] for r in db.execute(f"SELECT id FROM {UPDATES} ORDER BY id")]
        finally:
            db.close()

    def app(self, **kwargs: Any) -> Any:
        app = create_app(self.path, self.config, pm=self.pm, **kwargs)
        self.apps.append(app)
        return app


def client(app: Any, host: tuple[str, int] = LOCAL, **kwargs: Any) -> TestClient:
    """A test client whose requests come from ``host`` (TestClient's own ``client=`` only
    exists in newer Starlette releases)."""
    async def from_host(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["client"] = host
        await app(scope, receive, send)

    kwargs.setdefault("follow_redirects", False)
    return TestClient(from_host, **kwargs)


def post(c: TestClient, app: Any, path: str, *, csrf: str | None = None,
         origin: str | None = "http://testserver", **kwargs: Any) -> Any:
    """A form post as the app's own page sends it (same origin, its form token)."""
    headers = dict(kwargs.pop("headers", {}))
    if origin is not None:
        headers["Origin"] = origin
    return c.post(path, data={"csrf": app.csrf if csrf is None else csrf},
                  headers=headers, **kwargs)


class GatedPlugin(ExamplePlugin):
    """The example plugin, able to wait after its n-th answer until that gate opens (a
    check that is visibly running, for progress and cancel)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gates: dict[int, threading.Event] = {}

    def hold_after(self, n: int) -> threading.Event:
        """Wait after the n-th answer of a check until the returned event is set."""
        self.gates[n] = threading.Event()
        return self.gates[n]

    def close(self) -> None:
        self.hold_after(1)

    def open(self) -> None:
        for gate in list(self.gates.values()):
            gate.set()
        self.gates = {}

    @hookimpl
    def check_updates_bulk(self, games: list, state: dict):
        for n, answer in enumerate(ExamplePlugin.check_updates_bulk(self, games, state), 1):
            yield answer
            gate = self.gates.get(n)
            if gate is not None:
                gate.wait(30)


def Gate(plugin: GatedPlugin) -> GatedPlugin:
    plugin.close()
    return plugin


@pytest.fixture
def library(tmp_path):
    """``library(steam=5, epic=2, titles={...})`` → a :class:`Library` in ``tmp_path``."""
    made: list[Any] = []

    def make(**kwargs: Any) -> Library:
        lib = Library(tmp_path / "patchwatch.db", **kwargs)
        made.append(lib)
        return lib

    yield make
    for lib in made:
        lib.steam.open()
        for app in lib.apps:
            app.close(5)


@pytest.fixture
def kit():
    """The helpers of this folder's tests (importlib mode cannot import a sibling module)."""
    import types
    return types.SimpleNamespace(client=client, post=post, Gate=Gate, LOCAL=LOCAL,
                                 create_app=create_app, Library=Library)
