"""GOG Galaxy databases and install folders for tests, shaped as the public sources show.

``galaxy-2.0.db`` tables (AB1908/GOG-Galaxy-Export-Script; other readers of the file):
``InstalledBaseProducts(productId, installationPath, installationDate)``,
``ProductPurchaseDates(gameReleaseKey 'gog_<id>', purchaseDate)``,
``LimitedDetails(productId, title, ...)``. ``goggame-<id>.info`` (heroic-gogdl, Heroic
``storeManagers/gog``): JSON with ``gameId``, ``rootGameId``, ``buildId``, ``name``,
``playTasks``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def galaxy_db(path: Path, installed: dict[str, Path], owned: dict[str, str]) -> Path:
    """A ``galaxy-2.0.db`` with ``installed`` {product id: folder} and ``owned`` {id: title}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE InstalledBaseProducts (productId INTEGER PRIMARY KEY,
            installationPath TEXT, installationDate TEXT);
        CREATE TABLE ProductPurchaseDates (gameReleaseKey TEXT PRIMARY KEY, purchaseDate TEXT);
        CREATE TABLE LimitedDetails (id INTEGER PRIMARY KEY, productId INTEGER, title TEXT,
            images TEXT, links TEXT);
    """)
    conn.executemany("INSERT INTO InstalledBaseProducts VALUES (?, ?, '2024-01-01')",
                     [(int(pid), str(folder)) for pid, folder in installed.items()])
    conn.executemany("INSERT INTO ProductPurchaseDates VALUES (?, '2023-01-01')",
                     [(f"gog_{pid}",) for pid in owned])
    conn.executemany("INSERT INTO LimitedDetails (productId, title) VALUES (?, ?)",
                     [(int(pid), title) for pid, title in owned.items()])
    conn.commit()
    conn.close()
    return path


def game_folder(folder: Path, product_id: str, name: str, build_id: str | None,
                *, root_id: str | None = None) -> Path:
    """A GOG game's install folder with its ``goggame-<id>.info``."""
    folder.mkdir(parents=True, exist_ok=True)
    info = {"gameId": product_id, "rootGameId": root_id or product_id, "name": name,
            "language": "English", "languages": ["en-US"], "playTasks": [
                {"category": "game", "isPrimary": True, "name": name, "path": "game.exe",
                 "type": "FileTask"}]}
    if build_id is not None:
        info["buildId"] = build_id
    path = folder / f"goggame-{product_id}.info"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path
