"""``patchwatch plugins``: the installed store plugins and their state."""

from __future__ import annotations

import json

import click

from .base import Context, db_option, guarded, local_time

REASON_CHARS = 70
"""A reason is cut to this many characters in the table (--verbose and --json: whole)."""


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (full reasons).")
@click.option("-v", "--verbose", is_flag=True, help="Full reasons and descriptions.")
@click.option("--reset", "reset", metavar="NAME", multiple=True,
              help="Switch plugin NAME back on now after the circuit breaker switched it off "
                   "(repeatable; `all` for every plugin).")
@db_option
@click.pass_obj
@guarded
def plugins(obj: Context, as_json: bool, verbose: bool, reset: tuple[str, ...]) -> None:
    """List installed store plugins: store, priority, version and state.

    A plugin that failed 3 times in a row is off for the cool-down (`off until ...`);
    `patchwatch plugins --reset NAME` tries it again at the next sync.
    """
    from .. import state
    from ..plugins import backends, get_plugin_manager
    from ..sync import weak_only

    config = obj.checked_config()
    pm = get_plugin_manager()
    found = backends(pm, config)
    if reset:
        _reset(obj, [b.name for b in found], reset)
        return
    health_db = obj.db(read_only=True) if obj.db_path.exists() else None
    rows = []
    for backend in found:
        health = state.plugin_health(health_db, backend.name) if health_db else None
        weak = None
        if backend.error:
            status = "error"
        elif backend.disabled:
            status = "disabled"
        elif health and health.is_off(
                settings=state.settings_fingerprint(config.breaker_inputs(backend.name, backend.store))):
            status = f"off until {local_time(health.off_until)}"
        else:
            status = "enabled"
            weak = weak_only(pm, backend.name, config.settings_for(backend.name, backend.store))
        why = backend.error or (health.last_error if health and health.failures else None)
        if status.startswith("off until"):
            why = f"{why}; `patchwatch plugins --reset {backend.name}` tries it now"
        rows.append({
            "name": backend.name, "store": backend.store, "priority": backend.priority,
            "version": backend.version, "status": status, "why": why,
            "weak_only": weak, "off_until": health.off_until if health else None,
            "description": backend.description,
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No store plugins installed (install e.g. patchwatch-steam-pics).")
        return
    click.echo(f"{'PLUGIN':<12} {'STORE':<7} {'PRIO':>4}  {'VERSION':<8} STATE")
    for row in rows:
        why = row["why"]
        if why and not verbose and len(why) > REASON_CHARS:
            why = why[:REASON_CHARS - 1] + "…"
        click.echo(f"{row['name']:<12} {row['store'] or '-':<7} {row['priority']:>4}  "
                   f"{row['version'] or '-':<8} "
                   f"{'disabled (config: disable)' if row['status'] == 'disabled' else row['status']}"
                   + (f"  ({why})" if why else ""))
        if row["weak_only"]:
            weak = row["weak_only"]
            if not verbose and len(weak) > REASON_CHARS:
                weak = weak[:REASON_CHARS - 1] + "…"
            click.echo(f"{'':<12} weak changes only: {weak}")
        if verbose and row["description"]:
            click.echo(f"{'':<12} {row['description']}")
    for note in obj.config_notes:
        click.echo(f"note: config {note}")
    from ..launchers import launcher_names
    if launcher_names(pm):
        click.echo(f"launcher plugins: {', '.join(launcher_names(pm))} (`patchwatch launchers`)")
    if not verbose and any(len(r["why"] or r["weak_only"] or "") > REASON_CHARS for r in rows):
        click.echo("(reasons cut short: --verbose or --json shows them whole)")


def _reset(obj: Context, known: list[str], names: tuple[str, ...]) -> None:
    from .. import state
    from ..config import closest

    wanted = known if "all" in names else list(names)
    for name in wanted:
        if name not in known:
            raise click.BadParameter(f"no plugin {name!r}{closest(name, known)}",
                                     param_hint="--reset")
    obj.require_db(create=False)
    if not obj.db_path.exists():
        click.echo("nothing to reset: no database yet")
        return
    db = obj.db()
    for name in wanted:
        if state.reset_breaker(db, name):
            click.echo(f"{name}: switched back on; the next sync tries it")
        elif "all" not in names:
            click.echo(f"{name}: was not switched off")
