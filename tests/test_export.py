import json
import os

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


GEXF = "{http://gexf.net/1.3}"
#: the attribute types GEXF 1.3 allows (gexf.net/1.3, specs/1.3/gexf.xsd 'attrtype-type'); the four this tool
#: writes are parsed below
GEXF_TYPES = {"integer", "long", "double", "float", "boolean", "bigdecimal", "biginteger", "byte", "char", "short",
              "liststring", "listboolean", "listinteger", "listlong", "listfloat", "listdouble", "listbyte",
              "listshort", "listbigdecimal", "listbiginteger", "listchar", "string", "anyURI"}
PARSE = {"long": int, "double": float, "boolean": {"true": True, "false": False}.__getitem__, "string": str}


def check_gexf_13(root) -> None:
    """The GEXF 1.3 schema's rules for the elements this tool writes, checked one by one (the official XSD
    itself is CC BY 4.0 in github.com/gephi/gexf specs/1.3; a test below validates against it when
    SYMBIOSIS_GEXF_XSD names a local copy)."""
    assert root.tag == GEXF + "gexf" and root.get("version") == "1.3"
    assert [child.tag for child in root] == [GEXF + "meta", GEXF + "graph"]
    graph = root.find(GEXF + "graph")
    assert set(graph.attrib) <= {"defaultedgetype", "mode", "idtype", "timeformat", "start", "end", "timestamp",
                                 "timerepresentation", "timezone"}  # no 'name': the schema has none
    tags = [child.tag.removeprefix(GEXF) for child in graph]
    assert tags == ["attributes"] * (len(tags) - 2) + ["nodes", "edges"]
    declared = {}
    for block in graph.findall(GEXF + "attributes"):
        assert block.get("class") in {"node", "edge"}
        for attribute in block:
            assert attribute.tag == GEXF + "attribute" and attribute.get("title")
            assert attribute.get("type") in GEXF_TYPES
            declared[(block.get("class"), attribute.get("id"))] = attribute.get("type")
    node_ids = [node.get("id") for node in graph.find(GEXF + "nodes")]
    assert len(set(node_ids)) == len(node_ids) == int(graph.find(GEXF + "nodes").get("count"))
    edges = list(graph.find(GEXF + "edges"))
    assert len({edge.get("id") for edge in edges}) == len(edges) == int(graph.find(GEXF + "edges").get("count"))
    for element_class, element in [("node", node) for node in graph.find(GEXF + "nodes")] + [
            ("edge", edge) for edge in edges]:
        assert element.tag == GEXF + element_class
        if element_class == "edge":
            assert {element.get("source"), element.get("target")} <= set(node_ids)
            assert element.get("weight") is None  # one mixed weight would add t to MWh
        for child in element:
            assert child.tag in {GEXF + "attvalues", GEXF + "position"}, child.tag  # in the GEXF namespace
            if child.tag == GEXF + "position":
                float(child.get("x")), float(child.get("y"))
            for value in child.iter(GEXF + "attvalue"):
                PARSE[declared[(element_class, value.get("for"))]](value.get("value"))


def test_gexf_follows_the_13_schema_keys_flows_by_id_weights_per_currency_and_places_firms(graph, tmp_path):
    """Issue 18, item 5: GEXF 1.3 by its schema's rules, the flow id as the edge id, one weight attribute per
    currency (none where the quantity is unknown, no mixed 'weight'), a position from coordinates in km."""
    import xml.etree.ElementTree as ElementTree

    path = export_graph(graph, tmp_path / "park.gexf")
    root = ElementTree.parse(path).getroot()
    check_gexf_13(root)
    back = nx.read_gexf(path)
    flows = {key: data for _, _, key, data in graph.edges(keys=True, data=True)}
    edges = {data["id"]: data for *_, data in back.edges(data=True)}
    assert set(edges) == {str(key) for key in flows}
    for key, data in flows.items():
        written = edges[str(key)]
        assert "weight" not in written
        weights = {name: value for name, value in written.items() if name.startswith("weight_")}
        if data["quantity"] is None:
            assert weights == {} and "quantity" not in written  # unknown: no value, never 0
        else:
            assert list(weights.values()) == [pytest.approx(data["quantity"])]
            assert next(iter(weights)).split("_")[1] == data["currency"]
    assert back.nodes["power"]["boundary"] is False and isinstance(back.nodes["power"]["lat"], float)
    placed = [node for node in root.iter(GEXF + "node") if node.find(GEXF + "position") is not None]
    located = [node for node, data in graph.nodes(data=True) if data.get("lat") is not None]
    assert len(placed) == len(located) > 1
    positions = {node.get("id"): node.find(GEXF + "position") for node in placed}
    first, second = located[0], located[1]
    dx = float(positions[second].get("x")) - float(positions[first].get("x"))
    dy = float(positions[second].get("y")) - float(positions[first].get("y"))
    from symbiosis.geo import haversine_km

    a, b = graph.nodes[first], graph.nodes[second]
    assert (dx * dx + dy * dy) ** 0.5 == pytest.approx(float(haversine_km(a["lat"], a["lon"], b["lat"], b["lon"])),
                                                      rel=0.01)


def test_gexf_keeps_untrusted_text_as_text(tmp_path):
    """Names with markup, quotes and control characters stay text in the XML (escaped, control characters
    replaced) and the file still follows the schema's rules."""
    import xml.etree.ElementTree as ElementTree

    G = nx.MultiDiGraph()
    G.add_node("a&b", name='<b onclick="x">A & "B"</b>\x01', lat=55.0, lon=11.0)
    G.add_node("c", name="C]]>", lat=None, lon=None)
    G.add_edge("a&b", "c", key="f<1>", quantity=None, currency="mass", resource="slag", flag=True)
    path = export_graph(G, tmp_path / "odd.gexf")
    root = ElementTree.parse(path).getroot()
    check_gexf_13(root)
    back = nx.read_gexf(path)
    assert back.nodes["a&b"]["label"] == '<b onclick="x">A & "B"</b>\ufffd'
    assert back.edges["a&b", "c"]["flag"] is True and back.edges["a&b", "c"]["id"] == "f<1>"


@pytest.mark.skipif(not os.environ.get("SYMBIOSIS_GEXF_XSD"),
                    reason="set SYMBIOSIS_GEXF_XSD to a local copy of gexf.net/1.3/gexf.xsd (with dynamics.xsd and "
                           "viz.xsd beside it) to validate against the official schema")
def test_gexf_validates_against_the_official_xsd(graph, tmp_path):
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(os.environ["SYMBIOSIS_GEXF_XSD"])
    schema.validate(str(export_graph(graph, tmp_path / "park.gexf")))


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
