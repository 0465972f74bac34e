"""A host's asyncio app keeps answering while steam_pics syncs from one of its worker
threads (issue 21; Backlogia runs syncs with ``run_in_executor`` under uvicorn).

The app here is a plain asyncio TCP server answering ``ping`` with ``pong``. The sync runs
in the loop's default executor through the core's ``sync_library``; the fake CM holds the
product-info answer for a while, so the sync is certainly still running when the pings are
sent. The measure of lag is the benchmark's job (bench/steam_loop.py); this test checks that
the loop is never stuck behind the sync and that nothing was patched in the process.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from pathlib import Path

import pytest

import patchwatch_steam_pics
from patchwatch.config import Config
from patchwatch.db import open_db
from patchwatch.library import add_games
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch_steam_pics.session import close_sessions
from patchwatch_steam_pics.testing import FakeSteamCM

pytestmark = pytest.mark.timeout(60)
APPS = range(500, 560)


async def _ping(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.readline(), 2)
    writer.close()
    await writer.wait_closed()
    return answer.decode().strip()


async def _host(db_path: Path, settings: dict, cm: FakeSteamCM, held: threading.Event) -> tuple[object, list[str]]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await reader.readline() == b"ping\n":
            writer.write(b"pong\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    pm = new_plugin_manager({"steam_pics": patchwatch_steam_pics})
    config = Config(plugins={"steam_pics": settings}, env={})
    sync = loop.run_in_executor(None, lambda: sync_library(db_path, pm=pm, config=config))
    # Wait (on an event the fake sets) until the CM holds the product-info answer.
    await loop.run_in_executor(None, held.wait, 20)
    answers = []
    for _ in range(5):
        answers.append(await _ping(port))
        assert not sync.done(), "the sync ended before the loop was checked"
    summary = await sync
    server.close()
    await server.wait_closed()
    return summary, answers


def test_the_host_loop_answers_during_a_sync_from_a_worker_thread(tmp_path: Path) -> None:
    db_path = tmp_path / "patchwatch.db"
    db = open_db(db_path)
    add_games(db, [{"store": "steam", "store_id": str(a), "title": f"App {a}"} for a in APPS])
    db.close()
    with FakeSteamCM() as cm, cm.patched_universe_key():
        cm.catalogue.add_apps(APPS, info_size=12_000)
        held = threading.Event()
        record = cm._record

        def recorded(kind: str, body: object, connection: int) -> None:
            record(kind, body, connection)
            if kind == "product_info":
                held.set()

        cm._record = recorded
        cm.fail("product_info", delay=3)  # the answer comes 3 s late: the sync is busy meanwhile
        settings = {"cm_servers": cm.server, "request_timeout": 10}
        try:
            summary, answers = asyncio.run(_host(db_path, settings, cm, held))
        finally:
            close_sessions()
    assert answers == ["pong"] * 5
    assert summary.baselines == len(APPS) and not summary.failures
    # Nothing process-wide was patched, and no gevent came along.
    assert socket.socket.__module__ == "socket" and "gevent" not in sys.modules
