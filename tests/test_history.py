"""Provenance: history lists imports; undo removes one import's rows and restores what it replaced."""
import json

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
    assert changed == {"removed": {"flows": 1}, "restored": {"flows": 1}}
    after = dump(filled)
    assert after["flows"] == before["flows"] and after["imports"][:-1] == before["imports"]
    undone = history(filled).iloc[-1]  # the undone import stays in the history, marked
    assert undone["import_id"] == import_id and undone["undone_at"] and undone["rows_now"] == 0
    assert filled["flows"].get("power>board:fgd_gypsum:2002")["quantity"] == 200_000


def test_undo_refuses_while_others_depend(filled, tmp_path):
    firms_import = history(filled).query("table == 'enterprises'").iloc[0]["import_id"]
    with pytest.raises(InputError, match="rows of other imports refer to rows it added") as caught:
        undo_import(filled, int(firms_import))
    # the refusal names the rows that depend on the import
    assert "flows 'power>board:fgd_gypsum:2002' (import" in str(caught.value) and "enterprise 'board'" in str(caught.value)
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
    assert again.exit_code == 1 and "undone already" in again.output
    listing = runner.invoke(cli, ["history", "--db", str(db_path), "--format", "json"])
    assert [row["undone_at"] is not None for row in json.loads(listing.stdout)] == [False, False, False, True]


def test_undo_of_an_update_only_import_restores_the_previous_values(filled, tmp_path):
    """Renaming firms that flows refer to, then undoing it: the names come back, the flows stay."""
    before = dump(filled)
    renamed = tmp_path / "enterprises.csv"
    renamed.write_text("id,name,employees\npower,Asnaes Power Station,310\nboard,Gyproc,\n")
    report = import_files(filled, [renamed])
    assert (report.files[0].inserted, report.files[0].updated) == (0, 2)
    assert filled["enterprises"].get("power")["name"] == "Asnaes Power Station"
    changed = undo_import(filled, report.files[0].import_id)
    assert changed == {"removed": {}, "restored": {"enterprises": 2}}
    after = dump(filled)
    assert {table: rows for table, rows in after.items() if table != "imports"} == \
        {table: rows for table, rows in before.items() if table != "imports"}
