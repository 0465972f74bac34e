"""The ``steam`` client as the session uses it: one server, no auto-discovery, capped
``Multi``, and a websocket transport.

**Websocket** (SteamKit ``WebSocketConnection.cs``): TLS to ``wss://host:port/cmsocket/``,
one Steam message per binary websocket message, no ``VT01`` framing and no channel
encryption (TLS does it). ``steam`` 1.4.4 has only TCP (a websocket PR for it, #469, was
closed unmerged), so :class:`WebSocketConnection` plugs into its ``Connection`` interface,
with ``wsproto`` (sans-IO, so it runs on the hub's gevent sockets as they are) for the
websocket protocol.

``steam``'s own ``Multi`` handler (``steam/core/cm.py``) gunzips a bundle whole, with no
limit: a hostile or broken CM can make it allocate gigabytes. Here the bundle is decoded
in pieces up to the core's answer cap (``max_answer_mb``, read from
``patchwatch.http.controls("steam_pics")``); more drops the connection, and the pending
requests fail with a message naming the server.
"""

from __future__ import annotations

import logging
import struct
import zlib
from typing import Any

from . import servers

log = logging.getLogger(__name__)
PLUGIN = "steam_pics"
CHUNK = 256 * 1024
TLS_CA_DATA: str | None = None
"""PEM of the only CA to trust for websocket CMs (tests: the fake's CA); None: the system's."""


def max_bytes() -> int:
    """The decoded size one answer may have (the core's ``max_answer_mb``)."""
    from patchwatch import http

    return http.controls(PLUGIN).max_bytes


def make_client(server: "servers.Server") -> Any:
    """A ``SteamClient`` that will connect to ``server`` only."""
    from steam.client import SteamClient
    from steam.enums.emsg import EMsg

    client = SteamClient()
    client.auto_discovery = False  # never bootstrap a CM list from the web API or DNS
    client.cm_servers.clear()
    client.cm_servers.merge_list([(server.host, server.port)])
    client.drop_reason = None
    """Why the session hung up on this client itself (a request reports it)."""
    client.remove_listener(EMsg.Multi, client._CMClient__handle_multi)
    client.on(EMsg.Multi, lambda msg: _handle_multi(client, server, msg))
    if server.kind == servers.WEBSOCKET:
        client.connection = WebSocketConnection(client, server)

        def secured(*_: Any) -> None:
            # No ChannelEncryptRequest comes over a websocket: the channel is TLS.
            client.channel_secured = True
            client.emit(client.EVENT_CHANNEL_SECURED)

        client.on(client.EVENT_CONNECTED, secured)
    return client


def tls_context() -> Any:
    """A gevent TLS context (its sockets yield to the hub) verifying host and certificate."""
    import gevent.ssl

    context = gevent.ssl.SSLContext(gevent.ssl.PROTOCOL_TLS_CLIENT)  # check_hostname, CERT_REQUIRED
    if TLS_CA_DATA:
        context.load_verify_locations(cadata=TLS_CA_DATA)
    else:
        context.load_default_certs()
    return context


def _make_connection_class() -> type:
    from steam.core.connection import Connection

    class _WebSocketConnection(Connection):
        """``steam``'s connection interface over ``wss://host:port/cmsocket/``."""

        def __init__(self, client: Any, server: "servers.Server") -> None:
            super().__init__()
            self.client = client
            self.server = server
            self.ws: Any = None

        def _new_socket(self) -> None:
            import gevent.socket

            self.socket = gevent.socket.socket(gevent.socket.AF_INET, gevent.socket.SOCK_STREAM)

        def _connect(self, server_addr: tuple[str, int]) -> None:
            from wsproto import ConnectionType, WSConnection
            from wsproto.events import AcceptConnection, RejectConnection, Request
            from wsproto.utilities import ProtocolError

            host, port = server_addr
            self.socket.connect((host, port))
            self.socket = tls_context().wrap_socket(self.socket, server_hostname=host)
            self.ws = WSConnection(ConnectionType.CLIENT)
            try:
                self.socket.sendall(self.ws.send(Request(host=f"{host}:{port}", target="/cmsocket/")))
                while True:
                    data = self.socket.recv(65536)
                    if not data:
                        raise OSError(f"{self.server} closed the connection during the websocket upgrade")
                    self.ws.receive_data(data)
                    for event in self.ws.events():
                        if isinstance(event, AcceptConnection):
                            return
                        if isinstance(event, RejectConnection):
                            raise OSError(f"{self.server} refused the websocket upgrade "
                                          f"(HTTP {event.status_code})")
            except ProtocolError as exc:
                raise OSError(f"{self.server}: websocket upgrade failed: {exc}") from None

        def _writer_loop(self) -> None:
            from wsproto.events import BytesMessage

            while True:
                message = self.send_queue.get()
                try:
                    self.socket.sendall(self.ws.send(BytesMessage(data=message)))
                except Exception:  # noqa: BLE001 - any failure ends the connection
                    self.disconnect()
                    return

        def _reader_loop(self) -> None:
            from wsproto.events import BytesMessage, CloseConnection, Ping

            partial = bytearray()
            while True:
                try:
                    data = self.socket.recv(65536)
                    if data:
                        self.ws.receive_data(data)
                        events = list(self.ws.events())
                except Exception:  # noqa: BLE001 - OSError, TLS or websocket protocol errors
                    data = b""
                if not data:
                    self.disconnect()
                    return
                for event in events:
                    if isinstance(event, BytesMessage):
                        partial += event.data
                        if len(partial) > max_bytes():
                            self.client.drop_reason = (
                                f"Steam CM {self.server} sent a websocket message of more than "
                                f"{max_bytes() / 1048576:g} MiB (max_answer_mb)")
                            self.disconnect()
                            return
                        if event.message_finished:
                            self.recv_queue.put(bytes(partial))
                            partial = bytearray()
                    elif isinstance(event, Ping):
                        try:
                            self.socket.sendall(self.ws.send(event.response()))
                        except Exception:  # noqa: BLE001
                            self.disconnect()
                            return
                    elif isinstance(event, CloseConnection):
                        self.disconnect()
                        return
                    # Text messages: Steam sends none that matter (SteamKit only logs them).

    return _WebSocketConnection


_connection_class: type | None = None


def WebSocketConnection(client: Any, server: "servers.Server") -> Any:  # noqa: N802 - a factory
    """A websocket ``Connection`` for ``client`` (the class is built on first use, so this
    module imports without ``steam``)."""
    global _connection_class
    if _connection_class is None:
        _connection_class = _make_connection_class()
    return _connection_class(client, server)


def _handle_multi(client: Any, server: "servers.Server", msg: Any) -> None:
    """Unpack a ``Multi`` like ``steam`` does, but never decode more than the cap."""
    import gevent

    cap = max_bytes()
    try:
        data = _unpack(msg.body, cap, server)
    except ValueError as exc:
        client.drop_reason = str(exc)
        log.warning("steam_pics: %s", exc)
        gevent.spawn(client.disconnect)
        return
    offset = 0
    while offset + 4 <= len(data):
        (size,) = struct.unpack_from("<I", data, offset)
        client._parse_message(data[offset + 4:offset + 4 + size])
        offset += 4 + size


def _unpack(body: Any, cap: int, server: "servers.Server") -> bytes:
    too_much = (f"Steam CM {server} sent a Multi message of more than {cap / 1048576:g} MiB "
                f"decoded (max_answer_mb)")
    if not body.size_unzipped:
        if len(body.message_body) > cap:
            raise ValueError(too_much)
        return body.message_body
    if body.size_unzipped > cap:
        raise ValueError(too_much)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip
    pieces, total = [], 0
    pending = body.message_body
    while pending:
        piece = inflater.decompress(pending, CHUNK)
        total += len(piece)
        if total > cap:
            raise ValueError(too_much)
        pieces.append(piece)
        pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    pieces.append(inflater.flush(CHUNK))
    if total + len(pieces[-1]) > cap:
        raise ValueError(too_much)
    data = b"".join(pieces)
    if len(data) != body.size_unzipped:
        raise ValueError(f"Steam CM {server} sent a Multi message whose size does not match "
                         f"({len(data)} bytes decoded, {body.size_unzipped} announced)")
    return data
