"""What every distribution publishes: one version, a license, a page that stands alone."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

import pytest
from click.testing import CliRunner

import patchwatch
from patchwatch.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))
PROJECTS = [ROOT, *PLUGINS]


def pyproject(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: p.name)
def test_every_distribution_takes_the_cores_version_and_ships_the_license(folder):
    data = pyproject(folder)
    project = data["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    source = (folder / data["tool"]["hatch"]["version"]["path"]).resolve()
    assert source == ROOT / "core" / "patchwatch" / "__init__.py"
    assert distribution(project["name"]).version == patchwatch.__version__
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert (folder / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert project["readme"] == "README.md" and project["classifiers"]
    assert all(url.startswith("https://") for url in project["urls"].values())


def test_the_license_is_apache_2_in_full():
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and len(text) > 11000


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: p.name)
def test_each_readme_reads_on_an_index_page(folder):
    text = (folder / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [link for link in links if not re.match(r"https?://|#|mailto:", link)]
    assert relative == []  # a relative link is dead on an index page
    if folder != ROOT:
        name = pyproject(folder)["project"]["name"]
        assert f'"{name} @ git+https://' in text  # how to install it with the core


def test_the_root_readmes_anchors_exist():
    text = (ROOT / "README.md").read_text()
    headings = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", text, re.M)}
    anchors = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert anchors and anchors <= headings, anchors - headings


def test_without_apprise_notify_says_in_one_line_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "apprise", None)  # import apprise -> ImportError
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "t.db"), "notify", "test",
                                      "json://127.0.0.1:9/"],
                                env={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'patchwatch[notify]'" in lines[0], result.output


def test_apprise_is_the_notify_extra_not_a_core_requirement():
    requires = distribution("patchwatch").requires or []
    core = [r for r in requires if "extra ==" not in r]
    assert not any(r.startswith("apprise") for r in core)
    assert any(r.startswith("apprise") and "notify" in r.split(";")[1] for r in requires)


def test_the_auto_loaded_pytest_plugin_is_inert(pytestconfig):
    from patchwatch.testing import pytest_plugin

    hooks = {name for name in vars(pytest_plugin) if name.startswith("pytest_")}
    assert hooks == {"pytest_configure"}  # registers the marker; changes no test's outcome
    assert any(line.startswith("live:") for line in pytestconfig.getini("markers"))


def test_the_repository_url_is_one_value_everywhere():
    """The repository's address is written in several files; they must all agree with the
    core's ``Homepage`` (changing it is one find-and-replace that this test checks)."""
    home = pyproject(ROOT)["project"]["urls"]["Homepage"]
    owner_repo = re.compile(r"https://github\.com/[\w.-]+/patchwatch\b")
    texts = [(folder / name).read_text() for folder in PROJECTS for name in ("README.md", "pyproject.toml")]
    found = {m.group(0) for text in texts for m in owner_repo.finditer(text)}
    assert found == {home}
