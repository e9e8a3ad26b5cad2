"""Shared fixtures: a real SQLite store on disk, filled from the small CSV park in tests/data/good."""
from __future__ import annotations

import os

# One BLAS thread, as the symbiosis command runs (cli.py): the tests' many small factorisations lose
# badly to thread contention otherwise. Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from symbiosis.factors import load_factors  # noqa: E402
from symbiosis.ingest import import_files  # noqa: E402
from symbiosis.store import open_store  # noqa: E402

DATA = Path(__file__).parent / "data"
#: what the reliability tests tried, printed at the end of the run
RELIABILITY: dict[str, dict[str, int]] = {}
GOOD = DATA / "good"
BAD = DATA / "bad"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, one per test module (see tests/browser.py)."""
    from .browser import CHROMIUM, CHROMIUM_ARGS, browser_or_skip

    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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


def record(area: str, outcome: str, count: int = 1) -> None:
    """Count one hostile case for the summary line: ``area`` is the corpus (``inputs``, ``store``,
    ``outputs``, ...), ``outcome`` one of tried, rejected, imported (or accepted), partial, traceback,
    hang, corrupt, lost."""
    counts = RELIABILITY.setdefault(area, {})
    counts[outcome] = counts.get(outcome, 0) + count


def pytest_terminal_summary(terminalreporter):
    """One line with what the reliability tests tried (the CI log shows it)."""
    if not RELIABILITY:
        return
    kills = RELIABILITY.get("kills", {})
    concurrency = RELIABILITY.get("concurrency", {})
    cases = [counts for area, counts in RELIABILITY.items() if area not in ("kills", "concurrency")]
    total = {key: sum(counts.get(key, 0) for counts in cases)
             for key in ("tried", "rejected", "imported", "accepted", "partial", "traceback", "hang")}
    terminalreporter.write_line(
        f"reliability: {total['tried']} inputs tried, {total['rejected']} rejected cleanly, "
        f"{total['imported'] + total['accepted']} accepted cleanly, {total['partial']} partial writes, "
        f"{total['traceback']} tracebacks, {total['hang']} hangs; {kills.get('kills', 0)} kills, "
        f"{kills.get('corrupt', 0)} corrupt stores; {concurrency.get('rows', 0)} concurrent rows, "
        f"{concurrency.get('lost', 0)} lost")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """The demo store (`symbiosis demo`), built once per test module that asks for it."""
    from click.testing import CliRunner

    from cli import cli

    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--quiet", "--format", "json"])
    assert result.exit_code == 0, result.output
    return out / "demo.db"
