"""The zero-carbon park scorecard: indicators for the standard's five pillars, against targets.

Every indicator has a value, a unit, the target and the scheme that sets it (from the shipped, cited
``datasets/factors/targets.csv``, or the user's own file), pass/fail, and data coverage: what the
indicator used out of what there is ("1 of 2 water flows with a quantity", "5 of 6 firms" reporting
what it needs, "2 of 21 by-product exchanges with a quantity and a CO2 factor").

Unknown is not zero: an indicator with nothing known has no value (None) and a reason; one whose
coverage is below the minimum (``min_coverage``, default :data:`symbiosis.coverage.MIN_COVERAGE`) keeps
its value (the known part) but its verdict is "insufficient data", never pass or fail, and so is one
whose flows exist but have no quantity. A side that the data do not record at all is not a side of 0:
a share whose "lost" side has no flow in the data (no disposal flow for waste, no intake for water) is
an upper bound, with "insufficient data" as its verdict; a park with no exchange in the data has no
reduction from exchanges (None), not a reduction of 0. The park's firms are its firms only: utilities,
the environment and outside actors (``enterprises.role``) are its boundary.

:func:`load_scorecard_inputs` reads a park's inputs from the store (reusing carbon inputs already read,
:func:`symbiosis.carbon.load_carbon_inputs`) and :func:`scorecard_of` computes the indicators from them
alone, one small function per indicator; :func:`scorecard` does both.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import cast

import networkx as nx
import pandas as pd
import sqlite_utils

from .carbon import (CarbonInputs, carbon_balance_of, exchange_coverage, exchange_credits_of, is_exchange_partner,
                     load_carbon_inputs)
from .energy import MWH_PER_TCE, primary_energy, water_reuse
from .coverage import INSUFFICIENT, MIN_COVERAGE, Coverage, clean_zero
from .errors import InputError, UnknownIdError
from .factors import factors_or_shipped, load_targets
from .graph import is_boundary, load_graph
from .inventory import HEADLINE, firm_terms, load_offsets, park_inventory
from .metrics import flow_model, known_cycling_index
from .schema import NON_FIRM_ROLES
from .store import park_exists

__all__ = ["scorecard", "scorecard_of", "load_scorecard_inputs", "ScorecardInputs", "PILLARS"]

PILLARS = ("industry aggregation", "GHG emission control", "sustainable energy", "ecological recycling",
           "carbon neutrality")
_COMPARE = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_COLUMNS = ["park_id", "pillar", "indicator", "value", "unit", "target", "passed", "coverage", "scheme",
            "target_status", "note", "reason"]
#: what firm-report coverages count ("5 of 6 firms"): the firms that report what an indicator needs
_FIRMS = "firms"


@dataclass(frozen=True)
class _Indicator:
    """One indicator before it meets its target: the value and everything it stands on."""

    pillar: int
    name: str
    value: float | None
    unit: str
    coverage: Coverage | Sequence[Coverage]
    note: str | None = None
    reason: str | None = None  # why the value is missing, where the coverage alone does not say
    #: why a value is only a bound (a side of its ratio not recorded at all): no pass or fail on it
    bound: str | None = None


def _row(park: str, item: _Indicator, targets: pd.DataFrame, min_coverage: float) -> dict:
    """The scorecard row of one indicator: its target, its verdict and the coverage it stands on.

    The verdict (``passed``) is :data:`INSUFFICIENT` when the indicator stands on too little, with or
    without a target: a value computed on a part of the coverage below ``min_coverage`` (a part with
    nothing to cover does not count), or no value because the flows or exchanges it needs exist but
    too few have a quantity; or a value that is only a bound (``bound``: a side of its ratio recorded
    by no flow at all, which is not a side of 0). Without a value because no firm reported what it
    needs (nothing to weigh at all), it is None and the reason says so; otherwise pass/fail against the
    target, None without one. A part with nothing to cover reads "no <items>", not "0 of 0".
    """
    parts = [item.coverage] if isinstance(item.coverage, Coverage) else list(item.coverage)
    counted = [part for part in parts if part.total] or parts[:1]
    short = [part for part in counted if part.total and not part.sufficient(min_coverage)]
    value = item.value
    reason, verdict = None, None
    if value is None:
        reason = item.reason or next((part.reason(min_coverage) for part in counted if part.reason(min_coverage)),
                                     "not computable from the data")
        # links known to exist without their quantities: the data are insufficient, not missing
        if any(part.what != _FIRMS for part in short):
            verdict = INSUFFICIENT
    elif short or item.bound:
        reason = "; ".join(text for text in (item.bound, short[0].reason(min_coverage) if short else None) if text)
        verdict = INSUFFICIENT
    # a part with nothing to cover always has a reason ("no <items>")
    coverage = "; ".join(part.text if part.total else cast(str, part.reason(min_coverage)) for part in counted)
    row = {"park_id": park, "pillar": PILLARS[item.pillar - 1], "indicator": item.name, "value": value,
           "unit": item.unit, "target": None, "passed": verdict, "coverage": coverage,
           "scheme": None, "target_status": None, "note": item.note, "reason": reason}
    target = targets[targets["indicator"] == item.name]
    if len(target):
        first = target.iloc[0]
        row.update(target=f"{first['operator']} {first['target']:g}", scheme=first["scheme"],
                   target_status=first["status"])
        if verdict is None and value is not None and pd.notna(first["target"]):
            row["passed"] = bool(_COMPARE[first["operator"]](value, first["target"]))
    return row


def _share(part: float | None, whole: float | None) -> float | None:
    return clean_zero(100.0 * part / whole, 100.0) if part is not None and whole else None


def _total(*parts: float | None) -> float | None:
    known = [part for part in parts if part is not None]
    return None if len(known) < len(parts) else float(sum(known))


@dataclass(frozen=True)
class _Category:
    """Flows of one kind in one direction: their known sum (None when none has a quantity), and counts."""

    quantity: float | None
    flows: int
    known: int


def _flow_sums(G: nx.MultiDiGraph, kind: str) -> dict[str, _Category]:
    """Flows of one kind: leaving park firms to park firms, to other firms or outside actors, to the
    boundary, and entering park firms from the boundary (imports, and the park's utilities and
    environment: a lake, a water utility). A category whose flows all lack a quantity has quantity None."""
    names = ("to_park", "to_outside_firm", "to_boundary", "from_boundary")
    sums, flows, known = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0), dict.fromkeys(names, 0)
    for u, v, data in G.edges(data=True):
        if data["kind"] != kind:
            continue
        inside_u, inside_v = not is_boundary(G, u), not is_boundary(G, v)
        if inside_u and inside_v:
            category = "to_park"
        elif inside_u:
            category = "to_outside_firm" if G.nodes[v].get("external") else "to_boundary"
        elif inside_v and (G.nodes[u].get("direction") == "in" or G.nodes[u].get("role") in NON_FIRM_ROLES):
            category = "from_boundary"
        else:
            continue  # between outside ends, or from a firm of another park
        flows[category] += 1
        if data["quantity"] is not None:
            known[category] += 1
            sums[category] += data["quantity"]
    return {name: _Category(None if flows[name] and not known[name] else sums[name], flows[name], known[name])
            for name in names}


def _flow_coverage(categories: list[_Category], what: str) -> Coverage:
    return Coverage(sum(category.known for category in categories), sum(category.flows for category in categories),
                    what)


def _unknown_sides(flows: dict[str, _Category], labels: dict[str, str]) -> str | None:
    """Why a flow ratio is missing: the sides whose flows all lack a quantity."""
    missing = [label for name, label in labels.items() if flows[name].quantity is None]
    return f"no quantity on any flow {', '.join(missing)}" if missing else None


def _unrecorded_side(category: _Category, side: str, figure: str) -> str | None:
    """Why a share is only an upper bound: its "lost" side (disposal, intake) is recorded by no flow.

    Survey and published data often list where a by-product goes and leave out what is landfilled,
    incinerated or drawn fresh. No such flow in the data is not a flow of 0: the share over what is
    recorded is an upper bound of the park's, and too little for a verdict.
    """
    return None if category.flows else f"no {side} flow in the data: {figure} is an upper bound"


_NO_DISPOSAL = "disposal (waste to landfill, incineration or another boundary)"
_WASTE_SIDES = {"to_park": "to park firms", "to_outside_firm": "to outside firms", "to_boundary": "to the boundary"}


@dataclass(frozen=True)
class ScorecardInputs:
    """What the scorecard of one park reads from the store, read once by :func:`load_scorecard_inputs`.

    :func:`scorecard_of` computes from these alone: it runs after the store is closed.

    Attributes
    ----------
    park : str
        The park.
    year : int or None
        Emissions, energy use and offsets of this year (None: each firm's latest, every offset).
    G : networkx.MultiDiGraph
        The park's existing flows, every resource.
    carbon : symbiosis.carbon.CarbonInputs
        The carbon inputs of the same graph (emissions, energy purchases, the resource catalogue).
    offsets : DataFrame
        :func:`symbiosis.inventory.load_offsets` of the park.
    energy_use : DataFrame
        ``firm, year, carrier, mwh, renewable``: the ``energy_use`` rows with MWh of the park's
        enterprises (of ``year`` when given), as stored; the scorecard keeps its firms' and their latest.
    output_value : dict
        firm -> output value (million CNY) of the park's enterprises that report a positive one.
    """

    park: str
    year: int | None
    G: nx.MultiDiGraph
    carbon: CarbonInputs
    offsets: pd.DataFrame
    energy_use: pd.DataFrame
    output_value: dict[str, float]


def load_scorecard_inputs(db: sqlite_utils.Database, park: str, *, year: int | None = None,
                          G: nx.MultiDiGraph | None = None, carbon: CarbonInputs | None = None) -> ScorecardInputs:
    """Read from the store everything the scorecard of one park needs, once.

    Parameters
    ----------
    db : sqlite_utils.Database
        The store.
    park : str
        The park.
    year : int, optional
        Emissions, energy use, offsets and flows of this year (flows: or undated); default each firm's
        latest emissions and energy use.
    G : networkx.MultiDiGraph, optional
        The park's existing flows, if already loaded; default ``load_graph(db, park=park, year=year,
        status="existing")`` (the graph of ``carbon`` when it is that graph).
    carbon : symbiosis.carbon.CarbonInputs, optional
        :func:`symbiosis.carbon.load_carbon_inputs` of the same park and year, if already read: what the
        scorecard needs of it (the firms' emissions and energy purchases, the catalogue) is reused, not read
        again. Read for another graph of the park (the carbon command's, cut to the carbon resources), only
        the by-product exchanges that graph left out are read for ``G``.

    Returns
    -------
    ScorecardInputs

    Raises
    ------
    UnknownIdError
        If the park is not in the store.
    InputError
        ``carbon`` read for another park or year.
    """
    if not park_exists(db, park):
        raise UnknownIdError(f"no park {park!r} in the store")
    if carbon is not None and (carbon.park != park or carbon.year != year):
        raise InputError(f"carbon inputs of park {carbon.park!r}, year {carbon.year}: the scorecard is of park "
                         f"{park!r}, year {year}")
    if G is None:
        if carbon is not None and carbon.G is not None and _every_existing_flow(carbon.G, park, year):
            G = carbon.G
        else:
            G = load_graph(db, park=park, year=year, status="existing")
    if carbon is None or "emissions" not in carbon.parts or carbon.G is None or _firms(carbon.G) != _firms(G):
        carbon = load_carbon_inputs(db, park, year=year, G=G, parts=("exchanges", "emissions"))
    elif carbon.G is not G:
        # the firms, their emissions and purchases are the park's whatever the flows its graph holds: only
        # the exchanges a graph cut to some resources leaves out depend on the graph
        exchanges = load_carbon_inputs(db, park, year=year, G=G, parts=("exchanges",))
        carbon = replace(carbon, G=G, parts=carbon.parts | {"exchanges"}, outside_records=exchanges.outside_records,
                         outside_takers=None)
    energy_use = pd.DataFrame(db.execute(
        "SELECT u.enterprise_id, u.year, u.carrier, u.mwh, u.renewable FROM energy_use u JOIN enterprises e "
        "ON e.id = u.enterprise_id WHERE e.park_id = ? AND u.mwh IS NOT NULL" + (" AND u.year = ?" if year else ""),
        [park] + ([year] if year else [])).fetchall(), columns=["firm", "year", "carrier", "mwh", "renewable"])
    output_value = dict(db.execute("SELECT id, output_value_mcny FROM enterprises WHERE park_id = ? AND "
                                   "output_value_mcny > 0", (park,)).fetchall())
    return ScorecardInputs(park=park, year=year, G=G, carbon=carbon, offsets=load_offsets(db, park, year=year),
                           energy_use=energy_use, output_value=output_value)


def _every_existing_flow(G: nx.MultiDiGraph, park: str, year: int | None) -> bool:
    """Whether ``G`` is the graph the scorecard loads: the park's existing flows of the year, every resource
    and kind, as imported (no estimates)."""
    return (G.graph.get("park") == park and G.graph.get("year") == year and G.graph.get("status") == ["existing"]
            and G.graph.get("resources") is None and G.graph.get("kinds") is None and "estimates" not in G.graph)


def _firms(G: nx.MultiDiGraph) -> list[str]:
    """The park's firms in the graph's order (every one of them is a node, whatever flows the graph holds)."""
    return [node for node in G if not is_boundary(G, node)]


@dataclass(frozen=True)
class _Park:
    """What the indicators of one park read: its inputs, and the figures several indicators share."""

    G: nx.MultiDiGraph
    firms: list[str]
    balance: pd.DataFrame
    inventory: pd.DataFrame  # park_inventory, indexed by figure
    country: str | None
    reported: pd.DataFrame  # the balance's firms with an emitted figure
    emitted: float | None  # the park view's headline emissions
    byproducts: Coverage  # by-product exchanges with a quantity and a CO2 factor
    co2: Coverage  # CO2 flows with a quantity
    reduction: float | None  # CO2 stored for good plus emissions avoided by exchanges
    no_reduction: str | None  # why there is no reduction, where it is unknown for want of any exchange
    waste: dict[str, _Category]
    energy: pd.DataFrame  # the firms' energy use rows (the year's, else each firm's latest)
    primary: pd.DataFrame  # primary_energy of those rows
    output_value: dict[str, float]

    @property
    def firms_reporting(self) -> Coverage:
        return Coverage(len(self.reported), len(self.firms), _FIRMS)

    @property
    def waste_leaving(self) -> list[_Category]:
        """Waste leaving park firms: to park firms, to outside firms, to the boundary."""
        return [self.waste["to_park"], self.waste["to_outside_firm"], self.waste["to_boundary"]]


def _park_of(inputs: ScorecardInputs, factors: dict[str, float]) -> _Park:
    """The park's figures the indicators share: carbon balance, park view, coverage of the exchanges,
    reduction from them, waste sums, energy use."""
    G = inputs.G
    credits = exchange_credits_of(inputs.carbon, factors=factors)
    balance = carbon_balance_of(inputs.carbon, factors=factors, credits=credits)
    inventory = park_inventory(balance, inputs.offsets, factors).set_index("figure")
    firms = _firms(G)
    byproducts, co2 = exchange_coverage(G, credits)
    reduction, no_reduction = _reduction(balance, byproducts, co2)
    energy = _energy_use(inputs.energy_use, firms, inputs.year)
    return _Park(G=G, firms=firms, balance=balance, inventory=inventory,
                 country=(inputs.carbon.countries or {}).get(inputs.park),
                 reported=balance[balance["emitted_t"].notna()], emitted=inventory.at[HEADLINE, "value_t"],
                 byproducts=byproducts, co2=co2, reduction=reduction, no_reduction=no_reduction,
                 waste=_flow_sums(G, "waste"), energy=energy, primary=primary_energy(G, energy),
                 output_value=inputs.output_value)


def _reduction(balance: pd.DataFrame, byproducts: Coverage, co2: Coverage) -> tuple[float | None, str | None]:
    """What comes off the inventory or is avoided elsewhere: CO2 stored for good and avoided emissions (the
    known part), and why it is unknown when no exchange is in the data."""
    known_parts = [value for column in ("stored_t", "avoided_t") for value in balance[column].tolist()
                   if value is not None]
    reduction: float | None = float(sum(known_parts))
    if not byproducts.total + co2.total:
        # no exchange in the data: the data may simply not record them, so the reduction is unknown, not 0
        return None, "no by-product or CO2 exchange in the data: the reduction from exchanges is unknown, not 0"
    if not byproducts.known + co2.known and reduction == 0:
        reduction = None  # exchanges exist and none has what its saving needs: unknown, not 0
    return reduction, None


def _energy_use(rows: pd.DataFrame, firms: list[str], year: int | None) -> pd.DataFrame:
    """Energy use rows with MWh of the park's firms (not its utilities): the given year, else each firm's latest."""
    energy = rows[rows["firm"].isin(firms)]
    if len(energy) and year is None:  # each firm's latest year
        latest = energy.groupby("firm")["year"].transform("max")
        energy = energy[energy["year"] == latest]
    return energy


# ------------------------------------------------------------------ the indicators, one function each


def _firms_in_exchange(p: _Park) -> _Indicator:
    n = len(p.firms)
    linked = {node for u, v in p.G.edges() if u != v and is_exchange_partner(p.G, u) and is_exchange_partner(p.G, v)
              for node in (u, v)}
    in_exchange = sum(1 for firm in p.firms if firm in linked)
    return _Indicator(1, "firms_in_exchange", _share(in_exchange, n), "%", Coverage(n, n, _FIRMS),
                      f"{in_exchange} firms send or receive a flow to or from another firm or an outside actor")


def _waste_recovered_in_park(p: _Park) -> _Indicator:
    waste_out = _total(*(category.quantity for category in p.waste_leaving))
    return _Indicator(1, "waste_recovered_in_park", _share(p.waste["to_park"].quantity, waste_out), "%",
                      _flow_coverage(p.waste_leaving, "waste flows with a quantity"),
                      "waste taken by park firms over all waste leaving park firms",
                      _unknown_sides(p.waste, _WASTE_SIDES),
                      _unrecorded_side(p.waste["to_boundary"], _NO_DISPOSAL, "the share recovered"))


def _mass_cycling_index(p: _Park) -> _Indicator:
    # the FCI of `symbiosis metrics`, on its coverage (mass flows with a quantity of all mass flows); the
    # scorecard weighs the coverage itself, so the index is given whatever the coverage, with its verdict
    mass = flow_model(p.G, "mass")
    fci, why_not = known_cycling_index(mass)
    return _Indicator(1, "mass_cycling_index", fci, "-", mass.coverage,
                      "Finn cycling index of mass flows (input throughflow), as in `symbiosis metrics`", why_not)


def _total_emissions(p: _Park) -> _Indicator:
    partial = int((p.reported["emitted_status"] == "partial").sum())
    market = p.inventory.at["park_emissions_market_based", "value_t"]
    all_capture = p.inventory.at["park_emissions_all_capture_removed", "value_t"]
    return _Indicator(
        2, "total_emissions", p.emitted, "tCO2e/yr", p.firms_reporting,
        "park view, each tonne once: scope 1 of every firm (vented captured CO2 once) - CO2 stored for good "
        "+ scope 2 bought from outside the park (location-based)"
        + (f"; market-based {market:,.0f}" if market is not None else "")
        + (f"; {all_capture:,.0f} if all captured CO2 counted as removed" if all_capture is not None else "")
        + f"; the firm-view sum of scope 1 + 2 is {float(p.reported['emitted_t'].sum()):,.0f} (double counts)"
        + (f"; {partial} of the reporting firms partial (a scope not reported, or CO2 to air without a "
           "quantity)" if partial else ""))


def _emission_intensity(p: _Park) -> _Indicator:
    # each firm's part of the park view (its scope 1 once - stored + scope 2 bought outside): the sum over
    # firms is the park's emissions, so the intensity counts no tonne twice
    terms = firm_terms(p.balance)
    own = (terms["scope1_once"] - terms["stored"].fillna(0.0) + terms["scope2_outside"].fillna(0.0)).tolist()
    share = {firm: value for firm, value in zip(p.balance["id"].tolist(), own) if value == value}
    both = [firm for firm in share if firm in p.output_value]
    intensity = sum(share[firm] for firm in both) / sum(p.output_value[firm] for firm in both) if both else None
    return _Indicator(2, "emission_intensity", intensity, "tCO2e per million CNY", Coverage(len(both), len(p.firms), _FIRMS),
                      "park view over output value, of the firms reporting both emissions and output value")


def _co2_per_energy(p: _Park) -> _Indicator:
    tce = float(p.primary["mwh"].sum()) / MWH_PER_TCE
    national = p.inventory.at["park_emissions_national_accounting", "value_t"]
    return _Indicator(
        2, "co2_per_energy", national / tce if national is not None and tce > 0 else None, "t CO2/tce",
        Coverage(len(set(p.energy["firm"])), len(p.firms), _FIRMS),
        "park emissions in the national accounting (grid power bought from outside at the fossil grid factor) "
        f"over primary energy at the park boundary ({tce:,.0f} tce; 1 tce = 8.141 MWh; conversions inside the "
        "park counted once)")


def _reduction_from_exchanges(p: _Park) -> _Indicator:
    return _Indicator(2, "reduction_from_exchanges", p.reduction, "tCO2e/yr", (p.byproducts, p.co2),
                      "CO2 stored for good by CO2 exchanges plus emissions avoided by by-product exchanges, credited "
                      "once along chains (known part); utilised CO2 returns to the air and is not counted",
                      p.no_reduction)


def _reduction_share(p: _Park) -> _Indicator:
    return _Indicator(2, "reduction_share", _share(p.reduction, p.emitted) if p.emitted else None, "% of emissions",
                      (p.firms_reporting, p.byproducts, p.co2), reason=p.no_reduction)


def _renewable_share(p: _Park) -> _Indicator:
    flagged = p.energy[p.energy["renewable"].notna()]
    primary_flagged = p.primary[p.primary["renewable"].notna()]
    unsplit = p.primary.attrs.get("unsplit", 0)
    return _Indicator(3, "renewable_share", _share(float(primary_flagged[primary_flagged["renewable"] == 1]["mwh"].sum()),
                                                   float(primary_flagged["mwh"].sum())),
                      "%", Coverage(flagged["firm"].nunique(), len(p.firms), _FIRMS),
                      "primary basis at the park boundary: renewable over all energy entering the park or generated "
                      "from a primary source in it, conversions inside the park counted once"
                      + (f"; {unsplit} firms' rows left out (in-park supply without a quantity)" if unsplit else ""))


def _renewable_share_sum_of_rows(p: _Park) -> _Indicator:
    flagged = p.energy[p.energy["renewable"].notna()]
    return _Indicator(3, "renewable_share_sum_of_rows", _share(float(flagged[flagged["renewable"] == 1]["mwh"].sum()),
                                                               float(flagged["mwh"].sum())),
                      "%", Coverage(flagged["firm"].nunique(), len(p.firms), _FIRMS),
                      "sum of the reported rows (counts conversion chains twice: for comparison only)")


def _water_reuse(p: _Park) -> _Indicator:
    water = water_reuse(p.G, p.country)
    missing = [side for side, value in (("reused between park firms", water.reused),
                                        ("drawn from outside", water.intake)) if value is None]
    return _Indicator(4, "water_reuse", water.rate, "%", water.coverage,
                      "GB/T 7119-2018 repeated-use rate: water passed between park firms to be used again over that "
                      "plus fresh water drawn from outside; wastewater sent to treatment is a discharge, not a reuse",
                      f"no quantity on any flow {', '.join(missing)}" if missing else None,
                      None if water.intake_flows else "no intake flow in the data (water drawn from outside, a "
                      "utility or the environment): reuse is an upper bound")


def _solid_waste_utilisation(p: _Park) -> _Indicator:
    used = _total(p.waste["to_park"].quantity, p.waste["to_outside_firm"].quantity)
    return _Indicator(4, "solid_waste_utilisation",
                      _share(used, _total(*(category.quantity for category in p.waste_leaving))),
                      "%", _flow_coverage(p.waste_leaving, "waste flows with a quantity"),
                      "waste taken by any firm over all waste leaving park firms",
                      _unknown_sides(p.waste, _WASTE_SIDES),
                      _unrecorded_side(p.waste["to_boundary"], _NO_DISPOSAL, "utilisation"))


def _residual_emissions(p: _Park) -> _Indicator:
    residual = p.inventory.at["residual_after_offsets", "value_t"]
    certificates = p.inventory.at["green_certificates", "value_t"]
    offset_t = p.inventory.at["offsets", "value_t"]
    return _Indicator(5, "residual_emissions", residual, "tCO2e/yr", p.firms_reporting,
                      f"park emissions - green-electricity certificates ({certificates or 0:,.0f} t, once) - offsets "
                      f"({offset_t:,.0f} t); avoided emissions are reported beside the inventory, never subtracted "
                      "(WBCSD 2023)")


def _gap_to_net_zero(p: _Park) -> _Indicator:
    residual = p.inventory.at["residual_after_offsets", "value_t"]
    return _Indicator(5, "gap_to_net_zero", max(0.0, residual) if residual is not None else None, "tCO2e/yr",
                      p.firms_reporting)


#: the scorecard's indicators in the order of its rows: pillar by pillar
_INDICATORS: tuple[Callable[[_Park], _Indicator], ...] = (
    _firms_in_exchange, _waste_recovered_in_park, _mass_cycling_index,
    _total_emissions, _emission_intensity, _co2_per_energy, _reduction_from_exchanges, _reduction_share,
    _renewable_share, _renewable_share_sum_of_rows,
    _water_reuse, _solid_waste_utilisation,
    _residual_emissions, _gap_to_net_zero,
)


def scorecard(db: sqlite_utils.Database, park: str, *, year: int | None = None,
              targets: pd.DataFrame | None = None, factors: dict[str, float] | None = None,
              min_coverage: float = MIN_COVERAGE) -> pd.DataFrame:
    """Indicators of one park for the five pillars of the zero-carbon park standard.

    Indicators (existing flows; emissions and energy use of ``year``, default each firm's latest):

    A ratio whose flows of one side all lack a quantity is missing; flows without a quantity are left out
    otherwise, and the coverage column says how many had one. A ratio whose denominator-only side is
    recorded by no flow at all (waste recovered and solid-waste utilisation without any waste flow to
    landfill, incineration or another boundary; water reuse without any intake) keeps its value as an
    upper bound, with the reason "no ... flow in the data: ... is an upper bound" and the verdict
    "insufficient data": data that list where by-products go often leave out what is thrown away, so
    no disposal flow cannot be read as nothing disposed.

    1. industry aggregation: share of firms in at least one exchange with another firm (or an outside
       actor); share of the park's waste taken by firms of the park; mass Finn cycling index (as
       ``symbiosis metrics`` gives it; coverage: mass flows with a quantity of all mass flows).
    2. GHG emission control: total emissions (scope 1 + 2); intensity per output value; CO2 per unit of
       energy use (t CO2/tce, the national zero-carbon park core indicator); reduction from exchanges
       (absorbed + avoided, the known part; coverage: by-product exchanges with a quantity and a CO2
       factor, and CO2 flows with a quantity; None when the data hold no exchange) and its share of
       emissions.
    3. sustainable energy: renewable share of reported energy use.
    4. ecological recycling: water reuse rate (water passed between park firms over that plus fresh intake
       from the boundary, the park's utilities and its environment); solid-waste comprehensive
       utilisation (waste taken by any firm over all waste leaving park firms).
    5. carbon neutrality: residual emissions = emitted - absorbed - avoided - offsets; the gap to net zero.

    Parameters
    ----------
    min_coverage : float
        Below this share of its inputs known, an indicator's verdict is "insufficient data".

    Returns
    -------
    DataFrame
        ``park_id, pillar, indicator, value, unit, target, passed, coverage, scheme, target_status, note,
        reason``. ``passed`` is True, False, "insufficient data" (coverage below ``min_coverage``, target or
        not; or flows that exist without a quantity) or None (no target, or no firm reported what the
        indicator needs); ``reason`` says why a value is missing or stands on too little. No NaN: unknown
        is None.

    Raises
    ------
    UnknownIdError
        If the park is not in the store.
    InputError
        If ``min_coverage`` is not between 0 and 1.
    """
    if not 0.0 <= min_coverage <= 1.0:
        raise InputError(f"min_coverage must be between 0 and 1, not {min_coverage}")
    inputs = load_scorecard_inputs(db, park, year=year)
    targets = targets if targets is not None else load_targets()
    return scorecard_of(inputs, targets=targets, factors=factors_or_shipped(factors), min_coverage=min_coverage)


def scorecard_of(inputs: ScorecardInputs, *, targets: pd.DataFrame, factors: dict[str, float],
                 min_coverage: float = MIN_COVERAGE) -> pd.DataFrame:
    """:func:`scorecard` computed from the inputs :func:`load_scorecard_inputs` read (no store needed).

    Parameters
    ----------
    inputs : ScorecardInputs
        The park's inputs.
    targets : DataFrame
        :func:`symbiosis.factors.load_targets` (the shipped targets, or the user's).
    factors : dict
        :func:`symbiosis.factors.load_factors`.
    min_coverage : float
        Below this share of its inputs known, an indicator's verdict is "insufficient data".

    Returns
    -------
    DataFrame
        As :func:`scorecard`.

    Raises
    ------
    InputError
        If ``min_coverage`` is not between 0 and 1.
    """
    if not 0.0 <= min_coverage <= 1.0:
        raise InputError(f"min_coverage must be between 0 and 1, not {min_coverage}")
    p = _park_of(inputs, factors)
    return pd.DataFrame([_row(inputs.park, indicator(p), targets, min_coverage) for indicator in _INDICATORS],
                        columns=_COLUMNS, dtype=object)
