""""Check now" and the schedule: progress, cancel, one at a time, and who may start them."""

from __future__ import annotations

import threading

import pytest


def wait_for(predicate, timeout=10.0):
    """Wait on a condition the app's own threads change (no fixed sleeps)."""
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return True
        done.wait(0.02)
    return predicate()


def test_check_now_runs_a_sync_with_progress_and_finds_the_new_build(library, kit):
    lib = library()
    lib.sync()
    lib.steam.catalogue["4"] = 999
    app = lib.app()
    c = kit.client(app)
    gate = kit.Gate(lib.steam)
    r = kit.post(c, app, "/check")
    assert r.status_code == 303 and r.headers["location"] == "/check"
    # stores go in name order: Epic's 2 games, then Steam's first answer, held by the gate
    assert wait_for(lambda: c.get("/check.json").json()["check"]["done"] >= 3)
    running = c.get("/check.json").json()["check"]
    assert running["state"] == "running" and running["total"] == 7
    assert "steam: checking" in running["message"]
    page = c.get("/check").text
    assert 'id="check-cancel"' in page and 'http-equiv="refresh"' in page  # no-JS refresh
    again = kit.post(c, app, "/check")
    assert again.status_code == 409 and "already running" in again.text
    gate.open()
    assert app.checks.join(20)
    done = c.get("/check.json").json()["check"]
    assert done["state"] == "done" and done["done"] == done["total"] == 7
    assert done["result"]["updated"] == 1 and done["percent"] == 100
    assert "1 new build(s)" in c.get("/check").text
    assert [u["new_value"] for u in c.get("/index.json").json()["builds"]] == ["999"]
    assert "v999" in c.get("/feed.atom").text


def test_cancel_stops_a_running_check_and_the_next_one_resumes(library, kit):
    lib = library()
    app = lib.app()
    c = kit.client(app)
    kit.Gate(lib.steam)  # answers one game, then waits until cancelled
    kit.post(c, app, "/check")
    assert wait_for(lambda: app.checks.status()["done"] >= 1)
    r = kit.post(c, app, "/check/cancel")
    assert r.status_code == 303
    assert app.checks.join(10)
    status = c.get("/check.json").json()["check"]
    assert status["state"] == "cancelled" and status["error"] is None
    assert kit.post(c, app, "/check/cancel").status_code == 409  # nothing to cancel
    lib.steam.open()
    kit.post(c, app, "/check")
    assert app.checks.join(20)
    assert app.checks.status()["state"] == "done"
    runs = c.get("/health.json").json()["runs"]
    assert [r["status"] for r in runs[:2]] == ["done", "resumed"]


def test_a_failed_check_says_why_in_one_line(tmp_path, library, kit):
    lib = library()
    app = kit.create_app(tmp_path / "missing" / "x.db", lib.config, pm=lib.pm)
    lib.apps.append(app)
    (tmp_path / "missing").write_text("a file where a folder should be")
    c = kit.client(app)
    kit.post(c, app, "/check")
    assert app.checks.join(10)
    status = c.get("/check.json").json()["check"]
    assert status["state"] == "failed" and "\n" not in status["error"]
    assert "x.db" in status["error"]
    from markupsafe import escape
    assert str(escape(status["error"])) in c.get("/check").text


@pytest.mark.parametrize("how", ["no form token", "wrong form token", "other origin",
                                 "null origin", "no origin or referer", "cross-site fetch"])
def test_actions_refuse_cross_site_requests(library, kit, how):
    lib = library()
    app = lib.app()
    c = kit.client(app)
    kwargs = {
        "no form token": dict(csrf=""),
        "wrong form token": dict(csrf="guess"),
        "other origin": dict(origin="https://evil.example"),
        "null origin": dict(origin="null"),
        "no origin or referer": dict(origin=None),
        "cross-site fetch": dict(origin=None, headers={"Sec-Fetch-Site": "cross-site"}),
    }[how]
    r = kit.post(c, app, "/check", **kwargs)
    assert r.status_code == 403 and "own page" in r.text
    assert not app.checks.running and app.checks.status()["state"] == "idle"
    ok = kit.post(c, app, "/check", origin=None, headers={"Referer": "http://testserver/check"})
    assert ok.status_code == 303


def test_actions_need_a_token_from_another_machine(library, kit):
    lib = library()
    app = lib.app()
    remote = kit.client(app, host=("192.168.1.20", 40000))
    r = kit.post(remote, app, "/check")
    assert r.status_code == 403 and "only from this machine" in r.text
    assert "disabled" in remote.get("/check").text.split('id="check-now"')[1][:40]

    app = lib.app(token="s3cret-token")
    remote = kit.client(app, host=("192.168.1.20", 40000))
    assert kit.post(remote, app, "/check").status_code == 403  # no token yet
    login = remote.get("/check?token=wrong")
    assert login.status_code == 303 and "patchwatch_token" not in login.headers.get("set-cookie", "")
    login = remote.get("/check?token=s3cret-token&x=1")
    assert login.status_code == 303 and login.headers["location"] == "/check?x=1"
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert kit.post(remote, app, "/check").status_code == 303
    assert app.checks.join(20)
    # a script: the bearer token alone (no browser, so no cross-site request to fear)
    script = kit.client(app, host=("10.0.0.5", 40000))
    r = script.post("/check", headers={"Authorization": "Bearer s3cret-token",
                                       "Accept": "application/json"})
    assert r.status_code == 202 and r.json()["state"] in ("running", "done")
    assert app.checks.join(20)
    r = script.post("/check", headers={"Authorization": "Bearer nope",
                                       "Accept": "application/json"})
    assert r.status_code == 403 and "token" in r.json()["error"]
    # the token is never written into a page
    assert "s3cret-token" not in remote.get("/health").text


def test_schedule_starts_and_stops_from_the_app(library, kit):
    lib = library()
    lib.config.watch["interval"] = {"steam": 3600, "epic": 3600}
    app = lib.app()
    c = kit.client(app)
    assert kit.post(c, app, "/schedule/start").status_code == 303
    assert wait_for(lambda: any("steam:" in line and "baseline" in line
                                for line in app.schedule.status()["log"]), 20)
    health = c.get("/health.json").json()["schedule"]
    assert health["running"] and {s["store"] for s in health["stores"]} == {"steam", "epic"}
    assert "Stop the schedule" in c.get("/health").text
    assert kit.post(c, app, "/schedule/stop").status_code == 303
    assert not app.schedule.running
    assert c.get("/health.json").json()["schedule"]["running"] is False
    assert app.start_watch() and not app.start_watch()  # one schedule at a time
    assert app.stop_watch()


def test_check_now_while_the_schedule_syncs_takes_its_turn(library, kit):
    lib = library()
    lib.config.watch["interval"] = {"steam": 3600, "epic": 3600}
    gate = lib.steam.hold_after(1)
    app = lib.app()
    c = kit.client(app)
    app.start_watch()  # its first Steam check holds after one answer
    assert wait_for(lambda: 1 in lib.steam.gates and lib.steam.calls)
    assert kit.post(c, app, "/check").status_code == 303
    status = c.get("/check.json").json()["check"]
    assert status["state"] == "running" and status["message"].startswith("starting")
    gate.set()
    assert app.checks.join(20)
    assert app.checks.status()["state"] == "done" and app.checks.status()["error"] is None
    app.stop_watch()


def test_odd_rows_still_render_and_a_failure_is_one_line(library, kit, monkeypatch):
    lib = library()
    lib.sync()
    lib.steam.catalogue["1"] = 7
    lib.sync()
    lib.set_row(lib.update_id("1"), detected_at=None, is_build="yes")  # a hand-edited row
    c = kit.client(lib.app())
    for url in ("/?period=all", "/feed.atom", "/games/steam/1", "/index.json", "/feed.json"):
        assert c.get(url).status_code == 200, url
    assert c.get("/feed.json").json()["items"] == []  # a feed entry needs its date
    from patchwatch.web import data

    def broken(*args, **kwargs):
        raise ValueError("something no page expected\nsecond line")

    monkeypatch.setattr(data, "recent", broken)
    r = c.get("/")
    assert r.status_code == 500 and "Traceback" not in r.text
    assert "could not show this page: ValueError: something no page expected" in r.text
    assert "second line" not in r.text
