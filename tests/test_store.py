import sqlite3

import pytest
import sqlite_utils

from symbiosis.errors import SchemaVersionError, StoreError
from symbiosis.ingest import import_files
from symbiosis.store import (DATA_TABLES, SCHEMA_VERSION, default_db_path, migrate, open_store,
                             schema_version, table_counts)

from .conftest import GOOD


def test_new_store_has_every_table_wal_foreign_keys_and_version(store, db_path):
    assert db_path.exists()
    assert set(DATA_TABLES) | {"imports"} <= set(store.table_names())
    assert store.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert schema_version(store) == SCHEMA_VERSION
    assert table_counts(store)["resources"] > 50  # the shipped catalogue


def test_primary_and_foreign_keys_are_enforced(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.execute("INSERT INTO enterprises (id, name, park_id) VALUES ('e1', 'E', 'no-such-park')")
    store.execute("INSERT INTO parks (id, name) VALUES ('p', 'P')")
    with pytest.raises(sqlite3.IntegrityError):
        store.execute("INSERT INTO parks (id, name) VALUES ('p', 'again')")
    with pytest.raises(sqlite3.IntegrityError):
        store.execute("INSERT INTO flows (id, source_id, target_id, resource_code, kind, unit) "
                      "VALUES ('f', 'ghost', NULL, 'steam', 'energy', 'MWh/yr')")


def test_older_store_is_migrated_forward_with_its_data(tmp_path):
    path = tmp_path / "v1.db"
    old = sqlite_utils.Database(sqlite3.connect(str(path), isolation_level=None))
    migrate(old, target=1)  # what the first release wrote
    old.execute("INSERT INTO parks (id, name) VALUES ('p1', 'Old Park')")
    old.conn.close()
    assert sqlite3.connect(str(path)).execute("PRAGMA user_version").fetchone()[0] == 1

    db = open_store(path)
    assert schema_version(db) == SCHEMA_VERSION
    assert db.execute("SELECT name, import_id FROM parks").fetchall() == [("Old Park", None)]
    assert "imports" in db.table_names()
    indexes = {index.name for index in db["flows"].indexes}
    assert {"idx_flows_source_resource", "idx_flows_target_resource"} <= indexes  # v3
    assert "idx_flows_source" not in indexes  # v5: covered by the (source, resource) index
    plan = " ".join(str(row) for row in db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM flows WHERE source_id = 'a'").fetchall())
    assert "idx_flows_source_resource" in plan  # lookups by source still use an index


def test_newer_store_is_refused(tmp_path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(str(path))
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaVersionError, match="newer than this release"):
        open_store(path)


def test_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("just text, not SQLite " * 100)
    with pytest.raises(StoreError, match="not a usable SQLite store"):
        open_store(path)


def test_missing_store_without_create(tmp_path):
    with pytest.raises(StoreError, match="symbiosis init"):
        open_store(tmp_path / "absent.db", create=False)


def test_default_path_from_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SYMBIOSIS_DB", raising=False)
    assert str(default_db_path()) == "symbiosis.db"
    monkeypatch.setenv("SYMBIOSIS_DB", str(tmp_path / "env.db"))
    assert default_db_path() == tmp_path / "env.db"


def test_reopening_keeps_data(db_path):
    db = open_store(db_path)
    import_files(db, [GOOD / "parks.csv"])
    db.conn.close()
    assert table_counts(open_store(db_path))["parks"] == 2


def test_a_store_with_scenarios_but_no_runs_gets_the_run_tables(tmp_path):
    """Schema 8 (scenarios) was written before per-park runs had tables: such a store opens, keeps its
    scenarios and gains runs and park_results (schema 9), and a by-park run records in it."""
    path = tmp_path / "v8.db"
    old = sqlite_utils.Database(sqlite3.connect(str(path), isolation_level=None))
    migrate(old, target=8)
    old.execute("INSERT INTO parks (id, name) VALUES ('p1', 'Park')")
    old.execute("INSERT INTO scenarios (park_id, name, base) VALUES ('p1', 'keep me', 'as-is')")
    old.conn.close()
    db = open_store(path)
    assert schema_version(db) == SCHEMA_VERSION == 9
    assert {"runs", "park_results"} <= set(db.table_names())
    assert db.execute("SELECT name FROM scenarios").fetchall() == [("keep me",)]
    from symbiosis.fanout import run_by_park

    run = run_by_park(path, "metrics", jobs=1)
    assert db.execute("SELECT count(*) FROM park_results WHERE run_id = ?", [run.run_id]).fetchone() == (1,)
