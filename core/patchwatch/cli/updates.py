"""``patchwatch updates``: detected updates as text, rows or a feed."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from .base import Context, db_option, guarded


def _parse_since(value: str | None) -> str | None:
    if not value:
        return None
    match = re.fullmatch(r"(\d+)\s*([mhdw])", value.strip())
    if match:
        amount, unit = int(match[1]), match[2]
        try:
            delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount),
                     "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
            return (datetime.now(timezone.utc) - delta).replace(microsecond=0).isoformat()
        except OverflowError:  # before the year 1: every update is newer
            return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO date (2026-11-01) or a span like 7d, 12h") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.isoformat()


@click.command()
@click.option("--since", help="Only updates detected since this date or span (7d, 12h, 2026-11-01).")
@click.option("--all", "include_weak", is_flag=True,
              help="Also show store-data changes that are not confirmed builds.")
@click.option("--game", metavar="STORE:ID",
              help="Only this game: STORE:STORE_ID (steam:570) or its library row id.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show at most this many updates (1 or more).")
@click.option("--format", "fmt", type=click.Choice(["text", "atom", "json"]), default="text",
              show_default=True,
              help="atom: an Atom feed; json: a JSON Feed 1.1 (for feed readers and tools).")
@click.option("--json", "as_json", is_flag=True, help="Print the update rows as JSON.")
@db_option
@click.pass_obj
@guarded
def updates(obj: Context, since: str | None, include_weak: bool, game: str | None, limit: int,
            fmt: str, as_json: bool) -> None:
    """List recently detected updates, newest first, as text, rows or a feed.

    `patchwatch updates --format atom > updates.xml` writes a feed a reader can follow
    (regenerate it from cron or after each sync); `--game steam:570` narrows it to one game.
    """
    from ..state import recent_updates

    since_at = _parse_since(since)  # a usage error comes before any database error
    db = obj.db(read_only=True)
    game_id, game_label = _resolve_game(db, game) if game else (None, None)
    rows = recent_updates(db, since=since_at, builds_only=not include_weak,
                          limit=None if game_id is not None else limit)
    if game_id is not None:
        rows = [r for r in rows if r["game_id"] == game_id][:limit]
    if fmt != "text":
        from .. import feeds

        title = f"patchwatch: updates of {game_label}" if game_label else "patchwatch: game updates"
        scope = f"game:{game_label}" if game_label else "library"
        click.echo(feeds.atom(rows, title, f"urn:patchwatch:feed:{scope}") if fmt == "atom"
                   else feeds.json_feed(rows, title), nl=False)
        return
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No updates detected" + (" in that period." if since else " yet."))
    for row in rows:
        version = f" [{row['version']}]" if row["version"] else ""
        weak = "" if row["is_build"] else "  (not a confirmed build)"
        click.echo(f"{row['detected_at']}  {row['store']}:{row['store_id']} {row['title'] or ''}"
                   f"  {row['kind']} {row['old_value']} -> {row['new_value']}{version}{weak}")


def _resolve_game(db: Any, spec: str) -> tuple[int, str]:
    """``steam:570`` or a row id → (row id, ``steam:570``); a usage error when unknown."""
    store, sep, store_id = spec.partition(":")
    if sep:
        rows = list(db.query("SELECT id, store, store_id FROM games WHERE lower(store) = ? "
                             "AND store_id = ?", [store.strip().lower(), store_id.strip()]))
    elif spec.strip().isdigit():
        rows = list(db.query("SELECT id, store, store_id FROM games WHERE id = ?", [int(spec)]))
    else:
        raise click.BadParameter("use STORE:STORE_ID (steam:570) or a library row id",
                                 param_hint="--game")
    if not rows:
        raise click.BadParameter(f"no game {spec!r} in the library", param_hint="--game")
    return rows[0]["id"], f"{rows[0]['store']}:{rows[0]['store_id']}"
