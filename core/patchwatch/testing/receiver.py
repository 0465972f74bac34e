"""A loopback receiver of Apprise ``json://`` notifications, for tests and benchmarks.

Point a notify URL at it (``receiver.apprise_url`` → ``json://127.0.0.1:<port>/notify``)
and read what arrived from :attr:`messages`. It is a :class:`FakeStoreServer` with one
route, so it can be stopped and started again on the same port (the "receiver is down
for a while" case), answer with an error :attr:`status`, or take the server's faults
(``receiver.server.fail(...)``: delays, dropped connections, 5xx).

    with NotificationReceiver() as receiver:
        config = Config(notify=[receiver.apprise_url])
        ...
        receiver.wait_for(1)
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from .http import FakeStoreServer, Request, Response


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
    """Records the Apprise ``json://`` posts to ``path`` on 127.0.0.1."""

    def __init__(self, port: int = 0, path: str = "/notify") -> None:
        self.server = FakeStoreServer(port=port)
        self.path = path
        self.messages: list[Received] = []
        self.status = 200
        """The HTTP status to answer with; Apprise counts anything outside 2xx as failed."""
        self.malformed = 0
        self._cond = threading.Condition()
        self.server.route("POST", re.escape(path), self._receive)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}{self.path}"

    def start(self) -> "NotificationReceiver":
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until :meth:`start` again, same port)."""
        self.server.stop()

    def __enter__(self) -> "NotificationReceiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _receive(self, request: Request) -> Response:
        try:
            body = request.json()
            message = Received(str(body["title"]), str(body["message"]), str(body.get("type")),
                               str(body.get("version")), time.time(), request.path,
                               dict(request.headers))
        except (ValueError, KeyError, TypeError):
            with self._cond:
                self.malformed += 1
            return Response(400, json={"error": "not an Apprise JSON notification"})
        with self._cond:
            if self.status < 300:
                self.messages.append(message)
            self._cond.notify_all()
        return Response(self.status)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` messages arrived (or ``timeout``); returns them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            return list(self.messages)
