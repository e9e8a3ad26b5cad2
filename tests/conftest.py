"""Shared fixtures: a real SQLite store on disk, filled from the small CSV park in tests/data/good."""
from __future__ import annotations

from pathlib import Path

import pytest

from symbiosis.ingest import import_files
from symbiosis.store import open_store

DATA = Path(__file__).parent / "data"
GOOD = DATA / "good"
BAD = DATA / "bad"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(db_path: Path):
    """An empty store (with the shipped catalogue) in a real file."""
    return open_store(db_path)


@pytest.fixture
def filled(store):
    """The store with the small test park imported."""
    import_files(store, sorted(GOOD.glob("*.csv")))
    return store


def dump(db) -> dict[str, list[tuple]]:
    """Every row of every table, for 'nothing changed' comparisons."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in tables}
