"""Hostile store files and store faults (issue 14, the store's share).

Which files ``--db`` opens, a locked store, a full disk, a damaged page, ``init`` killed at any moment,
three processes creating one store at once, and undoing the catalogue. Every case is counted for the
reliability summary (area ``store``; kills under ``kills``).
"""
from __future__ import annotations

import csv
import hashlib
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from cli import cli
from symbiosis.datasets import DEMO_SETS, catalogue_path, dataset_files
from symbiosis.errors import SchemaVersionError, StoreError
from symbiosis.ingest import import_files
from symbiosis.store import (
    APPLICATION_ID,
    BUSY_TIMEOUT_ENV,
    SCHEMA_VERSION,
    migrate,
    open_store,
    resolve_busy_timeout,
    schema_version,
    transaction,
)

from .conftest import GOOD, record

AREA = "store"
CORPUS = Path(__file__).parent / "bad_inputs" / "store"
ROOT = Path(__file__).resolve().parent.parent

# corpus file -> a fragment every refusal of it must contain
EXPECTED = {
    "other_app.sqlite": "another application",
    "other_app_wal.db": "another application",
    "other_app_id.gpkg": "another application",
    "lookalike_v3.db": "another application",
    "future_version.db": "newer than this release",
    "not_sqlite.db": "not a SQLite file",
    "empty.csv": "empty .csv file",
    "garbage_after_header.db": "not a usable SQLite store",
}
# every command that opens --db, read-only and writing alike
COMMANDS = (["info"], ["history"], ["init"], ["loops"], ["undo", "1"], ["import", str(GOOD / "parks.csv")])


def _shipped_resources() -> int:
    """Rows of the shipped catalogue, counted from the file itself (not through the importer)."""
    with catalogue_path().open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(result, *fragments: str) -> str:
    """Assert a CLI run ended with one clear message and exit 1 (counted); return the message."""
    record(AREA, "tried")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        record(AREA, "traceback")
        raise AssertionError(f"traceback: {result.exception!r}\n{result.output}")
    assert result.exit_code == 1, result.output
    message = result.output.strip()
    assert message.startswith("Error: ") and "Traceback" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    record(AREA, "rejected")
    return message


def _accepted(result) -> None:
    record(AREA, "tried")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        record(AREA, "traceback")
    assert result.exit_code == 0, result.output
    record(AREA, "accepted")


def _store_with_park(path: Path):
    db = open_store(path)
    import_files(db, sorted(GOOD.glob("*.csv")))
    return db


def _resources(path: Path) -> int:
    check = sqlite3.connect(str(path))
    try:
        return check.execute("SELECT count(*) FROM resources").fetchone()[0]
    finally:
        check.close()


def _integrity(path: Path) -> str:
    check = sqlite3.connect(str(path))
    try:
        return check.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        check.close()


# --------------------------------------------------------------------------------- which files --db opens

def test_corpus_is_listed():
    assert sorted(path.name for path in CORPUS.iterdir()) == sorted(EXPECTED)
    listed = (CORPUS.parent / "README_store.md").read_text(encoding="utf-8")
    assert all(f"store/{name}" in listed for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_foreign_files_are_refused_by_every_command_and_left_untouched(tmp_path, name):
    runner = CliRunner()
    for command in COMMANDS:
        target = tmp_path / name
        shutil.copyfile(CORPUS / name, target)
        before = _digest(target)
        _refused(runner.invoke(cli, [*command, "--db", str(target)]), EXPECTED[name])
        # not a byte written: no tables added, no switch to WAL, no journal left behind
        assert _digest(target) == before, f"{command} changed {name}"
        assert not Path(f"{target}-wal").exists() and not Path(f"{target}-journal").exists()


def test_an_empty_file_is_made_a_store_only_by_a_creating_command(tmp_path):
    runner = CliRunner()
    zero = tmp_path / "zero.db"
    zero.touch()
    for command in (["info"], ["history"], ["loops"], ["undo", "1"]):
        _refused(runner.invoke(cli, [*command, "--db", str(zero)]), "empty file", "symbiosis init")
        assert zero.stat().st_size == 0 and not Path(f"{zero}-wal").exists()
    _accepted(runner.invoke(cli, ["init", "--db", str(zero)]))
    assert _resources(zero) == _shipped_resources()

    # an empty SQLite database (what a killed 'init' leaves: header, WAL, no table) is refused by readers too
    empty = tmp_path / "empty_sqlite.db"
    connection = sqlite3.connect(str(empty))
    connection.execute("PRAGMA journal_mode = WAL")
    connection.close()
    before = _digest(empty)
    _refused(runner.invoke(cli, ["info", "--db", str(empty)]), "empty SQLite database", "symbiosis init")
    assert _digest(empty) == before
    _accepted(runner.invoke(cli, ["import", str(GOOD / "parks.csv"), "--db", str(empty)]))
    assert open_store(empty, create=False)["parks"].count == 2


def test_a_store_is_never_created_under_an_input_files_name(tmp_path):
    runner = CliRunner()
    for name in ("flows.csv", "parks.xlsx", "data.json"):
        target = tmp_path / name
        _refused(runner.invoke(cli, ["import", str(GOOD / "parks.csv"), "--db", str(target)]), "must not end in")
        assert not target.exists()
    missing = tmp_path / "absent.db"
    _refused(runner.invoke(cli, ["info", "--db", str(missing)]), "no store at", "symbiosis init")
    assert not missing.exists()


def test_an_older_store_is_still_migrated_by_a_read_only_command(tmp_path):
    path = tmp_path / "v1.db"
    old = sqlite3.connect(str(path), isolation_level=None)
    migrate(sqlite_utils.Database(old), target=1)  # what the first release wrote (no application id)
    old.execute("INSERT INTO parks (id, name) VALUES ('p1', 'Old Park')")
    old.close()
    _accepted(CliRunner().invoke(cli, ["info", "--db", str(path)]))
    db = open_store(path, create=False)
    assert schema_version(db) == SCHEMA_VERSION
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("SELECT name FROM parks").fetchall() == [("Old Park",)]


def test_a_newer_symbiosis_store_is_refused_not_migrated(tmp_path):
    path = tmp_path / "future.db"
    shutil.copyfile(CORPUS / "future_version.db", path)
    record(AREA, "tried")
    with pytest.raises(SchemaVersionError, match="upgrade symbiosis"):
        open_store(path)
    record(AREA, "rejected")


# ------------------------------------------------------------------------------------- catalogue and init

_KILL_AT = """
import os, signal, sys
import symbiosis.ingest as ingest
import symbiosis.store as store
where = sys.argv[2]
if where == "before_catalogue":   # the schema is written, the catalogue not yet
    store._seed_catalogue = lambda db: os.kill(os.getpid(), signal.SIGKILL)
else:                             # the catalogue is written too, the transaction not committed
    real = ingest.import_files
    def import_then_die(*args, **kwargs):
        real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    ingest.import_files = import_then_die
store.open_store(sys.argv[1])
"""

_INIT = """
import sys
from symbiosis.store import open_store
import symbiosis.ingest
print("ready", flush=True)
open_store(sys.argv[1])
print("done", flush=True)
"""


def _after_kill(path: Path) -> None:
    """The file a killed 'init' left is whole, and opening it gives the full catalogue, once."""
    assert _integrity(path) == "ok"
    version = sqlite3.connect(str(path)).execute("PRAGMA user_version").fetchone()[0]
    assert version in (0, SCHEMA_VERSION), f"schema left between versions: {version}"
    db = open_store(path)
    assert db["resources"].count == _shipped_resources()
    assert db.execute("SELECT count(*) FROM imports").fetchone()[0] == 1  # seeded once, not twice
    db.conn.close()


@pytest.mark.parametrize("where", ["before_catalogue", "before_commit"])
def test_init_killed_inside_its_transaction_leaves_an_empty_file_init_completes(tmp_path, where):
    path = tmp_path / "store.db"
    process = subprocess.run([sys.executable, "-c", _KILL_AT, str(path), where], cwd=ROOT, capture_output=True, check=False)
    assert process.returncode == -signal.SIGKILL, process.stderr
    record("kills", "kills")
    assert sqlite3.connect(str(path)).execute("PRAGMA user_version").fetchone()[0] == 0  # all or nothing
    _refused(CliRunner().invoke(cli, ["info", "--db", str(path)]), "empty SQLite database")
    _after_kill(path)


def test_init_killed_at_several_moments(tmp_path):
    kills = 0
    for round_, delay in enumerate((0.0, 0.003, 0.006, 0.01, 0.015, 0.02, 0.03, 0.05)):
        path = tmp_path / f"store{round_}.db"
        process = subprocess.Popen([sys.executable, "-c", _INIT, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                   text=True)
        assert process.stdout.readline().strip() == "ready"
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        process.stdout.close()
        if path.exists():
            _after_kill(path)
        record(AREA, "tried")
        record(AREA, "accepted")
    record("kills", "kills", kills)


def test_a_store_that_lost_its_catalogue_is_repaired_on_open(tmp_path):
    """What a killed 'init' left before the fix: the whole schema and no catalogue."""
    path = tmp_path / "store.db"
    migrate(sqlite_utils.Database(sqlite3.connect(str(path), isolation_level=None)))
    assert _resources(path) == 0
    _accepted(CliRunner().invoke(cli, ["info", "--db", str(path)]))
    assert _resources(path) == _shipped_resources()
    result = CliRunner().invoke(cli, ["init", "--db", str(path)])
    assert f"{_shipped_resources()} resources in the catalogue" in result.output


def test_the_catalogue_import_cannot_be_undone(tmp_path):
    path = tmp_path / "store.db"
    open_store(path).conn.close()
    message = _refused(CliRunner().invoke(cli, ["undo", "1", "--db", str(path)]), "shipped resource catalogue")
    assert "cannot be undone" in message
    assert _resources(path) == _shipped_resources()


def _open_and_count(path: str, barrier, results) -> None:
    try:
        barrier.wait(timeout=30)
        db = open_store(path)
        results.put(("ok", db["resources"].count))
    except BaseException as exc:  # noqa: BLE001 -- reported to the parent, which fails the test
        results.put(("error", f"{type(exc).__name__}: {exc}"))


@pytest.mark.parametrize("start", ["new", "old_v1"])
def test_three_processes_create_one_store_at_once(tmp_path, start):
    context = multiprocessing.get_context("fork")  # no interpreter start-up: the three really race
    shipped = _shipped_resources()
    for round_ in range(6):
        path = tmp_path / f"store{round_}.db"
        if start == "old_v1":
            connection = sqlite3.connect(str(path), isolation_level=None)
            migrate(sqlite_utils.Database(connection), target=1)
            connection.close()
        barrier, results = context.Barrier(3), context.Queue()
        processes = [context.Process(target=_open_and_count, args=(str(path), barrier, results)) for _ in range(3)]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        record(AREA, "tried")
        assert outcomes == [("ok", shipped)] * 3, outcomes
        assert _integrity(path) == "ok"
        db = open_store(path, create=False)
        assert schema_version(db) == SCHEMA_VERSION
        assert db.execute("SELECT count(*) FROM imports").fetchone()[0] == 1  # created (seeded) once
        db.conn.close()
        record(AREA, "accepted")


# ------------------------------------------------------------------------------------------ locked store

_HOLD_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("INSERT INTO parks (id, name) VALUES ('holder', 'Held')")
print("locked", flush=True)
seconds = float(sys.argv[2])
if seconds < 0:
    sys.stdin.read()      # until the test closes stdin
else:
    time.sleep(seconds)
connection.execute("COMMIT")
"""


def _hold_lock(path: Path, seconds: float = -1) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(path), str(seconds)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_store_locked_past_the_busy_timeout_is_one_clear_message(tmp_path):
    path = tmp_path / "store.db"
    db = open_store(path)
    for name in DEMO_SETS:  # the zero-carbon park has offers and demands, so 'match --save' has a plan to save
        import_files(db, dataset_files(name))
    imports_before = db.execute("SELECT count(*) FROM imports").fetchone()[0]
    db.conn.close()
    (tmp_path / "more_parks.csv").write_text("id,name\np9,Ninth Park\n", encoding="utf-8")
    runner = CliRunner()
    holder = _hold_lock(path)
    try:
        env = {BUSY_TIMEOUT_ENV: "0.2"}
        writes = (["import", str(tmp_path / "more_parks.csv")], ["undo", "2"],
                  ["match", "--park", "zcp", "--save", "--quiet"])
        for command in writes:
            _refused(runner.invoke(cli, [*command, "--db", str(path)], env=env),
                     f"{path} is locked", "waited 0.2 s", BUSY_TIMEOUT_ENV, "nothing was written")
        # readers never wait for a writer (WAL)
        _accepted(runner.invoke(cli, ["info", "--db", str(path)], env=env))
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    db = open_store(path, create=False)
    assert db.execute("SELECT id FROM parks WHERE id IN ('holder', 'p9')").fetchall() == [("holder",)]
    assert db.execute("SELECT count(*) FROM imports").fetchone()[0] == imports_before  # none of the three wrote
    assert db.execute("SELECT count(*) FROM imports WHERE undone_at IS NOT NULL").fetchone()[0] == 0


def test_a_writer_waits_for_a_lock_shorter_than_the_timeout(tmp_path):
    path = tmp_path / "store.db"
    _store_with_park(path).conn.close()
    (tmp_path / "more_parks.csv").write_text("id,name\np9,Ninth Park\n", encoding="utf-8")
    holder = _hold_lock(path, seconds=0.5)
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "more_parks.csv"), "--db", str(path)],
                                env={BUSY_TIMEOUT_ENV: "60"})
    holder.wait(timeout=30)
    holder.stdout.close()
    _accepted(result)
    assert open_store(path, create=False)["parks"].count == 4  # two of the park, the holder's, p9


@pytest.mark.parametrize("value", ["abc", "nan", "-1", "inf", "1e12", "0x10"])
def test_a_bad_busy_timeout_setting_is_one_message(tmp_path, value):
    path = tmp_path / "store.db"
    open_store(path).conn.close()
    _refused(CliRunner().invoke(cli, ["info", "--db", str(path)], env={BUSY_TIMEOUT_ENV: value}), BUSY_TIMEOUT_ENV)


def test_busy_timeout_default_and_setting(monkeypatch):
    monkeypatch.delenv(BUSY_TIMEOUT_ENV, raising=False)
    assert resolve_busy_timeout() == 600
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, " 2.5 ")
    assert resolve_busy_timeout() == 2.5
    assert resolve_busy_timeout(0) == 0  # an explicit argument wins


# ------------------------------------------------------------------------------------------- disk faults

_FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails (EFBIG) instead of killing us
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from cli import cli
cli(sys.argv[2:])
"""


def test_a_full_disk_during_import_reports_the_disk_and_writes_nothing(tmp_path):
    path = tmp_path / "store.db"
    db = _store_with_park(path)
    before = db["flows"].count
    db.conn.close()
    flows = tmp_path / "big_flows.csv"
    with flows.open("w") as handle:
        handle.write("id,source_id,target_id,resource_code,quantity,unit,year\n")
        handle.writelines(f"k{index},power,board,fly_ash,{index % 997}.5,t,2024\n" for index in range(30_000))
    limit = path.stat().st_size + 256 * 1024  # room for the store, not for the import's pages
    process = subprocess.run([sys.executable, "-c", _FULL_DISK, str(limit), "import", str(flows), "--db", str(path),
                              "--quiet"], cwd=ROOT, capture_output=True, text=True, check=False)
    record(AREA, "tried")
    if "Traceback" in process.stderr:
        record(AREA, "traceback")
    assert process.returncode == 1, process.stderr
    assert "cannot rollback" not in process.stderr and "Traceback" not in process.stderr, process.stderr
    assert f"cannot read or write {path}" in process.stderr and "rolled back" in process.stderr
    record(AREA, "rejected")
    assert _integrity(path) == "ok"
    assert open_store(path, create=False)["flows"].count == before


def test_the_error_that_made_sqlite_roll_back_is_the_one_raised(store):
    """SQLite ends the transaction itself after a full disk or an I/O error; ROLLBACK then fails with
    'no transaction is active', which must not replace the real error."""
    full = sqlite3.OperationalError("database or disk is full")
    with pytest.raises(sqlite3.OperationalError) as caught, transaction(store):
        store.execute("INSERT INTO parks (id, name) VALUES ('x', 'X')")
        store.conn.execute("ROLLBACK")  # what SQLite did on its own
        raise full
    assert caught.value is full
    assert store["parks"].count == 0 and not store.conn.in_transaction


def test_a_nested_transaction_is_a_savepoint(store):
    with transaction(store):
        store.execute("INSERT INTO parks (id, name) VALUES ('kept', 'K')")
        with pytest.raises(ValueError), transaction(store):
            store.execute("INSERT INTO parks (id, name) VALUES ('dropped', 'D')")
            raise ValueError("inner block fails")
    assert [row[0] for row in store.execute("SELECT id FROM parks")] == ["kept"]


# --------------------------------------------------------------------------------------- a damaged store

def _damage(path: Path, table: str) -> None:
    """Overwrite the root page of ``table`` with garbage (what a bad sector or a torn copy leaves)."""
    connection = sqlite3.connect(str(path))
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    root = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    connection.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xa5" * page_size)


def test_a_damaged_store_is_one_message_for_every_command(tmp_path):
    path = tmp_path / "store.db"
    _store_with_park(path).conn.close()
    _damage(path, "flows")
    before = _digest(path)
    runner = CliRunner()
    for command in (["info"], ["history"], ["loops"], ["undo", "2"], ["map", "-o", str(tmp_path / "m.html")],
                    ["import", str(GOOD / "parks.csv")]):
        message = _refused(runner.invoke(cli, [*command, "--db", str(path)]), f"{path} is damaged")
        assert f'sqlite3 {path} "PRAGMA integrity_check"' in message and "backup" in message
        assert _digest(path) == before, f"{command} wrote into a damaged store"
    assert not (tmp_path / "m.html").exists()


def test_a_damaged_page_found_by_a_query_is_a_store_error(tmp_path):
    """Large stores are not checked on open: the first query that reads the page says so."""
    path = tmp_path / "store.db"
    _store_with_park(path).conn.close()
    _damage(path, "flows")
    db = open_store(path, create=False, check=False)
    assert db["parks"].count == 2  # undamaged tables still read
    record(AREA, "tried")
    with pytest.raises(StoreError, match="is damaged"):
        db.execute("SELECT sum(quantity) FROM flows").fetchall()
    with pytest.raises(StoreError, match="is damaged"):
        list(db.query("SELECT * FROM flows"))
    record(AREA, "rejected")
