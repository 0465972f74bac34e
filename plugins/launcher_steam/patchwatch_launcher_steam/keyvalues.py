"""Valve's text KeyValues format (``.vdf``, ``.acf``), read into nested dicts.

A document is a sequence of ``key value`` and ``key { ... }`` pairs; keys and values are
quoted strings (escapes ``\\\\``, ``\\"``, ``\\n``, ``\\t``) or bare words; ``//`` starts a
comment and ``[$WIN32]``-style conditions may follow a value. Keys are case-insensitive in
Steam's own files (``TargetBuildID``, ``libraryfolders``/``LibraryFolders``), so they are
lowercased here. Facts from Valve's format notes (developer.valvesoftware.com "KeyValues")
and the files the Steam client writes; written from scratch.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 64

_TOKEN = re.compile(  # leading whitespace is eaten by each token: half the matches
    r'\s*(?:(//[^\n]*)|"((?:[^"\\]|\\.)*)"|(\{)|(\})|(\[[^\]\n]*\])|([^\s{}"\[\]]+))', re.S)
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t"}


class KeyValuesError(ValueError):
    """The text is not a complete KeyValues document; the message says where."""


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def loads(text: str) -> dict[str, Any]:
    """Parse ``text``; raise :class:`KeyValuesError` for a truncated or malformed one."""
    root: dict[str, Any] = {}
    stack = [root]
    current = root
    key: str | None = None
    pos, end = 0, len(text)
    match = _TOKEN.match
    while pos < end:
        token = match(text, pos)
        if token is None:
            rest = text[pos:]
            if not rest.strip():
                break  # trailing whitespace
            pos += len(rest) - len(rest.lstrip())
            what = "an unterminated quoted string" if text[pos] == '"' else repr(text[pos])
            raise KeyValuesError(f"{what} at line {_line(text, pos)}")
        pos = token.end()
        index = token.lastindex
        if index == 2:
            word = token.group(2)
            if "\\" in word:
                word = _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), word)
        elif index == 6:
            word = token.group(6)
        elif index == 3:
            if key is None:
                raise KeyValuesError(f"a block without a key at line {_line(text, pos)}")
            child: dict[str, Any] = {}
            current[key] = child
            stack.append(child)
            current, key = child, None
            if len(stack) > MAX_DEPTH:
                raise KeyValuesError(f"blocks nested deeper than {MAX_DEPTH}")
            continue
        elif index == 4:
            if key is not None:
                raise KeyValuesError(f"key {key!r} has no value (line {_line(text, pos)})")
            if len(stack) == 1:
                raise KeyValuesError(f"an unmatched '}}' at line {_line(text, pos)}")
            stack.pop()
            current = stack[-1]
            continue
        else:  # a comment or a [$CONDITION]
            continue
        if key is None:
            key = word.lower()
        else:
            current[key] = word
            key = None
    if len(stack) > 1:
        raise KeyValuesError(f"ends inside {len(stack) - 1} open block(s) (truncated?)")
    if key is not None:
        raise KeyValuesError(f"ends after key {key!r} with no value (truncated?)")
    return root
