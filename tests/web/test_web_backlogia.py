"""The README's Backlogia lines (requirements, mount, schedule, job recipe), run as written
against a Backlogia-main-shaped FastAPI app (and against the updates-and-news branch's shape).

The host here is written from these facts of Backlogia's ``main`` (github.com/sam1am/backlogia,
through PR #75): ``web/main.py`` builds a module-level FastAPI ``app`` and includes its routers
(no lifespan); ``web/services/jobs.py`` has ``JobType`` = STORE_SYNC, IGDB_SYNC,
METACRITIC_SYNC, PROTONDB_SYNC, STEAM_SYNC, ``create_job(job_type, message)``,
``update_job_progress(job_id, progress, total, message)``, ``complete_job(job_id, result: str,
message)``, ``fail_job``, ``get_job``, ``run_job_async`` and no ``cancel_job`` /
``is_job_cancelled``; its ``jobs`` table has no ``cancelled`` column; its ``games`` table has
``hidden``, ``nsfw``, ``cover_url_override``, ``removed`` but no ``game_version``, and there is
no ``game_depot_updates`` table. Nothing is copied from Backlogia.
"""

from __future__ import annotations

import enum
import json
import re
import sqlite3
import sys
import threading
import types
from importlib.metadata import requires
from pathlib import Path

import pytest

fastapi = pytest.importorskip("fastapi", reason="FastAPI is in the dev group (uv sync)")

from fastapi.responses import HTMLResponse  # noqa: E402

from patchwatch.testing import ExamplePlugin  # noqa: E402
from patchwatch.testing.backlogia import BacklogiaJobs, JobType, create_backlogia_db  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"

MAIN_JOBS_SQL = """CREATE TABLE jobs (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    progress INTEGER DEFAULT 0, total INTEGER DEFAULT 0, message TEXT, result TEXT,
    error TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, completed_at TIMESTAMP)"""
MAIN_GAME_COLUMNS = ("hidden BOOLEAN DEFAULT 0", "nsfw BOOLEAN DEFAULT 0",
                     "cover_url_override TEXT", "removed BOOLEAN DEFAULT 0")


class MainJobType(str, enum.Enum):
    STORE_SYNC = "store_sync"
    IGDB_SYNC = "igdb_sync"
    METACRITIC_SYNC = "metacritic_sync"
    PROTONDB_SYNC = "protondb_sync"
    STEAM_SYNC = "steam_sync"


def block(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- recipe: {name} -->\s*```\w*\n(.*?)```", text, re.S)
    assert match, f"the README lost its {name} block"
    return match[1]


@pytest.fixture(params=["main", "updates-and-news"])
def backlogia(request, tmp_path, monkeypatch, installed_pm):
    """Backlogia's database, job functions and FastAPI app, as modules ``web.*``: main's
    shape, and the updates-and-news branch's (patchwatch.testing.backlogia's own shape:
    game_depot_updates, game_version, cancel_job, JobType.UPDATE_TRACKING)."""
    branch = request.param == "updates-and-news"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("PATCHWATCH_CONFIG", raising=False)
    path = create_backlogia_db(tmp_path / "game_library.db", [
        {"name": "Dota 2", "store": "steam", "store_id": "570"},
        {"name": "Hades II", "store": "steam", "store_id": "1145350"},
        {"name": "Local game", "store": "local", "store_id": "x"},
    ], depot_updates=branch, migrated=branch)
    conn = sqlite3.connect(path)
    if not branch:
        for column in MAIN_GAME_COLUMNS:
            conn.execute(f"ALTER TABLE games ADD COLUMN {column}")
        conn.execute(MAIN_JOBS_SQL)
    conn.commit()
    conn.close()

    jobs = BacklogiaJobs(path)
    jobs.ensure_jobs_table()
    module = types.ModuleType("web.services.jobs")
    names = ["create_job", "update_job_progress", "complete_job", "fail_job", "get_job",
             "run_job_async"]  # main has no cancel_job / is_job_cancelled
    for name in names + (["cancel_job", "is_job_cancelled"] if branch else []):
        setattr(module, name, getattr(jobs, name))
    module.JobType = JobType if branch else MainJobType
    config = types.ModuleType("web.config")
    config.DATABASE_PATH, config.ENABLE_AUTH = str(path), False
    web, services = types.ModuleType("web"), types.ModuleType("web.services")
    web.services, services.jobs = services, module
    for name, mod in {"web": web, "web.services": services, "web.config": config,
                      "web.services.jobs": module}.items():
        monkeypatch.setitem(sys.modules, name, mod)

    app = fastapi.FastAPI(title="Backlogia-shaped")

    @app.get("/", response_class=HTMLResponse)
    def library() -> str:  # its library page: the games, by name
        conn = sqlite3.connect(path)
        names = [r[0] for r in conn.execute(
            "SELECT name FROM games WHERE hidden = 0 OR hidden IS NULL ORDER BY name")]
        conn.close()
        return "<ul>" + "".join(f"<li>{n}</li>" for n in names) + "</ul>"

    @app.get("/api/games")
    def api_games() -> list[dict]:
        conn = sqlite3.connect(path)
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT id, name, store, store_id FROM games")]
        conn.close()
        return rows

    @app.get("/api/jobs/{job_id}")
    def api_job(job_id: str) -> dict:
        return jobs.get_job(job_id) or {}

    plugin = ExamplePlugin("steam", catalogue={"570": 100, "1145350": 200})
    installed_pm(steam_fake=plugin)
    namespace = {"app": app, "DATABASE_PATH": str(path), "ENABLE_AUTH": False}
    yield types.SimpleNamespace(path=path, app=app, jobs=jobs, plugin=plugin, ns=namespace,
                                branch=branch)
    updates = namespace.get("updates")
    if updates is not None:
        updates.close(5)


def wait(predicate, timeout=20.0) -> bool:
    event = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return True
        event.wait(0.02)
    return predicate()


def test_the_requirements_line_names_the_web_extra():
    line = block("backlogia-requirements").strip()
    match = re.fullmatch(r"patchwatch\[([a-z,]+)\] @ git\+https://\S+", line)
    assert match and "web" in match[1].split(","), line
    web_requirements = [r for r in requires("patchwatch") if re.search(r"extra == ['\"]web['\"]", r)]
    assert {re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in web_requirements} >= {
        "starlette", "jinja2", "uvicorn"}


def test_the_readme_lines_mount_the_pages_in_backlogia(backlogia, kit):
    host = backlogia
    client = kit.client(host.app)
    before = (client.get("/").text, client.get("/api/games").json())

    exec(compile(block("backlogia-mount"), "README.md:backlogia-mount", "exec"), host.ns)
    updates = host.ns["updates"]
    # the schedule's first cycle: baselines for both Steam games
    assert wait(lambda: any("2 new baseline(s)" in line for line in updates.schedule.lines))
    assert updates.schedule.running

    # Backlogia's own routes keep working, and answer as before
    assert client.get("/").text == before[0] and "Dota 2" in before[0]
    assert client.get("/api/games").json() == before[1]
    assert client.get("/updates/").status_code == 200
    assert "No new build" in client.get("/updates/").text

    # the README's job recipe, on main's job functions (no cancel there) or the branch's
    namespace: dict = {}
    exec(compile(block("backlogia-job"), "README.md:backlogia-job", "exec"), namespace)
    host.plugin.catalogue["570"] = 101
    job_id = namespace["start_update_check"]()
    host.jobs.threads[job_id].join(20)
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "completed", job
    assert job["type"] == ("update_tracking" if host.branch else "store_sync")
    assert job["message"] == "2 checked, 1 updated, 0 failed"  # "local" has no plugin: unsupported
    assert json.loads(job["result"])["checked"] == 2

    page = client.get("/updates/")
    assert "Dota 2" in page.text and 'href="/updates/games/steam/570"' in page.text
    game = client.get("/updates/games/steam/570.json").json()
    assert [(u["old_value"], u["new_value"]) for u in game["updates"]] == [("100", "101")]
    assert "Dota 2 v101" in client.get("/updates/feed.atom").text
    health = client.get("/updates/health.json").json()
    assert health["schedule"]["running"] and health["plugins"][0]["name"] == "steam_fake"

    # check now, from the mounted pages
    host.plugin.catalogue["1145350"] = 201
    r = client.post("/updates/check", data={"csrf": updates.csrf},
                    headers={"Origin": "http://testserver"})
    assert r.status_code == 303 and r.headers["location"] == "/updates/check"
    assert updates.checks.join(20)
    assert updates.checks.status()["result"]["updated"] == 1
    assert client.get("/").text == before[0]  # still Backlogia's page, unchanged

    # main's schema is untouched (no game_version column added); the branch's gets the version
    conn = sqlite3.connect(host.path)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(games)")}
    if host.branch:
        assert conn.execute("SELECT game_version FROM games WHERE store_id = '570'"
                            ).fetchone() == ("v101",)
    conn.close()
    assert ("game_version" in columns) == host.branch


def test_pages_before_patchwatch_ever_ran_and_with_a_broken_config(backlogia, tmp_path, kit):
    host = backlogia
    bad = tmp_path / "config" / "patchwatch" / "config.toml"
    bad.parent.mkdir(parents=True)
    bad.write_text("cooldown = [", encoding="utf-8")
    exec(compile(block("backlogia-mount"), "README.md:backlogia-mount", "exec"), host.ns)
    updates = host.ns["updates"]  # the lines never raise into Backlogia's start-up
    assert not updates.schedule.running and "config.toml" in updates.schedule.error
    client = kit.client(host.app, follow_redirects=True)
    assert "Dota 2" in client.get("/").text
    assert client.get("/updates/").status_code == 200  # no patchwatch table yet: empty
    health = client.get("/updates/health")
    assert health.status_code == 503 and "config" in health.text and "Traceback" not in health.text
    tables = {r[0] for r in sqlite3.connect(host.path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not any(t.startswith("patchwatch_") for t in tables)
    r = client.post("/updates/schedule/start", data={"csrf": updates.csrf},
                    headers={"Origin": "http://testserver"})
    assert r.status_code == 503 and "the schedule did not start" in r.text
    assert "config.toml" in r.text and "Traceback" not in r.text
