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


def test_gexf_for_gephi_keys_flows_by_id_weights_per_currency_and_places_firms(graph, tmp_path):
    """Issue 18, item 5: no empty graph name, the flow id as the edge id, one weight attribute per currency
    (none where the quantity is unknown, no mixed 'weight'), viz:position from coordinates in km."""
    import xml.etree.ElementTree as ElementTree

    path = export_graph(graph, tmp_path / "park.gexf")
    root = ElementTree.parse(path).getroot()
    namespace = {"g": "http://www.gexf.net/1.2draft", "viz": "http://www.gexf.net/1.2draft/viz"}
    assert "name" not in root.find("g:graph", namespace).attrib
    back = nx.read_gexf(path)
    flows = {key: data for _, _, key, data in graph.edges(keys=True, data=True)}
    edges = {data["id"]: data for *_, data in back.edges(data=True)}
    assert set(edges) == {str(key) for key in flows}
    for key, data in flows.items():
        written = edges[str(key)]
        assert "weight" not in written
        weights = {name: value for name, value in written.items() if name.startswith("weight_")}
        if data["quantity"] is None:
            assert weights == {}
        else:
            assert list(weights.values()) == [pytest.approx(data["quantity"])]
            assert next(iter(weights)).split("_")[1] == data["currency"]
    placed = [node for node in root.iter("{http://www.gexf.net/1.2draft}node")
              if node.find("viz:position", namespace) is not None]
    located = [node for node, data in graph.nodes(data=True) if data.get("lat") is not None]
    assert len(placed) == len(located) > 1
    positions = {node.get("id"): node.find("viz:position", namespace) for node in placed}
    first, second = located[0], located[1]
    dx = float(positions[second].get("x")) - float(positions[first].get("x"))
    dy = float(positions[second].get("y")) - float(positions[first].get("y"))
    from symbiosis.geo import haversine_km

    a, b = graph.nodes[first], graph.nodes[second]
    assert (dx * dx + dy * dy) ** 0.5 == pytest.approx(float(haversine_km(a["lat"], a["lon"], b["lat"], b["lon"])),
                                                      rel=0.01)


def test_graphml_round_trips_through_igraph_and_gexf_through_networkx(graph, tmp_path):
    """Issue 18, item 5: the files open in the other graph library users have (igraph reads GraphML; GEXF
    is read back by networkx, as Gephi writes and reads it)."""
    import igraph

    path = export_graph(graph, tmp_path / "park.graphml")
    back = igraph.Graph.Read_GraphML(str(path))
    assert (back.vcount(), back.ecount()) == (graph.number_of_nodes(), graph.number_of_edges())
    assert back.is_directed()
    labels = dict(zip(back.vs["id"], back.vs["label"]))
    assert labels["power"] == "Harbour Power Station"
    known = sorted(data["quantity"] for *_, data in graph.edges(data=True) if data["quantity"] is not None)
    assert sorted(value for value in back.es["quantity"] if value == value) == pytest.approx(known)  # NaN: unknown
    gexf = nx.read_gexf(export_graph(graph, tmp_path / "park.gexf"))
    assert (gexf.number_of_nodes(), gexf.number_of_edges()) == (graph.number_of_nodes(), graph.number_of_edges())
