"""CO2 in the park's network: who emits, who absorbs, what exchanges avoid, and what could be absorbed.

Accounting rules (all in tCO2e/yr):

- **emitted**: scope 1 + scope 2 from ``emissions`` (the firm's latest year, or ``year``). For a firm
  that reports no emissions, its CO2 flows sent to air (boundary flows) stand in; with neither, the
  figure is missing (None), never zero.
- **absorbed**: CO2 kept at the node: CO2 flows received minus CO2 flows sent on (to other firms or to
  air). A capture unit that passes its CO2 on therefore absorbs nothing itself; the greenhouse,
  methanol, urea or carbonation plant that keeps it does. Capture declared in ``emissions`` counts as
  absorbed only where no CO2 flows leave the capturing firm (stored on site), so nothing is counted twice.
- **avoided**: by-products received from other firms that replace virgin supply: quantity x the
  resource's ``co2_factor`` (the shipped catalogue's cited factors, or the user's own), minus transport:
  tonne-km x road-freight factor for mass and CO2 flows; energy and water go by pipe (no transport term).
- **net** = emitted - absorbed - avoided.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import sqlite_utils

from .errors import InputError
from .factors import load_factors
from .geo import nearest_within
from .graph import is_boundary, load_graph

__all__ = ["carbon_resources", "carbon_balance", "exchange_credits", "absorption_nodes", "allocate_co2", "greedy_allocation",
           "Allocation"]

log = logging.getLogger(__name__)

_BALANCE_COLUMNS = [
    "id", "name", "park_id", "sector_name", "year", "scope1_t", "scope2_t", "co2_to_air_t", "emitted_t",
    "emitted_source", "co2_received_t", "co2_sent_t", "captured_t", "absorbed_t", "avoided_gross_t",
    "transport_t", "avoided_t", "net_t",
]


def _emissions(db: sqlite_utils.Database, firms: list[str], year: int | None) -> dict[str, tuple]:
    """(year, scope1, scope2, capture) per firm: the given year, else each firm's latest."""
    found: dict[str, tuple] = {}
    for start in range(0, len(firms), 500):
        chunk = firms[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        sql = (f"SELECT enterprise_id, year, scope1_t, scope2_t, co2_capture_t FROM emissions "
               f"WHERE enterprise_id IN ({marks})" + (" AND year = ?" if year is not None else "")
               + " ORDER BY year")
        for firm, row_year, scope1, scope2, capture in db.execute(sql, chunk + ([year] if year is not None else [])):
            found[firm] = (row_year, scope1, scope2, capture)  # ordered by year: the latest wins
    return found


def carbon_resources(db: sqlite_utils.Database) -> list[str]:
    """Resource codes whose flows carry carbon: CO2 itself and by-products with an avoided-emission factor.

    The carbon analyses read only these flows (``load_graph(..., resources=carbon_resources(db))``);
    on the synthetic national store that is 29 % of the flows.
    """
    return [code for (code,) in db.execute(
        "SELECT code FROM resources WHERE kind = 'co2' OR co2_factor IS NOT NULL ORDER BY code")]


def carbon_balance(db: sqlite_utils.Database, park: str | None = None, year: int | None = None,
                   factors: dict[str, float] | None = None, G: nx.MultiDiGraph | None = None) -> pd.DataFrame:
    """CO2 emitted, absorbed, avoided and net per enterprise (see the module docstring for the rules).

    Parameters
    ----------
    db : sqlite_utils.Database
        The store.
    park : str, optional
        Only this park's firms.
    year : int, optional
        Emissions of this year and flows of this year (or undated); default each firm's latest emissions.
    factors : dict, optional
        From :func:`symbiosis.factors.load_factors` (road-freight factor); default the shipped table.
    G : networkx.MultiDiGraph, optional
        The existing-flow graph, if already loaded (all flows, or only :func:`carbon_resources`' ones).

    Returns
    -------
    DataFrame
        One row per firm: ``id, name, park_id, sector_name, year, scope1_t, scope2_t, co2_to_air_t,
        emitted_t, emitted_source, co2_received_t, co2_sent_t, captured_t, absorbed_t,
        avoided_gross_t, transport_t, avoided_t, net_t`` (tCO2e/yr), largest emitters first.
    """
    factors = factors or load_factors()
    if G is None:
        G = load_graph(db, park=park, year=year, status="existing", resources=carbon_resources(db))
    firms = [node for node in G if not is_boundary(G, node)]
    sums = {firm: dict.fromkeys(("to_air", "received", "sent", "avoided_gross", "transport"), 0.0) for firm in firms}
    outflows = dict.fromkeys(firms, 0)
    for u, v, data in G.edges(data=True):
        if data["currency"] != "co2":
            continue
        if u in sums:
            outflows[u] += 1
        if data["quantity"] is None:
            continue
        if u in sums:
            sums[u]["to_air" if G.nodes[v].get("direction") == "out" else "sent"] += data["quantity"]
        if v in sums:
            sums[v]["received"] += data["quantity"]
    credits = exchange_credits(db, G, factors)
    for taker, gross, transport in zip(credits["taker_id"], credits["avoided_gross_t"], credits["transport_t"]):
        if taker in sums and pd.notna(gross):
            sums[taker]["avoided_gross"] += gross
            sums[taker]["transport"] += transport if pd.notna(transport) else 0.0
    reported = _emissions(db, firms, year)
    rows = []
    for firm in firms:
        node, total = G.nodes[firm], sums[firm]
        row_year, scope1, scope2, captured = reported.get(firm, (None, None, None, None))
        if scope1 is not None or scope2 is not None:
            emitted, source = (scope1 or 0.0) + (scope2 or 0.0), "emissions"
        elif total["to_air"] > 0:
            emitted, source = total["to_air"], "co2 flows to air"
        else:
            emitted, source = None, None
        kept = max(0.0, total["received"] - total["sent"] - total["to_air"])
        stored_on_site = (captured or 0.0) if outflows[firm] == 0 else 0.0
        absorbed = kept + stored_on_site
        avoided = total["avoided_gross"] - total["transport"]
        rows.append({
            "id": firm, "name": node.get("name"), "park_id": node.get("park_id"),
            "sector_name": node.get("sector_name"), "year": row_year, "scope1_t": scope1, "scope2_t": scope2,
            "co2_to_air_t": total["to_air"], "emitted_t": emitted, "emitted_source": source,
            "co2_received_t": total["received"], "co2_sent_t": total["sent"], "captured_t": captured,
            "absorbed_t": absorbed, "avoided_gross_t": total["avoided_gross"], "transport_t": total["transport"],
            "avoided_t": avoided, "net_t": None if emitted is None else emitted - absorbed - avoided,
        })
    frame = pd.DataFrame(rows, columns=_BALANCE_COLUMNS)
    return frame.sort_values("emitted_t", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def exchange_credits(db: sqlite_utils.Database, G: nx.MultiDiGraph,
                     factors: dict[str, float] | None = None) -> pd.DataFrame:
    """Every by-product exchange between firms whose resource has an avoided-emission factor.

    ``avoided_gross_t = quantity x co2_factor``; ``transport_t = tonnes x km x road-freight factor`` for
    mass flows (energy and water go by pipe); ``avoided_t`` is their difference. An exchange without a
    quantity is listed with its factor and an unknown (None) saving: the link is known, the figure is not.

    Returns
    -------
    DataFrame
        ``flow_id, supplier_id, supplier, taker_id, taker, resource, quantity, unit, co2_factor,
        factor_basis`` (the catalogue's note: source and derivation), ``distance_km, avoided_gross_t,
        transport_t, avoided_t``, largest saving first.
    """
    factors = factors or load_factors()
    road = factors["road_freight_tco2e_per_tkm"]
    resources = {code: (factor, note) for code, factor, note in
                 db.execute("SELECT code, co2_factor, note FROM resources WHERE co2_factor IS NOT NULL")}
    rows = []
    for u, v, key, data in G.edges(keys=True, data=True):
        # a by-product received by a firm from another firm (inside or outside the park), not virgin supply
        if data["currency"] == "co2" or data["resource"] not in resources:
            continue
        if G.nodes[u].get("direction") or G.nodes[v].get("direction"):
            continue
        factor, basis = resources[data["resource"]]
        quantity, distance = data["quantity"], data.get("distance_km")
        gross = None if quantity is None else quantity * factor
        transport = None
        if quantity is not None:
            transport = quantity * distance * road if data["currency"] == "mass" and distance is not None else 0.0
        rows.append({"flow_id": key, "supplier_id": u, "supplier": G.nodes[u].get("name"), "taker_id": v,
                     "taker": G.nodes[v].get("name"), "resource": data["resource"], "quantity": quantity,
                     "unit": data["unit"], "co2_factor": factor, "factor_basis": basis, "distance_km": distance,
                     "avoided_gross_t": gross, "transport_t": transport,
                     "avoided_t": None if gross is None else gross - transport})
    frame = pd.DataFrame(rows, columns=["flow_id", "supplier_id", "supplier", "taker_id", "taker", "resource",
                                        "quantity", "unit", "co2_factor", "factor_basis", "distance_km",
                                        "avoided_gross_t", "transport_t", "avoided_t"])
    # flow id breaks ties, so the order does not depend on how the graph was built
    return frame.sort_values(["avoided_t", "flow_id"], ascending=[False, True], na_position="last",
                             kind="stable").reset_index(drop=True)


def absorption_nodes(balance: pd.DataFrame, G: nx.MultiDiGraph, db: sqlite_utils.Database) -> pd.DataFrame:
    """Firms ranked by CO2 absorbed plus avoided: the nodes that carry the park's carbon.

    Returns
    -------
    DataFrame
        ``rank, id, name, absorbed_t, avoided_t, carried_t`` (absorbed + avoided),
        ``share_of_park_emissions`` (carried over the park's emitted total) and ``carbon_pagerank``:
        PageRank on the firm-to-firm network weighted by the carbon each exchange carries (tonnes of CO2
        for CO2 flows, tCO2e avoided for by-product flows), so a hub that passes CO2 on ranks high too.
    """
    emitted = balance["emitted_t"].sum(min_count=1)
    co2_factor = dict(db.execute("SELECT code, co2_factor FROM resources WHERE co2_factor IS NOT NULL"))
    weighted = nx.DiGraph()
    for u, v, data in G.edges(data=True):
        if is_boundary(G, u) or is_boundary(G, v) or data["quantity"] is None:
            continue
        carbon = data["quantity"] if data["currency"] == "co2" else data["quantity"] * (co2_factor.get(data["resource"]) or 0)
        if carbon > 0:
            previous = weighted.get_edge_data(u, v, {"weight": 0.0})["weight"]
            weighted.add_edge(u, v, weight=previous + carbon)
    rank = nx.pagerank(weighted, weight="weight") if weighted.number_of_edges() else {}
    frame = balance[["id", "name", "absorbed_t", "avoided_t"]].copy()
    frame["carried_t"] = frame["absorbed_t"] + frame["avoided_t"]
    frame = frame[frame["carried_t"] > 0]
    frame["share_of_park_emissions"] = frame["carried_t"] / emitted if emitted and emitted > 0 else None
    frame["carbon_pagerank"] = frame["id"].map(rank)
    frame = frame.sort_values("carried_t", ascending=False, kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


@dataclass
class Allocation:
    """Result of :func:`allocate_co2`.

    Attributes
    ----------
    pairs : DataFrame
        ``emitter_id, emitter, absorber_id, absorber, tonnes, distance_km, tkm, transport_tco2e``.
    summary : DataFrame
        One row of park totals: ``emitted_t, absorbed_existing_t, offered_t, demand_open_t,
        allocated_t, allocated_greedy_t, absorbable_t, absorbable_share, unabsorbed_t``.
    notes : list of str
    """

    pairs: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _exchange_sides(db: sqlite_utils.Database, table: str, park: str | None, year: int | None) -> pd.DataFrame:
    where = ["t.kind = 'co2'", "t.quantity > 0"]
    params: list = []
    if park is not None:
        where.append("e.park_id = ?")
        params.append(park)
    if year is not None:
        where.append("(t.year = ? OR t.year IS NULL)")
        params.append(year)
    rows = db.execute(
        f"SELECT e.id, e.name, e.lat, e.lon, sum(t.quantity) FROM {table} t JOIN enterprises e ON e.id = t.enterprise_id "
        f"WHERE {' AND '.join(where)} GROUP BY e.id ORDER BY e.id", params).fetchall()
    return pd.DataFrame(rows, columns=["id", "name", "lat", "lon", "tonnes"])


def allocate_co2(db: sqlite_utils.Database, park: str | None = None, year: int | None = None,
                 max_km: float = 100.0, factors: dict[str, float] | None = None,
                 balance: pd.DataFrame | None = None) -> Allocation:
    """Match the park's capturable CO2 to its absorbers with a min-cost flow.

    Emitters offer CO2 (``offers`` of kind co2); absorbers declare a CO2 demand or capacity (``demands``),
    less what they already receive through existing CO2 flows. A pair can exchange only within ``max_km``
    (great-circle). ``networkx.max_flow_min_cost`` then allocates the most tonnes possible at the least
    total tonne-km: unlike taking the nearest pairs first, it never blocks a supplier whose only reachable
    absorber a nearer one has already filled.

    Returns
    -------
    Allocation
        Tonnes per pair, and the absorbable share of the park's emissions:
        ``(absorbed by existing flows + allocated) / emitted``.

    Examples
    --------
    >>> from symbiosis.store import open_store
    >>> allocate_co2(open_store(":memory:")).summary["allocated_t"].tolist()
    [0.0]
    """
    if max_km <= 0:
        raise InputError(f"max_km must be positive, not {max_km}")
    factors = factors or load_factors()
    balance = balance if balance is not None else carbon_balance(db, park=park, year=year, factors=factors)
    emitters = _exchange_sides(db, "offers", park, year)
    absorbers = _exchange_sides(db, "demands", park, year)
    received = dict(zip(balance["id"], balance["co2_received_t"]))
    absorbers["tonnes"] = [max(0.0, need - received.get(firm, 0.0)) for firm, need in zip(absorbers["id"], absorbers["tonnes"])]
    notes = []
    located_e = emitters.dropna(subset=["lat", "lon"]).reset_index(drop=True)
    located_a = absorbers[absorbers["tonnes"] > 0].dropna(subset=["lat", "lon"]).reset_index(drop=True)
    for side, full, located in (("emitters", emitters, located_e), ("absorbers", absorbers[absorbers["tonnes"] > 0], located_a)):
        if len(full) > len(located):
            notes.append(f"{len(full) - len(located)} {side} without coordinates left out")
    # each absorber's 25 nearest emitters within reach: bounded at national scale, exact for a park
    i, j, distance = nearest_within(located_e["lat"], located_e["lon"], located_a["lat"], located_a["lon"], max_km, 25)
    same = located_e["id"].to_numpy()[i] == located_a["id"].to_numpy()[j]
    candidates = list(zip(i[~same], j[~same], distance[~same]))
    allocated = _min_cost_flow(located_e["tonnes"].to_numpy(), located_a["tonnes"].to_numpy(), candidates)
    truck = factors["co2_truck_tco2e_per_tkm"]
    rows = [{
        "emitter_id": located_e.at[e, "id"], "emitter": located_e.at[e, "name"],
        "absorber_id": located_a.at[a, "id"], "absorber": located_a.at[a, "name"],
        "tonnes": tonnes, "distance_km": km, "tkm": tonnes * km, "transport_tco2e": tonnes * km * truck,
    } for (e, a, km), tonnes in allocated]
    pairs = pd.DataFrame(rows, columns=["emitter_id", "emitter", "absorber_id", "absorber", "tonnes",
                                        "distance_km", "tkm", "transport_tco2e"])
    greedy = sum(tonnes for _, tonnes in greedy_allocation(located_e["tonnes"].to_numpy(),
                                                           located_a["tonnes"].to_numpy(), candidates))
    emitted = balance["emitted_t"].sum(min_count=1)
    absorbed = float(balance["absorbed_t"].sum())
    total_allocated = float(pairs["tonnes"].sum())
    absorbable = absorbed + total_allocated
    summary = pd.DataFrame([{
        "emitted_t": emitted, "absorbed_existing_t": absorbed, "offered_t": float(emitters["tonnes"].sum()),
        "demand_open_t": float(absorbers["tonnes"].sum()), "allocated_t": total_allocated,
        "allocated_greedy_t": float(greedy), "absorbable_t": absorbable,
        "absorbable_share": absorbable / emitted if emitted and emitted > 0 else None,
        "unabsorbed_t": emitted - absorbable if emitted is not None and not math.isnan(emitted) else None,
        "max_km": max_km,
    }])
    return Allocation(pairs.sort_values("tonnes", ascending=False, kind="stable").reset_index(drop=True), summary, notes)


#: above this many candidate pairs the allocation is solved as a linear programme (HiGHS) instead of
#: networkx's network simplex, which is pure Python; both give a max-flow, min-cost allocation
NETWORKX_LIMIT = 20_000


def _min_cost_flow(supply: np.ndarray, demand: np.ndarray, candidates: list[tuple[int, int, float]]) -> list:
    """Max tonnes at min tonne-km; integer tonnes and 0.1 km costs, as networkx's simplex wants integers."""
    if len(candidates) > NETWORKX_LIMIT:
        return _lp_flow(supply, demand, candidates)
    flow = nx.DiGraph()
    for e, tonnes in enumerate(supply):
        flow.add_edge("source", ("e", e), capacity=int(round(tonnes)), weight=0)
    for a, tonnes in enumerate(demand):
        flow.add_edge(("a", a), "sink", capacity=int(round(tonnes)), weight=0)
    for e, a, km in candidates:
        flow.add_edge(("e", e), ("a", a), weight=int(round(km * 10)))
    if not candidates:
        return []
    result = nx.max_flow_min_cost(flow, "source", "sink")
    return [((e, a, km), float(result[("e", e)][("a", a)])) for e, a, km in candidates
            if result[("e", e)][("a", a)] > 0]


def _lp_flow(supply: np.ndarray, demand: np.ndarray, candidates: list[tuple[int, int, float]]) -> list:
    """The same allocation as a transportation LP: first the most tonnes, then the least tonne-km among
    allocations that move them (two HiGHS solves)."""
    import scipy.optimize
    import scipy.sparse

    e, a, km = (np.array(column, dtype=float) for column in zip(*candidates))
    e, a = e.astype(int), a.astype(int)
    n = len(candidates)
    matrix = scipy.sparse.vstack([
        scipy.sparse.csr_matrix((np.ones(n), (e, np.arange(n))), shape=(len(supply), n)),
        scipy.sparse.csr_matrix((np.ones(n), (a, np.arange(n))), shape=(len(demand), n)),
    ]).tocsr()
    limits = np.concatenate([np.round(supply), np.round(demand)])
    most = scipy.optimize.linprog(-np.ones(n), A_ub=matrix, b_ub=limits, bounds=(0, None), method="highs")
    total = -most.fun
    cheapest = scipy.optimize.linprog(km, A_ub=scipy.sparse.vstack([matrix, -np.ones((1, n))]).tocsr(),
                                      b_ub=np.concatenate([limits, [-(total - 1e-7)]]),
                                      bounds=(0, None), method="highs")
    x = cheapest.x if cheapest.success else most.x
    # tonnes to the gram: the solver's tolerance is far below that
    return [(candidate, float(round(tonnes, 3))) for candidate, tonnes in zip(candidates, x) if round(tonnes, 3) > 0]


def greedy_allocation(supply, demand, candidates: list[tuple[int, int, float]]) -> list:
    """Nearest pairs first, each taking all it can: the plain rule the min-cost flow is compared with."""
    supply, demand = list(map(float, supply)), list(map(float, demand))
    taken = []
    for e, a, km in sorted(candidates, key=lambda candidate: candidate[2]):
        tonnes = min(supply[e], demand[a])
        if tonnes > 0:
            supply[e] -= tonnes
            demand[a] -= tonnes
            taken.append(((e, a, km), tonnes))
    return taken
