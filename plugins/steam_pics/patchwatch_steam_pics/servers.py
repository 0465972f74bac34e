"""Which Steam CM servers to try, in what order: the Steam Directory, a cache, a fallback.

Steam clients get their servers from ``ISteamDirectory/GetCMListForConnect`` (SteamKit
``SteamDirectory.cs``): a list of ``netfilter`` (TCP) and ``websockets`` entries, each an
``endpoint`` ``host:port``. The list is kept for a week (SteamKit
``SmartCMServerList.ServerListBeforeRefreshTimeSpan``), a server that failed is tried last
for five minutes (``BadConnectionMemoryTimeSpan``), and when the directory cannot be
reached a small built-in list is the last resort (SteamKit ``DefaultServerNetfilter`` /
``DefaultServerWebsocket``; ``cm0.steampowered.com``, the old default, no longer resolves).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

TCP = "netfilter"
WEBSOCKET = "websockets"
KINDS = (TCP, WEBSOCKET)

DIRECTORY_URL = "https://api.steampowered.com/ISteamDirectory/GetCMListForConnect/v1/"
FALLBACK = (
    (TCP, "ext1-sea1.steamserver.net", 27017),
    (WEBSOCKET, "cmp1-sea1.steamserver.net", 443),
)
"""SteamKit's defaults since Oct 2024 (SmartCMServerList.cs), used when nothing else works."""
REFRESH_AFTER = 7 * 24 * 3600.0
BAD_FOR = 300.0


class DirectoryError(RuntimeError):
    """The Steam Directory could not be read or gave no usable server."""

    def __init__(self, message: str, *, reached: bool = False) -> None:
        super().__init__(message)
        self.reached = reached
        """It answered (an HTTP error, an unusable body): the network works."""


@dataclass(frozen=True)
class Server:
    kind: str
    """``netfilter`` (TCP) or ``websockets``."""
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.address if self.kind == TCP else f"wss://{self.address}/cmsocket/"


@dataclass
class ServerList:
    """An ordered list of servers, where it came from and when, and which failed lately."""

    servers: list[Server]
    source: str
    """``settings``, ``directory``, ``state`` (a directory list cached by an earlier check) or ``fallback``."""
    fetched_at: float = 0.0
    """Wall-clock time the directory gave it (0 when it did not come from the directory)."""
    bad: dict[Server, float] = field(default_factory=dict)

    @property
    def fresh(self) -> bool:
        return self.source == "settings" or (
            self.source in ("directory", "state") and time.time() - self.fetched_at < REFRESH_AFTER)

    def ordered(self, kinds: Iterable[str]) -> list[Server]:
        """Servers of ``kinds``: good ones first (in list order), then those that failed lately."""
        now = time.monotonic()
        wanted = [s for s in self.servers if s.kind in tuple(kinds)]
        good = [s for s in wanted if self.bad.get(s, 0.0) <= now]
        return good + [s for s in wanted if s not in good]

    def mark_bad(self, server: Server) -> None:
        self.bad[server] = time.monotonic() + BAD_FOR

    def to_state(self) -> dict[str, Any]:
        return {"fetched_at": self.fetched_at,
                "servers": [[s.kind, s.host, s.port] for s in self.servers]}

    @classmethod
    def from_state(cls, value: Any) -> "ServerList | None":
        """The list a check saved in ``state["cm_list"]``; None when absent or damaged."""
        try:
            servers = [Server(str(kind), str(host), int(port)) for kind, host, port in value["servers"]]
            fetched_at = float(value["fetched_at"])
        except (TypeError, ValueError, KeyError):
            return None
        servers = [s for s in servers if s.kind in KINDS]
        return cls(servers, "state", fetched_at) if servers else None


def fallback() -> ServerList:
    return ServerList([Server(*entry) for entry in FALLBACK], "fallback")


def from_settings(servers: Iterable[tuple[str, str, int]]) -> ServerList:
    return ServerList([Server(kind, host, port) for kind, host, port in servers], "settings")


def read_directory(url: str, timeout: float, cell_id: int = 0) -> ServerList:
    """``GetCMListForConnect``: the servers Steam offers this client, best first."""
    import requests

    from patchwatch.http import new_session

    session = new_session("steam_pics", pool_size=1)
    try:
        response = session.get(url, params={"cellid": cell_id}, timeout=timeout)
    except requests.RequestException as exc:
        raise DirectoryError(f"Steam Directory {url} unreachable: {type(exc).__name__}") from None
    finally:
        session.close()
    if response.status_code != 200:
        raise DirectoryError(f"Steam Directory {url} answered HTTP {response.status_code}",
                             reached=True)
    try:
        return parse_directory(response.json())
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise DirectoryError(f"Steam Directory {url} sent an unusable answer: {exc}",
                             reached=True) from None


def parse_directory(answer: Mapping[str, Any]) -> ServerList:
    """The ``response`` of ``GetCMListForConnect``; entries of unknown types are skipped."""
    body = answer["response"]
    if not body.get("success", False):
        raise ValueError(f"success is false ({body.get('message') or 'no message'})")
    servers = []
    for entry in body.get("serverlist", []):
        kind, endpoint = entry.get("type"), entry.get("endpoint")
        if kind not in KINDS or not isinstance(endpoint, str):
            continue  # SteamKit SteamDirectory.cs skips other types (e.g. "china")
        host, sep, port = endpoint.rpartition(":")
        if not sep or not host or not port.isdigit():
            continue
        servers.append(Server(kind, host, int(port)))
    if not servers:
        raise ValueError("no netfilter or websockets server in serverlist")
    return ServerList(servers, "directory", time.time())
