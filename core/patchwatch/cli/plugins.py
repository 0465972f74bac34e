"""``patchwatch plugins``: the installed store plugins and their state."""

from __future__ import annotations

import json

import click

from .base import Context, db_option, guarded


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@db_option
@click.pass_obj
@guarded
def plugins(obj: Context, as_json: bool) -> None:
    """List installed store plugins: store, priority, version and state."""
    from .. import state
    from ..plugins import backends, get_plugin_manager

    config = obj.config()
    health_db = obj.db(read_only=True) if obj.db_path.exists() else None
    rows = []
    for backend in backends(get_plugin_manager(), config):
        health = state.plugin_health(health_db, backend.name) if health_db else None
        if backend.error:
            status = "error"
        elif backend.disabled:
            status = "disabled"
        elif health and health.is_off(
                settings=state.settings_fingerprint(config.breaker_inputs(backend.name, backend.store))):
            status = f"off until {health.off_until}"
        else:
            status = "enabled"
        rows.append({
            "name": backend.name, "store": backend.store, "priority": backend.priority,
            "version": backend.version, "status": status,
            "why": backend.error or (health.last_error if health and health.failures else None),
            "description": backend.description,
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No store plugins installed (install e.g. patchwatch-steam-pics).")
        return
    for row in rows:
        click.echo(f"{row['name']:<12} {row['store'] or '-':<7} {row['priority']:>4}  "
                   f"{row['version'] or '-':<8} {row['status']}"
                   + (f"  ({row['why']})" if row["why"] else ""))
