"""pytest fixtures shipped with patchwatch (entry point ``pytest11``, name ``patchwatch``).

pytest loads this in every project where patchwatch is installed, a host's included, so it
stays inert: it registers the ``live`` marker (what :mod:`patchwatch.testing.live` opts in
to) and offers the ``fake_store`` fixture, which imports the fake only when a test asks
for it. It changes no test's outcome. A host that wants none of it runs ``pytest -p
no:patchwatch``; a fixture of the same name in the host's own conftest wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from .http import FakeStoreServer

LIVE = ("live: talks to the real services over the internet (opt in: pytest -m live); "
        "skips with its reason unless asked for or when offline")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", LIVE)


@pytest.fixture
def fake_store() -> Iterator[FakeStoreServer]:
    """A started loopback :class:`FakeStoreServer`; add routes with ``fake_store.route``."""
    from .http import FakeStoreServer

    with FakeStoreServer() as server:
        yield server
