"""Two syncs of different databases in one process: giving up a plugin in one of them never
stops the same plugin's requests in the other (a host with two libraries, two web workers)."""

from __future__ import annotations

import threading

from patchwatch import Signal, StoreInfo, hookimpl
from patchwatch.http import new_session
from patchwatch.library import add_game
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing import FakeStoreServer


class Fetcher:
    """Asks the fake for each game's build over patchwatch's HTTP session."""

    def __init__(self, url: str) -> None:
        self.url = url

    @hookimpl
    def store_info(self):
        return StoreInfo(store="itch", priority=50)

    @hookimpl
    def check_updates_bulk(self, games):
        session = new_session("fetcher")
        for game in games:
            answer = session.get(f"{self.url}/{game.store_id}", timeout=30).json()
            yield game.id, Signal("build_id", str(answer["build"]))


def test_a_cancel_in_one_sync_leaves_the_other_syncs_requests_alone(tmp_path, config):
    a_waiting, b_waiting = threading.Event(), threading.Event()
    a_may_answer, b_may_answer = threading.Event(), threading.Event()

    def slow(waiting, release):
        def handler(request):
            waiting.set()
            release.wait(30)
            return {"build": 7}
        return handler

    with FakeStoreServer() as fake:
        fake.route("GET", r"/a/\d+", slow(a_waiting, a_may_answer))
        fake.route("GET", r"/b/\d+", slow(b_waiting, b_may_answer))
        db_a, db_b = tmp_path / "a.db", tmp_path / "b.db"
        add_game(db_a, "itch", "1")
        add_game(db_b, "itch", "1")
        results: dict = {}
        other = threading.Thread(target=lambda: results.setdefault("b", sync_library(
            db_b, pm=new_plugin_manager({"fetcher": Fetcher(fake.url + "/b")}), config=config)))
        other.start()
        cancel = threading.Event()
        threading.Thread(target=lambda: (a_waiting.wait(30), b_waiting.wait(30), cancel.set()),
                         daemon=True).start()
        first = sync_library(db_a, pm=new_plugin_manager({"fetcher": Fetcher(fake.url + "/a")}),
                             config=config, cancel=cancel)
        b_may_answer.set()  # A's plugin was given up while B's request was in flight
        other.join(30)
        a_may_answer.set()
    assert first.cancelled
    second = results["b"]
    assert (second.checked, second.baselines, second.failures) == (1, 1, [])
    assert second.plugins[0].status == "ok"
