"""The fake CM server: a loopback TCP listener, one reader and one sender thread per client."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import random
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from hashlib import sha1
from typing import Any, Iterator

from Cryptodome.Cipher import PKCS1_OAEP
from Cryptodome.Hash import SHA1
from Cryptodome.PublicKey import RSA

from .. import messages

from . import wire
from .catalogue import Catalogue
from .wire import (
    ACCESS_TOKENS, ACCESS_TOKENS_RESPONSE, ACCOUNT_TYPE_ANON_USER, CHANGES_SINCE, CHANGES_SINCE_RESPONSE,
    CHANNEL_ENCRYPT_REQUEST, CHANNEL_ENCRYPT_RESPONSE, CHANNEL_ENCRYPT_RESULT, HEARTBEAT, KINDS, LOG_OFF,
    LOGON, LOGON_RESPONSE, MAGIC, MULTI, PRODUCT_INFO, PRODUCT_INFO_RESPONSE, PROTO_MASK, UNIVERSE_PUBLIC,
)


@dataclass
class Fault:
    """What to do instead of a normal answer for the next ``times`` requests of ``kind``."""

    kind: str
    delay: float = 0.0
    """Answer this many seconds late (a slow CM)."""
    ignore: bool = False
    """Never answer (the request is swallowed)."""
    drop_after: int | None = None
    """Close the connection after this many parts of the answer (0: at once)."""
    eresult: int | None = None
    """For ``logon`` / ``handshake``: refuse with this EResult, then close."""
    times: int | None = 1
    """How many requests it applies to; None for all of them until cleared."""
    heartbeat_every: float | None = None
    """Send ``JobHeartbeat`` for the job this often while the (delayed) answer is pending."""
    job_failed: bool = False
    """Answer with ``DestJobFailed`` for the job instead (after ``delay``)."""
    legacy_header: bool = False
    """Send the job-control messages with the old 36-byte header instead of a protobuf one."""
    multi_bytes: int | None = None
    """Answer with a gzip ``Multi`` that decodes to this many bytes (a zip bomb)."""
    multi_claims: int | None = None
    """The ``size_unzipped`` that bomb announces (default: the true size)."""


@dataclass
class Received:
    """One request the fake received."""

    kind: str
    body: Any
    at: float
    connection: int


class _Closed(Exception):
    pass


class FakeSteamCM:
    """A loopback Steam CM. Start it (or use it as a context manager), point the client at
    :attr:`server`, and swap the client's universe key with :meth:`patched_universe_key`.

    ``latency`` (seconds) delays every answer, like a network round trip, plus a random
    ``jitter`` (0 to that many seconds per answer), so answers to pipelined requests overlap
    and may come out of order as on a real link. ``part_gap`` spaces the parts of one
    answer. ``apps_per_part`` caps the apps per product-info message (more go in further
    parts with ``response_pending``); answers larger than ``compress_over`` bytes go
    gzip-compressed inside ``EMsg.Multi``. With ``servers_available`` the logon response
    comes in one ``Multi`` with a ``ClientServersAvailable``.
    """

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        *,
        latency: float = 0.0,
        heartbeat_seconds: int = 9,
        apps_per_part: int = 100,
        compress_over: int | None = 16_384,
        cell_id: int = 4,
        jitter: float = 0.0,
        part_gap: float = 0.0,
        servers_available: bool = True,
        websocket: bool = False,
    ) -> None:
        self.catalogue = catalogue or Catalogue()
        self.latency = latency
        self.heartbeat_seconds = heartbeat_seconds
        self.apps_per_part = apps_per_part
        self.compress_over = compress_over
        self.cell_id = cell_id
        self.jitter = jitter
        self.part_gap = part_gap
        self.servers_available = servers_available
        self.websocket = websocket
        self.certificate: Any = None
        """With ``websocket``: the test certificate (``certificate.ca_pem`` is its CA)."""
        self._ws_listener: socket.socket | None = None
        self.key = wire.fake_key()
        self.received: list[Received] = []
        self.connections = 0
        self.logons = 0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._stopping = threading.Event()

    # -- set-up and inspection -----------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        assert self._listener is not None, "fake CM not started"
        return self._listener.getsockname()[:2]

    @property
    def server(self) -> str:
        """``host:port``, the form of the plugin's ``cm_servers`` setting."""
        host, port = self.address
        return f"{host}:{port}"

    @property
    def ws_server(self) -> str:
        """``wss://127.0.0.1:<port>/cmsocket/``, the websocket endpoint (``websocket=True``)."""
        assert self._ws_listener is not None, "fake CM started without websocket=True"
        host, port = self._ws_listener.getsockname()[:2]
        return f"wss://{host}:{port}/cmsocket/"

    @property
    def ws_endpoint(self) -> str:
        """The websocket endpoint as the Steam Directory lists it (``host:port``)."""
        return self.ws_server[len("wss://"):-len("/cmsocket/")]

    @contextlib.contextmanager
    def trusted_certificate(self) -> Iterator[None]:
        """Make the plugin's websocket client trust this fake's test CA (and only it)."""
        from patchwatch_steam_pics import client

        saved = client.TLS_CA_DATA
        client.TLS_CA_DATA = self.certificate.ca_pem
        try:
            yield
        finally:
            client.TLS_CA_DATA = saved

    @property
    def public_key(self) -> RSA.RsaKey:
        return self.key.publickey()

    @contextlib.contextmanager
    def patched_universe_key(self) -> Iterator[None]:
        """Make the client encrypt its session key for this fake instead of for Valve."""
        from .. import channel

        saved = channel.UNIVERSE_KEY
        channel.UNIVERSE_KEY = self.public_key
        try:
            yield
        finally:
            channel.UNIVERSE_KEY = saved

    def fail(self, kind: str, *, delay: float = 0.0, ignore: bool = False, drop_after: int | None = None,
             eresult: int | None = None, times: int | None = 1, heartbeat_every: float | None = None,
             job_failed: bool = False, legacy_header: bool = False, multi_bytes: int | None = None,
             multi_claims: int | None = None) -> Fault:
        """Inject a fault for the next ``times`` requests of ``kind`` (``handshake``,
        ``logon``, ``changes_since``, ``product_info``, ``access_tokens``)."""
        fault = Fault(kind, delay, ignore, drop_after, eresult, times, heartbeat_every, job_failed,
                      legacy_header, multi_bytes, multi_claims)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def count(self, kind: str | None = None) -> int:
        """How many requests of ``kind`` (of any kind but heartbeats when None) arrived so far."""
        with self._lock:
            return sum(1 for r in self.received if r.kind == kind or (kind is None and r.kind != "heartbeat"))

    def requests(self, kind: str) -> list[Any]:
        """The bodies (protobuf messages) of the requests of ``kind`` so far."""
        with self._lock:
            return [r.body for r in self.received if r.kind == kind]

    def requested_appids(self, metadata: bool = False) -> list[int]:
        """Every app id asked for in full product-info requests (``metadata``: in
        metadata-only ones), in order."""
        return [app.appid for body in self.requests("product_info") if body.meta_data_only == metadata
                for app in body.apps]

    def reset_records(self) -> None:
        with self._lock:
            self.received.clear()

    def drop_connections(self) -> None:
        """Close every client connection now (the CM goes away; it keeps listening)."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> "FakeSteamCM":
        self._listener = socket.create_server(("127.0.0.1", 0))
        listeners = [(self._listener, None)]
        if self.websocket:
            from .websocket import TestCertificate

            self.certificate = TestCertificate()
            self._ws_listener = socket.create_server(("127.0.0.1", 0))
            listeners.append((self._ws_listener, self.certificate.server_context()))
        for listener, tls in listeners:
            thread = threading.Thread(target=self._accept_loop, args=(listener, tls), daemon=True,
                                      name="fake-steam-cm" + ("-wss" if tls else ""))
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for listener in (self._listener, self._ws_listener):
            if listener is not None:
                with contextlib.suppress(OSError):
                    listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
                with contextlib.suppress(OSError):
                    listener.close()
        self.drop_connections()
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> "FakeSteamCM":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _accept_loop(self, listener: socket.socket, tls: Any) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
                self._sockets.add(sock)
            thread = threading.Thread(target=_Connection(self, sock, number, tls).run, daemon=True,
                                      name=f"fake-steam-cm-{number}")
            thread.start()
            self._threads.append(thread)

    def _take_fault(self, kind: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _record(self, kind: str, body: Any, connection: int) -> None:
        with self._lock:
            self.received.append(Received(kind, body, time.monotonic(), connection))


class _Connection:
    """One client connection: a reader (this thread) and a sender thread for timed answers."""

    def __init__(self, cm: FakeSteamCM, sock: socket.socket, number: int, tls: Any = None) -> None:
        self.cm = cm
        self.sock = sock
        self.number = number
        self.tls = tls
        """A server TLS context: this connection speaks websocket (wss) instead of VT01 TCP."""
        self.pipe: Any = None
        self.key: bytes | None = None
        self.steamid = 0
        self.session_id = 0
        self._outbox: list[tuple[float, int, bytes | None, bool]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._closed = False

    def run(self) -> None:
        sender = threading.Thread(target=self._send_loop, daemon=True, name=f"fake-steam-cm-send-{self.number}")
        sender.start()
        try:
            if self.tls is not None:
                from .websocket import serve_websocket

                serve_websocket(self, self.tls)
            else:
                self._serve()
        except (_Closed, OSError, ValueError, struct.error):
            pass
        except Exception:  # noqa: BLE001 - e.g. a websocket protocol error: hang up
            pass
        finally:
            self._close()
            sender.join(timeout=2)
            with contextlib.suppress(OSError):
                self.sock.close()
            with self.cm._lock:
                self.cm._sockets.discard(self.sock)

    # -- sending, with latency -----------------------------------------------------------
    def _queue(self, payloads: list[bytes], *, delay: float = 0.0, encrypt: bool = True,
               close_after: bool = False) -> None:
        due = time.monotonic() + self.cm.latency + delay
        with self._wake:
            for payload in payloads:
                heapq.heappush(self._outbox, (due, next(self._order), payload, encrypt))
            if close_after:
                heapq.heappush(self._outbox, (due, next(self._order), None, False))
            self._wake.notify()

    def _send_loop(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (not self._outbox or self._outbox[0][0] > time.monotonic()):
                    timeout = self._outbox[0][0] - time.monotonic() if self._outbox else None
                    self._wake.wait(timeout)
                if self._closed:
                    return
                _, _, payload, encrypt = heapq.heappop(self._outbox)
            if payload is None:
                self._close()
                return
            try:
                if self.pipe is not None:
                    self.pipe.send_message(payload)  # websocket: one message per frame, TLS only
                else:
                    data = wire.encrypt(payload, self.key) if encrypt and self.key else payload
                    self.sock.sendall(wire.frame(data))
            except Exception:  # noqa: BLE001 - OSError, or a TLS/websocket state error
                self._close()
                return

    def _close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    # -- receiving -----------------------------------------------------------------------
    def _read_exact(self, size: int) -> bytes:
        chunks = []
        while size:
            chunk = self.sock.recv(size)
            if not chunk:
                raise _Closed
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _read_packet(self) -> bytes:
        # steam/core/connection.py, SteamKit TcpConnection.cs: <length><"VT01"><payload>.
        length, magic = struct.unpack("<I4s", self._read_exact(8))
        if magic != MAGIC:
            raise _Closed
        data = self._read_exact(length)
        return wire.decrypt(data, self.key) if self.key else data

    def _serve(self) -> None:
        fault = self.cm._take_fault("handshake")
        if fault and fault.ignore:
            self._read_exact(1)  # say nothing; wait for the client to give up
            return
        # steam/core/cm.py __handle_encrypt_request, SteamKit NetFilterEncryptionWithHMAC.cs:
        # the CM opens with ChannelEncryptRequest (protocol 1, universe, 16-byte challenge).
        challenge = os.urandom(16)
        self._queue([wire.plain(CHANNEL_ENCRYPT_REQUEST, struct.pack("<II", 1, UNIVERSE_PUBLIC) + challenge)],
                    encrypt=False, delay=fault.delay if fault else 0.0)
        packet = self._read_packet()
        emsg, _, _ = struct.unpack_from("<Iqq", packet)
        if emsg != CHANNEL_ENCRYPT_RESPONSE:
            raise _Closed
        _, key_size, blob, crc, _ = struct.unpack_from("<II128sII", packet, 20)
        blob = blob[:key_size]
        # steam/core/crypto.py generate_session_key: RSA-OAEP(SHA-1) of key + challenge, CRC32.
        plain = PKCS1_OAEP.new(self.cm.key, SHA1).decrypt(blob)
        session_key, echoed = plain[:32], plain[32:]
        ok = echoed == challenge and crc == zlib.crc32(blob) & 0xFFFFFFFF
        eresult = fault.eresult if fault and fault.eresult else (messages.OK if ok else messages.FAIL)
        self._queue([wire.plain(CHANNEL_ENCRYPT_RESULT, struct.pack("<I", eresult))], encrypt=False,
                    close_after=eresult != messages.OK)
        if eresult != messages.OK:
            return
        self.key = session_key
        self.cm._record("handshake", None, self.number)
        while True:
            self._dispatch(self._read_packet())

    def _dispatch(self, packet: bytes) -> None:
        raw_emsg, header_size = struct.unpack_from("<II", packet)
        if not raw_emsg & PROTO_MASK:
            return  # the client sends only protobuf messages after the handshake
        emsg = raw_emsg & ~PROTO_MASK
        header = messages.Header()
        header.ParseFromString(packet[8:8 + header_size])
        payload = packet[8 + header_size:]
        kind = KINDS.get(emsg)
        if kind is None:
            return
        if emsg != LOGON and (header.steamid != self.steamid or header.client_sessionid != self.session_id):
            return  # not logged on, or another session's message: ignored (README: assumptions)
        body = {
            LOGON: messages.Logon,
            HEARTBEAT: messages.HeartBeat,
            CHANGES_SINCE: messages.ChangesSinceRequest,
            PRODUCT_INFO: messages.ProductInfoRequest,
            ACCESS_TOKENS: messages.AccessTokenRequest,
            LOG_OFF: messages.LogOff,
        }[emsg]()
        body.ParseFromString(payload)
        self.cm._record(kind, body, self.number)
        if emsg == LOG_OFF:
            raise _Closed  # steam/client/__init__.py logout: "the server will drop the connection"
        if emsg == HEARTBEAT:
            return
        fault = self.cm._take_fault(kind)
        if fault and fault.ignore:
            return
        delay = (fault.delay if fault else 0.0) + random.uniform(0.0, self.cm.jitter)
        if emsg == LOGON:
            self._logon(header, body, fault)
            return
        job = header.jobid_source
        if fault and fault.heartbeat_every:
            # SteamKit SteamClient.cs HandleJobHeartbeat: a CM still working on a job says so.
            beats = int(delay / fault.heartbeat_every)
            for n in range(1, beats + 1):
                self._queue([self._job_control(wire.JOB_HEARTBEAT, job, fault)], delay=n * fault.heartbeat_every)
        if fault and fault.multi_bytes:
            # Issue 12 point 7: a 4 MB gzip answer grew to 4.2 GB; steam/core/cm.py gunzips a
            # Multi whole, without a limit.
            self._queue([wire.bomb(fault.multi_bytes, fault.multi_claims, steamid=self.steamid,
                                   session_id=self.session_id)], delay=delay)
            return
        if fault and fault.job_failed:
            # SteamKit SteamClient.cs HandleJobFailed: DestJobFailed ends the job with no answer.
            self._queue([self._job_control(wire.DEST_JOB_FAILED, job, fault)], delay=delay)
            return
        if emsg == CHANGES_SINCE:
            answers = [self._changes_since(body)]
        elif emsg == ACCESS_TOKENS:
            answers = [self._access_tokens(body)]
        else:
            answers = self._product_info(body)
        payloads = [
            wire.proto(response_emsg, message, jobid_target=job, steamid=self.steamid,
                       session_id=self.session_id, eresult=messages.OK)
            for response_emsg, message in answers
        ]
        if fault and fault.drop_after is not None:
            payloads = payloads[: fault.drop_after]
        for n, payload in enumerate(payloads):
            self._queue(self._bundle([payload]), delay=delay + n * self.cm.part_gap)
        if fault and fault.drop_after is not None:
            self._queue([], delay=delay + len(payloads) * self.cm.part_gap, close_after=True)

    def _job_control(self, emsg: int, job: int, fault: Fault) -> bytes:
        if fault.legacy_header:
            return wire.extended(emsg, b"", target_job=job, steamid=self.steamid, session_id=self.session_id)
        return wire.proto(emsg, wire.EMPTY, jobid_target=job, steamid=self.steamid, session_id=self.session_id)

    def _bundle(self, payloads: list[bytes]) -> list[bytes]:
        """Wrap each large message in a gzip ``Multi``, as CMs do (steam/core/cm.py
        __handle_multi; the size threshold is an assumption, README)."""
        limit = self.cm.compress_over
        return [wire.multi([p], steamid=self.steamid, session_id=self.session_id)
                if limit is not None and len(p) > limit else p for p in payloads]

    # -- answers -------------------------------------------------------------------------
    def _logon(self, header: Any, body: Any, fault: Fault | None) -> None:
        response = messages.LogonResponse()
        anonymous = (header.steamid >> 52) & 0xF == ACCOUNT_TYPE_ANON_USER and not body.account_name
        if fault and fault.eresult:
            response.eresult = fault.eresult
        elif not anonymous:
            response.eresult = messages.INVALID_PASSWORD  # the fake knows no accounts
        else:
            response.eresult = messages.OK
        if response.eresult != messages.OK:
            # steam/core/cm.py _handle_logon: a refused logon ends with the connection closed.
            self._queue([wire.proto(LOGON_RESPONSE, response)], delay=fault.delay if fault else 0.0,
                        close_after=True)
            return
        account = random.randint(1, 2**31)
        self.steamid = (UNIVERSE_PUBLIC << 56) | (ACCOUNT_TYPE_ANON_USER << 52) | account
        self.session_id = random.randint(1, 2**31 - 1)
        # steam/core/cm.py _handle_logon reads steamid and session id from the header,
        # cell_id and heartbeat_seconds (it then sends ClientHeartBeat that often) from the body.
        response.heartbeat_seconds = self.cm.heartbeat_seconds
        response.legacy_out_of_game_heartbeat_seconds = self.cm.heartbeat_seconds
        response.cell_id = self.cm.cell_id
        response.rtime32_server_time = int(time.time())
        response.client_supplied_steamid = header.steamid
        with self.cm._lock:
            self.cm.logons += 1
        payloads = [wire.proto(LOGON_RESPONSE, response, steamid=self.steamid, session_id=self.session_id)]
        if self.cm.servers_available:
            # Issue 10 (logs of a PICS service): the CM bundles ClientServersAvailable with the
            # logon response in one Multi.
            available = messages.ServersAvailable()
            for server_type in (1, 12, 33):
                available.server_types_available.add(server=server_type, changed=False)
            payloads.append(wire.proto(wire.SERVERS_AVAILABLE, available, steamid=self.steamid,
                                       session_id=self.session_id))
            payloads = [wire.multi(payloads, steamid=self.steamid, session_id=self.session_id, compress=False)]
        self._queue(payloads, delay=fault.delay if fault else 0.0)

    def _changes_since(self, body: Any) -> tuple[int, Any]:
        current, forced, changes = self.cm.catalogue.changes_since(body.since_change_number)
        response = messages.ChangesSinceResponse(
            current_change_number=current,
            since_change_number=body.since_change_number,
            # winnow docs/spikes/update-signals.md (issue 10: seen in a PICS service's logs): a
            # cursor too far back gets only the current number and force_full_app_update.
            force_full_update=forced == "all",
            force_full_app_update=forced is not None,
            force_full_package_update=forced == "all",
        )
        if body.send_app_info_changes and forced is None:
            for appid, change_number, needs_token in changes:
                response.app_changes.add(appid=appid, change_number=change_number, needs_token=needs_token)
        return CHANGES_SINCE_RESPONSE, response

    def _access_tokens(self, body: Any) -> tuple[int, Any]:
        response = messages.AccessTokenResponse()
        with self.cm.catalogue.lock:
            for appid in body.appids:
                app = self.cm.catalogue.apps.get(appid)
                if app is not None and app.token and app.token_answer == "grant":
                    response.app_access_tokens.add(appid=appid, access_token=app.token)
                elif app is not None and app.token and app.token_answer == "silent":
                    continue  # issue 10 (SteamKit#941): sometimes neither granted nor denied
                else:
                    # steamcmd/api#49, DepotDownloader Steam3Session.cs: anonymous accounts are denied
                    response.app_denied_tokens.append(appid)
            response.package_denied_tokens.extend(body.packageids)
        return ACCESS_TOKENS_RESPONSE, response

    def _product_info(self, body: Any) -> list[tuple[int, Any]]:
        parts: list[Any] = []
        current = messages.ProductInfoResponse(meta_data_only=body.meta_data_only)
        with self.cm.catalogue.lock:
            for request in body.apps:
                app = self.cm.catalogue.apps.get(request.appid)
                if app is None:
                    current.unknown_appids.append(request.appid)  # SteamKit Callbacks.cs UnknownApps
                    continue
                # SteamKit SteamApps.cs: an answer comes in parts until one without
                # response_pending; how Steam splits it is undocumented (README: assumptions).
                if len(current.apps) >= self.cm.apps_per_part:
                    parts.append(current)
                    current = messages.ProductInfoResponse(meta_data_only=body.meta_data_only)
                # steamcmd/api#49 (steam's apps.py): without its token an app is sent public-only
                # with missing_token; the public-only content is an assumption (README).
                missing = bool(app.token) and request.access_token != app.token
                buffer = app.buffer(full=not missing)
                entry = current.apps.add(appid=app.appid, change_number=app.change_number,
                                         missing_token=missing, sha=sha1(buffer).digest(), size=len(buffer))
                if missing:
                    entry.only_public = True
                if not body.meta_data_only:  # SteamDB FullUpdateProcessor.cs: metadata = change numbers
                    entry.buffer = buffer
            current.unknown_packageids.extend(p.packageid for p in body.packages)
        parts.append(current)
        for part in parts[:-1]:
            part.response_pending = True
        return [(PRODUCT_INFO_RESPONSE, part) for part in parts]
