"""What the pages show, read from the database: one function per page, shared by its HTML
and its JSON (as datasette's pages and their ``.json`` twins share one query).

Every function takes a read-only connection and returns plain JSON-ready values. Text from
stores and plugins is returned as is (the templates escape it), except links: only
``http``/``https`` links survive (:func:`safe_url`), and anything that may carry a secret
(a notification URL, a token in a query string) is cut out (:func:`redact`).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

import sqlite_utils

from ..db import CHECKS, OUTBOX, PLUGIN_STATE, RUNS, SIGNALS, UPDATES
from ..library import TITLE_COLUMNS

PERIODS = {"1d": 1, "7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}
"""The periods the recent-updates page filters by (days)."""
DEFAULT_PERIOD = "30d"
LIMIT = 200
"""Rows a list shows at most (each list says how many it left out)."""
FEED_ITEMS = 50

UPDATE_COLUMNS = ("id", "game_id", "store", "store_id", "title", "kind", "old_value",
                  "new_value", "old_version", "version", "published_at", "is_build", "plugin",
                  "detected_at", "store_url", "notes_url", "notes")


class BadFilter(ValueError):
    """A query parameter the page cannot use (shown as one line, status 400)."""


def _has(db: sqlite_utils.Database, table: str) -> bool:
    return db[table].exists()


def safe_url(value: Any) -> str | None:
    """``value`` if it is an absolute http(s) link, else None (``javascript:``, ``data:``...)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc \
            or any(c in text for c in "\r\n\t\x00 \"'<>`"):
        return None
    return text


_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]{1,20})://[^\s\"'<>]+")


def redact(text: Any, secrets: Iterable[str] = ()) -> str | None:
    """``text`` with every URL cut to its scheme and host (no user, password, path or
    query) and each of ``secrets`` (and its parts) replaced by ``…``."""
    if text is None:
        return None
    out = str(text)
    for secret in secrets:
        for part in sorted(_secret_parts(secret), key=len, reverse=True):
            out = out.replace(part, "…")

    def cut(match: re.Match[str]) -> str:
        try:
            host = urlsplit(match[0]).hostname or ""
        except ValueError:
            host = ""
        return f"{match[1]}://{host}/…" if host else f"{match[1]}://…"

    return _URL.sub(cut, out)


def _secret_parts(url: str) -> set[str]:
    """The whole URL and each piece of it long enough to be a token or a topic."""
    parts = {url}
    _, _, rest = url.partition("://")
    parts |= {p for p in re.split(r"[/:@?&=#,+]", rest) if len(p) >= 4}
    return parts


SECRET_KEYS = re.compile(r"pass|secret|token|auth|key|cookie|credential", re.I)


def config_secrets(config: Any) -> list[str]:
    """What in the config may be a secret: the notify URLs, and every text under a setting
    whose name says so (``branch_passwords``, ``client_secret``, ``api_key``...)."""
    found = set(getattr(config, "notify", []) or [])

    def walk(value: Any, secret: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, secret or bool(SECRET_KEYS.search(str(key))))
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                walk(item, secret)
        elif secret and isinstance(value, str) and len(value) >= 4:
            found.add(value)

    walk(getattr(config, "plugins", {}), False)
    walk(getattr(config, "stores", {}), False)
    return sorted(found)


def destination_label(url: str) -> str:
    """A notification destination shown without its secret: the Apprise scheme and a short
    fingerprint that tells destinations apart (``discord (#3f9a1c)``)."""
    scheme = url.partition("://")[0] if "://" in url else "?"
    scheme = re.sub(r"[^a-zA-Z0-9+.-]", "", scheme)[:20] or "?"
    return f"{scheme} (#{hashlib.sha256(url.encode()).hexdigest()[:6]})"


def since_for(period: str | None, now: datetime | None = None) -> str | None:
    """The ISO time a period starts at (None: all time); :class:`BadFilter` if unknown."""
    period = period or DEFAULT_PERIOD
    if period not in PERIODS:
        raise BadFilter(f"period must be one of {', '.join(PERIODS)}, not {period[:40]!r}")
    days = PERIODS[period]
    if days is None:
        return None
    now = now or datetime.now(timezone.utc)
    return (now - timedelta(days=days)).replace(microsecond=0).isoformat()


def _update(row: Mapping[str, Any]) -> dict[str, Any]:
    item = {key: row.get(key) for key in UPDATE_COLUMNS}
    item["is_build"] = bool(item["is_build"])
    item["store_url"] = safe_url(item["store_url"])
    item["notes_url"] = safe_url(item["notes_url"])
    return item


def _updates(db: sqlite_utils.Database, where: list[str], params: list[Any],
             limit: int) -> tuple[list[dict[str, Any]], bool]:
    sql = f"SELECT {', '.join(UPDATE_COLUMNS)} FROM {UPDATES}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY detected_at DESC, id DESC LIMIT {int(limit) + 1}"
    rows = [_update(r) for r in db.query(sql, params)]
    return rows[:limit], len(rows) > limit


SHOW = ("all", "installed", "outdated")
"""The recent-updates page's ``show`` filter: every game, the games the launchers on this
machine have installed, or only those whose installed build is not the newest known."""


def recent(db: sqlite_utils.Database, store: str | None = None, period: str | None = None,
           limit: int = LIMIT, show: str | None = None) -> dict[str, Any]:
    """The recent-updates page: confirmed builds first, then the weaker changes."""
    period = period or DEFAULT_PERIOD
    since = since_for(period)
    store = (store or "").strip().lower() or None
    show = show or "all"
    if show not in SHOW:
        raise BadFilter(f"show must be one of {', '.join(SHOW)}, not {show[:40]!r}")
    data: dict[str, Any] = {"filters": {"store": store, "period": period, "since": since,
                                        "show": show},
                            "periods": list(PERIODS), "shows": list(SHOW), "stores": stores(db),
                            "builds": [], "changes": [], "more_builds": False,
                            "more_changes": False}
    if not _has(db, UPDATES):
        return data
    where, params = [], []
    if show != "all":  # what the launchers said at their last read (the page never reads them)
        from ..launchers import installed_ids, outdated
        ids = ([o.game_id for o in outdated(db).outdated] if show == "outdated"
               else list(installed_ids(db)))
        where.append("game_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(ids, default=str))
    if since:
        where.append("detected_at >= ?")
        params.append(since)
    if store:
        where.append("store = ?")
        params.append(store)
    data["builds"], data["more_builds"] = _updates(db, where + ["is_build = 1"], params, limit)
    data["changes"], data["more_changes"] = _updates(db, where + ["is_build = 0"], params, limit)
    return data


def stores(db: sqlite_utils.Database) -> list[str]:
    """The stores of the library (for the store filter)."""
    if not _has(db, "games"):
        return []
    return sorted({str(r[0]).strip().lower() for r in db.execute(
        "SELECT DISTINCT store FROM games WHERE store IS NOT NULL").fetchall()} - {""})


def _title_column(db: sqlite_utils.Database) -> str | None:
    columns = db["games"].columns_dict
    return next((c for c in TITLE_COLUMNS if c in columns), None)


def game(db: sqlite_utils.Database, store: str, store_id: str, limit: int = LIMIT,
         secrets: Iterable[str] = ()) -> dict[str, Any] | None:
    """One game's page: its current signals, its last check and its update history.

    None when the library has no such game.
    """
    if not _has(db, "games"):
        return None
    title = _title_column(db)
    select = f"SELECT id, store, store_id{', ' + title if title else ''} FROM games "
    # the index on (store, store_id) first; then any spelling of the store and id type
    rows = db.execute(select + "WHERE store = ? AND store_id = ? LIMIT 1",
                      [store, store_id]).fetchall() or db.execute(
        select + "WHERE lower(trim(store)) = ? AND CAST(store_id AS TEXT) = ? LIMIT 1",
        [store.strip().lower(), store_id]).fetchall()
    if not rows:
        return None
    game_id, row_store, row_store_id = rows[0][:3]
    info = {"id": game_id, "store": str(row_store).lower(), "store_id": str(row_store_id),
            "title": rows[0][3] if title else None}
    data: dict[str, Any] = {"game": info, "signals": [], "check": None, "updates": [],
                            "more_updates": False, "store_url": None, "notes_url": None}
    if _has(db, SIGNALS):
        data["signals"] = [
            {"kind": r["kind"], "value": r["value"], "version": r["version"],
             "published_at": r["published_at"], "is_build": bool(r["is_build"]),
             "plugin": r["plugin"], "first_seen": r["first_seen"], "last_seen": r["last_seen"]}
            for r in db.query(f"SELECT * FROM {SIGNALS} WHERE game_id = ? ORDER BY kind",
                              [game_id])]
    if _has(db, CHECKS):
        check = list(db.query(f"SELECT status, message, plugin, checked_at FROM {CHECKS} "
                              "WHERE game_id = ?", [game_id]))
        if check:
            data["check"] = {**check[0], "message": redact(check[0]["message"], secrets)}
    if _has(db, UPDATES):
        data["updates"], data["more_updates"] = _updates(db, ["game_id = ?"], [game_id], limit)
        data["store_url"] = next((u["store_url"] for u in data["updates"] if u["store_url"]),
                                 None)
        data["notes_url"] = next((u["notes_url"] for u in data["updates"] if u["notes_url"]),
                                 None)
    return data


def feed_rows(db: sqlite_utils.Database, game_id: Any = None, include_weak: bool = False,
              limit: int = FEED_ITEMS) -> list[dict[str, Any]]:
    """The newest updates for a feed (of the library or one game), links made safe."""
    if not _has(db, UPDATES):
        return []
    where, params = ["detected_at IS NOT NULL"], []  # a feed entry needs its date
    if game_id is not None:
        where.append("game_id = ?")
        params.append(game_id)
    if not include_weak:
        where.append("is_build = 1")
    return _updates(db, where, params, limit)[0]


def feed_etag(rows: list[dict[str, Any]], *parts: str) -> str:
    """A validator that changes whenever anything the feed shows changes (links added to
    an update later included)."""
    blob = json.dumps([parts, rows], sort_keys=True, default=str).encode()
    return 'W/"' + hashlib.sha256(blob).hexdigest()[:24] + '"'


def health(db: sqlite_utils.Database, plugins: list[Any], now: datetime | None = None,
           secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The health page: each plugin's state and circuit breaker, the last check of each
    store, the games that failed, and the last runs.

    ``plugins`` are :class:`patchwatch.plugins.Backend` rows (what is installed).
    """
    now = now or datetime.now(timezone.utc)
    secrets = list(secrets)
    breakers: dict[str, dict[str, Any]] = {}
    if _has(db, PLUGIN_STATE):
        breakers = {r["name"]: r for r in db.query(
            f"SELECT name, failures, off_until, last_error, updated_at FROM {PLUGIN_STATE}")}
    listed = []
    for backend in plugins:
        row = breakers.get(backend.name, {})
        off_until = row.get("off_until")
        is_off = False
        if off_until:
            try:
                is_off = datetime.fromisoformat(off_until) > now
            except ValueError:
                is_off = False
        if backend.error:
            state = "broken"
        elif backend.disabled:
            state = "disabled"
        elif is_off:
            state = "off"
        elif row.get("failures"):
            state = "failing"
        else:
            state = "ok"
        listed.append({
            "name": backend.name, "store": backend.store, "priority": backend.priority,
            "description": backend.description, "version": backend.version,
            "state": state, "error": redact(backend.error, secrets), "failures": row.get("failures") or 0,
            "off_until": off_until if is_off else None,
            "last_error": redact(row.get("last_error"), secrets), "updated_at": row.get("updated_at"),
        })
    data: dict[str, Any] = {"plugins": listed, "stores": [], "failing": [],
                            "more_failing": False, "runs": []}
    if _has(db, CHECKS):
        data["stores"] = [
            {"store": r[0], "games": r[1], "last_checked": r[2], "ok": r[3],
             "failed": r[4], "unsupported": r[5]}
            for r in db.execute(
                f"SELECT lower(store), count(*), max(checked_at), sum(status = 'ok'), "
                f"sum(status NOT IN ('ok', 'unsupported')), sum(status = 'unsupported') "
                f"FROM {CHECKS} GROUP BY lower(store) ORDER BY 1").fetchall()]
        title = _title_column(db) if _has(db, "games") else None
        join = ("LEFT JOIN games g ON g.id = c.game_id" if title else "")
        rows = list(db.query(
            f"SELECT c.game_id, c.store, c.plugin, c.status, c.message, c.checked_at"
            f"{', g.' + title + ' AS title, g.store_id AS store_id' if title else ''} "
            f"FROM {CHECKS} c {join} WHERE c.status NOT IN ('ok', 'unsupported') "
            f"ORDER BY c.checked_at DESC LIMIT {LIMIT + 1}"))
        data["failing"] = [{"game_id": r["game_id"], "store": r["store"],
                            "store_id": None if r.get("store_id") is None else str(r["store_id"]),
                            "title": r.get("title"), "plugin": r["plugin"],
                            "status": r["status"], "message": redact(r["message"], secrets),
                            "checked_at": r["checked_at"]} for r in rows[:LIMIT]]
        data["more_failing"] = len(rows) > LIMIT
    if _has(db, RUNS):
        data["runs"] = [
            {"id": r["id"], "started_at": r["started_at"], "finished_at": r["finished_at"],
             "status": r["status"], "stores": _json_list(r["stores"]), "total": r["total"],
             "processed": r["processed"]}
            for r in db.query(f"SELECT id, started_at, finished_at, status, stores, total, "
                              f"processed FROM {RUNS} ORDER BY id DESC LIMIT 10")]
    return data


def _json_list(value: Any) -> list[str] | None:
    try:
        parsed = json.loads(value) if value else None
    except ValueError:
        return None
    return [str(v) for v in parsed] if isinstance(parsed, list) else None


STATUS_LABELS = {"pending": "waiting", "retrying": "failed, retrying", "sent": "delivered",
                 "dropped": "dropped"}


def outbox(db: sqlite_utils.Database, limit: int = LIMIT,
           secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The notification outbox: waiting, failed (retried) and delivered messages.

    Destinations are never shown: each is an Apprise URL that carries its token.
    """
    data: dict[str, Any] = {"counts": {"waiting": 0, "failed": 0, "delivered": 0,
                                       "dropped": 0},
                            "messages": [], "more": False}
    if not _has(db, OUTBOX):
        return data
    rows = list(db.query(f"SELECT id, created_at, destination, title, status, attempts, "
                         f"next_attempt_at, sent_at, last_error FROM {OUTBOX} "
                         f"ORDER BY id DESC LIMIT {int(limit) + 1}"))
    for status, failed, n in db.execute(
            f"SELECT status, attempts > 0, count(*) FROM {OUTBOX} GROUP BY 1, 2").fetchall():
        key = {"sent": "delivered", "dropped": "dropped"}.get(
            status, "failed" if failed else "waiting")
        data["counts"][key] = data["counts"].get(key, 0) + n
    destinations = {r["destination"] for r in rows if r["destination"]} | set(secrets)
    for r in rows[:limit]:
        status = r["status"]
        if status == "pending" and r["attempts"]:
            status = "retrying"
        data["messages"].append({
            "id": r["id"], "created_at": r["created_at"],
            "destination": destination_label(r["destination"] or ""),
            "title": redact(r["title"], destinations), "status": status,
            "status_label": STATUS_LABELS.get(status, status), "attempts": r["attempts"],
            "next_attempt_at": r["next_attempt_at"] if status in ("pending", "retrying") else None,
            "sent_at": r["sent_at"], "last_error": redact(r["last_error"], destinations),
        })
    data["more"] = len(rows) > limit
    return data

