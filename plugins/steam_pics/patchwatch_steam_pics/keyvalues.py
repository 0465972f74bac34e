"""Just enough of Valve's text KeyValues to read one top-level section of PICS app info.

PICS sends app info as text KeyValues (``"appinfo" { "appid" "440" "common" { ... } ...
"depots" { ... } }``), ~12 KB on average, of which a build needs only the ``depots``
section. Valve's writer indents with one tab per level (the live check reads real app
info), so the section is found with one string search for ``\\n\\t"depots"``; only that
block is tokenized. Text that is not indented that way is scanned token by token, as any
KeyValues reader would. Only quoted tokens and braces are read (PICS app info has no
unquoted tokens, comments or conditionals); ``\\"``, ``\\\\``, ``\\n``, ``\\t`` are unescaped.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([{}])')
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"'}
_ESCAPE = re.compile(r"\\(.)")


def section(buffer: bytes, name: str = "depots", root: str = "appinfo") -> dict[str, Any]:
    """The top-level section ``name`` of a NUL-terminated KeyValues buffer under ``root``
    (``{}`` when absent). Raises :class:`ValueError` for text that is not KeyValues."""
    if not buffer:
        raise ValueError("empty buffer")
    text = (buffer[:-1] if buffer.endswith(b"\x00") else buffer).decode("utf-8", "replace")
    if not text.lstrip().startswith(f'"{root}"'):
        raise ValueError(f"no {root} section")
    marker = f'\n\t"{name}"'
    at = text.find(marker)
    while at != -1:
        brace = _skip_space(text, at + len(marker))
        if brace < len(text) and text[brace] == "{":
            return parse_block(text, brace)[0]
        at = text.find(marker, at + 1)
    return _scan(text, name)


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _scan(text: str, name: str) -> dict[str, Any]:
    """Token by token: the block of ``name`` at depth 1, checking the braces balance."""
    depth, key_matches = 0, False
    for token in _TOKEN.finditer(text):
        brace = token.group(2)
        if brace == "{":
            if depth == 1 and key_matches:
                return parse_block(text, token.start())[0]
            depth += 1
            key_matches = False
        elif brace == "}":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced braces")
            key_matches = False
        else:
            key_matches = depth == 1 and not key_matches and token.group(1) == name
    if depth != 0:
        raise ValueError("unbalanced braces")
    return {}


def parse_block(text: str, start: int) -> tuple[dict[str, Any], int]:
    """The block opening at ``text[start]`` (a ``{``) as nested dicts, and where it ends."""
    top: dict[str, Any] = {}
    stack = [top]
    key: str | None = None
    for token in _TOKEN.finditer(text, start + 1):
        brace = token.group(2)
        if brace == "{":
            if key is None:
                raise ValueError("a block without a key")
            child: dict[str, Any] = {}
            stack[-1][key] = child
            stack.append(child)
            key = None
        elif brace == "}":
            if key is not None:
                raise ValueError(f"key {key!r} without a value")
            stack.pop()
            if not stack:
                return top, token.end()
        else:
            value = token.group(1)
            if "\\" in value:
                value = _ESCAPE.sub(lambda e: _ESCAPES.get(e.group(1), e.group(0)), value)
            if key is None:
                key = value
            else:
                stack[-1][key] = value
                key = None
    raise ValueError("unbalanced braces")


def dumps(tree: dict[str, Any], depth: int = 0) -> str:
    """``tree`` as text KeyValues, one tab per level (the layout PICS sends)."""
    pad = "\t" * depth
    lines = []
    for key, value in tree.items():
        if isinstance(value, dict):
            lines.append(f'{pad}"{_escape(key)}"\n{pad}{{\n{dumps(value, depth + 1)}{pad}}}\n')
        else:
            lines.append(f'{pad}"{_escape(key)}"\t\t"{_escape(str(value))}"\n')
    return "".join(lines)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
