import networkx as nx
import pytest

from symbiosis.errors import InputError, UnknownIdError
from symbiosis.graph import boundary_node, is_boundary, load_graph


def test_graph_contract_nodes_and_edges(filled):
    G = load_graph(filled)
    assert isinstance(G, nx.MultiDiGraph)
    assert {"power", "refinery", "board", "cement", "farm"} <= set(G)
    assert G.nodes["power"]["name"] == "Harbour Power Station"
    assert G.nodes["power"]["boundary"] is False
    assert G.number_of_edges() == 9
    steam = G.edges["power", "refinery", "power>refinery:steam:2002"]
    assert steam["resource"] == "steam" and steam["kind"] == "energy" and steam["currency"] == "energy"
    assert steam["unit"] == "MWh/yr" and steam["status"] == "existing" and steam["year"] == 2002
    assert G.edges["power", "cement", "power>cement:fly_ash:2002"]["quantity"] is None  # unknown stays unknown


def test_boundary_nodes_are_marked_and_labelled(filled):
    G = load_graph(filled)
    coal_in, landfill_air = boundary_node("in", "import"), boundary_node("out", "air")
    assert G.has_edge(coal_in, "power") and G.has_edge("power", landfill_air)
    assert is_boundary(G, coal_in) and G.nodes[coal_in]["direction"] == "in"
    assert G.nodes[landfill_air]["direction"] == "out"
    assert boundary_node("out", "export") in G


def test_park_cut_keeps_outsiders_as_external_boundary(filled):
    G = load_graph(filled, park="p1")
    assert {"power", "refinery", "board"} <= set(G)
    assert G.nodes["cement"]["external"] is True and is_boundary(G, "cement")
    assert not is_boundary(G, "power")
    assert all(u in ("power", "refinery", "board") or v in ("power", "refinery", "board")
               for u, v in G.edges() if not (u.startswith("boundary:") or v.startswith("boundary:")))
    inland = load_graph(filled, park="p2")
    assert set(inland.edges()) == {("power", "cement")}


def test_filters_by_kind_status_and_year(filled):
    assert {kind for *_, kind in load_graph(filled, kinds=["energy"]).edges(data="kind")} == {"energy"}
    planned = load_graph(filled, status="planned")
    assert [data["resource"] for *_, data in planned.edges(data=True)] == ["district_heat"]
    assert load_graph(filled, year=1999).number_of_edges() == 0
    assert load_graph(filled, year=2002).number_of_edges() == 9


def test_distance_filled_by_great_circle_when_not_given(filled):
    G = load_graph(filled)
    edge = G.edges["power", "cement", "power>cement:fly_ash:2002"]
    assert edge["distance_source"] == "haversine"
    assert edge["distance_km"] == pytest.approx(35.0, abs=3)  # 55.66N 11.08E to 55.40N 11.35E
    farm_edge = G.edges["power", "farm", "power>farm:district_heat:2002"]
    assert farm_edge["distance_km"] is None  # the farm has no coordinates


def test_unknown_park_and_kind(filled):
    with pytest.raises(UnknownIdError, match="no park"):
        load_graph(filled, park="atlantis")
    with pytest.raises(InputError, match="unknown kind"):
        load_graph(filled, kinds=["plasma"])


def test_load_from_path(filled, db_path):
    assert load_graph(db_path).number_of_edges() == 9


def test_direct_adjacency_fill_equals_add_edges_from(filled):
    # load_graph fills the adjacency itself for speed; networkx's own constructor must agree with it.
    G = load_graph(filled)
    H = nx.MultiDiGraph(**G.graph)
    H.add_nodes_from(G.nodes(data=True))
    H.add_edges_from(G.edges(keys=True, data=True))
    assert nx.utils.graphs_equal(G, H)
    assert G._pred == H._pred
    assert dict(G.in_degree()) == dict(H.in_degree())
    assert G.number_of_edges() == filled["flows"].count > 0


def test_resource_filter_keeps_every_firm_and_only_those_flows(filled):
    everything = load_graph(filled)
    steam_only = load_graph(filled, resources=["steam"])
    assert {data["resource"] for *_, data in steam_only.edges(data=True)} == {"steam"}
    assert steam_only.number_of_edges() == sum(1 for *_, r in everything.edges(data="resource") if r == "steam") > 0
    assert {n for n in everything if not is_boundary(everything, n)} <= set(steam_only)
    assert load_graph(filled, resources=[]).number_of_edges() == 0


def test_an_analysis_given_a_graph_off_contract_lists_every_problem():
    """find_loops on a graph without currency once raised a bare KeyError."""
    import networkx as nx

    from symbiosis.errors import GraphContractError
    from symbiosis.loops import find_loops
    from symbiosis.metrics import network_metrics

    G = nx.MultiDiGraph()
    G.add_edge("a", "b", key="f1", resource="steam", kind="energy", quantity=1.0)
    G.add_edge("b", "a", key="f2", resource="steam", kind="energy", currency="plasma", quantity="lots")
    for analysis in (find_loops, network_metrics):
        with pytest.raises(GraphContractError) as raised:
            analysis(G)
        message = str(raised.value)
        assert "a -> b (f1): missing currency" in message
        assert "b -> a (f2): currency 'plasma'" in message and "quantity 'lots'" in message


def test_weighted_graph_feeds_networkx_standard_algorithms(filled):
    """Issue 18, item 5: plain float weights per currency; unknowns left out (or given explicitly)."""
    import networkx as nx
    import scipy.sparse

    from symbiosis.graph import weighted_graph

    G = load_graph(filled)
    for currency in ("mass", "energy", "water"):
        H = weighted_graph(G, currency)
        known = sum(data["quantity"] for *_, data in G.edges(data=True)
                    if data["currency"] == currency and data["quantity"] is not None)
        assert sum(weight for *_, weight in H.edges(data="weight")) == pytest.approx(known)
        assert all(isinstance(weight, float) for *_, weight in H.edges(data="weight"))
        assert H.number_of_nodes() == G.number_of_nodes()
        ranks = nx.pagerank(H, weight="weight")
        assert sum(ranks.values()) == pytest.approx(1.0)
        matrix = nx.to_scipy_sparse_array(H, weight="weight")
        assert isinstance(matrix, scipy.sparse.sparray) and matrix.sum() == pytest.approx(known)
        assert sum(weight for _, weight in H.out_degree(weight="weight")) == pytest.approx(known)
    unknown = sum(1 for *_, data in G.edges(data=True) if data["quantity"] is None and data["currency"] == "mass")
    assert weighted_graph(G, "mass").graph["left_out"] == unknown
    assert weighted_graph(G, "mass", unknown=0.0).graph["left_out"] == 0
