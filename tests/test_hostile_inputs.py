"""Hostile inputs, round two (issue 14): keys, numbers, limits and one import's files against each other.

Every case is counted for the reliability summary line (``record("inputs", ...)``): a case ends
accepted with the right rows, or rejected with one clear error naming the file (and row) and the store
unchanged; never a traceback, a hang, a silent overwrite or a duplicate. Corpus files are in
tests/bad_inputs/inputs2 (listed in tests/bad_inputs/README_inputs.md); large and binary cases are
made at run time.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from symbiosis.errors import InputError, SymbiosisError
from symbiosis.ingest import import_files
from symbiosis.readers import MAX_COLUMNS, read_file
from symbiosis.schema import MAX_MAGNITUDE, escape_key_part, natural_key
from symbiosis.store import open_store
from symbiosis.units import parse_unit

from .conftest import GOOD, dump, record

CORPUS = Path(__file__).parent / "bad_inputs" / "inputs2"
ROOT = Path(__file__).resolve().parent.parent
AREA = "inputs"

# file -> (table or None for the file's own name, "import" or a fragment the error must contain)
EXPECTED = {
    "enterprises_blank_first_line.csv": (None, "import"),
    "enterprises_many_blank_lines.csv": (None, "import"),
    "enterprises_quoted_semicolons.csv": (None, "import"),
    "enterprises_employees_2pow63.csv": (None, "too large"),
    "enterprises_employees_inf.csv": (None, "too large"),
    "enterprises_huge_json_int.json": ("enterprises", "too large"),
    "flows_unit_power_tower.csv": (None, "a power must be a plain number"),
    "flows_m3_per_annum.csv": (None, "import"),
    "flows_year_fractional.csv": (None, "expected a year"),
    "flows_sum_overflow.csv": (None, "too large once converted"),
    "emissions_overflow.csv": (None, "too large once converted"),
    "energy_use_overflow.csv": (None, "too large once converted"),
    "offsets_kind_only_differs.csv": (None, "import"),
    "offsets_empty_and_unspecified.csv": (None, "duplicate (park_id, year, kind)"),
    "offsets_no_kind.csv": (None, "import"),
    "parks_two_cases.json": (None, "the same id as"),
}


def _park(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    db = open_store(folder / "store.db")
    import_files(db, sorted(GOOD.glob("*.csv")))
    return db


def _attempt(db, paths: list[Path], expected: str, **options):
    """Import ``paths``; check the outcome (``"import"`` or a fragment of the error) and count it.

    Returns the report of an accepted import, or the error of a rejected one.
    """
    record(AREA, "tried")
    before = dump(db)
    try:
        report = import_files(db, paths, **options)
    except SymbiosisError as error:
        if dump(db) != before:
            record(AREA, "partial")
        assert dump(db) == before, "the store changed after a rejected import"
        assert expected != "import", f"should import cleanly: {error}"
        assert expected in str(error), str(error)
        assert paths[0].name in str(error), str(error)  # the error names the file
        record(AREA, "rejected")
        return error
    except Exception:
        record(AREA, "traceback")
        raise
    assert expected == "import", f"should have been rejected with {expected!r}"
    record(AREA, "accepted")
    return report


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


#: files that hung before their fix inside one C call (no alarm interrupts it): they run only in a
#: subprocess with a timeout, so that a regression fails the test instead of hanging the run
IN_SUBPROCESS = {"flows_unit_power_tower.csv"}


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - IN_SUBPROCESS))
def test_corpus_file(tmp_path, name):
    table, expected = EXPECTED[name]
    _attempt(_park(tmp_path), [CORPUS / name], expected, table=table)


def test_corpus_is_complete():
    assert sorted(path.name for path in CORPUS.iterdir()) == sorted(EXPECTED)
    listed = (CORPUS.parent / "README_inputs.md").read_text(encoding="utf-8")
    assert all(f"| {name} |" in listed for name in EXPECTED)


def test_corpus_outcomes_are_the_right_rows(tmp_path):
    db = _park(tmp_path)
    import_files(db, [CORPUS / "enterprises_quoted_semicolons.csv"])
    names = dict(db.execute("SELECT id, name FROM enterprises WHERE id LIKE 'qs%'"))
    assert names == {"qs1": "Quoted; Semicolons Ltd", "qs2": "Plain Ltd"}  # ',' was the delimiter
    import_files(db, [CORPUS / "flows_m3_per_annum.csv"])
    assert db.execute("SELECT quantity, unit FROM flows WHERE year = 2030").fetchall() == [(1200.0, "m3/yr")]
    import_files(db, [CORPUS / "offsets_kind_only_differs.csv"])
    import_files(db, [CORPUS / "offsets_no_kind.csv"], table="offsets")  # kind left out: 'unspecified'
    kinds = dict(db.execute("SELECT kind, t_co2e FROM offsets WHERE park_id = 'p1' AND year = 2024"))
    assert kinds == {"forestry": 10.0, "credits": 20.0, "unspecified": 10.0}
    error = _attempt(_park(tmp_path / "again"), [CORPUS / "offsets_empty_and_unspecified.csv"], "duplicate")
    assert "'id'" not in str(error)  # offsets take no id column: the error must not suggest one


# ------------------------------------------------------------------------------------------ keys


def test_keys_of_ordinary_ids_are_unchanged(filled):
    assert filled.execute("SELECT count(*) FROM flows WHERE id = 'power>refinery:steam:2002'").fetchone()[0] == 1
    assert natural_key("flows", ["power", "refinery", "steam", "2002"]) == "power>refinery:steam:2002"
    assert natural_key("emissions", ["power", "2024"]) == "power:2024"


def test_key_parts_are_escaped_so_keys_never_collide():
    assert escape_key_part("50%") == "50%25" and escape_key_part("a>b:c") == "a%3Eb%3Ac"
    # a part that already looks escaped stays apart from the raw text it would decode to
    assert natural_key("offsets", ["p%3A1", "2024", "k"]) != natural_key("offsets", ["p:1", "2024", "k"])
    assert (natural_key("flows", ["a>b", "c", "steam", ""]) != natural_key("flows", ["a", "b>c", "steam", ""]))


@pytest.fixture
def odd_ids(tmp_path):
    """The small park plus firms and parks whose ids hold the key separators."""
    db = _park(tmp_path)
    import_files(db, [_write(tmp_path / "parks.csv", "id,name\nq:2024,Colon Park\nq,Plain Park\n"),
                      _write(tmp_path / "enterprises.csv", "id,name,park_id\na>b,AB,p1\nc,C,p1\na,A,p1\nb>c,BC,p1\n"
                                                           "x:2024,X2024,p1\nx,X,p1\n")])
    return db


def test_flows_a_b_c_both_kept(tmp_path, odd_ids):
    first = _write(tmp_path / "flows_1.csv", "source_id,target_id,resource_code,quantity,unit\na>b,c,steam,1,MWh\n")
    second = _write(tmp_path / "flows_2.csv", "source_id,target_id,resource_code,quantity,unit\na,b>c,steam,2,MWh\n")
    _attempt(odd_ids, [first], "import")
    report = _attempt(odd_ids, [second], "import")
    assert report.files[0].inserted == 1 and report.files[0].updated == 0  # never 'updated 1'
    rows = odd_ids.execute("SELECT source_id, target_id, quantity FROM flows WHERE resource_code = 'steam' "
                           "AND (source_id LIKE 'a%') ORDER BY quantity").fetchall()
    assert rows == [("a>b", "c", 1.0), ("a", "b>c", 2.0)]
    both = _write(tmp_path / "flows_3.csv", "source_id,target_id,resource_code,quantity,unit,year\n"
                                            "a>b,c,steam,1,MWh,2020\na,b>c,steam,2,MWh,2020\n")
    _attempt(odd_ids, [both], "import")  # in one file too: two rows, no 'duplicate'


def test_energy_use_and_offsets_with_colons_both_kept(tmp_path, odd_ids):
    energy = _write(tmp_path / "energy_use.csv", "enterprise_id,year,carrier,mwh\nx:2024,2024,gas,1\nx,2024,2024:gas,2\n")
    _attempt(odd_ids, [energy], "import")
    assert odd_ids.execute("SELECT count(*) FROM energy_use").fetchone()[0] == 2
    offsets = _write(tmp_path / "offsets.csv", "park_id,year,t_co2e,kind\nq:2024,2024,1,k\nq,2024,2,2024:k\n")
    _attempt(odd_ids, [offsets], "import")
    assert odd_ids.execute("SELECT count(*) FROM offsets").fetchone()[0] == 2


# ------------------------------------------------------------------------------- years as 2024.0


@pytest.mark.parametrize("table, header, row", [
    ("flows", "source_id,target_id,resource_code,quantity,unit,year", "power,refinery,fly_ash,{q},t,{y}"),
    ("offers", "enterprise_id,resource_code,quantity,unit,year", "power,fly_ash,{q},t,{y}"),
    ("emissions", "enterprise_id,year,scope1_t", "power,{y},{q}"),
    ("energy_use", "enterprise_id,year,carrier,mwh", "power,{y},coal,{q}"),
    ("offsets", "park_id,year,t_co2e,kind", "p1,{y},{q},forestry"),
])
def test_a_year_written_2024_0_is_2024(tmp_path, table, header, row):
    db = _park(tmp_path)
    first = _write(tmp_path / f"{table}_a.csv", f"{header}\n{row.format(q=5, y=2024)}\n")
    second = _write(tmp_path / f"{table}_b.csv", f"{header}\n{row.format(q=7, y='2024.0')}\n")
    _attempt(db, [first], "import", table=table)
    count = db[table].count
    report = _attempt(db, [second], "import", table=table)
    assert db[table].count == count and report.files[0].updated == 1  # the same row, updated: no second row
    assert db.execute(f"SELECT DISTINCT year FROM {table} WHERE year = 2024").fetchall() == [(2024,)]
    both = _write(tmp_path / f"{table}_c.csv", f"{header}\n{row.format(q=5, y=2024)}\n{row.format(q=7, y='2024.0')}\n")
    _attempt(db, [both], "duplicate", table=table)  # one file naming one row twice


# ------------------------------------------------------------------------------------- hangs


def _run_cli(args: list[str], cwd: Path, timeout: float = 60, memory_gb: float = 3):
    """The CLI in a subprocess with a wall-clock and an address-space limit (a regression fails, never
    hangs the test run or eats the machine's memory)."""
    def limit() -> None:
        size = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from cli import cli; cli()"
    try:
        return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=limit, check=False)
    except subprocess.TimeoutExpired:
        record(AREA, "hang")
        raise


def _check_refused(result, fragment: str) -> None:
    if "Traceback" in result.stderr:
        record(AREA, "traceback")
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 1 and fragment in result.stderr + result.stdout, result.stderr
    record(AREA, "rejected")


def test_unit_power_tower_is_refused_before_pint(tmp_path):
    db_path = tmp_path / "store.db"
    _park(tmp_path).conn.close()
    record(AREA, "tried")
    result = _run_cli(["import", str(CORPUS / "flows_unit_power_tower.csv"), "--db", str(db_path)], tmp_path)
    _check_refused(result, "a power must be a plain number")
    # the other forms, each in a subprocess for the same reason
    forms = ["10^10^10 t", "m**(10**10)", "10⁹⁹⁹⁹⁹⁹ t", "2**1e9 t", "(10**10)**10 t", "1e-20 t", "x" * 65]
    code = ("import json, sys; from symbiosis.units import parse_unit; from symbiosis.errors import UnitError\n"
            "for text in json.loads(sys.argv[1]):\n"
            "    try:\n        parse_unit(text); print('accepted', text)\n"
            "    except UnitError:\n        print('refused')\n")
    record(AREA, "tried", len(forms))
    try:
        result = subprocess.run([sys.executable, "-c", code, json.dumps(forms)], cwd=ROOT, capture_output=True,
                                text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        record(AREA, "hang")
        raise
    assert result.stdout.split() == ["refused"] * len(forms), result.stdout + result.stderr
    record(AREA, "rejected", len(forms))
    # what real files write still reads
    assert str(parse_unit("10^6 m3")).startswith("_scaled") and str(parse_unit("km²")) == "kilometer ** 2"


@pytest.mark.parametrize("where", ["header", "body"])
def test_a_million_columns_is_refused_within_memory(tmp_path, where):
    wide = ",".join(f"c{index}" for index in range(1_000_000))
    path = tmp_path / "enterprises.csv"
    if where == "header":
        _write(path, wide + "\n" + "x," * 10 + "\n")
    else:
        _write(path, "id,name,park_id\nw1,Wide,p1\n" + wide + "\n")
    assert path.stat().st_size > 7_000_000
    db_path = tmp_path / "store.db"
    _park(tmp_path).conn.close()
    record(AREA, "tried")
    result = _run_cli(["import", str(path), "--db", str(db_path)], tmp_path, memory_gb=2.5)
    _check_refused(result, f"above the limit of {MAX_COLUMNS:,} columns" if where == "header" else "fields")


# ------------------------------------------------------------------------------------ workbooks


def _padded(book: openpyxl.Workbook, path: Path, megabytes: int = 21) -> Path:
    """Save ``book`` with an incompressible extra member, so that the file is above ``megabytes``."""
    book.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/media/padding.bin", _noise(megabytes << 20),
                         compress_type=zipfile.ZIP_STORED)
    return path


def _noise(size: int) -> bytes:
    import random

    return random.Random(14).randbytes(size)


def test_large_workbook_is_checked_for_formulas_and_merged_cells(tmp_path):
    db = _park(tmp_path)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "flows"
    sheet.append(["source_id", "target_id", "resource_code", "quantity", "unit"])
    sheet.append(["power", "board", "fly_ash", 10, "t"])
    sheet.append(["power", "cement", "fly_ash", "=D2*2", "t"])
    sheet.append(["refinery", "board", "fly_ash", 3, "t"])
    sheet.append(["refinery", "cement", None, 3, "t"])
    sheet.merge_cells("C4:C5")
    path = _padded(book, tmp_path / "flows_big.xlsx")
    assert path.stat().st_size > 20_000_000
    error = _attempt(db, [path], "a formula")
    assert "merged cells" in str(error) and "C4:C5" in str(error) and "D3" in str(error)

    clean = openpyxl.Workbook()
    clean.active.title = "flows"
    clean.active.append(["source_id", "target_id", "resource_code", "quantity", "unit", "year"])
    clean.active.append(["power", "board", "fly_ash", 10, "t", 2031])
    _attempt(db, [_padded(clean, tmp_path / "flows_big_clean.xlsx")], "import")
    assert db.execute("SELECT quantity FROM flows WHERE year = 2031").fetchall() == [(10.0,)]


def test_sheets_named_alike_with_one_key_are_refused(tmp_path):
    book = openpyxl.Workbook()
    for position, title in enumerate(("enterprises", " Enterprises")):
        sheet = book.active if position == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(["id", "name", "park_id"])
        sheet.append(["twin", f"Twin {position}", "p1" if position == 0 else "p2"])
    book.save(tmp_path / "firms.xlsx")
    error = _attempt(_park(tmp_path), [tmp_path / "firms.xlsx"], "the same id as")
    assert "[sheet enterprises]" in str(error) and "[sheet  Enterprises]" in str(error)


# ------------------------------------------------------------------------------ overflow and limits


def test_every_real_field_is_finite_and_bounded(tmp_path):
    db = _park(tmp_path)
    cases = {
        "flows": ("source_id,target_id,resource_code,quantity,unit,distance_km", "power,board,fly_ash,1,t,1e300"),
        "enterprises": ("id,name,output_value_mcny", "big2,Big,1e300"),
        "resources": ("code,kind,co2_factor", "odd,waste,-1e300"),
        "energy_use": ("enterprise_id,year,carrier,mwh", "power,2024,coal,1e16"),
        "offsets": ("park_id,year,t_co2e", "p1,2024,1e16"),
    }
    for table, (header, row) in cases.items():
        _attempt(db, [_write(tmp_path / f"{table}_big.csv", f"{header}\n{row}\n")], "too large", table=table)
    at_limit = _write(tmp_path / "flows_limit.csv", "source_id,target_id,resource_code,quantity,unit,year\n"
                                                    f"power,board,fly_ash,{MAX_MAGNITUDE:.0f},t,2032\n"
                                                    f"power,cement,fly_ash,{MAX_MAGNITUDE / 1000:.0f},kt,2032\n")
    _attempt(db, [at_limit], "import")
    total = db.execute("SELECT sum(quantity) FROM flows WHERE year = 2032").fetchone()[0]
    assert total == 2 * MAX_MAGNITUDE  # the limit itself is accepted, and sums of it stay finite


# ----------------------------------------------------------------------- one key in two files


def test_a_firm_in_two_files_of_one_import_is_refused(tmp_path):
    db = _park(tmp_path)
    one = _write(tmp_path / "enterprises_north.csv", "id,name,park_id\nnew1,New One,p1\ntwin,Twin,p1\n")
    two = _write(tmp_path / "enterprises_south.csv", "id,name,park_id\ntwin,Twin,p2\n")
    error = _attempt(db, [one, two], "the same id as")
    assert "enterprises_north.csv, row 3" in str(error) and "enterprises_south.csv, row 2" in str(error)
    # one file named twice is read once, not refused as its own duplicate
    _attempt(db, [one, one], "import")


def test_a_resource_changing_currency_under_its_flows_is_refused(filled, tmp_path):
    used = filled.execute("SELECT count(*) FROM flows WHERE resource_code = 'steam'").fetchone()[0]
    assert used > 0
    error = _attempt(filled, [_write(tmp_path / "resources.csv", "code,kind\nsteam,water\n")], "undo or delete")
    assert f"{used} stored flow/offer/demand row(s)" in str(error)
    # within a currency (waste -> material) the rows keep their own kind: taken, with a warning
    report = _attempt(filled, [_write(tmp_path / "resources_2.csv", "code,kind\nfly_ash,material\n")], "import",
                      table="resources")
    assert any("keep their own kind" in warning for warning in report.files[0].warnings)
    # an unused resource changes freely
    filled.execute("INSERT INTO resources (code, name, kind, canonical_unit) VALUES ('idle', 'idle', 'energy', 'MWh/yr')")
    _attempt(filled, [_write(tmp_path / "resources_3.csv", "code,kind\nidle,water\n")], "import", table="resources")


def test_a_row_clashing_with_a_legacy_key_is_an_error_not_a_traceback(tmp_path):
    db = _park(tmp_path)
    db.execute("INSERT INTO offsets (id, park_id, year, t_co2e, kind) VALUES ('legacy', 'p1', 2024, 1, 'forestry')")
    db.conn.commit()
    _attempt(db, [_write(tmp_path / "offsets.csv", "park_id,year,t_co2e,kind\np1,2024,5,forestry\n")], "clashes")


# ---------------------------------------------------------------------------- JSON and settings


def test_json_nested_100000_levels_is_refused(tmp_path):
    db = _park(tmp_path)
    deep = _write(tmp_path / "parks.json", "[" * 100_000 + "]" * 100_000)
    _attempt(db, [deep], "nested too deeply")
    in_record = _write(tmp_path / "parks_deep.json", '[{"id": "d", "name": ' + "[" * 100_000 + "]" * 100_000 + "}]")
    _attempt(db, [in_record], "nested too deeply")


@pytest.mark.parametrize("setting", ["abc", "nan", "inf", "-5", "0"])
def test_a_bad_file_size_setting_is_one_clear_error(tmp_path, monkeypatch, setting):
    db = _park(tmp_path)
    monkeypatch.setenv("SYMBIOSIS_MAX_FILE_MB", setting)
    record(AREA, "tried")
    with pytest.raises(InputError, match="SYMBIOSIS_MAX_FILE_MB"):
        import_files(db, [GOOD / "parks.csv"])
    from cli import cli

    result = CliRunner().invoke(cli, ["import", str(GOOD / "parks.csv"), "--db", str(tmp_path / "store.db")])
    assert result.exit_code == 1 and "SYMBIOSIS_MAX_FILE_MB" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    record(AREA, "rejected")


def test_the_file_size_setting_is_read_when_a_file_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMBIOSIS_MAX_FILE_MB", "abc")
    record(AREA, "tried")
    result = _run_cli(["--help"], tmp_path)  # importing the package (and cli) must not read it
    assert result.returncode == 0 and "Traceback" not in result.stderr
    record(AREA, "accepted")
    monkeypatch.setenv("SYMBIOSIS_MAX_FILE_MB", "0.001")
    big = _write(tmp_path / "parks.csv", "id,name\n" + "".join(f"p{i},Park {i}\n" for i in range(200)))
    record(AREA, "tried")
    with pytest.raises(SymbiosisError, match="above the limit of 0.001 MB"):
        import_files(_park(tmp_path / "limit"), [big])
    record(AREA, "rejected")


def test_blank_lines_above_the_header_in_every_form(tmp_path):
    for index, top in enumerate(["\n", "   \n", "\r\n", "\t\t\n", "\n" * 45, ",,\n"]):
        path = _write(tmp_path / f"enterprises_{index}.csv", top + "id,name,park_id\nb1,Blank,p1\n")
        record(AREA, "tried")
        sheet = read_file(path)[0]
        assert list(sheet.frame.columns) == ["id", "name", "park_id"] and len(sheet.frame) == 1
        assert sheet.row_numbers.tolist() == [top.count("\n") + 2]  # the row a spreadsheet shows
        record(AREA, "accepted")


def test_json_keys_as_records_are_not_refused_for_case_alone(tmp_path):
    db = _park(tmp_path)
    path = _write(tmp_path / "parks.json", json.dumps({"Parks": [{"id": "u1", "name": "U"}],
                                                       "parks": [{"id": "u2", "name": "L"}]}))
    _attempt(db, [path], "import")  # two keys of one table with different ids: both rows, nothing replaced
    assert {row[0] for row in db.execute("SELECT id FROM parks WHERE id LIKE 'u%'")} == {"u1", "u2"}
