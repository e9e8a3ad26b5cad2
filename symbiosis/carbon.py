"""CO2 in the park's network, firm by firm: who emits, who keeps CO2 and for how long, what exchanges avoid.

This is the **firm view**: each firm as it reports. Summed over firms it counts some tonnes twice
(energy bought from a park neighbour is in the neighbour's scope 1 too; captured CO2 vented again is in
two firms' scope 1); the park's own inventory, each tonne once, is :mod:`symbiosis.inventory` (the
park view), built from this table. Accounting rules (all in tCO2e/yr):

- **emitted**: scope 1 + scope 2 from ``emissions`` (the firm's latest year, or ``year``). For a firm
  that reports no emissions, its CO2 flows sent to air (boundary flows, or flows to a node whose role is
  ``environment``) stand in; with neither, the figure is missing (None), never zero.
  ``scope2_outside_t`` is the part of scope 2 bought from outside the park (see :func:`_scope2_outside`).
- **CO2 destinations**: a CO2 flow goes to a firm, to the air (the environment, or a boundary labelled
  air, stack, vent or nothing known), to a geological store (a boundary labelled storage, injection,
  sequestration, aquifer, CCS) or is sold outside (labelled export, sale, customers).
- **kept, stored, utilised, vented**: CO2 a firm receives and does not send on is kept there; its use
  (:mod:`symbiosis.co2uses`, by sector) says whether it is *stored* for good (mineralisation),
  *utilised* (urea, fuels, drinks, greenhouses, algae: back in the air within months) or, for capture
  and dry-ice plants, *vented* (their losses). CO2 sent to a store is stored; CO2 sold outside is
  utilised. Capture declared in ``emissions`` is stored on site only where no CO2 flow leaves the firm,
  so nothing is counted twice. ``absorbed_t`` = stored + utilised; ``vented_t`` is received CO2
  released again (flows to air of a receiver, and what a gas handler keeps).
- **avoided**: by-products received from other firms (see :func:`exchange_credits`) that replace virgin
  supply: quantity x the resource's ``co2_factor`` (the shipped catalogue's cited factors, or the user's
  own) x the share the link keeps along a chain (the last link takes the credit), minus transport:
  tonne-km x road-freight factor for mass and CO2 flows; energy and water go by pipe (no transport term).
- **net** = emitted - stored - avoided (utilised CO2 returns to the air, so it takes nothing off).

Unknown is not zero: a flow without a quantity, or a by-product without a ``co2_factor``, makes the
figures that need it unknown. Every per-firm figure has a status: ``known`` (all its inputs have a
quantity), ``partial`` (the figure is the known part; the coverage column says how much of the input it
stands on) or ``unknown`` (None). A firm with no CO2 flows keeps no CO2 (absorbed 0, known), and one that
receives no by-products avoids nothing (0, known): those zeros are facts about the links, not guesses.

Reading and computing are apart: :func:`load_carbon_inputs` reads from the store, once, what the analyses
need (:class:`CarbonInputs`), and :func:`exchange_credits_of`, :func:`carbon_balance_of`,
:func:`absorption_nodes_of` and :func:`allocate_co2_of` compute from those inputs alone. The functions that
take the store (:func:`exchange_credits`, :func:`carbon_balance`, :func:`absorption_nodes`,
:func:`allocate_co2`) read only what they need and call them.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar, cast

import networkx as nx
import numpy as np
import pandas as pd
import sqlite_utils

from .coverage import KNOWN, NOISE, PARTIAL, UNKNOWN, Coverage, clean_zero, status_of
from .errors import InputError, SolverError, input_part
from .factors import factors_or_shipped
from .geo import haversine_km, nearest_within
from .graph import is_boundary, load_graph, validate_graph
from .inventory import park_views
from .settings import NETWORKX_LIMIT
from .co2uses import CO2Use, co2_use
from .units import CURRENCY, SCOPE2_CARRIERS, chain_group
from .store import park_countries

__all__ = ["carbon_resources", "carbon_balance", "exchange_credits", "exchange_coverage", "park_totals",
           "is_exchange_partner", "absorption_nodes", "allocate_co2", "greedy_allocation", "Allocation",
           "load_carbon_inputs", "CarbonInputs", "CO2Side", "CARBON_PARTS", "exchange_credits_of",
           "carbon_balance_of", "absorption_nodes_of", "allocate_co2_of", "purchases_without",
           "BYPRODUCT_KINDS", "KNOWN", "PARTIAL", "UNKNOWN"]

log = logging.getLogger(__name__)

#: kinds whose flows between firms are by-product exchanges even without a co2_factor. Other resources are
#: by-products where the catalogue gives a factor (steam, waste heat, biogas, scrap); without one they are
#: products or commodities whose CO2 sits in the firms' own scope 1 and 2 (electricity, fuels, fresh
#: water: the catalogue leaves electricity's factor empty on purpose), not substitution credits.
BYPRODUCT_KINDS = ("waste",)
#: node roles that can give or take a by-product: firms (of the park or not) and outside actors (farms,
#: other mills); a utility grid or the environment is the park's boundary, not an exchange partner
_PARTNER_ROLES = ("firm", "external")

_BALANCE_COLUMNS = [
    "id", "name", "park_id", "sector_name", "year", "scope1_t", "scope2_t", "scope2_outside_t", "scope2_basis",
    "electricity_outside_mwh", "co2_to_air_t", "emitted_t", "emitted_source", "co2_received_t", "co2_sent_t",
    "co2_to_storage_t", "co2_sold_t", "captured_t", "co2_use", "co2_fate", "stored_t", "utilised_t", "vented_t",
    "absorbed_t", "avoided_gross_t", "transport_t", "avoided_t", "net_t", "emitted_status", "absorbed_status",
    "absorbed_coverage", "avoided_status", "avoided_coverage", "net_status",
]
_CREDIT_COLUMNS = ["flow_id", "supplier_id", "supplier", "taker_id", "taker", "resource", "quantity", "unit",
                   "co2_factor", "factor_basis", "distance_km", "substitution_t", "credited_share", "avoided_gross_t",
                   "transport_t", "avoided_t", "saving_status", "chain", "note"]
_NO_QUANTITY, _NO_FACTOR = "no quantity", "no CO2 factor for this resource"
_NO_DISTANCE = "no distance: transport not subtracted"


def _emissions(db: sqlite_utils.Database, firms: list[str],
               year: int | None) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """(year, scope1, scope2, capture) per firm: the given year, else each firm's latest; and, for the
    rows that state one, their (relative standard deviation, quality class)."""
    found: dict[str, tuple] = {}
    uncertain: dict[str, tuple] = {}
    for start in range(0, len(firms), 500):
        chunk = firms[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        sql = (f"SELECT enterprise_id, year, scope1_t, scope2_t, co2_capture_t, sd_rel, quality FROM emissions "
               f"WHERE enterprise_id IN ({marks})" + (" AND year = ?" if year is not None else "")
               + " ORDER BY year")
        for firm, row_year, scope1, scope2, capture, sd_rel, quality in db.execute(
                sql, chunk + ([year] if year is not None else [])):
            found[firm] = (row_year, scope1, scope2, capture)  # ordered by year: the latest wins
            if sd_rel is not None or quality is not None:
                uncertain[firm] = (sd_rel, quality)
            else:
                uncertain.pop(firm, None)
    return found, uncertain


def _combined(*statuses: str) -> str:
    """Status of a figure built from several: unknown if any is, partial if any is, else known."""
    return UNKNOWN if UNKNOWN in statuses else (PARTIAL if PARTIAL in statuses else KNOWN)


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Rows as an object frame: unknown stays None (a float column would turn it into NaN)."""
    return pd.DataFrame(rows, columns=columns, dtype=object)


def carbon_resources(db: sqlite_utils.Database) -> list[str]:
    """Resource codes whose flows carry carbon: CO2 itself and by-products with an avoided-emission factor.

    The carbon analyses read only these flows (``load_graph(..., resources=carbon_resources(db))``);
    on the synthetic national store that is 29 % of the flows. By-product exchanges of other resources
    (no factor: their saving is unknown) are listed by :func:`exchange_credits` from the store.
    """
    return [code for (code,) in db.execute(
        "SELECT code FROM resources WHERE kind = 'co2' OR co2_factor IS NOT NULL ORDER BY code")]


#: what :func:`load_carbon_inputs` reads besides the graph and the resource catalogue (every part by default):
#: the by-product exchanges the graph left out, the emissions and energy purchases of its firms, and the
#: firms' CO2 offers and demands
CARBON_PARTS = ("exchanges", "emissions", "offers")
#: a lighter "exchanges" for a balance without credits: the exchanges the graph left out, counted per taker
#: when none of their resources has a CO2 factor (their saving is unknown whatever their quantity)
_EXCHANGE_COUNTS = "exchange_counts"
#: the edge attributes the carbon analyses read
_GRAPH_NEEDS = ("resource", "currency", "quantity")
_Value = TypeVar("_Value")


class CO2Side(NamedTuple):
    """Firms' CO2 offers (or demands), as the allocation reads them.

    Attributes
    ----------
    known : DataFrame
        ``id, name, lat, lon, tonnes, sector_code, park_id`` of the firms with a quantity (``tonnes``: the
        sum of their positive quantities of kind co2), by id.
    unknown_firms : int
        Firms whose rows of kind co2 have no quantity at all.
    unknown_rows : int
        Rows of kind co2 without a quantity.
    """

    known: pd.DataFrame
    unknown_firms: int
    unknown_rows: int


@dataclass(frozen=True)
class CarbonInputs:
    """What the carbon analyses read from the store, read once by :func:`load_carbon_inputs`.

    :func:`exchange_credits_of`, :func:`carbon_balance_of`, :func:`absorption_nodes_of` and
    :func:`allocate_co2_of` compute from these alone: they run after the store is closed. The containers
    are shared, not copied: the pure functions never change them, and neither should a caller.

    Attributes
    ----------
    park : str or None
        The park the inputs were read for (None: every park).
    year : int or None
        The year they were read for (None: every year's flows, each firm's latest emissions).
    G : networkx.MultiDiGraph or None
        The existing-flow graph; None when only ``offers`` were read (the allocation of a given balance
        needs no graph).
    parts : frozenset of str
        What was read besides the graph and the catalogue (of :data:`CARBON_PARTS`, or ``exchange_counts``).
    resources : dict
        The resource catalogue: code -> (co2_factor, note, kind).
    outside_records : list of tuple or None
        The by-product exchanges between partners that a graph loaded for some resources only left out,
        as records ``(flow_id, supplier_id, supplier, taker_id, taker, resource, currency, quantity, unit,
        distance_km)``; empty when the graph has every resource; None when not read.
    outside_takers : list of (str, int) or None
        Read instead of ``outside_records`` for a balance (part ``exchange_counts``) when none of those
        exchanges' resources has a CO2 factor: how many of them each firm of the graph receives.
    emissions : dict or None
        firm -> (year, scope1_t, scope2_t, co2_capture_t): the given year's row, else the firm's latest.
    emission_uncertainty : dict or None
        firm -> (relative standard deviation, quality class) of that row, for the rows that state one
        (``--samples`` draws them).
    purchases : dict or None
        firm -> {(electricity?, from a park firm?): (flows, with a quantity, MWh)}: the existing flows of
        scope-2 energy into the graph's firms.
    countries : dict or None
        park id -> country, for every park of the store.
    offers, demands : CO2Side or None
        The firms' CO2 offers and demands (of ``park``, of ``year`` or undated).
    """

    park: str | None
    year: int | None
    G: nx.MultiDiGraph | None
    parts: frozenset[str]
    resources: dict[str, tuple]
    outside_records: list[tuple] | None = None
    outside_takers: list[tuple[str, int]] | None = None
    emissions: dict[str, tuple] | None = None
    emission_uncertainty: dict[str, tuple] | None = None
    purchases: dict[str, dict] | None = None
    countries: dict[str, str | None] | None = None
    offers: CO2Side | None = None
    demands: CO2Side | None = None


def load_carbon_inputs(db: sqlite_utils.Database, park: str | None = None, *, year: int | None = None,
                       G: nx.MultiDiGraph | None = None, parts: Collection[str] = CARBON_PARTS) -> CarbonInputs:
    """Read from the store everything the carbon analyses need, once.

    Parameters
    ----------
    db : sqlite_utils.Database
        The store.
    park : str, optional
        Only this park's firms (the graph loaded here, the offers and demands).
    year : int, optional
        Emissions of this year, and flows, offers and demands of this year (or undated); default each
        firm's latest emissions.
    G : networkx.MultiDiGraph, optional
        The existing-flow graph, if already loaded (all flows, or only :func:`carbon_resources`' ones);
        default ``load_graph(db, park=park, year=year, status="existing", resources=carbon_resources(db))``,
        loaded only when a part needs it (every part but ``offers``).
    parts : collection of str
        What to read besides the graph and the resource catalogue; default all of :data:`CARBON_PARTS`,
        which every pure function can run on. ``exchanges``: the by-product exchanges a graph loaded for
        some resources only left out (:func:`exchange_credits_of`; read with the graph's own filters);
        ``emissions``: the emissions and scope-2 energy purchases of the graph's firms
        (:func:`carbon_balance_of`); ``offers``: the firms' CO2 offers and demands
        (:func:`allocate_co2_of`). ``exchange_counts`` reads what a balance without credits needs of the
        exchanges the graph left out: only how many each firm receives when none of their resources has
        a CO2 factor, which spares reading 10^5 flows one by one at national scale.

    Returns
    -------
    CarbonInputs

    Raises
    ------
    InputError
        An unknown part.
    GraphContractError
        ``G`` is not a networkx MultiDiGraph (its edges are checked by the functions that read them).
    """
    unknown = sorted(set(parts) - {*CARBON_PARTS, _EXCHANGE_COUNTS})
    if unknown:
        raise InputError(f"unknown carbon input {', '.join(map(repr, unknown))}; expected "
                         f"{', '.join((*CARBON_PARTS, _EXCHANGE_COUNTS))}")
    wanted = frozenset(parts)
    if G is None and wanted - {"offers"}:
        G = load_graph(db, park=park, year=year, status="existing", resources=carbon_resources(db))
    if G is not None and not isinstance(G, nx.MultiDiGraph):
        validate_graph(G, needs=_GRAPH_NEEDS)  # says what G should be; its edges are checked by the pure functions
    resources = _resource_catalogue(db)
    outside_records, outside_takers = None, None
    if G is not None and wanted & {"exchanges", _EXCHANGE_COUNTS}:
        outside_records, outside_takers = _outside_exchanges(db, G, resources, in_full="exchanges" in wanted)
    emissions, emission_uncertainty, purchases = None, None, None
    if G is not None and "emissions" in wanted:
        firms = _firms(G)
        emissions, emission_uncertainty = _emissions(db, firms, year)
        purchases = _scope2_purchases(db, G, set(firms), year)
    countries = park_countries(db) if wanted & {"emissions", "offers"} else None
    offers, demands = None, None
    if "offers" in wanted:
        offers, demands = (_exchange_sides(db, table, park, year) for table in ("offers", "demands"))
    return CarbonInputs(park=park, year=year, G=G, parts=wanted, resources=resources, outside_records=outside_records,
                        outside_takers=outside_takers, emissions=emissions,
                        emission_uncertainty=emission_uncertainty, purchases=purchases, countries=countries,
                        offers=offers, demands=demands)


def _nodes(G: nx.MultiDiGraph) -> dict[str, dict]:
    """The graph's node attributes as networkx keeps them: the analyses read them, and the adjacency
    (:func:`_successors`), directly, because a national graph has 10^5 firms and 10^5 edges (and
    types-networkx leaves these dicts out)."""
    return G._node  # type: ignore[attr-defined]


def _successors(G: nx.MultiDiGraph) -> dict[str, dict[str, dict[str, dict]]]:
    """The graph's adjacency as networkx keeps it: node -> successor -> edge key -> edge attributes."""
    return G._succ  # type: ignore[attr-defined]


def _firms(G: nx.MultiDiGraph) -> list[str]:
    """The graph's firms, in its node order: every node that is not its boundary."""
    return [node for node, data in _nodes(G).items() if not data.get("boundary", False)]


def _outside_exchanges(db: sqlite_utils.Database, G: nx.MultiDiGraph, resources: dict,
                       in_full: bool) -> tuple[list[tuple] | None, list[tuple[str, int]] | None]:
    """The by-product exchanges the graph left out: as records (``in_full``, or when a resource of theirs
    has a CO2 factor), else only how many each firm receives (what a balance needs of them)."""
    missing = _missing_resources(G, resources, _byproduct_codes(resources))
    if not missing:
        return [], None
    query = _outside_graph_query(G, missing)
    if in_full or any(resources[code][0] is not None for code in missing):
        return _records_outside_graph(db, G, *query), None
    return None, _takers_outside_graph(db, G, *query)


def _part(value: _Value | None, part: str, analysis: str) -> _Value:
    """An input a pure function needs (:func:`symbiosis.errors.input_part`)."""
    return input_part(value, part, analysis, "load_carbon_inputs")


def _graph_of(inputs: CarbonInputs, analysis: str) -> nx.MultiDiGraph:
    """The inputs' graph, checked against the graph contract."""
    if inputs.G is None:
        raise InputError(f"{analysis} needs a graph: these carbon inputs hold none (read for the offers only)")
    return validate_graph(inputs.G, needs=_GRAPH_NEEDS)


def carbon_balance(db: sqlite_utils.Database, park: str | None = None, *, year: int | None = None,
                   factors: dict[str, float] | None = None, G: nx.MultiDiGraph | None = None,
                   credits: pd.DataFrame | None = None) -> pd.DataFrame:
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
    credits : DataFrame, optional
        :func:`exchange_credits` of ``G``, if the caller lists the exchanges too: passing it spares
        reading them twice (without it, exchanges the graph left out are only counted, not read).

    Returns
    -------
    DataFrame
        One row per firm (the park's boundary: utilities, the environment, outside actors, is not a firm):
        ``id, name, park_id, sector_name, year, scope1_t, scope2_t, co2_to_air_t, emitted_t,
        emitted_source, co2_received_t, co2_sent_t, captured_t, absorbed_t, avoided_gross_t,
        transport_t, avoided_t, net_t`` (tCO2e/yr; sums of the flows with a quantity, None where the
        firm has such flows and none has one), then ``emitted_status, absorbed_status, avoided_status,
        net_status`` (known | partial | unknown) and ``absorbed_coverage`` ("2 of 3 CO2 flows with a
        quantity": the CO2 flows in and out of a firm that receives CO2) and ``avoided_coverage``
        ("1 of 2 by-product exchanges received with a quantity and a CO2 factor"), None where the firm
        has no such input. Largest emitters first, unknown emitters last. No NaN: unknown is None.
    """
    factors = factors_or_shipped(factors)
    # credits given: the exchanges are not read again; else only what the balance needs of those the graph left out
    parts = ("emissions",) if credits is not None else (_EXCHANGE_COUNTS, "emissions")
    return carbon_balance_of(load_carbon_inputs(db, park, year=year, G=G, parts=parts), factors=factors,
                             credits=credits)


def carbon_balance_of(inputs: CarbonInputs, *, factors: dict[str, float], credits: pd.DataFrame | None = None,
                      co2_uses: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`carbon_balance` computed from the inputs :func:`load_carbon_inputs` read (no store needed).

    Parameters
    ----------
    inputs : CarbonInputs
        Read with ``emissions``; and with ``exchanges`` (or ``exchange_counts``) unless ``credits`` is
        given or the graph has every resource.
    factors : dict
        From :func:`symbiosis.factors.load_factors`: road freight, and the grid and heat factors of
        scope 2 bought from outside the park.
    credits : DataFrame, optional
        :func:`exchange_credits_of` of the same inputs, if the caller lists the exchanges too (spares
        computing them twice).
    co2_uses : DataFrame, optional
        :func:`symbiosis.co2uses.load_co2_uses`: what becomes of CO2 kept by a firm of each sector;
        default the shipped table.

    Returns
    -------
    DataFrame
        As :func:`carbon_balance`.

    Raises
    ------
    InputError
        Inputs read without a part the balance needs.
    """
    G = _graph_of(inputs, "the carbon balance")
    reported = _part(inputs.emissions, "emissions", "the carbon balance")
    purchases = _part(inputs.purchases, "emissions", "the carbon balance")
    countries = _part(inputs.countries, "emissions", "the carbon balance")
    attributes = _nodes(G)
    firms = _firms(G)
    firm_set = set(firms)
    co2 = _co2_tallies(G, firm_set)
    # per firm receiving by-products: [exchanges, with quantity and factor, fully known, without a distance,
    # gross sum, gross n, transport sum, transport n, avoided sum, avoided n]
    received: dict[str, list] = {}
    if credits is None:
        credits, outside = _credits_for_balance(inputs, G, factors)
        for taker, count in outside:  # exchanges without a factor: they count, their saving is unknown
            if taker in firm_set:
                received.setdefault(taker, list(_NO_BYPRODUCTS))[0] += count
    _tally_credits(credits, firm_set, received)
    uses = _co2_use_lookup(countries, co2_uses)
    no_co2, no_byproducts = list(_NO_CO2), list(_NO_BYPRODUCTS)  # read, never written
    rows = [_balance_row(attributes[firm], firm, co2.get(firm, no_co2), received.get(firm, no_byproducts),
                         reported.get(firm, _NOT_REPORTED), purchases.get(firm), uses, factors) for firm in firms]
    emitted = _BALANCE_COLUMNS.index("emitted_t")
    rows.sort(key=lambda row: (row[emitted] is None, -(row[emitted] or 0.0)))  # stable: ties keep their order
    frame = pd.DataFrame(rows, columns=_BALANCE_COLUMNS, dtype=object)
    frame.attrs["note"] = FIRM_VIEW_NOTE
    return frame


def _co2_tallies(G: nx.MultiDiGraph, firm_set: set[str]) -> dict[str, list]:
    """Per firm with CO2 flows: [count, with a quantity, sum] of those received, sent to firms, sent to air,
    sent to a geological store, sold outside the park (see :func:`_co2_destination`)."""
    attributes = _nodes(G)
    co2: dict[str, list] = {}
    for u, neighbours in _successors(G).items():
        for v, keyed in neighbours.items():
            destination = _co2_destination(attributes[v])
            for data in keyed.values():
                if data["currency"] != "co2":
                    continue
                quantity = data["quantity"]
                for end, offset in ((u, destination), (v, 0)):
                    if end in firm_set:
                        tally = co2.setdefault(end, [0, 0, 0.0] * 5)
                        tally[offset] += 1
                        if quantity is not None:
                            tally[offset + 1] += 1
                            tally[offset + 2] += quantity
    return co2


def _tally_credits(credits: pd.DataFrame, firm_set: set[str], received: dict[str, list]) -> None:
    """Add the by-product exchanges each firm receives to its tally in ``received`` (see carbon_balance_of)."""
    for taker, quantity, factor, gross, transport, avoided, status in zip(
            credits["taker_id"].tolist(), credits["quantity"].tolist(), credits["co2_factor"].tolist(),
            credits["avoided_gross_t"].tolist(), credits["transport_t"].tolist(), credits["avoided_t"].tolist(),
            credits["saving_status"].tolist()):
        if taker not in firm_set:
            continue
        tally = received.setdefault(taker, list(_NO_BYPRODUCTS))
        tally[0] += 1
        tally[1] += quantity is not None and factor is not None
        tally[2] += status == KNOWN
        tally[3] += status == PARTIAL
        if gross is None:
            continue  # no saving: its transport is not subtracted from anything
        for position, value in ((4, gross), (6, transport), (8, avoided)):
            if value is not None:
                tally[position] += value
                tally[position + 1] += 1


#: what the firm view is, said wherever its figures are summed
FIRM_VIEW_NOTE = ("firm view: each firm's scope 1 and 2 as reported; summing emitted_t over firms double counts "
                  "energy bought from park firms and captured CO2 vented again (use the park view, park_inventory)")
_NO_CO2 = (0, 0, 0.0) * 5
_NO_BYPRODUCTS = (0, 0, 0, 0, 0.0, 0, 0.0, 0, 0.0, 0)
_NOT_REPORTED = (None, None, None, None)
#: offsets of the CO2 tally (see carbon_balance): received, sent to firms, to air, to storage, sold outside
_RECEIVED, _TO_FIRMS, _TO_AIR, _TO_STORAGE, _SOLD = 0, 3, 6, 9, 12
#: boundary labels of CO2 sent out of the park that is not emitted there: a geological store, or a sale
_STORAGE_WORDS = ("storage", "store", "injection", "sequestration", "aquifer", "ccs")
_SALE_WORDS = ("export", "sale", "sold", "customer", "market", "product")


def _co2_destination(node: dict) -> int:
    """Where CO2 sent to this node goes, as a tally offset: a firm (of the park or not), the air (the
    environment, or a boundary labelled air, stack, vent or nothing else known), a geological store, or
    a sale outside the park (a boundary labelled export, sale, customers)."""
    if node.get("direction") != "out":
        return _TO_AIR if node.get("role") == "environment" else _TO_FIRMS
    label = (node.get("boundary_label") or "").lower()
    if any(word in label for word in _STORAGE_WORDS):
        return _TO_STORAGE
    if any(word in label for word in _SALE_WORDS):
        return _SOLD
    return _TO_AIR


def _co2_use_lookup(country: dict[str, str | None],
                    uses: pd.DataFrame | None = None) -> Callable[[str | None, str | None], CO2Use]:
    """A cached ``(sector_code, park_id) -> CO2Use`` for the firms of a balance (``uses``: the CO2-use
    table, default the shipped one)."""
    cache: dict[tuple, CO2Use] = {}

    def lookup(sector: str | None, park: str | None) -> CO2Use:
        key = (sector, park)
        if key not in cache:
            cache[key] = co2_use(sector, country=None if park is None else country.get(park), uses=uses)
        return cache[key]
    return lookup


def _scope2_purchases(db: sqlite_utils.Database, G: nx.MultiDiGraph, firms: set[str],
                      year: int | None) -> dict[str, dict[tuple[bool, bool], tuple[int, int, float]]]:
    """Existing flows of the energy that scope 2 covers (:data:`symbiosis.units.SCOPE2_CARRIERS`) into
    each firm: ``firm -> {(electricity?, from a park firm?): (flows, with a quantity, MWh)}``.

    From a park firm means from a firm (role ``firm``) of the taker's own park; the grid, utilities,
    imports and firms of other parks are outside. One grouped query (the carbon graph holds only the
    flows that carry carbon, not electricity)."""
    where = ["f.status = 'existing'", f"f.resource_code IN ({', '.join('?' for _ in SCOPE2_CARRIERS)})"]
    params: list = list(SCOPE2_CARRIERS)
    park = G.graph.get("park")
    if park is not None:
        where.append("t.park_id = ?")
        params.append(park)
    if year is not None:
        where.append("(f.year = ? OR f.year IS NULL)")
        params.append(int(year))
    found: dict[str, dict] = {}
    for firm, electricity, inside, count, known, total in db.execute(
            "SELECT f.target_id, f.resource_code = 'electricity', s.id IS NOT NULL AND s.park_id IS t.park_id "
            "AND coalesce(s.role, 'firm') = 'firm', count(*), count(f.quantity), total(f.quantity) FROM flows f "
            "JOIN enterprises t ON t.id = f.target_id LEFT JOIN enterprises s ON s.id = f.source_id "
            f"WHERE {' AND '.join(where)} GROUP BY 1, 2, 3", params):
        if firm in firms:
            found.setdefault(firm, {})[bool(electricity), bool(inside)] = (count, known, total)
    return found


def purchases_without(inputs: CarbonInputs, *, source: str | None, target: str | None, resource: str,
                      quantity: float | None, year: int | None = None) -> dict | None:
    """The scope-2 purchases of ``inputs`` as :func:`load_carbon_inputs` reads them with one more flow gone
    from the store: the purchase it counted in taken out (``compare``'s attribution takes each synergy out
    this way instead of reading the store again). The inputs are not changed.

    Parameters
    ----------
    source, target, resource, quantity, year : the flow's ends, resource code, quantity (None: unknown) and year.

    Returns
    -------
    dict or None
        ``inputs.purchases`` (the same object when the flow was no scope-2 purchase of a firm of the graph).
    """
    purchases = inputs.purchases
    if (purchases is None or resource not in SCOPE2_CARRIERS or target not in purchases or inputs.G is None
            or (inputs.year is not None and year not in (None, inputs.year))):
        return purchases
    nodes = _nodes(inputs.G)
    taker, giver = nodes.get(target, {}), (nodes.get(source) if source is not None else None) or {}
    # from a firm (role firm) of the taker's own park: as _scope2_purchases's query decides it
    inside = bool(giver) and giver.get("park_id") == taker.get("park_id") and (giver.get("role") or "firm") == "firm"
    key = (resource == "electricity", inside)
    count, known, total = purchases[target].get(key, (0, 0, 0.0))
    if not count:
        return purchases
    entry = dict(purchases[target])
    if count == 1:
        del entry[key]
    else:
        entry[key] = (count - 1, known - (quantity is not None), total - (quantity or 0.0))
    changed = {**purchases, target: entry}
    if not entry:
        del changed[target]  # a firm with no purchase left is not listed, as the store's query leaves it out
    return changed


def _scope2_outside(scope2: float | None, purchases: dict | None,
                    factors: dict[str, float]) -> tuple[float | None, str, float | None]:
    """The part of a firm's scope 2 bought from outside the park, how it was found, and the MWh of
    electricity bought from outside (None when such flows exist without a quantity).

    Energy bought from a park firm is in that firm's scope 1 already, so the park view leaves it out.
    All from outside (or no purchase flow in the data, so nothing shows an in-park supplier): the
    reported scope 2. All from park firms: 0. Both: estimated as MWh bought from outside x the grid
    factor (electricity) or the heat factor (steam, heat), never more than the reported scope 2.
    """
    purchases = purchases or {}
    outside = [purchases.get((electricity, False), (0, 0, 0.0)) for electricity in (True, False)]
    inside_flows = sum(purchases.get((electricity, True), (0, 0, 0.0))[0] for electricity in (True, False))
    electricity_count, electricity_known, electricity_mwh = outside[0]
    electricity = None if electricity_count and not electricity_known else electricity_mwh
    if scope2 is None:
        return None, "scope 2 not reported", electricity
    if scope2 == 0:
        return 0.0, "no scope 2", electricity
    outside_flows = outside[0][0] + outside[1][0]
    if not outside_flows and not inside_flows:
        return scope2, "no purchase flow in the data: counted as bought from outside", electricity
    if not inside_flows:
        return scope2, "all bought from outside the park", electricity
    if not outside_flows:
        return 0.0, "all bought from park firms (in their scope 1)", electricity
    estimate = (outside[0][2] * factors["grid_electricity_tco2e_per_mwh"]
                + outside[1][2] * factors["natural_gas_heat_tco2e_per_mwh"])
    return (min(scope2, estimate), "estimated: MWh bought from outside x grid or heat factor (suppliers inside "
            "and outside the park)", electricity)


def _balance_row(node: dict, firm: str, co2: list, received: list, reported: tuple, purchases: dict | None,
                 uses, factors: dict[str, float]) -> tuple:
    """One firm's balance (a row of ``_BALANCE_COLUMNS``) from its CO2 flow tallies, its by-product
    tallies, its emissions row and its purchases of energy."""
    row_year, scope1, scope2, captured = reported
    (in_n, in_known, in_sum, sent_n, sent_known, sent_sum, air_n, air_known, air_sum, store_n, store_known,
     store_sum, sold_n, sold_known, sold_sum) = co2
    if scope1 is not None or scope2 is not None:
        emitted, source = (scope1 or 0.0) + (scope2 or 0.0), "emissions"
        emitted_status = KNOWN if scope1 is not None and scope2 is not None else PARTIAL
    elif air_known:
        emitted, source, emitted_status = air_sum, "co2 flows to air", status_of(air_known, air_n)
    else:
        emitted, source, emitted_status = None, None, UNKNOWN
    scope2_outside, scope2_basis, electricity_outside = _scope2_outside(scope2, purchases, factors)

    # what the firm keeps of the CO2 it receives, and what becomes of it (symbiosis.co2uses)
    outflows = sent_n + air_n + store_n + sold_n
    stored_on_site = (captured or 0.0) if outflows == 0 else 0.0
    use = uses(node.get("sector_code"), node.get("park_id")) if in_n else None
    absorbed_coverage = None
    if in_n == 0:
        kept, kept_status = 0.0, KNOWN
    else:
        known, total = in_known + sent_known + air_known + store_known + sold_known, in_n + outflows
        absorbed_coverage = Coverage(known, total, "CO2 flows with a quantity").text
        if in_known == 0:
            kept, kept_status = None, UNKNOWN
        else:
            kept = max(0.0, cast(float, clean_zero(in_sum - sent_sum - air_sum - store_sum - sold_sum, in_sum)))
            kept_status = status_of(known, total)
    vented_kept = use is not None and use.fate == "vented"
    share = use.stored_share if use is not None and not vented_kept else 0.0
    kept_used = None if kept is None else (0.0 if vented_kept else kept)
    store_part = store_sum if store_known else None
    sold_part = sold_sum if sold_known else None
    if kept is None and store_part is None and sold_part is None and not stored_on_site:
        absorbed_status = UNKNOWN
    elif kept is None:
        absorbed_status = PARTIAL
    else:
        absorbed_status = _combined(kept_status, status_of(store_known + sold_known, store_n + sold_n)
                                    if store_n + sold_n else KNOWN)
    # a use that stores nothing (share 0) stores 0 of an unknown amount too: that part is known
    kept_stored = (0.0 if share == 0 else None) if kept_used is None else kept_used * share
    stored = _known_sum(store_part, stored_on_site or None, kept_stored)
    utilised = _known_sum(sold_part, None if kept_used is None else kept_used * (1 - share))
    if absorbed_status != UNKNOWN:  # a firm that keeps nothing known has 0 known of what it lacks
        stored = 0.0 if stored is None else stored
        utilised = 0.0 if utilised is None else utilised
    absorbed = None if stored is None or utilised is None or absorbed_status == UNKNOWN else stored + utilised
    # received CO2 released again: the receiver's flows to air, and what a gas handler keeps (its losses)
    vented = 0.0 if not in_n else _known_sum(air_sum if air_known else (0.0 if not air_n else None),
                                              kept if vented_kept else 0.0)

    (exchanges, with_inputs, fully_known, no_distance, gross, gross_n, transport, transport_n, avoided_sum,
     avoided_n) = received
    avoided: float | None
    if exchanges == 0:
        avoided, avoided_status, avoided_coverage = 0.0, KNOWN, None
        gross, transport = 0.0, 0.0
    else:
        avoided = clean_zero(avoided_sum, gross) if avoided_n else None
        avoided_status = KNOWN if fully_known == exchanges else (PARTIAL if avoided_n else UNKNOWN)
        avoided_coverage = Coverage(with_inputs, exchanges,
                                    "by-product exchanges received with a quantity and a CO2 factor").text
        if no_distance:
            avoided_coverage += f" ({no_distance} without a distance: transport not subtracted)"
        gross, transport = (gross if gross_n else None), (transport if transport_n else None)

    # net: only CO2 stored for good comes off (utilised CO2 returns to the air); avoided as before
    net = None
    if emitted is not None and stored is not None and avoided is not None:
        net = emitted - stored - avoided
        if net and abs(net) <= NOISE * max(abs(emitted), stored, abs(avoided), 1.0):
            net = 0.0  # floating-point noise (coverage.clean_zero, inlined: one call per firm adds up nationally)
    return (firm, node.get("name"), node.get("park_id"), node.get("sector_name"), row_year, scope1, scope2,
            scope2_outside, scope2_basis, electricity_outside, _flow_sum(air_n, air_known, air_sum), emitted, source,
            _flow_sum(in_n, in_known, in_sum), _flow_sum(sent_n, sent_known, sent_sum),
            _flow_sum(store_n, store_known, store_sum), _flow_sum(sold_n, sold_known, sold_sum), captured,
            None if use is None else use.use, None if use is None else ("vented" if vented_kept else use.fate),
            stored, utilised, vented, absorbed, gross, transport, avoided, net,
            emitted_status, absorbed_status, absorbed_coverage, avoided_status, avoided_coverage,
            _combined(emitted_status, absorbed_status, avoided_status))


def _known_sum(*parts: float | None) -> float | None:
    """The sum of the known parts; None when none is known."""
    known = [part for part in parts if part is not None]
    return float(sum(known)) if known else None


def _flow_sum(count: int, known: int, total: float) -> float | None:
    """Known quantities of a firm's flows of one side: None if it has some and none has a quantity."""
    return None if count and not known else total


def _partner(node: dict) -> bool:
    return (node.get("role") or "firm") in _PARTNER_ROLES and not node.get("direction")


def is_exchange_partner(G: nx.MultiDiGraph, node: str) -> bool:
    """True for a node that can give or take a by-product: a firm (of the park or not) or an outside actor
    (farms, other mills); not a boundary end (import, export, air), a utility grid or the environment."""
    return _partner(G.nodes[node])


def _credit_frame(records: list[tuple], resources: dict, road: float,
                  chains: dict[str, tuple[float, str | None, bool]] | None = None) -> pd.DataFrame:
    """By-product exchanges (flow_id, supplier_id, supplier, taker_id, taker, resource, currency, quantity,
    unit, distance_km) with their saving where quantity and factor are known, and why not where not;
    ``chains`` (flow id -> credited share, chain text, share on known quantities only) from
    :func:`_chain_shares`."""
    if not records:
        return pd.DataFrame(columns=_CREDIT_COLUMNS, dtype=object)
    (flow_id, supplier_id, supplier, taker_id, taker, resource, currency, quantity, unit,
     distance) = (np.array(column, dtype=object) for column in zip(*records))
    quantity, distance = quantity.astype(float), distance.astype(float)  # None becomes NaN here, None again below
    factor = np.array([resources[code][0] for code in resource], dtype=float)
    basis = np.array([resources[code][1] for code in resource], dtype=object)
    chains = chains or {}
    linked = [chains.get(key, _END_OF_CHAIN) for key in flow_id.tolist()]
    share = np.array([link[0] for link in linked], dtype=float)
    chain = np.array([link[1] for link in linked], dtype=object)
    share_on_known = np.array([link[2] for link in linked], dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):  # a saving too large to hold is unknown, never inf
        substitution = quantity * factor
        gross = substitution * share
        transport = np.where(currency == "mass", quantity * distance * road, quantity * 0.0)  # pipes: 0 if known
        difference = gross - transport
    substitution[~np.isfinite(substitution)] = np.nan
    gross[~np.isfinite(gross)] = np.nan
    difference[~np.isfinite(difference)] = np.nan
    # values within floating-point noise of zero are 0 (coverage.clean_zero, vectorised)
    difference[np.abs(difference) <= NOISE * np.maximum(np.abs(gross), 1.0)] = 0.0
    no_quantity, no_factor, no_distance = np.isnan(quantity), np.isnan(factor), np.isnan(transport)
    unknown = np.isnan(gross)
    avoided = np.where(unknown, np.nan, np.where(no_distance, gross, difference))
    status = np.where(unknown, UNKNOWN, np.where(no_distance | share_on_known, PARTIAL, KNOWN)).astype(object)
    note = np.select([no_quantity & no_factor, no_quantity, no_factor, no_distance],
                     [f"{_NO_QUANTITY}; {_NO_FACTOR}", _NO_QUANTITY, _NO_FACTOR, _NO_DISTANCE],
                     default="").astype(object)
    note = np.where(share_on_known & ~unknown, np.where(note == "", _SHARE_ON_KNOWN, note + "; " + _SHARE_ON_KNOWN),
                    note).astype(object)
    note[note == ""] = None
    flow_id = flow_id.astype(str)
    # saving first, unknown last; flow id breaks ties, so the order does not depend on how the graph was built
    order = np.lexsort((flow_id, np.where(unknown, np.inf, -avoided)))

    def nullable(values: np.ndarray) -> np.ndarray:
        out = values.astype(object)
        out[np.isnan(values)] = None
        return out[order]

    columns = [flow_id.astype(object)[order], supplier_id[order], supplier[order], taker_id[order], taker[order],
               resource[order], nullable(quantity), unit[order], nullable(factor), basis[order], nullable(distance),
               nullable(substitution), nullable(share), nullable(gross), nullable(transport), nullable(avoided),
               status[order], chain[order], note[order]]
    # object columns throughout: pandas' string dtype would turn a None name or note into NaN
    return pd.DataFrame(dict(zip(_CREDIT_COLUMNS, columns)), columns=_CREDIT_COLUMNS, dtype=object)


#: an exchange to a firm that passes nothing of it on: the whole credit, no chain
_END_OF_CHAIN = (1.0, None, False)
_SHARE_ON_KNOWN = "chain share on the known quantities only"
#: most names a chain's text lists on either side of an exchange
_CHAIN_NAMES = 3


def _chain_shares(G: nx.MultiDiGraph, byproduct: set[str]) -> dict[str, tuple[float, str | None, bool]]:
    """The credit each by-product exchange keeps along a chain, so that one physical flow is credited once.

    A firm that passes a by-product on (the scrap yard, a district-heating plant: heat carriers count as
    one by-product, :func:`symbiosis.units.chain_group`) is an intermediary: the substitution happens
    where the by-product is finally used, so **the last link takes the credit**. An exchange into an
    intermediary keeps the share of the intermediary's receipts it does not pass on to other firms:
    ``1 - min(1, passed on to firms / received from everywhere)`` (what it passes on is assumed drawn
    on all it receives, imports included, in proportion). Exchanges out of it keep their whole credit.

    Returns
    -------
    dict
        flow id -> (credited share, chain text such as "Scrap yard -> Steel works", whether the share
        stands on the known quantities only), for the exchanges that are links of a chain.
    """
    attributes = _nodes(G)
    partner = {node: _partner(data) for node, data in attributes.items()}
    groups = {code: chain_group(code) for code in byproduct}
    received: dict[tuple[str, str], list] = {}  # (partner, group) -> [flows, known, sum] from anywhere
    passed: dict[tuple[str, str], list] = {}  # (partner, group) -> [flows, known, sum] to partners
    suppliers: dict[tuple[str, str], list[str]] = {}
    takers: dict[tuple[str, str], list[str]] = {}
    exchanges = []
    for u, neighbours in _successors(G).items():
        u_partner = partner[u]
        for v, keyed in neighbours.items():
            if not partner[v]:
                continue  # into the boundary, a utility or the environment: no chain goes on from there
            for key, data in keyed.items():
                group = groups.get(data["resource"])
                if group is None:
                    continue
                quantity = data["quantity"]
                tally = received.get((v, group))
                if tally is None:
                    tally = received[v, group] = [0, 0, 0.0]
                tally[0] += 1
                if quantity is not None:
                    tally[1] += 1
                    tally[2] += quantity
                if u_partner:
                    out = passed.get((u, group))
                    if out is None:
                        out = passed[u, group] = [0, 0, 0.0]
                    out[0] += 1
                    if quantity is not None:
                        out[1] += 1
                        out[2] += quantity
                    suppliers.setdefault((v, group), []).append(u)
                    takers.setdefault((u, group), []).append(v)
                    exchanges.append((key, u, v, group))
    chains: dict[str, tuple[float, str | None, bool]] = {}
    for key, u, v, group in exchanges:
        upstream, downstream = suppliers.get((u, group)), takers.get((v, group))
        if not upstream and not downstream:
            continue
        share, on_known = 1.0, False
        if downstream:
            inflow, outflow = received[(v, group)], passed[(v, group)]
            on_known = inflow[1] < inflow[0] or outflow[1] < outflow[0]
            share = 1.0 - min(1.0, outflow[2] / inflow[2]) if inflow[2] > 0 else 1.0
        chains[key] = (share, " -> ".join(part for part in (_names(attributes, upstream), attributes[u].get("name") or u,
                                                               attributes[v].get("name") or v,
                                                               _names(attributes, downstream)) if part), on_known)
    return chains


def _names(attributes: dict, nodes: list[str] | None) -> str | None:
    if not nodes:
        return None
    unique = list(dict.fromkeys(nodes))
    shown = ", ".join(str(attributes[node].get("name") or node) for node in unique[:_CHAIN_NAMES])
    return shown + (f" and {len(unique) - _CHAIN_NAMES} more" if len(unique) > _CHAIN_NAMES else "")


def exchange_credits(db: sqlite_utils.Database, G: nx.MultiDiGraph,
                     factors: dict[str, float] | None = None) -> pd.DataFrame:
    """Every by-product exchange between firms (of the park or not, and outside actors such as farms).

    A by-product exchange is a flow between two such nodes (not from or to a utility, the environment or
    the park boundary) of waste, or of any other non-CO2 resource with a ``co2_factor`` (see
    :data:`BYPRODUCT_KINDS`).
    ``avoided_gross_t = quantity x co2_factor``; ``transport_t = tonnes x km x road-freight factor`` for
    mass flows (energy and water go by pipe); ``avoided_t`` is their difference. An exchange without a
    quantity, or whose resource has no factor, is listed with an unknown (None) saving: the link is known,
    the figure is not. If ``G`` was loaded for some resources only (:func:`carbon_resources`), the
    by-product exchanges of the others are read from the store with the graph's park, year and status.

    Returns
    -------
    DataFrame
        ``flow_id, supplier_id, supplier, taker_id, taker, resource, quantity, unit, co2_factor,
        factor_basis`` (the catalogue's note: source and derivation), ``distance_km, avoided_gross_t,
        transport_t, avoided_t, saving_status`` (known | partial: a mass flow without a distance, transport
        not subtracted | unknown) and ``note`` (what is missing), largest saving first, unknown last.
    """
    factors = factors_or_shipped(factors)
    return exchange_credits_of(load_carbon_inputs(db, G=G, parts=("exchanges",)), factors=factors)


def exchange_credits_of(inputs: CarbonInputs, *, factors: dict[str, float]) -> pd.DataFrame:
    """:func:`exchange_credits` computed from the inputs :func:`load_carbon_inputs` read (no store needed).

    Parameters
    ----------
    inputs : CarbonInputs
        Read with ``exchanges`` when the graph was loaded for some resources only.
    factors : dict
        From :func:`symbiosis.factors.load_factors` (road-freight factor).

    Returns
    -------
    DataFrame
        As :func:`exchange_credits`.

    Raises
    ------
    InputError
        The graph left out by-product resources and the inputs were read without their exchanges.
    """
    G = _graph_of(inputs, "the by-product exchanges")
    resources = inputs.resources
    byproduct = _byproduct_codes(resources)
    records = _graph_records(G, byproduct)
    if _missing_resources(G, resources, byproduct):
        records += _part(inputs.outside_records, "exchanges", "the by-product exchanges")
    return _credit_frame(records, resources, factors["road_freight_tco2e_per_tkm"], _chain_shares(G, byproduct))


def _credits_for_balance(inputs: CarbonInputs, G: nx.MultiDiGraph,
                         factors: dict[str, float]) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """What the balance needs of :func:`exchange_credits_of`: the graph's exchanges in full, and of those the
    graph left out either the records or, when none of them has a factor (their saving is unknown whatever
    their quantity), only how many each firm receives (``exchange_counts``: the same balance)."""
    resources = inputs.resources
    byproduct = _byproduct_codes(resources)
    records, outside = _graph_records(G, byproduct), []
    if _missing_resources(G, resources, byproduct):
        if inputs.outside_records is not None:
            records += inputs.outside_records
        else:
            outside = _part(inputs.outside_takers, "exchanges", "the carbon balance without credits")
    return _credit_frame(records, resources, factors["road_freight_tco2e_per_tkm"],
                         _chain_shares(G, byproduct)), outside


def _takers_outside_graph(db: sqlite_utils.Database, G: nx.MultiDiGraph, missing: list[str], where: str,
                          params: list) -> list[tuple[str, int]]:
    """How many of the exchanges :func:`_outside_graph_query` selects each firm of the graph receives."""
    attributes = _nodes(G)
    pairs = [(source, target) for source, target in db.execute(
        f"SELECT f.source_id, f.target_id FROM flows f WHERE {where} AND f.source_id IS NOT NULL",
        [json.dumps(missing)] + params).fetchall()
        if target in attributes and not attributes[target].get("boundary", False)]
    suppliers = _nodes_with_strangers(db, G, {source for source, _ in pairs})
    counts: dict[str, int] = {}
    for source, target in pairs:
        if _partner(suppliers[source]):
            counts[target] = counts.get(target, 0) + 1
    return list(counts.items())


def _resource_catalogue(db: sqlite_utils.Database) -> dict[str, tuple]:
    """Every resource as code -> (co2_factor, note, kind)."""
    return {code: (factor, note, kind) for code, factor, note, kind in
            db.execute("SELECT code, co2_factor, note, kind FROM resources")}


def _byproduct_codes(resources: dict[str, tuple]) -> set[str]:
    """The codes of the catalogue that make a by-product exchange."""
    return {code for code, (factor, _, kind) in resources.items()
            if kind != "co2" and (factor is not None or kind in BYPRODUCT_KINDS)}


def _graph_records(G: nx.MultiDiGraph, byproduct: set[str]) -> list[tuple]:
    """The graph's by-product exchanges as :func:`_credit_frame` records."""
    attributes = _nodes(G)
    records = []
    for u, neighbours in _successors(G).items():
        if not neighbours or not _partner(attributes[u]):
            continue
        supplier = attributes[u].get("name")
        for v, keyed in neighbours.items():
            if not _partner(attributes[v]):
                continue
            taker = attributes[v].get("name")
            for key, data in keyed.items():
                if data["resource"] in byproduct:
                    records.append((key, u, supplier, v, taker, data["resource"], data["currency"], data["quantity"],
                                    data["unit"], data["distance_km"] if "distance_km" in data else None))
    return records


def _missing_resources(G: nx.MultiDiGraph, resources: dict, byproduct: set[str]) -> list[str]:
    """The by-product resources a resource-filtered graph left out (of the kinds it was loaded for), sorted;
    none when the graph has every resource.

    Reading their flows with SQL (:func:`_outside_graph_query`) rather than loading them into the graph
    keeps the carbon command's graph to the flows that carry carbon (a third of a national store).
    """
    loaded = G.graph.get("resources")
    if loaded is None:
        return []
    loaded, kinds = set(loaded), G.graph.get("kinds")
    return sorted(code for code in byproduct - loaded if kinds is None or resources[code][2] in kinds)


def _outside_graph_query(G: nx.MultiDiGraph, missing: list[str]) -> tuple[list, str, list]:
    """The SQL filter on ``flows f`` that reads the flows of the ``missing`` resources with the graph's own
    filters (those of :func:`symbiosis.graph.load_graph`: park, every flow touching its firms; year, that
    year or undated; status), as ``(missing, where, params)``; the partner rule is the reader's."""
    where = ["f.resource_code IN (SELECT value FROM json_each(?))"]
    params: list = []
    park, year, status = G.graph.get("park"), G.graph.get("year"), G.graph.get("status")
    if park is not None:
        where.append("f.rowid IN (SELECT f2.rowid FROM flows f2 JOIN enterprises e ON e.id = f2.source_id "
                     "WHERE e.park_id = ? UNION SELECT f3.rowid FROM flows f3 JOIN enterprises e "
                     "ON e.id = f3.target_id WHERE e.park_id = ?)")
        params += [park, park]
    if year is not None:
        where.append("(f.year = ? OR f.year IS NULL)")
        params.append(int(year))
    if status is not None:
        where.append(f"f.status IN ({', '.join('?' for _ in status)})")
        params += list(status)
    return missing, " AND ".join(where), params


def _records_outside_graph(db: sqlite_utils.Database, G: nx.MultiDiGraph, missing: list[str], where: str,
                           params: list) -> list[tuple]:
    """The exchanges :func:`_outside_graph_query` selects between partners, as :func:`_credit_frame` records.

    Names, roles and coordinates come from the graph's nodes (every firm of its park is one); only ends
    outside the graph are looked up, which spares joining the enterprises twice for 10^4 flows."""
    found = db.execute("SELECT f.id, f.source_id, f.target_id, f.resource_code, f.kind, f.quantity, f.unit, "
                       f"f.distance_km FROM flows f WHERE {where} AND f.source_id IS NOT NULL "
                       "AND f.target_id IS NOT NULL ORDER BY f.rowid", [json.dumps(missing)] + params).fetchall()
    nodes = _nodes_with_strangers(db, G, {end for row in found for end in (row[1], row[2])})
    partner = {node: _partner(data) for node, data in nodes.items()}
    found = [row for row in found if partner[row[1]] and partner[row[2]]]
    # the graph's rule for distances: the given one, else great-circle where both ends have coordinates
    unplaced = [index for index, row in enumerate(found) if row[7] is None]
    distance = [row[7] for row in found]
    if unplaced:
        ends = [(nodes[found[index][1]], nodes[found[index][2]]) for index in unplaced]
        computed = haversine_km(*(np.array([end[side].get(axis) for end in ends], dtype=float)
                                  for side, axis in ((0, "lat"), (0, "lon"), (1, "lat"), (1, "lon"))))
        for index, km in zip(unplaced, computed.tolist()):
            distance[index] = km if km == km else None  # NaN: an end without coordinates
    return [(flow_id, source, nodes[source].get("name"), target, nodes[target].get("name"), resource, CURRENCY[kind],
             quantity, unit, km)
            for (flow_id, source, target, resource, kind, quantity, unit, _), km in zip(found, distance)]


def _nodes_with_strangers(db: sqlite_utils.Database, G: nx.MultiDiGraph, ends: set[str]) -> dict:
    """Attributes of these enterprises: the graph's own, or read from the store for those it lacks
    (firms of other parks that exchange only resources the graph left out)."""
    known = _nodes(G)
    nodes = {end: known[end] for end in ends if end in known}
    strangers = sorted(ends - nodes.keys())
    for start in range(0, len(strangers), 500):
        chunk = strangers[start:start + 500]
        for node, name, lat, lon, role in db.execute(
                f"SELECT id, name, lat, lon, coalesce(role, 'firm') FROM enterprises WHERE id IN "
                f"({', '.join('?' for _ in chunk)})", chunk):
            nodes[node] = {"name": name, "lat": lat, "lon": lon, "role": role}
    return nodes


def exchange_coverage(G: nx.MultiDiGraph, credits: pd.DataFrame) -> tuple[Coverage, Coverage]:
    """What the park's reduction from exchanges stands on, counted once per flow.

    Returns
    -------
    (Coverage, Coverage)
        By-product exchanges received by the park's firms with a quantity and a CO2 factor (of all
        such exchanges in ``credits``), and CO2 flows with a quantity (of the CO2 flows into the park's
        firms, and out of those of its firms that receive CO2: the flows that decide what is kept).
    """
    validate_graph(G, needs=("resource", "currency", "quantity"))
    firms = {node for node in G if not is_boundary(G, node)}
    taken = [(quantity, factor) for taker, quantity, factor in zip(
        credits["taker_id"].tolist(), credits["quantity"].tolist(), credits["co2_factor"].tolist()) if taker in firms]
    byproducts = Coverage(sum(1 for quantity, factor in taken if quantity is not None and factor is not None),
                          len(taken), "by-product exchanges with a quantity and a CO2 factor")
    co2_edges = [(u, v, data["quantity"]) for u, v, data in G.edges(data=True) if data["currency"] == "co2"]
    receiving = {v for _, v, _ in co2_edges if v in firms}
    relevant = [quantity for u, v, quantity in co2_edges if v in firms or u in receiving]
    co2 = Coverage(sum(1 for quantity in relevant if quantity is not None), len(relevant), "CO2 flows with a quantity")
    return byproducts, co2


def _total_status(has_value: bool, statuses: list[str]) -> str:
    """A sum over firms: unknown without a value, known if every firm's figure is, else partial."""
    return UNKNOWN if not has_value else (KNOWN if all(status == KNOWN for status in statuses) else PARTIAL)


def park_totals(balance: pd.DataFrame) -> pd.DataFrame:
    """Sums of the firm view: emitted, absorbed, avoided and net over the firms, with how many firms they
    stand on. These sums double count (``attrs["note"]``); the park's own inventory, each tonne once, is
    :func:`symbiosis.inventory.park_inventory`.

    ``emitted`` counts firms with an emitted figure (reported, or CO2 flows to air); ``absorbed`` and
    ``avoided`` count the firms that have something to absorb or avoid (CO2 received, by-products
    received) and say how many of them have a complete figure; firms with nothing to absorb add a known 0.
    A total with nothing known is None; one with some firms unknown or partial is the known part, partial.

    Returns
    -------
    DataFrame
        One row per figure: ``figure, value_t, status, known, total, coverage`` (text).
    """
    rows: list[dict[str, Any]] = []
    emitted = [value for value in balance["emitted_t"].tolist() if value is not None]
    emitted_status = balance["emitted_status"].tolist()
    coverage = Coverage(len(emitted), len(balance), "firms with emissions (reported, or CO2 flows to air)")
    status = _total_status(bool(emitted), emitted_status)
    rows.append({"figure": "emitted", "value_t": clean_zero(sum(emitted), max(map(abs, emitted))) if emitted else None,
                 "status": status, "known": coverage.known, "total": coverage.total, "coverage": coverage.text})
    for figure, what in (("absorbed", "firms receiving CO2 with every CO2 flow quantified"),
                         ("avoided", "firms receiving by-products with every saving known")):
        values = balance[f"{figure}_t"].tolist()
        statuses = balance[f"{figure}_status"].tolist()
        concerned = [status for status, text in zip(statuses, balance[f"{figure}_coverage"].tolist())
                     if text is not None]
        coverage = Coverage(sum(1 for status in concerned if status == KNOWN), len(concerned), what)
        known_values = [value for value in values if value is not None]
        total = float(sum(known_values))
        if concerned and all(status == UNKNOWN for status in concerned) and total == 0:
            value, status = None, UNKNOWN  # every firm concerned is unknown and nothing else adds to it
        else:
            value = clean_zero(total, max(map(abs, known_values), default=0.0))
            status = _total_status(True, statuses)
        rows.append({"figure": figure, "value_t": value, "status": status, "known": coverage.known,
                     "total": coverage.total, "coverage": coverage.text})
    parts = {row["figure"]: row for row in rows}
    net = None
    if all(parts[figure]["value_t"] is not None for figure in ("emitted", "absorbed", "avoided")):
        net = clean_zero(parts["emitted"]["value_t"] - parts["absorbed"]["value_t"] - parts["avoided"]["value_t"],
                         parts["emitted"]["value_t"])
    rows.append({"figure": "net", "value_t": net,
                 "status": _combined(*(parts[figure]["status"] for figure in ("emitted", "absorbed", "avoided"))),
                 "known": None, "total": None,
                 "coverage": "; ".join(parts[figure]["coverage"] for figure in ("emitted", "absorbed", "avoided"))})
    frame = _frame(rows, ["figure", "value_t", "status", "known", "total", "coverage"])
    frame.attrs["note"] = FIRM_VIEW_NOTE
    return frame


def absorption_nodes(balance: pd.DataFrame, G: nx.MultiDiGraph, db: sqlite_utils.Database) -> pd.DataFrame:
    """Firms that keep CO2 from the air, ranked on CO2 stored for good, then on CO2 utilised.

    Stored and utilised are ranked apart (:mod:`symbiosis.co2uses`): a carbonation plant that binds
    8,000 t for centuries ranks above a methanol plant whose 72,000 t return to the air when the fuel
    burns. Firms that keep no CO2 but avoid emissions with the by-products they take follow, by avoided.

    Returns
    -------
    DataFrame
        ``rank`` (stored, then utilised, then avoided), ``utilised_rank`` (among firms that utilise
        CO2), ``id, name, co2_use, stored_t, utilised_t, avoided_t, absorbed_status`` (known | partial |
        unknown), ``stored_share_of_park_emissions`` (stored over the park view's emissions of the firms'
        parks, None when those are unknown) and ``carbon_pagerank``: PageRank on the firm-to-firm network
        weighted by the carbon each exchange carries (tonnes of CO2 for CO2 flows, tCO2e avoided for
        by-product flows; exchanges without a quantity or a factor carry no weight), so a hub that passes
        CO2 on ranks high too. Firms with nothing known to keep or avoid are not listed; an empty list
        whose firms' figures are unknown says so in ``attrs["note"]``.
    """
    return absorption_nodes_of(load_carbon_inputs(db, G=G, parts=()), balance)


def absorption_nodes_of(inputs: CarbonInputs, balance: pd.DataFrame) -> pd.DataFrame:
    """:func:`absorption_nodes` computed from the inputs :func:`load_carbon_inputs` read (no store needed).

    Parameters
    ----------
    inputs : CarbonInputs
        Any parts: the graph and the resource catalogue (CO2 factors, for the carbon PageRank) suffice.
    balance : DataFrame
        :func:`carbon_balance_of` of the same inputs.

    Returns
    -------
    DataFrame
        As :func:`absorption_nodes`.
    """
    G = _graph_of(inputs, "the absorption nodes")
    emitted_total = _known_total(park_views(balance)["park_emissions"]) if len(balance) else None
    rows = []
    for firm, name, use, stored, utilised, avoided, status in zip(
            balance["id"].tolist(), balance["name"].tolist(), balance["co2_use"].tolist(),
            balance["stored_t"].tolist(), balance["utilised_t"].tolist(), balance["avoided_t"].tolist(),
            balance["absorbed_status"].tolist()):
        if (stored or 0.0) + (utilised or 0.0) + (avoided or 0.0) > 0:
            rows.append({"id": firm, "name": name, "co2_use": use, "stored_t": stored, "utilised_t": utilised,
                         "avoided_t": avoided, "absorbed_status": status,
                         "stored_share_of_park_emissions": (stored or 0.0) / emitted_total
                         if emitted_total and emitted_total > 0 else None})
    rank = _carbon_pagerank(G, _co2_factors(inputs.resources)) if rows else {}
    for row in rows:
        row["carbon_pagerank"] = rank.get(row["id"])
        row["utilised_rank"] = None
    # stable sorts: ties keep the balance's order
    rows.sort(key=lambda row: (-(row["stored_t"] or 0.0), -(row["utilised_t"] or 0.0), -(row["avoided_t"] or 0.0)))
    for number, row in enumerate(rows, start=1):
        row["rank"] = number
    utilising = sorted((row for row in rows if (row["utilised_t"] or 0.0) > 0), key=lambda row: -row["utilised_t"])
    for number, row in enumerate(utilising, start=1):
        row["utilised_rank"] = number
    frame = _frame(rows, ["rank", "utilised_rank", "id", "name", "co2_use", "stored_t", "utilised_t", "avoided_t",
                          "absorbed_status", "stored_share_of_park_emissions", "carbon_pagerank"])
    unknown = sum(1 for absorbed, avoided in zip(balance["absorbed_t"].tolist(), balance["avoided_t"].tolist())
                  if absorbed is None or avoided is None)
    if not rows and unknown:  # an empty list must not read as "no firm carries carbon"
        frame.attrs["note"] = (f"no firm keeps or avoids a known amount of CO2: absorbed or avoided unknown for "
                               f"{unknown} of {len(balance)} firms")
    return frame


def _co2_factors(resources: dict[str, tuple]) -> dict[str, float]:
    """code -> co2_factor of the catalogue's resources that have one."""
    return {code: factor for code, (factor, _, _) in resources.items() if factor is not None}


def _carbon_pagerank(G: nx.MultiDiGraph, co2_factor: dict[str, float]) -> dict:
    attributes = _nodes(G)
    weights: dict[tuple[str, str], float] = {}
    for u, neighbours in _successors(G).items():
        if attributes[u].get("boundary", False):
            continue
        for v, keyed in neighbours.items():
            if attributes[v].get("boundary", False):
                continue
            for data in keyed.values():
                quantity = data["quantity"]
                if quantity is None:
                    continue
                carbon = quantity if data["currency"] == "co2" else quantity * (co2_factor.get(data["resource"]) or 0)
                if carbon > 0:
                    weights[u, v] = weights.get((u, v), 0.0) + carbon
    if not weights:
        return {}
    weighted: nx.DiGraph = nx.DiGraph()
    weighted.add_weighted_edges_from((u, v, weight) for (u, v), weight in weights.items())
    return nx.pagerank(weighted, weight="weight")


@dataclass
class Allocation:
    """Result of :func:`allocate_co2`.

    Attributes
    ----------
    pairs : DataFrame
        ``emitter_id, emitter, absorber_id, absorber, tonnes, distance_km, tkm, transport_tco2e,
        absorber_fate`` (stored | utilised | vented: what becomes of the CO2 there, :mod:`symbiosis.co2uses`).
    summary : DataFrame
        One row of park-view totals (:mod:`symbiosis.inventory`; over every park when no park is given):
        ``emitted_t`` (park emissions, each tonne once), ``stored_existing_t, utilised_existing_t``
        (captured CO2 kept by existing flows, by fate), ``offered_t, demand_open_t, allocated_t,
        allocated_stored_t`` (the part of the allocation its absorbers store for good),
        ``allocated_greedy_t, absorbable_t`` (stored existing + allocated stored: what could leave the air
        for good), ``absorbable_share`` (of ``emitted_t``), ``unabsorbed_t, max_km, emitted_status,
        emitted_coverage``. A figure with nothing known is None: no CO2 offer or demand with a quantity
        gives no allocation (None), not an allocation of 0; the notes say why.
    notes : list of str
    """

    pairs: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _exchange_sides(db: sqlite_utils.Database, table: str, park: str | None, year: int | None) -> CO2Side:
    """Firms' CO2 offers (or demands) with a quantity, and how many firms and rows have none."""
    where = ["t.kind = 'co2'"]
    params: list = []
    if park is not None:
        where.append("e.park_id = ?")
        params.append(park)
    if year is not None:
        where.append("(t.year = ? OR t.year IS NULL)")
        params.append(year)
    rows = db.execute(
        f"SELECT e.id, e.name, e.lat, e.lon, sum(CASE WHEN t.quantity > 0 THEN t.quantity END), e.sector_code, "
        f"e.park_id, count(t.quantity), count(*) FROM {table} t "
        f"JOIN enterprises e ON e.id = t.enterprise_id WHERE {' AND '.join(where)} GROUP BY e.id ORDER BY e.id",
        params).fetchall()
    known = [row[:7] for row in rows if row[4] is not None]
    unknown_rows = sum(row[8] - row[7] for row in rows)
    unknown_firms = sum(1 for row in rows if not row[7])
    return CO2Side(pd.DataFrame(known, columns=["id", "name", "lat", "lon", "tonnes", "sector_code", "park_id"]),
                   unknown_firms, unknown_rows)


def allocate_co2(db: sqlite_utils.Database, park: str | None = None, *, year: int | None = None,
                 max_km: float = 100.0, factors: dict[str, float] | None = None,
                 balance: pd.DataFrame | None = None) -> Allocation:
    """Match the park's capturable CO2 to its absorbers with a min-cost flow.

    Emitters offer CO2 (``offers`` of kind co2), less what their existing CO2 flows already send to firms
    (offers are gross, as matchmaking reads them); absorbers declare a CO2 demand or capacity
    (``demands``), less what they already receive through existing CO2 flows. A pair can exchange only within ``max_km``
    (great-circle). ``networkx.max_flow_min_cost`` then allocates the most tonnes possible at the least
    total tonne-km: unlike taking the nearest pairs first, it never blocks a supplier whose only reachable
    absorber a nearer one has already filled. Offers and demands without a quantity cannot be allocated:
    they are left out and the notes count them; an absorber whose CO2 received is unknown has an unknown
    open demand and is left out too.

    Returns
    -------
    Allocation
        Tonnes per pair, and the share of the park's emissions (park view) that could be stored for
        good: ``(stored by existing flows + allocated to absorbers that store it) / emitted``.

    Examples
    --------
    >>> from symbiosis.store import open_store
    >>> allocate_co2(open_store(":memory:")).summary["allocated_t"].tolist()
    [None]
    """
    if max_km <= 0:
        raise InputError(f"max_km must be positive, not {max_km}")
    factors = factors_or_shipped(factors)
    # a balance given: only the offers and demands are read (no graph); else what the balance needs too
    parts = ("offers",) if balance is not None else (_EXCHANGE_COUNTS, "emissions", "offers")
    return allocate_co2_of(load_carbon_inputs(db, park, year=year, parts=parts), factors=factors, max_km=max_km,
                           balance=balance)


def allocate_co2_of(inputs: CarbonInputs, *, factors: dict[str, float], max_km: float = 100.0,
                    balance: pd.DataFrame | None = None, co2_uses: pd.DataFrame | None = None) -> Allocation:
    """:func:`allocate_co2` computed from the inputs :func:`load_carbon_inputs` read (no store needed).

    Parameters
    ----------
    inputs : CarbonInputs
        Read with ``offers``; and with what :func:`carbon_balance_of` needs unless ``balance`` is given.
    factors : dict
        From :func:`symbiosis.factors.load_factors` (CO2 truck factor; the balance's factors).
    max_km : float
        Longest emitter-absorber distance (great-circle).
    balance : DataFrame, optional
        :func:`carbon_balance_of` of the same inputs, if already computed.
    co2_uses : DataFrame, optional
        :func:`symbiosis.co2uses.load_co2_uses`; default the shipped table.

    Returns
    -------
    Allocation
        As :func:`allocate_co2`.

    Raises
    ------
    InputError
        ``max_km`` not positive, or inputs read without a part the allocation needs.
    """
    if max_km <= 0:
        raise InputError(f"max_km must be positive, not {max_km}")
    offers = _part(inputs.offers, "offers", "the CO2 allocation")
    demands = _part(inputs.demands, "offers", "the CO2 allocation")
    country = _part(inputs.countries, "offers", "the CO2 allocation")
    balance = balance if balance is not None else carbon_balance_of(inputs, factors=factors, co2_uses=co2_uses)
    # copies: the open amounts are written into them, and the inputs stay as read
    emitters, offers_unknown_firms, offers_unknown = offers.known.copy(), offers.unknown_firms, offers.unknown_rows
    absorbers, demands_unknown_firms, demands_unknown = (demands.known.copy(), demands.unknown_firms,
                                                         demands.unknown_rows)
    notes = []
    for count, firms, side, table in ((offers_unknown, offers_unknown_firms, "offer", "offers"),
                                      (demands_unknown, demands_unknown_firms, "demand", "demands")):
        if count:
            notes.append(f"{count} CO2 {table} without a quantity left out"
                         + (f" ({firms} firms with no CO2 {side} quantity at all)" if firms else ""))
    # demands and offers are gross (as matchmaking reads them): CO2 existing flows already bring in, or
    # already send to firms, is not open again
    absorbers, open_unknown = _open_side(absorbers, balance, "co2_received_t", notes,
                           "absorbers left out: the CO2 they already receive has no quantity, so their open "
                           "demand is unknown")
    emitters, _ = _open_side(emitters, balance, "co2_sent_t", notes,
                          "emitters left out: the CO2 they already send to firms has no quantity, so their open "
                          "offer is unknown")
    located_e = emitters[emitters["tonnes"] > 0].dropna(subset=["lat", "lon"]).reset_index(drop=True)
    located_a = absorbers[absorbers["tonnes"] > 0].dropna(subset=["lat", "lon"]).reset_index(drop=True)
    for side, full, located in (("emitters", emitters[emitters["tonnes"] > 0], located_e),
                                ("absorbers", absorbers[absorbers["tonnes"] > 0], located_a)):
        if len(full) > len(located):
            notes.append(f"{len(full) - len(located)} {side} without coordinates left out")
    # each absorber's 25 nearest emitters within reach: bounded at national scale, exact for a park
    i, j, distance = nearest_within(located_e["lat"], located_e["lon"], located_a["lat"], located_a["lon"], max_km, 25)
    same = located_e["id"].to_numpy()[i] == located_a["id"].to_numpy()[j]
    candidates = list(zip(i[~same], j[~same], distance[~same]))
    allocated = _min_cost_flow(located_e["tonnes"].to_numpy(), located_a["tonnes"].to_numpy(), candidates)
    truck = factors["co2_truck_tco2e_per_tkm"]
    uses = _co2_use_lookup(country, co2_uses)
    rows = []
    for (e, a, km), tonnes in allocated:
        use = uses(located_a.at[a, "sector_code"], located_a.at[a, "park_id"])
        rows.append({
            "emitter_id": located_e.at[e, "id"], "emitter": located_e.at[e, "name"],
            "absorber_id": located_a.at[a, "id"], "absorber": located_a.at[a, "name"],
            "tonnes": tonnes, "distance_km": km, "tkm": tonnes * km, "transport_tco2e": tonnes * km * truck,
            "absorber_fate": "vented" if use.fate == "vented" else use.fate, "absorber_stored_share":
            0.0 if use.fate == "vented" else use.stored_share})
    pairs = pd.DataFrame(rows, columns=["emitter_id", "emitter", "absorber_id", "absorber", "tonnes",
                                        "distance_km", "tkm", "transport_tco2e", "absorber_fate",
                                        "absorber_stored_share"])
    greedy = sum(tonnes for _, tonnes in greedy_allocation(located_e["tonnes"].to_numpy(),
                                                           located_a["tonnes"].to_numpy(), candidates))
    # no offer (or no demand) with a quantity while some exist without one: the allocation is unknown, not 0
    # with no CO2 offer (or demand) in the store at all, nothing is known either: no data is not 0 t
    offered = float(emitters["tonnes"].sum()) if len(emitters) else None
    demand_open = float(absorbers["tonnes"].sum()) if len(absorbers) else None
    if offered is None:
        notes.append("no CO2 offer has a quantity: nothing can be allocated, the allocation is unknown"
                     if offers_unknown else "no CO2 offers in the store for these firms (load offers of resource "
                     "co2): the allocation is unknown")
    if demand_open is None:
        notes.append("no CO2 demand has a known quantity: nothing can be allocated, the allocation is unknown"
                     if demands_unknown or open_unknown else "no CO2 demands in the store for these firms (load "
                     "demands of resource co2): the allocation is unknown")
    unknown_side = offered is None or demand_open is None
    view = park_views(balance)
    emitted = _known_total(view["park_emissions"])
    stored_existing, utilised_existing = _known_total(view["stored"]), _known_total(view["utilised"])
    statuses = set(view["status"])
    emitted_status = UNKNOWN if emitted is None else (KNOWN if statuses == {KNOWN} else PARTIAL)
    parks_known = int((view["status"] == KNOWN).sum())
    # nothing to give or nothing open to take is a known 0 whatever the other side; else unknown with a side
    nothing_to_move = offered == 0.0 or demand_open == 0.0
    total_allocated = 0.0 if nothing_to_move else None if unknown_side else float(pairs["tonnes"].sum())
    allocated_stored = None if total_allocated is None else (
        float((pairs["tonnes"] * pairs["absorber_stored_share"]).sum()) if len(pairs) else 0.0)
    unknown_side = unknown_side and not nothing_to_move
    absorbable = None if stored_existing is None or allocated_stored is None else stored_existing + allocated_stored
    summary = _frame([{
        "emitted_t": emitted, "stored_existing_t": stored_existing, "utilised_existing_t": utilised_existing,
        "offered_t": offered, "demand_open_t": demand_open, "allocated_t": total_allocated,
        "allocated_stored_t": allocated_stored, "allocated_greedy_t": None if unknown_side else float(greedy),
        "absorbable_t": absorbable,
        "absorbable_share": absorbable / emitted if absorbable is not None and emitted else None,
        "unabsorbed_t": None if emitted is None or absorbable is None else clean_zero(emitted - absorbable, emitted),
        "max_km": max_km, "emitted_status": emitted_status,
        "emitted_coverage": f"{parks_known} of {len(view)} parks with every firm's park-view figures known",
    }], _SUMMARY_COLUMNS)
    pairs = pairs.drop(columns="absorber_stored_share")
    return Allocation(pairs.sort_values("tonnes", ascending=False, kind="stable").reset_index(drop=True), summary, notes)


#: above this many candidate pairs the allocation is solved as a linear programme (HiGHS) instead of
#: networkx's network simplex, which is pure Python; both give a max-flow, min-cost allocation


def _open_side(side: pd.DataFrame, balance: pd.DataFrame, existing_column: str, notes: list[str],
               why_left_out: str) -> tuple[pd.DataFrame, int]:
    """Offers (or demands) less what existing CO2 flows already move (``existing_column`` of the balance),
    and how many firms were left out (with a note): those whose existing flows have no quantity, whose open
    amount is unknown."""
    existing = dict(zip(balance["id"].tolist(), balance[existing_column].tolist()))
    unknown = [firm for firm in side["id"] if firm in existing and existing[firm] is None]
    if unknown:
        notes.append(f"{len(unknown)} {why_left_out}")
        side = side[~side["id"].isin(unknown)].reset_index(drop=True)
    side["tonnes"] = [max(0.0, tonnes - (existing.get(firm) or 0.0)) for firm, tonnes in zip(side["id"], side["tonnes"])]
    return side, len(unknown)


def _known_total(values: pd.Series) -> float | None:
    known = [value for value in values.tolist() if value is not None]
    return float(sum(known)) if known else None


_SUMMARY_COLUMNS = ["emitted_t", "stored_existing_t", "utilised_existing_t", "offered_t", "demand_open_t",
                    "allocated_t", "allocated_stored_t", "allocated_greedy_t", "absorbable_t", "absorbable_share",
                    "unabsorbed_t", "max_km", "emitted_status", "emitted_coverage"]


def _min_cost_flow(supply: np.ndarray, demand: np.ndarray, candidates: list[tuple[int, int, float]]) -> list:
    """Max tonnes at min tonne-km; integer tonnes and 0.1 km costs, as networkx's simplex wants integers."""
    if len(candidates) > NETWORKX_LIMIT:
        return _lp_flow(supply, demand, candidates)
    flow: nx.DiGraph = nx.DiGraph()
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
    if not most.success:  # always feasible (nothing moved): a failure is the solver's
        raise SolverError(f"the CO2 allocation could not be solved (HiGHS: {most.message})")
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
