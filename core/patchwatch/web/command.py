"""``patchwatch serve``: the pages in a browser, with the watch loop in the same process."""

from __future__ import annotations

import ipaddress
import socket
import sys
from datetime import datetime, timezone

import click

from ..cli.base import EXIT_ERROR, Context, db_option, guarded
from ..db import open_db

TOKEN_ENV = "PATCHWATCH_WEB_TOKEN"


def is_loopback_bind(host: str) -> bool:
    """Whether binding ``host`` keeps the server to this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--token", envvar=TOKEN_ENV, metavar="TOKEN",
              help=f"Secret the actions (check now, schedule) require (env {TOKEN_ENV}); "
                   "open a page once with ?token=TOKEN to use them from a browser.")
@click.option("--no-watch", is_flag=True,
              help="Do not run the watch loop in this process (pages and check now only).")
@db_option
@click.pass_obj
@guarded
def serve(obj: Context, host: str, port: int, token: str | None, no_watch: bool) -> None:
    """Serve the updates, plugin health, notifications and feeds in a browser.

    Binds 127.0.0.1:8080 by default and runs `patchwatch watch` in the same process, so
    each store is checked on its schedule (--no-watch to leave that to another process).
    Pages read the database read-only; "check now" runs a sync with live progress and
    cancel. Feeds: /feed.atom, /feed.json, /games/STORE/ID/feed.atom. Every page has a
    JSON twin: add .json (/index.json for the updates). Stops on Ctrl-C or SIGTERM.
    """
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        click.echo(f"Error: patchwatch serve needs the web extra: pip install "
                   f"'patchwatch[web]' ({exc})", err=True)
        sys.exit(EXIT_ERROR)
    if not is_loopback_bind(host) and not token:
        raise click.UsageError(f"--host {host} reaches beyond this machine: set --token (or "
                               f"{TOKEN_ENV}) so only you can run checks from the pages")
    config = obj.checked_config()
    obj.require_db(create=False, how="`patchwatch sync --create --db ...`")
    open_db(obj.db_path).close()  # a new user's empty library (the default path): created

    def log(line: str) -> None:
        click.echo(line)

    app = create_app(obj.db_path, config, token=token, log=log)
    try:
        # IPPROTO_TCP named: asyncio then sets TCP_NODELAY on each connection; without it a
        # small body waits ~40 ms behind the headers for the client's delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                             socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # connections queue from now on, so the address below answers
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    shown = f"[{host}]" if ":" in host else host
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(f"{stamp} patchwatch: http://{shown}:{sock.getsockname()[1]}/ "
               f"(database {obj.db_path}; watch {'off' if no_watch else 'on'}"
               f"{'; open a page once with ?token=… to use the actions' if token else ''})")
    if not no_watch:
        app.start_watch()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           access_log=False))
    try:
        server.run(sockets=[sock])
    finally:
        app.close()
        sock.close()
