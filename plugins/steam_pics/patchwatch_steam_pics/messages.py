"""Steam CM message ids, result codes and the protobuf messages of an anonymous PICS session.

The message classes come from ``proto/steam_pics.proto`` (the fields of Valve's messages
that an anonymous PICS session uses, copied from SteamDatabase/Protobufs). Its descriptor
is loaded into a **private** descriptor pool, so the names never clash with another copy
of Steam's messages in the host's process (``steam``/``steam-next`` register the same
names in protobuf's default pool), and no generated code pins a protobuf release: any
protobuf runtime from 5.26 on works.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from ._descriptor import SERIALIZED

# EMsg values (SteamDatabase/Protobufs steam/enums_clientserver.proto).
MULTI = 1
DEST_JOB_FAILED = 113
JOB_HEARTBEAT = 123
CLIENT_HEARTBEAT = 703
CLIENT_LOG_OFF = 706
CLIENT_LOGON_RESPONSE = 751
CLIENT_LOGGED_OFF = 757
CHANNEL_ENCRYPT_REQUEST = 1303
CHANNEL_ENCRYPT_RESPONSE = 1304
CHANNEL_ENCRYPT_RESULT = 1305
CLIENT_SERVERS_AVAILABLE = 5501
CLIENT_LOGON = 5514
PICS_CHANGES_SINCE = 8901
PICS_CHANGES_SINCE_RESPONSE = 8902
PICS_PRODUCT_INFO = 8903
PICS_PRODUCT_INFO_RESPONSE = 8904
PICS_ACCESS_TOKEN = 8905
PICS_ACCESS_TOKEN_RESPONSE = 8906
PROTO_MASK = 0x80000000
"""Set in a message's EMsg when a protobuf header follows (SteamKit MsgUtil.cs)."""
NO_JOB = 2**64 - 1
"""The job id meaning "none" (``jobid_target`` default in steammessages_base.proto)."""

# EResult values (SteamKit SteamLanguage EResult; SteamDatabase/Protobufs has no dump of it).
ERESULTS = {
    1: "OK", 2: "Fail", 3: "NoConnection", 5: "InvalidPassword", 6: "LoggedInElsewhere",
    7: "InvalidProtocolVer", 8: "InvalidParam", 10: "Busy", 15: "AccessDenied", 16: "Timeout",
    20: "ServiceUnavailable", 25: "LimitExceeded", 48: "TryAnotherCM", 84: "RateLimitExceeded",
}
OK = 1
FAIL = 2
INVALID_PASSWORD = 5
SERVICE_UNAVAILABLE = 20
TRY_ANOTHER_CM = 48


def eresult_name(value: int) -> str:
    return ERESULTS.get(value, f"EResult {value}")


def _load() -> dict[str, Any]:
    pool = descriptor_pool.DescriptorPool()
    file = pool.Add(descriptor_pb2.FileDescriptorProto.FromString(SERIALIZED))
    del file
    package = "patchwatch_steam_pics."
    names = ("CMsgProtoBufHeader", "CMsgMulti", "CMsgClientLogon", "CMsgClientLogonResponse",
             "CMsgClientHeartBeat", "CMsgClientLogOff", "CMsgClientLoggedOff", "CMsgClientServersAvailable",
             "CMsgClientPICSChangesSinceRequest", "CMsgClientPICSChangesSinceResponse",
             "CMsgClientPICSProductInfoRequest", "CMsgClientPICSProductInfoResponse",
             "CMsgClientPICSAccessTokenRequest", "CMsgClientPICSAccessTokenResponse")
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(package + name))
            for name in names}


_classes = _load()
Header = _classes["CMsgProtoBufHeader"]
Multi = _classes["CMsgMulti"]
Logon = _classes["CMsgClientLogon"]
LogonResponse = _classes["CMsgClientLogonResponse"]
HeartBeat = _classes["CMsgClientHeartBeat"]
LogOff = _classes["CMsgClientLogOff"]
LoggedOff = _classes["CMsgClientLoggedOff"]
ServersAvailable = _classes["CMsgClientServersAvailable"]
ChangesSinceRequest = _classes["CMsgClientPICSChangesSinceRequest"]
ChangesSinceResponse = _classes["CMsgClientPICSChangesSinceResponse"]
ProductInfoRequest = _classes["CMsgClientPICSProductInfoRequest"]
ProductInfoResponse = _classes["CMsgClientPICSProductInfoResponse"]
AccessTokenRequest = _classes["CMsgClientPICSAccessTokenRequest"]
AccessTokenResponse = _classes["CMsgClientPICSAccessTokenResponse"]
