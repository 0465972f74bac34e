"""``patchwatch watch``: keep checking and notify."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from .base import Context, db_option, guarded


@click.command()
@click.option("--store", "stores", multiple=True, metavar="STORE",
              help="Only this store (repeatable).")
@click.option("--once", is_flag=True,
              help="Check every store once, send the digest, and exit (for cron): exit 3 "
                   "when some games could not be checked, as sync.")
@db_option
@click.pass_obj
@guarded
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
    from ..plugins import get_plugin_manager
    from ..watch import Watcher

    def log(line: str) -> None:
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")  # local, with offset
        click.echo(f"{stamp} {line}")

    config = obj.checked_config()
    obj.require_db(create=False, how="`patchwatch sync --create --db ...`")
    watcher = Watcher(obj.db_path, pm=get_plugin_manager(), config=config,
                      stores=list(stores) or None, log=log)
    sys.exit(watcher.run(once=once))
