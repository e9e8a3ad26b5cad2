"""Network metrics against published enaR values (models loaded through the normal import path),
and analytic checks."""
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.metrics import cyclicity, flow_model, network_metrics, node_balance
from symbiosis.store import open_store

ENA = Path(__file__).parent / "data" / "ena"
# our column -> enaR's name in expected.json
NAMES = {"TST": "TST", "TSTp": "TSTp", "APL": "APL", "FCI": "FCI", "BFI": "BFI", "DFI": "DFI", "IFI": "IFI",
         "boundary_input": "Boundary", "H": "H", "AMI": "AMI", "ascendency": "ASC", "capacity": "CAP",
         "overhead": "OH", "ascendency_ratio": "ASC.CAP", "robustness": "robustness", "nodes": "n",
         "links": "L", "connectance": "C", "link_density": "LD", "cyclicity": "lam1A", "cycled": "mode2.F"}


def _metrics(model: str, tmp_path: Path):
    db = open_store(tmp_path / f"{model}.db")
    import_files(db, sorted((ENA / model).glob("*.csv")))  # flows with empty source/target = boundary
    G = load_graph(db, park=model if model == "oyster" else None)
    return network_metrics(G, currencies=("energy",)).iloc[0], json.loads((ENA / model / "expected.json").read_text())


@pytest.mark.parametrize("model", ["oyster", "marine_coprophagy", "cone_spring"])
def test_published_models_reproduce_enaR(model, tmp_path):
    row, expected = _metrics(model, tmp_path)
    tolerance = expected.get("tolerance", {})
    checked = []
    for ours, theirs in NAMES.items():
        if not isinstance(expected.get(theirs), (int, float)):
            continue
        bound = tolerance.get(theirs, {"rel": 5e-4})  # published to 7 digits; the bar is 3 significant figures
        assert row[ours] == pytest.approx(expected[theirs], **bound), (ours, row[ours], expected[theirs])
        checked.append(ours)
    assert {"TST", "FCI"} <= set(checked)
    if model == "oyster":
        assert len(checked) >= 18
        assert round(row["TST"], 2) == 83.58 and round(row["FCI"], 4) == 0.1102


def test_oyster_is_balanced_and_uses_input_throughflow(tmp_path):
    row, _ = _metrics("oyster", tmp_path)
    assert row["throughflow"] == "input" and row["unbalanced_nodes"] == 0 and row["warning"] is None
    db = open_store(tmp_path / "oyster.db")
    output_based = network_metrics(load_graph(db), currencies=("energy",), orientation="output").iloc[0]
    assert output_based["FCI"] == pytest.approx(0.1101673, rel=1e-5)  # the reference's output-based figure


def _graph(edges, currency="mass"):
    G = nx.MultiDiGraph()
    for u, v, quantity in edges:
        for node in (u, v):
            G.add_node(node, boundary=node.startswith("boundary:"), boundary_label=node.split(":")[-1])
        G.add_edge(u, v, currency=currency, quantity=quantity)
    return G


def test_cyclicity_analytic_values():
    assert cyclicity(np.array([[0, 1], [1, 0]])) == pytest.approx(1.0)
    for n in (3, 5, 8):
        assert cyclicity(np.ones((n, n)) - np.eye(n)) == pytest.approx(n - 1)
    dag = nx.to_numpy_array(nx.gnp_random_graph(30, 0.3, seed=1, directed=True))
    assert cyclicity(np.triu(dag, 1)) == 0.0
    assert cyclicity(np.zeros((0, 0))) == 0.0


def test_cyclicity_of_a_large_sparse_network_uses_components():
    ring = nx.to_numpy_array(nx.cycle_graph(600, create_using=nx.DiGraph))
    assert cyclicity(ring) == pytest.approx(1.0, abs=1e-6)


def test_two_cycle_metrics_by_hand():
    # a -> b 10, b -> a 4, 10 in to a from outside, a and b each lose to outside: a 2... by hand:
    G = _graph([("boundary:in:import", "a", 10.0), ("a", "b", 10.0), ("b", "a", 4.0),
                ("b", "boundary:out:export", 6.0), ("a", "boundary:out:air", 0.0)])
    row = network_metrics(G, currencies=("mass",)).iloc[0]
    # T_a = 4 + 10 = 14, T_b = 10; TST 24; G_ab = 10/14, G_ba = 4/10
    # N_aa = N_bb = 1 / (1 - 10/14 * 4/10) = 1 / (1 - 2/7) = 7/5
    # FCI = ((N_aa - 1)/N_aa * 14 + (N_bb - 1)/N_bb * 10) / 24 = (2/7 * 24) / 24 = 2/7
    assert row["TST"] == 24.0 and row["FCI"] == pytest.approx(2 / 7)
    assert row["APL"] == pytest.approx(2.4) and row["cyclicity"] == pytest.approx(1.0)
    assert (row["nodes"], row["links"], row["connectance"], row["link_density"]) == (2, 2, 0.5, 1.0)


def test_dag_has_no_cycling_and_chain_ascendency_by_hand():
    G = _graph([("boundary:in:import", "a", 8.0), ("a", "b", 8.0), ("b", "boundary:out:export", 8.0)])
    row = network_metrics(G, currencies=("mass",)).iloc[0]
    assert row["FCI"] == 0.0 and row["cyclicity"] == 0.0
    # three equal flows: H = log2(3); each flow is its row's and column's only one: AMI = log2(3) too
    assert row["H"] == pytest.approx(np.log2(3)) and row["AMI"] == pytest.approx(np.log2(3))
    assert row["ascendency_ratio"] == pytest.approx(1.0) and row["robustness"] == pytest.approx(0.0)


def test_imbalance_is_reported_not_hidden():
    # b receives 10 but passes on only 2: unbalanced
    G = _graph([("boundary:in:import", "a", 10.0), ("a", "b", 10.0), ("b", "boundary:out:export", 2.0)])
    balance = node_balance(G, "mass")
    assert balance.iloc[0]["id"] == "b" and balance.iloc[0]["imbalance"] == pytest.approx(0.8)
    row = network_metrics(G, currencies=("mass",), imbalance_threshold=0.1).iloc[0]
    assert row["unbalanced_nodes"] == 1 and "unbalanced" in row["warning"]


def test_unknown_quantities_count_in_topology_only():
    G = _graph([("a", "b", None), ("b", "a", 5.0)])
    model = flow_model(G, "mass")
    assert model.adjacency.sum() == 2 and model.unknown == 1 and model.flows.sum() == 5.0
    row = network_metrics(G, currencies=("mass",)).iloc[0]
    assert row["cyclicity"] == pytest.approx(1.0) and row["flows_without_quantity"] == 1
    assert "without a quantity" in row["warning"]


def test_currencies_are_never_mixed():
    G = _graph([("a", "b", 5.0)], currency="mass")
    G.add_edge("b", "a", currency="energy", quantity=7.0)
    table = network_metrics(G).set_index("currency")
    assert table.loc["mass", "cyclicity"] == 0.0 and table.loc["energy", "cyclicity"] == 0.0
    assert table.loc["water", "nodes"] == 0
