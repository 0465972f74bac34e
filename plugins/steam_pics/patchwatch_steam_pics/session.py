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
        self._ready = threading.Event()
        self._closed = False
        self._client: Any = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""
        self._last_kind: type[PicsUnavailable] = PicsUnavailable
        self._thread = threading.Thread(target=self._run, name="steam-pics-session", daemon=True)
        self._thread.start()
        self._ready.wait()

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
        hub.exception_stream = _LogStream()  # a greenlet's error: a log line, not stderr
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
        import gevent

        with self._list_lock:
            current = self.server_list
        if current is not None and current.fresh:
            return current
        if self.directory_url and time.monotonic() >= self._directory_retry_at:
            timeout = max(0.5, min(5.0, (deadline - time.monotonic()) / 2))
            pool = gevent.get_hub().threadpool  # requests blocks: keep the hub free
            try:
                fetched, error = pool.spawn(_read_directory, self.directory_url, timeout).get(
                    timeout=timeout + 1)
                if error is not None:
                    raise error
            except (servers.DirectoryError, gevent.Timeout) as exc:
                self.directory_reached = getattr(exc, "reached", False)
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
        import gevent.socket
        from steam.enums import EResult

        from .client import make_client

        started = time.monotonic()
        # The client's own connect loop retries forever, 5 s apart: probe the server first.
        try:
            sock = gevent.socket.create_connection((server.host, server.port), timeout=min(2.0, budget))
        except OSError as exc:
            raise _ServerFailed(exc.strerror or str(exc) or "timed out", reached=False) from None
        sock.close()
        client = make_client(server)
        left = budget - (time.monotonic() - started)
        try:
            result = bounded(
                client, client.anonymous_login, left,
                on_timeout=_ServerFailed(f"no logon from the Steam CM within {budget:.2g} s", reached=True),
                on_drop=_ServerFailed("the Steam CM closed the connection during logon", reached=True),
            )
        except BaseException:
            client.disconnect()
            raise
        if result != EResult.OK or not client.logged_on:
            client.disconnect()
            name = getattr(result, "name", str(result))
            if name in FAILOVER_RESULTS:
                raise _ServerFailed(f"anonymous logon refused by Steam: {name}", reached=True)
            raise PicsUnavailable(f"anonymous logon refused by Steam: {name}")
        return client

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.disconnect()
            except Exception:  # noqa: BLE001 - already gone
                pass


class _LogStream:
    """Where the session's hub writes the traceback of a greenlet that raised (gevent prints
    them to stderr by default: ``Hub.exception_stream``): the plugin's debug log instead, so
    neither the terminal nor ``watch``'s journal gets a traceback."""

    def write(self, text: str) -> int:
        if text.strip():
            log.debug("steam_pics: gevent: %s", text.rstrip())
        return len(text)

    def flush(self) -> None:
        pass


def _read_directory(url: str, timeout: float) -> tuple["servers.ServerList | None", Exception | None]:
    """:func:`servers.read_directory` for the hub's thread pool: its error is returned, not
    raised, because gevent prints the traceback of anything raised in a pool thread to stderr
    (gevent/threadpool.py: ``ThreadResult`` hands it to ``Hub.handle_error``)."""
    try:
        return servers.read_directory(url, timeout), None
    except servers.DirectoryError as exc:
        return None, exc
    except Exception as exc:  # noqa: BLE001 - a surprise is still one line, not a traceback
        return None, servers.DirectoryError(f"Steam Directory {url}: {type(exc).__name__}: {exc}")


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
