"""Issue 13, Epic 1: sharing legendary's login without ever logging the user out.

A legendary-like process (``patchwatch_epic.legendary_like``: filelock on
``user.json.lock``, refresh inside it, ``user.json`` deleted when Epic refuses the refresh
token) runs next to the plugin against the fake Epic, whose refresh tokens are single-use.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import patchwatch_epic
import pytest
from patchwatch import Problem, Signal
from patchwatch.config import Config
from patchwatch.plugins import new_plugin_manager
from patchwatch.sync import sync_library
from patchwatch.testing.backlogia import create_backlogia_db
from patchwatch_epic.testing import FakeEpic

ASSETS = r"/launcher/api/public/assets/.*"

pytestmark = pytest.mark.timeout(60)


def legendary(epic: FakeEpic, path: Path, *extra: str) -> subprocess.Popen[str]:
    """Start the legendary-like login; returns once it holds the lock."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "patchwatch_epic.legendary_like", str(path), epic.server.url,
         epic.client_id, epic.client_secret, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == "locked", f"legendary-like process did not start: {line!r} {proc.stderr.read()}"
    return proc


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out.strip() + err.strip()


def games_of(epic, tracked=()):
    signals = {"build_version": Signal("build_version", "0")}
    return [item.game(i, signals if item.app_name in tracked else None)
            for i, item in enumerate(epic.items.values(), 1)]


def test_patchwatch_waits_for_legendarys_lock_and_keeps_the_user_logged_in(epic, check,
                                                                          tmp_path):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    # legendary is mid-login: it read the expired session inside its lock and is about
    # to spend the refresh token.
    proc = legendary(epic, path, "--hold", "0.5")
    results = check(games_of(epic), epic.settings(legendary_user=str(path)))
    code, said = finish(proc)
    assert (code, said) == (0, "refreshed"), "legendary's own refresh must still work"
    assert results[1].kind == "build_version"
    assert epic.grants == ["refresh_token"], "patchwatch used legendary's fresh session"
    # After patchwatch, legendary refreshes once more: the login is still alive.
    code, said = finish(legendary(epic, path, "--force"))
    assert (code, said) == (0, "refreshed")
    assert path.exists()


def test_login_still_works_after_ten_syncs_that_each_needed_a_refresh(tmp_path, fake_store):
    # Tokens live 5 minutes: under legendary's 10-minute rule every saved session is
    # expired at the next sync, so each sync has to refresh.
    epic = FakeEpic(fake_store, token_ttl=300)
    for name in ("Fig", "Sugar"):
        epic.add_game(name)
    rows = [{k: v for k, v in item.backlogia_row().items()} for item in epic.items.values()]
    library = create_backlogia_db(tmp_path / "backlogia.db", rows)
    path = epic.write_legendary_user(tmp_path / "legendary" / "user.json")
    settings = epic.settings(legendary_user=str(path), local_max_age=0)
    pm = new_plugin_manager({"epic": patchwatch_epic})
    refresh_tokens = []
    for n in range(10):
        refresh_tokens.append(json.loads(path.read_text())["refresh_token"])
        summary = sync_library(library, pm=pm, config=Config(plugins={"epic": settings}, env={}))
        assert summary.failures == [], summary.failures
        assert epic.grants.count("refresh_token") == n + 1, "this sync refreshed"
        assert not epic.refresh_token_valid(refresh_tokens[-1]), "Epic rotated the token"
        assert epic.refresh_token_valid(json.loads(path.read_text())["refresh_token"])
    assert len(set(refresh_tokens)) == 10
    code, said = finish(legendary(epic, path))
    assert (code, said) == (0, "refreshed"), "the user's launcher login still works"
    assert epic.refresh_token_valid(json.loads(path.read_text())["refresh_token"])


def test_a_busy_lock_skips_build_versions_without_refreshing(epic, check, tmp_path):
    epic.add_game("Fig")
    epic.add_game("Sugar")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    proc = legendary(epic, path, "--hold", "1")
    try:
        settings = epic.settings(legendary_user=str(path), legendary_lock_timeout=0.2)
        results = check(games_of(epic, tracked={"Fig"}), settings)
    finally:
        code, _ = finish(proc)
    assert isinstance(results[1], Problem) and "legendary is busy" in results[1].message
    assert results[2].kind == "last_modified"
    assert code == 0 and epic.grants.count("refresh_token") == 1, "only legendary refreshed"


def test_a_login_of_another_client_is_not_refreshed(epic, check, tmp_path):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    data = json.loads(path.read_text())
    data["client_id"] = "0123456789abcdef0123456789abcdef"
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    before = path.read_text()
    result = check(games_of(epic, tracked={"Fig"}), epic.settings(legendary_user=str(path)))[1]
    assert isinstance(result, Problem)
    assert "belongs to OAuth client 0123456789abcdef0123456789abcdef" in result.message
    assert "refresh_token" not in epic.grants and path.read_text() == before


def test_a_fresh_login_of_another_client_is_still_read(epic, check, tmp_path):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json")
    data = json.loads(path.read_text())
    data["client_id"] = "0123456789abcdef0123456789abcdef"
    path.write_text(json.dumps(data))
    assert check(games_of(epic), epic.settings(legendary_user=str(path)))[1].kind == \
        "build_version"


def _fail(code: int, text: str):
    def fail(*args, **kwargs):
        raise OSError(code, text)
    return fail


@pytest.mark.parametrize("where", ["tempfile.mkstemp", "os.posix_fallocate"])
def test_a_full_disk_means_no_refresh_and_nothing_lost(epic, check, tmp_path, monkeypatch,
                                                       where):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    before = path.read_text()
    monkeypatch.setattr(where, _fail(errno.ENOSPC, "No space left on device"))
    result = check(games_of(epic, tracked={"Fig"}), epic.settings(legendary_user=str(path)))[1]
    assert "refresh_token" not in epic.grants, "the single-use token was not spent"
    assert isinstance(result, Problem) and "No space left on device" in result.message
    assert "not refreshing" in result.message
    assert path.read_text() == before
    assert epic.refresh_token_valid(json.loads(before)["refresh_token"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user.json", "user.json.lock"]


def test_a_read_only_folder_means_no_refresh(epic, check, tmp_path, monkeypatch):
    epic.add_game("Fig")
    epic.add_game("Sugar")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    before = path.read_text()
    # A read-only mount: neither legendary's lock file nor a new user.json can be made.
    monkeypatch.setattr("filelock.FileLock.acquire", _fail(errno.EROFS, "Read-only file system"))
    monkeypatch.setattr("tempfile.mkstemp", _fail(errno.EROFS, "Read-only file system"))
    results = check(games_of(epic, tracked={"Fig"}), epic.settings(legendary_user=str(path)))
    assert "refresh_token" not in epic.grants and path.read_text() == before
    assert isinstance(results[1], Problem) and "Read-only file system" in results[1].message
    assert results[2].kind == "last_modified"


def test_a_read_only_folder_still_reads_a_fresh_login(epic, check, tmp_path, monkeypatch):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json")
    monkeypatch.setattr("filelock.FileLock.acquire", _fail(errno.EROFS, "Read-only file system"))
    assert check(games_of(epic), epic.settings(legendary_user=str(path)))[1].kind == \
        "build_version"


def test_the_saved_file_is_in_legendarys_format(epic, check, tmp_path):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    check(games_of(epic), epic.settings(legendary_user=str(path)))
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True)
    assert {"access_token", "expires_at", "refresh_token", "refresh_expires_at", "account_id",
            "displayName", "client_id"} <= data.keys()


def test_a_login_deleted_by_legendary_is_said(epic, check, tmp_path):
    epic.add_game("Fig")
    path = epic.write_legendary_user(tmp_path / "user.json", expired=True)
    epic.revoke_refresh_tokens()
    code, said = finish(legendary(epic, path))
    assert code == 2 and not path.exists()
    result = check(games_of(epic, tracked={"Fig"}), epic.settings(legendary_user=str(path)))[1]
    assert isinstance(result, Problem) and "no legendary login found" in result.message


def test_a_symlinked_login_is_saved_where_it_really_is(epic, check, tmp_path):
    epic.add_game("Fig")
    real = epic.write_legendary_user(tmp_path / "store" / "user.json", expired=True)
    link = tmp_path / "legendary" / "user.json"
    link.parent.mkdir()
    link.symlink_to(real)
    check(games_of(epic), epic.settings(legendary_user=str(link)))
    assert link.is_symlink(), "the link itself is left alone"
    assert epic.refresh_token_valid(json.loads(real.read_text())["refresh_token"])
