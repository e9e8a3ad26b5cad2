"""Network metrics on partly quantified networks: coverage beside every flow figure, null with a reason
when too little is known, no NaN and no floating-point noise in any cell."""
import json
import math
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.coverage import MIN_COVERAGE
from symbiosis.errors import InputError
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.metrics import FLOW_METRICS, metrics_by_park, network_metrics
from symbiosis.store import open_store

ENA = Path(__file__).parent / "data" / "ena"
TOPOLOGY = ("nodes", "links", "connectance", "link_density", "cyclicity")


def _graph(edges, currency="mass"):
    """A MultiDiGraph with the graph contract's attributes; ``boundary:in:x`` / ``boundary:out:x`` are outside."""
    G = nx.MultiDiGraph()
    for u, v, quantity in edges:
        for node in (u, v):
            outside = node.startswith("boundary:")
            G.add_node(node, boundary=outside, boundary_label=node.split(":")[-1] if outside else None, name=node)
        G.add_edge(u, v, currency=currency, kind=currency, quantity=quantity)
    return G


def _row(edges, currency="mass", **options):
    return network_metrics(_graph(edges, currency), currencies=(currency,), **options).iloc[0]


def _assert_no_nan(frame):
    """Every cell is a value or None: never a float NaN, nor pandas' NA, nor the text 'nan'."""
    for column in frame.columns:
        for value in frame[column].tolist():
            assert value is None or not (isinstance(value, float) and math.isnan(value)), (column, value)
            assert value is not pd.NA, column
            assert not (isinstance(value, str) and "nan" in value.split()), (column, value)


# a balanced ring of three firms fed from outside: a -> b -> c -> a, an import into a, an export from c
RING = [("boundary:in:import", "a", 5.0), ("a", "b", 10.0), ("b", "c", 10.0), ("c", "a", 5.0),
        ("c", "boundary:out:export", 5.0)]


def test_all_unknown_gives_topology_and_null_flow_metrics_with_a_reason():
    row = _row([(u, v, None) for u, v, _ in RING])
    # topology stands on the links alone: 3 firms, 3 links, one ring
    assert (row["nodes"], row["links"], row["connectance"], row["link_density"]) == (3, 3, 3 / 9, 1.0)
    assert row["cyclicity"] == pytest.approx(1.0)
    assert row["flows"] == 5 and row["flows_without_quantity"] == 5 and row["links_known"] == 0
    assert row["coverage"] == 0.0
    assert all(row[column] is None for column in FLOW_METRICS), {c: row[c] for c in FLOW_METRICS}
    assert row["reason"] == "nothing known: 0 of 5 mass flows with a quantity"


def test_partial_coverage_below_the_minimum_is_null_with_a_reason():
    # 2 of 5 flows known (40 %): below the default minimum of 50 %
    edges = [(u, v, q if (u, v) in {("boundary:in:import", "a"), ("a", "b")} else None) for u, v, q in RING]
    row = _row(edges)
    assert row["coverage"] == pytest.approx(0.4) and row["links_known"] == 1
    assert all(row[column] is None for column in FLOW_METRICS)
    assert "coverage 40% below the minimum 50%" in row["reason"] and "2 of 5 mass flows" in row["reason"]
    assert row["cyclicity"] == pytest.approx(1.0)  # the topology is still given
    # a user who accepts less (a screening run) gets the figures, with the same coverage beside them
    screening = _row(edges, min_coverage=0.4)
    assert screening["coverage"] == pytest.approx(0.4)
    assert screening["TST"] == 15.0  # T_a = 5 (import), T_b = 10 (from a): the known flows only


def test_partial_coverage_above_the_minimum_gives_values_with_coverage():
    # the export from c has no quantity: 4 of 5 known (80 %); the ring itself is fully known
    edges = [(u, v, None if v == "boundary:out:export" else q) for u, v, q in RING]
    row = _row(edges)
    assert row["coverage"] == pytest.approx(0.8) and row["links_known"] == 3 and row["flows_without_quantity"] == 1
    # by hand on the known flows: T_a = 5 + 5 = 10, T_b = 10, T_c = 10; TST 30; boundary input 5
    assert row["TST"] == 30.0 and row["boundary_input"] == 5.0 and row["APL"] == pytest.approx(6.0)
    assert row["boundary_output"] is None  # the only export's quantity is unknown: unknown, not 0
    # G_ab = 1, G_bc = 1, G_ca = 5/10: the ring's loop gain is 1/2, N_jj = 2 for every firm in it,
    # FCI = sum ((N_jj - 1) / N_jj) T_j / TST = 1/2
    assert row["FCI"] == pytest.approx(0.5) and row["cycled"] == pytest.approx(15.0)
    assert "1 flow(s) without a quantity" in row["warning"]
    assert row["reason"].startswith("boundary_output: no boundary output with a known quantity")


def test_floating_point_noise_prints_as_zero():
    # A chain in which every flow is its row's and its column's only one: AMI = H exactly, so the
    # overhead and robustness are 0 analytically. With 0.3 m3/yr on each of 5 flows, log2 round-off
    # leaves about 1e-15 if nothing cleans it (checked below with the plain formula).
    chain = [("boundary:in:import", "f0", 0.3), ("f0", "f1", 0.3), ("f1", "f2", 0.3), ("f2", "f3", 0.3),
             ("f3", "boundary:out:export", 0.3)]
    t = np.full(5, 0.3)  # each entry of the extended matrix, and each its row's and column's sum
    p = t / t.sum()
    raw_overhead = (-(p * np.log2(p)).sum() - (p * np.log2(t * t.sum() / (t * t))).sum()) * t.sum()
    assert raw_overhead != 0.0  # the fixture does produce round-off
    row = _row(chain, currency="water")
    assert row["overhead"] == 0.0 and row["robustness"] == 0.0 and row["ascendency_ratio"] == 1.0
    assert row["H"] == pytest.approx(np.log2(5)) and row["FCI"] == 0.0  # a chain: nothing cycles


@pytest.mark.parametrize("edges, expected", [
    ([("a", "b", 5.0)], "a single flow with a known quantity"),  # one link, nothing else
    ([("boundary:in:import", "a", 5.0), ("a", "boundary:out:export", 5.0)], "no flow between two firms"),
])
def test_degenerate_network_gets_topology_and_null_flow_metrics(edges, expected):
    row = _row(edges)
    assert row["coverage"] == 1.0  # everything known, and still nothing to measure
    assert all(row[column] is None for column in FLOW_METRICS)
    assert row["reason"].startswith("degenerate network") and expected in row["reason"]
    assert row["nodes"] >= 1 and row["cyclicity"] == 0.0


def test_cycles_only_through_unknown_links_leave_fci_null_not_zero():
    # the ring closes only through c -> a, whose quantity is unknown: 4 of 5 flows known
    edges = [(u, v, None if (u, v) == ("c", "a") else q) for u, v, q in RING]
    row = _row(edges)
    assert row["cyclicity"] == pytest.approx(1.0) and row["coverage"] == pytest.approx(0.8)
    assert row["FCI"] is None and row["cycled"] is None
    assert row["reason"].startswith("FCI, cycled:") and "unknown, not 0" in row["reason"]
    assert row["TST"] == 25.0  # the other figures are given, on the known flows (T_a 5, T_b 10, T_c 10)


def test_fci_with_some_cycles_known_is_given_and_flagged():
    # a <-> b known; c <-> d closes only through an unknown link
    edges = [("boundary:in:import", "a", 10.0), ("a", "b", 10.0), ("b", "a", 4.0), ("b", "boundary:out:export", 6.0),
             ("boundary:in:import", "c", 2.0), ("c", "d", 2.0), ("d", "c", None), ("d", "boundary:out:export", 2.0)]
    row = _row(edges)
    assert row["FCI"] > 0 and row["reason"] is None
    assert "FCI counts only cycles whose flows are known: 1 link(s)" in row["warning"]


def test_no_nan_in_any_cell_and_no_nan_in_the_warning():
    # one currency fully known with a warning-free row, one unknown, one absent: text and number
    # columns with gaps (pandas would turn None into NaN and a text NaN prints "nan")
    G = _graph(RING, currency="mass")
    G.add_edge("a", "b", currency="energy", kind="energy", quantity=None)
    table = network_metrics(G)
    assert table["warning"].tolist()[0] is None and table["reason"].tolist()[2] == "no water flows"
    _assert_no_nan(table)


def test_shipped_enar_model_has_full_coverage(tmp_path):
    db = open_store(tmp_path / "oyster.db")
    import_files(db, sorted((ENA / "oyster").glob("*.csv")))
    row = network_metrics(load_graph(db, park="oyster"), currencies=("energy",)).iloc[0]
    assert row["coverage"] == 1.0 and row["links_known"] == row["links"] and row["reason"] is None
    assert row["flows_without_quantity"] == 0


def test_min_coverage_must_be_a_share():
    with pytest.raises(InputError, match="min_coverage"):
        network_metrics(_graph(RING), min_coverage=1.5)
    with pytest.raises(InputError, match="min_coverage"):
        metrics_by_park("unused.db", min_coverage=-0.1)


@pytest.fixture
def two_parks(tmp_path):
    """A small CSV store: park 'known' with every quantity, park 'sparse' with one of five."""
    (tmp_path / "parks.csv").write_text("id,name\nknown,Known park\nsparse,Sparse park\n")
    (tmp_path / "enterprises.csv").write_text(
        "id,name,park_id\n" + "".join(f"{p}_{f},{p} {f},{p}\n" for p in ("known", "sparse") for f in "abc"))
    rows = ["source_id,target_id,resource_code,quantity,unit,boundary"]
    for park in ("known", "sparse"):
        for u, v, quantity in RING:
            # a boundary end is an empty id, with its label in the boundary column
            source, target = ("" if end.startswith("boundary:") else f"{park}_{end}" for end in (u, v))
            label = next((end.split(":")[-1] for end in (u, v) if end.startswith("boundary:")), "")
            known = park == "known" or not source  # the sparse park knows only its import
            rows.append(f"{source},{target},fly_ash,{quantity if known else ''},t/yr,{label}")
    (tmp_path / "flows.csv").write_text("\n".join(rows) + "\n")
    db = open_store(tmp_path / "parks.db")
    import_files(db, [tmp_path / name for name in ("parks.csv", "enterprises.csv", "flows.csv")])
    db.conn.close()
    return tmp_path / "parks.db"


def test_metrics_by_park_carries_coverage_and_min_coverage(two_parks):
    table = metrics_by_park(str(two_parks), jobs=1, currencies=("mass",))
    rows = {row["park_id"]: row for row in table.to_dict("records")}
    assert rows["known"]["coverage"] == 1.0 and rows["known"]["FCI"] == pytest.approx(0.5)
    assert rows["sparse"]["coverage"] == pytest.approx(0.2) and rows["sparse"]["FCI"] is None
    assert "below the minimum" in rows["sparse"]["reason"]
    assert rows["sparse"]["cyclicity"] == pytest.approx(1.0)
    _assert_no_nan(table)
    lowered = metrics_by_park(str(two_parks), jobs=1, currencies=("mass",), min_coverage=0.2)
    sparse = lowered.set_index("park_id").loc["sparse"]
    # the known flow is the import into a: no flow between two firms is known, so still nothing to measure
    assert sparse["TST"] is None and sparse["reason"].startswith("degenerate network")
    assert MIN_COVERAGE == 0.5


def test_cli_prints_no_nan(two_parks):
    runner = CliRunner()
    for fmt in ("table", "csv", "json"):
        result = runner.invoke(cli, ["metrics", "--db", str(two_parks), "--park", "sparse", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert not re.search(r"\bnan\b", result.output, re.IGNORECASE), result.output
    data = json.loads(runner.invoke(cli, ["metrics", "--db", str(two_parks), "--park", "sparse",
                                          "--format", "json"]).output)
    mass = {row["currency"]: row for row in data["metrics"]}["mass"]
    assert mass["TST"] is None and mass["coverage"] == pytest.approx(0.2)
