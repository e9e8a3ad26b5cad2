"""Provenance: which file and import every row came from; list imports and undo one.

Every row of every data table records the import that last wrote it (``import_id``), and an import
that replaced stored rows keeps their previous versions (``replaced_rows``). Undoing an import deletes
the rows it inserted and puts back, in place, the versions it replaced, in one transaction; the import
stays in the history, marked undone. The import that seeded the shipped resource catalogue cannot be
undone (every other import resolves resource names against it).
"""
from __future__ import annotations

import json

import pandas as pd
import sqlite_utils

from .errors import InputError, UnknownIdError
from .schema import TABLES
from .store import DATA_TABLES, catalogue_import_ids, transaction

__all__ = ["history", "undo_import"]

#: dependent rows named in a refusal, at most
_LISTED_DEPENDENTS = 5


def history(db: sqlite_utils.Database) -> pd.DataFrame:
    """Every import that changed something: ``import_id, imported_at, file, table, rows, inserted, updated,
    rows_now`` (rows that still carry this import's id) and ``undone_at`` (when it was undone, else None)."""
    imports = pd.DataFrame(db.execute(
        "SELECT id, imported_at, file, table_name, rows, inserted, updated, undone_at FROM imports ORDER BY id"
    ).fetchall(), columns=["import_id", "imported_at", "file", "table", "rows", "inserted", "updated", "undone_at"])
    current: dict[int | None, int] = {}  # import id (None: rows written outside an import) -> rows
    for table in DATA_TABLES:
        for import_id, count in db.execute(f"SELECT import_id, count(*) FROM {table} GROUP BY import_id"):
            current[import_id] = current.get(import_id, 0) + count
    imports["rows_now"] = imports["import_id"].map(current).fillna(0).astype(int)
    undone = imports.pop("undone_at")
    imports["undone_at"] = undone.astype(object).where(undone.notna(), None)
    return imports


def _dependents(db: sqlite_utils.Database, import_id: int, inserted: dict[str, str]) -> list[str]:
    """Rows of other imports that refer to rows this import inserted (and would be left dangling)."""
    found = []
    for child in DATA_TABLES:
        child_key = TABLES[child].key
        for _, _, parent, column, parent_column, *_ in db.execute(f"PRAGMA foreign_key_list({child})"):
            if parent not in inserted:
                continue
            rows = db.execute(
                f"SELECT c.{child_key}, c.import_id, c.{column} FROM {child} c JOIN {parent} p "
                f"ON p.{parent_column} = c.{column} WHERE {inserted[parent]} AND "
                f"c.import_id IS NOT ? LIMIT ?", (import_id, _LISTED_DEPENDENTS)).fetchall()
            found += [f"{child} {key!r} (import {source}) refers to {parent[:-1]} {value!r}"
                      for key, source, value in rows]
    return found[:_LISTED_DEPENDENTS]


def undo_import(db: sqlite_utils.Database, import_id: int) -> dict[str, dict[str, int]]:
    """Remove one import's rows and restore the rows it replaced, in one transaction.

    Rows the import inserted are deleted; rows it updated get their previous values back in place
    (so rows of other imports that refer to them stay valid). The import stays in :func:`history`
    with ``undone_at`` set.

    Returns
    -------
    dict
        ``{"removed": {table: rows}, "restored": {table: rows}}``.

    Raises
    ------
    UnknownIdError
        No such import.
    InputError
        The import was undone already; it seeded the shipped resource catalogue; rows of other imports
        still refer to rows this import added (the message names them); or a later import has since
        replaced rows of this one: undo those first. Nothing is changed.
    """
    # The checks run under the write lock, with the changes: a concurrent import cannot slip in between.
    with transaction(db):
        return _undo(db, import_id)


def _undo(db: sqlite_utils.Database, import_id: int) -> dict[str, dict[str, int]]:
    if not -2**63 <= import_id < 2**63:  # SQLite integers are 64-bit: no import has such an id
        raise UnknownIdError(f"no import {import_id}; see 'symbiosis history'")
    found = db.execute("SELECT file, table_name, undone_at FROM imports WHERE id = ?", (import_id,)).fetchone()
    if not found:
        raise UnknownIdError(f"no import {import_id}; see 'symbiosis history'")
    file, _, undone_at = found
    if undone_at:
        raise InputError(f"import {import_id} ({file}) was undone already, at {undone_at}")
    if import_id in catalogue_import_ids(db):
        # every other import resolves resource names against the catalogue; without it the store is broken
        raise InputError(f"import {import_id} ({file}) is the shipped resource catalogue, seeded with the store; "
                         "it cannot be undone. To change catalogue entries, import your own resources file")
    later = db.execute("SELECT count(*) FROM replaced_rows WHERE import_id > ? "
                       "AND json_extract(row_json, '$.import_id') = ?", (import_id, import_id)).fetchone()[0]
    if later:
        raise InputError(f"import {import_id} ({file}) cannot be undone: {later} of its rows were replaced by later "
                         "imports; undo those first (see 'symbiosis history')")
    versions: dict[str, list[dict]] = {}
    for table, row_json in db.execute("SELECT table_name, row_json FROM replaced_rows WHERE import_id = ?",
                                      (import_id,)):
        versions.setdefault(table, []).append(json.loads(row_json))
    # rows the import inserted: its rows that have no earlier version
    inserted = {table: f"p.import_id = {int(import_id)} AND p.{TABLES[table].key} NOT IN (SELECT row_key FROM "
                       f"replaced_rows WHERE import_id = {int(import_id)} AND table_name = '{table}')"
                for table in DATA_TABLES}
    dependents = _dependents(db, import_id, inserted)
    if dependents:
        raise InputError(f"import {import_id} ({file}) cannot be undone: rows of other imports refer to rows it "
                         "added; undo or change those first (see 'symbiosis history'):\n  " + "\n  ".join(dependents))
    removed: dict[str, int] = {}
    restored: dict[str, int] = {}
    for table in reversed(DATA_TABLES):  # children first, so that no foreign key points at a row that is gone
        count = db.conn.execute(f"DELETE FROM {table} AS p WHERE {inserted[table]}").rowcount
        if count:
            removed[table] = count
    for table in DATA_TABLES:  # parents first when putting values back
        key = TABLES[table].key
        for row in versions.get(table, []):
            row.pop("rowid", None)
            names = [name for name in row if name != key]
            db.conn.execute(f"UPDATE {table} SET {', '.join(f'{name} = ?' for name in names)} WHERE {key} = ?",
                            [row[name] for name in names] + [row[key]])
            restored[table] = restored.get(table, 0) + 1
    db.conn.execute("DELETE FROM replaced_rows WHERE import_id = ?", (import_id,))
    db.conn.execute("UPDATE imports SET undone_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
                    (import_id,))
    return {"removed": removed, "restored": restored}
