"""The games of the library: reading them for a sync, adding and importing them."""

from __future__ import annotations

import csv
import json
import sqlite3
import uuid
from datetime import datetime, timezone
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

import sqlite_utils

from .db import SIGNALS, check_games_table, database_error, db_file, write
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
    check_games_table(db)
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
    """Add many games in one transaction; each needs ``store`` and ``store_id``.

    Returns each game's row id (the existing row's for a game already there). One bad game
    adds nothing and raises :class:`LibraryError` naming it.
    """
    try:
        with write(db), _Adder(db) as adder:
            return [adder.add(_validated(g, n))[0] for n, g in enumerate(games, 1)]
    except sqlite3.Error as exc:
        raise database_error(db_file(db), exc) from None


@dataclass
class ImportCounts:
    """What an import did: games added, already in the library, and rows refused."""

    added: int = 0
    existing: int = 0
    refused: list[str] = field(default_factory=list)
    """One line per refused row (``game #N: why``)."""


def import_games(db: sqlite_utils.Database, games: Iterable[Mapping[str, Any]],
                 progress: Callable[[int], None] | None = None) -> ImportCounts:
    """Add the new games of ``games`` in one transaction, streaming.

    A game already in the library (same store and id, whatever the host column's type or
    case) is counted, not added again; a bad row is refused with one line naming it and the
    rest go on. Memory stays bounded: the lookup of existing games is an indexed temporary
    table, so the cost is linear in the rows and the library. ``progress(rows_read)`` is
    called every 10,000 rows.
    """
    counts = ImportCounts()
    try:
        with write(db), _Adder(db) as adder:
            for n, game in enumerate(games, 1):
                if progress and n % 10_000 == 0:
                    progress(n)
                try:
                    row = _validated(game, n)
                except LibraryError as exc:
                    counts.refused.append(str(exc))
                    continue
                if adder.add(row)[1]:
                    counts.added += 1
                else:
                    counts.existing += 1
    except sqlite3.Error as exc:
        raise database_error(db_file(db), exc) from None
    return counts


SMALL_ADD = 16
"""Up to this many games are looked up one query each; past it an indexed copy of the keys."""

_KEY_TABLE = "temp.patchwatch_game_keys"


class _Adder:
    """Adds games to the host's ``games`` table, finding those already there.

    A row already there is one with the same store (any case or spacing) and the same id,
    read the way :func:`load_games` reads it: a number in a typeless column or a ``REAL``
    (``570.0``) matches ``"570"``, and a row whose ``store_id`` is empty matches by the id its
    ``extra_data`` holds (:data:`ID_KEYS`). No index on the host's table can serve that
    comparison, so after :data:`SMALL_ADD` games the keys are copied once into an indexed
    temporary table (never an index on the host's table: patchwatch does not change its
    schema), which keeps a large import linear.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        info = {r[1]: r for r in db.execute("PRAGMA table_info(games)").fetchall()}
        self.info = info
        self.title = _title_column(db)
        self.title_required = bool(self.title and info[self.title][3]
                                   and info[self.title][4] is None)
        pk = [name for name, r in info.items() if r[5]]
        # A TEXT/UUID primary key is not filled in by SQLite: give the new row a UUID.
        self.uuid_pk = (pk[0] if len(pk) == 1 and "INT" not in (info[pk[0]][2] or "").upper()
                        else None)
        self.added_at = (now_iso() if "added_at" in info and info["added_at"][4] is None
                         else None)
        self.key_sql = _key_sql("extra_data" in info)
        self.seen = 0
        self.indexed = False

    def __enter__(self) -> "_Adder":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.indexed:
            self.db.execute(f"DROP TABLE IF EXISTS {_KEY_TABLE}")

    def _find(self, store: str, store_id: str) -> Any:
        self.seen += 1
        if not self.indexed and self.seen > SMALL_ADD:
            self.db.execute(f"DROP TABLE IF EXISTS {_KEY_TABLE}")
            self.db.execute(f"CREATE TABLE {_KEY_TABLE} (store TEXT, key TEXT, id)")
            self.db.execute(f"INSERT INTO {_KEY_TABLE} SELECT lower(trim(store)), "
                            f"{self.key_sql}, id FROM games WHERE store IS NOT NULL")
            self.db.execute(f"CREATE INDEX {_KEY_TABLE}_idx ON patchwatch_game_keys "
                            f"(store, key)")
            self.indexed = True
        if self.indexed:
            found = self.db.execute(f"SELECT id FROM {_KEY_TABLE} WHERE store = ? AND key = ? "
                                    f"LIMIT 1", [store, store_id]).fetchone()
        else:
            found = self.db.execute(f"SELECT id FROM games WHERE lower(trim(store)) = ? AND "
                                    f"{self.key_sql} = ? LIMIT 1", [store, store_id]).fetchone()
        return found[0] if found else None

    def add(self, row: tuple[str, str, str | None, Any]) -> tuple[Any, bool]:
        """The game's row id, and whether it was added (False: it was already there)."""
        store, store_id, name, extra = row
        found = self._find(store, store_id)
        if found is not None:
            return found, False
        record: dict[str, Any] = {"store": store, "store_id": store_id}
        if self.title and (name is not None or self.title_required):
            record[self.title] = name if name is not None else f"{store}:{store_id}"
        if extra and "extra_data" in self.info:
            record["extra_data"] = json.dumps(extra)
        if self.added_at:  # a host column with a default (CURRENT_TIMESTAMP) fills itself
            record["added_at"] = self.added_at
        if self.uuid_pk:
            record[self.uuid_pk] = str(uuid.uuid4())
        columns = ", ".join(f"[{c}]" for c in record)
        cursor = self.db.execute(f"INSERT INTO games ({columns}) VALUES "
                                 f"({', '.join('?' for _ in record)})", list(record.values()))
        game_id = record[self.uuid_pk] if self.uuid_pk else cursor.lastrowid
        if self.indexed:  # a game twice in one import is added once
            self.db.execute(f"INSERT INTO {_KEY_TABLE} VALUES (?, ?, ?)",
                            [store, store_id, game_id])
        return game_id, True


def _key_sql(has_extra: bool) -> str:
    """SQL for a host row's store id as :func:`id_text` reads it (``570.0`` → ``'570'``),
    or, when empty, the first id its ``extra_data`` holds."""
    column = ("CASE WHEN typeof(store_id) = 'real' AND store_id = CAST(store_id AS INTEGER) "
              "THEN CAST(CAST(store_id AS INTEGER) AS TEXT) "
              "ELSE NULLIF(trim(CAST(store_id AS TEXT)), '') END")
    if not has_extra:
        return f"({column})"
    extra = ", ".join(f"NULLIF(trim(CAST(json_extract(extra_data, '$.{k}') AS TEXT)), '')"
                      for k in ID_KEYS)
    return (f"COALESCE({column}, CASE WHEN json_valid(extra_data) AND "
            f"json_type(extra_data) = 'object' THEN COALESCE({extra}) END)")


def _validated(game: Mapping[str, Any], n: int) -> tuple[str, str, str | None, Any]:
    store = str(game.get("store") or "").strip().lower()
    store_id = id_text(game.get("store_id"))
    if not store or not store_id:
        raise LibraryError(f"game #{n}: both store and store_id are required, got {dict(game)!r}")
    title = game.get("title") or game.get("name")
    for name, value in (("store", store), ("store_id", store_id), ("title", title)):
        _check_unicode(value, name, n)
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


HEADER_ALIASES = {"name": "title", "storeid": "store_id", "extra": "extra_data"}
"""Other spellings of the CSV columns, compared without case, spaces or underscores."""


def read_games_file(path: str | Path) -> Iterator[dict[str, Any]]:
    """Games from a CSV (header: store, store_id, title[, extra_data]) or a JSON list file.

    A CSV is read row by row (a file of any size costs the memory of one row). Its header may
    use any case and spaces (``Store,Store ID,Name``) and its fields may be separated by
    commas, semicolons or tabs. Raises :class:`LibraryError` for a file that cannot be read.
    """
    path = Path(path)
    try:
        head = path.open(encoding="utf-8-sig").read(4096)
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() == ".json" or head.lstrip().startswith(("[", "{")):
        return iter(_read_json(path))
    return _read_csv(path, head)


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise LibraryError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get("games", data)
    if not isinstance(data, list) or not all(isinstance(g, dict) for g in data):
        raise LibraryError(f"{path}: expected a JSON list of objects with store and store_id")
    return data


def _header_name(name: str | None) -> str:
    key = "_".join((name or "").strip().lower().replace("-", " ").split())
    return HEADER_ALIASES.get(key.replace("_", ""), HEADER_ALIASES.get(key, key))


def _read_csv(path: Path, head: str) -> Iterator[dict[str, Any]]:
    first = head.splitlines()[0] if head else ""
    delimiter = max(",;\t", key=first.count) if first else ","
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = [_header_name(h) for h in next(reader, [])]
            if not {"store", "store_id"} <= set(header):
                raise LibraryError(f"{path}: CSV needs a header with at least store and "
                                   f"store_id (found: {first[:80]!r})")
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield dict(zip(header, row))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LibraryError(f"cannot read {path}: {exc}") from None


def game_index(db: sqlite_utils.Database) -> dict[tuple[str, str], Any]:
    """``(store, store id) → row id`` for every game, hidden ones and host rows whose id is
    only in ``extra_data`` (see :data:`ID_KEYS`) included, read as :func:`load_games` reads
    them. One query; the first row wins when a host has duplicates."""
    index: dict[tuple[str, str], Any] = {}
    extra = ", extra_data" if "extra_data" in db["games"].columns_dict else ", NULL"
    for game_id, store, store_id, extra_data in _fast_rows(
            db, f"SELECT id, store, store_id{extra} FROM games "
                "WHERE store IS NOT NULL ORDER BY id"):
        key = id_text(store_id) or _id_from_extra(extra_data)
        if key:
            index.setdefault((str(store).strip().lower(), key), game_id)
    return index
