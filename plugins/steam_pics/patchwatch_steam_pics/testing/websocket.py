"""The fake CM's websocket side: TLS with a certificate made at test time, then one Steam
message per binary websocket message (SteamKit ``WebSocketConnection.cs``: ``wss``, path
``/cmsocket/``, no ``VT01`` framing, no channel encryption: TLS does it)."""

from __future__ import annotations

import collections
import socket
import ssl
import threading
from typing import Any

PATH = "/cmsocket/"


class TestCertificate:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it (``trustme``)."""

    def __init__(self) -> None:
        try:
            import trustme
        except ImportError as exc:  # pragma: no cover - the testing extra is missing
            raise RuntimeError("FakeSteamCM(websocket=True) needs trustme: "
                               "pip install 'patchwatch-steam-pics[testing]'") from exc
        self._ca = trustme.CA()
        self._leaf = self._ca.issue_cert("127.0.0.1")
        self.ca_pem: str = self._ca.cert_pem.bytes().decode()
        """The CA certificate a client must trust (PEM)."""

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._leaf.configure_cert(context)
        return context


class WebSocketPipe:
    """A server-side TLS + websocket stream over a blocking socket, safe for one reader
    thread and one writer thread (TLS runs on memory BIOs under a lock, so the socket is
    only ever read by the reader and written by the writer)."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        from wsproto import ConnectionType, WSConnection

        self.sock = sock
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._in, self._out, server_side=True)
        self._ws = WSConnection(ConnectionType.SERVER)
        self._lock = threading.Lock()
        self._messages: collections.deque[bytes] = collections.deque()
        self._partial = bytearray()

    # -- TLS ------------------------------------------------------------------------------
    def _flush(self) -> None:
        data = self._out.read()
        if data:
            self.sock.sendall(data)

    def _pump_in(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("client closed the connection")
        with self._lock:
            self._in.write(data)

    def handshake(self) -> None:
        while True:
            with self._lock:
                try:
                    self._tls.do_handshake()
                    done = True
                except ssl.SSLWantReadError:
                    done = False
                self._flush()
            if done:
                return
            self._pump_in()

    def _read_plain(self) -> bytes:
        while True:
            with self._lock:
                try:
                    return self._tls.read(65536)
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLZeroReturnError:
                    return b""
                finally:
                    self._flush()
            self._pump_in()

    def _write_plain(self, data: bytes) -> None:
        with self._lock:
            self._tls.write(data)
            self._flush()

    # -- websocket -----------------------------------------------------------------------
    def _next_events(self, when: str = "") -> list[Any]:
        """Read what the client sent next and the websocket events it completes."""
        data = self._read_plain()
        if not data:
            raise ConnectionResetError(" ".join(("client closed the connection", when)).strip())
        with self._lock:
            self._ws.receive_data(data)
            return list(self._ws.events())

    def accept(self) -> str:
        """Complete the websocket upgrade; returns the requested path."""
        from wsproto.events import AcceptConnection, RejectConnection, Request

        while True:
            for event in self._next_events("during the upgrade"):
                if isinstance(event, Request):
                    if event.target != PATH:
                        self._write_plain(self._ws.send(RejectConnection(status_code=404)))
                        raise ConnectionResetError(f"websocket request for {event.target!r}")
                    self._write_plain(self._ws.send(AcceptConnection()))
                    return event.target

    def read_message(self) -> bytes:
        """The next complete binary message (one Steam message)."""
        from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

        while not self._messages:
            for event in self._next_events():
                if isinstance(event, BytesMessage):
                    self._partial += event.data
                    if event.message_finished:
                        self._messages.append(bytes(self._partial))
                        self._partial.clear()
                elif isinstance(event, Ping):
                    self._write_plain(self._ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    raise ConnectionResetError("client closed the websocket")
                elif isinstance(event, TextMessage):
                    continue  # Steam sends binary only
        return self._messages.popleft()

    def send_message(self, payload: bytes) -> None:
        from wsproto.events import BytesMessage

        with self._lock:
            data = self._ws.send(BytesMessage(data=payload))
        self._write_plain(data)


def serve_websocket(connection: Any, context: ssl.SSLContext) -> None:
    """Run one fake-CM connection over websocket (called in the connection's thread)."""
    pipe = WebSocketPipe(connection.sock, context)
    pipe.handshake()
    pipe.accept()
    connection.pipe = pipe
    connection.cm._record("websocket", None, connection.number)
    while True:
        connection._dispatch(pipe.read_message())
