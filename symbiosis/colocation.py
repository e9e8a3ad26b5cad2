"""Co-location: which exchanges travel too far, which firms belong together, what nobody takes.

Distances are great-circle (haversine); candidate pairs come from a KD-tree on unit vectors
(:func:`symbiosis.geo.pairs_within`), so nationwide data is never compared all against all.

Each analysis is a loader and a pure function: :func:`load_colocation_inputs` reads from the store
everything the analyses need (:class:`ColocationInputs`), and :func:`long_haul_of`, :func:`clusters_of`
and :func:`gaps_of` compute from those inputs alone (no store, no files). :func:`long_haul`,
:func:`clusters` and :func:`gaps` are the two in one call.
"""
from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import TypeVar

import networkx as nx
import numpy as np
import pandas as pd
import sqlite_utils

from .coverage import none_for_nan, with_note
from .errors import InputError, input_part
from .factors import factors_or_shipped, load_resource_sectors
from .geo import centroid, haversine_km, nearest, nearest_within
from .graph import load_graph
from .schema import NON_FIRM_ROLES
from .units import HEAT  # energy carriers that travel only by a heat pipe (fuels, power, hydrogen go further)
from .store import co2_factors, resource_names

__all__ = ["park_centres", "long_haul", "clusters", "gaps", "COLOCATION_PARTS", "ColocationInputs",
           "load_colocation_inputs", "long_haul_of", "clusters_of", "gaps_of"]

log = logging.getLogger(__name__)

#: distance assumed between two firms once they share a park
DEFAULT_COLOCATED_KM = 5.0
#: currencies moved by road, whose haul has a tonne-km figure
FREIGHT = ("mass", "co2")
#: what :func:`load_colocation_inputs` reads (every part by default): for :func:`long_haul_of`, for
#: :func:`clusters_of`, for :func:`gaps_of`
COLOCATION_PARTS = ("long_haul", "clusters", "gaps")
#: the statuses of the flows co-location judges (of every year)
_GRAPH_STATUSES = ["existing", "potential"]
_Value = TypeVar("_Value")


def _immovable(G: nx.MultiDiGraph) -> set[str]:
    """Nodes co-location cannot move: the boundary ends of imports and exports, and the utilities,
    environment and external actors (schema ``NON_FIRM_ROLES``) that are the park's boundary."""
    return {node for node, data in G.nodes(data=True)
            if data.get("direction") or data.get("role") in NON_FIRM_ROLES}


def _in_park(park: str | None) -> str:
    return f" for park {park}" if park is not None else ""


def park_centres(db: sqlite_utils.Database) -> pd.DataFrame:
    """Each park's coordinates: as given, else the centroid of its located firms.

    Returns
    -------
    DataFrame
        ``park_id, name, lat, lon, source`` (``given`` or ``firms``); parks with neither are left out.
    """
    rows = []
    for park_id, name, lat, lon in db.execute("SELECT id, name, lat, lon FROM parks ORDER BY id"):
        if lat is not None and lon is not None:
            rows.append((park_id, name, lat, lon, "given"))
            continue
        located = db.execute("SELECT lat, lon FROM enterprises WHERE park_id = ? AND lat IS NOT NULL "
                             "AND lon IS NOT NULL", (park_id,)).fetchall()
        if located:
            lats, lons = zip(*located)
            rows.append((park_id, name, *centroid(lats, lons), "firms"))
    return pd.DataFrame(rows, columns=["park_id", "name", "lat", "lon", "source"])


@dataclass(frozen=True)
class ColocationInputs:
    """What the co-location analyses read from the store, read once by :func:`load_colocation_inputs`.

    :func:`long_haul_of`, :func:`clusters_of` and :func:`gaps_of` compute from these alone: they run
    after the store is closed. The containers are shared, not copied: the pure functions never change
    them, and neither should a caller. A part not read is None.

    Attributes
    ----------
    park : str or None
        The park the inputs were read for (None: every park).
    parts : frozenset of str
        What was read (of :data:`COLOCATION_PARTS`).
    G : networkx.MultiDiGraph or None
        The existing and potential flows of every year (``long_haul``, ``clusters``).
    centres : DataFrame or None
        :func:`park_centres` of the store (``long_haul``, ``clusters``).
    co2_factors : dict or None
        Resource code -> t CO2e avoided per unit, for the resources that have a factor (``clusters``).
    potential_offers, potential_demands : DataFrame or None
        The offers (demands) of the park's firms (role ``firm``; of every firm without a park):
        ``firm, resource, kind, quantity, lat, lon``, floats NaN where unknown (``clusters``).
    enterprises : DataFrame or None
        ``id, name, lat, lon`` of every enterprise of the store, floats NaN where unknown (``clusters``).
        A frame, not dicts: a quarter of a million tuples held while the analysis runs would slow every
        garbage collection of it (measured: clusters of 200 parks 7 % slower).
    resource_names : dict or None
        Resource code -> name of the catalogue (``gaps``).
    gap_offers, gap_demands : DataFrame or None
        The offers (demands) of the park's enterprises (of every enterprise in a park): ``park_id, firm,
        enterprise, resource_code, quantity, unit`` (``gaps``).
    gap_flows : DataFrame or None
        The flows (any status) between two enterprises of the same park (of the park): ``source, park,
        target, target_park, resource_code`` (``gaps``).
    """

    park: str | None
    parts: frozenset[str]
    G: nx.MultiDiGraph | None = None
    centres: pd.DataFrame | None = None
    co2_factors: dict[str, float] | None = None
    potential_offers: pd.DataFrame | None = None
    potential_demands: pd.DataFrame | None = None
    enterprises: pd.DataFrame | None = None
    resource_names: dict[str, str] | None = None
    gap_offers: pd.DataFrame | None = None
    gap_demands: pd.DataFrame | None = None
    gap_flows: pd.DataFrame | None = None


def load_colocation_inputs(db: sqlite_utils.Database, park: str | None = None, *, G: nx.MultiDiGraph | None = None,
                           parts: Collection[str] = COLOCATION_PARTS) -> ColocationInputs:
    """Read from the store everything the co-location analyses need, once.

    Parameters
    ----------
    db : sqlite_utils.Database
        The store.
    park : str, optional
        Only this park's flows, offers and demands (the graph loaded here); default every park.
    G : networkx.MultiDiGraph, optional
        The graph of existing and potential flows of every year, if already loaded; default
        ``load_graph(db, park=park, status=["existing", "potential"])``, loaded only when a part needs it
        (``long_haul``, ``clusters``).
    parts : collection of str
        What to read; default all of :data:`COLOCATION_PARTS`, which every pure function can run on.
        ``long_haul``: the graph and the park centres (:func:`long_haul_of`); ``clusters``: those, the
        firms' offers and demands, the CO2 factors and every enterprise's place and name
        (:func:`clusters_of`); ``gaps``: the offers, demands and flows inside parks and the resource
        names (:func:`gaps_of`; no graph).

    Returns
    -------
    ColocationInputs

    Raises
    ------
    InputError
        An unknown part.
    UnknownIdError
        No such park, when the graph is loaded here.
    """
    unknown = sorted(set(parts) - set(COLOCATION_PARTS))
    if unknown:
        raise InputError(f"unknown co-location input {', '.join(map(repr, unknown))}; expected "
                         f"{', '.join(COLOCATION_PARTS)}")
    wanted = frozenset(parts)
    read: dict = {}
    if wanted & {"long_haul", "clusters"}:
        read["G"] = G if G is not None else load_graph(db, park=park, status=_GRAPH_STATUSES)
        read["centres"] = park_centres(db)
    if "clusters" in wanted:
        read["co2_factors"] = co2_factors(db)
        read["potential_offers"], read["potential_demands"] = (_firm_side(db, table, park)
                                                               for table in ("offers", "demands"))
        enterprises = pd.DataFrame(db.execute("SELECT id, name, lat, lon FROM enterprises").fetchall(),
                                   columns=["id", "name", "lat", "lon"])
        for column in ("lat", "lon"):  # floats, NaN where unknown (a column of None stays object)
            enterprises[column] = enterprises[column].astype(float)
        read["enterprises"] = enterprises
    if "gaps" in wanted:
        read["resource_names"] = resource_names(db)
        read["gap_offers"], read["gap_demands"], read["gap_flows"] = _gap_tables(db, park)
    return ColocationInputs(park=park, parts=wanted, **read)


def _firm_side(db: sqlite_utils.Database, table: str, park: str | None) -> pd.DataFrame:
    """Every firm's offer (or demand) of the park, to weigh and to count what cannot be used (no
    quantity or no coordinates): ``firm, resource, kind, quantity, lat, lon``."""
    where, params = ("", []) if park is None else (" AND e.park_id = ?", [park])
    rows = pd.DataFrame(db.execute(
        f"SELECT t.enterprise_id, t.resource_code, t.kind, t.quantity, e.lat, e.lon FROM {table} t "
        f"JOIN enterprises e ON e.id = t.enterprise_id WHERE (e.role IS NULL OR e.role = 'firm'){where}",
        params).fetchall(), columns=["firm", "resource", "kind", "quantity", "lat", "lon"])
    for column in ("quantity", "lat", "lon"):  # floats, NaN where unknown (a column of None stays object)
        rows[column] = rows[column].astype(float)
    return rows


def _gap_tables(db: sqlite_utils.Database, park: str | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The offers and demands of enterprises in the park (in any park) and the flows between two
    enterprises of one park (of the park), read by park in SQL (see :class:`ColocationInputs`)."""
    in_park, params = ("e.park_id = ?", [park]) if park is not None else ("e.park_id IS NOT NULL", [])
    offers, demands = (pd.DataFrame(db.execute(
        f"SELECT e.park_id, e.id, e.name, t.resource_code, t.quantity, t.unit FROM {table} t "
        f"JOIN enterprises e ON e.id = t.enterprise_id WHERE {in_park}", params).fetchall(),
        columns=["park_id", "firm", "enterprise", "resource_code", "quantity", "unit"])
        for table in ("offers", "demands"))
    flows = pd.DataFrame(db.execute(
        "SELECT f.source_id, s.park_id, f.target_id, t.park_id, f.resource_code FROM flows f "
        "JOIN enterprises s ON s.id = f.source_id JOIN enterprises t ON t.id = f.target_id "
        "WHERE s.park_id = t.park_id" + (" AND s.park_id = ?" if park is not None else ""),
        params).fetchall(), columns=["source", "park", "target", "target_park", "resource_code"])
    return offers, demands, flows


def _part(value: _Value | None, part: str, analysis: str) -> _Value:
    """An input a pure function needs (:func:`symbiosis.errors.input_part`)."""
    return input_part(value, part, analysis, "load_colocation_inputs")


def _check_radius(radius_km: float) -> None:
    if radius_km < 0:
        raise InputError(f"radius_km must not be negative, not {radius_km}")


def _check_weight(weight: str) -> None:
    if weight not in ("tco2e", "tonnes"):
        raise InputError(f"weight must be 'tco2e' or 'tonnes', not {weight!r}")


def long_haul(db: sqlite_utils.Database, park: str | None = None, *, radius_km: float = 50.0,
              factors: dict[str, float] | None = None, G: nx.MultiDiGraph | None = None) -> pd.DataFrame:
    """Existing and potential exchanges longer than ``radius_km``, and what co-location would save.

    For mass and CO2 flows the taker is imagined in the supplier's park (the nearest park for a supplier
    without one): the new distance is the supplier's distance to that park's centre. Savings are
    ``tonnes x (old - new distance)`` in tkm, x the road-freight factor in tCO2e and x the freight rate in
    CNY. Heat (steam, district heat, waste heat), water and CO2 flows beyond their pipe limit
    (``pipe_max_km_energy`` / ``_water`` / ``_co2``) are noted as feasible only if co-located.

    Only exchanges between firms are judged: flows to or from the outside (imports, exports) and from or
    to utilities, the environment and external actors (they cannot be moved) are left out. An exchange
    without a distance (no given distance and an end without coordinates) cannot be judged; one without
    a quantity is listed with its tkm and savings unknown (None), never 0.

    Returns
    -------
    DataFrame
        ``flow_id, supplier_id, supplier, taker_id, taker, resource, kind, status, quantity, unit,
        distance_km, host_park, distance_after_km, tkm, saved_tkm, saved_tco2e, saved_cost_cny, note,
        quantity_known``, largest saving first, then unknown savings by distance. Unknown cells are
        None. ``attrs["note"]`` says, when it applies, why the list is empty or partial: no exchange
        between firms, how many of them have a distance, how many savings are unknown.
    """
    _check_radius(radius_km)
    factors = factors_or_shipped(factors)
    inputs = load_colocation_inputs(db, park, G=G, parts=("long_haul",))
    return long_haul_of(inputs, radius_km=radius_km, factors=factors)


def long_haul_of(inputs: ColocationInputs, *, radius_km: float = 50.0, factors: dict[str, float]) -> pd.DataFrame:
    """:func:`long_haul` computed from the inputs :func:`load_colocation_inputs` read (no store needed).

    Parameters
    ----------
    inputs : ColocationInputs
        Read with ``long_haul`` (or ``clusters``): the graph and the park centres.
    radius_km : float
        Exchanges longer than this are listed.
    factors : dict
        From :func:`symbiosis.factors.load_factors`: pipe reaches, road-freight factors and rate.

    Returns
    -------
    DataFrame
        As :func:`long_haul`.

    Raises
    ------
    InputError
        A negative radius, or inputs read without the graph.
    """
    _check_radius(radius_km)
    G = _part(inputs.G, "long_haul", "long_haul_of")
    centres = _part(inputs.centres, "long_haul", "long_haul_of")
    park = inputs.park
    centre = {row.park_id: (row.lat, row.lon) for row in centres.itertuples()}
    pipe_limit = {"energy": factors["pipe_max_km_energy"], "water": factors["pipe_max_km_water"],
                  "co2": factors["pipe_max_km_co2"]}
    immovable = _immovable(G)
    between = with_distance = freight = no_quantity = no_host = 0
    rows = []
    for u, v, key, data in G.edges(keys=True, data=True):
        if u in immovable or v in immovable:
            continue
        between += 1
        distance = data.get("distance_km")
        if distance is None:
            continue
        with_distance += 1
        if distance <= radius_km:
            continue
        supplier, taker = G.nodes[u], G.nodes[v]
        host = supplier.get("park_id")
        if host not in centre and supplier.get("lat") is not None and len(centres):
            index, _ = nearest([supplier["lat"]], [supplier["lon"]], centres["lat"], centres["lon"])
            host = centres["park_id"].iloc[int(index[0])]
        after = None
        if host in centre and supplier.get("lat") is not None:
            after = float(haversine_km(supplier["lat"], supplier["lon"], *centre[host]))
        quantity = data["quantity"]
        row = {"flow_id": key, "supplier_id": u, "supplier": supplier.get("name"), "taker_id": v,
               "taker": taker.get("name"), "resource": data["resource"], "kind": data["kind"],
               "status": data["status"], "quantity": quantity, "unit": data["unit"],
               "distance_km": distance, "host_park": host, "distance_after_km": after, "tkm": None,
               "saved_tkm": None, "saved_tco2e": None, "saved_cost_cny": None, "note": None,
               "quantity_known": quantity is not None}
        hauled = data["currency"] in FREIGHT
        freight += hauled
        if hauled and quantity is not None:
            row["tkm"] = quantity * distance
            if after is not None and after < distance:
                saved = quantity * (distance - after)
                factor = factors["road_freight_tco2e_per_tkm" if data["currency"] == "mass" else "co2_truck_tco2e_per_tkm"]
                row.update(saved_tkm=saved, saved_tco2e=saved * factor,
                           saved_cost_cny=saved * factors["road_freight_cost_cny_per_tkm"])
        limit = pipe_limit.get(data["currency"]) if data["currency"] != "energy" or data["resource"] in HEAT else None
        if limit is not None and distance > limit:
            row["note"] = (f"{distance:,.0f} km is beyond a {data['currency']} pipe's reach "
                           f"({limit:g} km): feasible only if co-located")
        elif quantity is None:
            row["note"] = "quantity unknown"
        elif hauled and after is None:
            row["note"] = "no location for a host park: saving unknown"
        elif hauled and after >= distance:
            row["note"] = "the host park is no nearer: co-location there does not shorten it"
        no_quantity += hauled and quantity is None
        no_host += hauled and quantity is not None and after is None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["flow_id", "supplier_id", "supplier", "taker_id", "taker", "resource",
                                        "kind", "status", "quantity", "unit", "distance_km", "host_park",
                                        "distance_after_km", "tkm", "saved_tkm", "saved_tco2e", "saved_cost_cny",
                                        "note", "quantity_known"])
    frame = frame.sort_values(["saved_tco2e", "distance_km"], ascending=False, na_position="last",
                              kind="stable").reset_index(drop=True)
    notes = []
    if between == 0:
        notes.append(f"no exchanges between firms{_in_park(park)} (existing or potential): nothing to shorten")
    elif with_distance == 0:
        notes.append(f"unknown: none of the {between:,} exchanges between firms{_in_park(park)} has a distance "
                     "(given, or both ends with coordinates)")
    elif with_distance < between:
        notes.append(f"{with_distance:,} of {between:,} exchanges between firms{_in_park(park)} have a distance; "
                     "the others have an end without coordinates, so whether they travel far is unknown")
    if no_quantity:
        notes.append(f"saved tonne-km and tCO2e unknown for {no_quantity:,} of {freight:,} long-haul mass and CO2 "
                     "exchanges: quantity unknown")
    if no_host:
        notes.append(f"saving unknown for {no_host:,} long-haul exchanges whose supplier has no host park with a "
                     "location")
    return with_note(none_for_nan(frame), notes)


def _potential_edges(read: dict[str, pd.DataFrame], match_km: float, weight: str,
                     G: nx.MultiDiGraph, co2_factor: dict[str, float]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Undirected exchange potential: existing/potential flows plus offer-demand matches nearby
    (``read``: the firms' offers and demands, :func:`_firm_side`).

    Built from arrays and summed per pair in one group-by (a national network has a million flows).
    Returns ``a, b, weight`` with ``a < b``, one row per pair, sorted; and what it stands on (counts of
    exchanges between firms, those with a quantity, offers and demands, those usable, and pairs whose
    resource has no CO2 factor), for the coverage note."""
    currency_of = {"material": "mass", "waste": "mass", "energy": "energy", "water": "water", "co2": "co2"}
    immovable = _immovable(G)
    # one pass into plain columns, no tuple kept per edge: a national graph has a million edges, and
    # every object held alive lengthens each garbage collection of the analysis
    known: dict[str, list] = {"u": [], "v": [], "resource": [], "currency": [], "waste": [], "quantity": []}
    between = 0
    for u, v, data in G.edges(data=True):
        if u in immovable or v in immovable:
            continue
        between += 1
        if data["quantity"] is None:
            continue
        known["u"].append(u)
        known["v"].append(v)
        known["resource"].append(data["resource"])
        known["currency"].append(data["currency"])
        known["waste"].append(data["kind"] == "waste")
        known["quantity"].append(data["quantity"])
    pieces = [pd.DataFrame(known, columns=["u", "v", "resource", "currency", "waste", "quantity"])]
    counts = {"flows": between, "flows_known": len(known["u"])}
    sides = {}
    for table in ("offers", "demands"):
        # every firm's offer (or demand) is counted, so that what cannot be used is said
        rows = read[table]
        rows = rows[~(rows["quantity"] <= 0)]  # a known zero offers nothing; unknown (NaN) is counted
        usable = rows["lat"].notna() & rows["lon"].notna() & rows["quantity"].notna()
        counts[table], counts[f"{table}_usable"] = len(rows), int(usable.sum())
        sides[table] = rows[usable]
    offers, demands = sides["offers"], sides["demands"]
    for resource, offered in offers.groupby("resource"):
        wanted = demands[demands["resource"] == resource]
        if wanted.empty:
            continue
        # each demand's 10 nearest offers: enough to find communities, bounded at national scale
        i, j, _ = nearest_within(offered["lat"], offered["lon"], wanted["lat"], wanted["lon"], match_km, 10)
        pieces.append(pd.DataFrame({
            "u": offered["firm"].to_numpy()[i], "v": wanted["firm"].to_numpy()[j], "resource": resource,
            "currency": currency_of[offered["kind"].iloc[0]], "waste": offered["kind"].iloc[0] == "waste",
            "quantity": np.minimum(offered["quantity"].to_numpy(dtype=float)[i],
                                   wanted["quantity"].to_numpy(dtype=float)[j]),
        }))
    edges = pd.concat(pieces, ignore_index=True)
    edges = edges[edges["u"] != edges["v"]]
    counts["no_factor"] = 0
    if weight == "tco2e":
        factor = edges["resource"].map(co2_factor)
        # CO2 itself counts 1 t per t; other resources without a CO2 factor weigh 0: for products and
        # utilities that is what they are, for a waste it is a saving nobody has put a figure on (noted)
        counts["no_factor"] = int((factor.isna() & edges["waste"].astype(bool)).sum())
        factor = factor.where(factor.notna(), np.where(edges["currency"] == "co2", 1.0, 0.0))
        edges["weight"] = edges["quantity"] * factor
    else:
        edges["weight"] = np.where(edges["currency"].isin(FREIGHT), edges["quantity"], 0.0)
    edges = edges[edges["weight"] > 0]
    # undirected: the same pair in either direction is one edge
    first = np.where(edges["u"] < edges["v"], edges["u"], edges["v"])
    second = np.where(edges["u"] < edges["v"], edges["v"], edges["u"])
    pairs = pd.DataFrame({"a": first, "b": second, "weight": edges["weight"]})
    summed = pairs.groupby(["a", "b"], sort=True)["weight"].sum()
    return summed.reset_index(), counts


def _potential_notes(counts: dict[str, int], park: str | None, weight: str, empty: bool) -> list[str]:
    """Sentences on what the exchange potential stands on (see :func:`clusters`)."""
    flows, known = counts["flows"], counts["flows_known"]
    offers, demands = counts["offers"], counts["demands"]
    where = _in_park(park)
    if not flows and not offers and not demands:
        return [f"no exchanges between firms and no offers or demands{where}: there is no exchange potential "
                "to cluster"]
    notes = []
    if not offers and not demands:
        notes.append(f"no offers or demands in the store{where}: clusters stand on exchanges only "
                     "(load offers.csv/demands.csv to add potential)")
    if flows and known == 0:
        notes.append(f"none of the {flows:,} exchanges between firms{where} has a quantity, so none can be weighed")
    elif known < flows:
        notes.append(f"{known:,} of {flows:,} exchanges between firms{where} have a quantity; the others cannot be "
                     "weighed and are left out")
    short = [f"{counts[f'{table}_usable']:,} of {counts[table]:,} {table}" for table in ("offers", "demands")
             if counts[f"{table}_usable"] < counts[table]]
    if short:
        notes.append(f"{' and '.join(short)} have a quantity and coordinates; the others are left out")
    if weight == "tco2e" and counts["no_factor"]:
        notes.append(f"{counts['no_factor']:,} waste exchanges or offer-demand pairs have no CO2 factor for their "
                     "resource, so their tCO2e weight is unknown and they are left out (weight='tonnes' counts them)")
    if empty and notes:
        notes.insert(0, f"unknown: no exchange potential can be weighed{where}")
    return notes


def _communities(potential: pd.DataFrame, seed: int) -> tuple[list[str], np.ndarray]:
    """Louvain communities of the potential graph (igraph's multilevel method): firms and their labels.

    igraph's compiled Louvain instead of networkx's: on the national potential graph (151,468 firms,
    375,068 pairs) 1.3 s instead of 22.8 s, at the same modularity (0.97745). igraph draws from the
    random generator it is given; a seeded one makes the result repeatable.
    """
    import random

    import igraph

    firms, codes = np.unique(np.concatenate([potential["a"].to_numpy(), potential["b"].to_numpy()]),
                             return_inverse=True)
    pairs = codes.reshape(2, -1).T
    graph = igraph.Graph(n=len(firms), edges=pairs.tolist())
    igraph.set_random_number_generator(random.Random(seed))
    try:
        partition = graph.community_multilevel(weights=potential["weight"].astype(float).tolist())
    finally:
        igraph.set_random_number_generator(random)  # igraph's default: the random module
    return firms.tolist(), np.asarray(partition.membership)


def clusters(db: sqlite_utils.Database, park: str | None = None, *, radius_km: float = 50.0,
             match_km: float = 200.0, weight: str = "tco2e", colocated_km: float = DEFAULT_COLOCATED_KM,
             factors: dict[str, float] | None = None, seed: int = 0,
             G: nx.MultiDiGraph | None = None) -> pd.DataFrame:
    """Groups of firms with strong mutual exchange potential that are spread out.

    The exchange-potential graph joins firms that exchange now (existing and potential flows) or could
    (an offer and a demand of the same resource within ``match_km``, each demand's ten nearest offers),
    weighted by tCO2e avoided
    (``weight="tco2e"``: quantity x the resource's co2_factor; CO2 itself counts 1 t per t) or by tonnes
    (``"tonnes"``: mass and CO2 flows). Louvain community detection (igraph's multilevel method, fixed
    ``seed``) finds the groups; a group is listed when its firms lie more than ``radius_km`` from their
    weighted centre.

    Only firms are grouped (utilities, the environment and external actors cannot be moved). A weight
    needs a quantity: exchanges, offers and demands without one (or without coordinates, for offers
    and demands) are left out of the potential and counted in ``attrs["note"]``, never weighed as 0.
    A group's freight (``tkm_now`` ...) is summed over its mass and CO2 exchanges with a quantity and a
    distance; ``freight_coverage`` says how many of them that is, and with none known the freight
    figures are None (a group without any mass or CO2 exchange hauls 0 tkm).

    Returns
    -------
    DataFrame
        ``cluster, size, members, names, weight, spread_km`` (largest distance of a member from the
        centre), ``centroid_lat, centroid_lon, host_park`` (the park nearest the centre),
        ``tkm_now, tkm_colocated`` (at ``colocated_km`` per exchange), ``saved_tkm, saved_tco2e,
        freight_coverage``, strongest group first. Unknown cells are None. ``attrs["note"]`` says, when
        it applies, why the list is empty or partial (what the potential stands on, firms without
        coordinates).
    """
    _check_weight(weight)
    factors = factors_or_shipped(factors)
    inputs = load_colocation_inputs(db, park, G=G, parts=("clusters",))
    return clusters_of(inputs, radius_km=radius_km, match_km=match_km, weight=weight, colocated_km=colocated_km,
                       factors=factors, seed=seed)


def clusters_of(inputs: ColocationInputs, *, radius_km: float = 50.0, match_km: float = 200.0, weight: str = "tco2e",
                colocated_km: float = DEFAULT_COLOCATED_KM, factors: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """:func:`clusters` computed from the inputs :func:`load_colocation_inputs` read (no store needed).

    Parameters
    ----------
    inputs : ColocationInputs
        Read with ``clusters``.
    radius_km, match_km, weight, colocated_km, seed
        As :func:`clusters`.
    factors : dict
        From :func:`symbiosis.factors.load_factors` (road-freight factor).

    Returns
    -------
    DataFrame
        As :func:`clusters`.

    Raises
    ------
    InputError
        An unknown weight, or inputs read without ``clusters``.
    """
    _check_weight(weight)
    analysis = "clusters_of"
    G = _part(inputs.G, "clusters", analysis)
    co2_factor = _part(inputs.co2_factors, "clusters", analysis)
    enterprises = _part(inputs.enterprises, "clusters", analysis)
    centres = _part(inputs.centres, "clusters", analysis)
    read = {"offers": _part(inputs.potential_offers, "clusters", analysis),
            "demands": _part(inputs.potential_demands, "clusters", analysis)}
    park = inputs.park
    potential, counts = _potential_edges(read, match_km, weight, G, co2_factor)
    notes = _potential_notes(counts, park, weight, potential.empty)
    columns = ["cluster", "size", "members", "names", "weight", "spread_km", "centroid_lat", "centroid_lon",
               "host_park", "tkm_now", "tkm_colocated", "saved_tkm", "saved_tco2e", "freight_coverage"]
    if potential.empty:
        return with_note(pd.DataFrame(columns=columns), notes)
    firms, labels = _communities(potential, seed)
    label_of = dict(zip(firms, labels.tolist()))
    # weighted degree of each firm, and each community's internal weight, in two group-bys
    strength = pd.concat([potential[["a", "weight"]].rename(columns={"a": "firm"}),
                          potential[["b", "weight"]].rename(columns={"b": "firm"})]).groupby("firm")["weight"].sum()
    located = enterprises[enterprises["lat"].notna().to_numpy() & enterprises["lon"].notna().to_numpy()]
    location = dict(zip(located["id"].tolist(), zip(located["lat"].tolist(), located["lon"].tolist())))
    unlocated = sum(1 for firm in firms if firm not in location)
    if unlocated == len(firms):
        notes.append(f"unknown: none of the {len(firms):,} firms with exchange potential has coordinates, so the "
                     "spread of a group cannot be measured")
    elif unlocated:
        notes.append(f"{unlocated:,} of {len(firms):,} firms with exchange potential have no coordinates and are "
                     "left out of the groups")
    # a community's weight: its pairs of located firms (the members listed)
    label_a, label_b = potential["a"].map(label_of), potential["b"].map(label_of)
    inside = (label_a == label_b) & potential["a"].isin(location.keys()) & potential["b"].isin(location.keys())
    internal = potential["weight"][inside].groupby(label_a[inside]).sum()
    names = dict(zip(enterprises["id"].tolist(), enterprises["name"].tolist()))
    # freight of each community's own exchanges now and once co-located, in one pass over the flows;
    # how many of its mass and CO2 exchanges have a quantity and a distance, and how many there are
    tkm_now: dict[int, float] = {}
    tkm_after: dict[int, float] = {}
    hauls: dict[int, int] = {}
    hauls_known: dict[int, int] = {}
    for u, v, data in G.edges(data=True):
        label = label_of.get(u)
        if (label is None or label_of.get(v) != label or u not in location or v not in location
                or data["currency"] not in FREIGHT):
            continue
        hauls[label] = hauls.get(label, 0) + 1
        if data["quantity"] is None or data.get("distance_km") is None:
            continue
        hauls_known[label] = hauls_known.get(label, 0) + 1
        tkm_now[label] = tkm_now.get(label, 0.0) + data["quantity"] * data["distance_km"]
        tkm_after[label] = tkm_after.get(label, 0.0) + data["quantity"] * min(colocated_km, data["distance_km"])
    groups: dict[int, list[str]] = {}
    for firm, label in zip(firms, labels.tolist()):
        groups.setdefault(label, []).append(firm)
    rows = []
    partial_freight = 0
    for label, community in groups.items():
        members = sorted(firm for firm in community if firm in location)
        if len(members) < 2:
            continue
        lats, lons = zip(*(location[firm] for firm in members))
        centre_lat, centre_lon = centroid(lats, lons, strength.reindex(members).to_numpy())
        spread = float(np.max(haversine_km(lats, lons, centre_lat, centre_lon)))
        if spread <= radius_km:
            continue
        host = None
        if len(centres):
            index, _ = nearest([centre_lat], [centre_lon], centres["lat"], centres["lon"])
            host = centres["park_id"].iloc[int(index[0])]
        total, known = hauls.get(label, 0), hauls_known.get(label, 0)
        partial_freight += 0 < known < total
        if total and not known:  # it hauls, but not a tonne-km of it is known
            now = after = saved = saved_tco2e = None
        else:
            now, after = tkm_now.get(label, 0.0), tkm_after.get(label, 0.0)
            saved = now - after
            saved_tco2e = saved * factors["road_freight_tco2e_per_tkm"]
        coverage = (f"{known:,} of {total:,} mass and CO2 exchanges in the group with a quantity and a distance"
                    if total else "no mass or CO2 exchange in the group")
        rows.append({"size": len(members), "members": ", ".join(members),
                     "names": ", ".join(str(names.get(firm) or firm) for firm in members),
                     "weight": float(internal.get(label, 0.0)), "spread_km": spread,
                     "centroid_lat": centre_lat, "centroid_lon": centre_lon, "host_park": host,
                     "tkm_now": now, "tkm_colocated": after, "saved_tkm": saved, "saved_tco2e": saved_tco2e,
                     "freight_coverage": coverage})
    frame = pd.DataFrame(rows, columns=columns[1:])
    frame = frame.sort_values("weight", ascending=False, kind="stable").reset_index(drop=True)
    frame.insert(0, "cluster", range(1, len(frame) + 1))
    unknown_freight = sum(1 for row in rows if row["tkm_now"] is None)
    if unknown_freight:
        notes.append(f"freight now and saved unknown for {unknown_freight:,} of {len(rows):,} groups: none of "
                     "their mass and CO2 exchanges has a quantity and a distance")
    if partial_freight:
        notes.append(f"freight of {partial_freight:,} group{'' if partial_freight == 1 else 's'} stands on part of "
                     "its mass and CO2 exchanges (see freight_coverage)")
    notes.sort(key=lambda note: not note.startswith("unknown"))  # what cannot be told first, the rest in order
    return with_note(none_for_nan(frame), notes)


def gaps(db: sqlite_utils.Database, park: str | None = None, *,
         sectors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Streams offered in a park that no firm there takes, and demands no firm there supplies.

    An offer has a taker in its park when another firm of the park demands the same resource or already
    receives it from the offering firm (any status); a demand has a supplier when another firm of the
    park offers it or already sends it. Each gap lists the sectors that typically take (or give) the
    resource, from the shipped, cited resource-to-sector table, so a park knows whom to attract.

    An offer or demand without a quantity is listed with quantity None (unknown, never 0), after those
    with one. When a park has no offers or no demands at all, its list cannot tell a stream without a
    taker from one whose taker was not surveyed: ``attrs["note"]`` says so.

    Returns
    -------
    DataFrame
        ``park_id, side`` (``offer without taker`` / ``demand without supplier``), ``enterprise_id,
        enterprise, resource_code, resource, quantity, unit, sectors``. Unknown cells are None.
        ``attrs["note"]``, when it applies: no offers or demands in the store, only one side of them, how
        many gaps have no quantity.
    """
    sectors = sectors if sectors is not None else load_resource_sectors()
    return gaps_of(load_colocation_inputs(db, park, parts=("gaps",)), sectors=sectors)


def gaps_of(inputs: ColocationInputs, *, sectors: pd.DataFrame) -> pd.DataFrame:
    """:func:`gaps` computed from the inputs :func:`load_colocation_inputs` read (no store needed).

    Parameters
    ----------
    inputs : ColocationInputs
        Read with ``gaps``.
    sectors : DataFrame
        The resource-to-sector table, :func:`symbiosis.factors.load_resource_sectors`.

    Returns
    -------
    DataFrame
        As :func:`gaps`.

    Raises
    ------
    InputError
        Inputs read without ``gaps``.
    """
    names = _part(inputs.resource_names, "gaps", "gaps_of")
    sides = {"offers": _part(inputs.gap_offers, "gaps", "gaps_of"),
             "demands": _part(inputs.gap_demands, "gaps", "gaps_of")}
    flows = _part(inputs.gap_flows, "gaps", "gaps_of")
    park = inputs.park
    typical = {
        (code, role): "; ".join(f"{sector_code} {sector_name}" for sector_code, sector_name in
                                zip(group["sector_code"], group["sector_name"]))
        for (code, role), group in sectors.groupby(["resource_code", "role"])
    }
    # Linear in offers, demands and flows (merges on park and resource), not a scan per row: the
    # national store has 70,000 offers and demands of a few dozen resources.
    rows = []
    for table, other, side, role, own_end in (("offers", "demands", "offer without taker", "taker", "source"),
                                              ("demands", "offers", "demand without supplier", "giver", "target")):
        mine, theirs = sides[table], sides[other]
        if park is not None:
            mine = mine[mine["park_id"] == park]
        if mine.empty:
            continue
        # partners: other firms of the same park on the other side, for the same resource
        partners = theirs.groupby(["park_id", "resource_code"])["firm"].agg(set).rename("partners")
        joined = mine.join(partners, on=["park_id", "resource_code"])
        # plain lists: iterating pandas string columns element by element is several times slower
        firms, codes = joined["firm"].tolist(), joined["resource_code"].tolist()
        has_partner = [isinstance(found, set) and bool(found - {firm})
                       for found, firm in zip(joined["partners"].tolist(), firms)]
        linked = set(zip(flows[own_end].tolist(), flows["resource_code"].tolist()))
        has_flow = [(firm, code) in linked for firm, code in zip(firms, codes)]
        lonely = joined[~(pd.Series(has_partner, index=joined.index) | pd.Series(has_flow, index=joined.index))]
        lonely = lonely.sort_values(["park_id", "quantity"], ascending=[True, False], na_position="last")
        for row in lonely.itertuples(index=False):
            rows.append({"park_id": row.park_id, "side": side, "enterprise_id": row.firm, "enterprise": row.enterprise,
                         "resource_code": row.resource_code, "resource": names.get(row.resource_code),
                         "quantity": row.quantity, "unit": row.unit,
                         "sectors": typical.get((row.resource_code, role))})
    frame = pd.DataFrame(rows, columns=["park_id", "side", "enterprise_id", "enterprise", "resource_code",
                                        "resource", "quantity", "unit", "sectors"])
    return with_note(none_for_nan(frame), _gap_notes(frame, park, len(sides["offers"]), len(sides["demands"])))


def _gap_notes(frame: pd.DataFrame, park: str | None, offers: int, demands: int) -> list[str]:
    """Why a list of gaps is empty or to be read with care (see :func:`gaps`)."""
    where = _in_park(park)
    if not offers and not demands:
        return [f"no offers or demands in the store{where}: load offers.csv/demands.csv to find streams without "
                "a taker"]
    notes = []
    if not demands:
        notes.append(f"no demands in the store{where}: an offer 'without taker' may have a taker whose demand was "
                     "not surveyed (load demands.csv)")
    if not offers:
        notes.append(f"no offers in the store{where}: a demand 'without supplier' may have a supplier whose offer "
                     "was not surveyed (load offers.csv)")
    unknown = int(frame["quantity"].isna().sum())
    if unknown:
        notes.append(f"quantity unknown for {unknown:,} of {len(frame):,} gaps")
    return notes
