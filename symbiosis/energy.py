"""Energy on a primary basis at the park boundary, and water reuse as the indicator system defines it.

**Primary energy.** Summing every firm's reported energy use counts conversion chains inside the park
twice: the electrolyser's power and the hydrogen it makes, the CHP's coal and the steam it sells. The
national zero-carbon park accounting (NDRC/MIIT/NEA 发改环资〔2025〕910号, annex 4; comprehensive energy
consumption in the sense of GB/T 2589-2020) counts energy once, where it enters the park or is generated
from a primary source in it. :func:`primary_energy` keeps, of each firm's ``energy_use`` rows:

- the part **not supplied by park firms**: a row's MWh less the MWh that existing flows of that carrier
  bring from firms of the same park (heat carriers, :data:`symbiosis.units.HEAT`, count as one). What
  remains came from outside (the grid, fuel imports) or from the firm's own generation;
- and, for **primary producers** (firms that send energy to park firms but receive none and use no other
  carrier: wind farms, solar farms), the energy they deliver to park firms, renewable as their own row of
  that carrier says.

Energy a park firm converts and passes on is therefore counted at its inputs, once; energy exported by a
primary producer is not the park's use; fuel a converter burns is counted in full even if it exports
part of its output (it is the park's consumption, as the accounting counts it).

**Water reuse.** GB/T 7119-2018 (节水型企业评价导则) defines the repeated-use rate of water as
repeated-use water over repeated-use water plus fresh intake, ``V_r / (V_i + V_r)``. Between firms that
is water a park firm passes to another to be used again: reclaimed water, condensate, cooling or process
water, cascaded wastewater. Wastewater sent to a treatment plant (NACE E37, GB/T 462) is a discharge, not
a reuse, and wastewater the park receives to treat (a town's sewage) is not an intake.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from .coverage import Coverage
from .graph import is_boundary, validate_graph
from .schema import NON_FIRM_ROLES
from .sectors import parse_sector
from .units import chain_group

__all__ = ["primary_energy", "water_reuse", "WaterReuse", "MWH_PER_TCE"]

#: MWh in a tonne of standard coal equivalent (29.3076 GJ, GB/T 2589-2020)
MWH_PER_TCE = 29.3076 / 3.6
#: a row's part not supplied in the park below this share of it is rounding in unit conversions (t -> MWh)
_NOISE = 1e-6
_PRIMARY_COLUMNS = ["firm", "carrier", "mwh", "renewable", "basis"]
_TREATMENT = {"nace2": ("37",), "gbt4754": ("462",)}


def _in_park(G: nx.MultiDiGraph, node: str) -> bool:
    return not is_boundary(G, node) and (G.nodes[node].get("role") or "firm") not in NON_FIRM_ROLES


def primary_energy(G: nx.MultiDiGraph, energy_use: pd.DataFrame) -> pd.DataFrame:
    """The park's energy use counted once, on a primary basis (rules in the module docstring).

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The park's existing flows (:func:`symbiosis.graph.load_graph` with ``park``).
    energy_use : DataFrame
        The park firms' ``energy_use`` rows: ``firm, carrier, mwh, renewable`` (renewable None when
        not flagged).

    Returns
    -------
    DataFrame
        ``firm, carrier, mwh, renewable, basis``: ``basis`` is "from outside or own generation" (the
        part of a row not supplied by park firms) or "generated in the park" (a primary producer's
        deliveries to park firms). Rows a park supplier covers in full do not appear. A row whose
        in-park supply has no quantity cannot be split and is left out; ``attrs["unsplit"]`` counts
        the firms concerned.

    Examples
    --------
    >>> import networkx as nx, pandas as pd
    >>> G = nx.MultiDiGraph()
    >>> G.add_nodes_from(["wind", "h2"])
    >>> G.add_edge("wind", "h2", "f1", resource="electricity", currency="energy", quantity=100.0)
    'f1'
    >>> use = pd.DataFrame({"firm": ["h2", "wind"], "carrier": ["electricity"] * 2, "mwh": [100.0, 5.0],
    ...                     "renewable": [True, True]})
    >>> primary_energy(G, use)[["firm", "mwh", "basis"]].values.tolist()
    [['wind', 5.0, 'from outside or own generation'], ['wind', 100.0, 'generated in the park']]
    """
    validate_graph(G, needs=("resource", "currency", "quantity"))
    supplied: dict[tuple[str, str], list] = {}  # (firm, group) -> [flows, known, MWh] from park firms
    receives_energy: set[str] = set()
    delivered: dict[tuple[str, str], float] = {}  # (producer, carrier) -> MWh to park firms
    sends_energy: dict[str, set[str]] = {}
    for u, v, data in G.edges(data=True):
        if data["currency"] != "energy":
            continue
        receives_energy.add(v)
        if not (_in_park(G, u) and _in_park(G, v)) or u == v:
            continue
        tally = supplied.setdefault((v, chain_group(data["resource"])), [0, 0, 0.0])
        tally[0] += 1
        sends_energy.setdefault(u, set()).add(data["resource"])
        if data["quantity"] is not None:
            tally[1] += 1
            tally[2] += data["quantity"]
            delivered[u, data["resource"]] = delivered.get((u, data["resource"]), 0.0) + data["quantity"]
    rows, unsplit = [], set()
    # each firm's rows by chain group, in row order (plain dicts: a national park has thousands of firms, and
    # a pandas group per firm costs more than its arithmetic)
    blocks: dict[tuple[str, str], list[tuple[str, float, Any]]] = {}
    used: dict[str, set[str]] = {}
    for firm, carrier, mwh, renewable in zip(energy_use["firm"], energy_use["carrier"], energy_use["mwh"],
                                             energy_use["renewable"]):
        blocks.setdefault((firm, chain_group(carrier)), []).append((carrier, mwh, renewable))
        used.setdefault(firm, set()).add(carrier)
    for (firm, group), block in sorted(blocks.items(), key=lambda item: item[0]):
        flows, known, supply = supplied.get((firm, group), (0, 0, 0.0))
        if flows and known < flows:
            unsplit.add(firm)
            continue
        total = float(np.nansum(np.array([mwh for _, mwh, _ in block], dtype=float)))  # as pandas' sum
        outside = total - supply
        if total <= 0 or outside <= _NOISE * total:  # covered by park suppliers (to unit-conversion noise)
            continue
        for carrier, mwh, renewable in block:
            rows.append((firm, carrier, outside * float(mwh) / total, renewable, "from outside or own generation"))
    flags = {(firm, carrier): renewable for firm, carrier, renewable in
             zip(energy_use["firm"], energy_use["carrier"], energy_use["renewable"])}
    for (producer, carrier), mwh in sorted(delivered.items()):
        if producer in receives_energy or not used.get(producer, set()) <= sends_energy.get(producer, set()):
            continue  # a converter: its inputs are counted instead
        rows.append((producer, carrier, mwh, flags.get((producer, carrier)), "generated in the park"))
    frame = pd.DataFrame(rows, columns=_PRIMARY_COLUMNS)
    frame.attrs["unsplit"] = len(unsplit)
    return frame


@dataclass(frozen=True)
class WaterReuse:
    """Water passed between park firms to be used again, and fresh water drawn from outside (m3/yr)."""

    reused: float | None
    intake: float | None
    coverage: Coverage
    intake_flows: int

    @property
    def rate(self) -> float | None:
        """``reused / (reused + intake)`` in %, None when a side is unknown or both are 0."""
        if self.reused is None or self.intake is None or self.reused + self.intake <= 0:
            return None
        return 100.0 * self.reused / (self.reused + self.intake)


def _treatment_plant(G: nx.MultiDiGraph, node: str, country: str | None) -> bool:
    parsed = parse_sector(G.nodes[node].get("sector_code"), country=country)
    if parsed is None:
        return True  # a taker of unknown trade: wastewater sent to it is taken as a discharge
    digits = "".join(character for character in parsed.code if character.isdigit())
    return any(digits.startswith(prefix) for prefix in _TREATMENT.get(parsed.scheme, ()))


def water_reuse(G: nx.MultiDiGraph, country: str | None = None) -> WaterReuse:
    """Water reuse between the park's firms (GB/T 7119-2018 repeated-use rate; see the module docstring).

    Returns
    -------
    WaterReuse
        ``reused`` (water passed between park firms, wastewater to treatment plants left out),
        ``intake`` (water from outside, wastewater received for treatment left out), each None when
        its flows all lack a quantity, the ``coverage`` (flows with a quantity of those counted) and
        how many intake flows there are (none recorded: the rate is an upper bound).
    """
    validate_graph(G, needs=("resource", "kind", "quantity"))
    sums: dict[str, list] = {"reused": [0, 0, 0.0], "intake": [0, 0, 0.0]}  # [flows, with a quantity, m3]
    for u, v, data in G.edges(data=True):
        if data["kind"] != "water":
            continue
        inside_u, inside_v = _in_park(G, u), _in_park(G, v)
        wastewater = data["resource"] == "wastewater"
        if inside_u and inside_v and u != v:
            if wastewater and _treatment_plant(G, v, country):
                continue  # a discharge to treatment, not a reuse
            side = "reused"
        elif inside_v and not inside_u and not G.nodes[u].get("external"):
            if wastewater:
                continue  # sewage received to treat is not fresh water drawn
            side = "intake"
        else:
            continue
        tally = sums[side]
        tally[0] += 1
        if data["quantity"] is not None:
            tally[1] += 1
            tally[2] += data["quantity"]
    reused, intake = ((None if tally[0] and not tally[1] else tally[2]) for tally in (sums["reused"], sums["intake"]))
    coverage = Coverage(sums["reused"][1] + sums["intake"][1], sums["reused"][0] + sums["intake"][0],
                        "water flows with a quantity")
    return WaterReuse(reused, intake, coverage, sums["intake"][0])
