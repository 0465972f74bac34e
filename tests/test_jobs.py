"""The README's Backlogia job recipe, run as written against Backlogia-shaped jobs."""

from __future__ import annotations

import json
import re
import sys
import time
import types
from pathlib import Path

import pytest

from patchwatch.db import CHECKS, RUNS, open_db
from patchwatch.sync import sync_library
from patchwatch.testing import ExamplePlugin
from patchwatch.testing.backlogia import BacklogiaJobs, JobStatus, JobType, create_backlogia_db

README = Path(__file__).resolve().parents[1] / "README.md"


def recipe() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- recipe: backlogia-job -->\s*```python\n(.*?)```", text, re.S)
    assert match, "the README lost its Backlogia job recipe"
    return match[1]


@pytest.fixture
def host(tmp_path, monkeypatch, installed_pm):
    """A Backlogia database, its job functions as modules, and the recipe loaded from them."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("PATCHWATCH_CONFIG", raising=False)
    path = create_backlogia_db(tmp_path / "backlogia.db", [
        {"name": f"Game {i}", "store": "steam", "store_id": str(i)} for i in range(1, 301)])
    jobs = BacklogiaJobs(path)
    jobs.ensure_jobs_table()
    progress_calls = []

    def update_job_progress(job_id, progress, total, message=""):
        progress_calls.append((progress, total, message))
        jobs.update_job_progress(job_id, progress, total, message)

    web = types.ModuleType("web")
    services = types.ModuleType("web.services")
    config = types.ModuleType("web.config")
    config.DATABASE_PATH = str(path)
    module = types.ModuleType("web.services.jobs")
    for name in ("create_job", "complete_job", "fail_job", "cancel_job", "is_job_cancelled",
                 "run_job_async", "get_job"):
        setattr(module, name, getattr(jobs, name))
    module.update_job_progress = update_job_progress
    module.JobType, module.JobStatus = JobType, JobStatus
    for name, mod in {"web": web, "web.services": services, "web.config": config,
                      "web.services.jobs": module}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    namespace: dict = {}
    exec(compile(recipe(), "README.md:backlogia-job", "exec"), namespace)
    return types.SimpleNamespace(path=path, jobs=jobs, progress=progress_calls,
                                 start=namespace["start_update_check"], pm=installed_pm)


def finish(host, job_id, seconds=20.0):
    host.jobs.threads[job_id].join(seconds)
    assert not host.jobs.threads[job_id].is_alive()
    return host.jobs.get_job(job_id)


def test_recipe_completes_the_job_with_progress_messages(host):
    host.pm(p=ExamplePlugin(catalogue={str(i): i for i in range(1, 301)}))
    job_id = host.start()
    job = finish(host, job_id)
    assert job["status"] == JobStatus.COMPLETED
    assert job["progress"] == job["total"] == 300
    assert json.loads(job["result"])["checked"] == 300
    assert job["message"] == "300 checked, 0 updated, 0 failed"
    assert any(m.startswith("steam: checking") and m.endswith("with p") for _, _, m in host.progress)


def test_recipe_cancel_stops_within_a_second_and_stays_cancelled(host):
    plugin = ExamplePlugin(catalogue={str(i): i for i in range(1, 301)})
    plugin.delay = 0.03  # 300 games: about 9 s of work
    host.pm(p=plugin)
    job_id = host.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (host.jobs.get_job(job_id)["progress"] or 0) < 20:
        time.sleep(0.02)
    assert host.jobs.cancel_job(job_id)
    job = finish(host, job_id, seconds=3)  # far less than the rest of the work would take
    assert job["status"] == JobStatus.FAILED and job["cancelled"] == 1
    assert job["error"] == "Cancelled by user"  # not flipped back to running by a progress call

    db = open_db(host.path)
    [run] = list(db[RUNS].rows)
    saved = db[CHECKS].count
    assert run["status"] == "cancelled" and 20 <= saved < 300

    plugin.delay = 0
    again = sync_library(host.path)
    assert again.resumed_from == run["id"] and again.skipped_resumed == saved
    assert db[CHECKS].count == 300


def test_recipe_failure_fails_the_job_with_one_line(host, tmp_path, monkeypatch):
    host.pm(p=ExamplePlugin())
    bad = tmp_path / "config" / "patchwatch" / "config.toml"
    bad.parent.mkdir(parents=True)
    bad.write_text("cooldown = [", encoding="utf-8")
    job = finish(host, host.start())
    assert job["status"] == JobStatus.FAILED
    assert "config" in job["error"] and "\n" not in job["error"]
