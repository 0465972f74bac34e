"""Steam's channel encryption for TCP CM connections (websocket connections use TLS instead).

The CM opens with ``ChannelEncryptRequest`` (protocol, universe, a 16-byte challenge); the
client answers with a fresh 32-byte session key and the challenge, RSA-OAEP (SHA-1)
encrypted with the universe's public key, plus a CRC32 of that blob; after
``ChannelEncryptResult`` OK every message is AES-256-CBC with an IV of its own, sent
AES-ECB-encrypted in front: the IV is 13 bytes of HMAC-SHA1 (key: the session key's first
16 bytes) over 3 random bytes and the message, then those 3 bytes (SteamKit
``NetFilterEncryptionWithHMAC.cs``, ``CryptoHelper.cs``; steam ``core/crypto.py``).
"""

from __future__ import annotations

import base64
import os
import struct
import zlib

from Cryptodome.Cipher import AES, PKCS1_OAEP
from Cryptodome.Hash import HMAC, SHA1
from Cryptodome.PublicKey import RSA
from Cryptodome.Util.Padding import pad, unpad

# The public universe's key, as Valve's clients embed it (SteamKit KeyDictionary.cs, steam
# core/crypto.py UniverseKey.Public). Tests swap it for the fake CM's (FakeSteamCM.patched_universe_key).
UNIVERSE_KEY = RSA.import_key(base64.b64decode(
    "MIGdMA0GCSqGSIb3DQEBAQUAA4GLADCBhwKBgQDf7BrWLBBmLBc1OhSwfFkRf53T"
    "2Ct64+AVzRkeRuh7h3SiGEYxqQMUeYKO6UWiSRKpI2hzic9pobFhRr3Bvr/WARvY"
    "gdTckPv+T1JzZsuVcNfFjrocejN1oWI0Rrtgt4Bo+hOneoo3S57G9F1fOpn5nsQ6"
    "6WOiu4gZKODnFMBCiQIBEQ=="))
PROTOCOL_VERSION = 1


class ChannelError(ValueError):
    """The handshake or a message could not be read."""


def answer_request(body: bytes) -> tuple[bytes, bytes]:
    """The ``ChannelEncryptResponse`` body for a ``ChannelEncryptRequest`` body, and the
    session key it carries."""
    if len(body) < 8:
        raise ChannelError("short ChannelEncryptRequest")
    protocol, _universe = struct.unpack_from("<II", body)
    challenge = body[8:24]
    if protocol != PROTOCOL_VERSION or len(challenge) != 16:
        raise ChannelError(f"unsupported channel protocol {protocol}")
    key = os.urandom(32)
    blob = PKCS1_OAEP.new(UNIVERSE_KEY, SHA1).encrypt(key + challenge)
    return struct.pack("<II", PROTOCOL_VERSION, len(blob)) + blob + struct.pack("<II", zlib.crc32(blob), 0), key


def encrypt(message: bytes, key: bytes) -> bytes:
    prefix = os.urandom(3)
    iv = HMAC.new(key[:16], prefix + message, SHA1).digest()[:13] + prefix
    return AES.new(key, AES.MODE_ECB).encrypt(iv) + AES.new(key, AES.MODE_CBC, iv).encrypt(pad(message, 16))


def decrypt(data: bytes, key: bytes) -> bytes:
    if len(data) < 32 or len(data) % 16:
        raise ChannelError("encrypted message of a bad length")
    iv = AES.new(key, AES.MODE_ECB).decrypt(data[:16])
    try:
        message = unpad(AES.new(key, AES.MODE_CBC, iv).decrypt(data[16:]), 16)
    except ValueError:
        raise ChannelError("bad padding in an encrypted message") from None
    if HMAC.new(key[:16], iv[-3:] + message, SHA1).digest()[:13] != iv[:13]:
        raise ChannelError("HMAC mismatch in an encrypted message")
    return message
