import json

import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.store import SCHEMA_VERSION, open_store, table_counts

from .conftest import BAD, GOOD, dump


@pytest.fixture
def runner():
    return CliRunner()


def _import_good(runner, db_path, *extra):
    files = [str(path) for path in sorted(GOOD.glob("*.csv"))]
    return runner.invoke(cli, ["import", *files, "--db", str(db_path), *extra])


def test_init_creates_store(runner, db_path):
    result = runner.invoke(cli, ["init", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "created" in result.output and f"schema version {SCHEMA_VERSION}" in result.output
    assert db_path.exists()


def test_import_then_info_in_every_format(runner, db_path):
    result = _import_good(runner, db_path)
    assert result.exit_code == 0, result.output
    assert "flows.csv" in result.output
    table = runner.invoke(cli, ["info", "--db", str(db_path)])
    assert table.exit_code == 0 and "Harbour Park" in table.output and "tCO2e/yr" in table.output
    as_json = json.loads(runner.invoke(cli, ["info", "--db", str(db_path), "--format", "json"]).output)
    assert {record["table"]: record["rows"] for record in as_json["tables"]}["flows"] == 9
    assert isinstance(as_json["flows"], list) and as_json["flows"][0]["kind"]
    as_csv = runner.invoke(cli, ["info", "--db", str(db_path), "--format", "csv"]).output
    assert "table,rows" in as_csv and "park_id,name,enterprises" in as_csv


def test_import_report_as_json_records(runner, db_path):
    result = _import_good(runner, db_path, "--format", "json", "--quiet")
    records = json.loads(result.stdout)
    assert [record["table"] for record in records] == ["parks", "enterprises", "flows"]
    assert records[2]["inserted"] == 9


def test_bad_file_exits_non_zero_with_location_and_changes_nothing(runner, db_path):
    _import_good(runner, db_path)
    before = dump(open_store(db_path))
    result = runner.invoke(cli, ["import", str(BAD / "flows_bad_values.csv"), "--db", str(db_path)])
    assert result.exit_code == 1
    assert "flows_bad_values.csv, row 4, column 'target_id': 'ghost'" in result.output
    assert "Traceback" not in result.output
    assert dump(open_store(db_path)) == before


def test_dry_run_writes_nothing(runner, db_path):
    result = _import_good(runner, db_path, "--dry-run")
    assert result.exit_code == 0 and "dry run" in result.output
    assert table_counts(open_store(db_path))["flows"] == 0


def test_map_option(runner, db_path, tmp_path):
    survey = tmp_path / "survey.csv"
    survey.write_text("Code,Title\nq1,Mapped Park\n")
    result = runner.invoke(cli, ["import", str(survey), "--table", "parks", "--map", "Code=id",
                                 "--map", "Title=name", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert open_store(db_path)["parks"].get("q1")["name"] == "Mapped Park"


def test_database_from_environment(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYMBIOSIS_DB", str(tmp_path / "from_env.db"))
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert (tmp_path / "from_env.db").exists()
    monkeypatch.delenv("SYMBIOSIS_DB")
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert (tmp_path / "symbiosis.db").exists()


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "json", "csv"])
def test_export_formats(runner, db_path, tmp_path, fmt):
    _import_good(runner, db_path)
    out = tmp_path / f"park.{fmt}"
    result = runner.invoke(cli, ["export", "--db", str(db_path), "-o", str(out), "--park", "p1"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0 and "flows)" in result.output


def test_errors_are_one_clear_line(runner, db_path, tmp_path):
    missing = runner.invoke(cli, ["info", "--db", str(tmp_path / "absent.db")])
    assert missing.exit_code == 1 and "symbiosis init" in missing.output
    _import_good(runner, db_path)
    unknown = runner.invoke(cli, ["export", "--db", str(db_path), "-o", str(tmp_path / "x.json"), "--park", "nope"])
    assert unknown.exit_code == 1 and "no park 'nope'" in unknown.output
    bad_kind = runner.invoke(cli, ["export", "--db", str(db_path), "-o", str(tmp_path / "x.json"), "--kinds", "plasma"])
    assert bad_kind.exit_code == 1 and "unknown kind" in bad_kind.output


def test_demo_builds_store_from_shipped_data(runner, tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(cli, ["demo", "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    rows = {record["table"]: record["rows"] for record in summary["tables"]}
    assert rows["enterprises"] >= 14 and rows["flows"] >= 30
    assert (out / "demo.db").exists()
    again = runner.invoke(cli, ["demo", "--out", str(out), "--format", "json"])
    assert json.loads(again.stdout) == summary  # rebuilt, same result


def test_version(runner):
    assert runner.invoke(cli, ["--version"]).output.startswith("symbiosis, version")
