"""Issue 19: scenarios as data, `compare`, attribution.

The hand-built park (tests/data/scenarios): ore comes into a smelter (80 t), slag goes to a grinder (100 t),
ash to a recycler (100 t), products leave (80 t). The scenario close_loop.csv adds one flow, scrap from the
recycler back to the smelter (20 t), which closes the loop smelter -> grinder -> recycler -> smelter.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.compare import compare_scenarios
from symbiosis.errors import UnknownIdError, ValidationError
from symbiosis.ingest import import_files
from symbiosis.scenarios import (built_in, drop_scenario, list_scenarios, load_scenario, materialise,
                                 read_scenario_file, save_scenarios)
from symbiosis.store import open_store

from .conftest import dump

SCENARIOS = Path(__file__).parent / "data" / "scenarios"
PARK_FILES = [SCENARIOS / name for name in ("parks.csv", "enterprises.csv", "flows.csv")]


@pytest.fixture
def loop_db(tmp_path):
    db = open_store(tmp_path / "loop.db")
    import_files(db, PARK_FILES)
    return db


def _figures(comparison, scenario: str) -> dict[str, dict]:
    frame = comparison.figures
    return {row["figure_id"]: row for row in frame[frame["scenario"] == scenario].to_dict("records")}


def _fci(flows: dict[tuple[str, str], float], inputs: dict[str, float]) -> float:
    """Finn's cycling index from first principles (input-oriented, Finn 1976; as enaR's enaFlow):
    G = F / T (column j divided by node j's throughflow T_j = inflow), N = (I - G)^-1,
    TSTc = sum_j (n_jj - 1) / n_jj * T_j, FCI = TSTc / TST."""
    nodes = sorted({node for pair in flows for node in pair} | set(inputs))
    index = {node: position for position, node in enumerate(nodes)}
    F = np.zeros((len(nodes), len(nodes)))
    for (source, target), quantity in flows.items():
        F[index[source], index[target]] += quantity
    T = F.sum(axis=0) + np.array([inputs.get(node, 0.0) for node in nodes])
    N = np.linalg.inv(np.eye(len(nodes)) - F / T)
    diagonal = np.diag(N)
    return float(((diagonal - 1) / diagonal * T).sum() / T.sum())


# ---------------------------------------------------------------------------------------------------
# scenarios as data


def test_a_scenario_file_is_read_checked_stored_listed_and_dropped(loop_db):
    [scenario] = read_scenario_file(loop_db, SCENARIOS / "close_loop.csv", "loop")
    assert (scenario.name, scenario.base, len(scenario.changes)) == ("close-loop", "as-is", 1)
    change = scenario.changes[0]
    assert (change.change, change.source_id, change.target_id, change.quantity, change.unit, change.line) == (
        "add_flow", "recycler", "smelter", 20.0, "t/yr", 2)
    save_scenarios(loop_db, "loop", [scenario])
    listed = list_scenarios(loop_db, "loop")
    assert listed[["name", "base", "changes"]].values.tolist() == [["close-loop", "as-is", 1]]
    assert load_scenario(loop_db, "loop", "close-loop") == [scenario.__class__(
        name="close-loop", base="as-is", changes=scenario.changes, description=scenario.description,
        source=scenario.source)]
    drop_scenario(loop_db, "loop", "close-loop")
    assert list_scenarios(loop_db, "loop").empty
    assert loop_db.execute("SELECT count(*) FROM scenario_changes").fetchone()[0] == 0  # cascaded
    with pytest.raises(UnknownIdError, match="no stored scenario"):
        drop_scenario(loop_db, "loop", "close-loop")


def test_a_bad_scenario_row_fails_with_file_line_and_reason_and_nothing_is_stored(loop_db, tmp_path):
    before = dump(loop_db)
    path = str(loop_db.conn.execute("PRAGMA database_list").fetchone()[2])
    result = CliRunner().invoke(cli, ["scenario", "add", str(SCENARIOS / "bad_scenario.csv"), "--park", "loop",
                                      "--db", path])
    assert result.exit_code == 1
    assert "bad_scenario.csv, row 3, column 'target_id': 'nowhere': no such firm" in result.output
    assert "Traceback" not in result.output
    assert dump(open_store(path)) == before
    # the same file given to compare fails the same way
    result = CliRunner().invoke(cli, ["compare", "--park", "loop", "--scenario", "as-is", "--scenario",
                                      str(SCENARIOS / "bad_scenario.csv"), "--db", path])
    assert result.exit_code == 1 and "row 3, column 'target_id'" in result.output


@pytest.mark.parametrize("rows, expected", [
    ("scenario,change,flow_id,factor\nx,scale_flow,slag,-1\n", "row 2, column 'factor': '-1'"),
    ("scenario,change,flow_id\nx,remove_flow,nope\n", "row 2, column 'flow_id': 'nope'"),
    ("scenario,change\nx,demolish\n", "row 2, column 'change': 'demolish'"),
    ("scenario,change\nplan,remove_flow\n", "row 2, column 'scenario': 'plan'"),
    ("scenario,change,source_id,target_id,resource_code,quantity,unit\n"
     "x,add_flow,recycler,smelter,scrap_steel,20,MWh\n", "row 2, column 'unit': 'MWh'"),
    ("scenario,change,source_id,target_id,resource_code,quantity\n"
     "x,add_flow,recycler,smelter,unobtainium,20\n", "row 2, column 'resource_code': 'unobtainium'"),
    ("scenario,change,firm_id,firm_name,lat\nx,add_firm,smelter,Again,12\n", "row 2, column 'firm_id': 'smelter'"),
    ("scenario,base,change,firm_id\nx,someday,remove_firm,smelter\n", "row 2, column 'base': 'someday'"),
    ("scenario,colour\nx,red\n", "row 1, column 'colour'"),
])
def test_every_kind_of_bad_row_is_named(loop_db, tmp_path, rows, expected):
    path = tmp_path / "bad.csv"
    path.write_text(rows, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        read_scenario_file(loop_db, path, "loop")
    assert f"bad.csv, {expected}" in str(caught.value)


def test_changes_apply_to_a_copy_and_an_unknown_quantity_stays_unknown(filled, tmp_path):
    """Scaling a flow of unknown quantity leaves it unknown; removing a firm takes its flows; the store
    itself is never changed."""
    before = dump(filled)
    path = tmp_path / "changes.csv"
    unknown = filled.execute("SELECT id FROM flows WHERE quantity IS NULL AND resource_code = 'fly_ash'").fetchone()[0]
    known = filled.execute("SELECT id, quantity FROM flows WHERE source_id = 'power' AND resource_code = 'fgd_gypsum'"
                           ).fetchone()
    path.write_text("scenario,change,flow_id,factor,firm_id,firm_name,lat,lon\n"
                    f"what-if,scale_flow,{unknown},2,,,,\n"
                    f"what-if,scale_flow,{known[0]},0.5,,,,\n"
                    "what-if,remove_firm,,,refinery,,,\n"
                    "what-if,add_firm,,,newco,New Co,55.6,11.1\n", encoding="utf-8")
    [scenario] = read_scenario_file(filled, path, "p1")
    copy = materialise(filled, "p1", scenario).db
    quantities = dict(copy.execute("SELECT id, quantity FROM flows").fetchall())
    assert quantities[unknown] is None and quantities[known[0]] == pytest.approx(known[1] * 0.5)
    assert copy.execute("SELECT count(*) FROM flows WHERE 'refinery' IN (source_id, target_id)").fetchone()[0] == 0
    assert copy.execute("SELECT name FROM enterprises WHERE id = 'newco'").fetchone()[0] == "New Co"
    assert dump(filled) == before


# ---------------------------------------------------------------------------------------------------
# compare on the hand-built park


def test_adding_one_flow_closes_a_loop(loop_db):
    scenarios = [built_in("as-is"), *read_scenario_file(loop_db, SCENARIOS / "close_loop.csv", "loop")]
    comparison = compare_scenarios(loop_db, "loop", scenarios)
    before, after = _figures(comparison, "as-is"), _figures(comparison, "close-loop")
    assert (before["loops.count"]["value"], after["loops.count"]["value"]) == (0, 1)
    assert (before["loops.mass.count"]["value"], after["loops.mass.count"]["value"]) == (0, 1)
    # By hand: throughflows 100 t at each firm (80 from outside + 20 scrap into the smelter); the loop returns
    # 20 / 100 of what leaves the recycler, so each firm cycles 100 x 0.2 = 20 t: FCI = 60 / 300 = 0.2.
    assert before["metrics.mass.fci"]["value"] == 0.0
    assert after["metrics.mass.fci"]["value"] == pytest.approx(0.2)
    assert after["metrics.mass.fci"]["change"] == pytest.approx(0.2)
    assert after["metrics.mass.tst"]["value"] == pytest.approx(300.0)
    assert after["loops.mass.cycled"]["value"] == pytest.approx(60.0)
    assert after["metrics.mass.fci"]["value"] == pytest.approx(_fci(
        {("smelter", "grinder"): 100, ("grinder", "recycler"): 100, ("recycler", "smelter"): 20}, {"smelter": 80}))
    # CO2: the scrap replaces virgin supply at the catalogue's factor (t CO2e avoided per t), less its
    # transport by road (tonne-km x the shipped road-freight factor) over the great-circle distance
    from symbiosis.factors import load_factors
    from symbiosis.geo import haversine_km

    factor = loop_db.execute("SELECT co2_factor FROM resources WHERE code = 'scrap_steel'").fetchone()[0]
    places = {firm: (lat, lon) for firm, lat, lon in loop_db.execute("SELECT id, lat, lon FROM enterprises")}
    km = float(haversine_km(*places["recycler"], *places["smelter"]))
    road = load_factors()["road_freight_tco2e_per_tkm"]
    assert after["carbon.avoided"]["change"] == pytest.approx(20 * factor - 20 * km * road)
    # park-view emissions: no firm reports emissions, so unknown in both, and the change is unknown, not 0
    assert before["carbon.park_emissions"]["value"] is None and after["carbon.park_emissions"]["change"] is None
    assert after["carbon.park_emissions"]["text"] == "unknown"
    # the scenario's network marks the added flow
    marks = {key: data.get("scenario_change") for *_, key, data in
             comparison.networks["close-loop"].edges(keys=True, data=True)}
    assert [key for key, mark in marks.items() if mark == "added"] == ["scenario:close-loop:2"]


def test_attribution_equals_the_hand_computed_marginal_contributions(loop_db):
    """Two saved plan synergies: scrap recycler -> smelter (20 t) and ash recycler -> grinder (10 t). Each one's
    FCI contribution is FCI(plan) - FCI(plan without it), computed here from first principles."""
    import_files(loop_db, [SCENARIOS / "plan_flows.csv"])
    comparison = compare_scenarios(loop_db, "loop", [built_in("as-is"), built_in("plan")])
    base = {("smelter", "grinder"): 100.0, ("grinder", "recycler"): 100.0}
    scrap, ash = {("recycler", "smelter"): 20.0}, {("recycler", "grinder"): 10.0}
    inputs = {"smelter": 80.0}
    full = _fci({**base, **scrap, **ash}, inputs)
    assert _figures(comparison, "plan")["metrics.mass.fci"]["value"] == pytest.approx(full)
    contributions = comparison.contributions.set_index("flow_id")
    assert contributions.loc["match:o1>d1", "fci_change_mass"] == pytest.approx(full - _fci({**base, **ash}, inputs))
    assert contributions.loc["match:o2>d2", "fci_change_mass"] == pytest.approx(full - _fci({**base, **scrap}, inputs))
    # the park has no water flow: water's FCI is unknown, and so is any change of it (never 0)
    assert contributions.loc["match:o1>d1", "fci_change_water"] is None
    # the avoided CO2 each adds to the plan: its tonnes at its factor, less what the chain rule counts once
    plan_avoided = _figures(comparison, "plan")["carbon.avoided"]["value"]
    for flow_id in ("match:o1>d1", "match:o2>d2"):
        without = loop_db.execute("SELECT 1").fetchone() and compare_scenarios(
            loop_db, "loop", [_without(loop_db, flow_id)], attribute=0)
        assert contributions.loc[flow_id, "avoided_change_t"] == pytest.approx(
            plan_avoided - _figures(without, "plan-without")["carbon.avoided"]["value"])
    # hand-made plan flows have no matchmaking candidate: their value is unknown, never 0
    assert contributions["value_cny"].tolist() == [None, None]
    assert _figures(comparison, "plan")["matchmaking.value_cny"]["value"] is None
    assert _figures(comparison, "plan")["matchmaking.synergies"]["value"] == 2


def _without(db, flow_id: str):
    """The plan scenario with one synergy removed, as a user would write it."""
    from symbiosis.scenarios import Change, Scenario

    return Scenario(name="plan-without", base="plan", changes=(Change(change="remove_flow", flow_id=flow_id),))


# ---------------------------------------------------------------------------------------------------
# compare on the demo park: each figure equals the single command's


def _single(*args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _with_statuses(demo: Path, folder: Path, name: str, built: tuple[str, ...], plan: bool = False) -> str:
    """A copy of the demo store in which the given statuses (and the saved plan) are the existing flows:
    what the single commands, which read existing flows, see of the park in that scenario."""
    path = folder / f"{name}.db"
    shutil.copy(demo, path)
    if plan:
        _single("match", "--park", "zcp", "--save", "--db", str(path))
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(f"UPDATE flows SET status = 'existing' WHERE status IN ({', '.join('?' for _ in built)})"
                           + (" OR id LIKE 'match:%'" if plan else ""), built)
    connection.close()
    return str(path)


def test_compare_on_the_demo_park_equals_the_single_commands(demo_db, tmp_path):
    result = CliRunner().invoke(cli, ["compare", "--park", "zcp", "--db", str(demo_db), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    figures = {(row["scenario"], row["figure_id"]): row for row in document["figures"]}
    assert {scenario for scenario, _ in figures} == {"as-is", "planned", "plan"}
    checked = 0
    for scenario, statuses in (("as-is", ("existing",)), ("planned", ("existing", "planned")),
                               ("plan", ("existing", "planned"))):
        # loops and metrics take the status filter directly
        status = ",".join(statuses) + (",potential" if scenario == "plan" else "")
        store = str(demo_db) if scenario != "plan" else _with_statuses(demo_db, tmp_path, scenario, statuses,
                                                                         plan=True)
        loops = _single("loops", "--park", "zcp", "--status", "existing" if scenario == "plan" else status,
                        "--db", store)
        assert figures[(scenario, "loops.count")]["value"] == len(loops["loops"])
        for currency in ("mass", "water", "mixed"):
            assert figures[(scenario, f"loops.{currency}.count")]["value"] == sum(
                loop["currency"] == currency for loop in loops["loops"])
        metrics = {row["currency"]: row for row in _single(
            "metrics", "--park", "zcp", "--status", "existing" if scenario == "plan" else status, "--db", store)[
                "metrics"]}
        for currency in ("mass", "energy", "water"):
            for column in ("FCI", "cyclicity", "TST", "robustness"):
                assert figures[(scenario, f"metrics.{currency}.{column.lower()}")]["value"] == pytest.approx(
                    metrics[currency][column]), (scenario, currency, column)
                checked += 1
            assert figures[(scenario, f"loops.{currency}.cycled")]["value"] == pytest.approx(metrics[currency]["cycled"])
        # carbon and the scorecard read existing flows: run on a copy where the scenario's flows are existing
        built = store if scenario == "plan" else (str(demo_db) if scenario == "as-is" else
                                                  _with_statuses(demo_db, tmp_path, scenario, statuses))
        carbon = _single("carbon", "--park", "zcp", "--db", built)
        view = {row["figure"]: row["value_t"] for row in carbon["park_view"]}
        for figure in ("park_emissions", "stored", "utilised"):
            assert figures[(scenario, f"carbon.{figure}")]["value"] == pytest.approx(view[figure])
            checked += 1
        # CO2 avoided: the firm view's avoided tonnes, each by-product flow once (the known part)
        assert figures[(scenario, "carbon.avoided")]["value"] == pytest.approx(
            sum(row["avoided_t"] for row in carbon["balance_firm_view"] if row["avoided_t"] is not None))
        card = _single("scorecard", "--park", "zcp", "--db", built)
        for row in card:
            mine = figures[(scenario, f"scorecard.{row['indicator']}")]
            assert mine["value"] == (pytest.approx(row["value"]) if row["value"] is not None else None)
            expected = None if row["target"] is None else {True: "pass", False: "fail", None: "insufficient data"}[
                row["passed"]]
            assert mine["verdict"] == expected
            checked += 1
    assert checked > 80
    planned = {row["figure_id"]: row for row in document["figures"] if row["scenario"] == "plan"}
    assert planned["matchmaking.synergies"]["value"] > 0
    assert len(document["contributions"]) == planned["matchmaking.synergies"]["value"]


def test_compare_with_samples_gives_intervals_deterministic_per_seed(loop_db, tmp_path):
    path = str(loop_db.conn.execute("PRAGMA database_list").fetchone()[2])
    loop_db.execute("UPDATE flows SET quality = 'estimated'")
    loop_db.conn.commit()
    arguments = ["compare", "--park", "loop", "--scenario", "as-is", "--scenario", str(SCENARIOS / "close_loop.csv"),
                 "--samples", "40", "--seed", "3", "--db", path, "--format", "json"]
    first = json.loads(CliRunner().invoke(cli, arguments).stdout)
    again = json.loads(CliRunner().invoke(cli, arguments).stdout)
    assert first == again
    fci = {row["scenario"]: row for row in first["figures"] if row["figure_id"] == "metrics.mass.fci"}
    closed = fci["close-loop"]
    assert closed["lo"] is not None and closed["lo"] <= closed["value"] <= closed["hi"] and closed["lo"] < closed["hi"]
    # the added flow states no uncertainty and no class: only the imported ones vary
    assert fci["as-is"]["value"] == 0.0


def test_compare_writes_a_workbook_and_csv_tables(demo_db, tmp_path):
    from openpyxl import load_workbook

    book = tmp_path / "compare.xlsx"
    result = CliRunner().invoke(cli, ["compare", "--park", "zcp", "--scenario", "as-is", "--scenario", "planned",
                                      "--db", str(demo_db), "-o", str(book)])
    assert result.exit_code == 0, result.output
    assert {"figures", "contributions"} <= set(load_workbook(book).sheetnames)
    result = CliRunner().invoke(cli, ["compare", "--park", "zcp", "--scenario", "as-is", "--scenario", "planned",
                                      "--db", str(demo_db), "--table", "figures", "--format", "csv"])
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0].split(",")
    assert header[:6] == ["section", "figure_id", "figure", "unit", "scenario", "value"]


# ---------------------------------------------------------------------------------------------------
# the report and the map, from the command line, in Chromium


def test_the_report_with_scenarios_opens_clean_in_chromium(browser, demo_db, tmp_path):
    from .browser import open_page

    page_path = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "--park", "zcp", "--no-map", "--scenario", "as-is", "--scenario",
                                      "planned", "--scenario", "plan", "--db", str(demo_db), "-o", str(page_path)])
    assert result.exit_code == 0, result.output
    page, seen = open_page(browser, page_path)
    text = page.inner_text("body")
    assert "planned" in text and "Top synergies by contribution" in text
    assert "Each synergy's marginal contribution" in text
    # one row per figure of the comparison, and a bar per known headline change
    comparison = compare_scenarios(open_store(demo_db, create=False), "zcp",
                                   [built_in("as-is"), built_in("planned"), built_in("plan")])
    for figure_id in comparison.figures["figure_id"].unique():
        assert page.locator(f'[data-figure="{figure_id}"]').count() == 1, figure_id
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert [url for url in seen["requests"] if url != page_path.as_uri()] == []


def test_the_map_toggle_switches_between_the_demo_scenarios_in_chromium(browser, demo_db, tmp_path):
    from .browser import open_page, wait_drawn

    page_path = tmp_path / "map.html"
    result = CliRunner().invoke(cli, ["map", "--park", "zcp", "--layout", "geo", "--scenario", "as-is", "--scenario",
                                      "plan", "--db", str(demo_db), "-o", str(page_path)])
    assert result.exit_code == 0, result.output
    from symbiosis.compare import scenario_networks

    db = open_store(demo_db, create=False)
    comparison_networks = scenario_networks(db, "zcp", [built_in("as-is"), built_in("plan")])
    as_is = {str(key) for *_, key in comparison_networks["as-is"].edges(keys=True)}
    plan = {str(key) for *_, key in comparison_networks["plan"].edges(keys=True)}
    page, seen = open_page(browser, page_path)
    wait_drawn(page)
    drawn = """() => window.symbiosisMap.edges.get().filter(edge => !edge.hidden).map(edge => [edge.id, !!edge.dashes])"""
    labels = page.locator("#scenario-toggle label")
    assert labels.all_inner_texts() == ["as-is", "plan"]
    first = dict(page.evaluate(drawn))
    labels.nth(1).click()
    second = dict(page.evaluate(drawn))
    assert set(first) == as_is and not any(first.values())
    assert set(second) == as_is | plan
    assert {edge for edge, dashed in second.items() if dashed} == plan - as_is  # the plan's synergies, dashed
    # what the plan adds to the park as it is: its planned flows and the matchmaking plan's exchanges
    from symbiosis.graph import load_graph

    planned = {str(key) for *_, key in load_graph(db, "zcp", status="planned").edges(keys=True)}
    assert plan - as_is == planned | {key for key in plan if key.startswith("match:")}
    assert len(planned) and len([key for key in plan if key.startswith("match:")]) > 10
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert [url for url in seen["requests"] if url != page_path.as_uri()] == []


def test_compare_reads_the_reconciliation_when_asked_and_a_scaled_flow_scales_its_estimate(tmp_path):
    """With --estimates every scenario stands on the stored reconciliation (the determined import is known), and
    a scenario that scales a reconciled flow scales its reconciled value."""
    data = Path(__file__).parent / "data" / "uncertainty"
    path = tmp_path / "u.db"
    import_files(open_store(path), [data / "parks.csv", data / "enterprises.csv", data / "flows.csv"])
    runner = CliRunner()
    assert runner.invoke(cli, ["reconcile", "--db", str(path), "--park", "u"]).exit_code == 0
    scenario = tmp_path / "double.csv"
    scenario.write_text("scenario,change,flow_id,factor\ndouble,scale_flow,a>b:fly_ash:,2\n", encoding="utf-8")
    result = runner.invoke(cli, ["compare", "--db", str(path), "--park", "u", "--scenario", "as-is", "--scenario",
                                 str(scenario), "--estimates", "--format", "json", "--attribute", "0"])
    assert result.exit_code == 0, result.output
    assert "reconciliation estimates" in result.stderr
    figures = {(row["scenario"], row["figure_id"]): row for row in json.loads(result.stdout)["figures"]}
    metrics = json.loads(runner.invoke(cli, ["metrics", "--db", str(path), "--park", "u", "--estimates",
                                             "--format", "json"]).stdout)["metrics"]
    mass = next(row for row in metrics if row["currency"] == "mass")
    assert figures[("as-is", "metrics.mass.tst")]["value"] == pytest.approx(mass["TST"])
    assert figures[("as-is", "metrics.mass.tst")]["status"] == "known"  # the import the balances determined
    estimate = open_store(path).execute("SELECT value FROM estimates WHERE flow_id = 'a>b:fly_ash:'").fetchone()[0]
    assert figures[("double", "metrics.mass.tst")]["value"] == pytest.approx(mass["TST"] + estimate)


def test_an_attracted_plant_takes_what_the_park_throws_away_first(tmp_path):
    """A cement plant added with its sector's typical exchanges (datasets/typical_flows): its fly ash comes
    first from the power station's ash now sent out of the park (split), the rest from outside; its kiln CO2 is
    an emission (scope 1), not an exchange; the store is not changed."""
    from symbiosis.factors import load_typical_flows

    folder = tmp_path / "gap"
    folder.mkdir()
    (folder / "parks.csv").write_text("id,name\ng,Gap Park\n", encoding="utf-8")
    (folder / "enterprises.csv").write_text("id,name,park_id,sector_code,lat,lon\n"
                                            "power,Power Station,g,D35.11,30.0,120.0\n", encoding="utf-8")
    (folder / "flows.csv").write_text("id,source_id,target_id,resource_code,quantity,unit,boundary\n"
                                      "ash_out,power,,fly_ash,20000,t/yr,landfill\n"
                                      "ash_more,power,,fly_ash,5000,t/yr,landfill\n"
                                      "ash_unknown,power,,fly_ash,,t/yr,landfill\n", encoding="utf-8")
    db = open_store(tmp_path / "gap.db")
    import_files(db, [folder / name for name in ("parks.csv", "enterprises.csv", "flows.csv")])
    before = dump(db)
    scenario_file = tmp_path / "attract.csv"
    scenario_file.write_text("scenario,change,firm_id,firm_name,sector_code,lat,lon,typical\n"
                             "cement,add_firm,kiln,New Cement,C23.51,30.01,120.0,yes\n", encoding="utf-8")
    [scenario] = read_scenario_file(db, scenario_file, "g")
    built = materialise(db, "g", scenario)
    typical = load_typical_flows().query("sector_code == 'C23.51'").set_index("resource_code")
    ash_needed = typical.loc["fly_ash", "quantity_per_yr"]
    assert ash_needed > 25_000  # more than the park throws away: both known streams go, the rest from outside
    flows = {row[0]: row[1:] for row in built.db.execute(
        "SELECT id, source_id, target_id, resource_code, quantity FROM flows")}
    assert flows["ash_out"][3] == 0.0 and flows["ash_more"][3] == 0.0 and flows["ash_unknown"][3] is None
    into_kiln = [quantity for source, target, resource, quantity in flows.values()
                 if target == "kiln" and resource == "fly_ash"]
    assert sorted(into_kiln) == pytest.approx(sorted([5000.0, 20000.0, ash_needed - 25_000]))
    assert [source for source, target, resource, _ in flows.values() if target == "kiln" and resource == "fly_ash"
            ].count("power") == 2
    emissions = built.db.execute("SELECT scope1_t FROM emissions WHERE enterprise_id = 'kiln'").fetchall()
    assert emissions == [(typical.loc["co2", "quantity_per_yr"],)]
    assert not [flow for flow in flows.values() if flow[2] == "co2"]  # no CO2 exchange invented
    assert any("of fly_ash" in note and "25,000 from 1 park firm(s)" in note for note in built.notes)
    assert dump(db) == before
    # a sector without typical flows is refused with the row named
    scenario_file.write_text("scenario,change,firm_id,firm_name,sector_code,typical\n"
                             "x,add_firm,kiln,New,Z99.99,yes\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="row 2, column 'sector_code': 'Z99.99'"):
        read_scenario_file(db, scenario_file, "g")


def test_taking_a_purchase_out_of_the_carbon_inputs_equals_reading_them_without_it(demo_db, tmp_path):
    """compare's attribution takes a synergy out of the carbon inputs in memory (carbon.purchases_without);
    for every scope-2 energy flow into the demo park's firms that equals reading the inputs again from a store
    without the flow."""
    from symbiosis.carbon import carbon_resources, load_carbon_inputs, purchases_without
    from symbiosis.graph import load_graph
    from symbiosis.units import SCOPE2_CARRIERS

    path = tmp_path / "demo.db"
    shutil.copy(demo_db, path)
    db = open_store(path)
    G = load_graph(db, "zcp", status="existing", resources=carbon_resources(db))
    inputs = load_carbon_inputs(db, "zcp", G=G, parts=("emissions",))
    flows = db.execute(f"SELECT id, source_id, target_id, resource_code, quantity, year FROM flows WHERE status = "
                       f"'existing' AND resource_code IN ({', '.join('?' for _ in SCOPE2_CARRIERS)}) AND target_id IN "
                       "(SELECT id FROM enterprises WHERE park_id = 'zcp')", SCOPE2_CARRIERS).fetchall()
    assert len(flows) > 10
    for flow_id, source, target, resource, quantity, year in flows:
        expected_db = open_store(":memory:")
        db.conn.backup(expected_db.conn)
        expected_db.execute("PRAGMA foreign_keys = OFF")
        expected_db.execute("DELETE FROM flows WHERE id = ?", [flow_id])
        expected = load_carbon_inputs(expected_db, "zcp", G=G, parts=("emissions",)).purchases
        found = purchases_without(inputs, source=source, target=target, resource=resource, quantity=quantity,
                                  year=year)
        assert {firm: set(entry) for firm, entry in found.items()} == {firm: set(entry) for firm, entry in
                                                                       expected.items()}, flow_id
        for firm, entry in expected.items():
            for key, (count, known, total) in entry.items():
                assert found[firm][key][:2] == (count, known) and found[firm][key][2] == pytest.approx(total)
    assert inputs.purchases == load_carbon_inputs(db, "zcp", G=G, parts=("emissions",)).purchases  # not changed


def test_scenarios_analysed_side_by_side_give_the_same_figures_as_one_by_one(demo_db):
    db = open_store(demo_db, create=False)
    scenarios = [built_in("as-is"), built_in("planned"), built_in("plan")]
    alone = compare_scenarios(db, "zcp", scenarios, jobs=1)
    together = compare_scenarios(db, "zcp", scenarios, jobs=2)
    assert alone.figures.to_dict("records") == together.figures.to_dict("records")
    assert alone.contributions.to_dict("records") == together.contributions.to_dict("records")
    assert {name: sorted(G.edges(keys=True, data="scenario_change")) for name, G in alone.networks.items()} == {
        name: sorted(G.edges(keys=True, data="scenario_change")) for name, G in together.networks.items()}
