"""Reliability: bad inputs, crashes, concurrent use and hostile text, with nothing lost.

Each part counts what it tried; the counts are printed at the end of the test run (conftest.py):
``N inputs tried, N rejected cleanly, ...; K kills, 0 corrupt stores; R concurrent rows, 0 lost``.
"""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import string
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbiosis.errors import SymbiosisError
from symbiosis.ingest import import_files
from symbiosis.store import open_store

from .conftest import GOOD, RELIABILITY, dump, record

CORPUS = Path(__file__).parent / "bad_inputs"
ROOT = Path(__file__).resolve().parent.parent

# file -> (table, "import" or a fragment the error must contain)
EXPECTED = {
    "enterprises_wrong_delimiter.csv": ("enterprises", "a value is required"),
    "enterprises_bom.csv": ("enterprises", "import"),
    "enterprises_blank_rows.csv": ("enterprises", "import"),
    "enterprises_duplicate_headers.csv": ("enterprises", "duplicate header"),
    "flows_huge_and_nan.csv": ("flows", "too large once converted"),
    "flows_units_misspelt.csv": ("flows", "unknown unit"),
    "flows_ids_case_and_spaces.csv": ("flows", "did you mean 'power'"),
    "parks_not_a_list.json": ("parks", "list of records"),
    "enterprises_chinese.csv": ("enterprises", "import"),
    "enterprises_hostile_text.csv": ("enterprises", "import"),
    "flows_text_in_numbers.csv": ("flows", "expected a number"),
    "flows_no_header.csv": ("flows", "required column missing"),
    "enterprises_latin1.csv": ("enterprises", "not valid UTF-8"),
    "enterprises_gbk.csv": ("enterprises", "gb18030"),
}


def _park(tmp_path: Path):
    db = open_store(tmp_path / "store.db")
    import_files(db, sorted(GOOD.glob("*.csv")))
    return db


def _try(db, path: Path, table: str, expected: str) -> None:
    """Import one file and check its documented outcome; record it in the run's counts."""
    record("inputs", "tried")
    before = dump(db)
    try:
        import_files(db, [path], table=table)
    except SymbiosisError as error:
        after = dump(db)
        if after != before:
            record("inputs", "partial")
        assert after == before, f"{path.name}: the store changed after a rejected import"
        assert expected != "import", f"{path.name} should import cleanly: {error}"
        assert path.name in str(error) and expected in str(error), str(error)
        record("inputs", "rejected")
    else:
        assert expected == "import", f"{path.name} should have been rejected with {expected!r}"
        record("inputs", "imported")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(tmp_path, name):
    table, expected = EXPECTED[name]
    _try(_park(tmp_path), CORPUS / name, table, expected)


def test_corpus_is_complete():
    # this corpus's files (folders and README_*.md hold the other corpora: tests/test_hostile_*.py)
    assert sorted(path.name for path in CORPUS.iterdir() if path.is_file() and path.suffix != ".md") == \
        sorted(EXPECTED)


def test_hostile_text_is_stored_verbatim(tmp_path):
    db = _park(tmp_path)
    import_files(db, [CORPUS / "enterprises_hostile_text.csv"])
    names = dict(db.execute("SELECT id, name FROM enterprises WHERE id LIKE 'hx%'"))
    assert names["hx1"] == "<script>alert(1)</script>"
    assert names["hx2"] == "Robert'); DROP TABLE enterprises;--" and db["enterprises"].count == 9
    assert names["hx4"] == "Ctrl\x07char \u202eRTL mark"


def test_generated_large_and_binary_inputs(tmp_path):
    db = _park(tmp_path)
    big = tmp_path / "flows_200mb.csv"
    line = "power,board,fly_ash,10,t,2024,existing,,," + "x" * 60 + "\n"
    with big.open("w") as handle:
        handle.write("source_id,target_id,resource_code,quantity,unit,year,status,distance_km,boundary,note\n")
        block = line * 10_000
        while handle.tell() < 200_000_000:
            handle.write(block)
    _try(db, big, "flows", "above the limit")
    big.unlink()

    bomb = tmp_path / "enterprises_bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            zeros = b"\0" * (1 << 20)
            for _ in range(600):  # 600 MB of zeros packs to well under 1 MB
                member.write(zeros)
    assert bomb.stat().st_size < 2_000_000
    _try(db, bomb, "enterprises", "zip bomb")

    merged = tmp_path / "enterprises_merged.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "name", "park_id"])
    for row in (["m1", "Merged One", "p1"], ["m2", "Merged Two", None], ["m3", "Merged Three", None]):
        sheet.append(row)
    sheet.merge_cells("C2:C4")
    book.save(merged)
    _try(db, merged, "enterprises", "merged cells")

    formulas = tmp_path / "flows_formulas.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["source_id", "target_id", "resource_code", "quantity", "unit"])
    sheet.append(["power", "board", "fly_ash", 10, "t"])
    sheet.append(["power", "cement", "fly_ash", "=D2*2", "t"])
    book.save(formulas)
    _try(db, formulas, "flows", "a formula")


names = st.text(alphabet=string.printable + "é中<>&'\"", max_size=12)
cells = st.one_of(names, st.floats(allow_nan=True, allow_infinity=True).map(str), st.just(""),
                  st.sampled_from(["power", "board", "fly_ash", "steam", "t", "kt", "MWh", "-5", "1e400"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.lists(st.lists(cells, min_size=5, max_size=5), min_size=1, max_size=6))
def test_malformed_rows_never_crash_or_half_write(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("fuzz")
    db = _park(folder)
    path = folder / "flows.csv"
    pd.DataFrame(rows, columns=["source_id", "target_id", "resource_code", "quantity", "unit"]).to_csv(path, index=False)
    counts = RELIABILITY.setdefault("fuzz", {})
    for outcome in ("tried", "rejected", "imported", "partial"):
        counts.setdefault(outcome, 0)
    counts["tried"] += 1
    before = dump(db)
    try:
        import_files(db, [path])
        counts["imported"] += 1
    except SymbiosisError:
        counts["rejected"] += 1
        if dump(db) != before:
            counts["partial"] += 1
        assert dump(db) == before
    db.conn.close()


# ---------------------------------------------------------------------------------------- crash safety

_IMPORTER = """
import sys
from symbiosis.ingest import import_files
from symbiosis.store import open_store
db = open_store(sys.argv[1])
print("ready", flush=True)
import_files(db, [sys.argv[2]])
print("done", flush=True)
"""


def _flows_file(path: Path, firms: list[str], rows: int, tag: str) -> None:
    rng = random.Random(tag)
    with path.open("w") as handle:
        handle.write("id,source_id,target_id,resource_code,quantity,unit,year\n")
        for index in range(rows):
            handle.write(f"{tag}{index},{rng.choice(firms)},{rng.choice(firms)},fly_ash,{rng.random() * 1000:.3f},t,2024\n")


def _closed_park(tmp_path: Path) -> tuple[Path, int]:
    """The small park in a store file, closed so other processes can write to it; its flow count."""
    path = tmp_path / "store.db"
    db = _park(tmp_path)
    base = db["flows"].count
    db.conn.close()
    return path, base


def test_kill_during_import_leaves_all_or_nothing(tmp_path):
    path, base = _closed_park(tmp_path)
    flows = tmp_path / "flows.csv"
    rows = 60_000
    _flows_file(flows, ["power", "refinery", "board", "cement", "farm"], rows, "k")
    rng = random.Random(7)
    kills, corrupt, landed = 0, 0, 0
    for _attempt in range(8):
        process = subprocess.Popen([sys.executable, "-c", _IMPORTER, str(path), str(flows)], cwd=ROOT,
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 2.5))  # somewhere in reading, validating, writing or committing
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        check = sqlite3.connect(str(path))
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            corrupt += 1
        count = check.execute("SELECT count(*) FROM flows").fetchone()[0]
        check.close()
        assert count in (base, base + rows), f"a partial import: {count} flows"
        if count == base + rows:
            landed += 1
            check = sqlite3.connect(str(path))  # start the next round from the same state
            check.execute("DELETE FROM flows WHERE id LIKE 'k%'")
            check.execute("DELETE FROM imports WHERE file = ?", (str(flows),))
            check.commit()
            check.close()
    assert open_store(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert corrupt == 0 and kills >= 4
    record("kills", "kills", kills)  # added to the other tests' kills, never replacing them
    record("kills", "corrupt", corrupt)
    record("kills", "landed_before_kill", landed)


# ----------------------------------------------------------------------------------------- concurrency

def test_two_imports_and_readers_at_once(tmp_path):
    path, base = _closed_park(tmp_path)
    firms = ["power", "refinery", "board", "cement", "farm"]
    files = []
    for tag in ("a", "b"):
        files.append(tmp_path / f"flows_{tag}.csv")
        _flows_file(files[-1], firms, 40_000, tag)
    seen_counts: set[int] = set()
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        connection = open_store(path, create=False)
        while not stop.is_set():
            try:
                seen_counts.add(connection.execute("SELECT count(*) FROM flows").fetchone()[0])
            except sqlite3.Error as exc:  # a reader must never see 'database is locked'
                errors.append(str(exc))
            time.sleep(0.01)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    writers = [subprocess.Popen([sys.executable, "-c", _IMPORTER, str(path), str(file)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for file in files]
    outputs = [writer.communicate(timeout=300) for writer in writers]
    stop.set()
    for thread in readers:
        thread.join()
    for writer, (out, err) in zip(writers, outputs):
        assert writer.returncode == 0 and "done" in out, err
    final = open_store(path, create=False)["flows"].count
    lost = base + 80_000 - final
    assert errors == [] and lost == 0
    # readers saw whole imports only (WAL snapshots): never a part of one
    assert seen_counts <= {base, base + 40_000, base + 80_000}
    RELIABILITY["concurrency"] = {"rows": 80_000, "lost": lost, "reader_errors": len(errors)}


def test_hostile_text_through_cli_tables_and_exports(tmp_path):
    from click.testing import CliRunner

    from cli import cli

    db_path = tmp_path / "store.db"
    db = open_store(db_path)
    import_files(db, sorted(GOOD.glob("*.csv")))
    (tmp_path / "enterprises.csv").write_text('id,name,park_id\nhx5,"\x1b[31mRed\x1b[0m",p1\nhx6,=2+3 Hostile,p1\n',
                                              encoding="utf-8")
    (tmp_path / "flows.csv").write_text("source_id,target_id,resource_code,quantity,unit\n"
                                        "hx5,power,fly_ash,1,t\nhx6,power,fly_ash,1,t\n")
    import_files(db, [tmp_path / "enterprises.csv", tmp_path / "flows.csv"])
    runner = CliRunner()
    shown = runner.invoke(cli, ["loops", "--db", str(db_path)]).output
    assert "\x1b" not in shown
    for fmt in ("graphml", "gexf"):
        out = tmp_path / f"g.{fmt}"
        assert runner.invoke(cli, ["export", "--db", str(db_path), "-o", str(out)]).exit_code == 0
        import xml.etree.ElementTree as ElementTree

        ElementTree.parse(out)  # well-formed XML, whatever the names held
    out = tmp_path / "flows_export.csv"
    assert runner.invoke(cli, ["export", "--db", str(db_path), "-o", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "'=2+3 Hostile" in text and ",=2+3" not in text  # written as text, never a formula
    record("outputs", "tried", 4)
    record("outputs", "accepted", 4)
