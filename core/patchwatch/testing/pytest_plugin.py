"""pytest fixtures shipped with patchwatch (entry point ``pytest11``)."""

from __future__ import annotations

from typing import Iterator

import pytest

from .http import FakeStoreServer


@pytest.fixture
def fake_store() -> Iterator[FakeStoreServer]:
    """A started loopback :class:`FakeStoreServer`; add routes with ``fake_store.route``."""
    with FakeStoreServer() as server:
        yield server
