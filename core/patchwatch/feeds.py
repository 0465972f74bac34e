"""Detected updates as a feed: Atom (RFC 4287) or JSON Feed 1.1, for feed readers and tools."""

from __future__ import annotations

import json
from typing import Any, Mapping
from xml.sax.saxutils import escape, quoteattr

from . import __version__
from .library import now_iso
from .labels import build_notes
from .notify import entry_lines

def entry_id(row: Mapping[str, Any]) -> str:
    """Stable across runs and copies of the database: the game, the signal, the new value."""
    return f"urn:patchwatch:update:{row['store']}:{row['store_id']}:{row['kind']}:{row['new_value']}"


def entry_title(row: Mapping[str, Any]) -> str:
    name = row.get("title") or f"{row['store']}:{row['store_id']}"
    label = row.get("version") or row["new_value"]
    prefix = "New build" if row["is_build"] else "Store data changed (not a confirmed build)"
    notes = build_notes(row)
    return f"{prefix}: {name} {label}" + (f" ({', '.join(notes)})" if notes else "")


def _text(row: Mapping[str, Any]) -> str:
    return "\n".join(line.lstrip("• ").strip() for line in entry_lines(row))


def atom(rows: list[Mapping[str, Any]], title: str, feed_id: str) -> str:
    """An Atom 1.0 document with one entry per update row (newest first)."""
    updated = rows[0]["detected_at"] if rows else now_iso()
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <id>{escape(feed_id)}</id>",
        f"  <title>{escape(title)}</title>",
        f"  <updated>{escape(updated)}</updated>",
        "  <author><name>patchwatch</name></author>",
        f'  <generator version="{escape(__version__)}">patchwatch</generator>',
    ]
    for row in rows:
        link = row.get("notes_url") or row.get("store_url")
        out += [
            "  <entry>",
            f"    <id>{escape(entry_id(row))}</id>",
            f"    <title>{escape(entry_title(row))}</title>",
            f"    <updated>{escape(row['detected_at'])}</updated>",
        ]
        if row.get("published_at"):
            out.append(f"    <published>{escape(row['published_at'])}</published>")
        if link:
            out.append(f"    <link rel=\"alternate\" href={quoteattr(link)}/>")
        if row.get("store_url") and row.get("notes_url"):
            out.append(f"    <link rel=\"related\" href={quoteattr(row['store_url'])}/>")
        out += [
            f"    <category term={quoteattr(row['store'])}/>",
            f"    <content type=\"text\">{escape(_text(row))}</content>",
            "  </entry>",
        ]
    out.append("</feed>")
    return "\n".join(out) + "\n"


def json_feed(rows: list[Mapping[str, Any]], title: str) -> str:
    """A JSON Feed 1.1 document (https://jsonfeed.org/version/1.1) of the update rows."""
    items = []
    for row in rows:
        item: dict[str, Any] = {
            "id": entry_id(row),
            "title": entry_title(row),
            "content_text": _text(row),
            "date_published": row.get("published_at") or row["detected_at"],
            "date_modified": row["detected_at"],
            "tags": [row["store"], "build" if row["is_build"] else "not-a-build"],
            "_patchwatch": {  # extension keys start with an underscore (JSON Feed 1.1)
                "store": row["store"], "store_id": row["store_id"], "kind": row["kind"],
                "old_value": row["old_value"], "new_value": row["new_value"],
                "old_version": row.get("old_version"), "version": row.get("version"),
                "is_build": bool(row["is_build"]), "detected_at": row["detected_at"],
                "plugin": row.get("plugin"), "download_bytes": row.get("download_bytes"),
                "content_changed": (None if row.get("content_changed") is None
                                    else bool(row["content_changed"])),
                "rollback": bool(row.get("rollback")),
            },
        }
        if row.get("notes_url") or row.get("store_url"):
            item["url"] = row.get("notes_url") or row.get("store_url")
        if row.get("store_url") and row.get("notes_url"):
            item["external_url"] = row["store_url"]
        items.append(item)
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}
    return json.dumps(feed, indent=2, ensure_ascii=False) + "\n"
