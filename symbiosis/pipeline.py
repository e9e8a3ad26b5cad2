"""One park's analyses in one place: its inputs are loaded once, the analyses asked for run on them.

The report (``viz.report``) and the map (``viz.map.store_map``) call :func:`analyse_park` rather than
assembling the analyses themselves, so a park is analysed the same way wherever its figures appear, and
an option given here reaches every analysis that takes it.

Examples
--------
>>> from symbiosis.store import open_store
>>> db = open_store(":memory:")
>>> _ = db["parks"].insert({"id": "p", "name": "Park"})
>>> analyse_park(db, "p", analyses=("loops",)).loops.loops.empty
True
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import pandas as pd
import sqlite_utils

from .errors import InputError, UnknownIdError

__all__ = ["ANALYSES", "ParkAnalysis", "analyse_park"]

#: the analyses :func:`analyse_park` runs, in the order their results feed each other
ANALYSES = ("loops", "carbon", "allocation", "scorecard", "colocation", "matching")


@dataclass
class ParkAnalysis:
    """What :func:`analyse_park` found for one park (None for an analysis not asked for).

    Attributes
    ----------
    existing : networkx.MultiDiGraph
        The park's existing flows (the graph every analysis here reads).
    loops : symbiosis.loops.LoopResult
    balance, credits, inventory, absorbers : DataFrame
        Carbon: firm view, by-product exchanges, park view, absorption nodes.
    allocation : symbiosis.carbon.Allocation
    scorecard, long_haul, gaps : DataFrame
    matches : symbiosis.matching.Matches
    """

    park: str | None
    name: str
    existing: nx.MultiDiGraph
    loops: object | None = None
    balance: pd.DataFrame | None = None
    credits: pd.DataFrame | None = None
    inventory: pd.DataFrame | None = None
    absorbers: pd.DataFrame | None = None
    allocation: object | None = None
    scorecard: pd.DataFrame | None = None
    long_haul: pd.DataFrame | None = None
    gaps: pd.DataFrame | None = None
    matches: object | None = None
    ran: tuple[str, ...] = field(default_factory=tuple)


def analyse_park(db: sqlite_utils.Database, park: str | None, *, analyses: tuple[str, ...] = ANALYSES,
                 year: int | None = None, factors: dict[str, float] | None = None,
                 loop_limit: int = 200) -> ParkAnalysis:
    """Load one park's existing flows once and run the analyses asked for on them.

    Parameters
    ----------
    db : sqlite_utils.Database
        The store.
    park : str or None
        The park's id; None analyses every firm of the store as one network (no scorecard then: it
        is a park's; the park view of the inventory is given per park, :func:`symbiosis.inventory.park_views`).
    analyses : tuple of str
        Among :data:`ANALYSES` ("allocation" runs "carbon" too: it stands on its balance).
    year : int, optional
        Flows and emissions of this year (or undated); default every year's flows, each firm's latest
        emissions.
    factors : dict, optional
        :func:`symbiosis.factors.load_factors` (default: the shipped table), for every analysis that
        takes factors.
    loop_limit : int
        Most loops listed.

    Raises
    ------
    UnknownIdError
        The park is not in the store.
    InputError
        An analysis not in :data:`ANALYSES`.
    """
    from .carbon import absorption_nodes, allocate_co2, carbon_balance, exchange_credits
    from .colocation import gaps, long_haul
    from .factors import factors_or_shipped
    from .graph import load_graph
    from .inventory import load_offsets, park_inventory, park_views
    from .loops import find_loops
    from .matching import match
    from .scorecard import scorecard

    unknown = [name for name in analyses if name not in ANALYSES]
    if unknown:
        raise InputError(f"unknown analysis {', '.join(map(repr, unknown))}; expected {', '.join(ANALYSES)}")
    if park is None and "scorecard" in analyses:
        raise InputError("the scorecard is a park's: give a park")
    found = ("every park",) if park is None else db.execute("SELECT name FROM parks WHERE id = ?", (park,)).fetchone()
    if found is None:
        raise UnknownIdError(f"no park {park!r} in the store")
    factors = factors_or_shipped(factors)
    existing = load_graph(db, park=park, year=year, status="existing")
    result = ParkAnalysis(park=park, name=found[0], existing=existing, ran=tuple(analyses))
    if "loops" in analyses:
        result.loops = find_loops(existing, limit=loop_limit)
    if "carbon" in analyses or "allocation" in analyses:  # the allocation stands on the carbon balance
        result.credits = exchange_credits(db, existing, factors)
        result.balance = carbon_balance(db, park=park, year=year, factors=factors, G=existing, credits=result.credits)
        result.inventory = (park_inventory(result.balance, load_offsets(db, park, year), factors) if park is not None
                            else park_views(result.balance))
        result.absorbers = absorption_nodes(result.balance, existing, db)
    if "allocation" in analyses:
        result.allocation = allocate_co2(db, park=park, year=year, factors=factors, balance=result.balance)
    if "scorecard" in analyses:
        result.scorecard = scorecard(db, park, year=year, factors=factors)
    if "colocation" in analyses:
        result.long_haul = long_haul(db, park=park, factors=factors)
        result.gaps = gaps(db, park=park)
    if "matching" in analyses:
        result.matches = match(db, park=park, factors=factors)
    return result
