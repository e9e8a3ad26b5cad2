"""Zeros that were really unknowns (QA on four sparse real parks, round 2).

An unrecorded side is not a side of 0: no boundary input with a quantity makes the boundary input and
what is built on it unknown; a firm with no recorded flow on one side has an unknown balance; a
currency without firms has no cyclicity; a park without exchanges has no known reduction from them;
a waste share without any disposal flow in the data is only an upper bound. Each case is checked next
to its counterpart where the data do say 0, which stays 0.
"""
import math

import networkx as nx
import pandas as pd
import pytest

from symbiosis.coverage import INSUFFICIENT
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.metrics import network_metrics, node_balance
from symbiosis.scorecard import scorecard
from symbiosis.store import open_store

IMPORT, EXPORT = "boundary:in:import", "boundary:out:export"


def _graph(edges, currency="mass"):
    G = nx.MultiDiGraph()
    for u, v, quantity in edges:
        for node in (u, v):
            G.add_node(node, boundary=node.startswith("boundary:"), boundary_label=node.split(":")[-1])
        G.add_edge(u, v, currency=currency, quantity=quantity)
    return G


def _no_nan(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        for value in frame[column].tolist():
            assert value is not pd.NA and not (isinstance(value, float) and math.isnan(value)), (column, value)
    return frame


def _row(edges, **options):
    return _no_nan(network_metrics(_graph(edges), currencies=("mass",), **options)).iloc[0]


# -- 1. boundary input and output -------------------------------------------------------------------

def test_boundary_input_without_quantity_is_unknown_and_so_is_what_is_built_on_it():
    # the import into a is known to exist, not how much: 2 of 3 flows known, enough for flow metrics
    row = _row([(IMPORT, "a", None), ("a", "b", 8.0), ("b", EXPORT, 8.0)])
    assert row["coverage"] == pytest.approx(2 / 3)
    for figure in ("boundary_input", "APL", "BFI", "DFI", "IFI"):
        assert row[figure] is None, figure
    assert "no boundary input with a known quantity" in row["reason"]
    assert "0 of 1 boundary input flows" in row["reason"]
    # figures on the known flows stay: the export is known, and the chain has no cycle
    assert row["boundary_output"] == 8.0 and row["TST"] == 8.0 and row["FCI"] == 0.0


def test_no_boundary_input_recorded_at_all_is_unknown_not_zero():
    row = _row([("a", "b", 8.0), ("b", EXPORT, 8.0)])
    assert row["boundary_input"] is None and row["BFI"] is None and row["APL"] is None
    assert "no flow into the park's firms across its boundary" in row["reason"]


def test_boundary_output_without_quantity_is_unknown():
    row = _row([(IMPORT, "a", 8.0), ("a", "b", 8.0), ("b", EXPORT, None)])
    assert row["boundary_output"] is None and row["boundary_input"] == 8.0
    assert "boundary_output: no boundary output with a known quantity" in row["reason"]
    # the intensities follow the input, which is known: 8 in, 8 passed on directly, T = 8 + 8
    assert row["BFI"] == pytest.approx(0.5) and row["DFI"] == pytest.approx(0.5) and row["IFI"] == 0.0


def test_a_boundary_input_the_data_give_as_zero_stays_zero():
    row = _row([(IMPORT, "a", 0.0), ("a", "b", 8.0), ("b", EXPORT, 8.0)])
    assert row["boundary_input"] == 0.0
    assert (row["BFI"], row["DFI"], row["IFI"]) == (0.0, 0.0, 0.0)  # z = 0: nothing enters, by the data
    assert row["APL"] is None and "APL: the boundary input is 0" in row["reason"]


def test_a_partly_known_boundary_input_is_a_lower_bound_with_a_warning():
    row = _row([(IMPORT, "a", 5.0), (IMPORT, "b", None), ("a", "b", 5.0), ("b", EXPORT, 5.0)])
    assert row["boundary_input"] == 5.0
    assert "boundary_input sums 1 of 2 boundary input flows" in row["warning"]


# -- 2. firm balance ---------------------------------------------------------------------------------

def test_a_firm_with_no_recorded_inflow_has_an_unknown_balance():
    # a power plant whose coal is not in the data sends 80 t of gypsum to a board plant, which ships 80 t
    G = _graph([("plant", "board", 80.0), ("board", EXPORT, 80.0)])
    balance = _no_nan(node_balance(G, "mass")).set_index("id")
    plant, board = balance.loc["plant"], balance.loc["board"]
    assert plant["inflow"] is None and plant["outflow"] == 80.0
    assert plant["imbalance"] is None and not plant["balance_known"]
    assert board["balance_known"] and board["inflow"] == 80.0 and board["imbalance"] == 0.0
    assert list(balance.index) == ["board", "plant"]  # known balances first


def test_a_side_whose_flows_all_lack_a_quantity_is_unknown_not_zero():
    G = _graph([(IMPORT, "a", None), ("a", "b", 5.0), ("b", EXPORT, 5.0)])
    a = _no_nan(node_balance(G, "mass")).set_index("id").loc["a"]
    assert a["inflow"] is None and a["outflow"] == 5.0 and a["imbalance"] is None and not a["balance_known"]


def test_unbalanced_count_and_warning_count_known_balances_only():
    # plant: no inflow recorded; board: 80 in, 40 out (unbalanced by 50 %)
    row = _row([("plant", "board", 80.0), ("board", EXPORT, 40.0)], min_coverage=0.0)
    assert row["unbalanced_nodes"] == 1 and row["max_imbalance"] == pytest.approx(0.5)
    assert "1 of 1 firms with a known balance" in row["warning"]
    assert "1 more with an unknown balance" in row["warning"]
    # before, the plant counted as -100 % unbalanced, so two firms were "out of balance" and the maximum was 1


def test_no_known_balance_gives_no_unbalanced_count():
    # a sends to b and c, b to c: a has no inflow recorded, b's inflow and c's outflow have no quantity
    row = _row([("a", "b", None), ("a", "c", 4.0), ("b", "c", 3.0), ("c", EXPORT, None)], min_coverage=0.0)
    assert row["TST"] is not None  # flow figures are given...
    assert row["unbalanced_nodes"] is None and row["max_imbalance"] is None  # ...but no balance is known
    assert "no firm has a known balance" in row["reason"]


def test_a_firm_with_recorded_flows_on_both_sides_keeps_its_imbalance():
    # the data say b receives 10 and passes on 2 (as in test_metrics): known, unbalanced by 80 %
    G = _graph([(IMPORT, "a", 10.0), ("a", "b", 10.0), ("b", EXPORT, 2.0)])
    balance = node_balance(G, "mass").set_index("id")
    assert balance["balance_known"].all() and balance.loc["b", "imbalance"] == pytest.approx(0.8)


# -- 3. cyclicity without nodes ----------------------------------------------------------------------

def test_a_currency_without_firms_has_no_cyclicity():
    table = _no_nan(network_metrics(_graph([("a", "b", 5.0), ("b", "a", 5.0)]))).set_index("currency")
    assert table.loc["water", "nodes"] == 0
    assert table.loc["water", "cyclicity"] is None and table.loc["water", "connectance"] is None
    assert table.loc["mass", "cyclicity"] == pytest.approx(1.0)
    acyclic = network_metrics(_graph([("a", "b", 5.0)]), currencies=("mass",)).iloc[0]
    assert acyclic["cyclicity"] == 0.0  # firms without a cycle: a true 0


# -- 4. scorecard ------------------------------------------------------------------------------------

PARKS = "id,name\nnd,No Disposal Park\nwd,With Disposal Park\nep,Empty Park\n"
FIRMS = ("id,name,park_id\npow,Power,nd\ncem,Cement,nd\nbrd,Board,nd\n"
         "pw2,Power 2,wd\ncm2,Cement 2,wd\nep1,Lonely Firm,ep\n")
# nd: fly ash used by cement, gypsum to the board plant (no quantity), water reused; no landfill, no
# intake in the data. wd: the same fly ash, plus 250 t landfilled and an intake.
FLOWS = """source_id,target_id,resource_code,quantity,unit,year,boundary
pow,cem,fly_ash,1000,t,2025,
pow,brd,fgd_gypsum,,t,2025,
pow,cem,treated_wastewater,400,m3,2025,
pw2,cm2,fly_ash,1000,t,2025,
pw2,,fly_ash,250,t,2025,landfill
,pw2,fresh_water,1000,m3,2025,import
pw2,cm2,treated_wastewater,400,m3,2025,
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("round2")
    for name, text in (("parks.csv", PARKS), ("enterprises.csv", FIRMS), ("flows.csv", FLOWS)):
        (folder / name).write_text(text)
    db = open_store(folder / "round2.db")
    import_files(db, [folder / "parks.csv", folder / "enterprises.csv", folder / "flows.csv"])
    return db


def _card(db, park):
    return _no_nan(scorecard(db, park)).set_index("indicator")


def test_no_disposal_flow_makes_waste_shares_an_upper_bound_without_verdict(store):
    table = _card(store, "nd")
    # 1000 t of fly ash used, the gypsum unknown and nothing landfilled in the data: 100 % of what is recorded
    for indicator in ("solid_waste_utilisation", "waste_recovered_in_park"):
        row = table.loc[indicator]
        assert row["value"] == 100.0 and row["passed"] == INSUFFICIENT, indicator
        assert "no disposal" in row["reason"] and "upper bound" in row["reason"]
    water = table.loc["water_reuse"]  # 400 m3 reused, no intake in the data
    assert water["value"] == 100.0 and water["passed"] == INSUFFICIENT and "no intake" in water["reason"]


def test_a_recorded_disposal_flow_gives_a_verdict(store):
    table = _card(store, "wd")
    waste = table.loc["solid_waste_utilisation"]
    assert waste["value"] == pytest.approx(80.0) and waste["passed"] is True and waste["reason"] is None  # >= 80
    assert table.loc["water_reuse", "value"] == pytest.approx(100 * 400 / 1400)
    assert table.loc["water_reuse", "passed"] is False  # against >= 80


def test_mass_cycling_index_coverage_is_the_metrics_coverage(store):
    for park in ("nd", "wd"):
        table = _card(store, park)
        mass = network_metrics(load_graph(store, park=park, status="existing"), currencies=("mass",)).iloc[0]
        known = mass["flows"] - mass["flows_without_quantity"]
        assert table.loc["mass_cycling_index", "coverage"] == f"{known} of {mass['flows']} mass flows with a quantity"
    # nd: fly ash (known), gypsum (unknown): 1 of 2; a single known flow is no network to measure, as in metrics
    nd = _card(store, "nd").loc["mass_cycling_index"]
    assert nd["coverage"] == "1 of 2 mass flows with a quantity"
    assert nd["value"] is None and "degenerate network" in nd["reason"]
    # wd: fly ash to cement and to landfill, both known; no cycle among firms, so the index is a true 0
    wd = _card(store, "wd").loc["mass_cycling_index"]
    assert wd["coverage"] == "2 of 2 mass flows with a quantity" and wd["value"] == 0.0 and wd["reason"] is None


def test_an_empty_park_has_no_reduction_from_exchanges(store):
    table = _card(store, "ep")
    reduction = table.loc["reduction_from_exchanges"]
    assert reduction["value"] is None and "no by-product or CO2 exchange" in reduction["reason"]
    assert "0 of 0" not in reduction["coverage"]
    assert table.loc["reduction_share", "value"] is None and table.loc["reduction_share", "reason"]
    assert not any("0 of 0" in text for text in table["coverage"].tolist())
