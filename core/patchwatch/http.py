"""Polite JSON-over-HTTP for plugins: a session, a shared host gate, Retry-After, retries.

A plugin keeps its own client class (what it counts, which errors it raises, how it
decodes answers) and builds it from these pieces::

    session = new_session("example", pool_size=8)
    gate = HostGate()                        # shared by every worker thread of one host
    policy = RetryPolicy(retries=3, backoff=1.0, max_retry_after=60.0)
    try:
        response = send_with_retries(
            lambda attempt: session.get(url, timeout=10), policy, gate=gate)
    except GaveUp as exc:                    # RetryAfterTooLong or RetriesExhausted
        raise ExampleError(f"{url}: {exc.reason}") from None

``send`` is the place for per-attempt work such as taking a rate-limit token.

Two guarantees come with every session made by :func:`new_session` (no plugin code needed):

- **Bounded answers.** A body is read in pieces and decoded (gzip, deflate) by patchwatch
  with a cap on the decoded size (:data:`DEFAULT_MAX_ANSWER_BYTES`, the core's
  ``max_answer_mb`` setting); more raises :class:`AnswerTooLarge` naming the host.
- **Releasable.** When the core gives up on a plugin (timeout, cancel), the plugin's
  :func:`controls` are stopped: requests not yet sent, bodies being read, host-gate waits
  and retry pauses end within a second or two with :class:`Stopped`.
"""

from __future__ import annotations

import errno
import math
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from . import __version__

DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""The default cap on one decoded answer: 64 MiB (the largest real store answer we know of,
a Steam appdetails or GOG builds page, is well under 1 MiB)."""
READ_CHUNK = 64 * 1024
STOP_POLL_SECONDS = 0.25


class Stopped(requests.RequestException):
    """The sync gave up on this plugin: nothing more is sent, waits end at once."""


class AnswerTooLarge(requests.RequestException):
    """An answer decoded to more than the cap; the message names the host and the cap."""


class Unreachable(Exception):
    """The store cannot be reached at all: no network, a DNS failure, no route, a refused
    connection. Raise it (or let a ``requests``/socket error of that kind through) from
    ``is_available`` or ``check_updates_bulk``: when every plugin of a sync is unreachable
    the core tells the user they look offline and counts nothing toward the breakers."""


UNREACHABLE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN",
                                      "ECONNREFUSED", "EADDRNOTAVAIL") if hasattr(errno, name))


def is_unreachable(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it wraps) says the host could not be reached at all.

    True for :class:`Unreachable`, DNS failures (``socket.gaierror``, urllib3's
    ``NameResolutionError``), refused connections and "network/host unreachable" errors,
    however deep ``requests`` and urllib3 wrap them; False for timeouts, HTTP errors and
    anything the host answered.
    """
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        error = todo.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, (Unreachable, socket.gaierror, ConnectionRefusedError)):
            return True
        if isinstance(error, OSError) and error.errno in UNREACHABLE_ERRNOS:
            return True
        if type(error).__name__ == "NameResolutionError":  # urllib3 >= 2 (no import needed)
            return True
        todo += [error.__cause__, error.__context__, getattr(error, "reason", None),
                 getattr(error, "cause", None), *getattr(error, "args", ())]
    return False


class PluginControls:
    """What the core controls of one plugin's HTTP: its stop switch and answer cap."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self.stop = threading.Event()
        self.max_bytes = DEFAULT_MAX_ANSWER_BYTES
        self._reading: set[Any] = set()
        self._lock = threading.Lock()

    def start(self, *, max_bytes: int | None = None) -> None:
        """A new call of the plugin begins: clear the stop switch, set the cap."""
        if max_bytes is not None:
            self.max_bytes = max_bytes
        self.stop.clear()

    def give_up(self) -> None:
        """End every wait and refuse every further request of this plugin; bodies being
        read are cut off at once (their sockets are shut down)."""
        self.stop.set()
        with self._lock:
            reading = list(self._reading)
        for raw in reading:
            try:
                raw.connection.sock.shutdown(socket.SHUT_RDWR)
            except Exception:  # already closed, or no socket to shut: the next check stops it
                pass

    def _track(self, raw: Any, reading: bool) -> None:
        with self._lock:
            if reading:
                self._reading.add(raw)
            else:
                self._reading.discard(raw)

    def check(self) -> None:
        if self.stop.is_set():
            raise Stopped(f"{self.plugin}: stopped, the sync gave up on this plugin")


_controls: dict[str, PluginControls] = {}
_controls_lock = threading.Lock()
_current = threading.local()
"""Per thread: ``bound``, the controls the core gave this thread's call of a plugin
(:func:`bind`), and ``controls``, those of the session this thread used last."""


def controls(plugin: str) -> PluginControls:
    """The controls of ``plugin`` for the calling thread.

    Inside a plugin call the core made (:func:`bind`), these are that sync's own: two syncs
    in one process (two libraries, two web workers) never stop each other's requests.
    Elsewhere (a plugin used on its own, a test) one per plugin name and process.
    """
    bound = getattr(_current, "bound", None)
    if bound is not None and bound.plugin == plugin:
        return bound
    with _controls_lock:
        found = _controls.get(plugin)
        if found is None:
            found = _controls[plugin] = PluginControls(plugin)
        return found


def bind(control: PluginControls | None) -> None:
    """Give the calling thread ``control``: the sessions it makes and its waits obey it.
    The core calls this at the start of each thread that runs a plugin's hook."""
    _current.bound = control


def _thread_controls() -> PluginControls | None:
    """The controls of the plugin whose session this thread used last (or was bound to)."""
    return getattr(_current, "controls", None) or getattr(_current, "bound", None)


def interruptible_sleep(seconds: float, stop: threading.Event | None = None) -> None:
    """Sleep ``seconds``, ending early (with :class:`Stopped`) when the plugin is given up."""
    control = _thread_controls()
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if control is not None:
            control.check()
        if left <= 0 or (stop is not None and stop.is_set()):
            return
        event = stop if stop is not None else (control.stop if control else None)
        if event is not None:
            event.wait(min(left, STOP_POLL_SECONDS))
        else:
            time.sleep(left)


def user_agent(plugin: str) -> str:
    """The User-Agent a plugin sends: ``patchwatch/<version> (+<plugin>)``."""
    return f"patchwatch/{__version__} (+{plugin})"


class BoundedSession(requests.Session):
    """A :class:`requests.Session` whose answers are read by patchwatch: capped, stoppable."""

    def __init__(self, plugin: str) -> None:
        super().__init__()
        self.plugin = plugin
        self.controls = controls(plugin)
        """Taken when the session is made: those of the sync whose plugin call made it."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        control = self.controls
        _current.controls = control
        control.check()
        kwargs["stream"] = True  # the body is read below, in pieces, whatever the caller asked
        response = super().send(request, **kwargs)
        if response._content is False:  # type: ignore[attr-defined]  # not read yet
            try:
                response._content = read_body(response, control)  # type: ignore[attr-defined]
            except BaseException:
                response.close()
                raise
            response._content_consumed = True  # type: ignore[attr-defined]
            response.raw.release_conn()
        return response


def read_body(response: requests.Response, control: PluginControls) -> bytes:
    """The decoded body, read piece by piece; raises :class:`AnswerTooLarge` past the cap
    and :class:`Stopped` when the plugin is given up (checked between pieces)."""
    cap = control.max_bytes
    host = urlsplit(response.url).netloc or "the server"
    too_large = AnswerTooLarge(
        f"{host} sent more than {cap / 1048576:g} MiB in one answer (max_answer_mb); "
        f"not read further", response=response)
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    decoder = _Decoder(encoding)
    if not decoder.active:
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > cap:
            raise too_large
    body = bytearray()
    raw = response.raw
    control._track(raw, True)
    try:
        while True:
            control.check()
            try:
                piece = raw.read1(READ_CHUNK, decode_content=False)
            except Exception:
                control.check()  # the socket was shut because the plugin was given up
                raise
            if not piece:
                break
            for part in decoder.feed(piece, cap - len(body) + 1):
                body += part
                if len(body) > cap:
                    raise too_large
    finally:
        control._track(raw, False)
    control.check()  # a cut-off body is not an answer
    body += decoder.flush()
    if len(body) > cap:
        raise too_large
    return bytes(body)


class _Decoder:
    """gzip/deflate decoding that never makes more output than asked for."""

    def __init__(self, encoding: str) -> None:
        self.kind = encoding if encoding in ("gzip", "x-gzip", "deflate") else None
        self.active = self.kind is not None
        self._first = True
        self._new()

    def _new(self) -> None:
        if self.kind == "deflate":
            self._obj = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int):
        if not self.active:
            yield data
            return
        while data:
            try:
                out = self._obj.decompress(data, max(room, 1))
            except zlib.error as exc:
                if self.kind == "deflate" and self._first:  # raw deflate, no zlib header
                    self._obj, self._first = zlib.decompressobj(-zlib.MAX_WBITS), False
                    continue
                raise requests.exceptions.ContentDecodingError(
                    f"cannot decode {self.kind} answer: {exc}") from None
            self._first = False
            room -= len(out)
            yield out
            if room <= 0:
                return  # the caller stops at the cap
            data = self._obj.unconsumed_tail
            if not data and self._obj.eof and self._obj.unused_data.strip(b"\0"):
                data = self._obj.unused_data  # another gzip member follows
                self._new()

    def flush(self) -> bytes:
        return self._obj.flush() if self.active else b""


def new_session(plugin: str, *, pool_size: int = 10, agent: str | None = None) -> requests.Session:
    """A session asking for JSON, with keep-alive, no hidden retries, a capped and
    stoppable body read (see the module's docstring).

    ``pool_size`` is the most connections kept open per host (make it at least the number
    of worker threads); ``agent`` replaces the default :func:`user_agent`.
    """
    session = BoundedSession(plugin)
    session.headers.update({"User-Agent": agent or user_agent(plugin), "Accept": "application/json",
                            "Accept-Encoding": "gzip, deflate"})
    adapter = HTTPAdapter(pool_maxsize=max(pool_size, 1), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def retry_after_header(response: requests.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for: the default ``wait_from`` of
    :func:`send_with_retries`. A store that says it elsewhere (in its error body)
    passes its own reader, which may fall back to this one."""
    return retry_after_seconds(response.headers.get("Retry-After"))


class HostGate:
    """Holds every worker of one host back until a shared instant (a 429's Retry-After).

    ``stop``, when given and set, ends every wait at once (the sync is being given up).
    """

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0
        self._stop = stop or threading.Event()
        self._controls: PluginControls | None = None

    def close_for(self, seconds: float) -> None:
        """Let no request through for ``seconds`` from now (a later instant already set wins)."""
        control = _thread_controls()
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)
            self._controls = control or self._controls

    def wait(self) -> None:
        """Return once the gate is open (or ``stop`` is set); raise :class:`Stopped` when
        the core gives up on the plugin whose session closed the gate."""
        while True:
            with self._lock:
                pause = self._not_before - time.monotonic()
                control = self._controls
            control = control or _thread_controls()
            if control is not None:
                control.check()
            if pause <= 0 or self._stop.wait(min(pause, STOP_POLL_SECONDS)):
                return


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how long to wait, before giving up on a request."""

    retries: int
    """Extra attempts after the first."""
    backoff: float
    """First wait when the server gives no Retry-After, doubled after each attempt."""
    max_retry_after: float
    """Longest Retry-After honoured; a longer one gives up at once."""
    max_backoff: float = math.inf
    """Cap on the doubled backoff."""

    def backoff_for(self, attempt: int) -> float:
        """The wait after attempt number ``attempt`` (0 is the first) without Retry-After."""
        return min(self.backoff * 2**attempt, self.max_backoff)


class GaveUp(Exception):
    """No usable answer: the plugin turns this into its own error."""

    def __init__(self, *, attempts: int, status: int | None, cause: BaseException | None,
                 retry_after: float | None = None):
        self.attempts = attempts
        """Requests sent."""
        self.status = status
        """Status of the last answer, None when the last attempt got none."""
        self.cause = cause
        """The exception of the last attempt, None when it got an answer."""
        self.retry_after = retry_after
        """The last Retry-After, in seconds, if any."""
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """``HTTP 503`` or ``ReadTimeout: ...``: what went wrong the last time."""
        if self.cause is not None:
            return f"{type(self.cause).__name__}: {self.cause}"
        return f"HTTP {self.status}"


class RetryAfterTooLong(GaveUp):
    """The server asked to wait longer than ``max_retry_after``; nothing more was sent."""


class RetriesExhausted(GaveUp):
    """Every attempt failed."""


class NotRetried(GaveUp):
    """The answer was too large, or the core gave up on the plugin: no retry can help."""


def is_retryable_status(status: int) -> bool:
    """429 (rate limited) and every 5xx."""
    return status == 429 or status >= 500


def send_with_retries(
    send: Callable[[int], requests.Response],
    policy: RetryPolicy,
    *,
    gate: HostGate | None = None,
    before_attempt: Callable[[int], None] | None = None,
    sleep: Callable[[float], object] | None = None,
    retry_on: tuple[type[BaseException], ...] = (requests.RequestException,),
    retry_status: Callable[[int], bool] = is_retryable_status,
    wait_from: Callable[[requests.Response], float | None] = retry_after_header,
) -> requests.Response:
    """Call ``send(attempt)`` until it returns an answer that is not worth retrying.

    Each attempt runs ``before_attempt(attempt)`` (raise there to stop), waits for
    ``gate``, then calls ``send``. An exception in ``retry_on`` or a status for which
    ``retry_status`` is true is retried after the wait the answer asks for
    (``wait_from(response)``, by default its Retry-After), else after
    ``policy.backoff_for(attempt)``. A 429 closes ``gate`` for that long, so every worker
    of the host waits; other waits ``sleep`` this thread (by default a sleep that ends when
    the core gives up on the plugin; ``time.sleep`` and an event's ``wait`` are made so
    too, any other ``sleep`` is checked after it returns). :class:`Stopped` and :class:`AnswerTooLarge` are never
    retried: they end the call as :class:`NotRetried`. Returns the first other answer
    (2xx, 3xx, 4xx: the caller judges it). Raises :class:`RetryAfterTooLong` at once when
    the server asks for more than ``policy.max_retry_after``, :class:`RetriesExhausted`
    after ``policy.retries + 1`` failed attempts.
    """
    try:
        return _send_with_retries(send, policy, gate, before_attempt, sleep, retry_on,
                                  retry_status, wait_from)
    except Stopped as exc:  # a gate wait or pause ended because the plugin was given up
        raise NotRetried(attempts=0, status=None, cause=exc) from None


def _send_with_retries(send, policy, gate, before_attempt, sleep, retry_on, retry_status,
                       wait_from) -> requests.Response:
    status: int | None = None
    cause: BaseException | None = None
    wait: float | None = None
    for attempt in range(policy.retries + 1):
        if before_attempt is not None:
            before_attempt(attempt)
        if gate is not None:
            gate.wait()
        try:
            response = send(attempt)
        except (Stopped, AnswerTooLarge) as exc:
            raise NotRetried(attempts=attempt + 1, status=None, cause=exc) from None
        except retry_on as exc:
            status, cause, wait = None, exc, None
        else:
            if not retry_status(response.status_code):
                return response
            status, cause = response.status_code, None
            wait = wait_from(response)
            response.close()
            if wait is not None and wait > policy.max_retry_after:
                raise RetryAfterTooLong(attempts=attempt + 1, status=status, cause=None,
                                        retry_after=wait)
        pause = policy.backoff_for(attempt) if wait is None else wait
        if status == 429 and gate is not None:
            gate.close_for(pause)  # even after the last attempt: the host is still limited
        elif attempt < policy.retries:
            owner = getattr(sleep, "__self__", None)
            if sleep is None or sleep is time.sleep:
                interruptible_sleep(pause)
            elif isinstance(owner, threading.Event) and sleep == owner.wait:
                interruptible_sleep(pause, stop=owner)  # the plugin's own stop, and the core's
            else:
                sleep(pause)
                control = _thread_controls()
                if control is not None and control.stop.is_set():
                    raise NotRetried(attempts=attempt + 1, status=status,
                                     cause=Stopped(f"{control.plugin}: stopped"))
    raise RetriesExhausted(attempts=policy.retries + 1, status=status, cause=cause, retry_after=wait)
