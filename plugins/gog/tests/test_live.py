"""Opt-in live check: do GOG's real APIs still have the shapes the fake assumes?

Run with ``uv run pytest -m live plugins/gog``; deselected otherwise, and skipped with the
reason when GOG cannot be reached. It sends a handful of anonymous GETs.
"""

from __future__ import annotations

import pytest
from patchwatch.testing.live import require_online

pytestmark = pytest.mark.live

BUILDS = "https://content-system.gog.com"
API = "https://api.gog.com"
WITCHER_2 = 1207658930
"""In gogapidocs' own builds example, and sold with Windows, macOS and Linux downloads."""


@pytest.fixture(scope="module")
def http(request):
    require_online(request.config, BUILDS)
    import requests

    with requests.Session() as session:
        yield session


def test_builds_answer_shape(http):
    answer = http.get(f"{BUILDS}/products/{WITCHER_2}/os/windows/builds", params={"generation": 2},
                      timeout=15).json()

    assert {"total_count", "count", "items", "has_private_branches"} <= set(answer)
    assert answer["count"] == len(answer["items"]) <= answer["total_count"]
    for item in answer["items"]:
        assert {"build_id", "os", "branch", "version_name", "public", "date_published",
                "generation", "link"} <= set(item)
        assert item["os"] == "windows" and item["generation"] in (1, 2)
    dates = [item["date_published"] for item in answer["items"]]
    assert dates == sorted(dates, reverse=True), "items are no longer newest first"
    assert any(item["branch"] is None for item in answer["items"])


def test_no_linux_builds(http):
    answer = http.get(f"{BUILDS}/products/{WITCHER_2}/os/linux/builds", params={"generation": 2},
                      timeout=15)

    assert answer.status_code == 404 or not answer.json().get("items"), "GOG now has Linux builds"


def test_paging_parameters_change_nothing(http):
    url = f"{BUILDS}/products/{WITCHER_2}/os/windows/builds"
    plain = http.get(url, params={"generation": 2}, timeout=15).json()
    paged = http.get(url, params={"generation": 2, "page": 2, "offset": 1, "limit": 1}, timeout=15).json()

    assert paged["items"] == plain["items"], "the builds list can be paged after all"


def test_product_installers_shape(http):
    answer = http.get(f"{API}/products/{WITCHER_2}", params={"expand": "downloads"}, timeout=15).json()

    installers = answer["downloads"]["installers"]
    assert installers
    assert {i["os"] for i in installers} <= {"windows", "mac", "linux"}
    for installer in installers:
        assert {"id", "os", "language", "version", "total_size", "files"} <= set(installer)
        assert installer["version"] is None or isinstance(installer["version"], str)
    assert "downloads" not in http.get(f"{API}/products/{WITCHER_2}", timeout=15).json()
