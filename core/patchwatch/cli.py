"""The ``patchwatch`` command line."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .config import ENV_CONFIG, ENV_DB, default_db_path, load_config
from .db import open_db
from .errors import PatchwatchError

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 3, 130


class Context:
    def __init__(self, db: str | None, config: str | None):
        self.db_path = Path(db) if db else default_db_path()
        self.config_path = config

    def config(self):
        return load_config(self.config_path)

    def db(self):
        return open_db(self.db_path)


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
        except KeyboardInterrupt:
            click.echo("Interrupted: what was fetched is saved; the next sync resumes.", err=True)
            sys.exit(EXIT_INTERRUPTED)

    return wrapper


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
    3 some games could not be checked, 130 interrupted.
    """
    ctx.obj = Context(db, config)


# -- sync ---------------------------------------------------------------------

@cli.command()
@click.option("--store", "stores", multiple=True, metavar="STORE",
              help="Only this store (repeatable), e.g. --store steam.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--no-resume", is_flag=True, help="Start afresh even if the last sync was cut short.")
@click.pass_obj
@_guarded
def sync(obj: Context, stores: tuple[str, ...], as_json: bool, no_resume: bool) -> None:
    """Check every game for a new build and record what changed.

    Each store's games go to its available plugin of highest priority; games it
    cannot answer go to the next one. The first sight of a game is a baseline.
    """
    from .sync import sync_library

    config = obj.config()
    progress, done = _progress_reporter(quiet=as_json)
    try:
        summary = sync_library(obj.db_path, config=config, stores=list(stores) or None,
                               progress=progress, resume=not no_resume)
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
    if summary.failures or summary.unsupported:
        sys.exit(EXIT_PARTIAL)


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
                   "already checked were skipped")
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
@click.pass_obj
@_guarded
def plugins(obj: Context, as_json: bool) -> None:
    """List installed store plugins: store, priority, version and state."""
    from . import state
    from .plugins import backends, get_plugin_manager

    config = obj.config()
    health_db = obj.db() if obj.db_path.exists() else None
    rows = []
    for backend in backends(get_plugin_manager(), config):
        health = state.plugin_health(health_db, backend.name) if health_db else None
        if backend.error:
            status = "error"
        elif backend.disabled:
            status = "disabled"
        elif health and health.is_off(
                settings=state.settings_fingerprint(config.settings_for(backend.name, backend.store))):
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
        delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount),
                 "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
        return (datetime.now(timezone.utc) - delta).replace(microsecond=0).isoformat()
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
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
@_guarded
def updates(obj: Context, since: str | None, include_weak: bool, limit: int,
            as_json: bool) -> None:
    """List recently detected updates, newest first."""
    from .state import recent_updates

    rows = recent_updates(obj.db(), since=_parse_since(since), builds_only=not include_weak,
                          limit=limit)
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


# -- games --------------------------------------------------------------------

@cli.group()
def games() -> None:
    """Add, import and list the games of the library."""


@games.command("add")
@click.argument("store")
@click.argument("store_id")
@click.argument("title", required=False)
@click.option("--extra", help='Store ids a plugin needs, as JSON, e.g. \'{"namespace": "..."}\'.')
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
@click.pass_obj
@_guarded
def games_import(obj: Context, file: str) -> None:
    """Import games from a CSV (store,store_id,title[,extra_data]) or a JSON list.

    Every row is checked first; one bad row imports nothing and names the row.
    """
    from .library import add_games, read_games_file

    ids = add_games(obj.db(), read_games_file(file))
    click.echo(f"imported {len(ids)} games ({len(set(ids))} distinct)")


@games.command("list")
@click.option("--store", help="Only this store.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
@_guarded
def games_list(obj: Context, store: str | None, as_json: bool) -> None:
    """List the library with each game's last signal and check."""
    from .db import CHECKS
    from .library import load_games

    db = obj.db()
    checks = {r["game_id"]: r for r in db.query(f"SELECT * FROM {CHECKS}")}
    rows = []
    for game in load_games(db, [store] if store else None):
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
