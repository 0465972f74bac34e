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
