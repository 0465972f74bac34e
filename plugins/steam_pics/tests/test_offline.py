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
    # an error raised in a thread of the session would print its traceback here
    assert "Traceback" not in err and "DirectoryError" not in err, err


def test_a_directory_that_answers_means_the_network_works(fallback_closed, capfd):
    with FakeSteamDirectory([]) as directory:
        directory.http.fail(PATH, 503, times=100)
        reason = is_available({"directory_url": directory.url, "connect_timeout": 2})
    assert isinstance(reason, str) and "HTTP 503" in reason  # a broken store, not offline
    assert "Traceback" not in capfd.readouterr().err


def test_a_job_that_raises_in_the_session_prints_nothing(steam_cm, settings, capfd):
    from patchwatch_steam_pics.session import session_for
    from patchwatch_steam_pics.settings import Settings

    def job(client):  # runs in a session worker thread, as every PICS request does
        raise ZeroDivisionError("a bug in a job")

    with pytest.raises(ZeroDivisionError):
        session_for(Settings.from_mapping(settings)).call(job, timeout=10)
    err = capfd.readouterr().err  # an uncaught error in a thread would print its traceback
    assert "Traceback" not in err and "ZeroDivisionError" not in err, err


def test_a_malformed_message_drops_the_connection_with_one_line(steam_cm, settings, capfd):
    """A CM that sends a message whose protobuf header does not parse: the reader thread
    ends the connection with a reason, nothing is printed, the next call logs on again."""
    import struct

    from patchwatch_steam_pics import pics
    from patchwatch_steam_pics.session import session_for
    from patchwatch_steam_pics.settings import Settings

    session = session_for(Settings.from_mapping(settings))
    connection = session.call(lambda client: client, timeout=10)
    bad = struct.pack("<II", 8904 | 0x80000000, 4) + b"\xff\xff\xff\xff"  # a header that is not protobuf
    connection._read_tcp = iter([bad]).__next__  # what the reader reads after the answer below
    session.call(pics.changes_since, 0, 5.0, timeout=10)  # wakes the reader (a real answer)
    connection._reader.join(5)  # the bad message ends the reader thread
    assert not connection.connected and "malformed" in (connection.drop_reason or "")
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    assert is_available(settings) is True  # the next call logs on again
    assert steam_cm.logons == 2
