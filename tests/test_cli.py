"""The command line: set-up, sync, listing, exit codes and one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from patchwatch.cli import cli
from patchwatch.testing import ExamplePlugin


def test_help_explains_every_command(run):
    result = run("--help")
    assert result.exit_code == 0
    for command in ("sync", "plugins", "updates", "games"):
        assert command in result.output
        assert run(command, "--help").exit_code == 0


def test_add_sync_then_report_updates(run, installed_pm):
    plugin = ExamplePlugin(catalogue={"570": 1})
    installed_pm(steam_x=plugin)
    assert run("games", "add", "steam", "570", "Dota 2").exit_code == 0
    first = run("sync")
    assert first.exit_code == 0, first.output
    assert "1 checked (1 new baselines)" in first.output
    plugin.catalogue["570"] = 2
    second = run("sync", "--json")
    data = json.loads(second.output)
    assert second.exit_code == 0 and data["updated"] == 1
    assert data["updates"][0]["new_value"] == "2"
    listed = run("updates", "--since", "1d", "--json")
    assert [u["title"] for u in json.loads(listed.output)] == ["Dota 2"]
    assert "Dota 2" in run("updates").output
    assert "No updates" in run("updates", "--since", "2999-01-01").output


def test_partial_sync_exits_3_and_names_the_games(run, installed_pm):
    installed_pm(steam_x=ExamplePlugin(catalogue={}))
    run("games", "add", "steam", "1", "Gone")
    run("games", "add", "itch", "x", "Other", "--force")  # no plugin serves itch
    result = run("sync")
    assert result.exit_code == 3
    assert "NOT_FOUND steam:1 Gone" in result.output
    assert "UNSUPPORTED itch:x" in result.output


def test_import_csv_and_json_counts_and_refuses_bad_rows(run, tmp_path, installed_pm):
    installed_pm()
    csv_file = tmp_path / "games.csv"
    csv_file.write_text("store,store_id,title\nsteam,10,A\ngog,20,B\n")
    assert run("games", "import", str(csv_file)).output == \
        "2 added, 0 already in the library, 0 refused\n"
    again = run("games", "import", str(csv_file))
    assert again.exit_code == 0 and "0 added, 2 already in the library" in again.output
    json_file = tmp_path / "games.json"
    json_file.write_text(json.dumps([{"store": "epic", "store_id": "Fn", "title": "C",
                                      "extra_data": {"namespace": "fn"}}]))
    assert run("games", "import", str(json_file)).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("store,store_id,title\nsteam,30,D\n,40,E\n")
    result = CliRunner().invoke(cli, ["games", "import", str(bad)])
    assert result.exit_code == 3
    assert "refused game #2: both store and store_id are required" in result.output
    assert "1 added, 0 already in the library, 1 refused" in result.output
    assert "Traceback" not in result.output
    listed = json.loads(run("games", "list", "--json").output)
    assert sorted(g["store_id"] for g in listed) == ["10", "20", "30", "Fn"]


@pytest.mark.parametrize("text", [
    "Store,Store ID,Name\nSteam,10,A\ngog,20,B\n",
    "store;store_id;title\nsteam;10;A\ngog;20;B\n",
    "\ufeffSTORE\tstore-id\tTitle\nsteam\t10\tA\n\ngog\t20\tB\n",
])
def test_csv_headers_in_any_case_and_separator(run, tmp_path, text):
    path = tmp_path / "games.csv"
    path.write_text(text, encoding="utf-8")
    assert run("games", "import", str(path)).exit_code == 0
    listed = json.loads(run("games", "list", "--json").output)
    assert sorted((g["store"], g["store_id"], g["title"]) for g in listed) == [
        ("gog", "20", "B"), ("steam", "10", "A")]


def test_a_csv_without_the_columns_is_one_line(run, tmp_path):
    path = tmp_path / "games.csv"
    path.write_text("game,platform\nDota,steam\n")
    result = run("games", "import", str(path))
    assert result.exit_code == 1 and "CSV needs a header with at least store and store_id" \
        in result.output and len(result.output.strip().splitlines()) == 1


def test_corrupt_database_is_one_line_and_exit_1(run, db_path):
    db_path.write_bytes(b"garbage" * 200)
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: database")
    assert str(db_path) in result.output and "Traceback" not in result.output


def test_bad_config_is_one_line_and_exit_1(run, tmp_path):
    (tmp_path / "config.toml").write_text("timeout = \n")
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 1 and "config.toml" in result.output


def test_plugins_lists_store_priority_and_state(run, installed_pm, monkeypatch):
    installed_pm(high=ExamplePlugin(priority=90), low=ExamplePlugin(priority=10),
                 gog=ExamplePlugin("gog", priority=5))
    monkeypatch.setenv("PATCHWATCH_DISABLE", "low")
    rows = json.loads(run("plugins", "--json").output)
    assert [(r["name"], r["store"], r["priority"], r["status"]) for r in rows] == [
        ("gog", "gog", 5, "enabled"), ("high", "steam", 90, "enabled"),
        ("low", "steam", 10, "disabled")]
    text = run("plugins").output
    assert "disabled" in text and "high" in text


def test_plugins_shows_breaker_state(run, installed_pm):
    plugin = ExamplePlugin(catalogue={"1": 1})
    plugin.available = "CM unreachable"
    installed_pm(pics=plugin)
    run("games", "add", "steam", "1")
    for _ in range(3):
        run("sync")
    [row] = json.loads(run("plugins", "--json").output)
    assert row["status"].startswith("off until") and "CM unreachable" in row["why"]


def test_bad_since_is_a_usage_error(run, installed_pm):
    result = CliRunner().invoke(cli, ["updates", "--since", "yesterdayish"])
    assert result.exit_code == 2 and "span like 7d" in result.output
