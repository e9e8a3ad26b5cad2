import json

import networkx as nx
import pandas as pd
import pytest

from symbiosis.errors import InputError
from symbiosis.export import export_graph, graph_to_frames
from symbiosis.graph import load_graph


@pytest.fixture
def graph(filled):
    return load_graph(filled)


def test_graphml_reads_back_with_types(graph, tmp_path):
    path = export_graph(graph, tmp_path / "park.graphml")
    back = nx.read_graphml(path, force_multigraph=True)
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.number_of_edges() == graph.number_of_edges()
    assert back.nodes["power"]["label"] == "Harbour Power Station"
    weights = [data["weight"] for *_, data in back.edges(data=True) if "weight" in data]
    assert all(isinstance(weight, float) for weight in weights) and len(weights) == 7
    text = path.read_text()
    assert 'attr.type="double"' in text and 'attr.name="quantity"' in text


def test_gexf_reads_back(graph, tmp_path):
    path = export_graph(graph, tmp_path / "park.gexf")
    back = nx.read_gexf(path)
    assert back.number_of_edges() == graph.number_of_edges()
    assert back.nodes["refinery"]["label"] == "Harbour Refinery"


def test_json_node_link(graph, tmp_path):
    path = export_graph(graph, tmp_path / "park.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert len(data["edges"]) == 9 and len(data["nodes"]) == graph.number_of_nodes()
    back = nx.node_link_graph(data, edges="edges")
    assert back.edges["power", "board", "power>board:fgd_gypsum:2002"]["quantity"] == 200_000


def test_csv_one_row_per_flow(graph, tmp_path):
    path = export_graph(graph, tmp_path / "flows.csv")
    frame = pd.read_csv(path)
    assert len(frame) == 9
    assert {"flow_id", "source_name", "target_name", "resource", "quantity", "unit"} <= set(frame.columns)


def test_frames_and_unknown_format(graph, tmp_path):
    nodes, edges = graph_to_frames(graph)
    assert len(nodes) == graph.number_of_nodes() and len(edges) == 9
    with pytest.raises(InputError, match="unknown export format"):
        export_graph(graph, tmp_path / "park.dot")
