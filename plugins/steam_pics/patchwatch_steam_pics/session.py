"""One anonymous Steam connection per process, driven by its own thread and gevent hub.

The ``steam`` client is built on gevent. Rather than asking the host to monkey-patch, the
session runs the client in a daemon thread that owns a private gevent hub. Callers in
any ordinary thread hand it work through :meth:`SteamSession.submit` (a thread-safe
queue plus a libev ``async`` watcher that wakes the hub) and wait on a
``concurrent.futures.Future``. Inside the hub each piece of work is a greenlet; the CM
protocol tags every request with a job id, so requests from several callers share the
one connection and may overlap. Connecting and logging on happen once, under a lock,
and again (with exponential backoff after failures) when the connection drops.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import os
import threading
import time
from typing import Any, Callable, TypeVar

from .settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class PicsError(RuntimeError):
    """A PICS request failed: timeout, dropped connection, refusal."""


class PicsUnavailable(PicsError):
    """No logged-on connection to a CM (unreachable, logon refused, backing off)."""


class SteamSession:
    """An anonymous CM connection for one list of servers, shared within the process."""

    def __init__(self, servers: tuple[tuple[str, int], ...]) -> None:
        self.servers = servers
        self.connect_timeout = 10.0
        self.retry_backoff = 1.0
        self.retry_backoff_max = 60.0
        self.logons = 0
        """How many times this session logged on (1 while the connection holds)."""
        self._pid = os.getpid()
        self._jobs: collections.deque[tuple[Callable[..., Any], tuple, concurrent.futures.Future]] = (
            collections.deque()
        )
        self._ready = threading.Event()
        self._closed = False
        self._client: Any = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""
        self._thread = threading.Thread(target=self._run, name=f"steam-pics-{servers[0][0]}", daemon=True)
        self._thread.start()
        self._ready.wait()

    def configure(self, settings: Settings) -> None:
        self.connect_timeout = settings.connect_timeout
        self.retry_backoff = settings.retry_backoff
        self.retry_backoff_max = settings.retry_backoff_max

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closed and self._pid == os.getpid()

    # -- called from any thread --------------------------------------------------------
    def submit(self, fn: Callable[..., T], *args: Any) -> "concurrent.futures.Future[T]":
        """Run ``fn(client, *args)`` in the session's hub once logged on; returns a future."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if not self.alive:
            future.set_exception(PicsUnavailable("the Steam session is closed"))
            return future
        self._jobs.append((fn, args, future))
        try:
            self._wakeup.send()
        except Exception:  # noqa: BLE001 - the hub closed between the check and now
            if not future.done():
                future.set_exception(PicsUnavailable("the Steam session is closed"))
        return future

    def call(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        """:meth:`submit` and wait at most ``timeout`` seconds for the result."""
        return wait(self.submit(fn, *args), timeout)

    def close(self) -> None:
        """Log off and stop the session's thread."""
        if self._closed or not self._thread.is_alive():
            self._closed = True
            return
        self.submit(_stop)
        self._thread.join(timeout=5)
        self._closed = True

    # -- inside the session's thread -----------------------------------------------------
    def _run(self) -> None:
        import gevent
        import gevent.event
        import gevent.lock

        hub = gevent.get_hub()
        self._stop = gevent.event.Event()
        self._logon_lock = gevent.lock.BoundedSemaphore()
        self._wakeup = hub.loop.async_()
        self._wakeup.start(self._drain)
        self._ready.set()
        try:
            self._stop.wait()
        finally:
            self._closed = True
            self._disconnect()
            self._wakeup.stop()
            self._wakeup.close()
            while self._jobs:
                _, _, future = self._jobs.popleft()
                if future.set_running_or_notify_cancel():
                    future.set_exception(PicsUnavailable("the Steam session is closed"))
            hub.destroy(destroy_loop=True)  # free the thread's event loop

    def _drain(self) -> None:
        import gevent

        while self._jobs:
            fn, args, future = self._jobs.popleft()
            if future.set_running_or_notify_cancel():
                gevent.spawn(self._work, fn, args, future)

    def _work(self, fn: Callable[..., Any], args: tuple, future: concurrent.futures.Future) -> None:
        client = None
        try:
            if fn is _stop:
                self._stop.set()
                future.set_result(None)
                return
            client = self._logged_on_client()
            future.set_result(fn(client, *args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            if isinstance(exc, PicsError) and client is not None and client is self._client:
                self._disconnect()  # a CM that timed out or dropped us is not trusted again
            future.set_exception(exc if isinstance(exc, Exception) else PicsError(repr(exc)))

    def _logged_on_client(self) -> Any:
        with self._logon_lock:
            if self._client is not None and self._client.logged_on:
                return self._client
            wait_for = self._retry_at - time.monotonic()
            if wait_for > 0:
                raise PicsUnavailable(f"{self._last_error} (next try in {wait_for:.1f} s)")
            try:
                self._client = self._logon()
            except PicsUnavailable as exc:
                self._failures += 1
                self._last_error = str(exc)
                delay = min(self.retry_backoff_max, self.retry_backoff * 2 ** (self._failures - 1))
                self._retry_at = time.monotonic() + delay
                raise
            self._failures = 0
            self._retry_at = 0.0
            self.logons += 1
            return self._client

    def _logon(self) -> Any:
        from steam.client import SteamClient
        from steam.enums import EResult

        self._disconnect()
        deadline = time.monotonic() + self.connect_timeout
        reachable = self._reachable_servers(deadline)
        client = SteamClient()
        client.auto_discovery = False  # never bootstrap a CM list from the web API or DNS
        client.cm_servers.clear()
        client.cm_servers.merge_list(reachable)
        try:
            result = bounded(
                client, client.anonymous_login, deadline - time.monotonic(),
                on_timeout=PicsUnavailable(f"no logon from the Steam CM within {self.connect_timeout:g} s"),
                on_drop=PicsUnavailable("the Steam CM closed the connection during logon"),
            )
        except BaseException:
            client.disconnect()
            raise
        if result != EResult.OK or not client.logged_on:
            client.disconnect()
            name = getattr(result, "name", result)
            raise PicsUnavailable(f"anonymous logon refused by Steam: {name}")
        log.debug("logged on to %s", client.current_server_addr)
        return client

    def _reachable_servers(self, deadline: float) -> list[tuple[str, int]]:
        """The configured servers that accept a TCP connection (the client's own connect
        loop retries forever, 5 s apart, so unreachable servers are weeded out first)."""
        import gevent.socket

        reachable, errors = [], []
        for host, port in self.servers:
            timeout = min(2.0, max(0.05, deadline - time.monotonic()))
            try:
                sock = gevent.socket.create_connection((host, port), timeout=timeout)
            except OSError as exc:
                errors.append(f"{host}:{port} ({exc.strerror or exc or 'timed out'})")
                continue
            sock.close()
            reachable.append((host, port))
            break
        if not reachable:
            raise PicsUnavailable("no Steam CM reachable: " + ", ".join(errors))
        return reachable

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.disconnect()
            except Exception:  # noqa: BLE001 - already gone
                pass


def _stop(client: Any) -> None:  # a marker job, never called
    raise AssertionError


def bounded(client: Any, fn: Callable[[], T], timeout: float, *, on_timeout: Exception,
            on_drop: Exception) -> T:
    """Run ``fn`` in a greenlet; give up after ``timeout`` s or when ``client`` disconnects."""
    import gevent
    import gevent.event

    outcome = gevent.event.AsyncResult()
    worker = gevent.spawn(fn)
    worker.link_value(lambda g: outcome.ready() or outcome.set(("ok", g.value)))
    worker.link_exception(lambda g: outcome.ready() or outcome.set(("error", g.exception)))

    def dropped(*_: Any) -> None:
        if not outcome.ready():
            outcome.set(("drop", None))

    client.on(client.EVENT_DISCONNECTED, dropped)
    try:
        kind, value = outcome.get(timeout=max(0.0, timeout))
    except gevent.Timeout:
        worker.kill(block=False)
        raise on_timeout from None
    finally:
        client.remove_listener(client.EVENT_DISCONNECTED, dropped)
    if kind == "drop":
        worker.kill(block=False)
        raise on_drop
    if kind == "error":
        raise value
    return value


def wait(future: "concurrent.futures.Future[T]", timeout: float) -> T:
    """The future's result; :class:`PicsError` if it takes longer than ``timeout`` s."""
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise PicsError(f"no answer from the Steam session within {timeout:g} s") from None


_sessions: dict[tuple[tuple[str, int], ...], SteamSession] = {}
_sessions_lock = threading.Lock()


def session_for(settings: Settings) -> SteamSession:
    """The process's session for ``settings.servers`` (made on first use)."""
    with _sessions_lock:
        session = _sessions.get(settings.servers)
        if session is None or not session.alive:
            session = _sessions[settings.servers] = SteamSession(settings.servers)
        session.configure(settings)
        return session


def close_sessions() -> None:
    """Log off and stop every session of this process (tests; a host shutting down)."""
    with _sessions_lock:
        sessions = list(_sessions.values())
        _sessions.clear()
    for session in sessions:
        session.close()
