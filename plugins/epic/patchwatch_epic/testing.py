"""A fake Epic Games Store on a :class:`FakeStoreServer`, speaking Epic's wire formats.

It plays the three services the plugin reads, on one loopback server:

* ``POST /account/api/oauth/token`` (form body, HTTP basic auth with the client id and
  secret): ``client_credentials`` and ``refresh_token`` grants; refresh tokens rotate.
* ``GET /launcher/api/public/assets/<platform>?label=Live`` (user bearer token): a JSON
  list of ``{appName, labelName, buildVersion, catalogItemId, namespace, assetId, metadata}``.
* ``GET /catalog/api/shared/namespace/<ns>/bulk/items?id=a,b`` (any bearer token): a JSON
  object ``{id: item}``; unknown or delisted ids are simply absent.

Errors use Epic's envelope (``errorCode``, ``errorMessage``, ``messageVars``,
``numericErrorCode``, ``originatingService``, ``intent``). The catalogue is plain data
that tests mutate: :meth:`FakeEpic.publish_build`, :meth:`FakeEpic.edit_metadata`,
:meth:`FakeEpic.delist`, :meth:`FakeEpic.expire_tokens`. Reuse it in your own tests::

    epic = FakeEpic(fake_store)
    epic.add_game("Fig")
    settings = epic.settings(legendary_user=str(epic.write_legendary_user(tmp_path / "user.json")))
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs

from patchwatch import Game, Signal
from patchwatch.testing import FakeStoreServer, Request, Response

from .settings import LAUNCHER_CLIENT_ID, LAUNCHER_CLIENT_SECRET

AUTH_FAILED = "errors.com.epicgames.common.authentication.authentication_failed"
TOKEN_INVALID = "errors.com.epicgames.common.authentication.token_verification_failed"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def epic_time(moment: datetime) -> str:
    """Epic's timestamp format: ``2024-01-01T00:00:00.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def epic_error(status: int, code: str, message: str, numeric: int,
               service: str = "com.epicgames.account.public", **extra: Any) -> Response:
    """An error answer in Epic's envelope."""
    body = {
        "errorCode": code,
        "errorMessage": message,
        "messageVars": [],
        "numericErrorCode": numeric,
        "originatingService": service,
        "intent": "prod",
        **extra,
    }
    return Response(status, json=body, headers={"X-Epic-Correlation-ID": uuid.uuid4().hex})


@dataclass
class FakeItem:
    """One game: a catalog item in a namespace, and its launcher app with a live build."""

    app_name: str
    namespace: str
    catalog_item_id: str
    title: str
    build_version: str
    last_modified: str
    created: str
    platforms: list[str] = field(default_factory=lambda: ["Windows"])
    asset_id: str = ""
    listed: bool = True
    """False once delisted: gone from the catalog and the launcher assets."""

    def catalog_json(self) -> dict[str, Any]:
        """The item as ``bulk/items`` answers it (the fields that matter, real names)."""
        return {
            "id": self.catalog_item_id,
            "title": self.title,
            "description": self.title,
            "keyImages": [],
            "categories": [{"path": "games"}, {"path": "applications"}],
            "namespace": self.namespace,
            "status": "ACTIVE",
            "creationDate": self.created,
            "lastModifiedDate": self.last_modified,
            "customAttributes": {"CanRunOffline": {"type": "STRING", "value": "true"}},
            "entitlementName": self.catalog_item_id,
            "entitlementType": "EXECUTABLE",
            "itemType": "DURABLE",
            "releaseInfo": [{
                "id": uuid.uuid5(uuid.NAMESPACE_URL, self.app_name).hex,
                "appId": self.app_name,
                "platform": list(self.platforms),
                "dateAdded": self.created,
            }],
            "developer": "Fake Studio",
            "developerId": "fake-studio",
            "eulaIds": [],
            "endOfSupport": False,
            "unsearchable": False,
            "requiresSecureAccount": False,
        }

    def asset_json(self, platform: str, label: str) -> dict[str, Any]:
        """The app as ``launcher/api/public/assets/<platform>`` answers it."""
        return {
            "appName": self.app_name,
            "labelName": f"{label}-{platform}",
            "buildVersion": self.build_version,
            "catalogItemId": self.catalog_item_id,
            "namespace": self.namespace,
            "assetId": self.asset_id or self.app_name,
            "metadata": {"installationPoolId": uuid.uuid5(uuid.NAMESPACE_DNS, self.app_name).hex},
        }

    def backlogia_row(self, row_id: int | None = None) -> dict[str, Any]:
        """The library row Backlogia would store for this game (``extra_data`` is JSON text)."""
        extra = {
            "name": self.title,
            "app_name": self.app_name,
            "sku": self.catalog_item_id,
            "namespace": self.namespace,
            "supported_platforms": list(self.platforms),
            "created_date": self.created,
            "last_modified": self.last_modified,
            "store": "epic",
        }
        row: dict[str, Any] = {"name": self.title, "store": "epic", "store_id": self.app_name,
                               "extra_data": json.dumps(extra)}
        if row_id is not None:
            row["id"] = row_id
        return row

    def game(self, game_id: int, signals: dict[str, Signal] | None = None) -> Game:
        """A :class:`Game` as the core would hand it to the plugin."""
        return Game(game_id, "epic", self.app_name, self.title,
                    self.backlogia_row(game_id), dict(signals or {}))


@dataclass
class _Issued:
    kind: str  # "client" or "user"
    expires_at: float
    account_id: str | None = None


class FakeEpic:
    """Epic's OAuth, launcher and catalog services over ``server``, from a mutable catalogue."""

    def __init__(self, server: FakeStoreServer, *, client_id: str = LAUNCHER_CLIENT_ID,
                 client_secret: str = LAUNCHER_CLIENT_SECRET, token_ttl: float = 14400.0,
                 refresh_ttl: float = 28800.0):
        self.server = server
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl, self.refresh_ttl = token_ttl, refresh_ttl
        self.items: dict[str, FakeItem] = {}
        self.owned: set[str] | None = None
        """App names the logged-in account owns; ``None``: every listed game."""
        self.grants: list[str] = []
        """Grant types served, in order."""
        self._tokens: dict[str, _Issued] = {}
        self._refresh: dict[str, tuple[str, str, float]] = {}
        """refresh token -> (account id, display name, expiry)."""
        self._ticks = 0
        self._lock = threading.RLock()
        self.install(server)

    # -- the catalogue ---------------------------------------------------------
    def _stamp(self) -> str:
        self._ticks += 1
        return epic_time(EPOCH + timedelta(minutes=self._ticks))

    def add_game(self, app_name: str, *, namespace: str | None = None,
                 catalog_item_id: str | None = None, title: str | None = None,
                 build_version: str | None = None,
                 platforms: Iterable[str] = ("Windows",)) -> FakeItem:
        """Add a listed game; ids default to stable values derived from the app name."""
        with self._lock:
            stamp = self._stamp()
            item = FakeItem(
                app_name=app_name,
                namespace=namespace or uuid.uuid5(uuid.NAMESPACE_OID, "ns:" + app_name).hex,
                catalog_item_id=catalog_item_id or uuid.uuid5(uuid.NAMESPACE_OID, app_name).hex,
                title=title or app_name,
                build_version=build_version or f"1.0.0-CL-{1000 + self._ticks}-Windows",
                last_modified=stamp,
                created=stamp,
                platforms=list(platforms),
                asset_id=app_name,
            )
            self.items[app_name] = item
            return item

    def publish_build(self, app_name: str, build_version: str | None = None) -> str:
        """Ship a new live build (the catalog item is left as it was)."""
        with self._lock:
            item = self.items[app_name]
            self._ticks += 1
            n = self._ticks
            item.build_version = build_version or f"1.0.{n}-CL-{1000 + n}-Windows"
            return item.build_version

    def edit_metadata(self, app_name: str, title: str | None = None) -> str:
        """Edit the store data only: ``lastModifiedDate`` moves, the build does not."""
        with self._lock:
            item = self.items[app_name]
            item.last_modified = self._stamp()
            if title:
                item.title = title
            return item.last_modified

    def delist(self, app_name: str) -> None:
        """Remove the game from the catalog and from the launcher assets."""
        with self._lock:
            self.items[app_name].listed = False

    # -- auth --------------------------------------------------------------------
    def login(self, display_name: str = "patchwatch-tester", *,
              expired: bool = False) -> dict[str, Any]:
        """A user session as the token endpoint returns it and legendary saves it.

        ``expired`` gives an access token that is already past ``expires_at``.
        """
        account_id = uuid.uuid5(uuid.NAMESPACE_OID, display_name).hex
        return self._user_session(account_id, display_name, expired=expired)

    def write_legendary_user(self, path: str | Path, display_name: str = "patchwatch-tester",
                             *, expired: bool = False) -> Path:
        """Write legendary's ``user.json`` for a fresh login; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.login(display_name, expired=expired), indent=2),
                        encoding="utf-8")
        return path

    def expire_tokens(self) -> None:
        """Every access token issued so far now answers 401 (refresh tokens stay valid)."""
        with self._lock:
            for issued in self._tokens.values():
                issued.expires_at = 0.0

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far is refused (the user must log in again)."""
        with self._lock:
            self._refresh.clear()

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Plugin settings pointing at this fake, with fast retries; no legendary login."""
        url = self.server.url
        settings: dict[str, Any] = {
            "oauth_url": url, "launcher_url": url, "catalog_url": url,
            "client_id": self.client_id, "client_secret": self.client_secret,
            "legendary_user": "", "timeout": 2.0, "backoff": 0.01, "max_wait": 2.0, "rate": 0,
        }
        settings.update(overrides)
        return settings

    def _issue(self, kind: str, account_id: str | None, *, expired: bool = False) -> dict[str, Any]:
        now = time.time()
        ttl = -60.0 if expired else self.token_ttl
        access = "eg1~" + uuid.uuid4().hex
        with self._lock:
            self._tokens[access] = _Issued(kind, now + ttl, account_id)
        return {
            "access_token": access,
            "expires_in": int(ttl),
            "expires_at": epic_time(datetime.fromtimestamp(now + ttl, UTC)),
            "token_type": "bearer",
            "client_id": self.client_id,
            "internal_client": True,
            "client_service": "launcher",
        }

    def _user_session(self, account_id: str, display_name: str, *,
                      expired: bool = False) -> dict[str, Any]:
        body = self._issue("user", account_id, expired=expired)
        refresh = "eg1~" + uuid.uuid4().hex
        now = time.time()
        with self._lock:
            self._refresh[refresh] = (account_id, display_name, now + self.refresh_ttl)
        body.update({
            "refresh_token": refresh,
            "refresh_expires": int(self.refresh_ttl),
            "refresh_expires_at": epic_time(datetime.fromtimestamp(now + self.refresh_ttl, UTC)),
            "account_id": account_id,
            "displayName": display_name,
            "app": "launcher",
            "in_app_id": account_id,
        })
        return body

    # -- the routes ----------------------------------------------------------------
    def install(self, server: FakeStoreServer) -> None:
        server.route("POST", r"/account/api/oauth/token", self._token)
        server.route("GET", r"/launcher/api/public/assets/(?P<platform>[^/]+)", self._assets)
        server.route("GET", r"/catalog/api/shared/namespace/(?P<namespace>[^/]+)/bulk/items",
                     self._bulk_items)

    def _token(self, request: Request) -> Response | dict:
        if not self._client_ok(request.headers.get("Authorization", "")):
            return epic_error(401, "errors.com.epicgames.account.invalid_client_credentials",
                              "Sorry the client credentials you are using are invalid", 18033,
                              error="invalid_client")
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        with self._lock:
            self.grants.append(grant)
        if grant == "client_credentials":
            return self._issue("client", None)
        if grant == "refresh_token":
            with self._lock:
                known = self._refresh.pop(form.get("refresh_token", ""), None)
            if known is None or known[2] <= time.time():
                return epic_error(
                    400, "errors.com.epicgames.account.auth_token.invalid_refresh_token",
                    "Sorry the refresh token is invalid", 18036, error="invalid_grant")
            return self._user_session(known[0], known[1])
        return epic_error(400, "errors.com.epicgames.common.oauth.unsupported_grant_type",
                          f"Unsupported grant type: {grant}", 1016, error="unsupported_grant_type")

    def _client_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return decoded == f"{self.client_id}:{self.client_secret}"

    def _bearer(self, request: Request, *, user: bool) -> Response | _Issued:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        service = "com.epicgames.launcher.public" if user else "com.epicgames.catalog.public"
        if scheme.lower() != "bearer" or not token:
            return epic_error(401, AUTH_FAILED, "Authentication failed", 1032, service)
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or issued.expires_at <= time.time():
            return epic_error(401, TOKEN_INVALID, f"Sorry the auth token '{token}' is invalid",
                              1014, service)
        if user and issued.kind != "user":
            return epic_error(403, "errors.com.epicgames.common.missing_permission",
                              "Sorry your login does not posses the permissions "
                              "'launcher:download:Live READ' needed to perform the requested "
                              "operation", 1023, service)
        return issued

    def _assets(self, request: Request) -> Response | list:
        auth = self._bearer(request, user=True)
        if isinstance(auth, Response):
            return auth
        platform = request.params["platform"]
        label = request.arg("label", "Live")
        if label != "Live":
            return []
        with self._lock:
            return [item.asset_json(platform, label) for item in self.items.values()
                    if item.listed and platform in item.platforms
                    and (self.owned is None or item.app_name in self.owned)]

    def _bulk_items(self, request: Request) -> Response | dict:
        auth = self._bearer(request, user=False)
        if isinstance(auth, Response):
            return auth
        values = request.query.get("id", [])
        wanted = {part for value in values for part in value.split(",") if part}
        if not wanted:
            return epic_error(400, "errors.com.epicgames.validation.validation_failed",
                              "Validation Failed. 'id' is required", 1040,
                              "com.epicgames.catalog.public")
        namespace = request.params["namespace"]
        with self._lock:
            return {item.catalog_item_id: item.catalog_json() for item in self.items.values()
                    if item.listed and item.namespace == namespace
                    and item.catalog_item_id in wanted}
