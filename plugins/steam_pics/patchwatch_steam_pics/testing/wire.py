"""Steam CM wire format for the fake: message ids, framing, headers, channel crypto."""

from __future__ import annotations

import gzip
import os
import struct
import threading
import zlib
from typing import Any

from Cryptodome.Cipher import AES
from Cryptodome.Hash import HMAC, SHA1
from Cryptodome.PublicKey import RSA
from Cryptodome.Util.Padding import pad, unpad

from .. import messages

# Message ids (EMsg, SteamDatabase/Protobufs steam/enums_clientserver.proto) and protocol constants.
MULTI = 1
DEST_JOB_FAILED = 113
JOB_HEARTBEAT = 123
HEARTBEAT = 703
LOG_OFF = 706
LOGON_RESPONSE = 751
CHANNEL_ENCRYPT_REQUEST = 1303
CHANNEL_ENCRYPT_RESPONSE = 1304
CHANNEL_ENCRYPT_RESULT = 1305
LOGON = 5514
CHANGES_SINCE = 8901
CHANGES_SINCE_RESPONSE = 8902
PRODUCT_INFO = 8903
PRODUCT_INFO_RESPONSE = 8904
ACCESS_TOKENS = 8905
ACCESS_TOKENS_RESPONSE = 8906
SERVERS_AVAILABLE = 5501
PROTO_MASK = 0x80000000
MAGIC = b"VT01"
UNIVERSE_PUBLIC = 1
ACCOUNT_TYPE_ANON_USER = 10

KINDS = {
    LOGON: "logon",
    HEARTBEAT: "heartbeat",
    CHANGES_SINCE: "changes_since",
    PRODUCT_INFO: "product_info",
    ACCESS_TOKENS: "access_tokens",
    LOG_OFF: "log_off",
}
"""Request kinds the fake records and injects faults for (plus ``handshake``)."""

_key_lock = threading.Lock()
_fake_key: RSA.RsaKey | None = None


def fake_key() -> RSA.RsaKey:
    """The fake's RSA key pair (1024 bits like Steam's universe key), made once per process."""
    global _fake_key
    with _key_lock:
        if _fake_key is None:
            _fake_key = RSA.generate(1024)
        return _fake_key


def frame(payload: bytes) -> bytes:
    return struct.pack("<I4s", len(payload), MAGIC) + payload


def proto(emsg: int, body: Any, *, jobid_target: int | None = None, steamid: int = 0,
           session_id: int = 0, eresult: int | None = None) -> bytes:
    header = messages.Header()
    if steamid:
        header.steamid = steamid
    if session_id:
        header.client_sessionid = session_id
    if jobid_target is not None:
        header.jobid_target = jobid_target
    if eresult is not None:
        header.eresult = eresult
    raw = header.SerializeToString()
    return struct.pack("<II", emsg | PROTO_MASK, len(raw)) + raw + body.SerializeToString()


class _Empty:
    """A message with no fields (job-control messages carry only their header)."""

    def SerializeToString(self) -> bytes:  # noqa: N802 - protobuf's name
        return b""


EMPTY = _Empty()


def extended(emsg: int, body: bytes, *, target_job: int = -1, source_job: int = -1, steamid: int = 0,
             session_id: int = 0) -> bytes:
    """A message with the older 36-byte extended header (SteamKit ExtendedClientMsgHdr)."""
    return struct.pack("<IBHqqBqi", emsg, 36, 2, target_job, source_job, 239, steamid, session_id) + body


def multi(payloads: list[bytes], *, steamid: int = 0, session_id: int = 0, compress: bool = True) -> bytes:
    """Several messages in one ``EMsg.Multi``: each prefixed with its length, gzipped when
    ``compress`` (then ``size_unzipped`` says how large the inside is)."""
    inner = b"".join(struct.pack("<I", len(p)) + p for p in payloads)
    if not compress:
        return proto(MULTI, messages.Multi(message_body=inner), steamid=steamid, session_id=session_id)
    body = messages.Multi(size_unzipped=len(inner), message_body=gzip.compress(inner, 6))
    return proto(MULTI, body, steamid=steamid, session_id=session_id)


def bomb(size: int, claims: int | None = None, *, steamid: int = 0, session_id: int = 0) -> bytes:
    """A gzip ``Multi`` whose body decodes to ``size`` zero bytes (announcing ``claims``)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    chunks = [packer.compress(block) for _ in range(size >> 20)]
    chunks.append(packer.compress(bytes(size & ((1 << 20) - 1))))
    chunks.append(packer.flush())
    body = messages.Multi(size_unzipped=size if claims is None else claims, message_body=b"".join(chunks))
    return proto(MULTI, body, steamid=steamid, session_id=session_id)


def plain(emsg: int, body: bytes) -> bytes:
    return struct.pack("<Iqq", emsg, -1, -1) + body


def encrypt(message: bytes, key: bytes) -> bytes:
    prefix = os.urandom(3)
    iv = HMAC.new(key[:16], prefix + message, SHA1).digest()[:13] + prefix
    return AES.new(key, AES.MODE_ECB).encrypt(iv) + AES.new(key, AES.MODE_CBC, iv).encrypt(pad(message, 16))


def decrypt(data: bytes, key: bytes) -> bytes:
    iv = AES.new(key, AES.MODE_ECB).decrypt(data[:16])
    message = unpad(AES.new(key, AES.MODE_CBC, iv).decrypt(data[16:]), 16)
    if HMAC.new(key[:16], iv[-3:] + message, SHA1).digest()[:13] != iv[:13]:
        raise ValueError("HMAC mismatch")
    return message
