"""Hostile text from stores and plugins reaches every page and feed only as text."""

from __future__ import annotations

from html.parser import HTMLParser
from xml.etree import ElementTree

from patchwatch.db import open_db, write
from patchwatch.library import add_game
from patchwatch.models import Problem
from patchwatch.notify import enqueue_message
from patchwatch.state import record_failure

SCRIPT = "<script>alert('pwned')</script>"
IMG = '"><img src=x onerror=alert(1)>'
LINKS = ["javascript:alert(1)", " JaVaScRiPt:alert(2)", "data:text/html,<script>alert(3)</script>",
         "vbscript:msgbox(4)", "java\nscript:alert(5)", "https://ok.example/\"onmouseover=alert(6)"]
URL_ATTRS = {"href", "src", "action", "formaction", "data", "poster", "srcset"}


class Audit(HTMLParser):
    """Every tag and attribute of a page, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("img", "iframe", "svg", "object", "embed"):
            self.problems.append(f"<{tag}> element")
        if tag == "script":
            self.scripts.append(attrs.get("src"))
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in URL_ATTRS and value is not None:
                text = value.strip().lower()
                if not (text.startswith("/") or text.startswith("https://")
                        or text.startswith("http://") or text.startswith("?")):
                    self.problems.append(f"<{tag} {name}={value!r}>")


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    parser.close()
    assert parser.scripts in ([], ["/static/check.js"]), parser.scripts
    return parser


def test_hostile_titles_versions_notes_links_and_errors_are_neutralised(library, kit):
    lib = library(steam=3, epic=1, titles={"steam:1": SCRIPT, "steam:2": IMG,
                                           "epic:e1": SCRIPT + IMG})
    db = open_db(lib.path)
    add_game(db, "<b>evilstore</b>", "x1", SCRIPT)  # a store no plugin serves
    db.close()
    lib.sync()
    lib.steam.catalogue["1"] = SCRIPT      # the version label becomes "v<script>..."
    lib.steam.catalogue["2"] = IMG
    lib.steam.catalogue["3"] = Problem(SCRIPT + " not found", status="not_found")
    lib.epic.catalogue["e1"] = IMG
    lib.sync()
    ids = lib.update_ids()
    assert len(ids) == 3
    for n, update_id in enumerate(ids):
        lib.set_row(update_id, store_url=LINKS[n], notes_url=LINKS[n + 3],
                    notes=SCRIPT + " " + LINKS[0])
    db = open_db(lib.path)
    record_failure(db, "steam_fake", SCRIPT + " https://user:hunter2@api.example/x?key=abc",
                   trip_after=5, cooldown=60)
    ids = enqueue_message(db, ["json://127.0.0.1/secret-path-123"], SCRIPT, IMG)
    with write(db):
        db["patchwatch_outbox"].update(ids[0], {"attempts": 1, "last_error": SCRIPT + IMG})
    db.close()

    app = lib.app()
    c = kit.client(app)
    pages = ["/", "/?period=all", "/?store=%3Cb%3Eevilstore%3C%2Fb%3E", "/health", "/outbox",
             "/check", "/games/steam/1", "/games/steam/2", "/games/steam/3", "/games/epic/e1",
             "/games/%3Cb%3Eevilstore%3C%2Fb%3E/x1", "/games/steam/%3Cscript%3E"]
    seen_escaped = 0
    for url in pages:
        r = c.get(url)
        assert r.status_code in (200, 404), url
        assert "<script>alert" not in r.text and "<img" not in r.text, url
        assert "hunter2" not in r.text and "secret-path-123" not in r.text, url
        assert not audit(r.text).problems, (url, audit(r.text).problems)
        seen_escaped += "&lt;script&gt;alert(" in r.text
    assert seen_escaped >= 8  # the hostile text is shown, as text, not dropped

    for url in ("/index.json?period=all", "/games/steam/1.json", "/games/epic/e1.json",
                "/health.json", "/outbox.json"):
        body = c.get(url)
        assert body.headers["content-type"].startswith("application/json")
        assert body.headers["x-content-type-options"] == "nosniff"
        assert "hunter2" not in body.text and "secret-path-123" not in body.text
        for key in ("store_url", "notes_url"):
            for value in _values(body.json(), key):
                assert value is None or value.startswith("https://"), (url, key, value)

    for url in ("/feed.atom?all=1", "/games/steam/1/feed.atom", "/games/epic/e1/feed.atom?all=1"):
        atom = c.get(url)
        assert b"<script" not in atom.content and b"<img" not in atom.content
        root = ElementTree.fromstring(atom.content)  # still well-formed XML
        hrefs = [link.get("href") for link in root.iter("{http://www.w3.org/2005/Atom}link")]
        assert all(h.startswith("https://") for h in hrefs), hrefs
        texts = [e.text for e in root.iter() if e.text]
        assert any("<script>alert" in t for t in texts)  # present as text only
    for url in ("/feed.json?all=1", "/games/steam/2/feed.json"):
        feed = c.get(url).json()
        for item in feed["items"]:
            for key in ("url", "external_url"):
                assert item.get(key) is None or item[key].startswith("https://"), item

    # the page's CSP forbids inline script even if something slipped through
    csp = c.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_secrets_of_the_config_never_reach_a_page(library, kit):
    from patchwatch.config import Config

    lib = library(steam=2, epic=0)
    lib.config = Config(env={}, timeout=5, availability_timeout=2,
                        notify=["ntfys://ntfy.example/topic-9f8e7d"],
                        plugins={"gog": {"branch_passwords": {"1207658924": "s3cr3tPass"}},
                                 "epic": {"client_secret": "epicSecret99", "os": "windows"}})
    lib.sync()
    lib.steam.catalogue["2"] = Problem("refused with password s3cr3tPass (epicSecret99)",
                                       status="not_found")
    lib.sync()
    db = open_db(lib.path)
    record_failure(db, "steam_fake", "login epicSecret99 failed", trip_after=5, cooldown=60)
    enqueue_message(db, lib.config.notify, "digest", "body")
    db.close()
    c = kit.client(lib.app())
    shown = 0
    for url in ("/health", "/health.json", "/games/steam/2", "/games/steam/2.json", "/outbox",
                "/outbox.json", "/check", "/check.json"):
        text = c.get(url).text
        assert "s3cr3tPass" not in text and "epicSecret99" not in text, url
        assert "topic-9f8e7d" not in text, url
        shown += "refused with password …" in text
    assert shown == 4  # the message is still shown, its secret cut out
    assert "windows" not in data_secrets(lib.config)


def data_secrets(config):
    from patchwatch.web.data import config_secrets
    return config_secrets(config)


def _values(value, key):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                yield v
            else:
                yield from _values(v, key)
    elif isinstance(value, list):
        for v in value:
            yield from _values(v, key)
