"""A fake Steam CM server on 127.0.0.1 that the plugin's own client talks to.

It speaks Steam's CM protocol over TCP: ``VT01`` framing, the channel encryption
handshake (RSA-OAEP session key, AES with HMAC-derived IVs), anonymous logon, heartbeats,
``Multi`` (gzip) bundles and the PICS requests (changes since, product info in several
parts, access tokens). Its catalogue is data that tests mutate; faults are injected per
request kind. The only thing a test changes in the client is the universe public key
(:meth:`FakeSteamCM.patched_universe_key`), since the fake cannot hold Valve's private key.

    with FakeSteamCM() as cm, cm.patched_universe_key():
        cm.catalogue.add_app(440, "Team Fortress 2", buildid=100)
        settings = {"cm_servers": cm.server}
"""

import socket

from .catalogue import Catalogue, FakeApp, FakeBranch
from .directory import FakeSteamDirectory
from .server import Fault, FakeSteamCM, Received
from .wire import fake_key

__all__ = ["closed_address", "Catalogue", "FakeApp", "FakeBranch", "FakeSteamCM", "FakeSteamDirectory", "Fault", "Received", "fake_key"]


def closed_address() -> str:
    """``127.0.0.1:<port>`` where nothing listens (a CM that refuses the connection)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"
