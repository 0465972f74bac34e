"""A fake Epic Games Store on a :class:`FakeStoreServer`, speaking Epic's wire formats.

It plays the three services the plugin reads, on one loopback server:

* ``POST /account/api/oauth/token`` (form body, HTTP basic auth with the client id and
  secret): ``client_credentials`` and ``refresh_token`` grants; refresh tokens rotate.
* ``GET /launcher/api/public/assets/<platform>?label=Live`` (user bearer token): a JSON
  list of ``{appName, labelName, buildVersion, catalogItemId, namespace, assetId, metadata}``,
  as slow and as big as a large library makes it (:attr:`FakeEpic.assets_delay`,
  :meth:`FakeEpic.add_unreal_assets`, a 504 past :attr:`FakeEpic.gateway_timeout`).
* ``POST /catalog/api/shared/namespace/<ns>/bulk/items?<options>`` with a form body of
  repeated ``id`` fields (the launcher), or ``GET ...?id=<one id>`` (legendary) (any bearer
  token): a JSON object ``{id: item}``; unknown or delisted ids are simply absent. A
  comma-joined ``id`` is one (unknown) id.

Errors use Epic's envelope (``errorCode``, ``errorMessage``, ``messageVars``,
``numericErrorCode``, ``originatingService``, ``intent``); throttling is a 429 whose wait
is in ``messageVars`` and no ``Retry-After`` (:meth:`FakeEpic.throttle`); a restricted
namespace answers 403 (:meth:`FakeEpic.restrict`). The catalogue is plain data that tests
mutate: :meth:`FakeEpic.publish_build`, :meth:`FakeEpic.edit_metadata`,
:meth:`FakeEpic.delist`, :meth:`FakeEpic.expire_tokens`. legendary's own files can be
written too: :meth:`FakeEpic.write_legendary_user`, :meth:`FakeEpic.write_legendary_assets`,
:meth:`FakeEpic.write_legendary_installed`. Reuse it in your own tests::

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
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from patchwatch import Game, Signal
from patchwatch.testing import FakeStoreServer, Request, Response

from .settings import LAUNCHER_CLIENT_ID, LAUNCHER_CLIENT_SECRET

# Error codes and numbers: LeleDerGrasshalmi/FortniteEndpointsDocumentation EpicGames/Errors.md
AUTH_FAILED = ("errors.com.epicgames.common.authentication.authentication_failed", 1032)
TOKEN_INVALID = ("errors.com.epicgames.common.authentication.token_verification_failed", 1031)
INVALID_CLIENT = ("errors.com.epicgames.account.invalid_client_credentials", 18036)
INVALID_REFRESH = ("errors.com.epicgames.account.auth_token.invalid_refresh_token", 18033)
MISSING_PERMISSION = ("errors.com.epicgames.common.missing_permission", 1023)
SANDBOX_DENIED = ("errors.com.epicgames.common.sandbox.access.control.missing_permission", 1003)
THROTTLED = ("errors.com.epicgames.common.throttled", 1041)
VALIDATION_FAILED = ("errors.com.epicgames.validation.validation_failed", 1040)
CATALOG = "com.epicgames.catalog.public"
LAUNCHER = "com.epicgames.launcher.public"
ACCOUNT = "com.epicgames.account.public"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def epic_time(moment: datetime) -> str:
    """Epic's timestamp format: ``2024-01-01T00:00:00.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def epic_error(status: int, code: str | tuple[str, int], message: str, numeric: int = 0,
               service: str = ACCOUNT, *, message_vars: list[str] | None = None,
               **extra: Any) -> Response:
    """An error answer in Epic's envelope (Errors.md's example response).

    ``code`` may be one of this module's ``(errorCode, numericErrorCode)`` pairs.
    """
    if isinstance(code, tuple):
        code, numeric = code
    body = {
        "errorCode": code,
        "errorMessage": message,
        "messageVars": list(message_vars or []),
        "numericErrorCode": numeric,
        "originatingService": service,
        "intent": "prod",
        **extra,
    }
    return Response(status, json=body, headers={"X-Epic-Correlation-ID": uuid.uuid4().hex})


def throttled(seconds: int, service: str = CATALOG) -> Response:
    """Epic's 429: the wait in ``messageVars`` and the message, no ``Retry-After`` header
    (qlaffont/fortnite-api#86 and #146; Errors.md, 1041)."""
    return epic_error(429, THROTTLED, "Operation access is limited by throttling policy, "
                      f"please try again in {seconds} second(s).", service=service,
                      message_vars=[str(seconds)])


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
        """The item as ``bulk/items`` answers it (the fields that matter, real names).

        Field names: the captured answer in dippyshere/battle-breakers-documentation
        (``Catalog Service/.../bulk/items.md``) and legendary ``models/game.py``.
        """
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
        """The app as ``launcher/api/public/assets/<platform>`` answers it (FortniteEndpoints
        Documentation ``EpicGames/LauncherService/Assets/GetAsset.md``; legendary
        ``models/game.py`` ``GameAsset.from_egs_json``)."""
        return {
            "appName": self.app_name,
            "labelName": f"{label}-{platform}",
            "buildVersion": self.build_version,
            "catalogItemId": self.catalog_item_id,
            "namespace": self.namespace,
            "assetId": self.asset_id or self.app_name,
            "metadata": {"installationPoolId": uuid.uuid5(uuid.NAMESPACE_DNS, self.app_name).hex},
        }

    def legendary_asset(self, platform: str = "Windows", label: str = "Live") -> dict[str, Any]:
        """The app as legendary keeps it in ``assets.json`` (``models/game.py`` GameAsset)."""
        asset = self.asset_json(platform, label)
        return {
            "app_name": asset["appName"], "asset_id": asset["assetId"],
            "build_version": asset["buildVersion"], "catalog_item_id": asset["catalogItemId"],
            "label_name": asset["labelName"], "namespace": asset["namespace"],
            "metadata": asset["metadata"], "sidecar_rev": 0,
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


@dataclass
class _Refresh:
    account_id: str
    display_name: str
    expires_at: float
    client_id: str


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
        self.unreal_assets: list[dict[str, Any]] = []
        """Marketplace/Fab assets the account owns: the assets call lists them too."""
        self.assets_delay = 0.0
        """Seconds the assets call takes (over 10 s for 600+ games: legendary-gl/legendary#789)."""
        self.gateway_timeout: float | None = None
        """Epic's gateway gives up after this many seconds with a 504 (legendary-gl/legendary#789)."""
        self.restricted: set[str] = set()
        """Namespaces the catalog refuses with 403 sandbox missing_permission."""
        self.grants: list[str] = []
        """Grant types served, in order."""
        self.log: list[tuple[float, str, str, int]] = []
        """``(time.monotonic(), method, path, status)`` of every answer the routes gave."""
        self._throttles: dict[str, list[int]] = {}
        self._tokens: dict[str, _Issued] = {}
        self._refresh: dict[str, _Refresh] = {}
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

    def add_unreal_assets(self, count: int) -> None:
        """Give the account ``count`` Unreal Engine marketplace assets (namespace ``ue``,
        as legendary ``core.py`` skips them): accounts own thousands, and the assets call
        lists them all (legendary-gl/legendary#789: 20000+)."""
        with self._lock:
            start = len(self.unreal_assets)
            for n in range(start, start + count):
                name = f"UeAsset{n:05d}_4.27"
                self.unreal_assets.append({
                    "appName": name, "labelName": "Live-Windows",
                    "buildVersion": f"4.27.{n % 9}-CL-{2000 + n}",
                    "catalogItemId": uuid.uuid5(uuid.NAMESPACE_OID, name).hex,
                    "namespace": "ue", "assetId": name, "metadata": {},
                })

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

    def restrict(self, namespace: str) -> None:
        """The catalog refuses this namespace to the client: 403
        ``sandbox.access.control.missing_permission`` (Errors.md, 1003), for every token."""
        with self._lock:
            self.restricted.add(namespace)

    def throttle(self, seconds: int, *, times: int = 1, service: str = "catalog") -> None:
        """The next ``times`` requests to ``service`` ("catalog", "assets" or "oauth") get
        Epic's 429 asking to wait ``seconds`` in its body, without ``Retry-After``
        (qlaffont/fortnite-api#86, #146)."""
        with self._lock:
            self._throttles.setdefault(service, []).extend([seconds] * times)

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
        """Write legendary's ``user.json`` for a fresh login; returns the path.

        The file is the token answer as legendary saves it: ``json.dump(..., indent=2,
        sort_keys=True)`` (legendary ``lfs/utils.py`` LockedJSONData).
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.login(display_name, expired=expired), indent=2,
                                   sort_keys=True), encoding="utf-8")
        return path

    def write_legendary_assets(self, folder: str | Path, platform: str = "Windows",
                               apps: Iterable[str] | None = None) -> Path:
        """Write legendary's ``assets.json`` as ``legendary list`` leaves it:
        ``{platform: [GameAsset fields]}`` (legendary ``lfs/lgndry.py``, ``models/game.py``)."""
        path = Path(folder) / "assets.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            names = list(self.items) if apps is None else list(apps)
            assets = [self.items[name].legendary_asset(platform) for name in names
                      if self.items[name].listed]
        path.write_text(json.dumps({platform: assets}, indent=2, sort_keys=True),
                        encoding="utf-8")
        return path

    def write_legendary_installed(self, folder: str | Path,
                                  versions: dict[str, str]) -> Path:
        """Write legendary's ``installed.json``: ``{app_name: InstalledGame fields}`` with the
        installed ``version`` of each app (legendary ``models/game.py`` InstalledGame)."""
        path = Path(folder) / "installed.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        installed = {
            name: {"app_name": name, "title": self.items[name].title, "version": version,
                   "platform": "Windows", "install_path": f"/games/{name}",
                   "executable": f"{name}.exe", "can_run_offline": True, "is_dlc": False,
                   "install_size": 1, "manifest_path": "", "needs_verification": False}
            for name, version in versions.items()
        }
        path.write_text(json.dumps(installed, indent=2, sort_keys=True), encoding="utf-8")
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

    def refresh_token_valid(self, token: str) -> bool:
        """Whether ``token`` would still be accepted by the refresh grant."""
        with self._lock:
            known = self._refresh.get(token)
            return known is not None and known.expires_at > time.time()

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Plugin settings pointing at this fake, with fast retries; no legendary login."""
        url = self.server.url
        settings: dict[str, Any] = {
            "oauth_url": url, "launcher_url": url, "catalog_url": url,
            "client_id": self.client_id, "client_secret": self.client_secret,
            "legendary_user": "", "timeout": 2.0, "backoff": 0.01, "max_wait": 2.0, "rate": 0,
            "assets_timeout": 5.0, "legendary_lock_timeout": 5.0,
        }
        settings.update(overrides)
        return settings

    def _issue(self, kind: str, account_id: str | None, *, expired: bool = False) -> dict[str, Any]:
        now = time.time()
        ttl = -60.0 if expired else self.token_ttl
        access = "eg1~" + uuid.uuid4().hex
        with self._lock:
            self._tokens[access] = _Issued(kind, now + ttl, account_id)
        # The token answer's fields: legendary api/egs.py start_session, and
        # FortniteEndpointsDocumentation EpicGames/AccountService/Authentication/GrantTypes.
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
            self._refresh[refresh] = _Refresh(account_id, display_name, now + self.refresh_ttl,
                                              self.client_id)
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
        server.route("POST", r"/account/api/oauth/token", self._logged(self._token, "oauth"))
        server.route("GET", r"/launcher/api/public/assets/(?P<platform>[^/]+)",
                     self._logged(self._assets, "assets"))
        items = r"/catalog/api/shared/namespace/(?P<namespace>[^/]+)/bulk/items"
        server.route("GET", items, self._logged(self._bulk_items_get, "catalog"))
        server.route("POST", items, self._logged(self._bulk_items_post, "catalog"))

    def _logged(self, handler: Callable[[Request], Response | dict | list],
                service: str) -> Callable[[Request], Response]:
        def serve(request: Request) -> Response:
            with self._lock:
                waits = self._throttles.get(service)
                seconds = waits.pop(0) if waits else None
            if seconds is not None:
                answer: Response | dict | list = throttled(seconds, {
                    "catalog": CATALOG, "assets": LAUNCHER}.get(service, ACCOUNT))
            else:
                answer = handler(request)
            if not isinstance(answer, Response):
                answer = Response(json=answer)
            with self._lock:
                self.log.append((time.monotonic(), request.method, request.path, answer.status))
            return answer
        return serve

    def _token(self, request: Request) -> Response | dict:
        # HTTP basic auth with the client id and secret: legendary api/egs.py start_session.
        if not self._client_ok(request.headers.get("Authorization", "")):
            return epic_error(401, INVALID_CLIENT,
                              "Sorry the client credentials you are using are invalid",
                              error="invalid_client")
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        with self._lock:
            self.grants.append(grant)
        if grant == "client_credentials":
            return self._issue("client", None)
        if grant == "refresh_token":
            # Refresh tokens are single-use: the answer carries a new one and the old one
            # stops working (issue 13; OAuth 2.0 refresh token rotation, RFC 6749 section 6
            # "MAY issue a new refresh token ... the client MUST discard the old").
            with self._lock:
                known = self._refresh.pop(form.get("refresh_token", ""), None)
            if known is None or known.expires_at <= time.time() or known.client_id != \
                    self.client_id:
                return epic_error(
                    400, INVALID_REFRESH, "Sorry the refresh token is invalid",
                    error="invalid_grant")
            return self._user_session(known.account_id, known.display_name)
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
        service = LAUNCHER if user else CATALOG
        if scheme.lower() != "bearer" or not token:
            return epic_error(401, AUTH_FAILED, "Authentication failed", service=service)
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or issued.expires_at <= time.time():
            return epic_error(401, TOKEN_INVALID, "Sorry we couldn't validate your token. "
                              "Please try with a new token.", service=service)
        if user and issued.kind != "user":
            # The assets need a user's permission 'launcher:download:...' (FortniteEndpoints
            # Documentation EpicGames/LauncherService/Assets/GetAsset.md): 403, not 401.
            return epic_error(403, MISSING_PERMISSION,
                              "Sorry your login does not posses the permissions "
                              "'launcher:download:Live READ' needed to perform the requested "
                              "operation", service=service)
        return issued

    def _assets(self, request: Request) -> Response | list:
        auth = self._bearer(request, user=True)
        if isinstance(auth, Response):
            return auth
        if self.gateway_timeout is not None and self.assets_delay > self.gateway_timeout:
            # A list too big to build in time: the gateway answers 504 after its own
            # timeout (legendary-gl/legendary#789: "504 Server Error: Gateway Timeout").
            return Response(504, body="<html><body><h1>504 Gateway Time-out</h1></body></html>",
                            headers={"Content-Type": "text/html"}, delay=self.gateway_timeout)
        platform = request.params["platform"]
        label = request.arg("label", "Live")
        if label != "Live":
            return []  # only the Live label is modelled (legendary asks for label=Live)
        with self._lock:
            games = [item.asset_json(platform, label) for item in self.items.values()
                     if item.listed and platform in item.platforms
                     and (self.owned is None or item.app_name in self.owned)]
            answer = games + list(self.unreal_assets)
        return Response(json=answer, delay=self.assets_delay)

    def _bulk_items_get(self, request: Request) -> Response | dict:
        # legendary's form, one id: GET ...?id=<id> (legendary api/egs.py get_game_info).
        # Only the first id is read, literally: "a,b" is one id nobody has (issue 13:
        # "may read as one unknown id"); no source documents several ids in a GET.
        return self._bulk_items(request, request.query.get("id", [])[:1])

    def _bulk_items_post(self, request: Request) -> Response | dict:
        # The launcher's form: POST with a form body of repeated id fields
        # (dippyshere/battle-breakers-documentation, Catalog Service .../bulk/items.md).
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        return self._bulk_items(request, form.get("id", []))

    def _bulk_items(self, request: Request, ids: list[str]) -> Response | dict:
        auth = self._bearer(request, user=False)
        if isinstance(auth, Response):
            return auth
        namespace = request.params["namespace"]
        if namespace in self.restricted:
            return epic_error(403, SANDBOX_DENIED, "Sorry you are not assigned the appropriate "
                              f"permissions to access namespaces [{namespace}].",
                              service=CATALOG, message_vars=[namespace])
        wanted = {value for value in ids if value}
        # No id: 400 validation_failed (the code from Errors.md; the exact answer is not
        # documented anywhere we found).
        if not wanted:
            return epic_error(400, VALIDATION_FAILED, "Validation Failed. 'id' is required",
                              service=CATALOG)
        # Unknown ids are left out of the object (legendary get_game_info reads
        # .get(id)); an unknown namespace is the same empty object (no source found).
        with self._lock:
            return {item.catalog_item_id: item.catalog_json() for item in self.items.values()
                    if item.listed and item.namespace == namespace
                    and item.catalog_item_id in wanted}
