"""Reconciliation of a park's stored flows: the balances built from the data, the estimates layer, and
the analyses that read it (issue 17, item 2)."""
import json

import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.datasets import dataset_files
from symbiosis.estimates import reconcile_store
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.store import open_store

DATA = "tests/data/uncertainty"


@pytest.fixture()
def store_path(tmp_path):
    path = tmp_path / "u.db"
    import_files(open_store(path), [f"{DATA}/parks.csv", f"{DATA}/enterprises.csv", f"{DATA}/flows.csv"])
    return path


def _run(*arguments):
    result = CliRunner().invoke(cli, [str(argument) for argument in arguments])
    assert result.exit_code == 0, result.output
    return result


def test_balances_close_and_the_result_is_stored_beside_the_data(store_path):
    db = open_store(store_path)
    before = db.execute("SELECT id, quantity FROM flows ORDER BY id").fetchall()
    result = reconcile_store(db, "u")
    table = result.tables["mass"].set_index("flow_id")
    # a (balanced: mass): imports = fly ash to b + slag to c; b (all): fly ash in = fly ash out
    a_in = table.loc[">a:steel_slag:", "value"]
    assert a_in == pytest.approx(table.loc["a>b:fly_ash:", "value"] + table.loc["a>c:steel_slag:", "value"])
    assert table.loc["a>b:fly_ash:", "value"] == pytest.approx(table.loc["b>c:fly_ash:", "value"])
    # weighted least squares: the more precise measurement (sd 500 t against 900 t) moves less
    moved_ab = abs(table.loc["a>b:fly_ash:", "adjustment"])
    moved_bc = abs(table.loc["b>c:fly_ash:", "adjustment"])
    assert moved_ab < moved_bc and moved_ab / moved_bc == pytest.approx(500.0**2 / 900.0**2)
    assert table.loc[">a:steel_slag:", "status"] == "determined"
    assert table.loc["a>c:steel_slag:", "status"] == "kept"  # a change to it is taken up by the unknown import
    assert db.execute("SELECT id, quantity FROM flows ORDER BY id").fetchall() == before  # data untouched
    assert db.execute("SELECT count(*) FROM estimates").fetchone()[0] == 4


def test_a_planted_gross_error_is_flagged(store_path):
    summary = json.loads(_run("reconcile", "--db", store_path, "--park", "u", "--format", "json").stdout)
    row = summary["reconciliation"][0]
    # 12,000 t leave a for b and only 9,000 t leave b: 3.3 standard deviations of the difference
    assert row["passed"] is False and row["p_value"] < 0.01
    assert set(row["gross_errors"].split(", ")) == {"a>b:fly_ash:", "b>c:fly_ash:"}  # a tie: both named


def test_analyses_read_the_estimates_only_when_asked_and_say_so(store_path):
    _run("reconcile", "--db", store_path, "--park", "u")
    plain = _run("metrics", "--db", store_path, "--park", "u", "--format", "json")
    estimated = _run("metrics", "--db", store_path, "--park", "u", "--estimates", "--format", "json")
    plain_mass, estimated_mass = (json.loads(result.stdout)["metrics"][0] for result in (plain, estimated))
    assert plain_mass["flows_without_quantity"] == 1 and estimated_mass["flows_without_quantity"] == 0
    assert "reconciliation estimates" in json.loads(estimated.stdout)["notes"]["metrics"]
    assert "notes" not in json.loads(plain.stdout)
    G = load_graph(open_store(store_path), "u", estimates=True)
    assert G.graph["estimates"]["determined"] == 1 and G.graph["estimates"]["adjusted"] == 2


def test_dry_run_stores_nothing_and_drop_removes_a_reconciliation(store_path):
    _run("reconcile", "--db", store_path, "--park", "u", "--dry-run")
    listed = json.loads(_run("estimates", "--db", store_path, "--format", "json").stdout)
    assert listed == []
    _run("reconcile", "--db", store_path, "--park", "u")
    (stored,) = json.loads(_run("estimates", "--db", store_path, "--format", "json").stdout)
    assert stored["currency"] == "mass" and stored["determined"] == 1
    _run("estimates", "--db", store_path, "--drop", stored["id"])
    assert open_store(store_path).execute("SELECT count(*) FROM estimates").fetchone()[0] == 0


def test_quantities_without_uncertainty_take_the_default_class_or_are_exact(tmp_path):
    (tmp_path / "flows.csv").write_text("source_id,target_id,resource_code,quantity,unit\n"
                                        "a,b,fly_ash,100,t/yr\nb,c,fly_ash,90,t/yr\n")
    path = tmp_path / "plain.db"
    import_files(open_store(path), [f"{DATA}/parks.csv", f"{DATA}/enterprises.csv", str(tmp_path / "flows.csv")])
    table = reconcile_store(open_store(path), "u", save=False).tables["mass"].set_index("flow_id")
    assert set(table["sd_source"]) == {"default: estimated"}
    assert table.loc["a>b:fly_ash:", "measured_sd"] == pytest.approx(30.0)  # 30 % of 100 t
    # taken as exact, 100 t into b and 90 t out of it cannot both hold: said, non-zero exit, nothing stored
    result = CliRunner().invoke(cli, ["reconcile", "--db", str(path), "--park", "u", "--default-quality", "exact"])
    assert result.exit_code != 0 and "b" in result.output and "close" in result.output
    assert open_store(path).execute("SELECT count(*) FROM reconciliations").fetchone()[0] == 0


def test_kalundborg_determines_what_the_published_figures_allow_and_no_more(tmp_path):
    db = open_store(tmp_path / "k.db")
    import_files(db, dataset_files("kalundborg"))
    import_files(db, ["tests/data/kalundborg_balanced/enterprises.csv"])
    result = reconcile_store(db, "kalundborg")
    assert set(result.tables) == {"mass", "water"}
    mass = result.tables["mass"].set_index("flow_id")
    assert mass.loc["kal_f25", "status"] == "determined"  # the digestate: the sludge's 300,000 t
    assert mass.loc["kal_f25", "value"] == pytest.approx(300_000.0)
    water = result.tables["water"].set_index("flow_id")
    undetermined = water.index[water["status"] == "undetermined"]
    assert set(undetermined) >= {"kal_f02", "kal_f03", "kal_f04", "kal_f33"}
    assert water.loc[undetermined, "value"].isna().all()  # never filled in
    assert all("not determined by the balances" in reason for reason in water.loc[undetermined, "reason"])
    stored = dict(db.execute("SELECT flow_id, value FROM estimates WHERE status = 'undetermined'").fetchall())
    assert set(undetermined) <= set(stored) and all(value is None for value in stored.values())


def test_the_report_lists_the_estimated_flows_with_intervals_only_after_a_reconciliation(store_path):
    from viz.report import build_report

    db = open_store(store_path)
    assert "Reconciled flows" not in build_report(db, "u", include_map=False)
    reconcile_store(db, "u")
    page = build_report(db, "u", include_map=False)
    section = page[page.index("Reconciled flows"):page.index("Co-location")]
    assert section.count("<tr>") == 1 + 1 + 1 + 3  # two header rows, one summary row, three estimated flows
    assert "determined" in section and "adjusted" in section and "likely" in section and "90 % high" in section


def test_the_map_draws_estimates_only_when_asked_and_marks_them(store_path):
    from viz.map import store_map

    db = open_store(store_path)
    reconcile_store(db, "u")
    plain, estimated = (store_map(db, "u", estimates=flag) for flag in (False, True))
    assert "reconciliation estimate" not in plain
    assert estimated.count("reconciliation estimate (determined)") == 1
    assert estimated.count("reconciliation estimate (adjusted)") == 2
    assert "rgba(217,119,6,0.9)" in estimated and "rgba(217,119,6,0.9)" not in plain.split("amber glow")[0]


def test_a_flow_reconciled_below_0_is_said_and_never_read_as_a_quantity(tmp_path):
    """The mill's balance (mass): 100 t in, 150 t measured out to x, the flow to y unknown. The balance
    determines it as -50 t, which no flow can be: the reconciliation says so in the flow's reason, the summary
    and a note, and neither --estimates nor the graph reads it as a quantity (the flow stays unknown)."""
    from symbiosis.estimates import NEGATIVE_REASON

    path = tmp_path / "n.db"
    folder = "tests/data/contradicted"
    import_files(open_store(path), [f"{folder}/parks.csv", f"{folder}/enterprises.csv", f"{folder}/flows.csv"])
    db = open_store(path)
    result = reconcile_store(db, "n")
    row = result.tables["mass"].set_index("flow_id").loc["m>y:fly_ash:"]
    assert row["status"] == "determined" and row["value"] == pytest.approx(-50.0)
    assert row["reason"].startswith(NEGATIVE_REASON)
    assert result.summary.loc[0, "negative"] == 1
    assert any("1 of 3 flows reconciled below 0" in note for note in result.notes)
    G = load_graph(db, "n", estimates=True)
    to_y = next(data for _, _, key, data in G.edges(keys=True, data=True) if key == "m>y:fly_ash:")
    assert to_y["quantity"] is None and "estimate" not in to_y
    assert G.graph["estimates"]["negative"] == 1
    estimated = _run("metrics", "--db", path, "--park", "n", "--estimates", "--format", "json")
    document = json.loads(estimated.stdout)
    assert document["metrics"][0]["flows_without_quantity"] == 1
    assert "1 reconciled below 0 were not used" in document["notes"]["metrics"]
    printed = _run("reconcile", "--db", path, "--park", "n", "--dry-run")
    assert "reconciled below 0" in printed.stderr
