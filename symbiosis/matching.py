"""Synergy matchmaking: who could exchange with whom, what it is worth, and a plan that promises no
tonne twice.

**What is still open.** An offer's quantity is everything the firm has to give in the year,
including what its existing flows already give; a demand's quantity is everything the firm needs,
including what existing flows already bring. Matching proposes only what is still open:

- open offer = offer quantity - the ``existing`` flows of the same resource from that firm to
  exchange partners (firms of any park, or nodes of role ``external``). Flows across the boundary
  (landfill, air, export) and to nodes of role ``utility`` or ``environment`` are what is still
  thrown away: they stay on offer.
- open demand = demand quantity - every ``existing`` flow of the same resource into that firm, from
  any source (boundary imports included).

Both are clamped at 0 (below 1e-9 of the quantity counts as 0: unit-conversion noise). Flows count
for an offer (demand) of the same year, or when either has no year; an offer without a year is set
against the flows of the latest year the firm states for that resource. Several offers (demands) of
one firm, resource and year share its existing flows, deducted in the order of their ids (known
quantities first), so no flow is deducted twice. An existing flow without a quantity makes the open
quantity unknown (None), unless the known flows already use the whole quantity (then 0). An offer or
demand with nothing open gives no candidate (``attrs["note"]`` says how many). ``offered_quantity``
and ``demanded_quantity`` are the open quantities; ``offer_existing`` and ``demand_existing`` what
was deducted (None when unknown). Planned and potential flows are not deducted: they are not
exchanged yet (a planned one does set the candidate's ``exists``).

1. **Candidates**: every open offer x open demand pair of the same resource, or of a substitute from
   the shipped, cited substitution table (with its replacement ratio), between different firms within
   a radius, found through a KD-tree, never all pairs. Heat, water and CO2 go by pipe and must also lie
   within its reach (``datasets/factors/factors.csv``): ``pipe_max_km_energy`` (10 km) for the heat
   carriers steam, district_heat and waste_heat, ``pipe_max_km_water`` (15 km) for water,
   ``pipe_max_km_co2`` (20 km) for CO2.
2. **Figures** per candidate (demanded resource's canonical unit unless said otherwise):
   ``quantity`` = min(offer x ratio, demand); ``offered_used`` = quantity / ratio (offered unit);
   ``distance_km`` (great-circle); for mass and CO2: ``tkm`` = offered tonnes x km, ``transport_tco2e``
   and ``transport_cost_cny`` (road freight); heat and water go by pipe and carry no freight term.
   ``co2_avoided_t`` = offered_used x the offered resource's ``co2_factor`` + avoided disposal
   (offered waste tonnes x landfill factor; the inert-landfill factor for mineral residues) - transport.
   CO2 itself is credited by its permanence at the taker (:mod:`symbiosis.co2uses`): the taking firm's
   ``stored_share`` by its sector (1 t per t for mineralisation, e.g. NACE 23.69; 0 for urea, methanol
   and other fuels, drinks and food, greenhouses, algae, gas handling, and for a sector the CO2-use
   table does not know), since utilised CO2 is back in the air within months. ``co2_fate`` says which
   (stored, utilised, vented; None for other resources).
   ``value_cny`` = quantity x the virgin price of the demanded resource + offered_used x the disposal
   cost of the offered one - transport cost (shipped, cited ``prices.csv``, or the user's).
3. **Score**: named criteria (co2_avoided, value, distance, quantity_match) normalised to 0..1 over the
   candidates (min-max; distance reversed) and combined with weights a user sets (weighted sum), or
   ranked by TOPSIS (closeness to the ideal candidate). The normalised criteria are kept per candidate,
   so a user sees why one ranks above another.
4. **Plan**: a linear programme (scipy HiGHS) chooses for every candidate the share of its quantity to
   exchange, maximising the summed score x share, so that no offer gives and no demand takes more than
   it has open. Beside it, the greedy rule (best score first, each taking all it can) for comparison.
   :attr:`Matches.plan` numbers the planned exchanges 1..n (``plan_row``) in rank order and keeps each
   one's rank among all candidates (``candidate_rank``).

**Unknown quantities.** An offer or a demand without a quantity is still matched: the pair is two firms
who should talk. Its ``quantity``, ``offered_used``, ``quantity_match``, ``co2_avoided_t``,
``value_cny`` and, for mass and CO2, ``tkm`` and the transport figures are unknown (None, never 0;
``quantity_known`` is False). In the ranking each unknown criterion counts as neutral, 0.5 (halfway
between the worst and the best known candidate), so such a pair ranks by what is known (its distance)
and is neither pushed to the top nor to the bottom for what is not; its ``n_<criterion>`` is None and
``unknown_criteria`` names them. The plan cannot promise unknown tonnes: it is made of the candidates
with a known quantity, and its totals say how many candidates that is (``with_quantity``,
``coverage``). Why a list is empty or partial (no offers or demands, firms without coordinates, unknown
quantities, offers and demands already met by existing flows) is said in ``attrs["note"]`` of
:func:`find_candidates`' frame and in ``Matches.notes``.

**Loader and pure functions.** :func:`load_matching_inputs` reads from the store what matchmaking needs
(:class:`MatchingInputs`: a park's offers and demands within the radius, their flows, the CO2 factors);
:func:`find_candidates_of` and :func:`match_of` compute from those inputs alone (no store, no files: the
factors, substitutes, prices and CO2 uses are passed in). :func:`find_candidates` and :func:`match` are
the two in one call.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.sparse
import sqlite_utils

from .co2uses import UNCLASSIFIED, co2_use
from .coverage import NOISE, none_for_nan, with_note
from .errors import InputError, SolverError, UnknownIdError
from .factors import factors_or_shipped, number_column, read_table, shipped_or_own
from .geo import nearest_within
from .settings import MAX_OFFERS_PER_DEMAND
from .units import CURRENCY, HEAT
from .store import co2_factors as stored_co2_factors, park_countries, park_exists

__all__ = [
    "CRITERIA",
    "DEFAULT_WEIGHTS",
    "Matches",
    "load_weights",
    "load_substitutes",
    "load_prices",
    "find_candidates",
    "MatchingInputs",
    "load_matching_inputs",
    "find_candidates_of",
    "match_of",
    "score_candidates",
    "plan_exchanges",
    "greedy_plan",
    "match",
    "save_plan",
    "plan_flows",
    "neighbour_firms",
    "anonymise",
]

log = logging.getLogger(__name__)

#: criterion -> True when more is better
CRITERIA = {"co2_avoided": True, "value": True, "distance": False, "quantity_match": True}
DEFAULT_WEIGHTS = {"co2_avoided": 0.4, "value": 0.3, "distance": 0.15, "quantity_match": 0.15}
#: None as an array, for np.where (an object array with None where it picks it)
_NONE = np.array(None, dtype=object)
_CRITERION_COLUMN = {"co2_avoided": "co2_avoided_t", "value": "value_cny", "distance": "distance_km",
                     "quantity_match": "quantity_match"}
#: mineral residues: landfilling them emits little (inert-landfill factor), unlike organic wastes
INERT_WASTES = frozenset({
    "fly_ash", "bottom_ash", "fgd_gypsum", "blast_furnace_slag", "steel_slag", "phosphogypsum", "carbide_slag",
    "red_mud", "construction_waste", "glass_cullet", "foundry_sand", "mill_scale", "catalyst_waste",
    "plasterboard_waste",
})


# --------------------------------------------------------------------------------------------------
# inputs


def load_weights(path: str | os.PathLike | None = None) -> tuple[dict[str, float], str]:
    """Criterion weights and method from a TOML or JSON file.

    The file holds ``method = "weighted_sum"`` or ``"topsis"`` (optional) and a ``[weights]`` table (or a
    flat table) of criterion = weight, for criteria among :data:`CRITERIA`. Weights are finite,
    non-negative numbers (not true/false, nan or inf), scaled to sum to 1; criteria left out weigh 0.

    Examples
    --------
    A file ``weights.toml``::

        method = "topsis"
        [weights]
        co2_avoided = 2
        value = 1
    """
    if path is None:
        return dict(DEFAULT_WEIGHTS), "weighted_sum"
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read weights ({exc})") from None
    except (RecursionError, MemoryError):  # tables or arrays nested thousands deep
        raise InputError(f"{path}: cannot read weights (nested too deeply); expected method and a flat "
                         "table of weights") from None
    method = data.pop("method", "weighted_sum") if isinstance(data, dict) else None
    weights = data.get("weights", data) if isinstance(data, dict) else None
    if method not in ("weighted_sum", "topsis") or not isinstance(weights, dict) or not weights:
        raise InputError(f"{path}: expected method = weighted_sum|topsis and a table of weights for "
                         f"{', '.join(CRITERIA)}")
    unknown = [name for name in weights if name not in CRITERIA]
    if unknown:
        raise InputError(f"{path}: unknown criterion {', '.join(map(repr, unknown))}; expected {', '.join(CRITERIA)}")
    try:
        if any(isinstance(weight, bool) for weight in weights.values()):
            raise TypeError("a boolean is not a weight")
        values = {name: float(weight) for name, weight in weights.items()}
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{path}: every weight must be a number") from None
    strange = [f"{name} = {value}" for name, value in values.items() if not math.isfinite(value)]
    if strange:  # nan would rank every candidate nan; inf leaves the other weights 0/inf
        raise InputError(f"{path}: weights must be finite numbers, not {', '.join(strange)}")
    total = sum(values.values())
    if any(value < 0 for value in values.values()) or total <= 0 or not math.isfinite(total):
        raise InputError(f"{path}: weights must be non-negative, not all zero, and add up to a finite number")
    return {name: values.get(name, 0.0) / total for name in CRITERIA}, method


def load_substitutes(override: str | os.PathLike | None = None) -> pd.DataFrame:
    """``offered, demanded, ratio`` (units of demanded replaced per unit of offered), shipped or the user's."""
    path = shipped_or_own("factors", "substitutes.csv", override)
    frame = read_table(path, ("offered", "demanded", "ratio"))
    frame["ratio"] = number_column(frame, "ratio", path)
    return frame[frame["ratio"] > 0]


def load_prices(override: str | os.PathLike | None = None) -> pd.DataFrame:
    """``resource_code -> virgin_price_cny, disposal_cost_cny`` per canonical unit, shipped or the user's."""
    path = shipped_or_own("factors", "prices.csv", override)
    frame = read_table(path, ("resource_code", "virgin_price_cny", "disposal_cost_cny"))
    for column in ("virgin_price_cny", "disposal_cost_cny"):
        frame[column] = number_column(frame, column, path)
    return frame.set_index("resource_code")[["virgin_price_cny", "disposal_cost_cny"]]


#: an offer or demand takes part when its quantity is positive or unknown (a known 0 has nothing to give)
_OFFERED = "(t.quantity > 0 OR t.quantity IS NULL)"


def _read_side(db: sqlite_utils.Database, table: str, box: tuple[float, float, float, float] | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Offers or demands with their firm's place, sector and country; only firms inside ``box`` (lat/lon
    min/max) if given; and the flows that count against them (:func:`_flows_of`), as
    :class:`MatchingInputs` holds them.

    ``lat``, ``lon``, ``quantity`` (stated) and ``year`` are floats, NaN where unknown (for the
    arithmetic; results hold None); each flow's ``row`` is the position of its offer (demand)."""
    where, params = "", []
    if box is not None:
        where, params = " AND e.lat BETWEEN ? AND ? AND e.lon BETWEEN ? AND ?", list(box)
    frame = pd.DataFrame(db.execute(
        f"SELECT t.rowid, t.id, t.enterprise_id, e.name, e.park_id, e.lat, e.lon, t.resource_code, t.kind, "
        f"t.quantity, t.unit, t.year, e.sector_code FROM {table} t JOIN enterprises e ON e.id = t.enterprise_id "
        f"WHERE {_OFFERED}{where} ORDER BY t.id",
        params).fetchall(),
        columns=["rowid", "id", "firm", "name", "park_id", "lat", "lon", "resource", "kind", "quantity", "unit",
                 "year", "sector"])
    for column in ("lat", "lon", "quantity", "year"):  # a column of None only would stay object
        frame[column] = frame[column].astype(float)
    # the park's country tells how to read its firms' sector codes (few parks: a lookup, not a join per row)
    frame["country"] = frame["park_id"].map(park_countries(db))
    flows = _flows_of(db, table, where, params)
    flows["row"] = pd.Index(frame["rowid"]).get_indexer(flows["rowid"])
    flows = flows[flows["row"].to_numpy() >= 0].drop(columns="rowid")
    return frame.drop(columns="rowid"), flows


def _open_side(frame: pd.DataFrame, flows: pd.DataFrame, table: str
               ) -> tuple[pd.DataFrame, set[tuple[str, str, str]]]:
    """Offers or demands (``frame``, :func:`_read_side`) with the existing flows deducted (see the module
    docstring), as a new frame: ``quantity`` is the open quantity, ``gross`` the stated one and
    ``existing`` what existing flows already give (bring), floats NaN where unknown. Also returns
    ``(source, target, resource)`` of the existing and planned flows of these firms and resources (what
    sets a candidate's ``exists``)."""
    linked = flows[flows["partner"].notna().to_numpy()]
    at = linked["row"].to_numpy()
    firms, resources = frame["firm"].to_numpy()[at].tolist(), frame["resource"].to_numpy()[at].tolist()
    partners = linked["partner"].tolist()
    links = set(zip(firms, partners, resources) if table == "offers" else zip(partners, firms, resources))
    return _open_quantities(frame.copy(), flows[flows["deducted"].to_numpy()]), links


def _flows_of(db: sqlite_utils.Database, table: str, where: str, params: list) -> pd.DataFrame:
    """Per offer (demand) read with ``where``, the existing and planned flows of its resource from its firm
    (into its firm): ``rowid`` (the offer's), ``partner`` (the other end, None at the boundary), ``year,
    quantity`` (NaN where unknown) and ``deducted`` (an existing flow that counts against it: for an offer,
    to an exchange partner, not to the boundary, a utility or the environment; for a demand, every one).

    One query: each offer's flows looked up through the flows index on (source or target, resource), so a
    park reads only its neighbourhood's flows and a national run only its offers' own, never the whole
    flows table."""
    if table == "offers":  # to exchange partners only: what goes to the boundary is still thrown away
        end, other, deducted = "source_id", "target_id", (
            "f.status = 'existing' AND f.target_id IS NOT NULL AND f.target_id NOT IN "
            "(SELECT id FROM enterprises WHERE role IN ('utility', 'environment'))")
    else:  # from any source, the boundary included
        end, other, deducted = "target_id", "source_id", "f.status = 'existing'"
    firms = " JOIN enterprises e ON e.id = t.enterprise_id" if where else ""  # the box is on the firms
    # CROSS JOIN keeps the offers outside, so that SQLite looks flows up by index rather than scanning them
    rows = db.execute(
        f"SELECT t.rowid, f.{other}, f.year, f.quantity, {deducted} FROM {table} t{firms} "
        f"CROSS JOIN flows f ON f.{end} = t.enterprise_id AND f.resource_code = t.resource_code "
        f"WHERE {_OFFERED}{where} AND f.status IN ('existing', 'planned')", params).fetchall()
    flows = pd.DataFrame(rows, columns=["rowid", "partner", "year", "quantity", "deducted"])
    for column in ("year", "quantity"):  # a column of None only would stay object
        flows[column] = flows[column].astype(float)
    flows["deducted"] = flows["deducted"].astype(bool)
    return flows


def _open_quantities(frame: pd.DataFrame, flows: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (offers or demands) with ``gross`` (stated), ``existing`` (deducted) and ``quantity`` (open);
    ``flows`` are the existing flows that count against them, ``row`` the position of their offer."""
    gross = frame["quantity"].to_numpy(dtype=float)
    year = frame["year"].to_numpy(dtype=float)
    known = np.zeros(len(frame))
    unknown = np.zeros(len(frame), dtype=np.int64)
    if len(flows):
        row = flows["row"].to_numpy()
        pairs = pd.DataFrame({"row": row, "year": year[row], "flow_year": flows["year"].to_numpy(),
                              "quantity": flows["quantity"].to_numpy()})
        no_year = pairs["year"].isna().to_numpy()
        if no_year.any():  # an offer without a year stands against the latest year of its firm's flows
            latest = pairs["flow_year"].groupby(pairs["row"]).transform("max").to_numpy()
            pairs.loc[no_year, "year"] = latest[no_year]
            stated = pairs.drop_duplicates("row")
            year = year.copy()
            year[stated["row"].to_numpy()] = stated["year"].to_numpy()
        # a flow of another year is another year's exchange; a flow or an offer without a year counts
        flow_year, own_year = pairs["flow_year"], pairs["year"]
        pairs = pairs[(flow_year.isna() | own_year.isna() | (flow_year == own_year)).to_numpy()]
        sums = pairs.assign(no_quantity=pairs["quantity"].isna()).groupby("row")[["quantity", "no_quantity"]].sum()
        known[sums.index.to_numpy()] = sums["quantity"].to_numpy()
        unknown[sums.index.to_numpy()] = sums["no_quantity"].to_numpy()
    before = _taken_before(frame, year, gross)
    left = known - before  # what the known flows leave to this offer; NaN when unknown
    with np.errstate(invalid="ignore"):
        deducted = np.clip(left, 0.0, None)
        deducted = np.where(np.isnan(gross), deducted, np.minimum(deducted, gross))
        open_quantity = gross - deducted
        open_quantity[open_quantity <= NOISE * gross] = 0.0  # unit-conversion noise is nothing left
    # a flow without a quantity leaves the open quantity unknown, unless the known ones already used it all
    uncertain = unknown > 0
    frame["gross"] = gross
    frame["quantity"] = np.where(uncertain & (open_quantity != 0), np.nan, open_quantity)
    frame["existing"] = np.where(uncertain, np.nan, deducted)
    return frame


def _taken_before(frame: pd.DataFrame, year: np.ndarray, gross: np.ndarray) -> np.ndarray:
    """Per offer (demand), how much of its firm's existing flows of the same resource and year the offers
    before it take: offers of one firm, resource and year share those flows, in id order with known
    quantities first. 0 for an offer alone (nearly all); NaN after one of unknown size (it may take any)."""
    before = np.zeros(len(frame))
    shared = frame.duplicated(["firm", "resource"], keep=False).to_numpy()  # cheap, and nearly always none
    if not shared.any():
        return before
    rows = np.flatnonzero(shared)
    group = pd.DataFrame({"firm": frame["firm"].to_numpy()[rows], "resource": frame["resource"].to_numpy()[rows],
                          "year": year[rows], "no_quantity": np.isnan(gross[rows]).astype(np.int64),
                          "id": frame["id"].to_numpy()[rows], "gross": np.nan_to_num(gross[rows]), "row": rows})
    group = group.sort_values(["firm", "resource", "year", "no_quantity", "id"], kind="stable")
    grouped = group.groupby(["firm", "resource", "year"], sort=False, dropna=False)
    taken = (grouped["gross"].cumsum() - group["gross"]).to_numpy()
    unknown_before = (grouped["no_quantity"].cumsum() - group["no_quantity"]).to_numpy()
    before[group["row"].to_numpy()] = np.where(unknown_before > 0, np.nan, taken)
    return before


def _side_counts(db: sqlite_utils.Database, table: str, park: str | None) -> tuple[int, int, int]:
    """Offers (or demands) of the park (or the store): how many, how many of located firms, how many
    without a quantity."""
    where, params = (" AND e.park_id = ?", [park]) if park is not None else ("", [])
    total, located, unknown = db.execute(
        f"SELECT count(*), coalesce(sum(e.lat IS NOT NULL AND e.lon IS NOT NULL), 0), "
        f"coalesce(sum(t.quantity IS NULL), 0) FROM {table} t JOIN enterprises e ON e.id = t.enterprise_id "
        f"WHERE {_OFFERED}{where}", params).fetchone()
    return int(total), int(located), int(unknown)


def _numbers_of(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats, NaN where unknown (None)."""
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _park_box(db: sqlite_utils.Database, park: str, radius_km: float) -> tuple[float, float, float, float] | None:
    """Lat/lon box holding every point within ``radius_km`` of the park's firms (None: no usable box)."""
    lat_min, lat_max, lon_min, lon_max = db.execute(
        "SELECT min(lat), max(lat), min(lon), max(lon) FROM enterprises WHERE park_id = ? AND lat IS NOT NULL "
        "AND lon IS NOT NULL", (park,)).fetchone()
    if lat_min is None:
        return None
    margin_lat = radius_km / 111.0  # a degree of latitude is at least 110.5 km
    lat_min, lat_max = lat_min - margin_lat, lat_max + margin_lat
    widest = max(abs(lat_min), abs(lat_max))
    if widest >= 85:  # near a pole a box in longitude stops being a bound
        return None
    margin_lon = margin_lat / np.cos(np.radians(widest))
    if lon_min - margin_lon < -180 or lon_max + margin_lon > 180:
        return None
    return lat_min, lat_max, lon_min - margin_lon, lon_max + margin_lon


def neighbour_firms(db: sqlite_utils.Database, park: str, radius_km: float) -> list[str]:
    """The firms whose offers or demands :func:`load_matching_inputs` reads for a park: those with an offer or
    a demand inside the park's box of ``radius_km`` (every such firm when the park has no usable box). What a
    copy of the park's rows must hold for its matchmaking (:func:`symbiosis.scenarios.park_copy`)."""
    box = _park_box(db, park, radius_km)
    where, params = (" AND e.lat BETWEEN ? AND ? AND e.lon BETWEEN ? AND ?", list(box)) if box is not None else ("", [])
    return [row[0] for row in db.execute(
        "SELECT e.id FROM enterprises e WHERE (e.id IN (SELECT enterprise_id FROM offers) OR e.id IN "
        f"(SELECT enterprise_id FROM demands)){where} ORDER BY e.id", params)]


def _check_radius(radius_km: float) -> None:
    if not radius_km > 0 or not math.isfinite(radius_km):
        raise InputError(f"radius_km must be a positive finite number, not {radius_km}")


def _nothing_located(park: str | None, counts: dict[str, tuple[int, int, int]]) -> bool:
    """A park none of whose offers and demands is of a located firm: a candidate needs a located side in
    the park, so there is nothing to read or match."""
    return park is not None and not counts["offers"][1] and not counts["demands"][1]


@dataclass(frozen=True)
class MatchingInputs:
    """What matchmaking reads from the store, read once by :func:`load_matching_inputs`.

    :func:`find_candidates_of` and :func:`match_of` compute from these alone: they run after the store
    is closed. The frames are shared, not copied: the pure functions never change them, and neither
    should a caller.

    Attributes
    ----------
    park : str or None
        The park the inputs were read for (None: every park).
    radius_km : float
        The longest exchange distance; a park's offers and demands were read within it of its firms.
    counts : dict
        ``offers`` and ``demands`` of the park (of the store) -> (how many, how many of located firms, how
        many without a quantity), for the notes.
    offers, demands : DataFrame or None
        The offers (demands) with a positive or unknown quantity of the firms within ``radius_km`` of the
        park's (every one for the store), by id: ``id, firm, name, park_id, lat, lon, resource, kind,
        quantity`` (stated), ``unit, year, sector, country``; floats NaN where unknown. None when the park
        has no offer or demand of a located firm (nothing to match, nothing read).
    offer_flows, demand_flows : DataFrame or None
        The existing and planned flows of each offer's resource from its firm (of each demand's into its
        firm): ``partner`` (the other end, None at the boundary), ``year, quantity`` (NaN where unknown),
        ``deducted`` (an existing flow that counts against it) and ``row`` (the position of its offer or
        demand in ``offers`` / ``demands``).
    co2_factors : dict
        Resource code -> t CO2e avoided per unit, for the resources that have a factor.
    """

    park: str | None
    radius_km: float
    counts: dict[str, tuple[int, int, int]]
    offers: pd.DataFrame | None
    demands: pd.DataFrame | None
    offer_flows: pd.DataFrame | None
    demand_flows: pd.DataFrame | None
    co2_factors: dict[str, float]


def load_matching_inputs(db: sqlite_utils.Database, park: str | None = None, *,
                         radius_km: float = 50.0) -> MatchingInputs:
    """Read from the store everything matchmaking needs, once.

    A park's candidates lie within ``radius_km`` of its firms: only the offers and demands there are
    read (a lat/lon box in SQL), and of those only their own flows (through the flows index), so a park
    of a national store reads its neighbourhood and never a whole table.

    Parameters
    ----------
    db : sqlite_utils.Database
        The store.
    park : str, optional
        Pairs with at least one side in this park; default every park.
    radius_km : float
        Longest exchange distance (positive, finite); the pure functions match within it.

    Returns
    -------
    MatchingInputs

    Raises
    ------
    InputError
        A radius that is not a positive finite number.
    UnknownIdError
        No such park.
    """
    _check_radius(radius_km)
    if park is not None and not park_exists(db, park):
        raise UnknownIdError(f"no park {park!r} in the store")
    counts = {table: _side_counts(db, table, park) for table in ("offers", "demands")}
    co2_factors = stored_co2_factors(db)
    if _nothing_located(park, counts):
        return MatchingInputs(park=park, radius_km=radius_km, counts=counts, offers=None, demands=None,
                              offer_flows=None, demand_flows=None, co2_factors=co2_factors)
    box = _park_box(db, park, radius_km) if park is not None else None
    (offers, offer_flows), (demands, demand_flows) = _read_side(db, "offers", box), _read_side(db, "demands", box)
    return MatchingInputs(park=park, radius_km=radius_km, counts=counts, offers=offers, demands=demands,
                          offer_flows=offer_flows, demand_flows=demand_flows, co2_factors=co2_factors)



# --------------------------------------------------------------------------------------------------
# candidates


#: each demand keeps at most this many nearest offers per resource route (bounds national runs)


def find_candidates(db: sqlite_utils.Database, park: str | None = None, *, radius_km: float = 50.0,
                    factors: dict[str, float] | None = None, substitutes: pd.DataFrame | None = None,
                    prices: pd.DataFrame | None = None, max_offers: int = MAX_OFFERS_PER_DEMAND,
                    co2_uses: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every open offer x open demand pair that could exchange, with its quantity, distance, CO2 and value.

    Parameters
    ----------
    park : str, optional
        Keep pairs with at least one side in this park (inside it, or across to a neighbour within the
        radius); default every park.
    radius_km : float
        Longest exchange distance; heat, water and CO2 also within their pipe reach (``factors``).
    max_offers : int
        Each demand keeps its ``max_offers`` nearest offers per resource route (a KD-tree query), so a
        dense region cannot blow the candidate list up; nearer offers are the likelier partners.
    co2_uses : DataFrame, optional
        The CO2-use table (:func:`symbiosis.co2uses.load_co2_uses`) that says how much of the CO2 a firm
        takes is stored for good; default the shipped one.

    Returns
    -------
    DataFrame
        One row per candidate: ``offer_id, offer_firm, offer_name, offer_park, demand_id, demand_firm,
        demand_name, demand_park, offered, demanded, ratio, offered_quantity, demanded_quantity,
        offer_existing, demand_existing, quantity, unit, offered_used, offered_unit, distance_km, tkm,
        transport_tco2e, transport_cost_cny, co2_avoided_t, co2_fate, value_cny, quantity_match, exists,
        quantity_known`` (see the module docstring: ``offered_quantity`` and ``demanded_quantity`` are
        what is still open after existing flows, ``offer_existing`` and ``demand_existing`` what those
        flows already give and bring). Unknown cells are None. ``attrs["note"]`` says, when it applies,
        why the list is empty or partial: no offers or demands in the store, firms without coordinates
        (they cannot be matched: no distance), offers and demands already met by existing flows or left
        unknown by an existing flow without a quantity, candidates with an unknown quantity, CO2 takers
        whose sector has no CO2 use.
    """
    inputs = load_matching_inputs(db, park, radius_km=radius_km)
    frame, notes = _candidates_of(inputs, *_tables_or_shipped(factors, substitutes, prices), max_offers=max_offers,
                                  co2_uses=co2_uses)
    return with_note(frame, notes)


def _tables_or_shipped(factors: dict[str, float] | None, substitutes: pd.DataFrame | None,
                       prices: pd.DataFrame | None) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """The factors, substitutes and prices a db-first function was given, or the shipped ones."""
    return (factors_or_shipped(factors), substitutes if substitutes is not None else load_substitutes(),
            prices if prices is not None else load_prices())


def find_candidates_of(inputs: MatchingInputs, *, factors: dict[str, float], substitutes: pd.DataFrame,
                       prices: pd.DataFrame, co2_uses: pd.DataFrame,
                       max_offers: int = MAX_OFFERS_PER_DEMAND) -> pd.DataFrame:
    """:func:`find_candidates` computed from the inputs :func:`load_matching_inputs` read (no store needed).

    Parameters
    ----------
    inputs : MatchingInputs
        Matched within their ``radius_km``.
    factors : dict
        From :func:`symbiosis.factors.load_factors`: pipe reaches, road freight, landfill factors.
    substitutes : DataFrame
        :func:`load_substitutes`.
    prices : DataFrame
        :func:`load_prices`.
    co2_uses : DataFrame
        :func:`symbiosis.co2uses.load_co2_uses`: how much of the CO2 a firm takes is stored for good.
    max_offers : int
        Each demand keeps its ``max_offers`` nearest offers per resource route.

    Returns
    -------
    DataFrame
        As :func:`find_candidates`.
    """
    frame, notes = _candidates_of(inputs, factors, substitutes, prices, max_offers=max_offers, co2_uses=co2_uses)
    return with_note(frame, notes)


def _candidates_of(inputs: MatchingInputs, factors: dict[str, float], substitutes: pd.DataFrame,
                   prices: pd.DataFrame, max_offers: int = MAX_OFFERS_PER_DEMAND,
                   co2_uses: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """:func:`find_candidates_of` and the sentences of its note (``co2_uses`` None: the shipped table,
    as :func:`symbiosis.co2uses.co2_use` reads it once, for the db-first functions)."""
    park, radius_km, counts = inputs.park, inputs.radius_km, inputs.counts
    columns = ["offer_id", "offer_firm", "offer_name", "offer_park", "demand_id", "demand_firm", "demand_name",
               "demand_park", "offered", "demanded", "ratio", "offered_quantity", "demanded_quantity",
               "offer_existing", "demand_existing", "quantity", "unit", "offered_used", "offered_unit", "distance_km",
               "tkm", "transport_tco2e", "transport_cost_cny", "co2_avoided_t", "co2_fate", "value_cny",
               "quantity_match", "exists", "quantity_known"]
    notes = _input_notes(counts, park)
    if (_nothing_located(park, counts) or inputs.offers is None or inputs.demands is None
            or inputs.offer_flows is None or inputs.demand_flows is None):
        return pd.DataFrame(columns=columns), notes
    (offers, offer_links), (demands, demand_links) = (_open_side(inputs.offers, inputs.offer_flows, "offers"),
                                                      _open_side(inputs.demands, inputs.demand_flows, "demands"))
    offers = offers[offers["lat"].notna() & offers["lon"].notna()]
    demands = demands[demands["lat"].notna() & demands["lon"].notna()]
    notes += _existing_notes(offers, demands, park)
    # nothing left to give or to take: no candidate (a known 0, not an unknown quantity)
    offers, demands = offers[offers["quantity"].ne(0)], demands[demands["quantity"].ne(0)]
    # one grouping instead of a mask over every row per route
    offers_of = {code: group for code, group in offers.groupby("resource", sort=False)}
    demands_of = {code: group for code, group in demands.groupby("resource", sort=False)}
    co2_factor = inputs.co2_factors
    routes = pd.concat([
        pd.DataFrame({"offered": sorted(set(offers["resource"])), "demanded": sorted(set(offers["resource"])),
                      "ratio": 1.0}),
        substitutes[["offered", "demanded", "ratio"]],
    ], ignore_index=True).drop_duplicates(["offered", "demanded"])
    reach = {"energy": factors["pipe_max_km_energy"], "water": factors["pipe_max_km_water"],
             "co2": factors["pipe_max_km_co2"]}
    pieces = []
    for route in routes.itertuples(index=False):
        giving, taking = offers_of.get(route.offered), demands_of.get(route.demanded)
        if giving is None or taking is None:
            continue
        currency = CURRENCY[giving["kind"].iloc[0]]
        limit = radius_km
        if currency in ("water", "co2") or (currency == "energy" and route.offered in HEAT):
            limit = min(radius_km, reach[currency])
        if park is not None:
            # pairs with a side in the park: the park's offers to every demand near, every offer near
            # to the park's demands (two bounded queries, merged)
            giving_in = np.flatnonzero(giving["park_id"].eq(park).to_numpy())
            taking_in = np.flatnonzero(taking["park_id"].eq(park).to_numpy())
            a_i, a_j, a_d = nearest_within(giving["lat"].iloc[giving_in], giving["lon"].iloc[giving_in],
                                           taking["lat"], taking["lon"], limit, max_offers)
            b_i, b_j, b_d = nearest_within(giving["lat"], giving["lon"], taking["lat"].iloc[taking_in],
                                           taking["lon"].iloc[taking_in], limit, max_offers)
            merged = pd.DataFrame({"i": np.concatenate([giving_in[a_i], b_i]),
                                   "j": np.concatenate([a_j, taking_in[b_j]]),
                                   "d": np.concatenate([a_d, b_d])}).drop_duplicates(["i", "j"])
            i, j, distance = merged["i"].to_numpy(), merged["j"].to_numpy(), merged["d"].to_numpy()
        else:
            i, j, distance = nearest_within(giving["lat"], giving["lon"], taking["lat"], taking["lon"], limit, max_offers)
        if not len(i):
            continue
        offer_rows, demand_rows = giving.iloc[i].reset_index(drop=True), taking.iloc[j].reset_index(drop=True)
        piece = pd.DataFrame({
            "offer_id": offer_rows["id"], "offer_firm": offer_rows["firm"], "offer_name": offer_rows["name"],
            "offer_park": offer_rows["park_id"], "demand_id": demand_rows["id"], "demand_firm": demand_rows["firm"],
            "demand_name": demand_rows["name"], "demand_park": demand_rows["park_id"],
            "offered": route.offered, "demanded": route.demanded, "ratio": route.ratio,
            "offered_quantity": offer_rows["quantity"], "demanded_quantity": demand_rows["quantity"],
            "offer_existing": offer_rows["existing"], "demand_existing": demand_rows["existing"],
            "demand_sector": demand_rows["sector"], "demand_country": demand_rows["country"],
            "unit": demand_rows["unit"], "offered_unit": offer_rows["unit"], "offered_kind": offer_rows["kind"],
            "distance_km": distance, "currency": currency,
        })
        pieces.append(piece[piece["offer_firm"] != piece["demand_firm"]])
    if not pieces:
        if counts["offers"][1] and counts["demands"][1]:
            notes.append(f"no offer meets a demand of the same resource or a substitute within {radius_km:g} km"
                         f"{_in_park(park)}")
        return pd.DataFrame(columns=columns), notes
    frame = pd.concat(pieces, ignore_index=True)
    # NaN (unknown) quantities stay NaN through every figure below: min, ratios, products
    supply = frame["offered_quantity"] * frame["ratio"]
    frame["quantity_known"] = (frame["offered_quantity"].notna() & frame["demanded_quantity"].notna()).to_numpy()
    frame["quantity"] = np.minimum(supply, frame["demanded_quantity"])
    frame["offered_used"] = frame["quantity"] / frame["ratio"]
    frame["quantity_match"] = frame["quantity"] / np.maximum(supply, frame["demanded_quantity"])
    moved = frame["currency"].isin(["mass", "co2"])
    frame["tkm"] = np.where(moved, frame["offered_used"] * frame["distance_km"], 0.0)
    freight = np.where(frame["currency"] == "co2", factors["co2_truck_tco2e_per_tkm"], factors["road_freight_tco2e_per_tkm"])
    frame["transport_tco2e"] = frame["tkm"] * freight
    frame["transport_cost_cny"] = frame["tkm"] * factors["road_freight_cost_cny_per_tkm"]
    waste = frame["offered_kind"] == "waste"
    disposal_factor = np.where(frame["offered"].isin(INERT_WASTES),
                               factors.get("landfill_inert_tco2e_per_t", 0.0), factors["landfill_tco2e_per_t"])
    # CO2 leaves the air only for as long as its taker keeps it: its stored share (0 when utilised)
    stored_share, frame["co2_fate"], unclassified = _co2_permanence(frame, co2_uses)
    substitution = frame["offered"].map(co2_factor).fillna(0.0)
    substitution = substitution.where(frame["currency"] != "co2", stored_share)
    frame["co2_avoided_t"] = (frame["offered_used"] * substitution
                              + np.where(waste, frame["offered_used"] * disposal_factor, 0.0)
                              - frame["transport_tco2e"])
    virgin = frame["demanded"].map(prices["virgin_price_cny"]).fillna(0.0)
    disposal = frame["offered"].map(prices["disposal_cost_cny"]).fillna(0.0)
    frame["value_cny"] = frame["quantity"] * virgin + frame["offered_used"] * disposal - frame["transport_cost_cny"]
    # an existing or planned flow between the pair, of the offered resource (among the offering firms'
    # flows of it) or of the demanded one (among the demanding firms' flows in)
    existing = offer_links | demand_links
    frame["exists"] = [(o, d, r) in existing or (o, d, s) in existing for o, d, r, s in
                       zip(frame["offer_firm"], frame["demand_firm"], frame["offered"], frame["demanded"])]
    overflowed = _unknown_when_overflowed(frame)
    if overflowed:
        notes.append(f"{overflowed:,} of {len(frame):,} candidates have figures too large to compute (beyond "
                     f"{np.finfo(float).max:.1e}, the largest float): shown unknown, ranked as neutral on them")
    if unclassified:
        notes.append(f"{_count(unclassified, 'CO2 candidate')} {'goes' if unclassified == 1 else 'go'} to firms whose "
                     "sector has no use in the CO2-use table: counted as released, 0 t avoided per t")
    unknown = int((~frame["quantity_known"]).sum())
    if unknown:
        notes.append(f"quantity unknown for {unknown:,} of {len(frame):,} candidates (an offer or a demand without "
                     "one, or an existing flow without one to deduct): pairs of firms who should talk, with "
                     "quantity, CO2 avoided and value unknown")
    return none_for_nan(frame[columns]), notes


def _existing_notes(offers: pd.DataFrame, demands: pd.DataFrame, park: str | None) -> list[str]:
    """Offers and demands (of the park, if given) that existing flows already meet in full, or whose open
    quantity an existing flow without a quantity leaves unknown."""
    met, unknown = {}, {}
    for name, side in (("offers", offers), ("demands", demands)):
        if park is not None:
            side = side[side["park_id"].eq(park).to_numpy()]
        met[name] = int(side["quantity"].eq(0).sum())
        unknown[name] = int((side["quantity"].isna() & side["gross"].notna()).sum())
    notes = []
    done = ([f"{_count(met['demands'], 'demand')} already met in full by existing flows"] if met["demands"] else []) \
        + ([f"{_count(met['offers'], 'offer')} already given in full"] if met["offers"] else [])
    if done:
        notes.append(f"{' and '.join(done)}{_in_park(park)}: not matched")
    open_unknown = [_count(unknown[name], noun) for name, noun in (("offers", "offer"), ("demands", "demand"))
                    if unknown[name]]
    if open_unknown:
        verb = "has" if open_unknown == ["1 offer"] or open_unknown == ["1 demand"] else "have"
        notes.append(f"{' and '.join(open_unknown)}{_in_park(park)} {verb} an existing flow without a quantity: "
                     "what is still open is unknown")
    return notes


def _co2_permanence(frame: pd.DataFrame, uses: pd.DataFrame | None) -> tuple[np.ndarray, list, int]:
    """Per candidate, the share of the CO2 its taker keeps for good (NaN for other resources), the fate of
    that CO2 (None for other resources), and how many CO2 candidates go to a sector with no known use.

    The use is looked up once per (sector, country) of the CO2 takers, not per candidate."""
    share = np.full(len(frame), np.nan)
    fate = np.full(len(frame), None, dtype=object)
    carbon = (frame["currency"] == "co2").to_numpy()
    if not carbon.any():
        return share, fate.tolist(), 0
    takers = frame.loc[carbon, ["demand_sector", "demand_country"]].astype(object)
    takers = takers.where(takers.notna(), None)
    keys = list(zip(takers["demand_sector"], takers["demand_country"]))
    found = {key: co2_use(key[0], country=key[1], uses=uses) for key in set(keys)}
    share[carbon] = [found[key].stored_share for key in keys]
    fate[carbon] = [found[key].fate for key in keys]
    unclassified = sum(found[key].use == UNCLASSIFIED.use for key in keys)
    return share, fate.tolist(), int(unclassified)


#: figures of a candidate computed from its quantities (products and sums that can overflow)
_FIGURES = ("quantity", "offered_used", "quantity_match", "tkm", "transport_tco2e", "transport_cost_cny",
            "co2_avoided_t", "value_cny")


def _unknown_when_overflowed(frame: pd.DataFrame) -> int:
    """Figures that overflowed (quantities near the largest float times a distance or a price) are set
    unknown (NaN), never inf; returns how many candidates had one."""
    figures = frame[list(_FIGURES)].to_numpy(dtype=float)
    overflowed = np.isinf(figures) | (np.isnan(figures) & frame["quantity_known"].to_numpy()[:, None])
    if not overflowed.any():
        return 0
    for index, column in enumerate(_FIGURES):
        frame.loc[overflowed[:, index], column] = np.nan
    return int(overflowed.any(axis=1).sum())


def _in_park(park: str | None) -> str:
    return f" for park {park}" if park is not None else ""


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _input_notes(counts: dict[str, tuple[int, int, int]], park: str | None) -> list[str]:
    """What the candidates can stand on: offers and demands in the store, of firms with coordinates."""
    (offers, offers_located, _), (demands, demands_located, _) = counts["offers"], counts["demands"]
    where = _in_park(park)
    if not offers and not demands:
        return [f"no offers or demands in the store{where}: load offers.csv/demands.csv to find synergies"]
    if not demands:
        return [f"no demands in the store{where} (only {_count(offers, 'offer')}): load demands.csv to find takers"]
    if not offers:
        return [f"no offers in the store{where} (only {_count(demands, 'demand')}): load offers.csv to find "
                "suppliers"]
    if not offers_located and not demands_located:
        return [f"unknown: none of the firms with offers or demands{where} has coordinates, so no pair can be "
                "matched (distance unknown)"]
    blind = [f"{total - located:,} of {_count(total, noun)}" for total, located, noun in
             ((offers, offers_located, "offer"), (demands, demands_located, "demand")) if located < total]
    if blind:
        return [f"{' and '.join(blind)}{where} are of firms without coordinates and cannot be matched "
                "(distance unknown)"]
    return []


# --------------------------------------------------------------------------------------------------
# scoring and planning


def score_candidates(candidates: pd.DataFrame, weights: dict[str, float] | None = None,
                     method: str = "weighted_sum") -> pd.DataFrame:
    """Rank candidates by named criteria.

    Each criterion of :data:`CRITERIA` is min-max normalised over the candidates where it is known to
    ``n_<criterion>`` in 0..1 (distance reversed: the nearest is 1). ``weighted_sum``:
    ``score = sum_k w_k n_k``. ``topsis``: the weighted normalised criteria are compared with the best
    and worst value of each, ``score = d_worst / (d_best + d_worst)`` (Hwang & Yoon 1981). Ties keep the
    candidates' order.

    A criterion unknown for a candidate (its quantity is unknown, so are its CO2 avoided, value and
    quantity match) counts as neutral, 0.5, in its score: halfway between the worst and the best known
    candidate, so the pair ranks by what is known (its distance) and is neither put first nor last for
    what is not. Its ``n_<criterion>`` is None (not a number it was given) and ``unknown_criteria``
    names the criteria that counted as neutral.

    Returns
    -------
    DataFrame
        The candidates with ``n_co2_avoided, n_value, n_distance, n_quantity_match, score, rank,
        unknown_criteria`` (None when every criterion is known), best first. Unknown cells are None.
    """
    weights = weights or DEFAULT_WEIGHTS
    if method not in ("weighted_sum", "topsis"):
        raise InputError(f"method must be weighted_sum or topsis, not {method!r}")
    frame = candidates.copy()
    if frame.empty:
        for criterion in CRITERIA:
            frame[f"n_{criterion}"] = []
        frame["score"], frame["rank"], frame["unknown_criteria"] = [], [], []
        return frame
    normalised, unknown = {}, {}
    for criterion, more_is_better in CRITERIA.items():
        values = pd.Series(_numbers_of(frame, _CRITERION_COLUMN[criterion]), index=frame.index)
        values = values.where(np.isfinite(values))  # an overflowed figure is unknown, never a rank
        largest = values.abs().max()
        if largest > 0:  # scaled to [-1, 1] first: max - min of figures near 1e308 would overflow
            values = values / largest
        spread = values.max() - values.min()  # over the known values (NaN skipped)
        scaled = (values - values.min()) / spread if spread > 0 else pd.Series(1.0, index=values.index)
        scaled = scaled if more_is_better else 1.0 - scaled
        unknown[criterion] = values.isna().to_numpy()
        frame[f"n_{criterion}"] = scaled.where(~unknown[criterion])
        normalised[criterion] = scaled.where(~unknown[criterion], 0.5)  # neutral where unknown
    if method == "weighted_sum":
        frame["score"] = sum(weights.get(criterion, 0.0) * normalised[criterion] for criterion in CRITERIA)
    else:
        weighted = np.column_stack([weights.get(criterion, 0.0) * normalised[criterion] for criterion in CRITERIA])
        best, worst = weighted.max(axis=0), weighted.min(axis=0)
        to_best = np.sqrt(((weighted - best) ** 2).sum(axis=1))
        to_worst = np.sqrt(((weighted - worst) ** 2).sum(axis=1))
        total = to_best + to_worst
        frame["score"] = np.where(total > 0, to_worst / np.where(total > 0, total, 1), 1.0)
    if any(flags.any() for flags in unknown.values()):
        names = np.full(len(frame), "", dtype=object)
        for criterion, flags in unknown.items():
            names = np.where(flags, np.where(names == "", criterion, names + ", " + criterion), names)
        frame["unknown_criteria"] = np.where(names == "", _NONE, names)
    else:
        frame["unknown_criteria"] = None
    frame = frame.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    frame["rank"] = np.arange(1, len(frame) + 1)
    columns = [column for column in frame.columns if column != "unknown_criteria"] + ["unknown_criteria"]
    return none_for_nan(frame[columns])


def _plannable(scored: pd.DataFrame) -> np.ndarray:
    """Rows whose quantities are known: only they can be planned (an unknown tonne cannot be promised)."""
    return np.isfinite(_numbers_of(scored, "quantity")) & np.isfinite(_numbers_of(scored, "offered_quantity")) \
        & np.isfinite(_numbers_of(scored, "demanded_quantity"))


def _share_series(share: np.ndarray, known: np.ndarray, index: pd.Index) -> pd.Series:
    """Shares as a Series: floats when every row was planned, else object with None where not plannable."""
    if known.all():
        return pd.Series(share, index=index, dtype=float)
    return pd.Series(np.where(known, share, _NONE), index=index, dtype=object)


def plan_exchanges(scored: pd.DataFrame) -> pd.Series:
    """Share (0..1) of each candidate's quantity in the global plan.

    A linear programme: maximise ``sum_c score_c x_c`` subject to, for every offer,
    ``sum_c offered_used_c x_c <= offered quantity`` and, for every demand,
    ``sum_c quantity_c x_c <= demanded quantity``, with ``0 <= x_c <= 1``. Solved with scipy's HiGHS.
    Only candidates with a known quantity take part; the others' share is None (not planned: their
    tonnes are unknown and cannot be promised).
    """
    n = len(scored)
    if n == 0:
        return pd.Series([], dtype=float)
    known = _plannable(scored)
    share = np.zeros(n)
    planned = scored[known]
    if len(planned):
        share[known] = _solve_plan(planned)
    return _share_series(share, known, scored.index)


def _solve_plan(scored: pd.DataFrame) -> np.ndarray:
    """The linear programme of :func:`plan_exchanges` over candidates whose quantities are all known.

    Each row (an offer's or a demand's capacity) is divided by its capacity, so every coefficient is the
    share of the capacity a candidate would use (0..1: a candidate never needs more than its offer or
    demand holds) and every bound is 1. The solver then sees the same well-scaled problem whether
    quantities are grams or 1e308 t (unscaled, HiGHS refuses such a model)."""
    n = len(scored)
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    bounds: list[float] = []
    for side, amount, capacity in (("offer_id", "offered_used", "offered_quantity"),
                                   ("demand_id", "quantity", "demanded_quantity")):
        codes, uniques = pd.factorize(scored[side])
        offset = len(bounds)
        limits = _numbers_of(scored, capacity)  # the same for every candidate of one offer (demand)
        used = _numbers_of(scored, amount)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(limits > 0, used / limits, 0.0)
        rows.extend(offset + codes)
        cols.extend(range(n))
        values.extend(np.clip(np.nan_to_num(share, nan=0.0, posinf=1.0), 0.0, None))
        bounds.extend([1.0] * len(uniques))
    matrix = scipy.sparse.csr_matrix((values, (rows, cols)), shape=(len(bounds), n))
    result = scipy.optimize.linprog(-_numbers_of(scored, "score"), A_ub=matrix, b_ub=np.array(bounds),
                                    bounds=(0, 1), method="highs")
    if not result.success:  # the problem is always feasible (x = 0); this guards solver failures
        raise SolverError(f"the matchmaking plan could not be solved (HiGHS: {result.message}); the greedy plan "
                          "beside it still holds")
    share = np.clip(result.x, 0.0, 1.0)
    share[share < 1e-9] = 0.0
    return share


def greedy_plan(scored: pd.DataFrame) -> pd.Series:
    """Best score first, each candidate taking all the offer and demand it still can (for comparison).

    Like the plan, only candidates with a known quantity take part; the others' share is None."""
    if scored.empty:
        return pd.Series([], dtype=float)
    known = _plannable(scored)
    order = scored[known].sort_values("score", ascending=False, kind="stable")
    offer_codes, offer_ids = pd.factorize(order["offer_id"])
    demand_codes, demand_ids = pd.factorize(order["demand_id"])
    offer_left = pd.Series(_numbers_of(order, "offered_quantity")).groupby(offer_codes).first().tolist()
    demand_left = pd.Series(_numbers_of(order, "demanded_quantity")).groupby(demand_codes).first().tolist()
    share = []
    # plain lists: this loop is sequential by nature, and list indexing is what keeps it fast
    for offer, demand, ratio, wanted in zip(offer_codes.tolist(), demand_codes.tolist(),
                                            _numbers_of(order, "ratio").tolist(),
                                            _numbers_of(order, "quantity").tolist()):
        quantity = min(offer_left[offer] * ratio, demand_left[demand], wanted)
        share.append(quantity / wanted if wanted > 0 else 0.0)
        offer_left[offer] -= quantity / ratio
        demand_left[demand] -= quantity
    planned = pd.Series(share, index=order.index, dtype=float).reindex(scored.index).fillna(0.0).to_numpy()
    return _share_series(planned, known, scored.index)


@dataclass
class Matches:
    """Result of :func:`match`: ranked candidates with the plan, and totals.

    ``candidates`` has the plan's ``plan_share`` and ``plan_quantity`` per candidate (0 when left out,
    None when its quantity is unknown and it could not be planned); ``summary`` has, per unit, what the
    plan and the greedy rule exchange, the CO2 avoided and value, and on how many candidates with a
    known quantity the plan stands (``with_quantity``, ``coverage``). ``notes`` says in sentences why the
    lists are empty or partial (no offers or demands, firms without coordinates, offers and demands that
    existing flows already meet, unknown quantities).
    """

    candidates: pd.DataFrame
    summary: pd.DataFrame
    weights: dict[str, float]
    method: str
    notes: list[str] = field(default_factory=list)

    @property
    def plan(self) -> pd.DataFrame:
        """The planned exchanges, best ranked first: ``plan_row`` numbers them 1..n, ``candidate_rank`` is
        each one's rank among all candidates (candidates left out of the plan leave gaps in it); the other
        columns are the candidates'."""
        share = pd.to_numeric(self.candidates["plan_share"], errors="coerce")  # None: not planned
        plan = self.candidates[(share > 0).to_numpy()].sort_values("rank", kind="stable").reset_index(drop=True)
        plan.insert(0, "candidate_rank", plan.pop("rank"))
        plan.insert(0, "plan_row", np.arange(1, len(plan) + 1, dtype=np.int64))
        return plan


_SUMMARY_COLUMNS = ["unit", "candidates", "in_plan", "plan_quantity", "plan_co2_avoided_t", "plan_value_cny",
                    "plan_score", "greedy_quantity", "greedy_score", "with_quantity", "coverage"]


def match(db: sqlite_utils.Database, park: str | None = None, *, radius_km: float = 50.0,
          weights: dict[str, float] | None = None, method: str = "weighted_sum",
          factors: dict[str, float] | None = None, substitutes: pd.DataFrame | None = None,
          prices: pd.DataFrame | None = None, co2_uses: pd.DataFrame | None = None) -> Matches:
    """Candidates, scores and the global plan in one call (see the module docstring).

    The plan and its totals stand on the candidates with a known quantity; a unit whose candidates all
    have an unknown quantity has its totals None (unknown), not 0. ``Matches.notes`` says why.

    Examples
    --------
    >>> from symbiosis.store import open_store
    >>> result = match(open_store(":memory:"))
    >>> len(result.candidates), int(result.summary["candidates"].sum())
    (0, 0)
    >>> result.notes
    ['no offers or demands in the store: load offers.csv/demands.csv to find synergies']
    """
    inputs = load_matching_inputs(db, park, radius_km=radius_km)
    return _match_of(inputs, weights, method, *_tables_or_shipped(factors, substitutes, prices), co2_uses=co2_uses)


def match_of(inputs: MatchingInputs, *, weights: dict[str, float] | None = None, method: str = "weighted_sum",
             factors: dict[str, float], substitutes: pd.DataFrame, prices: pd.DataFrame,
             co2_uses: pd.DataFrame) -> Matches:
    """:func:`match` computed from the inputs :func:`load_matching_inputs` read (no store needed).

    Parameters
    ----------
    inputs : MatchingInputs
        Matched within their ``radius_km``.
    weights, method
        As :func:`score_candidates` (default :data:`DEFAULT_WEIGHTS`, weighted sum).
    factors, substitutes, prices, co2_uses
        As :func:`find_candidates_of`.

    Returns
    -------
    Matches
        As :func:`match`.
    """
    return _match_of(inputs, weights, method, factors, substitutes, prices, co2_uses=co2_uses)


def _match_of(inputs: MatchingInputs, weights: dict[str, float] | None, method: str, factors: dict[str, float],
              substitutes: pd.DataFrame, prices: pd.DataFrame, co2_uses: pd.DataFrame | None) -> Matches:
    """:func:`match_of` (``co2_uses`` None: the shipped table, for :func:`match`)."""
    candidates, notes = _candidates_of(inputs, factors, substitutes, prices, co2_uses=co2_uses)
    # the candidates' own note on unknown quantities is said again, with what it means for the plan, below
    notes = [note for note in notes if not note.startswith("quantity unknown for")]
    weights = weights or dict(DEFAULT_WEIGHTS)
    scored = score_candidates(candidates, weights, method)
    known = _plannable(scored)
    scored["plan_share"] = plan_exchanges(scored)
    share = _numbers_of(scored, "plan_share")
    scored["plan_quantity"] = _share_series(share * _numbers_of(scored, "quantity"), known, scored.index)
    greedy = pd.to_numeric(greedy_plan(scored), errors="coerce").to_numpy(dtype=float)
    rows, overflowing = [], []
    columns = {column: _numbers_of(scored, column) for column in ("quantity", "co2_avoided_t", "value_cny", "score")}
    for unit, group in scored.groupby("unit", sort=True, dropna=False):
        at = scored.index.get_indexer(group.index)
        with_quantity = int(known[at].sum())
        plan, quick = share[at], greedy[at]
        row = {"unit": None if pd.isna(unit) else unit, "candidates": len(group),
               "in_plan": int((np.nan_to_num(plan) > 0).sum()), "with_quantity": with_quantity,
               "coverage": f"{with_quantity:,} of {len(group):,} candidates with a known quantity"}
        if with_quantity:  # sums over the plannable candidates (the others have no share)
            sums = {name: _total(fraction, columns[column][at]) for name, fraction, column in (
                ("plan_quantity", plan, "quantity"), ("plan_co2_avoided_t", plan, "co2_avoided_t"),
                ("plan_value_cny", plan, "value_cny"), ("plan_score", plan, "score"),
                ("greedy_quantity", quick, "quantity"), ("greedy_score", quick, "score"))}
            too_large = sorted(name for name, value in sums.items() if value is _OVERFLOW)
            if too_large:
                overflowing.append(f"{', '.join(too_large)} ({'no unit' if pd.isna(unit) else unit})")
            row.update({name: None if value is _OVERFLOW else value for name, value in sums.items()})
        rows.append(row)
    summary = pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)
    if summary.empty:
        summary = pd.DataFrame([{"unit": None, "candidates": 0, "in_plan": 0, "with_quantity": 0,
                                 "coverage": "no candidates"}], columns=_SUMMARY_COLUMNS)
    if overflowing:
        notes.append(f"plan totals too large to add up (beyond {np.finfo(float).max:.1e}, the largest float): "
                     f"{'; '.join(overflowing)}: shown unknown")
    unknown = int((~known).sum())
    if unknown == len(scored) and unknown:
        notes.append("no candidate has a known quantity: they are pairs of firms who should talk, ranked by "
                     "distance (the other criteria count as neutral), and the plan is empty")
    elif unknown:
        notes.append(f"{unknown:,} of {len(scored):,} candidates have an unknown quantity: ranked as neutral on CO2 "
                     "avoided, value and quantity match, and left out of the plan (unknown tonnes cannot be "
                     "promised)")
    summary = none_for_nan(summary)
    scored = with_note(scored, notes)
    return Matches(scored, summary, weights, method, notes)


#: marks a sum that overflowed (told apart from an unknown one)
_OVERFLOW = object()


def _total(fraction: np.ndarray, values: np.ndarray):
    """``sum(fraction x values)`` over the planned candidates, or :data:`_OVERFLOW` when it is beyond the
    largest float or a planned candidate's figure overflowed (planned candidates have known quantities,
    so their figures are unknown only when too large; a sum without them would read as complete)."""
    fraction = np.nan_to_num(np.asarray(fraction, dtype=float))
    with np.errstate(over="ignore", invalid="ignore"):
        terms = fraction * values
        if np.isnan(terms[fraction > 0]).any():
            return _OVERFLOW
        total = float(np.nansum(terms))
    return total if math.isfinite(total) else _OVERFLOW


def plan_flows(matches: Matches) -> pd.DataFrame:
    """The plan as flows: one per planned pair, ``match:<offer id>><demand id>``, of the offered resource,
    with the planned quantity in the offered resource's canonical unit and the distance (what
    :func:`save_plan` stores and what the ``plan`` scenario builds, :mod:`symbiosis.scenarios`).

    Returns
    -------
    DataFrame
        ``id, source_id, target_id, resource_code, quantity, unit, status, distance_km, note, offer_id,
        demand_id``; empty when the plan is.
    """
    plan = matches.plan
    if plan.empty:
        return pd.DataFrame(columns=["id", "source_id", "target_id", "resource_code", "quantity", "unit", "status",
                                     "distance_km", "note", "offer_id", "demand_id"])
    return pd.DataFrame({
        "id": "match:" + plan["offer_id"].astype(str) + ">" + plan["demand_id"].astype(str),
        "source_id": plan["offer_firm"], "target_id": plan["demand_firm"], "resource_code": plan["offered"],
        "quantity": (_numbers_of(plan, "plan_quantity") / _numbers_of(plan, "ratio")).round(6),
        "unit": plan["offered_unit"],
        "status": "potential", "distance_km": plan["distance_km"].round(3),
        "note": [f"matchmaking plan: candidate rank {rank}, score {score:.3f}, meets demand for {demanded} "
                 f"({method})" for rank, score, demanded, method in
                 zip(plan["candidate_rank"], plan["score"], plan["demanded"], [matches.method] * len(plan))],
        "offer_id": plan["offer_id"], "demand_id": plan["demand_id"],
    })


def save_plan(db: sqlite_utils.Database, matches: Matches):
    """Store the plan as flows with status ``potential`` (:func:`plan_flows`), through the normal importer
    (one transaction, recorded in the import history), so maps and metrics can show the park as it could be.
    Saving the same plan again changes nothing.

    Returns
    -------
    symbiosis.ingest.ImportReport
    """
    import tempfile

    from .ingest import import_files

    flows = plan_flows(matches)
    if flows.empty:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "matchmaking_plan_flows.csv"
        flows.drop(columns=["offer_id", "demand_id"]).to_csv(path, index=False)
        return import_files(db, [path], table="flows")


# --------------------------------------------------------------------------------------------------
# anonymisation


def anonymise(frame: pd.DataFrame, *, firm_columns=("offer_firm", "demand_firm"),
              name_columns=("offer_name", "demand_name")) -> pd.DataFrame:
    """Replace firm ids and names with stable codes (``F-`` + 8 hex digits of the id's SHA-256).

    The same firm gets the same code in every run and every file, so a facilitator can reveal names
    after an introduction; offer and demand ids (which often contain firm names) are recoded too.
    """
    frame = frame.copy()
    code = lambda firm: "F-" + hashlib.sha256(str(firm).encode("utf-8")).hexdigest()[:8]  # noqa: E731
    for firm_column, name_column in zip(firm_columns, name_columns):
        if firm_column in frame:
            frame[name_column] = frame[firm_column].map(code)
            frame[firm_column] = frame[name_column]
    for column in ("offer_id", "demand_id"):
        if column in frame:
            frame[column] = frame[column].map(lambda value: "X-" + hashlib.sha256(str(value).encode()).hexdigest()[:8])
    return frame
