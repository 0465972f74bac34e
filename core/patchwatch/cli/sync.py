"""``patchwatch sync``: one check of the library, its progress and its summary."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable

import click

from .base import EXIT_PARTIAL, Context, db_option, guarded


@click.command()
@click.option("--store", "stores", multiple=True, metavar="STORE",
              help="Only this store (repeatable), e.g. --store steam.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-v", "--verbose", is_flag=True,
              help="Every game that could not be checked, with each plugin's full reason.")
@click.option("--no-resume", is_flag=True, help="Start afresh even if the last sync was cut short.")
@click.option("--include-hidden", is_flag=True,
              help="Also check games the host marks hidden or removed (skipped by default).")
@click.option("--fail-unsupported", is_flag=True,
              help="Exit 3 when some games are of a store no plugin serves (itch, local, ...).")
@click.option("--create", is_flag=True,
              help="Create the database named by --db if it does not exist "
                   "(without it, a missing file is refused: a typo would give an empty library).")
@db_option
@click.pass_obj
@guarded
def sync(obj: Context, stores: tuple[str, ...], as_json: bool, verbose: bool, no_resume: bool,
         include_hidden: bool, fail_unsupported: bool, create: bool) -> None:
    """Check every game for a new build and record what changed.

    Each store's games go to its available plugin of highest priority; games it
    cannot answer go to the next one. The first sight of a game is a baseline.
    Games of stores no plugin serves are listed; they make the exit code 3 only
    with --fail-unsupported. Stores whose plugins are all switched off (`disable`)
    are named once and do not change the exit code.
    """
    from ..sync import sync_library

    config = obj.checked_config()
    obj.require_db(create)
    if config.notify:
        from ..notify import check_urls, prime

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
        print_summary(summary, verbose=verbose)
    if config.notify:
        _notify_after_sync(obj, config, quiet=as_json)
    if summary.failures or (fail_unsupported and summary.unsupported):
        sys.exit(EXIT_PARTIAL)


def _notify_after_sync(obj: Context, config: Any, quiet: bool) -> None:
    from ..notify import notify_updates
    from ..plugins import get_plugin_manager

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


SHOWN = 20
"""Games listed one by one without --verbose (the rest are counted)."""
REASON_CHARS = 160
"""A reason is cut to this many characters without --verbose (--json has it whole)."""


def short(text: str | None, verbose: bool = False, limit: int = REASON_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters unless ``verbose``."""
    text = " ".join((text or "").split())
    return text if verbose or len(text) <= limit else text[:limit - 1] + "…"


def print_summary(summary: Any, verbose: bool = False) -> None:
    """The summary of a sync: one count line, then each update and what could not be checked.

    ``UPDATE`` lines are the confirmed builds counted as "updated"; changes of weak signals
    are ``CHANGED`` lines counted apart. When no store could be reached, one line says so
    instead of a line per game (``verbose`` lists them all, with full reasons).
    """
    builds = summary.updated
    weak = [u for u in summary.updates if not u.is_build]
    counts = (f"{summary.total} games: {summary.checked} checked ({summary.baselines} new "
              f"baselines), {len(builds)} updated")
    if weak:
        counts += f", {len(weak)} changed (not confirmed builds)"
    counts += f", {len(summary.failures)} failed, {len(summary.unsupported)} unsupported"
    off = sum(summary.switched_off.values())
    if off:
        counts += f", {off} switched off"
    click.echo(f"{counts} in {summary.seconds:.1f} s")
    if summary.offline:
        click.echo(f"no store could be reached: are you offline? {len(summary.failures)} games "
                   "were not checked; nothing counts against the plugins, and the next sync "
                   "tries again" + ("" if verbose else " (--verbose or --json for each game)"))
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
    for store, count in sorted(summary.switched_off.items()):
        click.echo(f"  {store}: switched off in the config (disable): {count} games not checked")
    for update in builds + weak:
        label = "UPDATE" if update.is_build else "CHANGED (not a confirmed build)"
        version = f" [{update.version}]" if update.version else ""
        click.echo(f"  {label} {update.store}:{update.store_id} {update.title or ''}"
                   f" {update.kind} {update.old_value} -> {update.new_value}{version}"
                   f" via {update.plugin}")
    for report in summary.plugins:
        if summary.offline and not verbose:
            break
        line = f"  plugin {report.name} ({report.store}): {report.status}, " \
               f"{report.answered}/{report.offered} answered"
        if report.reason:
            line += f" - {short(report.reason, verbose)}"
        if report.fallback_to:
            line += f"; rest went to {report.fallback_to}"
        click.echo(line)
        if report.weak_only:
            click.echo(f"  note: {report.name} sees only weak changes: {report.weak_only}")
    for name, error in summary.load_errors.items():
        click.echo(f"  plugin {name} not loaded: {short(error, verbose)}")
    if summary.offline and not verbose:
        return
    _print_unchecked(summary.failures + summary.unsupported, verbose)


def _print_unchecked(games: list[Any], verbose: bool) -> None:
    """Each game not checked with ``verbose``; else games sharing one reason on one line."""
    if verbose:
        for failure in games:
            click.echo(f"  {failure.status.upper()} {failure.store}:{failure.store_id} "
                       f"{failure.title or ''}: {failure.message}")
        return
    groups: dict[tuple[str, str], list[Any]] = {}
    for failure in games:
        groups.setdefault((failure.status, failure.message), []).append(failure)
    shown = 0
    for (status, message), members in groups.items():
        if shown >= SHOWN:
            break
        if len(members) == 1:
            failure = members[0]
            click.echo(f"  {status.upper()} {failure.store}:{failure.store_id} "
                       f"{failure.title or ''}: {short(message)}")
        else:
            stores = ", ".join(sorted({f.store for f in members}))
            click.echo(f"  {status.upper()} {len(members)} {stores} games: {short(message)}")
        shown += 1
    hidden = sum(len(m) for m in list(groups.values())[shown:])
    if hidden > 0:
        click.echo(f"  ... and {hidden} more (--verbose or --json for all)")
