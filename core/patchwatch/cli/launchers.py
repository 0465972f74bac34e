"""The launcher commands: ``patchwatch games import-launchers`` and ``patchwatch outdated``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .base import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, Context, db_option, guarded

EXIT_OUTDATED = 4
"""``patchwatch outdated``: some installed games are out of date."""
WARNINGS_SHOWN = 10


def register(cli: click.Group) -> None:
    """Add the launcher commands to the ``patchwatch`` group."""
    games = cli.commands["games"]
    assert isinstance(games, click.Group)
    games.add_command(import_launchers)
    cli.add_command(outdated_command)
    cli.add_command(launchers_command)


def _pm_config(obj: Context) -> tuple[Any, Any]:
    from ..plugins import get_plugin_manager

    return get_plugin_manager(), obj.config()


def _check_names(pm: Any, config: Any, names: tuple[str, ...]) -> list[str] | None:
    from ..launchers import launcher_names

    if not names:
        return None
    known = launcher_names(pm, config)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.UsageError(
            f"no launcher plugin named {', '.join(unknown)}; installed (not disabled): "
            f"{', '.join(known) or 'none (pip install patchwatch-launcher-steam ...)'}")
    return list(names)


def _reading(quiet: bool) -> None:
    """A note on a terminal while the launchers are read (seconds for a first read)."""
    if not quiet and sys.stderr.isatty():
        click.echo("reading the launchers' files...", err=True)


def _echo_report(report: Any, verbose: bool) -> None:
    if report.missing:
        click.echo(f"{report.name}: not found ({report.missing})")
        return
    if report.error:
        click.echo(f"{report.name}: failed: {report.error}")
        return
    installed = sum(1 for g in report.games if g.installed)
    owned = len(report.games) - installed
    line = f"{report.name} ({report.launcher}): {installed} installed"
    if owned:
        line += f", {owned} owned but not installed"
    if report.warnings:
        line += f"; {len(report.warnings)} file(s) skipped"
    click.echo(line + f" [{report.seconds:.2f} s]")
    shown = report.warnings if verbose else report.warnings[:WARNINGS_SHOWN]
    for warning in shown:
        click.echo(f"  warning: {warning.path}: {warning.message}")
    if len(report.warnings) > len(shown):
        click.echo(f"  ... and {len(report.warnings) - len(shown)} more (--verbose lists all)")


@click.command("import-launchers")
@click.argument("names", nargs=-1, metavar="[LAUNCHER]...")
@click.option("--installed-only", is_flag=True,
              help="Only games installed on this machine, not every game the launchers "
                   "know you own.")
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="List every skipped file.")
@db_option
@click.pass_obj
@guarded
def import_launchers(obj: Context, names: tuple[str, ...], installed_only: bool,
                     dry_run: bool, as_json: bool, verbose: bool) -> None:
    """Add your games from the launchers on this machine (Steam, Heroic, ...).

    Reads each launcher plugin's files (or only the LAUNCHERs named, e.g. `steam`), adds
    the games not yet in the library and remembers what is installed, at which build and
    branch. A game already in the library is never added twice, whoever added it;
    running it again changes nothing. A launcher that is not installed is a one-line
    note; a file that cannot be read (being rewritten, malformed, no permission) is a
    warning and the rest goes on.

    Exit codes: 0 done, 1 error, 2 usage error, 3 a launcher plugin failed.
    """
    from ..launchers import import_games, read_launchers
    from ..library import game_index

    pm, config = _pm_config(obj)
    chosen = _check_names(pm, config, names)
    db = obj.db(read_only=True) if dry_run and obj.db_path.exists() else (
        None if dry_run else obj.db())
    _reading(as_json)
    reports = read_launchers(pm, config, chosen, db=db)
    if not reports:
        click.echo("no launcher plugins installed: install patchwatch-launcher-steam, "
                   "patchwatch-launcher-heroic, ... (or `patchwatch games add`)", err=True)
        sys.exit(EXIT_OK)
    if dry_run:
        index = game_index(db) if db is not None else {}
        new = {(g.store, g.store_id): g for r in reports for g in r.games
               if (g.installed or not installed_only) and (g.store, g.store_id) not in index}
        if as_json:
            click.echo(json.dumps({"launchers": [r.to_dict() for r in reports],
                                   "would_add": [{"store": s, "store_id": i, "title": g.title}
                                                 for (s, i), g in new.items()]}, indent=2))
        else:
            for report in reports:
                _echo_report(report, verbose)
            click.echo(f"would add {len(new)} new game(s) (dry run: nothing changed)")
        sys.exit(EXIT_PARTIAL if any(r.error for r in reports) else EXIT_OK)
    summary = import_games(db, reports, installed_only=installed_only)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        for report in reports:
            _echo_report(report, verbose)
        click.echo(f"added {len(summary.added)} new game(s); {summary.already} already in the "
                   "library" + (f"; {summary.skipped_owned} not installed, left out"
                                if summary.skipped_owned else ""))
        for line in summary.refused:
            click.echo(f"  refused: {line}")
        if summary.added:
            click.echo("next: `patchwatch sync`, then `patchwatch outdated`")
    sys.exit(EXIT_PARTIAL if any(r.error for r in reports) else EXIT_OK)


@click.command("outdated")
@click.option("--no-refresh", is_flag=True,
              help="Use what the launchers said last time instead of re-reading them.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@db_option
@click.pass_obj
@guarded
def outdated_command(obj: Context, no_refresh: bool, as_json: bool) -> None:
    """List installed games whose build is not the newest known on their branch.

    Re-reads the launchers first (cheap), then compares each installed build with the
    newest build `patchwatch sync` recorded for the same branch: title, installed →
    latest version and build, since when the newer one is out, and whether the launcher
    itself already flags the update. Games never synced or on an untracked branch are
    counted as not compared.

    Exit codes: 0 every compared game is up to date, 4 some are out of date, 1 error.
    """
    from ..launchers import outdated, refresh_installed

    refresh = None
    if not no_refresh:
        pm, config = _pm_config(obj)
        _reading(as_json)
        refresh = refresh_installed(obj.db_path, pm=pm, config=config)
        if not as_json:
            for report in refresh.reports:
                if report.error:
                    click.echo(f"{report.name}: failed: {report.error} (using what it said "
                               "last time)", err=True)
                elif report.warnings:
                    click.echo(f"{report.name}: {len(report.warnings)} file(s) skipped "
                               f"(first: {report.warnings[0].path}: "
                               f"{report.warnings[0].message})", err=True)
    report = outdated(obj.db(read_only=True))
    if as_json:
        data = report.to_dict()
        if refresh is not None:
            data["launchers"] = [r.to_dict() for r in refresh.reports]
        click.echo(json.dumps(data, indent=2))
    else:
        for item in report.outdated:
            installed = _label(item.installed_version, item.installed_build)
            latest = _label(item.latest_version, item.latest_build)
            branch = f" [{item.branch}]" if item.branch else ""
            since = f", out since {item.since[:10]}" if item.since else ""
            pending = "; launcher says update pending" if item.update_pending else ""
            click.echo(f"{item.title or item.store_id} ({item.store}:{item.store_id}){branch}: "
                       f"{installed} → {latest}{since}{pending}")
        click.echo(f"{len(report.outdated)} of {report.installed} installed game(s) out of "
                   f"date; {report.current} up to date"
                   + (f", {report.ahead} newer than the last sync" if report.ahead else "")
                   + (f", {report.not_compared} not compared (not synced yet or no build "
                      "known)" if report.not_compared else ""))
    sys.exit(EXIT_OUTDATED if report.outdated else EXIT_OK)


@click.command("launchers")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
@guarded
def launchers_command(obj: Context, as_json: bool) -> None:
    """List the installed launcher plugins and what each finds on this machine.

    Reads the launchers (nothing is written): per plugin, the launcher, its stores, how many
    games are installed or only owned, and the files it could not read. `patchwatch games
    import-launchers` adds them to the library.
    """
    from ..launchers import launcher_info, launcher_names, read_launchers

    pm, config = _pm_config(obj)
    names = launcher_names(pm, config)
    reports = {r.name: r for r in read_launchers(pm, config, names)}
    disabled = sorted(n for n in config.disabled()
                      if n in launcher_names(pm) and n not in names)
    rows = []
    for name in names:
        info = launcher_info(pm, name)
        report = reports[name]
        rows.append({**report.to_dict(), "version": pm.versions.get(name),
                     "description": "" if isinstance(info, str) else info.description})
    rows += [{"name": n, "disabled": True} for n in disabled]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no launcher plugins installed (patchwatch-launcher-steam, "
                   "patchwatch-launcher-heroic, patchwatch-launcher-gog)")
    for name in names:
        _echo_report(reports[name], verbose=False)
    for name in disabled:
        click.echo(f"{name}: disabled")


def _label(version: str | None, build: str) -> str:
    return f"{version} (build {build})" if version and version != build else build


__all__ = ["register", "EXIT_OUTDATED", "EXIT_ERROR"]
