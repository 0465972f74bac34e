"""Offline (issue 18, point 2): one line, no traceback, and unreachable told from broken."""

from __future__ import annotations

import pytest

from patchwatch import http as core_http
from patchwatch_steam_pics import is_available, servers
from patchwatch_steam_pics.session import close_sessions
from patchwatch_steam_pics.testing import FakeSteamDirectory, closed_address
from patchwatch_steam_pics.testing.directory import PATH

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def fallback_closed(monkeypatch):
    host, port = closed_address().split(":")
    monkeypatch.setattr(servers, "FALLBACK", (("netfilter", host, int(port)),))
    yield
    close_sessions()


def test_nothing_reachable_raises_unreachable_and_prints_no_traceback(fallback_closed, capfd):
    directory = f"http://{closed_address()}{PATH}"  # nothing listens: refused, as offline
    with pytest.raises(core_http.Unreachable, match="no Steam CM reachable"):
        is_available({"directory_url": directory, "connect_timeout": 2})
    err = capfd.readouterr().err
    # gevent's thread pool prints the traceback of an error raised in it (Hub.handle_error).
    assert "Traceback" not in err and "DirectoryError" not in err, err


def test_a_directory_that_answers_means_the_network_works(fallback_closed, capfd):
    with FakeSteamDirectory([]) as directory:
        directory.http.fail(PATH, 503, times=100)
        reason = is_available({"directory_url": directory.url, "connect_timeout": 2})
    assert isinstance(reason, str) and "HTTP 503" in reason  # a broken store, not offline
    assert "Traceback" not in capfd.readouterr().err


def test_a_greenlet_that_raises_in_the_session_prints_nothing(steam_cm, settings, capfd):
    import gevent

    from patchwatch_steam_pics.session import session_for
    from patchwatch_steam_pics.settings import Settings

    def fail() -> None:
        raise ZeroDivisionError("a bug in a greenlet")

    def job(client):  # runs in the session's hub, as every PICS request does
        worker = gevent.spawn(fail)
        worker.join()
        return worker.exception

    raised = session_for(Settings.from_mapping(settings)).call(job, timeout=10)
    assert isinstance(raised, ZeroDivisionError)
    err = capfd.readouterr().err  # gevent's hub prints a greenlet's traceback to stderr
    assert "Traceback" not in err and "ZeroDivisionError" not in err, err
