"""Every analysis as a workbook: -o result.xlsx (issue 18, item 2)."""
import json

import openpyxl
import pytest
from click.testing import CliRunner

from cli import cli

COMMANDS = [["info"], ["loops", "--park", "zcp"], ["metrics", "--park", "zcp"], ["carbon", "--park", "zcp"],
            ["colocate", "--park", "zcp"], ["scorecard", "--park", "zcp"]]


def _run(arguments):
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("command", COMMANDS, ids=[command[0] for command in COMMANDS])
def test_each_analysis_writes_a_workbook_of_its_full_tables(demo_db, tmp_path, command):
    path = tmp_path / f"{command[0]}.xlsx"
    _run([*command, "--db", str(demo_db), "-o", str(path)])
    document = json.loads(_run([*command, "--db", str(demo_db), "--format", "json"]).stdout)
    tables = ({name: rows for name, rows in document.items() if name not in ("notes", "titles")}
              if isinstance(document, dict) else {"table": document})
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "about" and len(book.sheetnames) == len(tables) + 1
    about = {row[0]: row[1] for row in book["about"].iter_rows(values_only=True) if row[0]}
    assert about["command"] == f"symbiosis {command[0]}" and about["symbiosis version"]
    for sheet_name, rows in zip(book.sheetnames[1:], tables.values()):
        sheet = book[sheet_name]
        assert sheet.max_row == len(rows) + 1  # every row, as JSON gives them
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref and sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.fitToWidth == 1
        for column in sheet.iter_cols(min_row=2):
            numeric = [cell for cell in column if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool)]
            assert len({cell.number_format for cell in numeric}) <= 1  # one number format per column
        if rows:
            for cell, value in zip(sheet[2], rows[0].values()):
                if value is None:
                    assert cell.value is None  # unknown stays empty, never 0
                elif isinstance(value, bool):
                    assert cell.value is value  # TRUE/FALSE, not 1/0


def test_formula_like_text_stays_text_and_a_bad_suffix_fails_before_any_work(tmp_path):
    import pandas as pd

    from symbiosis.export import export_tables

    frame = pd.DataFrame({"name": ['=HYPERLINK("http://x")', "plain"], "share": [0.5, None], "ok": [True, False]})
    path = export_tables({"firms": frame}, tmp_path / "t.xlsx", about={"command": "test"})
    sheet = openpyxl.load_workbook(path)["firms"]
    assert sheet["A2"].data_type == "s" and sheet["A2"].value.startswith("=") and sheet["A2"].quotePrefix
    assert sheet["B3"].value is None and sheet["C2"].value is True and sheet["C3"].value is False
    assert [cell.value for cell in sheet[1]] == ["name", "share", "ok"]
    result = CliRunner().invoke(cli, ["loops", "--db", str(tmp_path / "none.db"), "-o", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "xlsx" in result.output


def test_table_picks_one_table_that_a_csv_reader_loads(demo_db):
    import io

    import pandas as pd

    result = _run(["carbon", "--db", str(demo_db), "--park", "zcp", "--table", "park_view", "--format", "csv"])
    frame = pd.read_csv(io.StringIO(result.stdout))
    full = json.loads(_run(["carbon", "--db", str(demo_db), "--park", "zcp", "--format", "json"]).stdout)
    assert frame["figure"].tolist() == [row["figure"] for row in full["park_view"]]
    as_json = json.loads(_run(["colocate", "--db", str(demo_db), "--park", "zcp", "--table", "gaps", "--format",
                               "json"]).stdout)
    assert as_json == full_gaps(demo_db)
    wrong = CliRunner().invoke(cli, ["carbon", "--db", str(demo_db), "--table", "nothing", "--format", "csv"])
    assert wrong.exit_code != 0 and "park_view" in wrong.output


def full_gaps(demo_db):
    return json.loads(_run(["colocate", "--db", str(demo_db), "--park", "zcp", "--format", "json"]).stdout)["gaps"]


def test_a_folder_output_holds_one_loadable_csv_per_table(demo_db, tmp_path):
    import pandas as pd

    folder = tmp_path / "carbon"
    _run(["carbon", "--db", str(demo_db), "--park", "zcp", "-o", f"{folder}/"])
    document = json.loads(_run(["carbon", "--db", str(demo_db), "--park", "zcp", "--format", "json"]).stdout)
    keys = [key for key in document if key not in ("notes", "titles")]
    assert sorted(path.name for path in folder.iterdir()) == sorted([f"{key}.csv" for key in keys] + ["about.json"])
    for key in keys:
        frame = pd.read_csv(folder / f"{key}.csv")
        assert len(frame) == len(document[key])
    about = json.loads((folder / "about.json").read_text(encoding="utf-8"))
    assert about["tables"] == document["titles"] and about["command"] == "symbiosis carbon"


def test_libreoffice_opens_every_workbook(demo_db, tmp_path):
    """LibreOffice (headless, Debian's libreoffice-calc-nogui) converts each analysis workbook without error."""
    import os
    import shutil
    import subprocess

    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install libreoffice-calc-nogui: .ci/run does")
        pytest.skip("LibreOffice (soffice) is not installed")
    books = []
    for command in COMMANDS:
        path = tmp_path / f"{command[0]}.xlsx"
        _run([*command, "--db", str(demo_db), "-o", str(path)])
        books.append(path)
    out = tmp_path / "converted"
    run = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                          "--convert-to", "ods", "--outdir", str(out), *map(str, books)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert sorted(path.name for path in out.iterdir()) == sorted(book.stem + ".ods" for book in books)
    assert all(path.stat().st_size > 0 for path in out.iterdir())
