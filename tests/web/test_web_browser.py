"""The pages in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Skipped, saying so, only when no chromium is installed (``.ci/run`` installs it). Each test
saves screenshots under ``tests/screenshots/`` (git-ignored; the README names it).
"""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on this machine (apt-get install -y chromium; "
                             ".ci/run installs it)")
SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"


def expect(locator):
    from playwright.sync_api import expect as expect_
    return expect_(locator)


def count_is(page, text: str, timeout: float = 20000) -> None:
    """Wait until the progress count reads ``text`` (waits run outside the page's scripts:
    its Content-Security-Policy forbids evaluating strings)."""
    expect(page.locator("#check-count")).to_have_text(text, timeout=timeout)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Served:
    """The app on a loopback port, served by uvicorn in a thread."""

    def __init__(self, app) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                                    access_log=False))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def site(library):
    """A library with a hostile title, synced once, served over HTTP."""
    lib = library(steam=5, epic=2, titles={"steam:5": HOSTILE})
    lib.sync()
    app = lib.app()
    served = Served(app)
    served.lib, served.app = lib, app
    yield served
    lib.steam.open()
    served.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()
    assert dialogs == [], f"a script from the data ran: {dialogs}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_each_page_opens(site, page):
    lib = site.lib
    lib.steam.catalogue["2"] = 222
    lib.epic.catalogue["e1"] = "2026-03-01"
    lib.sync()
    from patchwatch.db import open_db, write
    from patchwatch.notify import enqueue_message
    db = open_db(lib.path)
    ids = enqueue_message(db, ["ntfys://ntfy.example/secret-topic", "discord://1234/tok"],
                          "patchwatch: New build: Steam game 2", "body")
    with write(db):
        db["patchwatch_outbox"].update(ids[1], {"attempts": 2, "last_error": "HTTP 502"})
    db.close()
    for path, heading, name in [("/", "Recent updates", "updates"),
                                ("/health", "Health", "health"),
                                ("/outbox", "Notifications", "outbox"),
                                ("/check", "Check now", "check-idle"),
                                ("/games/steam/2", "Steam game 2", "game"),
                                ("/games/steam/5", "<script>", "game-hostile-title")]:
        response = page.goto(site.url + path)
        assert response.status == 200, path
        assert heading in page.locator("h1").inner_text(), path
        shot(page, name)
    page.goto(site.url + "/outbox")
    assert page.locator("tr.message").count() == 2 and "secret-topic" not in page.content()
    page.goto(site.url + "/")
    assert page.locator("tr.update").count() == 2
    assert "not a confirmed build" in page.locator("table.weak").inner_text()
    page.select_option("select[name=store]", "epic")
    page.click("form.filters button")
    assert "store=epic" in page.url and page.locator("table.updates:not(.weak) tr.update").count() == 0
    page.click("a.game")  # the weak Epic change links to its game page
    assert page.locator("h1").inner_text().startswith("Epic game 1")


def test_check_now_shows_live_progress_then_the_new_build(site, page):
    lib = site.lib
    lib.steam.catalogue["4"] = 444
    first = lib.steam.hold_after(1)   # the 2 Epic games are checked first: 3 / 7
    second = lib.steam.hold_after(3)  # 5 / 7
    page.goto(site.url + "/check")
    page.click("#check-now")
    page.wait_for_url("**/check")
    count_is(page, "3 / 7")
    shot(page, "check-running")
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    first.set()
    # the count moves on this very page: the script polls /check.json, no reload
    count_is(page, "5 / 7")
    assert loads == []
    second.set()
    page.wait_for_selector("#check-result", timeout=20000)  # reloaded once done
    assert len(loads) == 1
    assert page.locator("#check-state").inner_text() == "done"
    assert page.locator("#check-progress").get_attribute("value") == "7"
    assert "1 new build(s)" in page.locator("#check-result").inner_text()
    shot(page, "check-done")
    page.click("#check-result a")
    assert "v444" in page.locator("table.updates").first.inner_text()
    feed = page.request.get(site.url + "/feed.atom")
    assert feed.status == 200 and "Steam game 4 v444" in feed.text()
    game = page.request.get(site.url + "/games/steam/4/feed.json")
    assert game.json()["items"][0]["_patchwatch"]["new_value"] == "444"


def test_cancel_a_running_check(site, page):
    site.lib.steam.hold_after(2)
    page.goto(site.url + "/check")
    page.click("#check-now")
    count_is(page, "4 / 7")
    page.click("#check-cancel")
    expect(page.locator("#check-state")).to_have_text("cancelled", timeout=20000)
    # the script reloads the finished page: these assertions wait across that navigation
    expect(page.locator("#check-cancel")).to_have_count(0, timeout=20000)
    expect(page.locator("#check-now")).to_be_enabled(timeout=20000)
    shot(page, "check-cancelled")
    assert site.app.checks.status()["state"] == "cancelled"


def test_check_now_works_without_javascript(site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        gate = site.lib.steam.hold_after(1)
        page.goto(site.url + "/check")
        page.click("#check-now")
        assert page.locator("#check-state").inner_text() in ("running", "done")
        gate.set()
        # the page refreshes itself every 2 s (a <noscript> meta refresh) until the end
        page.wait_for_selector("#check-result", timeout=20000)
        assert page.locator("#check-state").inner_text() == "done"
    finally:
        context.close()


def test_a_second_check_is_refused_while_one_runs(site, page):
    site.lib.steam.hold_after(1)
    page.goto(site.url + "/check")
    page.click("#check-now")
    count_is(page, "3 / 7")
    assert page.locator("#check-now").is_disabled()
    # a second tab still showing the idle page tries anyway
    other = page.context.new_page()
    response = other.request.post(site.url + "/check", form={"csrf": site.app.csrf},
                                  headers={"Origin": site.url})
    assert response.status == 409 and "already running" in response.text()
    site.lib.steam.open()
    page.wait_for_selector("#check-result", timeout=20000)
