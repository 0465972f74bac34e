"""Reading another program's JSON files: bounded, cached by ``(mtime, size)``, never raising."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from patchwatch import LauncherWarning


def load_json(path: Path, cache: dict[str, Any], limit: int) -> Any:
    """The parsed file, or a :class:`LauncherWarning` saying why not. A file unchanged
    since the last call (same mtime and size) is not read again."""
    key = str(path)
    try:
        stat = os.stat(path)
    except PermissionError:
        return LauncherWarning(key, "permission denied")
    except OSError as exc:
        return LauncherWarning(key, f"cannot be read: {exc.strerror or exc}")
    stamp = [stat.st_mtime_ns, stat.st_size]
    cached = cache.get(key)
    if isinstance(cached, list) and len(cached) == 2 and cached[0] == stamp:
        return cached[1]
    if stat.st_size > limit:
        return LauncherWarning(key, f"larger than {limit // (1024 * 1024)} MiB: skipped")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except PermissionError:
        return LauncherWarning(key, "permission denied")
    except OSError as exc:
        return LauncherWarning(key, f"cannot be read: {exc.strerror or exc}")
    try:
        data = json.loads(raw.decode("utf-8-sig", "replace"))
    except (ValueError, RecursionError) as exc:
        return LauncherWarning(key, f"not valid JSON ({str(exc)[:80]}); being rewritten? "
                                    "read again next time")
    cache[key] = [stamp, data]  # plain JSON: the core may keep it between processes
    return data


def text(value: Any) -> str | None:
    """A non-empty string (numbers become text), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = str(int(value)) if float(value).is_integer() else str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None
