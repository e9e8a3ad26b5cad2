"""Shared fixtures: a real SQLite store on disk, filled from the small CSV park in tests/data/good."""
from __future__ import annotations

from pathlib import Path

import pytest

from symbiosis.factors import load_factors
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


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """The park computed by hand in tests/data/carbon, and its factors (road freight 0.0001 t/tkm)."""
    folder = DATA / "carbon"
    db = open_store(tmp_path_factory.mktemp("hand") / "hand.db")
    import_files(db, sorted(path for path in folder.glob("*.csv") if path.name != "factors.csv"))
    return db, load_factors(folder / "factors.csv")


def dump(db) -> dict[str, list[tuple]]:
    """Every row of every table, for 'nothing changed' comparisons."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in tables}
