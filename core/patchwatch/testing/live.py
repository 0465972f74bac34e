"""Opt-in live checks: confirm against the real store what a fake assumes.

Live tests carry the ``live`` marker, which the default run deselects (``-m "not live"``
in the project's pytest options); ``pytest -m live`` opts in. :func:`require_online` makes
sure of both before any packet leaves the machine, so a live test run by mistake, or on a
machine without internet, skips with its reason instead of failing or hanging.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest


def opted_in(config: pytest.Config) -> bool:
    """Whether this run asked for live tests with ``-m live`` (and not ``not live``)."""
    markexpr = config.getoption("markexpr", default="") or ""
    return "live" in markexpr and "not live" not in markexpr


def require_online(config: pytest.Config, target: str, port: int = 443,
                   timeout: float = 5.0) -> None:
    """Skip the calling test unless live tests were asked for and ``target`` answers.

    ``target`` is a host name or a URL (its host is used). One TCP connection is tried,
    bounded by ``timeout``.
    """
    if not opted_in(config):
        pytest.skip("live check: run with -m live")
    host = urlsplit(target).hostname if "//" in target else target
    try:
        socket.create_connection((host or target, port), timeout=timeout).close()
    except OSError as exc:
        pytest.skip(f"offline: cannot reach {host}:{port} ({exc})")
