"""Uncertain data in the store: the uncertainty and quality columns, the balanced firms, and what the
graph and `info` make of them (issue 17, item 1)."""
import json

import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.errors import ValidationError
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.store import open_store
from symbiosis.uncertainty import DEFAULT_RELATIVE_SD, flow_sd

DATA = "tests/data/uncertainty"


@pytest.fixture()
def store(tmp_path):
    db = open_store(tmp_path / "u.db")
    import_files(db, [f"{DATA}/parks.csv", f"{DATA}/enterprises.csv", f"{DATA}/flows.csv"])
    return db


def test_absolute_and_relative_uncertainties_are_stored_in_the_canonical_unit(store):
    rows = {(source, target): (sd, sd_rel, quality) for source, target, sd, sd_rel, quality in store.execute(
        "SELECT source_id, target_id, sd, sd_rel, quality FROM flows")}
    assert rows[("a", "b")] == (500.0, None, "measured")  # 0.5 kt/yr -> 500 t/yr, as its quantity
    assert rows[("b", "c")] == (None, pytest.approx(0.10), None)
    assert rows[("a", "c")] == (None, None, "estimated")
    assert rows[(None, "a")] == (None, pytest.approx(0.05), "literature")  # a share needs no quantity


def test_the_graph_carries_the_stated_standard_deviation(store):
    G = load_graph(store, park="u")
    edges = {(u, v): data for u, v, data in G.edges(data=True)}
    assert edges[("a", "b")]["sd"] == 500.0
    assert edges[("b", "c")]["sd"] == pytest.approx(900.0)  # 10 % of 9,000 t
    assert edges[("a", "c")]["sd"] is None and edges[("a", "c")]["quality"] == "estimated"
    assert edges[("boundary:in:import", "a")]["sd"] is None  # a share of an unknown quantity: unknown
    # the class default applies where nothing is stated, and only there
    assert flow_sd(4000.0, None, "estimated") == pytest.approx(4000.0 * DEFAULT_RELATIVE_SD["estimated"])
    assert flow_sd(9000.0, 900.0, "literature") == 900.0


def test_balanced_currencies_are_normalised(store):
    balanced = dict(store.execute("SELECT id, balanced FROM enterprises"))
    assert balanced == {"a": "energy,mass", "b": "co2,energy,mass,water", "c": None}


def test_bad_uncertainties_are_refused_with_row_column_and_value(tmp_path):
    db = open_store(tmp_path / "bad.db")
    import_files(db, [f"{DATA}/parks.csv", f"{DATA}/enterprises.csv"])
    with pytest.raises(ValidationError) as error:
        import_files(db, [f"{DATA}/bad_flows.csv:flows"])
    problems = {(problem.row, problem.column): problem.expected for problem in error.value.problems}
    assert "standard deviation" in problems[(2, "uncertainty")]  # 'lots'
    assert "not negative" in problems[(3, "uncertainty")]
    assert "needs the quantity" in problems[(4, "uncertainty")]  # 100 t of an unknown quantity
    assert "expected one of measured" in problems[(5, "quality")]
    assert db.execute("SELECT count(*) FROM flows").fetchone()[0] == 0  # one transaction: nothing written


def test_an_absolute_uncertainty_of_emissions_is_refused(tmp_path):
    (tmp_path / "emissions.csv").write_text("enterprise_id,year,scope1_t,uncertainty\na,2024,100,5\nb,2024,80,10 %\n")
    db = open_store(tmp_path / "e.db")
    import_files(db, [f"{DATA}/parks.csv", f"{DATA}/enterprises.csv"])
    with pytest.raises(ValidationError) as error:
        import_files(db, [str(tmp_path / "emissions.csv")])
    assert [(problem.row, problem.column) for problem in error.value.problems] == [(2, "uncertainty")]


def test_a_bad_balanced_value_names_the_currencies(tmp_path):
    (tmp_path / "enterprises.csv").write_text("id,name,park_id,balanced\nx,X,u,mass\ny,Y,u,tonnes\n")
    db = open_store(tmp_path / "b.db")
    import_files(db, [f"{DATA}/parks.csv"])
    with pytest.raises(ValidationError) as error:
        import_files(db, [str(tmp_path / "enterprises.csv")])
    (problem,) = error.value.problems
    assert (problem.row, problem.column, problem.value) == (3, "balanced", "tonnes") and "co2" in problem.expected


def test_info_counts_flows_with_an_uncertainty(store, tmp_path):
    result = CliRunner().invoke(cli, ["info", "--db", str(tmp_path / "u.db"), "--format", "json"])
    assert result.exit_code == 0, result.output
    flows = json.loads(result.output)["flows"]
    assert sum(row["with_uncertainty"] for row in flows) == 3
    assert sum(row["with_quality"] for row in flows) == 3
