"""The ``patchwatch`` command line."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .config import ENV_CONFIG, ENV_DB, default_db_path, load_config
from .db import database_error, open_db
from .errors import PatchwatchError, Terminated

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 3, 130, 143
EXIT_GRACE_SECONDS = 2.0
"""After a command, how long plugin threads get to finish before the process exits anyway."""


class Context:
    def __init__(self, db: str | None, config: str | None):
        self.db_path = Path(db) if db else default_db_path()
        self.config_path = config

    def config(self):
        return load_config(self.config_path)

    def db(self, read_only: bool = False):
        """The database; ``read_only`` never creates or changes anything (a missing file is
        an error, not an empty library)."""
        return open_db(self.db_path, read_only=read_only)


def _set_db(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.find_object(Context).db_path = Path(value)


db_option = click.option(
    "--db", type=click.Path(dir_okay=False), expose_value=False, callback=_set_db,
    help="SQLite database (also accepted before the command).")
"""``--db`` after the command name too: ``patchwatch sync --db game_library.db``."""


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn patchwatch errors into one line on stderr and exit code 1."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PatchwatchError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        except sqlite3.Error as exc:  # e.g. a damaged table page met while reading
            ctx = click.get_current_context(silent=True)
            path = ctx.obj.db_path if ctx is not None and isinstance(ctx.obj, Context) else "?"
            click.echo(f"Error: {database_error(path, exc)}", err=True)
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt as exc:
            how = "Terminated (SIGTERM)" if isinstance(exc, Terminated) else "Interrupted"
            click.echo(f"{how}: what was fetched is saved; the next sync resumes.", err=True)
            sys.exit(EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)

    return wrapper


def main(args: list[str] | None = None) -> None:
    """The ``patchwatch`` console script: the CLI, SIGTERM handled like Ctrl-C, and an exit
    that never waits more than :data:`EXIT_GRACE_SECONDS` for a plugin's threads."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=args, prog_name="patchwatch")
        code: Any = EXIT_OK
    except SystemExit as exc:
        code = exc.code
    _exit_released(code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_ERROR))


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated()


def _exit_released(code: int) -> None:
    """Exit with ``code``; a plugin thread still running after the grace time is left behind
    (everything of ours is saved by then) instead of keeping the process alive."""
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    for thread in _lingering():
        thread.join(max(0.0, deadline - time.monotonic()))
    if _lingering():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _lingering() -> list[threading.Thread]:
    """Threads the interpreter would wait for at exit: non-daemon ones and thread pools'."""
    import concurrent.futures.thread as pool_threads

    pools = set(getattr(pool_threads, "_threads_queues", {}).keys())  # joined at exit
    main_thread = threading.main_thread()
    return [t for t in threading.enumerate()
            if t is not main_thread and t.is_alive() and (not t.daemon or t in pools)]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="patchwatch")
@click.option("--db", envvar=ENV_DB, type=click.Path(dir_okay=False),
              help=f"SQLite database (env {ENV_DB}; default: {default_db_path()}). "
                   "May be a Backlogia database.")
@click.option("--config", envvar=ENV_CONFIG, type=click.Path(dir_okay=False),
              help=f"TOML config file (env {ENV_CONFIG}; default: ~/.config/patchwatch/config.toml).")
@click.pass_context
def cli(ctx: click.Context, db: str | None, config: str | None) -> None:
    """Tell which games of your library got a real update (a new build).

    Add games with `patchwatch games add` or `patchwatch games import`, then run
    `patchwatch sync`. Exit codes: 0 all checked, 1 error, 2 usage error,
    3 some games could not be checked, 130 interrupted (Ctrl-C), 143 stopped by SIGTERM.
    """
    ctx.obj = Context(db, config)


# -- sync ---------------------------------------------------------------------

@cli.command()
@click.option("--store", "stores", multiple=True, metavar="STORE",
              help="Only this store (repeatable), e.g. --store steam.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--no-resume", is_flag=True, help="Start afresh even if the last sync was cut short.")
@click.option("--include-hidden", is_flag=True,
              help="Also check games the host marks hidden or removed (skipped by default).")
@click.option("--fail-unsupported", is_flag=True,
              help="Exit 3 when some games are of a store no plugin serves (itch, local, ...).")
@db_option
@click.pass_obj
@_guarded
def sync(obj: Context, stores: tuple[str, ...], as_json: bool, no_resume: bool,
         include_hidden: bool, fail_unsupported: bool) -> None:
    """Check every game for a new build and record what changed.

    Each store's games go to its available plugin of highest priority; games it
    cannot answer go to the next one. The first sight of a game is a baseline.
    Games of stores no plugin serves are listed; they make the exit code 3 only
    with --fail-unsupported.
    """
    from .sync import sync_library

    config = obj.config()
    if config.notify:
        from .notify import check_urls, prime

        check_urls(config.notify)
        prime(obj.db())
    progress, done = _progress_reporter(quiet=as_json)
    try:
        summary = sync_library(obj.db_path, config=config, stores=list(stores) or None,
                               progress=progress, resume=not no_resume,
                               include_hidden=include_hidden)
    finally:
        done()
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2, default=str))
    elif summary.total == 0:
        click.echo(f"The library in {obj.db_path} is empty{' for ' + ', '.join(stores) if stores else ''}: "
                   "add games with `patchwatch games add STORE STORE_ID [TITLE]` "
                   "or `patchwatch games import FILE`.")
    else:
        _print_summary(summary)
    if config.notify:
        _notify_after_sync(obj, config, quiet=as_json)
    if summary.failures or (fail_unsupported and summary.unsupported):
        sys.exit(EXIT_PARTIAL)


def _notify_after_sync(obj: Context, config: Any, quiet: bool) -> None:
    from .notify import notify_updates
    from .plugins import get_plugin_manager

    count, delivery = notify_updates(obj.db(), get_plugin_manager(), config)
    if quiet:
        return
    if count:
        click.echo(f"notified: a digest of {count} update{'s' if count != 1 else ''}")
    for error in delivery.errors or []:
        click.echo(f"notification not delivered (retried by the next sync or watch): {error}",
                   err=True)


def _progress_reporter(quiet: bool) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A click progress bar on a terminal, a plain line every few seconds otherwise."""
    if quiet:
        return (lambda processed, total: None), (lambda: None)
    if sys.stderr.isatty():
        bar: dict[str, Any] = {}

        def on_tty(processed: int, total: int) -> None:
            if "bar" not in bar and total:
                bar["bar"] = click.progressbar(length=total, label="Checking", file=sys.stderr)
                bar["bar"].__enter__()
                bar["at"] = 0
            if "bar" in bar:
                bar["bar"].update(processed - bar["at"])
                bar["at"] = processed

        return on_tty, lambda: bar.get("bar") and bar["bar"].__exit__(None, None, None)

    last = {"t": 0.0, "n": -1}

    def plain(processed: int, total: int) -> None:
        now = time.monotonic()
        if processed and processed != last["n"] and (processed == total or now - last["t"] >= 2):
            click.echo(f"checked {processed}/{total}", err=True)
            last["t"], last["n"] = now, processed

    return plain, lambda: None


def _print_summary(summary: Any) -> None:
    click.echo(
        f"{summary.total} games: {summary.checked} checked ({summary.baselines} new baselines), "
        f"{len(summary.updated)} updated, {len(summary.failures)} failed, "
        f"{len(summary.unsupported)} unsupported in {summary.seconds:.1f} s"
    )
    if summary.resumed_from:
        click.echo(f"resumed sync #{summary.resumed_from}: {summary.skipped_resumed} games "
                   "already checked were skipped"
                   + (f"; {summary.earlier_updates} of the updates below were found before "
                      "the interruption" if summary.earlier_updates else ""))
    if summary.skipped_hidden:
        click.echo(f"{summary.skipped_hidden} games hidden or removed in the library were "
                   "skipped (--include-hidden checks them)")
    if summary.host_tracked:
        click.echo(f"{summary.host_tracked} update(s) were already in game_depot_updates from "
                   "the host's own tracker: no second row was written (both trackers are on)")
    for update in summary.updates:
        label = "" if update.is_build else "  (store data changed; not a confirmed build)"
        version = f" [{update.version}]" if update.version else ""
        click.echo(f"  UPDATE {update.store}:{update.store_id} {update.title or ''}"
                   f" {update.kind} {update.old_value} -> {update.new_value}{version}"
                   f" via {update.plugin}{label}")
    for report in summary.plugins:
        line = f"  plugin {report.name} ({report.store}): {report.status}, " \
               f"{report.answered}/{report.offered} answered"
        if report.reason:
            line += f" - {report.reason}"
        if report.fallback_to:
            line += f"; rest went to {report.fallback_to}"
        click.echo(line)
    for name, error in summary.load_errors.items():
        click.echo(f"  plugin {name} not loaded: {error}")
    shown = summary.failures[:20] + summary.unsupported[:20]
    for failure in shown:
        click.echo(f"  {failure.status.upper()} {failure.store}:{failure.store_id} "
                   f"{failure.title or ''}: {failure.message}")
    hidden = len(summary.failures) + len(summary.unsupported) - len(shown)
    if hidden > 0:
        click.echo(f"  ... and {hidden} more (use --json for all)")


# -- plugins ------------------------------------------------------------------

@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@db_option
@click.pass_obj
@_guarded
def plugins(obj: Context, as_json: bool) -> None:
    """List installed store plugins: store, priority, version and state."""
    from . import state
    from .plugins import backends, get_plugin_manager

    config = obj.config()
    health_db = obj.db(read_only=True) if obj.db_path.exists() else None
    rows = []
    for backend in backends(get_plugin_manager(), config):
        health = state.plugin_health(health_db, backend.name) if health_db else None
        if backend.error:
            status = "error"
        elif backend.disabled:
            status = "disabled"
        elif health and health.is_off(
                settings=state.settings_fingerprint(config.breaker_inputs(backend.name, backend.store))):
            status = f"off until {health.off_until}"
        else:
            status = "enabled"
        rows.append({
            "name": backend.name, "store": backend.store, "priority": backend.priority,
            "version": backend.version, "status": status,
            "why": backend.error or (health.last_error if health and health.failures else None),
            "description": backend.description,
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No store plugins installed (install e.g. patchwatch-steam-pics).")
        return
    for row in rows:
        click.echo(f"{row['name']:<12} {row['store'] or '-':<7} {row['priority']:>4}  "
                   f"{row['version'] or '-':<8} {row['status']}"
                   + (f"  ({row['why']})" if row["why"] else ""))


# -- updates ------------------------------------------------------------------

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


@cli.command()
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
@_guarded
def updates(obj: Context, since: str | None, include_weak: bool, game: str | None, limit: int,
            fmt: str, as_json: bool) -> None:
    """List recently detected updates, newest first, as text, rows or a feed.

    `patchwatch updates --format atom > updates.xml` writes a feed a reader can follow
    (regenerate it from cron or after each sync); `--game steam:570` narrows it to one game.
    """
    from .state import recent_updates

    since_at = _parse_since(since)  # a usage error comes before any database error
    db = obj.db(read_only=True)
    game_id, game_label = _resolve_game(db, game) if game else (None, None)
    rows = recent_updates(db, since=since_at, builds_only=not include_weak,
                          limit=None if game_id is not None else limit)
    if game_id is not None:
        rows = [r for r in rows if r["game_id"] == game_id][:limit]
    if fmt != "text":
        from . import feeds

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


# -- games --------------------------------------------------------------------

@cli.group()
def games() -> None:
    """Add, import and list the games of the library."""


@games.command("add")
@click.argument("store")
@click.argument("store_id")
@click.argument("title", required=False)
@click.option("--extra", help='Store ids a plugin needs, as JSON, e.g. \'{"namespace": "..."}\'.')
@db_option
@click.pass_obj
@_guarded
def games_add(obj: Context, store: str, store_id: str, title: str | None,
              extra: str | None) -> None:
    """Add one game: STORE (steam, epic, gog, ...) and its id in that store."""
    from .library import add_games

    game_id = add_games(obj.db(), [{"store": store, "store_id": store_id, "title": title,
                                    "extra": extra}])[0]
    click.echo(f"game {game_id}: {store.lower()}:{store_id}")


@games.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@db_option
@click.pass_obj
@_guarded
def games_import(obj: Context, file: str) -> None:
    """Import games from a CSV (store,store_id,title[,extra_data]) or a JSON list.

    The header may use any case (``Store,Store ID,Name``); fields may be separated by commas,
    semicolons or tabs. Games already in the library are counted, not added again, so an
    import can be run again. A bad row is refused with one line naming it (exit 3) and the
    other rows are imported.
    """
    from .library import import_games, read_games_file

    def progress(rows: int) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{rows:,} rows read", nl=False, err=True)

    counts = import_games(obj.db(), read_games_file(file), progress)
    if sys.stderr.isatty():
        click.echo("\r" + " " * 30 + "\r", nl=False, err=True)
    for line in counts.refused[:20]:
        click.echo(f"refused {line}", err=True)
    if len(counts.refused) > 20:
        click.echo(f"... and {len(counts.refused) - 20} more refused rows", err=True)
    click.echo(f"{counts.added} added, {counts.existing} already in the library, "
               f"{len(counts.refused)} refused")
    if counts.refused:
        sys.exit(3)


@games.command("list")
@click.option("--store", help="Only this store.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@db_option
@click.pass_obj
@_guarded
def games_list(obj: Context, store: str | None, as_json: bool) -> None:
    """List the library with each game's last signal and check."""
    from .db import CHECKS
    from .library import load_games

    db = obj.db(read_only=True)
    checks = {r["game_id"]: r for r in db.query(f"SELECT * FROM {CHECKS}")} \
        if db[CHECKS].exists() else {}
    rows = []
    for game in load_games(db, [store] if store else None, include_hidden=True):
        check = checks.get(game.id, {})
        rows.append({
            "id": game.id, "store": game.store, "store_id": game.store_id, "title": game.title,
            "signals": {k: s.value for k, s in game.signals.items()},
            "status": check.get("status"), "checked_at": check.get("checked_at"),
            "plugin": check.get("plugin"), "message": check.get("message"),
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        signals = ", ".join(f"{k}={v}" for k, v in row["signals"].items()) or "-"
        click.echo(f"{row['id']:>6} {row['store']}:{row['store_id']} {row['title'] or ''}  "
                   f"{signals}  {row['status'] or 'never checked'}")


# -- notify ---------------------------------------------------------------------

@cli.group()
def notify() -> None:
    """Notifications: a digest of new builds after each sync or watch cycle.

    Put Apprise URLs in the config (`notify = ["ntfys://my-topic", "discord://..."]`);
    see `patchwatch watch --help`.
    """


@notify.command("test")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.pass_obj
@_guarded
def notify_test(obj: Context, urls: tuple[str, ...]) -> None:
    """Send a sample digest to each notify URL of the config (or to the URLs given).

    Exits 1 and names the URL when a delivery fails.
    """
    from .notify import _private, check_urls, digest, send_apprise

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
@click.pass_obj
@_guarded
def notify_status(obj: Context, as_json: bool) -> None:
    """Show the outbox: messages sent, waiting for a retry, dropped."""
    from .db import OUTBOX
    from .notify import _private, outbox_counts

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
                   f"{row['attempts']} attempt(s), next {row['next_attempt_at']}"
                   + (f" ({row['last_error']})" if row["last_error"] else ""))


# -- watch ----------------------------------------------------------------------

@cli.command()
@click.option("--store", "stores", multiple=True, metavar="STORE",
              help="Only this store (repeatable).")
@click.option("--once", is_flag=True,
              help="Check every store once, send the digest, and exit (for cron).")
@click.pass_obj
@_guarded
def watch(obj: Context, stores: tuple[str, ...], once: bool) -> None:
    """Keep checking for new builds and send a digest when there are some.

    Each store is checked on its own schedule: Steam (steam_pics) every 60 s through
    PICS's change feed on one kept connection (one request when nothing changed; never
    under 10 s), other stores every 6 h. Each check is an ordinary sync. After a check
    that found new builds, one message lists them all, sent to every Apprise URL of
    `notify = [...]` in the config; failed deliveries are retried with backoff, also
    after a restart. Config:

    \b
      notify = ["ntfys://my-topic", "discord://id/token"]
      notify_weak = false          # also changes that are not confirmed builds
      mute = ["epic", "steam:570"] # stores or games that never notify
      [watch]
      heartbeat = "10m"            # a "still watching" line when nothing happens
      retry = 30                   # first retry of a failed delivery, doubling
      [watch.interval]             # per plugin (or store): seconds or 90s/5m/6h/1d
      steam_pics = 60
      gog = "12h"

    Stops within 2 s on SIGTERM or Ctrl-C; nothing fetched is lost.
    """
    from .plugins import get_plugin_manager
    from .watch import Watcher

    def log(line: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        click.echo(f"{stamp} {line}")

    config = obj.config()
    watcher = Watcher(obj.db_path, pm=get_plugin_manager(), config=config,
                      stores=list(stores) or None, log=log)
    sys.exit(watcher.run(once=once))


cli.add_command(__import__("patchwatch.web.command", fromlist=["serve"]).serve)  # patchwatch serve (web/)
