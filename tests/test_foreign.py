"""The messy real file set (tests/data/foreign): in with flags only, then every analysis command.

The import commands are read from tests/data/foreign/README.md, so what the README tells a user is
what this test runs. Lubei's published exchanges carry no quantity at all: every flow-weighted figure
must then be unknown (null with a reason, coverage 0), never 0 or nan.
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli

FOREIGN = Path(__file__).parent / "data" / "foreign"
REPO = Path(__file__).parent.parent
PARKS = ("lubei", "handelo")


def readme_commands() -> list[list[str]]:
    """Each `symbiosis import ...` command of the README, as argument lists (without 'symbiosis')."""
    text = (FOREIGN / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip().startswith("symbiosis import"):
                commands.append(shlex.split(command)[1:])
    return commands


@pytest.fixture(scope="module")
def foreign_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("foreign") / "foreign.db"
    runner = CliRunner()
    commands = readme_commands()
    assert len(commands) >= 6
    for args in commands:
        args = [str(db) if arg == "foreign.db" else arg for arg in args]
        assert "--db" in args
        # the README's paths are relative to the repository root
        args = [str(REPO / arg) if arg.startswith("tests/") else arg for arg in args]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
    return db


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert not re.search(r"\bnan\b", result.output, flags=re.I), result.output
    return result.stdout  # notes and warnings go to stderr


def test_files_go_in_with_flags_only(foreign_db):
    info = json.loads(CliRunner().invoke(cli, ["info", "--db", str(foreign_db), "--format", "json"]).output)
    counts = {row["table"]: row["rows"] for row in info["tables"]}
    assert counts["parks"] == 2 and counts["enterprises"] == 27 and counts["flows"] == 38
    from symbiosis.store import open_store

    db = open_store(foreign_db, create=False)
    # free text resolved to the catalogue, never a duplicate of an entry
    assert db.execute("SELECT count(*) FROM resources WHERE code IN ('process_steam', 'cooling_water_')").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM flows WHERE resource_code = 'steam'").fetchone()[0] >= 1
    # the workbook's 'Quantity (t/yr)' header is the unit of its quantities
    grain = db.execute("SELECT quantity, unit_orig FROM flows WHERE quantity_orig = 600000").fetchone()
    assert grain == (600000.0, "t/yr")
    roles = dict(db.execute("SELECT role, count(*) FROM enterprises GROUP BY role").fetchall())
    assert roles.get("environment", 0) >= 1 and roles.get("utility", 0) >= 1 and roles.get("external", 0) >= 1


@pytest.mark.parametrize("park", PARKS)
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_every_analysis_runs_without_a_number_for_the_unknown(foreign_db, park, fmt, tmp_path):
    db = ["--db", str(foreign_db)]
    for command in (["loops", "--park", park], ["metrics", "--park", park], ["carbon", "--park", park],
                    ["colocate", "--park", park], ["scorecard", "--park", park], ["match", "--park", park]):
        _run(*command, *db, "--format", fmt)
    if fmt == "table":
        _run("info", *db)
        _run("export", "--park", park, "-o", str(tmp_path / "park.gexf"), *db)
        _run("export", "--park", park, "-o", str(tmp_path / "park.json"), *db)
        _run("map", "--park", park, "-o", str(tmp_path / "map.html"), *db)
        _run("report", "--park", park, "-o", str(tmp_path / "report.html"), *db)
        page = (tmp_path / "report.html").read_text(encoding="utf-8")
        page = re.sub(r'srcdoc="[^"]*"|<script.*?</script>', "", page, flags=re.S)  # text, not vis-network's code
        assert not re.search(r"\bnan\b", page, flags=re.I)
        assert not re.search(r"(Emitted|absorbed|unabsorbed)\s+t\b", page)  # no sentence with its number missing


def test_a_park_with_no_quantity_gets_unknown_not_zero(foreign_db):
    db = ["--db", str(foreign_db)]
    metrics = json.loads(_run("metrics", "--park", "lubei", *db, "--format", "json"))["metrics"]
    mass = next(row for row in metrics if row["currency"] == "mass")
    assert mass["links"] > 0 and mass["coverage"] == 0
    for flow_metric in ("TST", "FCI", "ascendency"):
        assert mass[flow_metric] is None, (flow_metric, mass)
    assert mass["reason"]

    carbon = json.loads(_run("carbon", "--park", "lubei", *db, "--format", "json"))
    exchanges = carbon["by_product_exchanges"]
    assert len(exchanges) >= 5 and all(row["avoided_t"] is None for row in exchanges)

    card = json.loads(_run("scorecard", "--park", "lubei", *db, "--format", "json"))
    flow_based = [row for row in card if row["indicator"] in ("reduction_from_exchanges", "water_reuse")]
    assert flow_based and all(row["passed"] == "insufficient data" and row["value"] is None for row in flow_based)
