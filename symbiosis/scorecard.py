"""The zero-carbon park scorecard: indicators for the standard's five pillars, against targets.

Every indicator has a value, a unit, the target and the scheme that sets it (from the shipped, cited
``datasets/factors/targets.csv``, or the user's own file), pass/fail, and data coverage: how many of
the park's firms reported what the indicator needs. Missing data gives a missing value (and no
pass/fail), never a zero.
"""
from __future__ import annotations

import operator

import networkx as nx
import pandas as pd
import sqlite_utils

from .carbon import carbon_balance
from .errors import UnknownIdError
from .factors import load_factors, load_targets
from .graph import is_boundary, load_graph
from .metrics import finn_cycling_index, flow_model

__all__ = ["scorecard", "PILLARS"]

PILLARS = ("industry aggregation", "GHG emission control", "sustainable energy", "ecological recycling",
           "carbon neutrality")
_MWH_PER_TCE = 29.3076 / 3.6  # tonne of standard coal equivalent (GB/T 2589-2020)
_COMPARE = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_COLUMNS = ["park_id", "pillar", "indicator", "value", "unit", "target", "passed", "coverage", "scheme",
            "target_status", "note"]


def _share(part: float | None, whole: float | None) -> float | None:
    return 100.0 * part / whole if part is not None and whole else None


def _coverage(count: int, total: int, what: str = "firms") -> str:
    return f"{count} of {total} {what}"


def _flow_sums(G: nx.MultiDiGraph, kind: str) -> dict[str, float | None]:
    """Known quantities of one kind: leaving park firms to park firms, to other firms, to the boundary,
    and entering from the boundary. A category whose flows all lack a quantity is None (unknown, not 0)."""
    sums: dict[str, float] = dict.fromkeys(("to_park", "to_outside_firm", "to_boundary", "from_boundary"), 0.0)
    flows = dict.fromkeys(sums, 0)
    known = dict.fromkeys(sums, 0)
    for u, v, data in G.edges(data=True):
        if data["kind"] != kind:
            continue
        inside_u, inside_v = not is_boundary(G, u), not is_boundary(G, v)
        if inside_u and inside_v:
            category = "to_park"
        elif inside_u:
            category = "to_outside_firm" if G.nodes[v].get("external") else "to_boundary"
        elif inside_v and G.nodes[u].get("direction") == "in":
            category = "from_boundary"
        else:
            continue
        flows[category] += 1
        if data["quantity"] is not None:
            known[category] += 1
            sums[category] += data["quantity"]
    result: dict[str, float | None] = {key: (None if flows[key] and not known[key] else value)
                                       for key, value in sums.items()}
    result["known"], result["all"] = sum(known.values()), sum(flows.values())
    return result


def _total(*parts: float | None) -> float | None:
    return None if any(part is None for part in parts) else float(sum(parts))


def scorecard(db: sqlite_utils.Database, park: str, year: int | None = None,
              targets: pd.DataFrame | None = None, factors: dict[str, float] | None = None) -> pd.DataFrame:
    """Indicators of one park for the five pillars of the zero-carbon park standard.

    Indicators (existing flows; emissions and energy use of ``year``, default each firm's latest):

    A ratio whose flows of one side all lack a quantity is missing; flows without a quantity are left out
    otherwise, and the coverage column says how many had one.

    1. industry aggregation: share of firms in at least one exchange with another firm; share of the
       park's waste taken by firms of the park; mass Finn cycling index.
    2. GHG emission control: total emissions (scope 1 + 2); intensity per output value; CO2 per unit of
       energy use (t CO2/tce, the national zero-carbon park core indicator); reduction from exchanges
       (absorbed + avoided) and its share of emissions.
    3. sustainable energy: renewable share of reported energy use.
    4. ecological recycling: water reuse rate (water passed between park firms over that plus fresh intake);
       solid-waste comprehensive utilisation (waste taken by any firm over all waste leaving park firms).
    5. carbon neutrality: residual emissions = emitted - absorbed - avoided - offsets; the gap to net zero.

    Returns
    -------
    DataFrame
        ``park_id, pillar, indicator, value, unit, target, passed, coverage, scheme, target_status, note``.

    Raises
    ------
    UnknownIdError
        If the park is not in the store.
    """
    if not db.execute("SELECT 1 FROM parks WHERE id = ?", (park,)).fetchone():
        raise UnknownIdError(f"no park {park!r} in the store")
    targets = targets if targets is not None else load_targets()
    factors = factors or load_factors()
    G = load_graph(db, park=park, year=year, status="existing")
    firms = [node for node in G if not is_boundary(G, node)]
    n = len(firms)
    balance = carbon_balance(db, park=park, year=year, factors=factors, G=G)
    rows = []

    def add(pillar: int, indicator: str, value, unit: str, coverage: str, note: str | None = None) -> None:
        target = targets[targets["indicator"] == indicator]
        row = {"park_id": park, "pillar": PILLARS[pillar - 1], "indicator": indicator, "value": value, "unit": unit,
               "target": None, "passed": None, "coverage": coverage, "scheme": None, "target_status": None,
               "note": note}
        if len(target):
            first = target.iloc[0]
            row.update(target=f"{first['operator']} {first['target']:g}", scheme=first["scheme"],
                       target_status=first["status"])
            if value is not None and pd.notna(first["target"]):
                row["passed"] = bool(_COMPARE[first["operator"]](value, first["target"]))
        rows.append(row)

    # 1. industry aggregation
    linked = {node for u, v in G.edges() for node in (u, v)
              if not G.nodes[u].get("direction") and not G.nodes[v].get("direction")}
    in_exchange = sum(1 for firm in firms if firm in linked)
    add(1, "firms_in_exchange", _share(in_exchange, n), "%", _coverage(n, n),
        f"{in_exchange} firms send or receive a flow to or from another firm")
    waste = _flow_sums(G, "waste")
    waste_out = _total(waste["to_park"], waste["to_outside_firm"], waste["to_boundary"])
    add(1, "waste_recovered_in_park", _share(waste["to_park"], waste_out), "%",
        _coverage(waste["known"], waste["all"], "waste flows with a quantity"))
    mass = flow_model(G, "mass")
    fci = finn_cycling_index(mass) if mass.nodes else None
    add(1, "mass_cycling_index", fci, "-", _coverage(int(mass.flows.astype(bool).sum()), int(mass.adjacency.sum()),
                                                     "mass links with a quantity"),
        "Finn cycling index of mass flows (input throughflow)")

    # 2. GHG emission control
    reported = balance[balance["emitted_t"].notna()]
    emitted = float(reported["emitted_t"].sum()) if len(reported) else None
    add(2, "total_emissions", emitted, "tCO2e/yr", _coverage(len(reported), n), "scope 1 + scope 2")
    output = dict(db.execute("SELECT id, output_value_mcny FROM enterprises WHERE park_id = ? AND "
                             "output_value_mcny > 0", (park,)).fetchall())
    both = reported[reported["id"].isin(output)]
    intensity = float(both["emitted_t"].sum()) / sum(output[firm] for firm in both["id"]) if len(both) else None
    add(2, "emission_intensity", intensity, "tCO2e per million CNY", _coverage(len(both), n),
        "firms reporting both emissions and output value")
    energy = pd.DataFrame(db.execute(
        "SELECT u.enterprise_id, u.year, u.mwh, u.renewable FROM energy_use u JOIN enterprises e "
        "ON e.id = u.enterprise_id WHERE e.park_id = ? AND u.mwh IS NOT NULL" + (" AND u.year = ?" if year else ""),
        [park] + ([year] if year else [])).fetchall(), columns=["firm", "year", "mwh", "renewable"])
    if len(energy) and year is None:  # each firm's latest year
        latest = energy.groupby("firm")["year"].transform("max")
        energy = energy[energy["year"] == latest]
    energy_firms = set(energy["firm"])
    with_energy = reported[reported["id"].isin(energy_firms)]
    tce = energy[energy["firm"].isin(with_energy["id"])]["mwh"].sum() / _MWH_PER_TCE
    add(2, "co2_per_energy", float(with_energy["emitted_t"].sum()) / tce if tce > 0 else None, "t CO2/tce",
        _coverage(len(with_energy), n), "scope 1 + 2 over comprehensive energy use (1 tce = 8.141 MWh)")
    reduction = float(balance["absorbed_t"].sum() + balance["avoided_t"].sum())
    add(2, "reduction_from_exchanges", reduction, "tCO2e/yr", _coverage(n, n),
        "CO2 absorbed by CO2 exchanges plus emissions avoided by by-product exchanges")
    add(2, "reduction_share", _share(reduction, emitted) if emitted else None, "% of emissions", _coverage(len(reported), n))

    # 3. sustainable energy
    flagged = energy[energy["renewable"].notna()]
    add(3, "renewable_share", _share(float(flagged[flagged["renewable"] == 1]["mwh"].sum()), float(flagged["mwh"].sum())),
        "%", _coverage(flagged["firm"].nunique(), n), "renewable MWh over all reported MWh (rows with a renewable flag)")

    # 4. ecological recycling
    water = _flow_sums(G, "water")
    add(4, "water_reuse", _share(water["to_park"], _total(water["to_park"], water["from_boundary"])), "%",
        _coverage(water["known"], water["all"], "water flows with a quantity"),
        "water passed between park firms over that plus water drawn from outside")
    used = _total(waste["to_park"], waste["to_outside_firm"])
    add(4, "solid_waste_utilisation", _share(used, waste_out), "%",
        _coverage(waste["known"], waste["all"], "waste flows with a quantity"),
        "waste taken by any firm over all waste leaving park firms")

    # 5. carbon neutrality
    offsets = db.execute("SELECT sum(t_co2e), count(*) FROM offsets WHERE park_id = ?"
                         + (" AND year = ?" if year else ""), [park] + ([year] if year else [])).fetchone()
    offset_t = offsets[0] or 0.0
    residual = emitted - reduction - offset_t if emitted is not None else None
    add(5, "residual_emissions", residual, "tCO2e/yr", _coverage(len(reported), n),
        f"emitted - absorbed - avoided - offsets ({offset_t:,.0f} t from {offsets[1]} offset rows)")
    add(5, "gap_to_net_zero", max(0.0, residual) if residual is not None else None, "tCO2e/yr",
        _coverage(len(reported), n))
    return pd.DataFrame(rows, columns=_COLUMNS)
