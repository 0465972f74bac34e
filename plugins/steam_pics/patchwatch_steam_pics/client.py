"""One anonymous connection to one Steam CM, over TCP or websocket, on plain threads.

**TCP** (SteamKit ``TcpConnection.cs``): each message framed as ``<length><"VT01">``, and
after the channel handshake (``channel.py``) encrypted. **Websocket** (SteamKit
``WebSocketConnection.cs``): TLS to ``wss://host:port/cmsocket/``, one Steam message per
binary websocket message, no framing and no channel encryption (TLS does it); the
websocket protocol is ``wsproto`` (sans-IO) over a memory-BIO TLS object, so one reader
thread and any number of writers share the socket safely.

A message is ``<EMsg | 0x80000000><header length><CMsgProtoBufHeader><body>``; job-control
messages may come with the older 36-byte extended header instead (SteamKit
``ExtendedClientMsgHdr``). Answers are routed by ``jobid_target`` to the job that asked.
``Multi`` bundles (gzip when ``size_unzipped`` is set) are unpacked in 256 KiB pieces up
to the core's answer cap (``max_answer_mb``); more drops the connection and fails the
pending requests with a message naming the server.

Each connection has one reader thread (``steam-pics-reader``); nothing here patches the
standard library or runs an event loop of its own.
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import ssl
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any

from . import channel, messages as m, servers

log = logging.getLogger(__name__)
PLUGIN = "steam_pics"
CHUNK = 256 * 1024
MAGIC = b"VT01"
TLS_CA_DATA: str | None = None
"""PEM of the only CA to trust for websocket CMs (tests: the fake's CA); None: the system's."""
PROTOCOL_VERSION = 65580
"""``CMsgClientLogon.protocol_version`` (SteamKit ``MsgClientLogon.CurrentProtocol``)."""
CLIENT_PACKAGE_VERSION = 1771
"""What SteamKit ``SteamUser.LogOnAnonymous`` sends as ``client_package_version``."""
ANONYMOUS_STEAMID = (1 << 56) | (10 << 52)
"""Universe public, account type AnonUser, instance 0, account 0 (SteamKit ``SteamID``)."""
DROPPED = None
"""What a job's queue receives when the connection goes away."""


def max_bytes() -> int:
    """The decoded size one answer may have (the core's ``max_answer_mb``)."""
    from patchwatch import http

    return http.controls(PLUGIN).max_bytes


def tls_context() -> ssl.SSLContext:
    """A TLS client context verifying host and certificate (the fake's CA only, in tests)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname, CERT_REQUIRED
    if TLS_CA_DATA:
        context.load_verify_locations(cadata=TLS_CA_DATA)
    else:
        context.load_default_certs()
    return context


@dataclass
class Message:
    """One message for a job: its EMsg, the header's eresult (None when absent), the body."""

    emsg: int
    eresult: int | None
    body: bytes


class Refused(Exception):
    """The CM closed the connection, broke the protocol or timed out before logon."""


class CMClient:
    """A connection to ``server``: :meth:`connect`, :meth:`logon`, then jobs from any thread."""

    def __init__(self, server: "servers.Server") -> None:
        self.server = server
        self.websocket = server.kind == servers.WEBSOCKET
        self.connected = False
        self.logged_on = False
        self.steamid = 0
        self.session_id = 0
        self.heartbeat_seconds = 0
        self.drop_reason: str | None = None
        """Why the connection went away, when it was not simply closed."""
        self.last_heartbeat = 0.0
        self._sock: socket.socket | None = None
        self._key: bytes | None = None
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._jobs: dict[int, queue.SimpleQueue] = {}
        self._job_ids = itertools.count(1)
        self._logon_answers: queue.SimpleQueue = queue.SimpleQueue()
        self._reader: threading.Thread | None = None
        # websocket: TLS on memory BIOs, wsproto on top
        self._tls: ssl.SSLObject | None = None
        self._tls_in = ssl.MemoryBIO()
        self._tls_out = ssl.MemoryBIO()
        self._tls_lock = threading.Lock()
        self._ws: Any = None
        self._ws_lock = threading.Lock()
        self._ws_partial = bytearray()

    def __str__(self) -> str:
        return str(self.server)

    # -- connecting ----------------------------------------------------------------------
    def connect(self, timeout: float) -> None:
        """Open the connection and secure it (channel handshake or TLS + upgrade) within
        ``timeout`` seconds. Raises :class:`OSError` when the server cannot be reached and
        :class:`Refused` when it was reached but did not complete the handshake."""
        deadline = time.monotonic() + timeout
        sock = socket.create_connection((self.server.host, self.server.port), timeout=min(2.0, timeout))
        self._sock = sock
        stage = "TLS and websocket upgrade" if self.websocket else "channel handshake"
        try:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            if self.websocket:
                self._open_websocket()
            else:
                self._channel_handshake()
        except (socket.timeout, TimeoutError):
            self._close_socket()
            raise Refused(f"no {stage} from the Steam CM within {timeout:.2g} s") from None
        except (OSError, ValueError, struct.error) as exc:
            self._close_socket()
            raise Refused(f"the Steam CM broke off the {stage}: {_describe(exc)}") from None
        sock.settimeout(None)
        self.connected = True
        self._reader = threading.Thread(target=self._read_loop, name="steam-pics-reader", daemon=True)
        self._reader.start()

    def _channel_handshake(self) -> None:
        request = self._read_tcp()
        emsg, = struct.unpack_from("<I", request)
        if emsg != m.CHANNEL_ENCRYPT_REQUEST:
            raise channel.ChannelError(f"expected ChannelEncryptRequest, got EMsg {emsg & ~m.PROTO_MASK}")
        body, key = channel.answer_request(request[20:])
        self._sock.sendall(_frame(struct.pack("<Iqq", m.CHANNEL_ENCRYPT_RESPONSE, -1, -1) + body))
        result = self._read_tcp()
        emsg, = struct.unpack_from("<I", result)
        if emsg != m.CHANNEL_ENCRYPT_RESULT or len(result) < 24:
            raise channel.ChannelError("no ChannelEncryptResult")
        eresult, = struct.unpack_from("<I", result, 20)
        if eresult != m.OK:
            raise channel.ChannelError(f"channel encryption refused: {m.eresult_name(eresult)}")
        self._key = key

    def _open_websocket(self) -> None:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, RejectConnection, Request

        self._tls = tls_context().wrap_bio(self._tls_in, self._tls_out, server_hostname=self.server.host)
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush_tls()
                if not self._pump_tls():
                    raise channel.ChannelError("closed during the TLS handshake") from None
        self._flush_tls()
        self._ws = WSConnection(ConnectionType.CLIENT)
        host = f"{self.server.host}:{self.server.port}"
        self._write_tls(self._ws.send(Request(host=host, target="/cmsocket/")))
        while True:
            data = self._read_tls()
            if not data:
                raise channel.ChannelError("closed during the websocket upgrade")
            self._ws.receive_data(data)
            for event in self._ws.events():
                if isinstance(event, AcceptConnection):
                    return
                if isinstance(event, RejectConnection):
                    raise channel.ChannelError(f"websocket upgrade refused (HTTP {event.status_code})")

    def logon(self, timeout: float) -> int:
        """Log on anonymously; returns the EResult. Raises :class:`Refused` when no answer
        comes within ``timeout`` seconds or the connection drops first."""
        body = m.Logon(protocol_version=PROTOCOL_VERSION, client_package_version=CLIENT_PACKAGE_VERSION)
        self.send(m.CLIENT_LOGON, body, steamid=ANONYMOUS_STEAMID)
        try:
            answer = self._logon_answers.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise Refused(f"no logon from the Steam CM within {timeout:.2g} s") from None
        if answer is DROPPED:
            raise Refused("the Steam CM closed the connection during logon")
        header, response = answer
        if response.eresult == m.OK:
            self.steamid = header.steamid
            self.session_id = header.client_sessionid
            self.heartbeat_seconds = (response.heartbeat_seconds
                                      or response.legacy_out_of_game_heartbeat_seconds or 9)
            self.logged_on = self.connected
            self.last_heartbeat = time.monotonic()
        return response.eresult

    # -- sending -------------------------------------------------------------------------
    def send(self, emsg: int, body: Any, *, job: int | None = None, steamid: int | None = None) -> None:
        """Send one protobuf message (from any thread); a failure drops the connection."""
        header = m.Header(steamid=self.steamid if steamid is None else steamid,
                          client_sessionid=self.session_id)
        if job is not None:
            header.jobid_source = job
        raw = header.SerializeToString()
        payload = struct.pack("<II", emsg | m.PROTO_MASK, len(raw)) + raw + body.SerializeToString()
        try:
            with self._send_lock:
                if self.websocket:
                    from wsproto.events import BytesMessage

                    with self._ws_lock:
                        data = self._ws.send(BytesMessage(data=payload))
                    self._write_tls(data)
                else:
                    self._sock.sendall(_frame(channel.encrypt(payload, self._key)))
        except (OSError, ValueError, AttributeError) as exc:
            self.disconnect(f"sending to Steam CM {self.server} failed: {_describe(exc)}")

    def start_job(self, emsg: int, body: Any) -> tuple[int, queue.SimpleQueue]:
        """Send a request as a new job; its answers (and job-control messages) arrive as
        :class:`Message` on the returned queue, :data:`DROPPED` if the connection goes."""
        answers: queue.SimpleQueue = queue.SimpleQueue()
        job = next(self._job_ids)
        with self._state_lock:
            if not self.connected:
                answers.put(DROPPED)
                return job, answers
            self._jobs[job] = answers
        self.send(emsg, body, job=job)
        return job, answers

    def end_job(self, job: int) -> None:
        with self._state_lock:
            self._jobs.pop(job, None)

    def heartbeat(self) -> None:
        self.last_heartbeat = time.monotonic()
        self.send(m.CLIENT_HEARTBEAT, m.HeartBeat())

    # -- closing -------------------------------------------------------------------------
    def disconnect(self, reason: str | None = None) -> None:
        """Close the connection (any thread); pending jobs get :data:`DROPPED`."""
        with self._state_lock:
            if reason and self.drop_reason is None:
                self.drop_reason = reason
            was = self.connected
            self.connected = self.logged_on = False
            jobs, self._jobs = list(self._jobs.values()), {}
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader
            except OSError:
                pass
        for answers in jobs:
            answers.put(DROPPED)
        self._logon_answers.put(DROPPED)
        if was:
            log.debug("steam_pics: disconnected from %s%s", self.server, f" ({reason})" if reason else "")

    def close(self) -> None:
        """Log off (when logged on), disconnect and wait for the reader thread."""
        if self.logged_on:
            self.send(m.CLIENT_LOG_OFF, m.LogOff())
        self.disconnect()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)
        self._close_socket()

    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # -- receiving (the reader thread) ---------------------------------------------------
    def _read_loop(self) -> None:
        try:
            while True:
                batch = self._read_ws() if self.websocket else [self._read_tcp()]
                if batch is None:
                    break
                for data in batch:
                    self._handle(data)
        except _TooLarge as exc:
            self.disconnect(str(exc))
            log.warning("steam_pics: %s", exc)
        except (OSError, ssl.SSLError) as exc:
            if self.connected:
                log.debug("steam_pics: %s: %s", self.server, _describe(exc))
        except Exception as exc:  # noqa: BLE001 - a hostile or broken CM: one line, no traceback
            self.disconnect(f"Steam CM {self.server} sent a malformed message "
                            f"({type(exc).__name__}: {exc})")
        finally:
            self.disconnect()

    def _read_exact(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            chunk = self._sock.recv(min(left, CHUNK))
            if not chunk:
                raise ConnectionResetError("closed by the server")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _read_tcp(self) -> bytes:
        length, magic = struct.unpack("<I4s", self._read_exact(8))
        if magic != MAGIC:
            raise channel.ChannelError("bad packet magic")
        if length > max_bytes():
            raise _TooLarge(f"Steam CM {self.server} sent a message of more than "
                            f"{max_bytes() / 1048576:g} MiB (max_answer_mb)")
        data = self._read_exact(length)
        return channel.decrypt(data, self._key) if self._key else data

    def _read_ws(self) -> list[bytes] | None:
        """The complete messages of the next read (None: closed)."""
        from wsproto.events import BytesMessage, CloseConnection, Ping

        data = self._read_tls()
        if not data:
            return None
        with self._ws_lock:
            self._ws.receive_data(data)
            events = list(self._ws.events())
        done: list[bytes] = []
        for event in events:
            if isinstance(event, BytesMessage):
                self._ws_partial += event.data
                if len(self._ws_partial) > max_bytes():
                    raise _TooLarge(f"Steam CM {self.server} sent a websocket message of more than "
                                    f"{max_bytes() / 1048576:g} MiB (max_answer_mb)")
                if event.message_finished:
                    done.append(bytes(self._ws_partial))
                    self._ws_partial = bytearray()
            elif isinstance(event, Ping):
                with self._send_lock:
                    with self._ws_lock:
                        pong = self._ws.send(event.response())
                    self._write_tls(pong)
            elif isinstance(event, CloseConnection):
                return done or None
            # Text messages: Steam sends none that matter (SteamKit only logs them).
        return done

    def _handle(self, data: bytes) -> None:
        """Route one message: a Multi is unpacked, a logon answer wakes :meth:`logon`,
        the rest goes to the job it names."""
        raw_emsg, = struct.unpack_from("<I", data)
        emsg = raw_emsg & ~m.PROTO_MASK
        if raw_emsg & m.PROTO_MASK:
            size, = struct.unpack_from("<I", data, 4)
            header = m.Header.FromString(data[8:8 + size])
            body = data[8 + size:]
            target = header.jobid_target
            eresult = header.eresult if header.HasField("eresult") else None
        elif len(data) >= 36:  # ExtendedClientMsgHdr: emsg, size, version, target, source, canary, steamid, session
            header = None
            target = struct.unpack_from("<IBHqq", data)[3] & m.NO_JOB
            body, eresult = data[36:], None
        else:
            return
        if emsg == m.MULTI:
            self._handle_multi(body)
        elif emsg == m.CLIENT_LOGON_RESPONSE and header is not None:
            self._logon_answers.put((header, m.LogonResponse.FromString(body)))
        elif emsg == m.CLIENT_LOGGED_OFF:
            result = m.LoggedOff.FromString(body).eresult if header is not None else m.FAIL
            self.disconnect(f"Steam CM {self.server} logged us off ({m.eresult_name(result)})")
        elif target != m.NO_JOB:
            with self._state_lock:
                answers = self._jobs.get(target)
            if answers is not None:
                answers.put(Message(emsg, eresult, body))
        # Anything else (ClientServersAvailable, ...) is of no use to an anonymous PICS session.

    def _handle_multi(self, body: bytes) -> None:
        data = unpack_multi(m.Multi.FromString(body), max_bytes(), self.server)
        offset = 0
        while offset + 4 <= len(data):
            size, = struct.unpack_from("<I", data, offset)
            self._handle(data[offset + 4:offset + 4 + size])
            offset += 4 + size

    # -- TLS on memory BIOs (websocket) --------------------------------------------------
    def _flush_tls(self) -> None:
        data = self._tls_out.read()
        if data:
            self._sock.sendall(data)

    def _pump_tls(self) -> bool:
        data = self._sock.recv(65536)
        if not data:
            return False
        with self._tls_lock:
            self._tls_in.write(data)
        return True

    def _read_tls(self) -> bytes:
        while True:
            with self._tls_lock:
                try:
                    return self._tls.read(65536)
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLZeroReturnError:
                    return b""
                finally:
                    self._flush_tls()
            if not self._pump_tls():
                return b""

    def _write_tls(self, data: bytes) -> None:
        with self._tls_lock:
            self._tls.write(data)
            self._flush_tls()


class _TooLarge(ValueError):
    """An answer over the cap: the connection is dropped with this as the reason."""


def _frame(payload: bytes) -> bytes:
    return struct.pack("<I4s", len(payload), MAGIC) + payload


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate refused: {exc.verify_message}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def unpack_multi(body: Any, cap: int, server: Any) -> bytes:
    """The inside of a ``CMsgMulti``, gunzipped in pieces; :class:`_TooLarge` past ``cap``."""
    too_much = _TooLarge(f"Steam CM {server} sent a Multi message of more than {cap / 1048576:g} MiB "
                         f"decoded (max_answer_mb)")
    if not body.size_unzipped:
        if len(body.message_body) > cap:
            raise too_much
        return body.message_body
    if body.size_unzipped > cap:
        raise too_much
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip
    pieces, total = [], 0
    pending = body.message_body
    try:
        while pending:
            piece = inflater.decompress(pending, CHUNK)
            total += len(piece)
            if total > cap:
                raise too_much
            pieces.append(piece)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        pieces.append(inflater.flush(CHUNK))
    except zlib.error as exc:
        raise _TooLarge(f"Steam CM {server} sent a Multi message that is not valid gzip ({exc})") from None
    if total + len(pieces[-1]) > cap:
        raise too_much
    data = b"".join(pieces)
    if len(data) != body.size_unzipped:
        raise _TooLarge(f"Steam CM {server} sent a Multi message whose size does not match "
                        f"({len(data)} bytes decoded, {body.size_unzipped} announced)")
    return data
