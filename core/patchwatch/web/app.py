"""The ASGI app: pages over the database, their JSON twins, feeds, and two actions.

Each page is one data function (:mod:`patchwatch.web.data`) rendered twice: HTML by a Jinja
template (autoescaped) and JSON at the same path plus ``.json``. Pages open the database
read-only for each request. The app holds no global state, so a host can mount several, and
it builds every link from the ASGI ``root_path``, so it works under any prefix.
"""

from __future__ import annotations

import contextlib
import email.utils
import hmac
import ipaddress
import json
import secrets
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import __version__, feeds
from ..config import Config, load_config
from ..db import open_db
from ..errors import PatchwatchError
from ..plugins import PluginManager, backends, get_plugin_manager
from . import data
from .jobs import CheckRunner, Schedule

HERE = Path(__file__).parent
COOKIE = "patchwatch_token"
MAX_FORM_BYTES = 8192
SECURITY_HEADERS = {
    # No inline script can run: the only script is static/check.js from this app.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self'; connect-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
STATIC = {"style.css": "text/css; charset=utf-8", "check.js": "text/javascript; charset=utf-8"}


class Refused(Exception):
    """An answer other than the page: status and one line for the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class PatchwatchApp(Starlette):
    """The pages of one database, with its "check now" and its schedule.

    Built by :func:`create_app`. A host that wants patchwatch's schedule calls
    :meth:`start_watch` (and :meth:`close` when it shuts down); ``patchwatch serve`` does both.
    """

    db_path: Path
    token: str | None
    allow_remote_actions: bool
    csrf: str
    """The per-app token every form carries (refuses cross-site posts)."""
    checks: CheckRunner
    schedule: Schedule
    get_config: Callable[[], Config]
    get_pm: Callable[[], PluginManager]
    templates: jinja2.Environment

    def start_watch(self) -> bool:
        """Run the watch loop in a background thread; False if it already runs."""
        return self.schedule.start()

    def stop_watch(self, wait: float = 5.0) -> bool:
        """Stop the watch loop (what it fetched is saved); False if it was not running."""
        return self.schedule.stop(wait)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope["patchwatch_app"] = self  # mounted, request.app would be the host's app
        await super().__call__(scope, receive, send)

    def close(self, wait: float = 5.0) -> None:
        """Cancel a running check and stop the schedule (the app's lifespan does this)."""
        self.checks.cancel()
        self.schedule.stop(wait)
        self.checks.join(wait)


def create_app(db_path: str | Path, config: Config | None = None, *,
               pm: PluginManager | None = None, token: str | None = None,
               allow_remote_actions: bool = False, watch: bool = False,
               log: Callable[[str], None] | None = None) -> PatchwatchApp:
    """The patchwatch web app over the database at ``db_path``.

    ``config`` defaults to the user's config file, read when needed (a broken file shows as
    one line on the pages, never breaks the host at import). ``pm`` defaults to the installed
    plugins. ``token``: when set, the actions ("check now", start/stop the schedule) need it
    (``?token=…`` once in the browser sets a cookie; scripts send
    ``Authorization: Bearer …``); without it they are only allowed from this machine
    (loopback), unless ``allow_remote_actions`` says the host already authenticates every
    request that reaches the app (Backlogia with ``ENABLE_AUTH``). Cross-site requests are
    refused either way. ``watch=True`` starts patchwatch's schedule at once; ``log`` gets its lines.
    """
    def get_config() -> Config:
        return config if config is not None else load_config()

    def get_pm() -> PluginManager:
        return pm if pm is not None else get_plugin_manager()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        patchwatch_app.close()  # a mounted app gets no lifespan: the host calls close()

    routes = [
        Route("/", _html(_recent, "recent.html")),
        Route("/index.json", _json(_recent)),
        Route("/health", _html(_health, "health.html")),
        Route("/health.json", _json(_health)),
        Route("/outbox", _html(_outbox, "outbox.html")),
        Route("/outbox.json", _json(_outbox)),
        Route("/check", _html(_check, "check.html")),
        Route("/check.json", _json(_check)),
        Route("/check", _start_check, methods=["POST"]),
        Route("/check/cancel", _cancel_check, methods=["POST"]),
        Route("/schedule/start", _schedule_action("start"), methods=["POST"]),
        Route("/schedule/stop", _schedule_action("stop"), methods=["POST"]),
        Route("/feed.atom", _feed("atom")),
        Route("/feed.json", _feed("json")),
        Route("/static/{name}", _static),
        Route("/games/{rest:path}", _game_dispatch),
    ]
    patchwatch_app = PatchwatchApp(routes=routes, lifespan=lifespan)
    patchwatch_app.db_path = Path(db_path)
    patchwatch_app.token = token or None
    patchwatch_app.allow_remote_actions = allow_remote_actions
    patchwatch_app.csrf = secrets.token_urlsafe(24)
    patchwatch_app.get_config = get_config
    patchwatch_app.get_pm = get_pm
    patchwatch_app.checks = CheckRunner(db_path, get_pm, get_config)
    patchwatch_app.schedule = Schedule(db_path, get_pm, get_config, log)
    patchwatch_app.templates = _environment()
    if watch:
        patchwatch_app.start_watch()
    return patchwatch_app


# -- rendering -------------------------------------------------------------------------

def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.ChainableUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["q"] = lambda value: quote(str(value), safe="")
    env.filters["when"] = _when
    return env


def _when(value: Any) -> str:
    """An ISO time as ``2026-12-07 16:40 UTC`` (the text as is when it is not one)."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _app(request: Request) -> PatchwatchApp:
    return request.scope["patchwatch_app"]  # set by PatchwatchApp.__call__


def _base(request: Request) -> str:
    """The prefix the app is mounted under ("" at the root)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _route_path(request: Request) -> str:
    """The path inside this app (Starlette's mounts keep the prefix in ``path`` or not,
    depending on the version)."""
    path, root = request.scope["path"], str(request.scope.get("root_path", ""))
    return path[len(root):] if root and path.startswith(root) else path


def _render(request: Request, template: str, context: dict[str, Any],
            status: int = 200) -> Response:
    app = _app(request)
    html = app.templates.get_template(template).render(
        base=_base(request), csrf=app.csrf, version=__version__, path=_route_path(request),
        **context)
    return HTMLResponse(html, status, headers=SECURITY_HEADERS)


def _json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n"
    return Response(body, status, headers={**SECURITY_HEADERS, **(headers or {})},
                    media_type="application/json")


def _error(request: Request, status: int, message: str, as_json: bool) -> Response:
    if as_json:
        return _json_response({"error": message}, status)
    return _render(request, "error.html", {"status": status, "message": message}, status)


def _guard(request: Request, fn: Callable[[], Response], as_json: bool) -> Response:
    """Run ``fn``; a bad filter, a missing or corrupt database becomes one line."""
    try:
        return fn()
    except Refused as exc:
        return _error(request, exc.status, exc.message, as_json)
    except data.BadFilter as exc:
        return _error(request, 400, str(exc), as_json)
    except PatchwatchError as exc:
        return _error(request, 503, str(exc), as_json)
    except sqlite3.Error as exc:
        from ..db import database_error
        return _error(request, 503, str(database_error(_app(request).db_path, exc)), as_json)
    except Exception as exc:  # a row no page expected: one line, never a traceback
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return _error(request, 500, f"patchwatch could not show this page: "
                      f"{type(exc).__name__}: {text}", as_json)


@contextlib.contextmanager
def _read(request: Request):
    db = open_db(_app(request).db_path, read_only=True)
    try:
        yield db
    finally:
        db.close()


def _html(loader: Callable[[Request], dict[str, Any]], template: str):
    def endpoint(request: Request) -> Response:
        if "token" in request.query_params:
            return _login(request)
        return _guard(request, lambda: _render(request, template, loader(request)), False)
    return endpoint


def _json(loader: Callable[[Request], dict[str, Any]]):
    def endpoint(request: Request) -> Response:
        return _guard(request, lambda: _json_response(loader(request)), True)
    return endpoint



# -- the pages' data ---------------------------------------------------------------------

def _recent(request: Request) -> dict[str, Any]:
    params = request.query_params
    with _read(request) as db:
        return data.recent(db, store=params.get("store"), period=params.get("period"),
                           show=params.get("show"))


def _secrets(request: Request) -> list[str]:
    """What must never be shown (see :func:`data.config_secrets`); none if the config is
    unreadable (the pages that need it say so)."""
    try:
        return data.config_secrets(_app(request).get_config())
    except PatchwatchError:
        return []


def _health(request: Request) -> dict[str, Any]:
    app = _app(request)
    config = app.get_config()
    plugins = backends(app.get_pm(), config)
    secrets = data.config_secrets(config)
    with _read(request) as db:
        page = data.health(db, plugins, secrets=secrets)
    schedule = app.schedule.status()
    schedule["log"] = [data.redact(line, secrets) for line in schedule["log"]]
    schedule["error"] = data.redact(schedule["error"], secrets)
    page["schedule"] = schedule
    page["actions"] = _actions(request)
    return page


def _outbox(request: Request) -> dict[str, Any]:
    secrets = _secrets(request)
    with _read(request) as db:
        return data.outbox(db, secrets=secrets)


def _check(request: Request) -> dict[str, Any]:
    status = _app(request).checks.status()
    if status["error"] or status["message"]:
        secrets = _secrets(request)
        status["error"] = data.redact(status["error"], secrets)
        status["message"] = data.redact(status["message"], secrets)
    return {"check": status, "actions": _actions(request)}


def _game_dispatch(request: Request) -> Response:
    """``/games/{store}/{store_id}`` (HTML), ``….json``, ``…/feed.atom``, ``…/feed.json``
    (one route: a store id may hold any character, a slash included)."""
    rest = request.path_params["rest"]
    for suffix, kind in (("/feed.atom", "atom"), ("/feed.json", "jsonfeed"), (".json", "json")):
        if rest.endswith(suffix):
            rest = rest[: -len(suffix)]
            break
    else:
        kind = "html"
    store, sep, store_id = rest.partition("/")
    as_json = kind != "html"
    if not sep or not store or not store_id:
        return _error(request, 404, "use /games/STORE/STORE_ID (e.g. /games/steam/570)",
                      as_json)

    def load() -> dict[str, Any]:
        secrets = _secrets(request)
        with _read(request) as db:
            page = data.game(db, store, store_id, secrets=secrets)
            if page is None:
                raise Refused(404, f"no game {store}:{store_id} in the library")
            if kind in ("atom", "jsonfeed"):
                page["feed_rows"] = data.feed_rows(db, page["game"]["id"], _include_weak(request))
            return page

    if kind in ("atom", "jsonfeed"):
        def feed() -> Response:
            page = load()
            label = f"{page['game']['store']}:{page['game']['store_id']}"
            name = page["game"]["title"] or label
            return _feed_response(request, page["feed_rows"], kind,
                                  f"patchwatch: updates of {name}",
                                  f"urn:patchwatch:feed:game:{label}")
        return _guard(request, feed, True)
    if kind == "json":
        return _guard(request, lambda: _json_response(load()), True)
    if "token" in request.query_params:
        return _login(request)
    return _guard(request, lambda: _render(request, "game.html", load()), False)


# -- feeds ---------------------------------------------------------------------------------

def _include_weak(request: Request) -> bool:
    return request.query_params.get("all", "") not in ("", "0", "false", "no")


def _feed(kind: str):
    def endpoint(request: Request) -> Response:
        def load() -> Response:
            with _read(request) as db:
                rows = data.feed_rows(db, None, _include_weak(request))
            return _feed_response(request, rows, "atom" if kind == "atom" else "jsonfeed",
                                  "patchwatch: game updates", "urn:patchwatch:feed:library")
        return _guard(request, load, True)
    return endpoint


def _feed_response(request: Request, rows: list[dict[str, Any]], kind: str, title: str,
                   feed_id: str) -> Response:
    """The feed, or 304 when the reader's ETag (or date) says it has this one already."""
    etag = data.feed_etag(rows, kind, title, __version__)
    modified = _http_date(rows[0]["detected_at"]) if rows else None
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if modified:
        headers["Last-Modified"] = modified
    if _not_modified(request, etag, rows[0]["detected_at"] if rows else None):
        return Response(status_code=304, headers=headers)
    if kind == "atom":
        return Response(feeds.atom(rows, title, feed_id), headers=headers,
                        media_type="application/atom+xml; charset=utf-8")
    return Response(feeds.json_feed(rows, title), headers=headers,
                    media_type="application/feed+json; charset=utf-8")


def _not_modified(request: Request, etag: str, newest: str | None) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:  # RFC 9110 13.1.2: If-None-Match wins over If-Modified-Since
        tags = {t.strip() for t in match.split(",")}
        weak = etag[2:] if etag.startswith("W/") else etag
        return "*" in tags or etag in tags or weak in tags or f"W/{weak}" in tags
    since = request.headers.get("if-modified-since")
    if since and newest:
        try:
            asked = email.utils.parsedate_to_datetime(since)
            have = _parse_time(newest)
        except (TypeError, ValueError):
            return False
        return have.replace(microsecond=0) <= asked
    return False


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _http_date(value: str) -> str | None:
    try:
        return email.utils.format_datetime(_parse_time(value).astimezone(timezone.utc),
                                           usegmt=True)
    except (TypeError, ValueError):
        return None


def _static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return Response("not found", 404, media_type="text/plain")
    return Response((HERE / "static" / name).read_bytes(), media_type=STATIC[name],
                    headers={"Cache-Control": "max-age=300", **SECURITY_HEADERS})


# -- actions -------------------------------------------------------------------------------

def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _supplied_token(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(COOKIE, "")


def _actions(request: Request) -> dict[str, Any]:
    """Whether this client may run the actions, and why not."""
    app = _app(request)
    if app.token:
        if hmac.compare_digest(_supplied_token(request).encode(), app.token.encode()):
            return {"allowed": True, "why_not": None}
        return {"allowed": False, "why_not": "actions need this server's token: open any "
                "page once with ?token=… (or send Authorization: Bearer …)"}
    client = request.client.host if request.client else None
    if _is_loopback(client) or app.allow_remote_actions:
        return {"allowed": True, "why_not": None}
    return {"allowed": False, "why_not": "actions are allowed only from this machine unless "
            "the server has a token (patchwatch serve --token, or create_app(..., token=...))"}


def _same_origin(request: Request) -> bool:
    """The request comes from one of this app's own pages (Origin, else Referer)."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    referer = request.headers.get("referer")
    if referer is not None:
        return urlsplit(referer).netloc == host
    return False  # a form post from a browser always sends one of these


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Refused(413, "form too large")
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the form could not be read") from None
    return {k: v[0] for k, v in fields.items()}


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _authorise(request: Request) -> None:
    """Raise :class:`Refused` unless the action may run: allowed client (token or loopback)
    and a request from our own page (same origin and the app's form token)."""
    app = _app(request)
    allowed = _actions(request)
    if not allowed["allowed"]:
        raise Refused(403, allowed["why_not"])
    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    if bearer:  # a script with the token: no browser, no cross-site request
        return
    form = await _form(request)
    if not _same_origin(request) or not hmac.compare_digest(
            form.get("csrf", "").encode(), app.csrf.encode()):
        raise Refused(403, "refused: this action must come from patchwatch's own page "
                      "(reload the page and try again)")


def _action(fn: Callable[[Request], Response]):
    async def endpoint(request: Request) -> Response:
        try:
            await _authorise(request)
        except Refused as exc:
            return _error(request, exc.status, exc.message, _wants_json(request))
        return _guard(request, lambda: fn(request), _wants_json(request))
    return endpoint


def _after(request: Request, path: str, status: int = 303, payload: Any = None) -> Response:
    if _wants_json(request):
        return _json_response(payload, 202 if status == 303 else status)
    return RedirectResponse(_base(request) + path, status_code=303)


def _start_check_now(request: Request) -> Response:
    app = _app(request)
    if not app.checks.start():
        raise Refused(409, "a check is already running: wait for it or cancel it")
    return _after(request, "/check", payload=app.checks.status())


def _cancel_check_now(request: Request) -> Response:
    app = _app(request)
    if not app.checks.cancel():
        raise Refused(409, "no check is running")
    return _after(request, "/check", payload=app.checks.status())


_start_check = _action(_start_check_now)
_cancel_check = _action(_cancel_check_now)


def _schedule_action(what: str):
    def act(request: Request) -> Response:
        app = _app(request)
        if what == "start":
            if not app.start_watch() and app.schedule.error and not app.schedule.running:
                raise Refused(503, f"the schedule did not start: "
                              f"{data.redact(app.schedule.error, _secrets(request))}")
        else:
            app.stop_watch()
        return _after(request, "/health", payload=app.schedule.status())
    return _action(act)


def _login(request: Request) -> Response:
    """``?token=…``: remember the token in a cookie (only if right) and drop it from the URL."""
    app = _app(request)
    supplied = request.query_params.get("token", "")
    rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    target = _base(request) + _route_path(request) + (("?" + urlencode(rest)) if rest else "")
    response = RedirectResponse(target, status_code=303)
    if app.token and hmac.compare_digest(supplied.encode(), app.token.encode()):
        response.set_cookie(COOKIE, supplied, httponly=True, samesite="strict",
                            path=_base(request) or "/",
                            secure=request.url.scheme == "https")
    return response
