"""Hostile outputs, options and analyses on extreme inputs (issue 14, area "outputs").

What is decided here (see symbiosis/export.py and the comment at the top of cli.py):

- **One writer** (``symbiosis.export.write_output``) for every file the CLI writes: a regular file is
  written to a temporary file beside it and renamed over it (whole or not at all); a special file
  (``/dev/stdout``, ``/dev/full``, ``/proc/...``, a pipe) is written directly; ``-o -`` is standard
  output for text formats. Any failure is one line naming the path, exit 1. "wrote ..." goes to stderr.
- **One neutraliser** for every CSV and XLSX cell, file or standard output: formula-like text gets a
  leading apostrophe in CSV and Excel's apostrophe prefix (``quotePrefix``) in XLSX; numbers stay numbers;
  XML-illegal control characters in XLSX are spelt out (``\\x07``).
- **Partial results**: a command that changes the store and writes a file checks the output first (a bad
  ``-o`` changes nothing); if the write still fails after the store changed, the change stands and the
  error says so, with the ``undo`` id.
- Options: years 1800-2200, distances and shares finite; weights and factors finite; sums beyond the
  largest float print as unknown with a note, and the matchmaking programme is scaled.

Every case is counted with ``record("outputs", ...)``; a traceback is counted too (and fails the test).
"""
from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.errors import InputError
from symbiosis.export import export_matches, write_output
from symbiosis.ingest import import_files
from symbiosis.store import open_store

from .conftest import GOOD, dump, record

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "bad_inputs" / "outputs"
AREA = "outputs"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _run(args: list[str], expect: str, fragment: str | None = None, exit_code: int | None = None):
    """Run the CLI in-process; count the case; never a traceback. ``expect`` is accepted or rejected."""
    record(AREA, "tried")
    result = CliRunner().invoke(cli, [str(arg) for arg in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        record(AREA, "traceback")
        raise AssertionError(f"traceback for {args}: {result.exception!r}\n{result.output}") from result.exception
    if expect == "accepted":
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == (exit_code or result.exit_code) and result.exit_code != 0, result.output
        assert "Traceback" not in result.output
    if fragment is not None:
        assert fragment in result.output, result.output
    record(AREA, expect)
    return result


def _subprocess(args: list[str], cwd: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    """The CLI in its own process (real stdout; optionally a file-size limit, as a disk that fills up)."""

    def limit():  # pragma: no cover - runs in the child
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), not kills
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    # no bytecode: a size limit must never truncate the package's .pyc files
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", "from cli import main; main()", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=limit if limit_bytes else None)


@pytest.fixture
def park(tmp_path):
    """The small test park (tests/data/good) plus offers and demands, in a store on disk."""
    db_path = tmp_path / "store.db"
    db = open_store(db_path)
    import_files(db, sorted(GOOD.glob("*.csv")))
    (tmp_path / "offers.csv").write_text("enterprise_id,resource_code,quantity,unit\npower,fly_ash,500,t\n"
                                         "refinery,fly_ash,300,t\n")
    (tmp_path / "demands.csv").write_text("enterprise_id,resource_code,quantity,unit\nboard,fly_ash,400,t\n"
                                          "cement,fly_ash,200,t\n")
    import_files(db, [tmp_path / "offers.csv", tmp_path / "demands.csv"])
    return db_path


def _leftovers(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir() if path.name.endswith((".tmp", ".check"))]


# ------------------------------------------------------------------------------ 9. disk and output faults

def test_map_to_dev_full_is_one_clear_line(park):
    result = _run(["map", "--park", "p1", "--db", park, "-o", "/dev/full"], "rejected",
                  "cannot write /dev/full: No space left on device", exit_code=1)
    assert result.output.count("\n") == 1


def test_map_into_proc_and_into_a_missing_folder(park, tmp_path):
    _run(["map", "--park", "p1", "--db", park, "-o", "/proc/x.html"], "rejected", "cannot write /proc/x.html",
         exit_code=1)
    _run(["map", "--park", "p1", "--db", park, "-o", tmp_path / "no" / "map.html"], "rejected",
         "folder", exit_code=1)
    _run(["report", "--park", "p1", "--db", park, "--no-map", "-o", "/proc/r.html"], "rejected",
         "cannot write /proc/r.html", exit_code=1)


def test_immutable_file_is_refused_and_kept(park, tmp_path, monkeypatch):
    target = tmp_path / "map.html"
    target.write_text("old map")
    immutable = shutil.which("chattr") and subprocess.run(["chattr", "+i", str(target)],
                                                         capture_output=True).returncode == 0
    try:
        if not immutable:  # no chattr here (not root, or a file system without it): what rename then says
            def refuse(*args, **kwargs):
                raise PermissionError(errno.EPERM, "Operation not permitted")
            monkeypatch.setattr("symbiosis.export.os.replace", refuse)
        _run(["map", "--park", "p1", "--db", park, "-o", target], "rejected", f"cannot write {target}", exit_code=1)
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(target)], check=True)
    assert target.read_text() == "old map" and _leftovers(tmp_path) == []


def test_full_disk_during_the_write_keeps_the_old_file(park, tmp_path):
    """A real process with a 100 kB file-size limit: the map (~1 MB) cannot be written. The old file stays
    whole (before: a truncated page) and no temporary file is left."""
    target = tmp_path / "map.html"
    target.write_text("old map")
    record(AREA, "tried")
    result = _subprocess(["map", "--park", "p1", "--db", park, "-o", target], tmp_path, limit_bytes=100_000)
    if "Traceback" in result.stderr:
        record(AREA, "traceback")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"cannot write {target}: File too large" in result.stderr
    assert target.read_text() == "old map" and _leftovers(tmp_path) == []
    record(AREA, "rejected")


def test_no_space_at_flush_keeps_the_old_file(park, tmp_path, monkeypatch):
    """ENOSPC reported late (delayed allocation: at fsync): the rename never happens."""
    target = tmp_path / "flows.csv"
    target.write_text("old,export\n")

    def full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("symbiosis.export.os.fsync", full)
    _run(["export", "--db", park, "-o", target], "rejected", "No space left on device", exit_code=1)
    assert target.read_text() == "old,export\n" and _leftovers(tmp_path) == []


def test_writer_keeps_links_and_permissions(tmp_path):
    """A symbolic link keeps pointing at the (new) file; an existing file keeps its mode; a new one gets
    the usual 0666-less-umask, not a temporary file's 0600."""
    record(AREA, "tried", 3)
    real = tmp_path / "real.csv"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_output(link, "new")
    assert link.is_symlink() and real.read_text() == "new" and (real.stat().st_mode & 0o777) == 0o640
    umask = os.umask(0o022)
    try:
        write_output(tmp_path / "fresh.csv", b"x")
    finally:
        os.umask(umask)
    assert (tmp_path / "fresh.csv").stat().st_mode & 0o777 == 0o644

    def broken(handle):
        handle.write(b"half")
        raise InputError("stopped half-way")

    with pytest.raises(InputError, match="half-way"):
        write_output(real, broken)
    assert real.read_text() == "new" and _leftovers(tmp_path) == []
    record(AREA, "accepted", 3)


def test_export_to_dev_stdout_is_only_data(park, tmp_path):
    """'wrote ...' goes to stderr: the CSV on stdout parses whole."""
    record(AREA, "tried")
    result = _subprocess(["export", "--db", park, "-o", "/dev/stdout", "--format", "csv"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 9 and "wrote /dev/stdout (8 nodes, 9 flows)" in result.stderr
    assert "wrote" not in result.stdout
    record(AREA, "accepted")


def test_dash_means_standard_output_for_text_formats(park, tmp_path):
    result = _run(["export", "--db", park, "-o", "-", "--format", "json"], "accepted")
    assert json.loads(result.stdout)["edges"]  # stdout is the document alone
    _run(["export", "--db", park, "-o", "-"], "rejected", "needs a format", exit_code=1)
    page = _run(["map", "--park", "p1", "--db", park, "-o", "-"], "accepted")
    assert page.stdout.startswith("<!DOCTYPE html>") and "wrote standard output" in page.stderr
    _run(["match", "--park", "p1", "--db", park, "-o", "-"], "rejected", "--format csv or json", exit_code=2)
    record(AREA, "tried")
    with pytest.raises(InputError, match="binary"):
        export_matches(pd.DataFrame(), pd.DataFrame(), "-", fmt="xlsx")
    record(AREA, "rejected")


# ------------------------------------------------------------------------------ 10. spreadsheets

def _formula_store(tmp_path: Path, park_id: str, name_a: str, name_b: str) -> Path:
    db_path = tmp_path / "formula.db"
    db = open_store(db_path)
    folder = tmp_path / "formula"
    folder.mkdir()
    (folder / "parks.csv").write_text("id,name\n" + f'"{park_id}",Formula Park\n')
    (folder / "enterprises.csv").write_text(
        "id,name,park_id,lat,lon\n" + f'a1,"{name_a}","{park_id}",55.0,11.0\n' + f'b1,"{name_b}","{park_id}",55.01,11.0\n'
        + f'c1,"-2+3 Corp","{park_id}",55.02,11.0\n')
    (folder / "offers.csv").write_text("enterprise_id,resource_code,quantity,unit\na1,fly_ash,100,t\n")
    (folder / "demands.csv").write_text("enterprise_id,resource_code,quantity,unit\nb1,fly_ash,80,t\nc1,fly_ash,10,t\n")
    (folder / "flows.csv").write_text("source_id,target_id,resource_code,quantity,unit\na1,b1,fly_ash,5,t\n"
                                      "b1,c1,fly_ash,4,t\nc1,a1,fly_ash,3,t\n")
    import_files(db, [folder / f"{table}.csv" for table in ("parks", "enterprises", "offers", "demands", "flows")])
    return db_path


def _workbook_formulas(path: Path) -> int:
    """<f> elements (formulas) anywhere in the workbook's XML."""
    with zipfile.ZipFile(path) as archive:
        return sum(archive.read(name).count(b"<f>") + archive.read(name).count(b"<f ")
                   for name in archive.namelist() if name.endswith(".xml"))


def test_xlsx_park_id_and_every_cell_stay_text(tmp_path):
    db_path = _formula_store(tmp_path, "=1+2", "=HYPERLINK(\"http://x\")", "@SUM(1)")
    book_path = tmp_path / "x.xlsx"
    _run(["match", "--park", "=1+2", "--db", db_path, "-o", book_path, "--quiet"], "accepted")
    assert _workbook_formulas(book_path) == 0
    book = openpyxl.load_workbook(book_path)
    park_cells = [cell for row in book["summary"].iter_rows() for cell in row if cell.value == "=1+2"]
    assert park_cells and all(cell.data_type == "s" and cell.quotePrefix for cell in park_cells)
    names = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
             if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START)]
    assert names and all(cell.data_type == "s" and cell.quotePrefix for cell in names)


def test_xlsx_control_characters_are_spelt_out(tmp_path):
    db_path = _formula_store(tmp_path, "pz", "Bell\x07 Works", "Esc\x1b[31m Mill")
    book_path = tmp_path / "ctl.xlsx"
    _run(["match", "--park", "pz", "--db", db_path, "-o", book_path, "--quiet"], "accepted")
    book = openpyxl.load_workbook(book_path)
    texts = [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
             if isinstance(cell.value, str)]
    assert "Bell\\x07 Works" in texts and "Esc\\x1b[31m Mill" in texts
    assert not any(re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text) for text in texts + book.sheetnames)


@pytest.mark.parametrize("command", [
    ["match", "--park", "pz"], ["loops"], ["info"], ["export", "-o", "-", "--format", "csv"],
    ["carbon"], ["colocate"],
])
def test_csv_on_standard_output_is_neutralised(tmp_path, command):
    """The same neutraliser as the files: no cell of the CSV a command prints starts like a formula
    (before: 147 such cells in the corpus), and numbers stay numbers."""
    db_path = _formula_store(tmp_path, "pz", "=1+2 Works", "+cmd|calc")
    args = command + ["--db", db_path] + ([] if command[0] == "export" else ["--format", "csv"])
    result = _run(args, "accepted")
    cells = [cell for row in csv.reader(io.StringIO(result.stdout)) for cell in row]

    def formula(cell: str) -> bool:
        if not cell.startswith(FORMULA_START):
            return False
        try:
            float(cell)  # -5.0 is a number, written as a number
            return False
        except ValueError:
            return True

    assert cells and [cell for cell in cells if formula(cell)] == []
    if command[0] in ("match", "loops", "export"):
        assert any(cell.startswith("'=1+2 Works") or cell.startswith("'+cmd") for cell in cells)


# ------------------------------------------------------------------------------ 12. partial results

def test_match_save_refuses_a_bad_output_before_saving(park, tmp_path):
    db = open_store(park, create=False)
    before = dump(db)
    for output, fragment in ((tmp_path / "plan.txt", "unknown list format 'txt'"),
                             (tmp_path / "no" / "plan.csv", "folder"),
                             ("/proc/plan.csv", "cannot write /proc/plan.csv")):
        _run(["match", "--park", "p1", "--db", park, "--save", "-o", output], "rejected", fragment, exit_code=1)
        assert dump(open_store(park, create=False)) == before  # nothing saved
    record(AREA, "tried")
    assert _leftovers(tmp_path) == []
    record(AREA, "rejected")


def test_match_save_to_a_device_without_a_format_saves_nothing(park):
    """/dev/full has no suffix, so no list format: refused before the plan is saved."""
    before = dump(open_store(park, create=False))
    _run(["match", "--park", "p1", "--db", park, "--save", "-o", "/dev/full"], "rejected", "unknown list format",
         exit_code=1)
    assert dump(open_store(park, create=False)) == before


def test_match_save_with_late_failure_reports_the_import(park, tmp_path, monkeypatch):
    target = tmp_path / "plan.csv"

    def full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("symbiosis.export.os.fsync", full)
    result = _run(["match", "--park", "p1", "--db", park, "--save", "-o", target], "rejected",
                  "the plan WAS saved to the store", exit_code=1)
    undo_id = re.search(r"symbiosis undo (\d+)", result.output).group(1)
    db = open_store(park, create=False)
    assert db.execute("SELECT count(*) FROM flows WHERE status = 'potential'").fetchone()[0] > 0
    assert not target.exists() and _leftovers(tmp_path) == []
    monkeypatch.undo()
    _run(["undo", undo_id, "--db", park], "accepted")
    assert open_store(park, create=False).execute(
        "SELECT count(*) FROM flows WHERE status = 'potential'").fetchone()[0] == 0


def test_import_draft_map_path_checked_before_importing(park, tmp_path):
    before = dump(open_store(park, create=False))
    flows = tmp_path / "flows_new.csv"
    flows.write_text("source_id,target_id,resource_code,quantity,unit\npower,cement,fly ashh,5,t\n")
    _run(["import", flows, "--table", "flows", "--db", park, "--write-resource-map", tmp_path / "no" / "map.csv"],
         "rejected", "folder", exit_code=1)
    assert dump(open_store(park, create=False)) == before


# ------------------------------------------------------------------------------ 13. options and settings

@pytest.mark.parametrize("name, fragment", [
    ("weights_nan.toml", "finite"), ("weights_inf.json", "finite"), ("weights_minus_inf.toml", "finite"),
    ("weights_boolean.toml", "must be a number"),
])
def test_weights_must_be_finite(park, name, fragment):
    _run(["match", "--park", "p1", "--db", park, "--weights", CORPUS / name], "rejected", fragment, exit_code=1)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_deeply_nested_weights(park, tmp_path, suffix):
    path = tmp_path / f"deep{suffix}"
    depth = 100_000
    path.write_text(("a = " + "[" * depth + "]" * depth) if suffix == ".toml" else ("[" * depth + "]" * depth))
    _run(["match", "--park", "p1", "--db", park, "--weights", path], "rejected", "nested too deeply", exit_code=1)


@pytest.mark.parametrize("option, name, fragment", [
    ("--factors", "factors_empty.csv", "the file is empty"),
    ("--factors", "factors_nan.csv", "expected a finite number"),
    ("--factors", "factors_inf.csv", "expected a finite number"),
    ("--prices", "prices_inf.csv", "expected a finite number"),
    ("--substitutes", "substitutes_empty.csv", "the file is empty"),
])
def test_factor_tables_empty_or_not_finite(park, option, name, fragment):
    _run(["match", "--park", "p1", "--db", park, option, CORPUS / name], "rejected", fragment, exit_code=1)
    if option == "--factors":
        _run(["carbon", "--db", park, option, CORPUS / name], "rejected", fragment, exit_code=1)


@pytest.mark.parametrize("args", [
    ["scorecard", "--year", "99999999999999999999"], ["carbon", "--year", "99999999999999999999"],
    ["loops", "--year", "99999999999999999999"], ["metrics", "--year", "-5"], ["export", "-o", "-", "--format",
                                                                                "csv", "--year", "2201"],
    ["match", "--park", "p1", "--radius-km", "nan"], ["match", "--park", "p1", "--radius-km", "inf"],
    ["carbon", "--max-km", "nan"], ["colocate", "--match-km", "inf"], ["metrics", "--threshold", "nan"],
    ["scorecard", "--min-coverage", "nan"], ["undo", "99999999999999999999"],
])
def test_out_of_range_options_are_usage_errors(park, args):
    _run(args + ["--db", park], "rejected", "Invalid value", exit_code=2)


def test_years_inside_the_range_still_work(park):
    _run(["scorecard", "--year", "2002", "--db", park], "accepted")
    _run(["loops", "--year", "1800", "--db", park], "accepted")


def test_scorecard_and_report_on_a_5000_firm_cycle(tmp_path):
    """A cycle too large for the dense integral matrix: the cycling index is unknown with the reason
    (metrics' internal _TooLarge is caught by known_cycling_index), never a traceback."""
    n = 5000
    folder = tmp_path / "cycle"
    folder.mkdir()
    (folder / "parks.csv").write_text("id,name\nbig,Big Park\n")
    (folder / "enterprises.csv").write_text("id,name,park_id,lat,lon\n" + "".join(
        f"f{i},Firm {i},big,{55 + i * 1e-4:.4f},11.0\n" for i in range(n)))
    (folder / "flows.csv").write_text("source_id,target_id,resource_code,quantity,unit\n" + "".join(
        f"f{i},f{(i + 1) % n},fly_ash,{10 + i % 7},t\n" for i in range(n)) + ",f0,coal,5,t\nf1,,fly_ash,5,t\n")
    db_path = tmp_path / "cycle.db"
    import_files(open_store(db_path), [folder / "parks.csv", folder / "enterprises.csv", folder / "flows.csv"])
    result = _run(["scorecard", "--db", db_path, "--format", "json"], "accepted")
    cycling = [row for row in json.loads(result.stdout) if row["indicator"] == "mass_cycling_index"]
    assert cycling[0]["value"] is None and "dense inverse of 5,000 firms" in cycling[0]["reason"]
    _run(["report", "--db", db_path, "--no-map", "-o", tmp_path / "r.html"], "accepted")
    assert "mass_cycling_index" in (tmp_path / "r.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ 14. smaller

def test_match_unknown_park_exits_1(park):
    _run(["match", "--park", "nowhere", "--db", park], "rejected", "no park 'nowhere' in the store", exit_code=1)


def _arrow_store(tmp_path: Path) -> Path:
    """A loop of three firms whose ids contain the loop separator " -> "."""
    db_path = tmp_path / "arrow.db"
    folder = tmp_path / "arrow"
    folder.mkdir()
    (folder / "parks.csv").write_text("id,name\npa,Arrow Park\n")
    (folder / "enterprises.csv").write_text("id,name,park_id\na -> b,Firm AB,pa\nc,Firm C,pa\nd -> e -> f,Firm DEF,pa\n")
    (folder / "flows.csv").write_text("source_id,target_id,resource_code,quantity,unit\n"
                                      "a -> b,c,fly_ash,5,t\nc,d -> e -> f,fly_ash,4,t\nd -> e -> f,a -> b,fly_ash,3,t\n")
    import_files(open_store(db_path), [folder / "parks.csv", folder / "enterprises.csv", folder / "flows.csv"])
    return db_path


def _strict(constant: str):
    raise AssertionError(f"{constant} in the page's data: not JSON, and not a figure")


def _page_data(html: str) -> dict:
    """The map's data, parsed as strict JSON (NaN and Infinity refused: the page's JSON.parse would fail)."""
    text = re.search(r"var DATA = (\{.*?\});\n", html, re.S).group(1)
    return json.loads(text, parse_constant=_strict)


def test_loop_with_arrow_ids_highlights_the_real_firms(tmp_path):
    db_path = _arrow_store(tmp_path)
    _run(["map", "--park", "pa", "--db", db_path, "-o", tmp_path / "m.html"], "accepted")
    data = _page_data((tmp_path / "m.html").read_text(encoding="utf-8"))
    assert len(data["loops"]) == 1
    node_ids = {node["id"] for node in data["nodes"]}
    edge_ids = {edge["id"] for edge in data["edges"]}
    loop = data["loops"][0]
    assert sorted(loop["nodes"]) == ["a -> b", "c", "d -> e -> f"] and set(loop["nodes"]) <= node_ids
    assert len(loop["edges"]) == 3 and set(loop["edges"]) <= edge_ids


def test_loop_with_arrow_ids_in_chromium(browser, tmp_path):
    from .browser import open_page, wait_drawn

    db_path = _arrow_store(tmp_path)
    path = tmp_path / "m.html"
    _run(["map", "--park", "pa", "--db", db_path, "-o", path], "accepted")
    record(AREA, "tried")
    page, seen = open_page(browser, path)
    wait_drawn(page)
    page.locator("#loop-select").select_option(index=1)
    selected = page.evaluate("() => window.symbiosisMap.network.getSelectedNodes()")
    page.close()
    assert sorted(selected) == ["a -> b", "c", "d -> e -> f"] and seen["errors"] == []
    record(AREA, "accepted")


# ------------------------------------------------------------------------------ 8. sums that overflow

@pytest.fixture
def huge(park):
    """Flows, offers and demands of 1.7e308 t: a store written before the import guard (values set in
    SQLite directly, as the importer now refuses them)."""
    connection = sqlite3.connect(park)
    with connection:
        connection.execute("UPDATE flows SET quantity = 1.7e308 WHERE resource_code IN ('fly_ash', 'fgd_gypsum')")
        connection.execute("INSERT INTO flows (id, source_id, target_id, resource_code, kind, quantity, unit, year, "
                           "status) SELECT 'huge2', 'power', 'board', resource_code, kind, quantity, unit, year, "
                           "status FROM flows WHERE resource_code = 'fgd_gypsum'")
        connection.execute("UPDATE offers SET quantity = 1.7e308")
        connection.execute("UPDATE demands SET quantity = 1.7e308")
    connection.close()
    return park


def test_map_and_report_with_sums_beyond_the_largest_float(huge, tmp_path):
    _run(["map", "--park", "p1", "--db", huge, "-o", tmp_path / "m.html"], "accepted")
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    data = _page_data(html)  # strict JSON: no Infinity, no NaN
    assert "too large to add up" in html
    assert all(8 <= node["size"] <= 40 for node in data["nodes"])
    _run(["report", "--park", "p1", "--db", huge, "-o", tmp_path / "r.html"], "accepted")
    report = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "too large to add up" in report and not re.search(r">\s*-?inf\s*<|\"-?inf\"|=\"-?inf", report)


def test_aggregated_map_with_overflowing_edges():
    import networkx as nx

    from viz.map import build_map

    record(AREA, "tried")
    G = nx.MultiDiGraph()
    for i in range(20):
        G.add_node(f"f{i}", name=f"Firm {i}", park_id=f"p{i % 2}", boundary=False)
    for i in range(20):
        G.add_edge(f"f{i}", f"f{(i + 1) % 20}", key=f"e{i}", kind="waste", currency="mass", resource="fly_ash",
                   quantity=1.7e308, unit="t/yr", status="existing")
    html = build_map(G, max_nodes=10)
    data = _page_data(html)
    assert "parks (firms aggregated)" in html and "too large to add up" in html
    assert all(0 < edge["width"] <= 10 for edge in data["edges"])
    record(AREA, "accepted")


def test_match_with_quantities_near_the_largest_float(huge, tmp_path):
    """The plan is solved (rows scaled by capacity: HiGHS refused the raw model), figures that overflow
    are unknown with a note, and the lists write. The power-to-cement fly ash is made a planned flow in a
    copy of the store: existing, it would already give the whole offer and meet the whole demand."""
    copy = tmp_path / "huge-planned.db"
    source, connection = sqlite3.connect(huge), sqlite3.connect(copy)
    source.backup(connection)  # the store may hold pages in its write-ahead log: a file copy could miss them
    source.close()
    with connection:
        connection.execute("UPDATE flows SET status = 'planned' WHERE resource_code = 'fly_ash'")
    connection.close()
    huge = str(copy)
    result = _run(["match", "--park", "p1", "--db", huge, "--format", "json"], "accepted")
    document = json.loads(result.stdout)
    planned = [row for row in document["candidates"] if row["plan_share"]]
    assert document["titles"]["candidates"] == ("candidates (weighted_sum; weights co2_avoided 0.40, value 0.30, "
                                                "distance 0.15, quantity_match 0.15)")
    assert planned and all(row["co2_avoided_t"] is None for row in planned)
    assert "too large" in document["notes"][next(iter(document["notes"]))]
    summary = document["plan_totals_per_unit"][0]
    assert summary["plan_quantity"] is None and summary["in_plan"] >= 1
    _run(["match", "--park", "p1", "--db", huge, "-o", tmp_path / "lists.xlsx", "--quiet"], "accepted")
    _run(["match", "--park", "p1", "--db", huge, "-o", tmp_path / "lists.json", "--quiet"], "accepted")
    json.loads((tmp_path / "lists.json").read_text(encoding="utf-8"), parse_constant=_strict)
