"""One anonymous Steam connection per process, shared by every thread that asks.

Callers in any thread (a web app's worker, the core's sync thread, a background job) hand
work to the session with :meth:`SteamSession.submit` and get a
``concurrent.futures.Future``. Each piece of work runs in one of the session's worker
threads (``steam-pics-job``, started on demand, gone after a minute idle); the CM protocol
tags every request with a job id, so requests from several callers share the one
connection and may overlap. Connecting and logging on happen once, under a lock, and
again (with exponential backoff after failures) when the connection drops. The session's
own thread (``steam-pics-session``) sends the heartbeats that keep an idle connection
alive. Plain threads and blocking sockets: no event loop, no monkey-patching.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import os
import threading
import time
from typing import Any, Callable, TypeVar

from . import servers
from .settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class PicsError(RuntimeError):
    """A PICS request failed: timeout, dropped connection, refusal."""


class PicsUnavailable(PicsError):
    """No logged-on connection to a CM (unreachable, logon refused, backing off)."""


class PicsUnreachable(PicsUnavailable):
    """No CM could be reached at all (no network, no route, every connection refused)."""


class _ServerFailed(Exception):
    """One CM would not log us on (unreachable, refused, silent): try the next one."""

    def __init__(self, reason: str, *, reached: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reached = reached


# Logon answers that mean "this CM cannot take you, another may" (steam/core/cm.py
# _handle_logon marks the server bad for both; SteamKit CMClient does the same).
FAILOVER_RESULTS = ("TryAnotherCM", "ServiceUnavailable")
MAX_ATTEMPTS = 8
"""Servers tried per logon at most (each within what is left of ``connect_timeout``)."""


MAX_WORKERS = 32
"""Worker threads per session at most (requests in flight from every caller together)."""
IDLE_WORKER_SECONDS = 60.0


class SteamSession:
    """An anonymous CM connection for one server source, shared within the process."""

    def __init__(self, cm_servers: tuple[tuple[str, str, int], ...] | None = None,
                 directory_url: str = servers.DIRECTORY_URL, transport: str = "auto") -> None:
        self.directory_url = directory_url
        self.kinds = {"auto": (servers.TCP, servers.WEBSOCKET), "tcp": (servers.TCP,),
                      "websocket": (servers.WEBSOCKET,)}[transport]
        """Server kinds to try, in this order (auto: websocket when no TCP server works)."""
        self.server_list: servers.ServerList | None = servers.from_settings(cm_servers) if cm_servers else None
        """The servers to try; made on first logon unless given."""
        self.directory_error = ""
        self.directory_reached = False
        """The Steam Directory answered during the last logon (so the network works)."""
        self._directory_retry_at = 0.0
        self._list_lock = threading.Lock()
        self.connect_timeout = 10.0
        self.retry_backoff = 1.0
        self.retry_backoff_max = 60.0
        self.logons = 0
        """How many times this session logged on (1 while the connection holds)."""
        self._pid = os.getpid()
        self._jobs: collections.deque[tuple[Callable[..., Any], tuple, concurrent.futures.Future]] = (
            collections.deque()
        )
        self._work_ready = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._closed = False
        self._client: Any = None
        self._logon_lock = threading.Lock()
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""
        self._last_kind: type[PicsUnavailable] = PicsUnavailable
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._thread = threading.Thread(target=self._keep_alive, name="steam-pics-session", daemon=True)
        self._thread.start()

    def configure(self, settings: Settings) -> None:
        self.connect_timeout = settings.connect_timeout
        self.retry_backoff = settings.retry_backoff
        self.retry_backoff_max = settings.retry_backoff_max

    def adopt(self, cached: "servers.ServerList | None") -> None:
        """Use a directory list an earlier check kept (``state["cm_list"]``) when it is
        better than what the session has: nothing, the fallback, or an older list."""
        with self._list_lock:
            current = self.server_list
            if cached is None or (current is not None and current.source == "settings"):
                return
            if current is None or current.source == "fallback" or cached.fetched_at > current.fetched_at:
                if current is not None:
                    cached.bad.update(current.bad)
                self.server_list = cached

    def cached_list(self) -> dict[str, Any] | None:
        """The server list worth keeping in state (one that came from the directory)."""
        current = self.server_list
        if current is not None and current.source in ("directory", "state"):
            return current.to_state()
        return None

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closed and self._pid == os.getpid()

    # -- called from any thread --------------------------------------------------------
    def submit(self, fn: Callable[..., T], *args: Any) -> "concurrent.futures.Future[T]":
        """Run ``fn(client, *args)`` in a worker thread once logged on; returns a future."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._work_ready:
            if not self.alive:
                future.set_exception(PicsUnavailable("the Steam session is closed"))
                return future
            self._jobs.append((fn, args, future))
            if self._idle == 0 and len(self._workers) < MAX_WORKERS:
                worker = threading.Thread(target=self._worker, name="steam-pics-job", daemon=True)
                self._workers.append(worker)
                self._idle += 1
                worker.start()
            self._work_ready.notify()
        return future

    def call(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        """:meth:`submit` and wait at most ``timeout`` seconds for the result."""
        return wait(self.submit(fn, *args), timeout)

    def close(self) -> None:
        """Log off, stop the session's threads, fail what was still queued."""
        with self._work_ready:
            if self._closed:
                return
            self._closed = True
            pending = list(self._jobs)
            self._jobs.clear()
            workers = list(self._workers)
            self._work_ready.notify_all()
        for _, _, future in pending:
            if future.set_running_or_notify_cancel():
                future.set_exception(PicsUnavailable("the Steam session is closed"))
        self._stop.set()
        self._changed.set()
        self._disconnect(log_off=True)
        for thread in [self._thread, *workers]:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    # -- the session's threads -----------------------------------------------------------
    def _worker(self) -> None:
        while True:
            with self._work_ready:
                while not self._jobs and not self._closed:
                    if not self._work_ready.wait(IDLE_WORKER_SECONDS) and not self._jobs:
                        self._idle -= 1
                        self._workers.remove(threading.current_thread())
                        return
                if self._closed:
                    self._idle -= 1
                    return
                fn, args, future = self._jobs.popleft()
                self._idle -= 1
            try:
                if future.set_running_or_notify_cancel():
                    self._work(fn, args, future)
            finally:
                with self._work_ready:
                    self._idle += 1

    def _keep_alive(self) -> None:
        """Send ``ClientHeartBeat`` every ``heartbeat_seconds`` the logon answer asked for
        (steam ``core/cm.py``, SteamKit ``CMClient``: a fixed interval while logged on)."""
        while not self._stop.is_set():
            client = self._client
            wait_for = 30.0
            if client is not None and client.logged_on:
                due = client.last_heartbeat + client.heartbeat_seconds
                wait_for = due - time.monotonic()
                if wait_for <= 0:
                    client.heartbeat()
                    continue
            self._changed.wait(min(wait_for, 30.0))
            self._changed.clear()

    def _work(self, fn: Callable[..., Any], args: tuple, future: concurrent.futures.Future) -> None:
        client = None
        try:
            client = self._logged_on_client()
            future.set_result(fn(client, *args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            if isinstance(exc, PicsError) and client is not None and client is self._client:
                self._disconnect()  # a CM that timed out or dropped us is not trusted again
            future.set_exception(exc if isinstance(exc, Exception) else PicsError(repr(exc)))

    def _logged_on_client(self) -> Any:
        with self._logon_lock:
            if self._closed:
                raise PicsUnavailable("the Steam session is closed")
            if self._client is not None and self._client.logged_on:
                return self._client
            wait_for = self._retry_at - time.monotonic()
            if wait_for > 0:
                raise self._last_kind(f"{self._last_error} (next try in {wait_for:.1f} s)")
            try:
                self._client = self._logon()
            except PicsUnavailable as exc:
                self._failures += 1
                self._last_error = str(exc)
                self._last_kind = type(exc)
                delay = min(self.retry_backoff_max, self.retry_backoff * 2 ** (self._failures - 1))
                self._retry_at = time.monotonic() + delay
                raise
            self._failures = 0
            self._retry_at = 0.0
            self.logons += 1
            self._changed.set()  # the keep-alive thread learns the new heartbeat interval
            return self._client

    def _logon(self) -> Any:
        """Log on to the first server that takes us, moving on after a refusal, a
        ``TryAnotherCM`` / ``ServiceUnavailable`` answer or silence, all within
        ``connect_timeout``."""
        self._disconnect()
        self.directory_reached = False
        deadline = time.monotonic() + self.connect_timeout
        server_list = self._servers(deadline)
        candidates = [s for kind in self.kinds for s in server_list.ordered([kind])][:MAX_ATTEMPTS]
        if not candidates:
            names = " or ".join("TCP" if k == servers.TCP else "websocket" for k in self.kinds)
            raise PicsUnavailable(f"no {names} Steam CM in the {server_list.source} server list")
        failures: list[tuple[servers.Server, _ServerFailed]] = []
        for n, server in enumerate(candidates):
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                break
            last = n == len(candidates) - 1
            budget = remaining if last else max(remaining / 2, min(remaining, 1.0))
            try:
                client = self._logon_to(server, budget)
            except _ServerFailed as failure:
                server_list.mark_bad(server)
                failures.append((server, failure))
                log.info("steam_pics: %s: %s; trying the next CM", server, failure.reason)
                continue
            log.debug("logged on to %s", server)
            return client
        unreached = (bool(failures) and not any(f.reached for _, f in failures)
                     and not self.directory_reached)
        raise (PicsUnreachable if unreached else PicsUnavailable)(self._explain(failures, server_list))

    def _explain(self, failures: list[tuple["servers.Server", _ServerFailed]],
                 server_list: "servers.ServerList") -> str:
        source = f" ({server_list.source} list; {self.directory_error})" if self.directory_error else ""
        if not failures:
            return f"no time left to reach a Steam CM within {self.connect_timeout:g} s{source}"
        if not any(f.reached for _, f in failures):
            return "no Steam CM reachable: " + ", ".join(f"{s} ({f.reason})" for s, f in failures) + source
        if len(failures) == 1:
            return failures[0][1].reason + source
        return (f"no Steam CM would log us on ({len(failures)} tried): "
                + "; ".join(f"{s} ({f.reason})" for s, f in failures) + source)

    def _servers(self, deadline: float) -> "servers.ServerList":
        """The server list: the one given or cached while fresh, else the Steam Directory's,
        else a stale cached one, else the built-in fallback."""
        with self._list_lock:
            current = self.server_list
        if current is not None and current.fresh:
            return current
        if self.directory_url and time.monotonic() >= self._directory_retry_at:
            timeout = max(0.5, min(5.0, (deadline - time.monotonic()) / 2))
            try:
                fetched = servers.read_directory(self.directory_url, timeout)
            except Exception as exc:  # noqa: BLE001 - a surprise is still one line, not a traceback
                if not isinstance(exc, servers.DirectoryError):
                    exc = servers.DirectoryError(f"Steam Directory {self.directory_url}: {type(exc).__name__}: {exc}")
                self.directory_reached = exc.reached
                self.directory_error = str(exc) or f"Steam Directory gave no answer within {timeout:g} s"
                self._directory_retry_at = time.monotonic() + servers.BAD_FOR
                log.info("steam_pics: %s", self.directory_error)
            else:
                self.directory_reached = True
                self.directory_error = ""
                with self._list_lock:
                    if self.server_list is not None:
                        fetched.bad.update(self.server_list.bad)
                    self.server_list = fetched
                return fetched
        with self._list_lock:
            if self.server_list is None:
                self.server_list = servers.fallback()
            return self.server_list

    def _logon_to(self, server: "servers.Server", budget: float) -> Any:
        from . import messages
        from .client import CMClient, Refused

        started = time.monotonic()
        client = CMClient(server)
        try:
            client.connect(budget)
        except Refused as exc:
            raise _ServerFailed(f"{exc.args[0] if exc.args else 'refused'}", reached=True) from None
        except OSError as exc:
            raise _ServerFailed(exc.strerror or str(exc) or "timed out", reached=False) from None
        left = budget - (time.monotonic() - started)
        try:
            result = client.logon(left)
        except Refused as exc:
            client.close()
            raise _ServerFailed(str(exc), reached=True) from None
        if result != messages.OK or not client.logged_on:
            client.close()
            name = messages.eresult_name(result)
            if name in FAILOVER_RESULTS:
                raise _ServerFailed(f"anonymous logon refused by Steam: {name}", reached=True)
            raise PicsUnavailable(f"anonymous logon refused by Steam: {name}")
        return client

    def _disconnect(self, log_off: bool = False) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close() if log_off else client.disconnect()
            except Exception:  # noqa: BLE001 - already gone
                pass

def wait(future: "concurrent.futures.Future[T]", timeout: float) -> T:
    """The future's result; :class:`PicsError` if it takes longer than ``timeout`` s."""
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise PicsError(f"no answer from the Steam session within {timeout:g} s") from None


_sessions: dict[tuple[Any, ...], SteamSession] = {}
_sessions_lock = threading.Lock()


def session_for(settings: Settings) -> SteamSession:
    """The process's session for these servers (made on first use)."""
    key = settings.session_key
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None or not session.alive:
            session = _sessions[key] = SteamSession(settings.cm_servers, settings.directory_url,
                                                    settings.transport)
        session.configure(settings)
        return session


def close_sessions() -> None:
    """Log off and stop every session of this process (tests; a host shutting down)."""
    with _sessions_lock:
        sessions = list(_sessions.values())
        _sessions.clear()
    for session in sessions:
        session.close()
