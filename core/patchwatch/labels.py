"""How an update row's build facts read to a person (``updates``, the digest, the feeds).

The facts come from the store plugin (``Signal.detail``: ``download_bytes``,
``content_changed``) and from the core (``rollback``); see hookspecs.
"""

from __future__ import annotations

from typing import Any, Mapping


def build_notes(row: Mapping[str, Any]) -> list[str]:
    """``["rollback", "no content change", "download up to 1.2 GB"]``, whichever apply."""
    notes = []
    if row.get("rollback"):
        notes.append("rollback")
    if row.get("content_changed") is not None and not row.get("content_changed"):
        notes.append("no content change")
    elif row.get("download_bytes") is not None:
        notes.append(f"download up to {human_bytes(row['download_bytes'])}")
    return notes


def human_bytes(size: int) -> str:
    """Decimal units, as stores show sizes: ``1.2 GB``, ``850 MB``, ``0 B``."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit in ("B", "kB", "MB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
