"""What every command shares: the context object, ``--db`` after the command, one-line errors."""

from __future__ import annotations

import functools
import sqlite3
import sys
from pathlib import Path
from typing import Any, Callable

import click

from ..config import default_db_path, load_config
from ..db import database_error, open_db
from ..errors import PatchwatchError, Terminated

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 3, 130, 143


class Context:
    """What the group's options set for every command: the database and config paths."""

    def __init__(self, db: str | None, config: str | None):
        self.db_path = Path(db) if db else default_db_path()
        self.db_given = False
        """The user typed ``--db`` (a default or ``$PATCHWATCH_DB`` path is not checked)."""
        self.config_path = config
        self.config_notes: list[str] = []

    def require_db(self, create: bool, how: str = "pass --create") -> None:
        """Refuse a ``--db`` that does not exist unless ``create``: a mistyped path must not
        become a new, empty library (the default path and ``$PATCHWATCH_DB`` are created)."""
        if self.db_given and not create and not self.db_path.exists():
            raise PatchwatchError(f"no database at {self.db_path} (a typo?); {how} to start "
                                  "a new one there")

    def config(self):
        return load_config(self.config_path)

    def checked_config(self):
        """The config, with its plugin names and each plugin's settings checked against the
        installed plugins (a misspelt name or a refused setting: one line, exit 1)."""
        from ..config import default_config_path
        from ..plugins import check_config, get_plugin_manager

        config = self.config()
        self.config_notes = check_config(get_plugin_manager(), config,
                                         source=str(self.config_path or default_config_path()))
        return config

    def db(self, read_only: bool = False):
        """The database; ``read_only`` never creates or changes anything (a missing file is
        an error, not an empty library)."""
        return open_db(self.db_path, read_only=read_only)


def _set_db(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        obj = ctx.find_object(Context)
        obj.db_path, obj.db_given = Path(value), True


db_option = click.option(
    "--db", type=click.Path(dir_okay=False), expose_value=False, callback=_set_db,
    help="SQLite database (also accepted before the command).")
"""``--db`` after the command name too: ``patchwatch sync --db game_library.db``."""


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn patchwatch errors into one line on stderr and exit code 1."""
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


def local_time(value: Any) -> str:
    """An ISO 8601 time (UTC, as stored) in the user's local time zone, to the minute; text
    that is not a time is returned as is. ``--json`` keeps the stored UTC value."""
    from datetime import datetime, timezone

    if not isinstance(value, str) or not value:
        return "" if value is None else str(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def resolve_game(db: Any, spec: str) -> tuple[int, str]:
    """``steam:570``, ``570`` (a store id one game of the library has) or a library row id →
    (row id, ``steam:570``). Raises ``LookupError`` saying what is wrong (unknown; several
    games have that store id: they are named)."""
    spec = spec.strip()
    store, sep, store_id = spec.partition(":")
    query = "SELECT id, store, store_id FROM games WHERE "
    if sep:
        rows = list(db.query(query + "lower(trim(store)) = ? AND CAST(store_id AS TEXT) = ?",
                             [store.strip().lower(), store_id.strip()]))
    else:
        rows = list(db.query(query + "CAST(store_id AS TEXT) = ?", [spec]))
        if len(rows) > 1:
            names = ", ".join(sorted(f"{r['store']}:{r['store_id']}" for r in rows))
            raise LookupError(f"{spec!r} is the id of several games ({names}): name one as "
                              "STORE:ID")
        if not rows and spec.isdigit():
            rows = list(db.query(query + "id = ?", [int(spec)]))
    if not rows:
        raise LookupError(f"no game {spec!r} in the library (use STORE:ID, e.g. steam:570, "
                          "or a row id from `patchwatch games list`)")
    return rows[0]["id"], f"{rows[0]['store']}:{rows[0]['store_id']}"
