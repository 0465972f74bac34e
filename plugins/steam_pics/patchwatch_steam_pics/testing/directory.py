"""A fake Steam Directory: ``ISteamDirectory/GetCMListForConnect`` on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from patchwatch.testing import FakeStoreServer
from patchwatch.testing.http import Request

PATH = "/ISteamDirectory/GetCMListForConnect/v1/"


class FakeSteamDirectory:
    """Serves a CM list through :class:`FakeStoreServer`.

    ``servers`` are ``(type, "host:port")`` pairs, best first (``netfilter`` for TCP,
    ``websockets`` for websocket CMs); :attr:`url` is the plugin's ``directory_url``.
    Faults come from the HTTP fake: ``directory.http.fail(PATH, 503)``.

        with FakeSteamDirectory([("netfilter", cm.server)]) as directory:
            settings = {"directory_url": directory.url}
    """

    def __init__(self, servers: list[tuple[str, str]] | None = None, *, extra_types: bool = True) -> None:
        self.servers = list(servers or [])
        self.extra_types = extra_types
        self.http = FakeStoreServer()
        self.http.route("GET", PATH, self._answer)

    @property
    def url(self) -> str:
        return self.http.url + PATH

    def count(self) -> int:
        return self.http.count(PATH)

    def _answer(self, request: Request) -> dict[str, Any]:
        entries = []
        for n, (kind, endpoint) in enumerate(self.servers):
            # SteamKit SteamDirectory.cs reads "endpoint" and "type" (netfilter / websockets);
            # the other fields are as Steam's answer carries them (README: assumptions).
            entries.append({"endpoint": endpoint, "legacy_endpoint": endpoint, "type": kind,
                            "dc": "lo1", "realm": "steamglobal", "load": 10 + n, "wtd_load": 10.0 + n})
        if self.extra_types:
            # SteamKit SteamDirectory.cs: a "china" type exists and is skipped by clients.
            entries.append({"endpoint": "cm.invalid:443", "legacy_endpoint": "cm.invalid:443",
                            "type": "china", "dc": "sha1", "realm": "steamchina", "load": 0, "wtd_load": 0.0})
        return {"response": {"serverlist": entries, "success": True, "message": ""}}

    def start(self) -> "FakeSteamDirectory":
        self.http.start()
        return self

    def stop(self) -> None:
        self.http.stop()

    def __enter__(self) -> "FakeSteamDirectory":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
