"""The games of the library: reading them for a sync, adding and importing them."""

from __future__ import annotations

import csv
import json
import sqlite3
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import sqlite_utils

from .db import SIGNALS, database_error, db_file, write
from .errors import LibraryError
from .models import Game, Signal

TITLE_COLUMNS = ("name", "title")


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _title_column(db: sqlite_utils.Database) -> str | None:
    columns = db["games"].columns_dict
    return next((c for c in TITLE_COLUMNS if c in columns), None)


ID_KEYS = ("product_id", "app_name", "appid")
"""``extra_data`` keys a host's importer keeps a game's store id under, tried in this order when
the ``store_id`` column is empty: Backlogia's Heroic GOG import stores ``app_name`` only
(web/sources/gog.py), its Galaxy import ``product_id``, Epic ``app_name``, Steam ``appid``."""
HIDDEN_COLUMNS = ("hidden", "removed")
"""Backlogia's flags for games the user hid (web/database.py) or removed (main's database.py)."""


def id_text(value: Any) -> str:
    """A store id as text, whatever the host column's type made of it (``570.0`` → ``570``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return "" if value is None else str(value).strip()


def _hidden_clause(db: sqlite_utils.Database) -> str:
    columns = db["games"].columns_dict
    return "".join(f" AND ({c} IS NULL OR {c} = 0)" for c in HIDDEN_COLUMNS if c in columns)


def _store_clause(stores: Iterable[str] | None) -> tuple[str, list[str]]:
    if not stores:
        return "", []
    stores = list(stores)
    return f" AND lower(trim(store)) IN ({', '.join('?' for _ in stores)})", stores


def load_games(db: sqlite_utils.Database, stores: Iterable[str] | None = None,
               *, include_hidden: bool = False) -> list[Game]:
    """Every game of the library (of ``stores`` when given) with its last signals.

    Games the host marks hidden or removed are left out unless ``include_hidden``. A row
    whose ``store_id`` is empty gets the id its ``extra_data`` holds (see :data:`ID_KEYS`);
    one with no id at all is still returned, with ``store_id`` ``""``, so it can be reported.
    Read as plain tuples, with each signal's ``detail`` parsed when first used: an
    unchanged 20,000-game library is read in a fraction of a second.
    """
    title = _title_column(db)
    where, params = _store_clause(stores)
    if not include_hidden:
        where += _hidden_clause(db)
    signals: dict[Any, dict[str, Signal]] = {}
    if db[SIGNALS].exists():
        for row in _fast_rows(db, f"SELECT game_id, kind, value, version, published_at, "
                                  f"is_build, detail FROM {SIGNALS}"):
            game_id, kind, value, version, published_at, is_build, detail = row
            signals.setdefault(game_id, {})[kind] = Signal(
                kind, value, version, published_at, bool(is_build), StoredDetail(detail))
    games = []
    cursor = _fast_rows(db, f"SELECT * FROM games WHERE store IS NOT NULL AND trim(store) != ''"
                            f"{where} ORDER BY store, id", params)
    columns = [d[0] for d in cursor.description]
    for values in cursor:
        row = dict(zip(columns, values))
        store_id = row["store_id"]
        store_id = store_id.strip() if type(store_id) is str else id_text(store_id)
        game_id = row["id"]
        games.append(Game(game_id, str(row["store"]).strip().lower(),
                          store_id or _id_from_extra(row.get("extra_data")),
                          row[title] if title else None, row, signals.get(game_id, {})))
    return games


def _fast_rows(db: sqlite_utils.Database, sql: str, params: list[Any] | tuple = ()) -> "_Rows":
    """The rows of ``sql`` decoded by SQLite itself (no Python call per text cell); only
    when some text is not UTF-8 are they read again with the connection's lenient decoder."""
    conn = db.conn
    lenient = conn.text_factory
    conn.text_factory = str
    try:
        cursor = conn.execute(sql, params)
        rows = cursor.fetchall()
        return _Rows(cursor.description, rows)
    except sqlite3.OperationalError as exc:
        if "decode" not in str(exc):
            raise
    finally:
        conn.text_factory = lenient
    cursor = conn.execute(sql, params)
    return _Rows(cursor.description, cursor.fetchall())


class _Rows(list):
    """Fetched rows with the cursor's ``description``."""

    def __init__(self, description: Any, rows: list[Any]) -> None:
        super().__init__(rows)
        self.description = description


class StoredDetail(Mapping[str, Any]):
    """A signal's ``detail`` as stored (JSON text), parsed on first use."""

    __slots__ = ("_text", "_data")

    def __init__(self, text: str | None) -> None:
        self._text, self._data = text, None

    def _parsed(self) -> dict[str, Any]:
        if self._data is None:
            try:
                data = json.loads(self._text) if self._text else {}
            except ValueError:  # a damaged row: its value and kind still compare
                data = {}
            self._data = data if isinstance(data, dict) else {}
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._parsed()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    def __repr__(self) -> str:
        return repr(self._parsed())


def _id_from_extra(extra: Any) -> str:
    if not isinstance(extra, str) or not extra:
        return ""
    try:
        data = json.loads(extra)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return next((id_text(data[k]) for k in ID_KEYS if id_text(data.get(k))), "")


def fill_titles(db: sqlite_utils.Database, names: list[tuple[Game, str]]) -> int:
    """Give each game added without a title (empty, or the ``store:store_id`` placeholder
    :func:`add_games` writes when the host requires one) the store's name for it; a title
    the user or host wrote is never changed. Returns how many rows got one."""
    title = _title_column(db)
    if title is None or not names:
        return 0
    done = 0
    with write(db):
        for game, name in names:
            done += db.execute(
                f"UPDATE games SET [{title}] = ? WHERE id = ? AND ([{title}] IS NULL "
                f"OR trim([{title}]) = '' OR [{title}] = ?)",
                [name.strip()[:300], game.id, f"{game.store}:{game.store_id}"]).rowcount
    return done


OWN_COLUMNS = frozenset({"id", "name", "store", "store_id", "extra_data", "added_at"})
"""The columns of the ``games`` table patchwatch creates: any other means a host owns it."""


def host_owned(db: sqlite_utils.Database) -> bool:
    """Whether the ``games`` table is a host's (Backlogia's has many more columns)."""
    return not set(db["games"].columns_dict) <= OWN_COLUMNS


def find_game(db: sqlite_utils.Database, store: str, store_id: str) -> dict[str, Any] | None:
    """The library row of ``store:store_id``, or None."""
    rows = list(db.query("SELECT * FROM games WHERE lower(trim(store)) = ? AND "
                         "CAST(store_id AS TEXT) = ? LIMIT 1", [store.strip().lower(), store_id]))
    return rows[0] if rows else None


def remove_game(db: sqlite_utils.Database, game_id: Any) -> None:
    """Delete a game and every row patchwatch keeps about it (signals, checks, updates)."""
    from .db import CHECKS, UPDATES

    with write(db):
        db.execute("DELETE FROM games WHERE id = ?", [game_id])
        for table in (SIGNALS, CHECKS, UPDATES):
            if db[table].exists():
                db.execute(f"DELETE FROM {table} WHERE game_id = ?", [game_id])


def edit_game(db: sqlite_utils.Database, game_id: Any, *, title: str | None = None,
              store_id: str | None = None, extra: Mapping[str, Any] | None = None) -> list[str]:
    """Change a game's title, store id or extra ids; returns the fields changed.

    A new store id or new extra ids make it another game for the stores: its last signals
    and check are dropped, so the next sync records a baseline (its update history stays).
    """
    from .db import CHECKS

    row = db.execute("SELECT * FROM games WHERE id = ?", [game_id])
    columns = [d[0] for d in row.description]
    current = dict(zip(columns, row.fetchone() or []))
    if not current:
        raise LibraryError(f"no game {game_id} in the library")
    values: dict[str, Any] = {}
    name = _title_column(db)
    if title is not None:
        _check_unicode(title, "title", 1)
        if name is None:
            raise LibraryError("this library's games table has no title column")
        values[name] = title
    if store_id is not None:
        store_id = id_text(store_id)
        _check_unicode(store_id, "store_id", 1)
        if not store_id:
            raise LibraryError("store_id must not be empty")
        other = find_game(db, str(current["store"]), store_id)
        if other is not None and other["id"] != game_id:
            raise LibraryError(f"{current['store']}:{store_id} is already in the library "
                               f"(game {other['id']})")
        values["store_id"] = store_id
    if extra is not None:
        if "extra_data" not in current:
            raise LibraryError("this library's games table has no extra_data column")
        values["extra_data"] = json.dumps(dict(extra)) if extra else None
    changed = [k for k, v in values.items() if current.get(k) != v]
    if not changed:
        return []
    try:
        with write(db):
            db.execute(f"UPDATE games SET {', '.join(f'[{k}] = ?' for k in changed)} "
                       "WHERE id = ?", [values[k] for k in changed] + [game_id])
            if {"store_id", "extra_data"} & set(changed):
                for table in (SIGNALS, CHECKS):
                    if db[table].exists():
                        db.execute(f"DELETE FROM {table} WHERE game_id = ?", [game_id])
    except sqlite3.Error as exc:
        raise database_error(db_file(db), exc) from None
    return ["title" if k == name else k for k in changed]


def hidden_count(db: sqlite_utils.Database, stores: Iterable[str] | None = None) -> int:
    """How many games (of ``stores``) the host marks hidden or removed."""
    visible = _hidden_clause(db)
    if not visible:
        return 0
    where, params = _store_clause(stores)
    return db.execute(f"SELECT count(*) FROM games WHERE store IS NOT NULL{where} "
                      f"AND NOT (1{visible})", params).fetchone()[0]


def add_game(
    db: sqlite_utils.Database | str | Path,
    store: str,
    store_id: str,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Add a game (or return the id of the one already there) and return its row id."""
    if not isinstance(db, sqlite_utils.Database):
        from .db import open_db
        db = open_db(db)
    return add_games(db, [{"store": store, "store_id": store_id, "title": title,
                           "extra": extra}])[0]


def add_games(db: sqlite_utils.Database, games: Iterable[Mapping[str, Any]]) -> list[int]:
    """Add many games in one transaction; each needs ``store`` and ``store_id``."""
    rows = [_validated(g, n) for n, g in enumerate(games, 1)]
    try:
        return _insert(db, rows)
    except sqlite3.Error as exc:
        raise database_error(db_file(db), exc) from None


def _insert(db: sqlite_utils.Database, rows: list[tuple[str, str, str | None, Any]]) -> list[int]:
    info = {r[1]: r for r in db.execute("PRAGMA table_info(games)").fetchall()}
    title = _title_column(db)
    title_required = bool(title and info[title][3] and info[title][4] is None)
    pk = [name for name, r in info.items() if r[5]]
    # A TEXT/UUID primary key is not filled in by SQLite: give the new row a UUID.
    uuid_pk = pk[0] if len(pk) == 1 and "INT" not in (info[pk[0]][2] or "").upper() else None
    added_at = now_iso() if "added_at" in info and info["added_at"][4] is None else None
    ids: list[Any] = []
    with write(db):
        for store, store_id, name, extra in rows:
            # CAST: a host column with no type keeps 570 as a number, and '570' != 570 there.
            found = db.execute(
                "SELECT id FROM games WHERE lower(store) = ? "
                "AND (store_id = ? OR CAST(store_id AS TEXT) = ?) LIMIT 1",
                [store, store_id, store_id]).fetchone()
            if found:
                ids.append(found[0])
                continue
            record: dict[str, Any] = {"store": store, "store_id": store_id}
            if title and (name is not None or title_required):
                record[title] = name if name is not None else f"{store}:{store_id}"
            if extra and "extra_data" in info:
                record["extra_data"] = json.dumps(extra)
            if added_at:  # a host column with a default (CURRENT_TIMESTAMP) fills itself
                record["added_at"] = added_at
            if uuid_pk:
                record[uuid_pk] = str(uuid.uuid4())
            columns = ", ".join(f"[{c}]" for c in record)
            cursor = db.execute(f"INSERT INTO games ({columns}) VALUES "
                                f"({', '.join('?' for _ in record)})", list(record.values()))
            ids.append(record[uuid_pk] if uuid_pk else cursor.lastrowid)
    return ids


def _validated(game: Mapping[str, Any], n: int) -> tuple[str, str, str | None, Any]:
    store = str(game.get("store") or "").strip().lower()
    store_id = id_text(game.get("store_id"))
    if not store or not store_id:
        raise LibraryError(f"game #{n}: both store and store_id are required, got {dict(game)!r}")
    title = game.get("title") or game.get("name")
    for field, value in (("store", store), ("store_id", store_id), ("title", title)):
        _check_unicode(value, field, n)
    extra = game.get("extra") or game.get("extra_data")
    if isinstance(extra, str) and extra:
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError:
            raise LibraryError(f"game #{n}: extra_data is not JSON: {extra[:60]!r}") from None
    return store, store_id, (str(title) if title else None), extra or None


def _check_unicode(value: Any, field: str, n: int) -> None:
    """Refuse text SQLite cannot store: a lone surrogate (from a JSON ``\\ud800`` escape, or
    a command-line byte that is not UTF-8, which Python keeps as ``\\udcXX``)."""
    if not isinstance(value, str):
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = ord(value[exc.start])
        what = (f"byte 0x{char - 0xDC00:02x} that is not UTF-8" if 0xDC80 <= char <= 0xDCFF
                else f"a lone surrogate \\u{char:04x}")
        raise LibraryError(f"game #{n}: {field} is not valid text ({what} at position "
                           f"{exc.start}): {value.encode('utf-8', 'replace').decode()!r}") from None


def read_games_file(path: str | Path) -> list[dict[str, Any]]:
    """Games from a CSV (header: store, store_id, title[, extra_data]) or JSON list file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LibraryError(f"{path} is not valid JSON: {exc}") from None
        if isinstance(data, dict):
            data = data.get("games", data)
        if not isinstance(data, list) or not all(isinstance(g, dict) for g in data):
            raise LibraryError(f"{path}: expected a JSON list of objects with store and store_id")
        return data
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"store", "store_id"} <= set(reader.fieldnames):
        raise LibraryError(f"{path}: CSV needs a header with at least store and store_id")
    return [dict(row) for row in reader]
