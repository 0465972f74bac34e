"""GOG's builds list can hold fewer builds than its total_count says (393 with count 10)."""

from __future__ import annotations

import requests

from patchwatch import Problem, Signal
from patchwatch_gog.testing import GogCatalogue, gog_game, serve_gog

PID = 1207658930


def _beta_flood(catalogue: GogCatalogue, os: str = "windows", n: int = 12) -> None:
    for i in range(n):
        catalogue.publish_build(PID, os, f"2.0-beta{i}", branch="beta")


def test_fake_lists_at_most_list_limit_and_ignores_paging():
    catalogue = GogCatalogue(list_limit=10)
    catalogue.add_product(PID, version="1.0")
    _beta_flood(catalogue)
    with serve_gog(catalogue) as gog:
        url = f"{gog.settings['builds_url']}/products/{PID}/os/windows/builds"
        first = requests.get(url, params={"generation": 2}, timeout=5).json()
        paged = requests.get(url, params={"generation": 2, "page": 2, "offset": 10, "limit": 50},
                             timeout=5).json()

    assert (first["total_count"], first["count"], len(first["items"])) == (13, 10, 10)
    assert {i["branch"] for i in first["items"]} == {"beta"}
    assert paged == first


def test_newer_beta_builds_hiding_the_default_build_are_not_hidden():
    catalogue = GogCatalogue(list_limit=10)
    catalogue.add_product(PID, "Busy Beta", version="1.0")
    _beta_flood(catalogue)
    with serve_gog(catalogue) as gog:
        from patchwatch_gog import check_updates_bulk

        [(_, problem)] = list(check_updates_bulk(games=[gog_game(PID, 1)], settings=gog.settings))

    assert isinstance(problem, Problem)
    assert problem.status == "error"  # not "hidden": the build may well exist
    assert "10 of 13" in problem.message and "default branch" in problem.message


def test_default_build_within_the_listed_builds_is_reported():
    catalogue = GogCatalogue(list_limit=10)
    catalogue.add_product(PID, version="1.0")
    _beta_flood(catalogue, n=5)
    new = catalogue.publish_build(PID, "windows", "1.1")
    _beta_flood(catalogue, n=5)
    with serve_gog(catalogue) as gog:
        from patchwatch_gog import check_updates_bulk

        [(_, signal)] = list(check_updates_bulk(games=[gog_game(PID, 1)], settings=gog.settings))

    assert isinstance(signal, Signal) and signal.value == new.build_id


def test_one_unsure_os_does_not_drop_out_of_the_value():
    # With os = windows,osx, reporting only osx would change the value: a false update.
    catalogue = GogCatalogue(list_limit=10)
    catalogue.add_product(PID, oses=("windows", "osx"))
    _beta_flood(catalogue, "windows")
    with serve_gog(catalogue) as gog:
        from patchwatch_gog import check_updates_bulk

        [(_, result)] = list(check_updates_bulk(games=[gog_game(PID, 1)],
                                                settings={**gog.settings, "os": "windows,osx"}))

    assert isinstance(result, Problem) and "windows builds" in result.message
