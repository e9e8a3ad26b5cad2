"""Recycling loops: where material, energy or water goes round between firms.

A loop is a simple cycle of firms inside the park (boundary nodes and firms outside the park never
close a loop). Cycle counts explode with network size, so loops are enumerated lazily, per strongly
connected component, within a length bound, and the enumeration stops at a cap.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.csgraph

from ._gc import collector_paused
from .errors import InputError
from .graph import validate_graph
from .settings import DEFAULT_LOOP_LIMIT as DEFAULT_LIMIT

#: the order loops are searched and listed in (CO2 going round is listed too, after water)
CURRENCY_ORDER = ("mass", "energy", "water", "co2")

__all__ = ["LoopSearch", "find_loops", "strongly_connected", "internal_digraph"]

log = logging.getLogger(__name__)

# default cap on the number of loops listed
#: columns of the loops table after ``rank``
_LOOP_COLUMNS = ("currency", "length", "bottleneck", "unit", "links_known", "unknown_links", "members", "member_ids",
                 "names", "links", "resources")


@dataclass
class LoopSearch:
    """Result of :func:`find_loops`.

    Attributes
    ----------
    loops : DataFrame
        One row per loop: ``rank, currency, length, bottleneck, unit, links_known, unknown_links,
        members, names, links, resources``. ``currency`` is mass, energy, water or co2 when every link
        carries that currency (a loop carrying two currencies on every link is listed once for each),
        else mixed. ``members`` and ``names`` list the firms in loop order (the last sends back to the
        first); ``links`` gives each link's resources and quantities ("quantity unknown", or "at least
        ..." when only some of a resource's flows have one); ``bottleneck`` is the smallest link
        quantity in the canonical unit (a link's quantity is the sum of its flows of the loop's
        currency, known only when every one of them has a quantity), None for a mixed loop (currencies
        are never compared) or when a link of unknown quantity could be the smallest: a link without
        any quantity always could; one with some flows known could when their sum (a lower bound) is
        below the smallest known link. ``links_known`` of the ``length`` links have a quantity,
        ``unknown_links`` do not.
        Missing cells are None, never NaN. Ranked: loops with a known bottleneck first (by currency:
        mass, energy, water, co2; then largest bottleneck first, shorter first), then the rest (by
        currency, then mixed; most links known first, shorter first).
    components : DataFrame
        Strongly connected components with a loop: ``component, size, members``.
    capped : bool
        True when the enumeration stopped at ``limit``: more loops exist.
    limit, max_length : int
        The cap and the length bound used.
    """

    loops: pd.DataFrame
    components: pd.DataFrame
    capped: bool
    limit: int
    max_length: int
    notes: list[str] = field(default_factory=list)


def internal_digraph(G: nx.MultiDiGraph, kinds: list[str] | None = None) -> nx.DiGraph:
    """A simple digraph of the firms inside the park; each edge keeps the flows it stands for.

    Edge attribute ``flows`` lists the attribute dicts of the flows it stands for (G's own dicts, shared,
    not copies: do not change them).
    """
    validate_graph(G, needs=("currency", "quantity"))
    with collector_paused():
        return _internal_digraph(G, kinds)


def _internal_digraph(G: nx.MultiDiGraph, kinds: list[str] | None) -> nx.DiGraph:
    inside = {node for node, boundary in G.nodes(data="boundary", default=False) if not boundary}
    H: nx.DiGraph = nx.DiGraph()
    H.add_nodes_from(node for node in G if node in inside)
    links = []
    for u, neighbours in G.adjacency():
        if u not in inside:
            continue
        for v, parallel in neighbours.items():
            if v not in inside:
                continue
            # G's own attribute dicts, not copies: a national graph has a million of them
            flows = [data for data in parallel.values() if not kinds or data["kind"] in kinds]
            if flows:
                links.append((u, v, {"flows": flows}))
    H.add_edges_from(links)
    return H


def strongly_connected(G: nx.MultiDiGraph, kinds: list[str] | None = None) -> pd.DataFrame:
    """Strongly connected components of the firms inside the park that can hold a loop.

    Returns
    -------
    DataFrame
        ``component, size, members`` (ids, comma-separated), largest first. Components of one firm are
        listed only if the firm sends flows to itself.
    """
    validate_graph(G, needs=("currency", "quantity"))
    H = internal_digraph(G, kinds)
    return _components_table(_loop_components({u: list(neighbours) for u, neighbours in H.adjacency()}))


def _components_table(groups: list[list[str]]) -> pd.DataFrame:
    rows = sorted(groups, key=lambda members: (-len(members), members))
    return pd.DataFrame(
        [{"component": number, "size": len(members), "members": ", ".join(members)}
         for number, members in enumerate(rows, start=1)],
        columns=["component", "size", "members"],
    )


def _loop_components(successors: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components that can hold a loop (two firms or more, or a firm feeding itself).

    Each component's members are sorted; components come in the order of their first member in
    ``successors``. scipy's compiled search instead of networkx's: 250,000 firms in well under a second.
    """
    index = {node: number for number, node in enumerate(successors)}
    for targets in successors.values():
        for target in targets:
            index.setdefault(target, len(index))  # a firm that only receives
    if not index:
        return []
    nodes = list(index)
    source_numbers = [index[u] for u, targets in successors.items() for _ in targets]
    target_numbers = [index[v] for targets in successors.values() for v in targets]
    matrix = scipy.sparse.csr_matrix((np.ones(len(source_numbers), dtype=np.int8), (source_numbers, target_numbers)),
                                     shape=(len(nodes), len(nodes)))
    _, labels = scipy.sparse.csgraph.connected_components(matrix, directed=True, connection="strong")
    sizes = np.bincount(labels)
    self_fed = {index[u] for u, targets in successors.items() if u in targets}
    groups: dict[int, list[str]] = {}
    for number, label in enumerate(labels.tolist()):
        if sizes[label] > 1 or number in self_fed:
            groups.setdefault(label, []).append(nodes[number])
    return [sorted(members) for members in groups.values()]


def find_loops(G: nx.MultiDiGraph, *, max_length: int = 6, limit: int = DEFAULT_LIMIT,
               kinds: list[str] | None = None) -> LoopSearch:
    """Find recycling loops: simple cycles of firms, up to ``max_length`` firms, at most ``limit`` of them.

    Cycles are enumerated with ``networkx.simple_cycles(..., length_bound=max_length)`` one strongly
    connected component at a time, lazily, and the search stops after ``limit`` loops, so a dense
    network cannot exhaust time or memory. Single-currency loops are searched first (one pass per
    currency on the links that carry it), then loops that only close by mixing currencies.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        From :func:`symbiosis.graph.load_graph`.
    max_length : int
        Most firms in a loop (2 = exchanges in both directions between two firms).
    limit : int
        Most loops to list.
    kinds : list of str, optional
        Only flows of these kinds (e.g. ``["energy"]``).

    Returns
    -------
    LoopSearch

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> G.add_edge("a", "b", key="f1", resource="steam", kind="energy", currency="energy", quantity=5.0, unit="MWh/yr")
    'f1'
    >>> G.add_edge("b", "a", key="f2", resource="condensate", kind="energy", currency="energy", quantity=2.0, unit="MWh/yr")
    'f2'
    >>> result = find_loops(G)
    >>> result.loops[["length", "currency", "bottleneck"]].values.tolist()
    [[2, 'energy', 2.0]]
    """
    validate_graph(G, needs=("currency", "quantity"))
    if max_length < 1:
        raise InputError(f"max_length must be at least 1, not {max_length}")
    if limit < 1:
        raise InputError(f"limit must be at least 1, not {limit}")
    with collector_paused():
        H = _internal_digraph(G, kinds)
        views = _currency_views(H)
        mixed = {u: list(neighbours) for u, neighbours in H.adjacency()}
        mixed_groups = _loop_components(mixed)  # the components table and the mixed pass share it
        components = _components_table(mixed_groups)
    names = {node: G.nodes[node].get("name") or node for node in H}
    # Single-currency loops first (material, energy or water going round), then loops that only close
    # by mixing currencies; each within the length bound, per component, lazily, sharing one cap.
    # (currency, successors over its links, its loop components when already known)
    passes: list[tuple[str, dict[str, list[str]], list[list[str]] | None]] = [
        (currency, views[currency], None) for currency in CURRENCY_ORDER if currency in views]
    passes.append(("mixed", mixed, mixed_groups))
    records: list[dict] = []
    capped = False
    for currency, successors, groups in passes:
        for members in groups if groups is not None else _loop_components(successors):
            for cycle in _cycles(successors, members, max_length):
                if currency == "mixed" and _single_currency(H, cycle):
                    continue  # listed in its own currency's pass
                if len(records) == limit:
                    capped = True
                    break
                records.append(_describe(H, cycle, names, currency))
            if capped:
                break
        if capped:
            break
    # Known bottlenecks first: an unknown link could be the smallest, so such a loop cannot be placed
    # among the known ones. Python's sort is stable: ties keep the enumeration order (same on every run).
    order = {name: number for number, name in enumerate(CURRENCY_ORDER + ("mixed",))}
    records.sort(key=lambda loop: (loop["bottleneck"] is None, order[loop["currency"]], -(loop["bottleneck"] or 0.0),
                                   -loop["links_known"] / loop["length"], loop["length"]))
    # object columns where a cell may be None: pandas would store NaN (numbers) or a NaN that prints "nan" (text)
    loops = pd.DataFrame({column: pd.Series([loop[column] for loop in records],
                                            dtype=object if column in ("bottleneck", "unit") else None)
                          for column in _LOOP_COLUMNS}, columns=list(_LOOP_COLUMNS))
    loops.insert(0, "rank", range(1, len(loops) + 1))
    notes = []
    if capped:
        notes.append(f"stopped at {limit} loops (the cap): more exist; raise --limit or lower --max-length")
    log.info("%d loops listed (max length %d, cap %d%s)", len(loops), max_length, limit, ", capped" if capped else "")
    return LoopSearch(loops.reset_index(drop=True), components, capped, limit, max_length, notes)


def _cycles(successors: dict[str, list[str]], members: list[str], max_length: int) -> Iterator[list[str]]:
    """Simple cycles of one strongly connected component (``members`` sorted), the same on every run.

    networkx starts its search from ``next(iter(a set of nodes))``; string hashes change between
    processes, so on string ids the order (and with a cap, the loops listed) would too. On integer
    labels given in sorted id order it is fixed. A concrete digraph of the component also avoids
    nested graph views, whose filtered neighbour lookups are about 10x slower.
    """
    if len(members) == 2:
        # Two firms that feed each other (most components of a large park): their one loop, without building
        # a graph and running networkx's search (which finds its components again) for it.
        first, second = members
        self_fed = [member for member in members if member in successors.get(member, ())]
        if not self_fed:
            if max_length >= 2:
                yield [first, second]
            return
    label = {member: number for number, member in enumerate(members)}
    inner: nx.DiGraph = nx.DiGraph()
    inner.add_nodes_from(range(len(members)))
    inner.add_edges_from((label[u], label[v]) for u in members for v in successors.get(u, ()) if v in label)
    for cycle in nx.simple_cycles(inner, length_bound=max_length):
        yield [members[number] for number in cycle]


def _currency_views(H: nx.DiGraph) -> dict[str, dict[str, list[str]]]:
    """Per currency, the successors of each firm over the links of H that carry that currency."""
    views: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for u, v, link in H.edges(data=True):
        for currency in {flow["currency"] for flow in link["flows"]}:
            views[currency][u].append(v)
    return views


def _single_currency(H: nx.DiGraph, cycle: list[str]) -> bool:
    links = zip(cycle, cycle[1:] + cycle[:1])
    shared = None
    for u, v in links:
        currencies = {flow["currency"] for flow in H.edges[u, v]["flows"]}
        shared = currencies if shared is None else shared & currencies
        if not shared:
            return False
    return True


def _describe(H: nx.DiGraph, cycle: list[str], names: dict[str, str], currency: str) -> dict:
    # Start each loop at its smallest id, so the same loop always reads the same way.
    start = cycle.index(min(cycle))
    cycle = cycle[start:] + cycle[:start]
    links = list(zip(cycle, cycle[1:] + cycle[:1]))
    mixed = currency == "mixed"
    link_totals: list[float] = []  # the links whose every flow has a quantity
    lower_bounds: list[float] = []  # the known part of each other link
    texts: list[str] = []
    resources: set[str] = set()
    unit = None
    for u, v in links:
        flows = [flow for flow in H.edges[u, v]["flows"] if mixed or flow["currency"] == currency]
        quantities = [flow["quantity"] for flow in flows]
        # A link's quantity is known only when all its flows are; otherwise its known flows are a lower
        # bound (quantities are not negative), 0 when none is known.
        if None not in quantities:
            link_totals.append(sum(quantities))
        else:
            lower_bounds.append(sum(quantity for quantity in quantities if quantity is not None))
        unit = flows[0]["unit"]
        by_resource: dict[str, list[dict]] = defaultdict(list)
        for flow in flows:
            by_resource[flow["resource"]].append(flow)
        resources.update(by_resource)
        parts = [f"{resource} ({_amount(group)})" for resource, group in by_resource.items()]
        texts.append(f"{names[u]} -> {names[v]}: {', '.join(parts)}")
    known_links = len(link_totals)
    # The smallest known link is the bottleneck only if no unknown link can be smaller: each one's lower
    # bound reaches it. Quantities of different currencies are never compared: a mixed loop has none.
    bottleneck = None
    if link_totals and not mixed:
        smallest = min(link_totals)
        if all(bound >= smallest for bound in lower_bounds):
            bottleneck = float(smallest)
    return {
        "currency": currency,
        "length": len(cycle),
        "bottleneck": bottleneck,
        "unit": None if mixed else unit,
        "links_known": known_links,
        "unknown_links": len(links) - known_links,
        "members": " -> ".join(cycle),
        "member_ids": list(cycle),  # the ids themselves: an id may contain " -> "
        "names": " -> ".join(names[node] for node in cycle),
        "links": "; ".join(texts),
        "resources": ", ".join(sorted(resources)),
    }


def _amount(flows: list[dict]) -> str:
    """One resource's quantity on a link, in its own unit: unknown, partly known, or known."""
    known = [flow["quantity"] for flow in flows if flow["quantity"] is not None]
    if not known:
        return "quantity unknown"
    total = sum(known)
    figure = f"{total:,.0f}" if abs(total) >= 100 else f"{total:.3g}"  # 0.4 t is not "0 t"
    if len(known) < len(flows):
        return f"at least {figure} {flows[0]['unit']}, {len(flows) - len(known)} of {len(flows)} flows without quantity"
    return f"{figure} {flows[0]['unit']}"
