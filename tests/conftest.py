"""Shared fixtures: a real SQLite store on disk, filled from the small CSV park in tests/data/good."""
from __future__ import annotations

from pathlib import Path

import pytest

from symbiosis.factors import load_factors
from symbiosis.ingest import import_files
from symbiosis.store import open_store

DATA = Path(__file__).parent / "data"
#: what the reliability tests tried, printed at the end of the run
RELIABILITY: dict[str, dict[str, int]] = {}
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


def pytest_terminal_summary(terminalreporter):
    """One line with what the reliability tests tried (the CI log shows it)."""
    if not RELIABILITY:
        return
    inputs = RELIABILITY.get("inputs", {})
    fuzz = RELIABILITY.get("fuzz", {})
    kills = RELIABILITY.get("kills", {})
    concurrency = RELIABILITY.get("concurrency", {})
    tried = inputs.get("tried", 0) + fuzz.get("tried", 0)
    rejected = inputs.get("rejected", 0) + fuzz.get("rejected", 0)
    imported = inputs.get("imported", 0) + fuzz.get("imported", 0)
    partial = inputs.get("partial", 0) + fuzz.get("partial", 0)
    terminalreporter.write_line(
        f"reliability: {tried} inputs tried, {rejected} rejected cleanly, {imported} imported cleanly, "
        f"{partial} partial writes; {kills.get('kills', 0)} kills, {kills.get('corrupt', 0)} corrupt stores; "
        f"{concurrency.get('rows', 0)} concurrent rows, {concurrency.get('lost', 0)} lost")
