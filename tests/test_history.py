"""Provenance: history lists imports; undo removes one import's rows and restores what it replaced."""
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.errors import InputError, UnknownIdError
from symbiosis.history import history, undo_import
from symbiosis.ingest import import_files

from .conftest import GOOD, dump


def test_history_and_undo_of_a_bad_load(filled, tmp_path):
    before = dump(filled)
    bad = tmp_path / "flows.csv"
    bad.write_text("source_id,target_id,resource_code,quantity,unit,year\n"
                   "power,board,fgd_gypsum,999,kt,2002\n"       # replaces the stored 200 kt
                   "refinery,cement,sulphur,5,kt,2002\n")        # a new row
    report = import_files(filled, [bad])
    import_id = report.files[0].import_id
    table = history(filled)
    assert table.iloc[-1]["import_id"] == import_id and table.iloc[-1]["inserted"] == 1
    assert table.iloc[-1]["updated"] == 1 and table.iloc[-1]["rows_now"] == 2
    changed = undo_import(filled, import_id)
    assert changed == {"removed": {"flows": 2}, "restored": {"flows": 1}}
    after = dump(filled)
    assert after["flows"] == before["flows"] and after["imports"] == before["imports"]
    assert filled["flows"].get("power>board:fgd_gypsum:2002")["quantity"] == 200_000


def test_undo_refuses_while_others_depend(filled, tmp_path):
    firms_import = history(filled).query("table == 'enterprises'").iloc[0]["import_id"]
    with pytest.raises(InputError, match="rows of other imports still refer"):
        undo_import(filled, int(firms_import))
    assert filled["enterprises"].count == 5  # nothing changed
    with pytest.raises(UnknownIdError):
        undo_import(filled, 999)


def test_undo_refuses_when_a_later_import_replaced_its_rows(filled, tmp_path):
    first, second = tmp_path / "a" / "parks.csv", tmp_path / "b" / "parks.csv"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_text("id,name\nnew,First Name\n")
    second.write_text("id,name\nnew,Second Name\n")
    one = import_files(filled, [first]).files[0].import_id
    two = import_files(filled, [second]).files[0].import_id
    with pytest.raises(InputError, match="replaced by later imports"):
        undo_import(filled, one)
    undo_import(filled, two)
    assert filled["parks"].get("new")["name"] == "First Name"
    undo_import(filled, one)
    assert filled.execute("SELECT count(*) FROM parks WHERE id = 'new'").fetchone()[0] == 0


def test_cli_history_and_undo(db_path):
    runner = CliRunner()
    files = [str(path) for path in sorted(GOOD.glob("*.csv"))]
    runner.invoke(cli, ["import", *files, "--db", str(db_path), "--quiet"])
    listing = runner.invoke(cli, ["history", "--db", str(db_path)])
    assert listing.exit_code == 0 and "flows.csv" in listing.output
    flows_import = [line.split()[0] for line in listing.output.splitlines() if "flows.csv" in line][0]
    result = runner.invoke(cli, ["undo", flows_import, "--db", str(db_path)])
    assert result.exit_code == 0 and "removed 9 flows" in result.output
    again = runner.invoke(cli, ["undo", flows_import, "--db", str(db_path)])
    assert again.exit_code == 1 and "no import" in again.output
