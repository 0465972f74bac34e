"""``patchwatch updates``: detected updates as text, rows or a feed."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from .base import Context, db_option, guarded, local_time, resolve_game


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
              help="Only this game: STORE:STORE_ID (steam:570), a store id alone when one game "
                   "has it (570), or its library row id.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show at most this many updates (1 or more).")
@click.option("--format", "fmt", type=click.Choice(["text", "atom", "json"]), default="text",
              show_default=True,
              help="atom: an Atom feed; json: a JSON Feed 1.1 (for feed readers and tools).")
@click.option("--json", "as_json", is_flag=True, help="Print the update rows as JSON (times in UTC).")
@click.option("--no-links", is_flag=True,
              help="Do not ask the plugins for store-page and patch-notes links the updates "
                   "lack (they are kept only when notifications were on).")
@db_option
@click.pass_obj
@guarded
def updates(obj: Context, since: str | None, include_weak: bool, game: str | None, limit: int,
            fmt: str, as_json: bool, no_links: bool) -> None:
    """List recently detected updates, newest first, as text, rows or a feed.

    `patchwatch updates --format atom > updates.xml` writes a feed a reader can follow
    (regenerate it from cron or after each sync); `--game steam:570` narrows it to one game.
    Updates recorded without links (notifications were off) get them from the store's
    plugins, within `links_timeout` (10 s); nothing is written. Times are local; --json
    and the feeds keep UTC.
    """
    from ..state import recent_updates

    since_at = _parse_since(since)  # a usage error comes before any database error
    db = obj.db(read_only=True)
    game_id, game_label = _resolve_game(db, game) if game else (None, None)
    rows = recent_updates(db, since=since_at, builds_only=not include_weak,
                          limit=None if game_id is not None else limit)
    if game_id is not None:
        rows = [r for r in rows if r["game_id"] == game_id][:limit]
    if rows and not no_links:
        _look_up_links(obj, db, rows)
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
        click.echo(f"{local_time(row['detected_at'])}  {row['store']}:{row['store_id']} "
                   f"{row['title'] or ''}  {row['kind']} {row['old_value']} -> "
                   f"{row['new_value']}{version}{weak}")
        link = row.get("notes_url") or row.get("store_url")
        if link:
            click.echo(f"    {link}")


def _look_up_links(obj: Context, db: Any, rows: list[dict[str, Any]]) -> None:
    """Links for updates recorded without any, from the plugins (read-only: not stored)."""
    if all(r.get("store_url") or r.get("notes_url") or r.get("notes") for r in rows):
        return
    from ..links import fill_links
    from ..plugins import get_plugin_manager

    fill_links(db, get_plugin_manager(), obj.config(), rows, store=False)


def _resolve_game(db: Any, spec: str) -> tuple[int, str]:
    """``--game``: see :func:`resolve_game`; a usage error when unknown or ambiguous."""
    try:
        return resolve_game(db, spec)
    except LookupError as exc:
        raise click.BadParameter(str(exc), param_hint="--game") from None
