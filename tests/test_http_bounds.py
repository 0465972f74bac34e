"""patchwatch.http: every answer's decoded size is capped, and a given-up plugin's waits end."""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
import threading
import time
import zlib

import pytest
import requests

from patchwatch import http
from patchwatch.http import (AnswerTooLarge, HostGate, NotRetried, RetryPolicy, Stopped,
                             controls, new_session, send_with_retries)
from patchwatch.testing import Response, gzip_bomb

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def capped():
    """The test plugin's answers are capped at 1 MiB; restored afterwards."""
    control = controls("capped")
    control.start(max_bytes=1024 * 1024)
    yield control
    control.start(max_bytes=http.DEFAULT_MAX_ANSWER_BYTES)


def test_gzip_bomb_is_refused_naming_the_host(fake_store, capped):
    fake_store.route("GET", "/bomb", gzip_bomb(64 * 1024 * 1024))
    with new_session("capped") as session, pytest.raises(AnswerTooLarge) as caught:
        session.get(f"{fake_store.url}/bomb", timeout=5)
    host = fake_store.url.removeprefix("http://")
    assert str(caught.value).startswith(f"{host} sent more than 1 MiB in one answer")


def test_plain_answer_over_the_cap_is_refused_and_not_retried(fake_store, capped):
    fake_store.route("GET", "/big", Response(body=b"x" * (2 * 1024 * 1024)))
    policy = RetryPolicy(retries=3, backoff=0.01, max_retry_after=5)
    with new_session("capped") as session, pytest.raises(NotRetried) as caught:
        send_with_retries(lambda a: session.get(f"{fake_store.url}/big", timeout=5), policy)
    assert "sent more than 1 MiB" in caught.value.reason
    assert fake_store.count("/big") == 1  # a too-large answer does not shrink on retry


def test_answers_within_the_cap_decode_as_before(fake_store, capped):
    payload = b'{"ok": true, "pad": "' + b"y" * 500_000 + b'"}'
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw_deflate = packer.compress(payload) + packer.flush()
    two_members = gzip.compress(payload[:100]) + gzip.compress(payload[100:])
    fake_store.route("GET", "/gzip", Response(body=gzip.compress(payload),
                                              headers={"Content-Encoding": "gzip"}))
    fake_store.route("GET", "/members", Response(body=two_members,
                                                 headers={"Content-Encoding": "gzip"}))
    fake_store.route("GET", "/zlib", Response(body=zlib.compress(payload),
                                              headers={"Content-Encoding": "deflate"}))
    fake_store.route("GET", "/deflate", Response(body=raw_deflate,
                                                 headers={"Content-Encoding": "deflate"}))
    fake_store.route("GET", "/plain", Response(body=payload))
    with new_session("capped") as session:
        for path in ("/gzip", "/members", "/zlib", "/deflate", "/plain"):
            answer = session.get(f"{fake_store.url}{path}", timeout=5)
            assert answer.content == payload, path
            assert answer.json()["ok"] is True
    assert fake_store.requests[0].headers["Accept-Encoding"] == "gzip, deflate"


MEMORY = textwrap.dedent("""
    import resource, sys
    from patchwatch.http import AnswerTooLarge, new_session
    try:
        new_session("p").get(sys.argv[1], timeout=10)
    except AnswerTooLarge as exc:
        print("refused", exc)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
""")


def test_a_2_gib_gzip_bomb_costs_bounded_memory_with_the_default_cap(fake_store):
    fake_store.route("GET", "/bomb", gzip_bomb(2 * 1024 ** 3))
    done = subprocess.run([sys.executable, "-c", MEMORY, f"{fake_store.url}/bomb"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    refused, peak_mb = done.stdout.splitlines()
    assert refused.startswith("refused 127.0.0.1:") and "more than 64 MiB" in refused
    assert int(peak_mb) < 400  # the 64 MiB cap plus the interpreter, not 2 GiB


def test_give_up_ends_a_trickling_body(fake_store):
    fake_store.route("GET", "/slow", Response(json={"pad": "z" * 100}, trickle=5.0))
    control = controls("trickle-test")
    control.start()
    threading.Timer(0.5, control.give_up).start()
    t0 = time.monotonic()
    with new_session("trickle-test") as session, pytest.raises(Stopped):
        session.get(f"{fake_store.url}/slow", timeout=5)
    assert time.monotonic() - t0 < 1.5  # cut off at once, not at the next byte 5 s later
    control.start()


def test_give_up_ends_a_429_wait_at_the_host_gate(fake_store):
    fake_store.route("GET", "/x", {"ok": True})
    fake_store.fail("/x", 429, times=5, retry_after=59)
    control = controls("gate-test")
    control.start()
    gate = HostGate()
    policy = RetryPolicy(retries=3, backoff=0.01, max_retry_after=60)
    threading.Timer(0.5, control.give_up).start()
    t0 = time.monotonic()
    with new_session("gate-test") as session, pytest.raises(NotRetried) as caught:
        send_with_retries(lambda a: session.get(f"{fake_store.url}/x", timeout=5), policy,
                          gate=gate)
    assert isinstance(caught.value.cause, Stopped)
    assert time.monotonic() - t0 < 3 and fake_store.count("/x") == 1
    control.start()


def test_give_up_ends_a_retry_pause(fake_store):
    fake_store.route("GET", "/y", {"ok": True})
    fake_store.fail("/y", 503, times=5, retry_after=59)
    control = controls("pause-test")
    control.start()
    policy = RetryPolicy(retries=3, backoff=0.01, max_retry_after=60)
    threading.Timer(0.5, control.give_up).start()
    t0 = time.monotonic()
    with new_session("pause-test") as session, pytest.raises(NotRetried):
        send_with_retries(lambda a: session.get(f"{fake_store.url}/y", timeout=5), policy,
                          sleep=time.sleep)
    assert time.monotonic() - t0 < 3
    with new_session("pause-test") as session, pytest.raises(Stopped):
        session.get(f"{fake_store.url}/y", timeout=5)  # nothing more is sent
    control.start()


def test_a_real_plugin_fails_only_the_game_whose_answer_is_too_large(capped):
    """The gog plugin, untouched, gets the cap through new_session("gog")."""
    from patchwatch_gog import check_updates_bulk
    from patchwatch_gog.testing import gog_game, serve_gog

    control = controls("gog")
    control.start(max_bytes=1024 * 1024)
    try:
        with serve_gog() as gog:
            gog.catalogue.add_product(1207658930)
            gog.catalogue.add_product(1207658931)
            gog.server.fail(gog.builds_pattern(1207658930), gzip_bomb(256 * 1024 * 1024),
                            times=10)
            answers = dict(check_updates_bulk(
                games=[gog_game(1207658930, 1), gog_game(1207658931, 2)],
                settings={**gog.settings, "backoff": 0.01, "timeout": 5}))
            host = gog.server.url.removeprefix("http://")
            assert gog.server.count(gog.builds_pattern(1207658930)) == 1  # not retried
    finally:
        control.start(max_bytes=http.DEFAULT_MAX_ANSWER_BYTES)
    assert answers[1].status == "error"
    assert f"{host} sent more than 1 MiB in one answer" in answers[1].message
    assert answers[2].value  # the other game is answered as usual
