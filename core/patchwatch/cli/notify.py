"""``patchwatch notify``: test the notify URLs, show the outbox."""

from __future__ import annotations

import json
import sys

import click

from .base import EXIT_ERROR, Context, db_option, guarded, local_time


@click.group()
def notify() -> None:
    """Notifications: a digest of new builds after each sync or watch cycle.

    Put Apprise URLs in the config (`notify = ["ntfys://my-topic", "discord://..."]`);
    see `patchwatch watch --help`.
    """


@notify.command("test")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.pass_obj
@guarded
def notify_test(obj: Context, urls: tuple[str, ...]) -> None:
    """Send a sample digest to each notify URL of the config (or to the URLs given).

    Exits 1 and names the URL when a delivery fails.
    """
    from ..notify import _private, check_urls, digest, send_apprise

    targets = list(urls) or obj.config().notify
    if not targets:
        raise click.UsageError("no notify URLs: add `notify = [\"...\"]` to "
                               f"{obj.config_path or '~/.config/patchwatch/config.toml'} or pass one")
    check_urls(targets)
    title, body = digest([_SAMPLE])
    title = f"{title} (a test from patchwatch)"
    failed = 0
    for url in targets:
        error = send_apprise(url, title, body)
        if error is None:
            click.echo(f"sent to {_private(url)}")
        else:
            failed += 1
            click.echo(f"FAILED {_private(url)}: {error}", err=True)
    if failed:
        sys.exit(EXIT_ERROR)


_SAMPLE = {
    "id": 0, "game_id": 0, "store": "steam", "store_id": "570", "title": "Dota 2",
    "kind": "buildid", "old_value": "20561829", "new_value": "20590433",
    "old_version": None, "version": None, "published_at": "2026-11-26T16:00:00+00:00",
    "is_build": 1, "store_url": "https://store.steampowered.com/app/570/",
    "notes_url": None, "notes": "(a sample: this is what a digest line looks like)",
}


@notify.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@db_option
@click.pass_obj
@guarded
def notify_status(obj: Context, as_json: bool) -> None:
    """Show the outbox: messages sent, waiting for a retry, dropped."""
    from ..db import OUTBOX
    from ..notify import _private, outbox_counts

    obj.require_db(create=False, how="`patchwatch sync --create --db ...`")
    db = obj.db()
    counts = outbox_counts(db)
    waiting = list(db.query(f"SELECT id, destination, title, attempts, next_attempt_at, last_error "
                            f"FROM {OUTBOX} WHERE status = 'pending' ORDER BY id"))
    for row in waiting:
        row["destination"] = _private(row["destination"])
    if as_json:
        click.echo(json.dumps({"counts": counts, "pending": waiting}, indent=2))
        return
    click.echo(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "outbox empty")
    for row in waiting:
        click.echo(f"  #{row['id']} to {row['destination']}: {row['title']} - "
                   f"{row['attempts']} attempt(s), next {local_time(row['next_attempt_at'])}"
                   + (f" ({row['last_error']})" if row["last_error"] else ""))
