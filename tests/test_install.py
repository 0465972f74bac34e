"""The README's set-up and install lines, run as written in fresh environments.

Marked ``install`` (deselected by default: they take a minute or two and need the package
index, as every install does); ``.ci/run`` runs them with ``pytest -m install``. Each test
works on a copy of this working tree committed to a throwaway git repository, so the
``git+`` lines install what is being tested; the README's repository URL is replaced by
that repository's ``git+file://localhost/...`` URL (pip 23's URL check wants a host).
Caches (uv's, pip's) are shared with the machine, so a second run is mostly offline.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

from patchwatch.testing import FakeStoreServer

pytestmark = [pytest.mark.install, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
REPO = "https://github.com/patchwatch/patchwatch"
STEP = 600
"""Seconds any one command may take (an install on a cold cache, a slow index)."""

# What the environment may keep: how to reach the index (certificates, proxies, pip's own
# config) and the shared caches. Everything else (PATH, HOME, VIRTUAL_ENV, uv on PATH) is
# set by each test.
KEEP = re.compile(r"^(SSL_CERT_\w+|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|PIP_\w+|UV_INDEX\w*|"
                  r"UV_DEFAULT_INDEX|UV_EXTRA_INDEX_URL|UV_NATIVE_TLS|UV_CACHE_DIR|"
                  r"(?i:https?_proxy|no_proxy|all_proxy)|LANG|LC_ALL|TMPDIR)$")


@pytest.fixture(scope="module", autouse=True)
def index_reachable():
    """Installs need the package index (or warm caches): say so instead of failing offline."""
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError as exc:
        pytest.skip(f"offline: the install tests need the package index ({exc})")


def clean_env(tmp_path: Path, path: list[str | Path], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if KEEP.match(k)}
    env.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), PATH=os.pathsep.join(map(str, path)), **extra)
    return env


def run(cmd: str | list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,),
        ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=env, shell=isinstance(cmd, str), text=True,
                          capture_output=True, timeout=STEP)
    assert done.returncode in ok, (f"{cmd!r} exited {done.returncode}\n"
                                   f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done


def copy_tree(dest: Path) -> Path:
    """This working tree's files (tracked and new, not ignored) copied to ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A git repository holding this working tree, standing in for the real repository."""
    repo = copy_tree(tmp_path_factory.mktemp("repo"))
    git = ["git", "-c", "user.name=patchwatch tests", "-c", "user.email=tests@invalid"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(git + args, cwd=repo, check=True, capture_output=True)
    return repo


def local(text: str, clone: Path) -> str:
    return text.replace(REPO, f"file://localhost{clone}")


def block(marker: str) -> str:
    """The fenced block right after ``<!-- marker -->`` in the README."""
    found = re.search(rf"<!-- {re.escape(marker)} -->\n```\w*\n(.*?)```", README, re.S)
    assert found, f"README has no block marked {marker}"
    return found.group(1)


def fresh_venv(where: Path) -> Path:
    """A new venv (with the pip of the running Python) and its bin directory."""
    venv.create(where, with_pip=True, symlinks=True)
    return where / "bin"


def base_python() -> str:
    """A python.org/pyenv-style interpreter: the one this venv was made from."""
    return str(Path(sys._base_executable).resolve())  # type: ignore[attr-defined]


def uv_binary() -> str:
    """The uv that ``./pw`` ran these tests with (it says so in PATCHWATCH_UV), else PATH's."""
    found = os.environ.get("PATCHWATCH_UV") or shutil.which("uv")
    if not found:
        pytest.skip("no uv: run the install tests with ./pw pytest -m install")
    return str(Path(found).resolve())


# -- set-up from the checkout: ./pw on three kinds of machine -----------------------------

SETUP = [line.split("#")[0].strip() for line in
         README[README.index("## Set-up: two commands"):].split("```sh\n", 1)[1].split("```")[0].splitlines()
         if line.strip() and not line.startswith("#")]
LATER = [line.split("  #")[0].strip() for line in
         README[README.index("A new library is empty"):].split("```sh\n", 1)[1].split("```")[0].splitlines()
         if line.strip()]


def test_the_readme_set_up_and_its_later_lines_are_pw_lines():
    assert SETUP == ["./pw patchwatch sync", "./pw pytest"]
    assert len(LATER) >= 5 and all(line.startswith("./pw patchwatch ") for line in LATER)
    # no command line or inline command left that needs uv on PATH
    assert not re.search(r"(^|`)(python3 -m )?uv run \S", README, re.M)


def debian_python() -> str | None:
    """A Python outside any venv whose stdlib holds PEP 668's EXTERNALLY-MANAGED marker."""
    for candidate in ("/usr/bin/python3",):
        if not Path(candidate).exists():
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys, sysconfig, os; print(sys.prefix == sys.base_prefix and "
             "os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"],
            capture_output=True, text=True)
        if probe.stdout.strip() == "True":
            return candidate
    return None


def machine(tmp_path: Path, python: str | None, with_uv: bool) -> tuple[Path, dict[str, str]]:
    """A checkout copy and an environment whose PATH holds only ``python3`` (and ``uv``)."""
    checkout = copy_tree(tmp_path / "checkout")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if python:
        (bin_dir / "python3").symlink_to(python)
    if with_uv:
        (bin_dir / "uv").symlink_to(uv_binary())
    system = [d for d in ("/usr/bin", "/bin") if Path(d).is_dir()]
    env = clean_env(tmp_path, [bin_dir, *system])
    assert (shutil.which("uv", path=env["PATH"]) is not None) is with_uv
    return checkout, env


def set_up_and_use(checkout: Path, env: dict[str, str]) -> None:
    """The README's two set-up commands, then each later line, from the checkout."""
    env = dict(env, PATCHWATCH_DISABLE="steam_pics,steam_http,epic,gog")  # nothing leaves the machine
    sync, tests = SETUP
    run(sync, checkout, env)
    assert (Path(env["HOME"]) / ".local/share/patchwatch/patchwatch.db").exists()
    # The whole suite three times over would take minutes: the README's test command runs,
    # on two of the core's own test files.
    done = run(f"{tests} -q -p no:cacheprovider tests/test_plugin_contract.py tests/test_config_checks.py",
               checkout, env)
    assert " passed" in done.stdout
    (checkout / "my-library.csv").write_text("store,store_id,title\ngog,1207658924,The Witcher\n")
    for line in LATER:
        # sync: the games cannot be checked with every plugin switched off (exit 3, listed)
        run(line, checkout, env, ok=(0, 3) if line.endswith(" sync") else (0,))
    listed = run("./pw patchwatch plugins --json", checkout, env).stdout
    assert {row["name"] for row in json.loads(listed)} >= {"steam_pics", "steam_http", "epic", "gog"}


def test_set_up_on_a_python_org_or_pyenv_python(tmp_path):
    checkout, env = machine(tmp_path, base_python(), with_uv=False)
    set_up_and_use(checkout, env)
    assert (checkout / ".uv-venv/.complete").exists()  # uv went into the checkout


def stand_in_system_python(where: Path) -> str:
    """A copy of the base Python outside any venv, with PEP 668's marker in its stdlib.

    A venv cannot stand in: pip skips the marker check inside one. The binary is copied (so
    its prefix is ``where``), the stdlib is linked entry by entry, and site-packages holds
    only pip, as on Debian with python3-pip.
    """
    base, version = Path(sys.base_prefix), f"python{sys.version_info[0]}.{sys.version_info[1]}"
    stdlib = base / "lib" / version
    if not (stdlib / "os.py").exists():
        pytest.skip(f"the base Python's layout is not <prefix>/lib/{version}")
    (where / "bin").mkdir(parents=True)
    shutil.copy2(Path(sys._base_executable).resolve(), where / "bin" / "python3")  # type: ignore[attr-defined]
    lib = where / "lib" / version
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name != "site-packages":
            (lib / entry.name).symlink_to(entry)
    (lib / "site-packages").mkdir()
    for entry in (stdlib / "site-packages").iterdir():
        if entry.name == "pip" or entry.name.startswith("pip-"):
            (lib / "site-packages" / entry.name).symlink_to(entry)
    (lib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\nError=a stand-in for Debian's Python\n")
    return str(where / "bin" / "python3")


@pytest.mark.parametrize("which", ["system", "stand-in"])
def test_set_up_on_debians_externally_managed_python(tmp_path, which):
    python = debian_python() if which == "system" else stand_in_system_python(tmp_path / "py")
    if python is None:
        pytest.skip("no system Python with an EXTERNALLY-MANAGED marker here (the stand-in runs)")
    checkout, env = machine(tmp_path, python, with_uv=False)
    refused = run("python3 -m pip install uv", checkout, env, ok=(1,))
    assert "externally-managed-environment" in refused.stdout + refused.stderr
    set_up_and_use(checkout, env)
    assert (checkout / ".uv-venv/.complete").exists()
    untouched = run(["python3", "-c", "import importlib.util as u; print(u.find_spec('uv'))"],
                    checkout, env)
    assert untouched.stdout.strip() == "None"  # nothing was installed into the system Python


def test_set_up_on_debians_python_with_pip_but_no_venv_module(tmp_path):
    # python3-pip without python3-venv: pw installs uv with pip --target, which PEP 668 allows
    python = debian_python()
    if python is None:
        pytest.skip("no Python with an EXTERNALLY-MANAGED marker on this machine")
    stubs = tmp_path / "stubs" / "ensurepip"
    stubs.mkdir(parents=True)
    (stubs / "__init__.py").write_text("raise ImportError('ensurepip is in python3-venv')\n")
    wrapper = tmp_path / "python3-without-venv"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={stubs.parent} exec {python} "$@"\n')
    wrapper.chmod(0o755)
    checkout, env = machine(tmp_path, str(wrapper), with_uv=False)
    run("./pw patchwatch --version", checkout, env)
    assert (checkout / ".uv-venv/target/bin/uv").exists()
    assert not (checkout / ".uv-venv/bin").exists()


def test_set_up_on_a_machine_that_has_uv(tmp_path):
    checkout, env = machine(tmp_path, base_python(), with_uv=True)
    set_up_and_use(checkout, env)
    assert not (checkout / ".uv-venv").exists()  # its own uv was used


def test_a_too_old_uv_on_path_is_passed_over_for_a_private_one(tmp_path):
    checkout, env = machine(tmp_path, base_python(), with_uv=False)
    old = Path(env["PATH"].split(os.pathsep)[0]) / "uv"
    old.write_text('#!/bin/sh\necho "uv 0.4.30 (stand-in for an old uv)"\nexit 2\n')
    old.chmod(0o755)
    run("./pw patchwatch --version", checkout, env)
    assert (checkout / ".uv-venv/.complete").exists()


def test_a_python_with_neither_venv_nor_pip_gets_one_line_naming_the_package(tmp_path):
    # Debian without python3-venv and python3-pip: no ensurepip, no pip. Stand-in: a
    # python3 whose ensurepip and pip fail to import, as they do there.
    stubs = tmp_path / "stubs"
    for name in ("ensurepip", "pip"):
        (stubs / name).mkdir(parents=True)
        (stubs / name / "__init__.py").write_text("raise ImportError('not installed (Debian)')\n")
    wrapper = tmp_path / "bare-python3"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={stubs} exec {base_python()} "$@"\n')
    wrapper.chmod(0o755)
    checkout, env = machine(tmp_path, str(wrapper), with_uv=False)
    done = run("./pw patchwatch sync", checkout, env, ok=(1,))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sudo apt install python3-venv" in lines[0], done.stderr
    assert not (checkout / ".venv").exists()


# -- installs outside the checkout --------------------------------------------------------

@pytest.mark.parametrize("pip_version", ["bundled", "24.0"])  # 24.0: python:3.11-slim's
def test_a_hosts_requirements_lines_install_with_pip(tmp_path, clone, pip_version):
    requirements = local(block("install: requirements.txt"), clone)
    requirements = requirements.replace("patchwatch @", "patchwatch[notify] @", 1)  # as the README offers
    (tmp_path / "requirements.txt").write_text(requirements)
    bin_dir = fresh_venv(tmp_path / "host")
    env = clean_env(tmp_path, [bin_dir, "/usr/bin", "/bin"])
    if pip_version != "bundled":
        run([str(bin_dir / "python"), "-m", "pip", "install", "-q", f"pip=={pip_version}"], tmp_path, env)
    pip = run([str(bin_dir / "pip"), "--version"], tmp_path, env).stdout
    assert pip_version == "bundled" or pip.startswith(f"pip {pip_version} ")
    run([str(bin_dir / "pip"), "install", "-q", "-r", "requirements.txt"], tmp_path, env)
    rows = json.loads(run([str(bin_dir / "patchwatch"), "plugins", "--json"], tmp_path, env).stdout)
    assert {(r["name"], r["status"], r["version"]) for r in rows} == {
        (name, "enabled", "0.1.0") for name in ("steam_pics", "steam_http", "epic", "gog")}, pip
    run([str(bin_dir / "python"), "-c", "import apprise"], tmp_path, env)


def test_the_tool_line_puts_the_command_on_path_with_the_chosen_plugins(tmp_path, clone):
    line = block("install: tool").strip()
    checkout = copy_tree(tmp_path / "checkout")
    env = clean_env(tmp_path, [tmp_path / "tool-bin", "/usr/bin", "/bin"],
                    PATCHWATCH_UV=uv_binary(), UV_TOOL_DIR=str(tmp_path / "tools"),
                    UV_TOOL_BIN_DIR=str(tmp_path / "tool-bin"))
    run(line, checkout, env)
    rows = json.loads(run("patchwatch plugins --json", tmp_path, env).stdout)
    assert {r["name"] for r in rows if r["status"] == "enabled"} == {"steam_pics", "steam_http", "epic", "gog"}
    # without --with, a plugin is simply not there: the same line minus gog and epic
    fewer = re.sub(r" --with ./plugins/(gog|epic)", "", line) + " --reinstall"
    run(fewer, checkout, env)
    rows = json.loads(run("patchwatch plugins --json", tmp_path, env).stdout)
    assert {r["name"] for r in rows} == {"steam_pics", "steam_http"}


def test_the_pipx_lines_put_the_command_on_path_with_the_chosen_plugins(tmp_path):
    tools = fresh_venv(tmp_path / "pipx")  # pipx itself, from the index, as a user installs it
    env = clean_env(tmp_path, [tools, tmp_path / "pipx-bin", "/usr/bin", "/bin"],
                    PIPX_HOME=str(tmp_path / "pipx-home"), PIPX_BIN_DIR=str(tmp_path / "pipx-bin"),
                    PIPX_MAN_DIR=str(tmp_path / "pipx-man"))
    run([str(tools / "pip"), "install", "-q", "pipx"], tmp_path, env)
    checkout = copy_tree(tmp_path / "checkout")
    for line in block("install: pipx").strip().splitlines():
        run(line, checkout, env)
    rows = json.loads(run("patchwatch plugins --json", tmp_path, env).stdout)
    assert {r["name"] for r in rows if r["status"] == "enabled"} == {"steam_pics", "steam_http", "epic", "gog"}


def test_the_tool_line_without_a_checkout_installs_from_git(tmp_path, clone):
    env = clean_env(tmp_path, [tmp_path / "bin", tmp_path / "tool-bin", "/usr/bin", "/bin"],
                    UV_TOOL_DIR=str(tmp_path / "tools"), UV_TOOL_BIN_DIR=str(tmp_path / "tool-bin"))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "uv").symlink_to(uv_binary())
    run(local(block("install: tool-git").strip(), clone), tmp_path, env)
    rows = json.loads(run("patchwatch plugins --json", tmp_path, env).stdout)
    assert {(r["name"], r["status"]) for r in rows} == {("gog", "enabled")}


# -- plugin authors: the README's sample, built and tested against the core -----------------

def sample_plugin(where: Path) -> Path:
    """The three files of the README's sample plugin, as written there."""
    for name in ("patchwatch_itch.py", "pyproject.toml", "tests/test_itch.py"):
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_text(block(f"sample: {name}"))
    (where / "README.md").write_text("# patchwatch-itch\n\nA sample patchwatch plugin.\n")
    return where


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    """Every distribution of this working tree, built as CI builds them."""
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ)
    subprocess.run([uv_binary(), "build", "-q", "--all-packages", "-o", str(out)], cwd=ROOT,
                   env=env, check=True, capture_output=True, timeout=STEP)
    built = sorted(p.name for p in out.iterdir() if p.suffix in (".whl", ".gz"))
    projects = 1 + sum(1 for p in (ROOT / "plugins").glob("*/pyproject.toml"))
    assert len(built) == 2 * projects, built  # a wheel and an sdist each
    return out


def test_the_readme_sample_plugin_works_with_the_built_wheels_and_a_smoke_sync(tmp_path, wheels):
    sample = sample_plugin(tmp_path / "patchwatch-itch")
    bin_dir = fresh_venv(tmp_path / "env")
    env = clean_env(tmp_path, [bin_dir, "/usr/bin", "/bin"])
    run([str(bin_dir / "pip"), "install", "-q", *map(str, sorted(wheels.glob("*.whl"))),
         str(sample), "pytest"], tmp_path, env)
    # the sample's own tests, from its folder, against the installed core and its pytest plugin
    done = run([str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], sample, env)
    assert "1 passed" in done.stdout

    # a smoke sync through the command, with the sample plugin found by its entry point
    with FakeStoreServer() as fake:
        fake.route("GET", r"^/uploads/42$", {"id": 9, "version": "2.0", "date": "2026-01-02T03:04:05Z"})
        config = tmp_path / "config.toml"
        config.write_text(f'disable = ["steam_pics", "steam_http", "epic", "gog"]\n'
                          f'[plugins.itch]\napi_url = "{fake.url}"\n')
        cli = [str(bin_dir / "patchwatch"), "--config", str(config), "--db", str(tmp_path / "t.db")]
        run(cli + ["games", "add", "itch", "42", "A Short Hike"], tmp_path, env)
        summary = json.loads(run(cli + ["sync", "--json"], tmp_path, env).stdout)
        assert summary["checked"] == 1 and summary["baselines"] == 1 and summary["failed"] == 0
        assert [r.path for r in fake.requests] == ["/uploads/42"]
    rows = json.loads(run(cli + ["plugins", "--json"], tmp_path, env).stdout)
    assert {r["name"]: r["version"] for r in rows}["itch"] == "0.1.0"

    # a plugin's own tests from its sdist, outside the workspace: the live marker is known
    # (registered by patchwatch's pytest plugin) and live checks skip without -m live
    with tarfile.open(next(wheels.glob("patchwatch_gog-*.tar.gz"))) as sdist:
        sdist.extractall(tmp_path / "sdist", filter="data")
    (unpacked,) = (tmp_path / "sdist").iterdir()
    done = run([str(bin_dir / "python"), "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                "--strict-markers", "tests"], unpacked, env)
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped and all("live check: run with -m live" in line for line in skipped), done.stdout
    assert " passed" in done.stdout and "warning" not in done.stdout.lower()


def test_a_plugin_author_installs_the_core_from_git_beside_the_plugin(tmp_path, clone):
    sample = sample_plugin(tmp_path / "patchwatch-itch")
    bin_dir = fresh_venv(tmp_path / "env")
    env = clean_env(tmp_path, [bin_dir, "/usr/bin", "/bin"])
    run(local(block("install: plugin-author").strip(), clone), sample, env)
    done = run([str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], sample, env)
    assert "1 passed" in done.stdout
    # apprise is the notify extra: not pulled in, and notify says how to add it
    run([str(bin_dir / "python"), "-c", "import importlib.util as u; assert u.find_spec('apprise') is None"],
        sample, env)
    done = run([str(bin_dir / "patchwatch"), "notify", "test", "json://127.0.0.1:9/"], sample, env, ok=(1,))
    assert "pip install 'patchwatch[notify]'" in done.stderr + done.stdout
