"""Provenance: which file and import every row came from; list imports and undo one.

Every row of every data table records the import that last wrote it (``import_id``), and an import
that replaced stored rows keeps their previous versions (``replaced_rows``). Undoing an import deletes
the rows it inserted and puts back the versions it replaced, in one transaction.
"""
from __future__ import annotations

import json
import sqlite3

import pandas as pd
import sqlite_utils

from .errors import InputError, UnknownIdError
from .store import DATA_TABLES, transaction

__all__ = ["history", "undo_import"]


def history(db: sqlite_utils.Database) -> pd.DataFrame:
    """Every import that changed something: ``import_id, imported_at, file, table, rows, inserted, updated,
    rows_now`` (rows that still carry this import's id)."""
    imports = pd.DataFrame(db.execute(
        "SELECT id, imported_at, file, table_name, rows, inserted, updated FROM imports ORDER BY id").fetchall(),
        columns=["import_id", "imported_at", "file", "table", "rows", "inserted", "updated"])
    current = {}
    for table in DATA_TABLES:
        for import_id, count in db.execute(f"SELECT import_id, count(*) FROM {table} GROUP BY import_id"):
            current[import_id] = current.get(import_id, 0) + count
    imports["rows_now"] = imports["import_id"].map(current).fillna(0).astype(int)
    return imports


def undo_import(db: sqlite_utils.Database, import_id: int) -> dict[str, dict[str, int]]:
    """Remove one import's rows and restore the rows it replaced, in one transaction.

    Returns
    -------
    dict
        ``{"removed": {table: rows}, "restored": {table: rows}}``.

    Raises
    ------
    UnknownIdError
        No such import.
    InputError
        Rows of other imports still refer to rows this import added, or a later import has since
        replaced rows of this one: undo those first. Nothing is changed.
    """
    found = db.execute("SELECT file, table_name FROM imports WHERE id = ?", (import_id,)).fetchone()
    if not found:
        raise UnknownIdError(f"no import {import_id}; see 'symbiosis history'")
    later = db.execute("SELECT count(*) FROM replaced_rows WHERE import_id > ? "
                       "AND json_extract(row_json, '$.import_id') = ?", (import_id, import_id)).fetchone()[0]
    if later:
        raise InputError(f"import {import_id} ({found[0]}) cannot be undone: {later} of its rows were replaced by later "
                         "imports; undo those first (see 'symbiosis history')")
    removed: dict[str, int] = {}
    restored: dict[str, int] = {}
    try:
        with transaction(db):
            versions = db.execute("SELECT table_name, row_json FROM replaced_rows WHERE import_id = ?",
                                  (import_id,)).fetchall()
            # children first, so that no foreign key points at a row that is gone
            for table in reversed(DATA_TABLES):
                count = db.conn.execute(f"DELETE FROM {table} WHERE import_id = ?", (import_id,)).rowcount
                if count:
                    removed[table] = count
            for table in DATA_TABLES:  # parents first when putting rows back
                for _table, row_json in (version for version in versions if version[0] == table):
                    row = json.loads(row_json)
                    names = list(row)
                    db.conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) "
                                    f"VALUES ({', '.join('?' for _ in names)})", [row[name] for name in names])
                    restored[table] = restored.get(table, 0) + 1
            db.conn.execute("DELETE FROM replaced_rows WHERE import_id = ?", (import_id,))
            db.conn.execute("DELETE FROM imports WHERE id = ?", (import_id,))
    except sqlite3.IntegrityError:
        raise InputError(f"import {import_id} ({found[0]}) cannot be undone: rows of other imports still refer to "
                         "rows it added (for example flows to its enterprises); undo those first "
                         "(see 'symbiosis history')") from None
    return {"removed": removed, "restored": restored}
