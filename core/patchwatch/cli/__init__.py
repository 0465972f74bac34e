"""The ``patchwatch`` command line: the group, the console script, and each command's module."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

import click

from .. import __version__
from ..config import ENV_CONFIG, ENV_DB, default_db_path
from ..errors import Terminated
from .base import EXIT_ERROR, EXIT_OK, Context

EXIT_GRACE_SECONDS = 2.0
"""After a command, how long plugin threads get to finish before the process exits anyway."""


def main(args: list[str] | None = None) -> None:
    """The ``patchwatch`` console script: the CLI, SIGTERM handled like Ctrl-C, and an exit
    that never waits more than :data:`EXIT_GRACE_SECONDS` for a plugin's threads."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    threading.excepthook = _thread_error_line
    try:
        cli.main(args=args, prog_name="patchwatch")
        code: Any = EXIT_OK
    except SystemExit as exc:
        code = exc.code
    _exit_released(code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_ERROR))


def _thread_error_line(args: threading.ExceptHookArgs) -> None:
    """A thread (a plugin's own) that dies of an error: one line on stderr, no traceback."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    text = " ".join(str(args.exc_value).split())[:200] if args.exc_value is not None else ""
    try:
        sys.stderr.write(f"patchwatch: thread {name} stopped: {args.exc_type.__name__}"
                         + (f": {text}" if text else "") + "\n")
    except Exception:  # stderr gone (interpreter shutting down): nothing to tell
        pass


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated()


def _exit_released(code: int) -> None:
    """Exit with ``code``; a plugin thread still running after the grace time is left behind
    (everything of ours is saved by then) instead of keeping the process alive."""
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    _release_idle_pools()
    for thread in _lingering():
        thread.join(max(0.0, deadline - time.monotonic()))
    if _lingering():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _release_idle_pools() -> None:
    """Tell every thread pool's workers to end, as the interpreter's own exit does
    (``concurrent.futures.thread._python_exit``): an idle worker, such as the one Apprise's
    pool keeps after a notification, ends at once instead of costing the grace time; a busy
    one finishes its task first (or is left behind after the grace time)."""
    import concurrent.futures.thread as pool_threads

    queues = getattr(pool_threads, "_threads_queues", None)
    lock = getattr(pool_threads, "_global_shutdown_lock", None)
    if not queues or lock is None:
        return
    with lock:
        pool_threads._shutdown = True
    for work_queue in list(queues.values()):
        work_queue.put(None)


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

    Fill the library from the launchers on this machine with `patchwatch games
    import-launchers` (or add games with `patchwatch games add` / `games import`), then run
    `patchwatch sync`; `patchwatch outdated` lists installed games behind their newest build. Exit codes: 0 all checked, 1 error, 2 usage error,
    3 some games could not be checked, 130 interrupted (Ctrl-C), 143 stopped by SIGTERM.
    """
    ctx.obj = Context(db, config)
    ctx.obj.db_given = ctx.get_parameter_source("db") is click.core.ParameterSource.COMMANDLINE


from .games import games  # noqa: E402
from .notify import notify  # noqa: E402
from .plugins import plugins  # noqa: E402
from .sync import sync  # noqa: E402
from .updates import updates  # noqa: E402
from .watch import watch  # noqa: E402
from ..web.command import serve  # noqa: E402  (web/: imports Starlette only when it runs)

cli.add_command(sync)
cli.add_command(plugins)
cli.add_command(updates)
cli.add_command(games)
cli.add_command(notify)
cli.add_command(watch)
cli.add_command(serve)

from .launchers import register as register_launchers  # noqa: E402
register_launchers(cli)  # games import-launchers, outdated, launchers
