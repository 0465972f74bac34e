"""A loopback receiver of Apprise ``json://`` notifications, for tests and benchmarks.

Point a notify URL at it (``receiver.apprise_url`` → ``json://127.0.0.1:<port>/notify``)
and read what arrived from :attr:`messages`. It can be stopped and started again on the
same port (the "receiver is down for a while" case) and can answer with an error status.

    with NotificationReceiver() as receiver:
        config = Config(notify=[receiver.apprise_url])
        ...
        receiver.wait_for(1)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One notification as Apprise's JSON plugin posts it."""

    # apprise/plugins/custom_json.py (caronc/apprise): the body is a JSON object with
    # "version" ("1.0"), "title", "message", "attachments" and "type" (info, success, ...).
    title: str
    message: str
    type: str
    version: str
    at: float
    """``time.time()`` when it arrived."""
    path: str
    headers: dict[str, str]


class NotificationReceiver:
    """An HTTP server on 127.0.0.1 recording Apprise ``json://`` posts."""

    def __init__(self, port: int = 0, path: str = "/notify") -> None:
        self.port = port
        self.path = path
        self.messages: list[Received] = []
        self.status = 200
        """The HTTP status to answer with; Apprise counts anything outside 2xx as failed."""
        self.malformed = 0
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}{self.path}"

    def start(self) -> "NotificationReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                receiver._record(self.path, dict(self.headers), raw)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="notification-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until :meth:`start` again, same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "NotificationReceiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _record(self, path: str, headers: dict[str, str], raw: bytes) -> None:
        try:
            body = json.loads(raw)
            message = Received(str(body["title"]), str(body["message"]), str(body.get("type")),
                               str(body.get("version")), time.time(), path, headers)
        except (ValueError, KeyError, TypeError):
            with self._lock:
                self.malformed += 1
            return
        with self._lock:
            if self.status < 300:
                self.messages.append(message)
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` messages arrived (or ``timeout``); returns them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < count and time.monotonic() < deadline:
                self._lock.wait(max(0.0, deadline - time.monotonic()))
            return list(self.messages)
