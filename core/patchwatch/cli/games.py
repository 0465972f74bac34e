"""``patchwatch games``: add, import and list the games of the library."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import PatchwatchError
from .base import Context, db_option, guarded, resolve_game


@click.group()
def games() -> None:
    """Add, import, list, edit and remove the games of the library."""


@games.command("add")
@click.argument("store")
@click.argument("store_id")
@click.argument("title", required=False)
@click.option("--extra", help='Store ids a plugin needs, as JSON, e.g. \'{"namespace": "..."}\'.')
@click.option("--force", is_flag=True,
              help="Add it even if no installed plugin serves STORE or its id looks wrong.")
@db_option
@click.pass_obj
@guarded
def games_add(obj: Context, store: str, store_id: str, title: str | None,
              extra: str | None, force: bool) -> None:
    """Add one game: STORE (steam, epic, gog, ...) and its id in that store.

    The store must be one an installed plugin serves, and the id must have that store's
    form (Steam app ids and GOG product ids are numbers): --force skips both checks. A game
    already in the library is left as it is: `patchwatch games edit` changes it.
    """
    from ..library import add_games, find_game

    store = store.strip().lower()
    extra_ids = _extra(extra)
    if not force:
        _check_id(obj, store, store_id.strip(), extra_ids)
    db = obj.db()
    existing = find_game(db, store, store_id.strip())
    if existing is not None:
        label = f"{store}:{store_id.strip()}"
        click.echo(f"{label} is already in the library (game {existing['id']}"
                   + (f", {existing.get('name') or existing.get('title')!r}"
                      if existing.get("name") or existing.get("title") else "")
                   + "): nothing changed")
        if title or extra:
            options = " ".join(filter(None, [f"--title {_quote(title)}" if title else "",
                                             f"--extra {_quote(extra)}" if extra else ""]))
            click.echo(f"to change it: patchwatch games edit {label} {options}")
        return
    game_id = add_games(db, [{"store": store, "store_id": store_id, "title": title,
                              "extra": extra_ids}])[0]
    click.echo(f"added game {game_id}: {store}:{store_id.strip()}" + (f" {title}" if title else ""))


@games.command("edit")
@click.argument("game")
@click.option("--title", help="The title to show.")
@click.option("--store-id", help="The right id in the store (its signals start afresh).")
@click.option("--extra", help="The right extra ids, as JSON ('{}' clears them; its signals "
                              "start afresh).")
@click.option("--force", is_flag=True, help="Accept a store id whose form looks wrong.")
@db_option
@click.pass_obj
@guarded
def games_edit(obj: Context, game: str, title: str | None, store_id: str | None,
               extra: str | None, force: bool) -> None:
    """Fix a game of the library: GAME is STORE:ID (steam:570), a store id or a row id.

    A new store id or new extra ids make the next sync take a fresh baseline for it; its
    update history is kept.
    """
    from ..library import edit_game

    if title is None and store_id is None and extra is None:
        raise click.UsageError("say what to change: --title, --store-id and/or --extra")
    db = _own_library(obj, "edit")
    game_id, label = _game(db, game)
    store = label.split(":", 1)[0]
    extra_ids = _extra(extra) if extra is not None else None
    if not force and (store_id is not None or extra_ids is not None):
        row = next(db.query("SELECT * FROM games WHERE id = ?", [game_id]))
        _check_id(obj, store, (store_id or str(row["store_id"])).strip(), extra_ids or {})
    changed = edit_game(db, game_id, title=title, store_id=store_id, extra=extra_ids)
    if not changed:
        click.echo(f"{label}: nothing to change")
        return
    now = f"{store}:{store_id.strip()}" if store_id else label
    fresh = {"store_id", "extra_data"} & set(changed)
    click.echo(f"{now} (game {game_id}): changed {', '.join(changed)}"
               + ("; the next sync takes a new baseline" if fresh else ""))


@games.command("remove")
@click.argument("game", nargs=-1, required=True)
@db_option
@click.pass_obj
@guarded
def games_remove(obj: Context, game: tuple[str, ...]) -> None:
    """Remove games from the library: each GAME is STORE:ID (steam:570), a store id or a
    row id. What patchwatch recorded about them (signals, checks, updates) goes too."""
    from ..library import remove_game

    db = _own_library(obj, "remove")
    found = [_game(db, spec) for spec in game]  # every name checked before anything goes
    for game_id, label in found:
        remove_game(db, game_id)
        click.echo(f"removed {label} (game {game_id})")


def _own_library(obj: Context, what: str) -> Any:
    """The database, refusing a host's library: its games are the host's to change."""
    from ..library import host_owned

    obj.require_db(create=False, how="`patchwatch games add`")
    if not obj.db_path.exists():
        raise PatchwatchError(f"no database at {obj.db_path}: the library is empty")
    db = obj.db()
    if host_owned(db):
        raise PatchwatchError(f"the games table in {obj.db_path} belongs to a host app "
                              f"(Backlogia?): {what} the game there, not with patchwatch")
    return db


def _game(db: Any, spec: str) -> tuple[Any, str]:
    try:
        return resolve_game(db, spec)
    except LookupError as exc:
        raise click.BadParameter(str(exc), param_hint="GAME") from None


def _extra(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise click.BadParameter(f"not JSON: {text[:60]!r}", param_hint="--extra") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object, e.g. '{\"namespace\": \"fn\"}'",
                                 param_hint="--extra")
    return value


def _check_id(obj: Context, store: str, store_id: str, extra: dict[str, Any]) -> None:
    """A usage error for a store no plugin serves (naming the served ones, the closest
    first) or an id whose form the store's plugins refuse."""
    from ..config import closest
    from ..plugins import backends, get_plugin_manager, store_id_problem

    pm = get_plugin_manager()
    config = obj.config()
    found = backends(pm, config)
    stores = sorted({b.store for b in found if b.store})
    if not stores:  # no plugin installed yet: nothing to check against
        return
    if store not in stores:
        raise click.UsageError(f"unknown store {store!r}{closest(store, stores)} "
                               "(--force adds it anyway: it is listed as unsupported by sync)")
    problem = store_id_problem(pm, config, store, store_id, extra, found)
    if problem:
        raise click.UsageError(f"{problem} (--force adds it anyway)")


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


@games.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@db_option
@click.pass_obj
@guarded
def games_import(obj: Context, file: str) -> None:
    """Import games from a CSV (store,store_id,title[,extra_data]) or a JSON list.

    The header may use any case (``Store,Store ID,Name``); fields may be separated by commas,
    semicolons or tabs. Games already in the library are counted, not added again, so an
    import can be run again. A bad row is refused with one line naming it (exit 3) and the
    other rows are imported.
    """
    from ..library import import_games, read_games_file

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
@guarded
def games_list(obj: Context, store: str | None, as_json: bool) -> None:
    """List the library with each game's last signal and check."""
    from ..db import CHECKS
    from ..library import load_games

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
