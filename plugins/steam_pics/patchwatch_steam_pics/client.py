"""The ``steam`` client as the session uses it: one server, no auto-discovery, capped ``Multi``.

``steam``'s own ``Multi`` handler (``steam/core/cm.py``) gunzips a bundle whole, with no
limit: a hostile or broken CM can make it allocate gigabytes. Here the bundle is decoded
in pieces up to the core's answer cap (``max_answer_mb``, read from
``patchwatch.http.controls("steam_pics")``); more drops the connection, and the pending
requests fail with a message naming the server.
"""

from __future__ import annotations

import logging
import struct
import zlib
from typing import Any

from . import servers

log = logging.getLogger(__name__)
PLUGIN = "steam_pics"
CHUNK = 256 * 1024


def max_bytes() -> int:
    """The decoded size one answer may have (the core's ``max_answer_mb``)."""
    from patchwatch import http

    return http.controls(PLUGIN).max_bytes


def make_client(server: "servers.Server") -> Any:
    """A ``SteamClient`` that will connect to ``server`` only."""
    from steam.client import SteamClient
    from steam.enums.emsg import EMsg

    client = SteamClient()
    client.auto_discovery = False  # never bootstrap a CM list from the web API or DNS
    client.cm_servers.clear()
    client.cm_servers.merge_list([(server.host, server.port)])
    client.drop_reason = None
    """Why the session hung up on this client itself (a request reports it)."""
    client.remove_listener(EMsg.Multi, client._CMClient__handle_multi)
    client.on(EMsg.Multi, lambda msg: _handle_multi(client, server, msg))
    return client


def _handle_multi(client: Any, server: "servers.Server", msg: Any) -> None:
    """Unpack a ``Multi`` like ``steam`` does, but never decode more than the cap."""
    import gevent

    cap = max_bytes()
    try:
        data = _unpack(msg.body, cap, server)
    except ValueError as exc:
        client.drop_reason = str(exc)
        log.warning("steam_pics: %s", exc)
        gevent.spawn(client.disconnect)
        return
    offset = 0
    while offset + 4 <= len(data):
        (size,) = struct.unpack_from("<I", data, offset)
        client._parse_message(data[offset + 4:offset + 4 + size])
        offset += 4 + size


def _unpack(body: Any, cap: int, server: "servers.Server") -> bytes:
    too_much = (f"Steam CM {server} sent a Multi message of more than {cap / 1048576:g} MiB "
                f"decoded (max_answer_mb)")
    if not body.size_unzipped:
        if len(body.message_body) > cap:
            raise ValueError(too_much)
        return body.message_body
    if body.size_unzipped > cap:
        raise ValueError(too_much)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip
    pieces, total = [], 0
    pending = body.message_body
    while pending:
        piece = inflater.decompress(pending, CHUNK)
        total += len(piece)
        if total > cap:
            raise ValueError(too_much)
        pieces.append(piece)
        pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    pieces.append(inflater.flush(CHUNK))
    if total + len(pieces[-1]) > cap:
        raise ValueError(too_much)
    data = b"".join(pieces)
    if len(data) != body.size_unzipped:
        raise ValueError(f"Steam CM {server} sent a Multi message whose size does not match "
                         f"({len(data)} bytes decoded, {body.size_unzipped} announced)")
    return data
