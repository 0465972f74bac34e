"""A plugin built for another hook contract is refused in one line, never imported."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.metadata import distribution

import pytest
from click.testing import CliRunner

import patchwatch
import patchwatch.plugins as plugins_module
from patchwatch.cli import cli
from patchwatch.plugins import contract_error, new_plugin_manager
from patchwatch.testing import ExamplePlugin


@dataclass
class FakeDist:
    """What the loader reads of an installed distribution (importlib.metadata.Distribution)."""

    name: str
    version: str
    requires: list[str] | None = field(default_factory=list)


@dataclass
class FakeEntryPoint:
    name: str
    value: str
    dist: FakeDist
    loaded: list[str] = field(default_factory=list)

    def load(self):
        self.loaded.append(self.name)
        return ExamplePlugin(store=self.name)


@pytest.mark.parametrize("requires, fits", [
    ([], True),
    (["patchwatch"], True),
    (["requests>=2.31", f"patchwatch>={patchwatch.__version__}"], True),
    (["patchwatch<0.1"], False),
    (["PatchWatch>=99,<100"], False),                       # names compare canonicalised
    (["patchwatch[notify]>=99"], False),
    (['patchwatch>=99; extra == "dev"'], True),            # only the plugin's own extra asks it
    (["not a requirement at all ((("], True),
])
def test_the_plugins_requirement_on_the_core_decides(requires, fits):
    error = contract_error(FakeDist("patchwatch-itch", "2.0", requires))
    assert (error is None) is fits
    if not fits:
        assert error.startswith("patchwatch-itch 2.0 is built for patchwatch")
        assert f"this is patchwatch {patchwatch.__version__}" in error


def test_a_plugin_for_another_core_is_listed_as_error_and_never_imported(monkeypatch, tmp_path):
    wrong = FakeEntryPoint("itch", "patchwatch.testing.example",
                           FakeDist("patchwatch-itch", "3.1.0", ["patchwatch>=3,<4"]))
    right = FakeEntryPoint("good", "patchwatch.testing.example",
                           FakeDist("patchwatch-good", "1.0", [f"patchwatch=={patchwatch.__version__}"]))
    monkeypatch.setattr(plugins_module, "entry_points", lambda group: [wrong, right])
    pm = new_plugin_manager(entry_points=True)
    assert wrong.loaded == [] and right.loaded == ["good"]
    assert pm.load_errors == {"itch": "patchwatch-itch 3.1.0 is built for patchwatch<4,>=3, this is "
                                      f"patchwatch {patchwatch.__version__}: install a patchwatch-itch made for it"}
    with pytest.raises(RuntimeError, match="plugin itch: patchwatch-itch 3.1.0 is built for"):
        new_plugin_manager(entry_points=True, strict=True)

    monkeypatch.setattr(plugins_module, "_default", None)
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "plugins", "--json"],
                                env={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["itch"]["status"] == "error" and "built for patchwatch<4,>=3" in rows["itch"]["why"]
    assert rows["itch"]["version"] == "3.1.0"
    assert rows["good"]["status"] == "enabled"


def test_the_shipped_plugins_fit_this_core():
    for name in ["patchwatch-steam-pics", "patchwatch-steam-http", "patchwatch-epic", "patchwatch-gog"]:
        dist = distribution(name)
        assert any(r.startswith("patchwatch") and "<" in r and ">=" in r for r in dist.requires), dist.requires
        assert contract_error(dist) is None
