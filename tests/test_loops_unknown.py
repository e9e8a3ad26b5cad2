"""Loops with links of unknown quantity: the bottleneck is unknown (None), such loops rank after those
with a known bottleneck, and no sum counts an unknown quantity as 0."""
import math

import networkx as nx
import pandas as pd

from symbiosis.loops import find_loops

UNITS = {"mass": "t/yr", "energy": "MWh/yr", "water": "m3/yr"}


def _flow(G, u, v, currency, quantity, resource="r"):
    for node in (u, v):
        G.add_node(node, name=node.upper(), boundary=False)
    return G.add_edge(u, v, resource=resource, kind=currency, currency=currency, quantity=quantity,
                      unit=UNITS[currency])


def _no_nan(frame: pd.DataFrame) -> None:
    for column in frame.columns:
        for value in frame[column].tolist():
            assert value is None or not (isinstance(value, float) and math.isnan(value)), (column, value)


def test_one_unknown_link_makes_the_bottleneck_unknown():
    G = nx.MultiDiGraph()
    _flow(G, "a", "b", "mass", 100.0)
    _flow(G, "b", "c", "mass", None)  # could be smaller than 20: the bottleneck is not 20
    _flow(G, "c", "a", "mass", 20.0)
    loop = find_loops(G).loops.iloc[0]
    assert loop["members"] == "a -> b -> c" and loop["bottleneck"] is None
    assert loop["links_known"] == 2 and loop["unknown_links"] == 1 and loop["length"] == 3
    assert "B -> C: r (quantity unknown)" in loop["links"]


def test_a_link_with_one_unknown_flow_among_several_is_unknown_not_summed_as_zero():
    G = nx.MultiDiGraph()
    _flow(G, "a", "b", "energy", 50.0, "steam")
    _flow(G, "a", "b", "energy", None, "steam")  # a second steam line, quantity not published
    _flow(G, "b", "a", "energy", 80.0, "hot_water")
    loop = find_loops(G).loops.iloc[0]
    # 50 is only a lower bound of the a -> b link: the link (and the loop's bottleneck) is unknown
    assert loop["bottleneck"] is None and loop["links_known"] == 1 and loop["unknown_links"] == 1
    assert "steam (at least 50 MWh/yr, 1 of 2 flows without quantity)" in loop["links"]
    assert "hot_water (80 MWh/yr)" in loop["links"]


def test_a_partly_known_link_above_the_smallest_known_link_leaves_the_bottleneck_known():
    G = nx.MultiDiGraph()
    _flow(G, "a", "b", "energy", 500.0, "steam")
    _flow(G, "a", "b", "energy", None, "steam")  # a -> b carries at least 500
    _flow(G, "b", "a", "energy", 80.0, "hot_water")
    loop = find_loops(G).loops.iloc[0]
    # whatever the second steam line carries, a -> b is above 80: the bottleneck is b -> a's 80 exactly
    assert loop["bottleneck"] == 80.0 and loop["links_known"] == 1 and loop["unknown_links"] == 1


def test_known_bottlenecks_rank_first_across_currencies():
    G = nx.MultiDiGraph()
    # mass loop with an unknown link: its bottleneck is unknown, it ranks after every known one
    _flow(G, "a", "b", "mass", 1000.0)
    _flow(G, "b", "a", "mass", None)
    # energy and water loops fully known
    _flow(G, "c", "d", "energy", 5.0)
    _flow(G, "d", "c", "energy", 7.0)
    _flow(G, "e", "f", "water", 3.0)
    _flow(G, "f", "e", "water", 9.0)
    # a second mass loop of three links, two of them known: better known than a <-> b's one of two
    _flow(G, "g", "h", "mass", 4.0)
    _flow(G, "h", "i", "mass", 4.0)
    _flow(G, "i", "g", "mass", None)
    loops = find_loops(G).loops
    assert loops["members"].tolist() == ["c -> d", "e -> f", "g -> h -> i", "a -> b"]
    assert loops["rank"].tolist() == [1, 2, 3, 4]
    assert loops["bottleneck"].tolist() == [5.0, 3.0, None, None]
    assert loops["links_known"].tolist() == [2, 2, 2, 1]


def test_known_loops_by_bottleneck_within_a_currency():
    G = nx.MultiDiGraph()
    for u, v, small in (("a", "b", 2.0), ("c", "d", 9.0), ("e", "f", 5.0)):
        _flow(G, u, v, "water", 100.0)
        _flow(G, v, u, "water", small)
    assert find_loops(G).loops["bottleneck"].tolist() == [9.0, 5.0, 2.0]


def test_no_nan_in_the_loops_table_and_small_quantities_are_not_zero():
    G = nx.MultiDiGraph()
    _flow(G, "p", "q", "energy", 10.0, "steam")
    _flow(G, "q", "p", "water", 0.4, "condensate")  # a mixed loop: no bottleneck, no unit
    _flow(G, "x", "y", "mass", None)
    _flow(G, "y", "x", "mass", None)
    loops = find_loops(G).loops
    _no_nan(loops)
    mixed = loops[loops["currency"] == "mixed"].iloc[0]
    assert mixed["bottleneck"] is None and mixed["unit"] is None and mixed["links_known"] == 2
    # each resource in its own unit, and 0.4 is not printed as 0
    assert "P -> Q: steam (10 MWh/yr)" in mixed["links"] and "Q -> P: condensate (0.4 m3/yr)" in mixed["links"]
    unknown = loops[loops["currency"] == "mass"].iloc[0]
    assert unknown["bottleneck"] is None and unknown["links_known"] == 0 and unknown["unknown_links"] == 2
