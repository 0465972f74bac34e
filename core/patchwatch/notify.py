"""Notifications: one digest of new builds per cycle, delivered through Apprise via an outbox.

The path: updates recorded by a sync → :func:`enqueue` turns every update not yet
notified into one digest (one outbox row per destination URL, in one transaction that
also moves the "notified up to" cursor) → :func:`deliver` sends due rows and marks them.
A failed delivery is retried with backoff, also after a restart. A row is claimed
(``sending_at``/``sending_pid``) before it is sent and marked ``sent`` right after, so a
crash between sending and recording repeats that one message once, never more.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

import sqlite_utils

from .config import Config
from .db import NOTIFY_STATE, OUTBOX, UPDATES, write
from .errors import ConfigError
from .launchers import installed_game_ids
from .library import now_iso
from .state import pid_alive

CURSOR = "last_update_id"
RETRY_FIRST = 30.0
"""Seconds before the first retry of a failed delivery; doubles per failure."""
RETRY_MAX = 3600.0
CLAIM_STALE = 600.0
"""A claim older than this (seconds) is taken over even if its process seems alive."""
MAX_LINES = 100
"""Updates listed in one message; the rest are counted ("... and 12 more")."""

Sender = Callable[[str, str, str], "str | None"]
"""``send(url, title, body)`` → None when delivered, else why not (one line)."""


# -- settings ------------------------------------------------------------------------

def retry_delays(config: Config) -> tuple[float, float]:
    """``[watch] retry`` and ``retry_max`` (seconds), validated."""
    try:
        first = float(config.watch.get("retry", RETRY_FIRST))
        most = float(config.watch.get("retry_max", max(RETRY_MAX, first)))
    except (TypeError, ValueError):
        raise ConfigError("[watch] retry and retry_max must be numbers of seconds") from None
    if first <= 0 or most < first:
        raise ConfigError("[watch] retry must be positive and retry_max at least retry")
    return first, most


NO_APPRISE = ("notifications need Apprise, which is not installed: "
              "pip install 'patchwatch[notify]' (or add apprise to patchwatch's environment)")


def _apprise() -> Any:
    """The ``apprise`` module (the ``notify`` extra), or a one-line :class:`ConfigError`."""
    try:
        import apprise
    except ImportError:
        raise ConfigError(NO_APPRISE) from None
    return apprise


def check_urls(urls: Iterable[str]) -> None:
    """Raise :class:`ConfigError` naming the first notify URL Apprise cannot use."""
    apprise = _apprise()
    for url in urls:
        if not apprise.Apprise().add(url):
            raise ConfigError(f"notify: Apprise does not understand the URL {_private(url)!r} "
                              "(see https://github.com/caronc/apprise/wiki for the URL formats)")


def is_muted(config: Config, store: str, store_id: str) -> bool:
    """``mute`` lists stores (``epic``) and games (``steam:570``)."""
    return store.lower() in config.mute or f"{store.lower()}:{str(store_id).lower()}" in config.mute


# -- the digest ----------------------------------------------------------------------

def digest(rows: list[Mapping[str, Any]]) -> tuple[str, str]:
    """Title and plain-text body listing ``rows`` (update rows, oldest first)."""
    builds = sum(1 for r in rows if r["is_build"])
    if len(rows) == 1:
        title = f"New build: {_name(rows[0])}" if builds else f"Changed: {_name(rows[0])}"
    else:
        title = f"{builds} new build{'s' if builds != 1 else ''}"
        if builds != len(rows):
            title += f", {len(rows) - builds} other change{'s' if len(rows) - builds != 1 else ''}"
    lines: list[str] = []
    for row in rows[:MAX_LINES]:
        lines.extend(entry_lines(row))
    if len(rows) > MAX_LINES:
        lines.append(f"... and {len(rows) - MAX_LINES} more (patchwatch updates)")
    return f"patchwatch: {title}", "\n".join(lines)


def entry_lines(row: Mapping[str, Any]) -> list[str]:
    """One update: what changed, when it was published, where to read about it."""
    old, new = row.get("old_version"), row.get("version")
    versions = f"{old or '?'} → {new}, " if new and new != old else ""
    what = f"{row['kind']} {row['old_value']} → {row['new_value']}"
    line = f"• {_name(row)} ({row['store']}): {versions}{what}"
    if not row["is_build"]:
        line += " (store data changed; not a confirmed build)"
    if row.get("installed_here"):
        line += " [installed here]"
    lines = [line]
    if row.get("published_at"):
        lines.append(f"  published {_when(row['published_at'])}")
    if row.get("store_url"):
        lines.append(f"  store: {row['store_url']}")
    if row.get("notes_url"):
        lines.append(f"  patch notes: {row['notes_url']}")
    if row.get("notes"):
        lines.append(f"  {row['notes']}")
    return lines


def _name(row: Mapping[str, Any]) -> str:
    return row.get("title") or f"{row['store']}:{row['store_id']}"


def _when(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# -- the outbox ----------------------------------------------------------------------

def notify_updates(db: sqlite_utils.Database, pm: Any, config: Config, *,
                   stop: threading.Event | None = None) -> tuple[int | None, "Delivery"]:
    """After a sync: links for the new updates, one digest in the outbox, then deliver.

    Returns how many updates the digest lists (None: no digest) and what was delivered.
    """
    from .links import fill_links

    rows = pending_updates(db, config)
    if rows and config.notify:
        fill_links(db, pm, config, rows)
    count = enqueue(db, config, rows)
    return count, deliver(db, config, stop=stop)


def prime(db: sqlite_utils.Database) -> None:
    """Start the cursor at the newest update, the first time: no flood of old updates."""
    with write(db):
        if _cursor(db) is None:
            _set_cursor(db, _newest_update(db))


def pending_updates(db: sqlite_utils.Database, config: Config) -> list[dict[str, Any]]:
    """Updates after the cursor that would go into the next digest (not yet enqueued)."""
    cursor = _cursor(db) or 0
    rows = list(db.query(f"SELECT * FROM {UPDATES} WHERE id > ? ORDER BY id", [cursor]))
    rows = [r for r in rows if (r["is_build"] or config.notify_weak)
            and not is_muted(config, r["store"], r["store_id"])]
    here = installed_game_ids(db, {r["game_id"] for r in rows})
    for row in rows:
        row["installed_here"] = row["game_id"] in here
    return rows


def enqueue(db: sqlite_utils.Database, config: Config,
            rows: list[Mapping[str, Any]] | None = None) -> int | None:
    """Turn the updates after the cursor into one digest per destination; move the cursor.

    ``rows`` are the updates to list (from :func:`pending_updates`, maybe with links filled
    in since); updates another process enqueued meanwhile are left out. Returns the number
    of updates in the digest (None when there was nothing to send). Without notify URLs
    the cursor still moves, so turning notifications on later does not replay history.
    """
    with write(db):
        cursor = _cursor(db) or 0
        newest = _newest_update(db)
        if rows is None:
            rows = pending_updates(db, config)
        by_id = {r["id"]: r for r in db.query(
            f"SELECT * FROM {UPDATES} WHERE id > ? ORDER BY id", [cursor])}
        listed = [dict(by_id[r["id"]]) for r in rows if r["id"] in by_id]
        _set_cursor(db, max(cursor, newest))
        if not listed or not config.notify:
            return None
        title, body = digest(listed)
        now = _at(0)
        ids = json.dumps([r["id"] for r in listed])
        for url in config.notify:
            db[OUTBOX].insert({
                "created_at": now, "destination": url, "title": title, "body": body,
                "update_ids": ids, "status": "pending", "attempts": 0, "next_attempt_at": now,
            })
        return len(listed)


def enqueue_message(db: sqlite_utils.Database, urls: Iterable[str], title: str, body: str) -> list[int]:
    """Put one message for each of ``urls`` in the outbox."""
    now = _at(0)
    with write(db):
        return [db[OUTBOX].insert({
            "created_at": now, "destination": url, "title": title, "body": body,
            "update_ids": "[]", "status": "pending", "attempts": 0, "next_attempt_at": now,
        }).last_pk for url in urls]


@dataclass
class Delivery:
    """What one :func:`deliver` call did."""

    sent: int = 0
    failed: int = 0
    errors: list[str] | None = None
    first_errors: list[str] | None = None
    """The errors of messages that failed for the first time (worth a log line)."""
    recovered: int = 0
    """Messages delivered after earlier failed attempts."""
    next_retry: str | None = None
    """When the earliest failed message is due again (ISO 8601), if any is waiting."""


def deliver(db: sqlite_utils.Database, config: Config, *, send: Sender | None = None,
            stop: threading.Event | None = None, only: Iterable[int] | None = None) -> Delivery:
    """Send every due outbox row (or the rows ``only``); failures wait with backoff.

    Rows for a destination no longer in ``config.notify`` are dropped, unless ``only``
    names them. ``stop`` ends the loop between messages.
    """
    send = send or send_apprise
    first, most = retry_delays(config)
    report = Delivery(errors=[], first_errors=[])
    wanted = set(only) if only is not None else None
    now = _at(0)
    rows = list(db.query(
        f"SELECT * FROM {OUTBOX} WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id",
        [now]))
    for row in rows:
        if stop is not None and stop.is_set():
            break
        if wanted is not None and row["id"] not in wanted:
            continue
        if wanted is None and row["destination"] not in config.notify:
            with write(db):
                db[OUTBOX].update(row["id"], {"status": "dropped",
                                              "last_error": "destination no longer configured"})
            continue
        if not _claim(db, row):
            continue
        error = _safe_send(send, row["destination"], row["title"], row["body"])
        with write(db):
            if error is None:
                db[OUTBOX].update(row["id"], {"status": "sent", "sent_at": now_iso(),
                                              "attempts": row["attempts"] + 1, "last_error": None})
                report.sent += 1
                report.recovered += row["attempts"] > 0
            else:
                attempts = row["attempts"] + 1
                delay = min(most, first * 2 ** (attempts - 1))
                db[OUTBOX].update(row["id"], {
                    "attempts": attempts, "last_error": error, "next_attempt_at": _at(delay),
                    "sending_at": None, "sending_pid": None,
                })
                report.failed += 1
                report.errors.append(f"{_private(row['destination'])}: {error}")
                if attempts == 1:
                    report.first_errors.append(report.errors[-1])
    report.next_retry = next_due(db)
    return report


def next_due(db: sqlite_utils.Database) -> str | None:
    """When the next pending outbox row is due (ISO 8601), or None."""
    row = db.execute(f"SELECT min(next_attempt_at) FROM {OUTBOX} WHERE status = 'pending'").fetchone()
    return row[0] if row else None


def outbox_counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {status: n for status, n in db.execute(
        f"SELECT status, count(*) FROM {OUTBOX} GROUP BY status").fetchall()}


def _claim(db: sqlite_utils.Database, row: Mapping[str, Any]) -> bool:
    """Mark the row as being sent by this process; False if another process holds it."""
    current = db.execute(f"SELECT status, sending_at, sending_pid FROM {OUTBOX} WHERE id = ?",
                         [row["id"]]).fetchone()
    if current is None or current[0] != "pending":
        return False
    sending_at, pid = current[1], current[2]
    if sending_at is not None and pid != os.getpid() and pid_alive(pid):
        age = (datetime.now(timezone.utc) - datetime.fromisoformat(sending_at)).total_seconds()
        if age < CLAIM_STALE:
            return False
    with write(db):
        cursor = db.execute(
            f"UPDATE {OUTBOX} SET sending_at = ?, sending_pid = ? "
            f"WHERE id = ? AND status = 'pending' AND sending_at IS ?",
            [now_iso(), os.getpid(), row["id"], sending_at])
        return cursor.rowcount == 1


def _safe_send(send: Sender, url: str, title: str, body: str) -> str | None:
    try:
        return send(url, title, body)
    except Exception as exc:  # a broken notifier must not stop the others
        return f"{type(exc).__name__}: {exc}"


def send_apprise(url: str, title: str, body: str) -> str | None:
    """Send one message to one Apprise URL; None when Apprise reports it delivered."""
    try:
        apprise = _apprise()
    except ConfigError as exc:
        return str(exc)
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "Apprise does not understand this URL"
    captured = _Capture()
    logger = logging.getLogger("apprise")
    logger.addHandler(captured)
    try:
        ok = notifier.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
    finally:
        logger.removeHandler(captured)
    if ok:
        return None
    return captured.last or "Apprise reported the delivery failed"


class _Capture(logging.Handler):
    """Keeps Apprise's last warning, the reason a delivery failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage().splitlines()[0][:300]


def _private(url: str) -> str:
    """The URL without what may be a secret (path, user, query), for messages."""
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}{sep}{host}/…" if sep else url[:12] + "…"


def _at(seconds: float) -> str:
    """Now plus ``seconds``, ISO 8601 with microseconds (the outbox compares these as text)."""
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def _cursor(db: sqlite_utils.Database) -> int | None:
    row = db.execute(f"SELECT value FROM {NOTIFY_STATE} WHERE name = ?", [CURSOR]).fetchone()
    return int(row[0]) if row else None


def _set_cursor(db: sqlite_utils.Database, value: int) -> None:
    db.execute(f"INSERT INTO {NOTIFY_STATE} (name, value) VALUES (?, ?) "
               f"ON CONFLICT (name) DO UPDATE SET value = excluded.value", [CURSOR, str(value)])


def _newest_update(db: sqlite_utils.Database) -> int:
    return db.execute(f"SELECT coalesce(max(id), 0) FROM {UPDATES}").fetchone()[0]
