"""``patchwatch games``: add, import and list the games of the library."""

from __future__ import annotations

import json

import click

from .base import Context, db_option, guarded


@click.group()
def games() -> None:
    """Add, import and list the games of the library."""


@games.command("add")
@click.argument("store")
@click.argument("store_id")
@click.argument("title", required=False)
@click.option("--extra", help='Store ids a plugin needs, as JSON, e.g. \'{"namespace": "..."}\'.')
@db_option
@click.pass_obj
@guarded
def games_add(obj: Context, store: str, store_id: str, title: str | None,
              extra: str | None) -> None:
    """Add one game: STORE (steam, epic, gog, ...) and its id in that store."""
    from ..library import add_games

    game_id = add_games(obj.db(), [{"store": store, "store_id": store_id, "title": title,
                                    "extra": extra}])[0]
    click.echo(f"game {game_id}: {store.lower()}:{store_id}")


@games.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@db_option
@click.pass_obj
@guarded
def games_import(obj: Context, file: str) -> None:
    """Import games from a CSV (store,store_id,title[,extra_data]) or a JSON list.

    Every row is checked first; one bad row imports nothing and names the row.
    """
    from ..library import add_games, read_games_file

    ids = add_games(obj.db(), read_games_file(file))
    click.echo(f"imported {len(ids)} games ({len(set(ids))} distinct)")


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
