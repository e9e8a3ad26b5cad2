"""The network: the store's enterprises and flows as a networkx MultiDiGraph.

Graph contract
--------------
Nodes are enterprise ids (str) with attributes ``name, park_id, sector_code, sector_name, lat, lon,
output_value_mcny, employees, role, boundary, external``. ``role`` is ``firm`` unless the enterprises
file declared the node a ``utility`` (a power or gas grid), the ``environment`` (a lake, the sea) or
``external`` (other mills, local farmers): those are the park's boundary (``boundary=True``), never
counted as its firms; ``external`` is True for firms and external actors outside the park. A flow that
crosses the park boundary (empty source
or target) ends at a boundary node ``boundary:in:LABEL`` or ``boundary:out:LABEL`` (LABEL is the flow's
``boundary`` column, default ``import``/``export``) with ``boundary=True`` ``direction`` and ``boundary_label``. When the
graph is cut to one park, firms of other parks that exchange with it are kept with ``boundary=True``
and ``external=True``: for the park they are outside.

Edges are keyed by flow id and carry ``resource, resource_name, kind, currency, quantity`` (canonical
unit, or None when unknown), ``unit, quantity_orig, unit_orig, year, status, distance_km``
(given, or great-circle when both ends have coordinates; ``distance_source`` says which),
``cost_cny_per_yr``, ``boundary_label`` (the outside end of a boundary flow), ``sd`` (the stated standard
deviation in the canonical unit, a relative one times the quantity; None when none is stated) and ``quality``
(the data-quality class, :data:`symbiosis.schema.QUALITY_CLASSES`, or None).
"""
from __future__ import annotations

import json
import numbers
import os
from collections.abc import Iterable

import networkx as nx
import numpy as np
import sqlite_utils

from ._gc import collector_paused
from .errors import GraphContractError, InputError, UnknownIdError
from .geo import haversine_km
from .schema import BOUNDARY_PREFIX, FLOW_STATUSES, NON_FIRM_ROLES
from .store import open_store, park_exists
from .units import CURRENCY, KINDS

__all__ = ["load_graph", "boundary_node", "is_boundary", "validate_graph", "weighted_graph", "EDGE_ATTRIBUTES"]

#: what every edge must carry for the analyses (the rest of the contract is optional)
EDGE_ATTRIBUTES = ("resource", "kind", "currency", "quantity")
#: how many problems validate_graph lists before it counts the rest
_LISTED = 10

_NODE_COLUMNS = ("name", "park_id", "sector_code", "sector_name", "lat", "lon", "output_value_mcny", "employees",
                 "role", "balanced")


def boundary_node(direction: str, label: str | None = None) -> str:
    """Id of the boundary node for flows entering (``in``) or leaving (``out``) the park."""
    return f"{BOUNDARY_PREFIX}{direction}:{label or ('import' if direction == 'in' else 'export')}"


def is_boundary(G: nx.MultiDiGraph, node: str) -> bool:
    """True for boundary nodes and for firms outside the park the graph was cut to."""
    return bool(G.nodes[node].get("boundary", False))


def _as_list(value: str | Iterable[str] | None, allowed: tuple[str, ...], what: str) -> list[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    bad = [item for item in values if item not in allowed]
    if bad:
        raise InputError(f"unknown {what} {', '.join(map(repr, bad))}; expected {', '.join(allowed)}")
    return values


def load_graph(
    db: sqlite_utils.Database | str | os.PathLike,
    park: str | None = None,
    *,
    year: int | None = None,
    kinds: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    resources: Iterable[str] | None = None,
    estimates: bool = False,
) -> nx.MultiDiGraph:
    """Build the flow network from the store.

    Parameters
    ----------
    db : sqlite_utils.Database or path
        The store, or the path of its file.
    park : str, optional
        Keep the firms of this park and every flow touching them; firms elsewhere become
        external boundary nodes. Default: every firm.
    year : int, optional
        Keep flows of this year and flows with no year.
    kinds : str or list of str, optional
        Keep flows of these kinds (material, waste, energy, water, co2).
    status : str or list of str, optional
        Keep flows with these statuses (existing, planned, potential). Default: all.
    resources : list of str, optional
        Keep flows of these resource codes (firms are kept whatever they exchange). Default: all.
    estimates : bool
        Read the latest stored reconciliation's estimates (:mod:`symbiosis.estimates`) in place of the
        quantities it adjusted or determined; ``G.graph['estimates']`` counts them.

    Returns
    -------
    networkx.MultiDiGraph
        See the module docstring for node and edge attributes. ``G.graph`` records the filters.

    Raises
    ------
    UnknownIdError
        If ``park`` is not in the store.

    Examples
    --------
    >>> from symbiosis.store import open_store
    >>> G = load_graph(open_store(":memory:"), kinds=["energy"])
    >>> G.graph["kinds"]
    ['energy']
    """
    if not isinstance(db, sqlite_utils.Database):
        db = open_store(db, create=False)
    kinds = _as_list(kinds, KINDS, "kind")
    status = _as_list(status, FLOW_STATUSES, "status")

    resources = None if resources is None else sorted(set(resources))
    where: list[str] = []
    params: list[str | int] = []  # the query's parameters, in order
    if park is not None:
        if not park_exists(db, park):
            raise UnknownIdError(f"no park {park!r} in the store")
        # Two indexed lookups (by source, by target) instead of a scan of every flow.
        where.append(
            "f.rowid IN (SELECT f2.rowid FROM flows f2 JOIN enterprises e ON e.id = f2.source_id WHERE e.park_id = ?"
            " UNION SELECT f3.rowid FROM flows f3 JOIN enterprises e ON e.id = f3.target_id WHERE e.park_id = ?)"
        )
        params += [park, park]
    if year is not None:
        where.append("(f.year = ? OR f.year IS NULL)")
        params.append(int(year))
    if kinds is not None:
        where.append(f"f.kind IN ({', '.join('?' for _ in kinds)})")
        params += kinds
    if status is not None:
        where.append(f"f.status IN ({', '.join('?' for _ in status)})")
        params += status
    if resources is not None:
        # json_each rather than IN (?, ?, ...): a list can outgrow SQLite's parameter limit
        where.append("f.resource_code IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(resources))
    sql = (
        "SELECT f.id, f.source_id, f.target_id, f.resource_code, r.name, f.kind, f.quantity, f.unit, "
        "f.quantity_orig, f.unit_orig, f.year, f.status, f.distance_km, f.cost_cny_per_yr, f.boundary, "
        "f.sd, f.sd_rel, f.quality "
        "FROM flows f JOIN resources r ON r.code = f.resource_code"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY f.rowid"
    )
    with collector_paused():  # a million small edge dicts, no cycles: see symbiosis._gc
        G = _build(db, sql, params, park, year, kinds, status, resources)
    if estimates:
        _apply_estimates(db, G, park, year)
    return G


def _apply_estimates(db: sqlite_utils.Database, G: nx.MultiDiGraph, park: str | None, year: int | None) -> None:
    """The latest reconciliation of each currency (of the park, or of each park; of the year asked, or
    of no year) replaces the quantities it adjusted or determined; each such edge says so in
    ``estimate`` (``adjusted`` or ``determined``) and keeps its imported quantity in ``quantity_imported``.
    An estimate below 0 is not applied (the imported quantity, or its absence, stays), counted as ``negative``."""
    where = "park_id = ?" if park is not None else "1"
    latest = [row[0] for row in db.execute(
        f"SELECT max(id) FROM reconciliations WHERE {where} AND year IS ? GROUP BY park_id, currency",
        ([park] if park is not None else []) + [year])]
    counts = {"adjusted": 0, "determined": 0, "negative": 0}
    G.graph["estimates"] = {"reconciliations": latest, **counts}
    if not latest:
        return
    estimates = {flow: (status, value, sd) for flow, status, value, sd in db.execute(
        "SELECT flow_id, status, value, sd FROM estimates WHERE status IN ('adjusted', 'determined') AND "
        f"reconciliation_id IN ({', '.join('?' for _ in latest)})", latest)}
    for _, _, flow_id, data in G.edges(keys=True, data=True):
        found = estimates.get(flow_id)
        if found is None:
            continue
        status, value, sd = found
        if value is not None and value < 0:  # no quantity (symbiosis.estimates.NEGATIVE_REASON): the imported stays
            counts["negative"] += 1
            continue
        data["quantity_imported"], data["quantity"], data["sd"], data["estimate"] = data["quantity"], value, sd, status
        counts[status] += 1
    G.graph["estimates"].update(counts)


def _build(db: sqlite_utils.Database, sql: str, params: list, park: str | None, year: int | None,
           kinds: list[str] | None, status: list[str] | None, resources: list[str] | None) -> nx.MultiDiGraph:
    flows = db.execute(sql, params).fetchall()

    G: nx.MultiDiGraph = nx.MultiDiGraph(park=park, year=year, kinds=kinds, status=status, resources=resources)
    G.graph["contract_edges"] = len(flows)  # built to the contract: validate_graph need not walk it
    member_sql = f"SELECT id, {', '.join(_NODE_COLUMNS)} FROM enterprises"
    members = db.execute(member_sql + (" WHERE park_id = ?" if park is not None else ""),
                         [park] if park is not None else []).fetchall()
    for row in members:
        attributes = dict(zip(_NODE_COLUMNS, row[1:]))
        role = attributes["role"] = attributes["role"] or "firm"
        # a lake, a grid or "local farmers" declared in the park are its boundary, not its firms
        G.add_node(row[0], **attributes, boundary=role in NON_FIRM_ROLES, external=role == "external")

    ends = {end for flow in flows for end in (flow[1], flow[2]) if end is not None}
    outsiders = sorted(ends - set(G))
    for start in range(0, len(outsiders), 500):
        chunk = outsiders[start:start + 500]
        for row in db.execute(member_sql + f" WHERE id IN ({', '.join('?' for _ in chunk)})", chunk):
            attributes = dict(zip(_NODE_COLUMNS, row[1:]))
            attributes["role"] = attributes["role"] or "firm"
            G.add_node(row[0], **attributes, boundary=True, external=attributes["role"] in ("firm", "external"))

    # Distances first, vectorised over every flow: per-edge lookups after the graph is built cost
    # more than building it.
    lat = {node: data.get("lat") for node, data in G.nodes.items()}
    lon = {node: data.get("lon") for node, data in G.nodes.items()}
    # None (no coordinates, or a boundary end) becomes NaN, and so does the distance
    end_coordinates = [np.array([place.get(flow[end]) for flow in flows], dtype=float)
                       for place, end in ((lat, 1), (lon, 1), (lat, 2), (lon, 2))]
    great_circle = haversine_km(*end_coordinates).tolist() if flows else []

    # types-networkx leaves out the adjacency dicts that networkx's own add_edge fills (_succ, _pred)
    succ, pred = G._succ, G._pred  # type: ignore[attr-defined]
    for (flow_id, source, target, resource, resource_name, kind, quantity, unit, quantity_orig, unit_orig,
         flow_year, flow_status, distance_km, cost, label, sd, sd_rel, quality), computed in zip(flows, great_circle):
        if source is None:
            source = boundary_node("in", label)
            _add_boundary(G, source, "in", label)
        if target is None:
            target = boundary_node("out", label)
            _add_boundary(G, target, "out", label)
        distance_source: str | None
        if distance_km is not None:
            distance_source = "given"
        else:
            located = computed == computed  # NaN: an end without coordinates
            distance_km = computed if located else None
            distance_source = "haversine" if located else None
        attributes = {
            "resource": resource, "resource_name": resource_name, "kind": kind, "currency": CURRENCY[kind],
            "quantity": quantity, "unit": unit, "quantity_orig": quantity_orig, "unit_orig": unit_orig,
            "year": flow_year, "status": flow_status, "distance_km": distance_km,
            "distance_source": distance_source, "cost_cny_per_yr": cost, "boundary_label": label,
            # the stated standard deviation (a relative one times the quantity), None when none is stated
            "sd": sd if sd is not None else (sd_rel * quantity if sd_rel is not None and quantity is not None else None),
            "quality": quality,
        }
        # Filling the adjacency directly (every end is already a node, every key a unique flow id) is
        # what MultiDiGraph.add_edge does without its per-edge checks: 1M flows in ~2 s instead of ~15 s.
        # tests/test_graph.py checks the result equals add_edges_from's.
        keys = succ[source].get(target)
        if keys is None:
            keys = succ[source][target] = pred[target][source] = {}
        keys[flow_id] = attributes
    return G


def _add_boundary(G: nx.MultiDiGraph, node: str, direction: str, label: str | None) -> None:
    if node not in G:
        shown = label or ("import" if direction == "in" else "export")
        G.add_node(node, name=f"outside ({shown})", boundary=True, direction=direction, boundary_label=shown)


def validate_graph(G: nx.MultiDiGraph, needs: tuple[str, ...] = EDGE_ATTRIBUTES) -> nx.MultiDiGraph:
    """Check that ``G`` keeps the graph contract (the module docstring) before an analysis reads it.

    Every edge needs the attributes the analysis reads (``needs``, of ``resource``, ``kind``, ``currency``,
    ``quantity``): ``kind`` one of :data:`symbiosis.units.KINDS`, ``currency`` mass, energy, water or co2,
    ``quantity`` a number or None (unknown). A graph made by :func:`load_graph` and not given edges since
    is not walked again.

    Returns
    -------
    networkx.MultiDiGraph
        ``G`` itself, so that an analysis can write ``G = validate_graph(G)``.

    Raises
    ------
    GraphContractError
        Every problem at once (the first ten, and how many more), each naming the edge.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> _ = G.add_edge("a", "b", key="f1", resource="steam", kind="energy")
    >>> validate_graph(G, needs=("resource", "kind")) is G
    True
    >>> validate_graph(G)
    Traceback (most recent call last):
    ...
    symbiosis.errors.GraphContractError: the graph does not keep ... edge a -> b (f1): missing currency, quantity
    """
    if not isinstance(G, nx.MultiDiGraph):
        raise GraphContractError(f"expected a networkx MultiDiGraph (symbiosis.graph.load_graph), not "
                                 f"{type(G).__name__}")
    if G.graph.get("contract_edges") == G.number_of_edges():
        return G
    currencies = set(CURRENCY.values())
    problems: list[str] = []
    count = 0
    for u, v, key, data in G.edges(keys=True, data=True):
        missing = [name for name in needs if name not in data]
        wrong = [f"missing {', '.join(missing)}"] if missing else []
        if "kind" in needs and "kind" in data and data["kind"] not in KINDS:
            wrong.append(f"kind {data['kind']!r} is not one of {', '.join(KINDS)}")
        if "currency" in needs and "currency" in data and data["currency"] not in currencies:
            wrong.append(f"currency {data['currency']!r} is not one of {', '.join(sorted(currencies))}")
        quantity = data.get("quantity")
        not_a_number = isinstance(quantity, bool) or not isinstance(quantity, numbers.Real)
        if "quantity" in needs and quantity is not None and not_a_number:
            wrong.append(f"quantity {quantity!r} is not a number or None")
        if wrong:
            count += 1
            if len(problems) < _LISTED:
                problems.append(f"edge {u} -> {v} ({key}): {'; '.join(wrong)}")
    if problems:
        more = f"; and {count - len(problems)} more edges" if count > len(problems) else ""
        raise GraphContractError("the graph does not keep the graph contract (symbiosis.graph): "
                                 + "; ".join(problems) + more)
    return G


def weighted_graph(G: nx.MultiDiGraph, currency: str, *, unknown: float | None = None) -> nx.DiGraph:
    """One currency's flows as a simple weighted DiGraph for networkx's standard algorithms.

    The flow graph keeps every currency on its own edges and ``quantity=None`` where a quantity is
    unknown, which ``pagerank``, ``out_degree(weight=...)`` or ``to_scipy_sparse_array`` cannot take. Here
    each pair of nodes gets one edge whose ``weight`` is a plain float: the sum of that currency's known
    quantities between them (canonical unit, ``G.graph['unit']``). A flow of unknown quantity is left out, or
    counted as ``unknown`` when one is given (say so wherever the result is shown); a pair with only
    unknown flows then has no edge. Every node of ``G`` is kept.

    Examples
    --------
    >>> G = nx.MultiDiGraph()
    >>> _ = G.add_edge("a", "b", currency="mass", quantity=2.0, unit="t/yr")
    >>> _ = G.add_edge("a", "b", currency="mass", quantity=3.0, unit="t/yr")
    >>> _ = G.add_edge("b", "a", currency="mass", quantity=None, unit="t/yr")
    >>> _ = G.add_edge("b", "c", currency="energy", quantity=7.0, unit="MWh/yr")
    >>> H = weighted_graph(G, "mass")
    >>> sorted(H.edges(data="weight")), H.graph["left_out"]
    ([('a', 'b', 5.0)], 1)
    >>> dict(H.out_degree(weight="weight"))["a"]
    5.0
    """
    validate_graph(G, needs=("currency", "quantity"))
    if currency not in set(CURRENCY.values()):
        raise InputError(f"unknown currency {currency!r}; expected one of {', '.join(sorted(set(CURRENCY.values())))}")
    H: nx.DiGraph = nx.DiGraph(currency=currency, unit=None, left_out=0, unknown_as=unknown)
    H.add_nodes_from(G.nodes(data=True))
    for u, v, data in G.edges(data=True):
        if data["currency"] != currency:
            continue
        quantity = data["quantity"] if data["quantity"] is not None else unknown
        if quantity is None:
            H.graph["left_out"] += 1
            continue
        H.graph["unit"] = H.graph["unit"] or data.get("unit")
        weight = H.edges[u, v]["weight"] if H.has_edge(u, v) else 0.0
        H.add_edge(u, v, weight=weight + float(quantity))
    return H
