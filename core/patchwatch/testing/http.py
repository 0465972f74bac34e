"""A loopback HTTP server that plays a store's API in tests, with fault injection."""

from __future__ import annotations

import json as jsonlib
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    """Named groups of the route pattern that matched."""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return jsonlib.loads(self.body or b"null")


@dataclass
class Response:
    """What a route or fault answers. ``json`` wins over ``body`` when given."""

    status: int = 200
    json: Any = None
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (a slow or timing-out server)."""
    drop: bool = False
    """Close the connection without answering."""
    trickle: float = 0.0
    """Send the headers at once, then the body one byte every ``trickle`` seconds: a read
    timeout never fires, as it counts silence between bytes, not the whole download
    (github.com/psf/requests/issues/4276)."""

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.json is not None:
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
            return jsonlib.dumps(self.json).encode(), headers
        body = self.body or b""
        return (body.encode() if isinstance(body, str) else body), headers


def gzip_bomb(decoded_bytes: int, *, status: int = 200) -> Response:
    """A JSON-typed answer with a valid gzip body that is small (about 1/1000) but decodes to
    ``decoded_bytes`` spaces, rounded up to whole MiB: the decompression bomb of CWE-409
    (github.com/advisories/GHSA-2xpw-w6gg-jr37). Built in well under a second for 2 GiB."""
    import struct
    import zlib

    block = b" " * (1 << 20)
    blocks = max(1, -(-decoded_bytes // len(block)))
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)  # same bytes each time
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    body = (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first + again * (blocks - 1)
            + packer.flush() + struct.pack("<II", crc, (blocks * len(block)) & 0xFFFFFFFF))
    return Response(status, body=body, headers={"Content-Type": "application/json",
                                               "Content-Encoding": "gzip"})


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up (a capped or given-up read) is normal here, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


Handler = Callable[[Request], "Response | dict | list"]

MALFORMED = Response(200, body=b'{"truncated": [1, 2', headers={"Content-Type": "application/json"})
"""A canned malformed JSON answer for fault injection."""


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    method: str | None
    response: Response
    remaining: int


class FakeStoreServer:
    """Serves registered routes on ``127.0.0.1`` on a free port.

    Routes are regular expressions matched against the whole path (no query string);
    named groups reach the handler as ``request.params``. A handler returns a
    :class:`Response`, or a dict/list sent as JSON. ``latency`` (seconds) is added to every
    answer. Faults queued with :meth:`fail` take precedence over routes.
    """

    def __init__(self, latency: float = 0.0, port: int = 0):
        self.latency = latency
        self.port = port
        """0: a free port, chosen at the first start; later starts reuse it."""
        self.requests: list[Request] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- set-up --------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler | Response | dict | list) -> None:
        """Answer ``method pattern`` with ``handler`` (a callable or a fixed answer)."""
        if not callable(handler):
            fixed = handler
            handler = lambda request: fixed  # noqa: E731
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def fail(
        self,
        pattern: str = ".*",
        response: Response | int = 503,
        *,
        times: int = 1,
        method: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` requests matching ``pattern`` with ``response``.

        ``response`` may be a status code (``429``, ``503``), :data:`MALFORMED`, or any
        :class:`Response` (``Response(delay=30)`` for a timeout, ``Response(drop=True)``
        for a dropped connection). ``retry_after`` adds a ``Retry-After`` header.
        """
        if isinstance(response, int):
            response = Response(response, json={"error": f"injected {response}"})
        if retry_after is not None:
            response = Response(
                response.status, response.json, response.body,
                {**response.headers, "Retry-After": f"{retry_after:g}"}, response.delay, response.drop,
            )
        with self._lock:
            self._faults.append(_Fault(re.compile(pattern), method, response, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def count(self, pattern: str = ".*", method: str | None = None) -> int:
        """How many requests so far had a path matching ``pattern``."""
        regex = re.compile(pattern)
        return sum(
            1 for r in list(self.requests)
            if regex.fullmatch(r.path) and (method is None or r.method == method.upper())
        )

    # -- life cycle ----------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeStoreServer":
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once, as from a real server

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        self._server = _QuietServer(("127.0.0.1", self.port), _Handler)
        self.port = self._server.server_address[1]  # a restart comes back on the same port
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeStoreServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- serving -------------------------------------------------------------
    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        request = Request(
            method=http.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k: v for k, v in http.headers.items()},
            body=http.rfile.read(length) if length else b"",
        )
        with self._lock:
            self.requests.append(request)
        response = self._fault_for(request) or self._dispatch(request)
        delay = self.latency + response.delay
        if delay:
            time.sleep(delay)
        if response.drop:
            http.close_connection = True
            try:
                http.connection.shutdown(2)
            except OSError:
                pass
            return
        body, headers = response.encoded()
        try:
            http.send_response(response.status)
            for key, value in headers.items():
                http.send_header(key, value)
            http.send_header("Content-Length", str(len(body)))
            http.end_headers()
            if http.command != "HEAD" and response.trickle:
                http.wfile.flush()
                for i in range(len(body)):
                    if self._server is None:  # the fake is stopping
                        break
                    http.wfile.write(body[i:i + 1])
                    http.wfile.flush()
                    time.sleep(response.trickle)
            elif http.command != "HEAD":
                http.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout ran out)

    def _fault_for(self, request: Request) -> Response | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.pattern.fullmatch(request.path) and (
                    fault.method is None or fault.method.upper() == request.method
                ):
                    fault.remaining -= 1
                    return fault.response
        return None

    def _dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                request.params = match.groupdict()
                try:
                    answer = handler(request)
                except Exception as exc:  # a bug in a test's handler: answer 500, say why
                    return Response(500, body=f"fake handler failed: {exc!r}")
                return answer if isinstance(answer, Response) else Response(json=answer)
        return Response(404, json={"error": "no route", "path": request.path})


def closed_port() -> str:
    """``127.0.0.1:<port>`` where nothing listens (the port was free a moment ago): a host
    that refuses connections. Prefix ``http://`` for a URL."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"
