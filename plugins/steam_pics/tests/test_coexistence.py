"""patchwatch-steam-pics installs and syncs next to a package that needs protobuf >= 5
(issue 21: ``steam[client]`` 1.4.4 pinned ``protobuf~=3.0``, so such a host could not
install the plugin at all).

SLOW (about a minute the first time, seconds with uv's cache warm): it builds a fresh
environment with ``uv`` from the package registry, installs the core, this plugin and
``grpcio-status`` (which requires protobuf >= 5.26 since 1.63), then syncs against the
fake CM inside that environment. Marked ``install`` like the project's other tests that
build environments from the package index: opt in with ``pytest -m install``; CI runs
them (``.ci/run``: ``./pw pytest -q -m install``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.install, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import importlib.metadata as md, importlib.util, json
from google.rpc import status_pb2                      # grpcio-status's messages, default pool
from grpc_status import rpc_status                     # noqa: F401 - the package imports
from patchwatch import Game, Signal
from patchwatch.testing import each_answer
from patchwatch_steam_pics import check_updates_bulk
from patchwatch_steam_pics.session import close_sessions
from patchwatch_steam_pics.testing import FakeSteamCM

with FakeSteamCM() as cm, cm.patched_universe_key():
    cm.catalogue.add_apps(range(100, 130))
    games = [Game(id=i, store="steam", store_id=str(a)) for i, a in enumerate(range(100, 130), 1)]
    try:
        answers = dict(each_answer(games, check_updates_bulk(games, {"cm_servers": cm.server}, {})))
    finally:
        close_sessions()
    expected = {i: str(cm.catalogue.apps[a].branches["public"].buildid) for i, a in enumerate(range(100, 130), 1)}
status = status_pb2.Status(code=5, message="x")
print(json.dumps({
    "protobuf": md.version("protobuf"),
    "grpcio_status": md.version("grpcio-status"),
    "status_roundtrip": status_pb2.Status.FromString(status.SerializeToString()).message == "x",
    "right_builds": {i: r.value for i, r in answers.items() if isinstance(r, Signal)} == expected,
    "signals": sum(isinstance(r, Signal) for r in answers.values()),
    "gevent": importlib.util.find_spec("gevent") is not None,
    "steam": importlib.util.find_spec("steam") is not None,
}))
"""


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    pytest.fail("this test needs uv (pip install uv), as the project's own set-up does")


def _run(args: list[str], **kwargs) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{' '.join(args[:4])} ... failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_installs_and_syncs_next_to_a_package_needing_protobuf_5(tmp_path: Path) -> None:
    uv = _uv()
    venv = tmp_path / "host"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    _run([*uv, "venv", "-q", "--python", sys.executable, str(venv)], env=env)
    python = venv / "bin" / "python"
    _run([*uv, "pip", "install", "-q", "--python", str(python), str(ROOT), str(ROOT / "plugins" / "steam_pics"),
          "grpcio-status>=1.63"], env=env)
    result = json.loads(_run([str(python), "-c", SCRIPT], env=env).strip().splitlines()[-1])
    assert int(result["protobuf"].split(".")[0]) >= 5, result
    assert result["status_roundtrip"] and result["grpcio_status"], result
    assert result["signals"] == 30 and result["right_builds"], result
    assert not result["gevent"] and not result["steam"], result  # nothing of the old client came along
