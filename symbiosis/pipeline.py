"""One park's analyses in one place: its inputs are loaded once, the analyses asked for run on them.

Every command that analyses a park (``loops``, ``metrics``, ``carbon``, ``colocate``, ``scorecard``,
``match``), the report (``viz.report``), the map (``viz.map.store_map``), ``compare`` and the per-park fan-out
(:func:`symbiosis.fanout.run_by_park`, behind ``--by-park``) call :func:`analyse_park` rather than assembling the
analyses themselves. So a park is analysed the same way wherever its figures appear, and an option
given once (:class:`AnalysisOptions`) reaches every analysis that takes it.

Examples
--------
>>> from symbiosis.store import open_store
>>> db = open_store(":memory:")
>>> _ = db["parks"].insert({"id": "p", "name": "Park"})
>>> analyse_park(db, "p", analyses=("loops",)).loops.loops.empty
True
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import networkx as nx
import pandas as pd
import sqlite_utils

from .coverage import known_number
from .errors import InputError, UnknownIdError
from .settings import (DEFAULT_IMBALANCE_THRESHOLD, DEFAULT_LOOP_LIMIT, MIN_COVERAGE, PAGE_LOOP_LIMIT)

if TYPE_CHECKING:
    from .carbon import Allocation, CarbonInputs
    from .loops import LoopSearch
    from .matching import Matches

__all__ = ["ANALYSES", "PAGE_ANALYSES", "AnalysisOptions", "ParkAnalysis", "analyse_park", "PAGE_OPTIONS",
           "carbon_headlines", "ran"]

#: the analyses :func:`analyse_park` runs, in the order their results feed each other
ANALYSES = ("loops", "metrics", "carbon", "allocation", "scorecard", "colocation", "clusters", "matching")
#: what the report and the map show of a park
PAGE_ANALYSES = ("loops", "carbon", "allocation", "scorecard", "colocation", "matching")
#: the flow statuses of the graph the co-location analysis reads (what exists and what could)
_COLOCATION_STATUSES = ("existing", "potential")


@dataclass(frozen=True)
class AnalysisOptions:
    """Every option of every analysis, with the command line's defaults: one object given to
    :func:`analyse_park` (and shipped to each worker of :func:`symbiosis.fanout.run_by_park`), so that an option
    reaches every path that analyses a park.

    Attributes
    ----------
    year : int or None
        Flows (and emissions, energy use) of this year or undated; default every year's flows and
        each firm's latest emissions.
    status, kinds : tuple of str
        The flows of the graph loops and metrics read (``loops``/``metrics`` ``--status``/``--kinds``);
        carbon and the scorecard read existing flows, co-location existing and potential ones.
    max_length, loop_limit : int
        Most firms in a loop; most loops listed.
    currencies, throughflow, imbalance_threshold, balance : metrics options
        (:func:`symbiosis.metrics.network_metrics`).
    min_coverage : float
        Least share known for a flow metric or a scorecard verdict.
    max_km : float
        Longest emitter-absorber distance of the CO2 allocation.
    radius_km, match_km, weight : co-location options (:func:`symbiosis.colocation.long_haul`, ``clusters``).
    match_radius_km, weights, method : matchmaking options (:func:`symbiosis.matching.match`).
    factors, targets, sectors, substitutes, prices, co2_uses : the shipped or the user's tables, loaded by the
        caller (``None``: the shipped one).
    estimates : bool
        Read the stored reconciliation estimates into the graphs (:mod:`symbiosis.estimates`): quantities
        adjusted or determined by the latest reconciliation replace the imported ones, and
        :attr:`ParkAnalysis.estimates_note` says how many.
    samples, seed, default_quality : int or None, int, str or None
        Draw ``samples`` flow sets (:mod:`symbiosis.sampling`; with ``estimates``, the reconciled flows
        jointly) and give each headline figure's median and 90 % interval; ``default_quality`` is the
        quality class of a known quantity that states no uncertainty (default: it keeps its value).
    """

    year: int | None = None
    status: tuple[str, ...] = ("existing",)
    kinds: tuple[str, ...] | None = None
    max_length: int = 6
    loop_limit: int = DEFAULT_LOOP_LIMIT
    currencies: tuple[str, ...] | None = None
    throughflow: str = "input"
    imbalance_threshold: float = DEFAULT_IMBALANCE_THRESHOLD
    balance: str | None = None
    min_coverage: float = MIN_COVERAGE
    max_km: float = 100.0
    radius_km: float = 50.0
    match_km: float = 200.0
    weight: str = "tco2e"
    match_radius_km: float = 50.0
    weights: dict[str, float] | None = None
    method: str | None = None
    factors: dict[str, float] | None = None
    estimates: bool = False
    samples: int | None = None
    seed: int = 0
    default_quality: str | None = None
    targets: pd.DataFrame | None = None
    sectors: pd.DataFrame | None = None
    substitutes: pd.DataFrame | None = None
    prices: pd.DataFrame | None = None
    co2_uses: pd.DataFrame | None = None


#: the options of the report and the map: the strongest loops of a shorter search
PAGE_OPTIONS = AnalysisOptions(loop_limit=PAGE_LOOP_LIMIT)


@dataclass
class ParkAnalysis:
    """What :func:`analyse_park` found for one park (None for an analysis not asked for).

    Attributes
    ----------
    park, name : the park's id (None: every firm of the store as one network) and name.
    existing : networkx.MultiDiGraph
        The park's existing flows (loaded when first asked for: the carbon command at national scale
        reads only the flows that carry carbon).
    graph : networkx.MultiDiGraph
        The flows loops and metrics read (``options.status``, ``options.kinds``).
    loops : symbiosis.loops.LoopSearch
    metric_rows : list of dict
        :func:`symbiosis.metrics.network_metrics`'s rows (``metrics`` gives them as a table).
    metric_intervals, carbon_intervals, scorecard_intervals : DataFrame
        With ``options.samples``: each flow metric's, headline carbon figure's (park view, CO2 avoided,
        stored and utilised) and scorecard indicator's median and 90 % interval (:mod:`symbiosis.sampling`).
    balance, credits, inventory : DataFrame
        Carbon: firm view, by-product exchanges, park view (absorption nodes: :attr:`absorbers`).
    allocation : symbiosis.carbon.Allocation
    scorecard, long_haul, gaps, clusters : DataFrame
    matches : symbiosis.matching.Matches
    """

    park: str | None
    name: str
    graphs: _Graphs = field(repr=False)
    options: AnalysisOptions
    graph: nx.MultiDiGraph | None = None
    loops: LoopSearch | None = None
    metric_rows: list[dict] | None = None
    metric_intervals: pd.DataFrame | None = None
    carbon_intervals: pd.DataFrame | None = None
    scorecard_intervals: pd.DataFrame | None = None
    balance: pd.DataFrame | None = None
    credits: pd.DataFrame | None = None
    inventory: pd.DataFrame | None = None
    allocation: Allocation | None = None
    scorecard: pd.DataFrame | None = None
    long_haul: pd.DataFrame | None = None
    clusters: pd.DataFrame | None = None
    gaps: pd.DataFrame | None = None
    matches: Matches | None = None
    ran: tuple[str, ...] = field(default_factory=tuple)
    estimates: dict[str, Any] | None = None
    _absorbers: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def estimates_note(self) -> str | None:
        """Which figures stand on reconciliation estimates, or None when none do."""
        negative = (self.estimates or {}).get("negative", 0)
        if not self.estimates or not (self.estimates["adjusted"] or self.estimates["determined"] or negative):
            return None
        runs = ", ".join(f"#{run}" for run in self.estimates["reconciliations"])
        unused = (f"; {negative} reconciled below 0 were not used (their imported quantities stand)" if negative
                  else "")
        return (f"{self.estimates['adjusted'] + self.estimates['determined']} flow quantities are reconciliation "
                f"estimates ({self.estimates['adjusted']} adjusted, {self.estimates['determined']} determined; "
                f"reconciliation {runs}){unused}: every figure built on them is an estimate too")

    @property
    def absorbers(self) -> pd.DataFrame | None:
        """Carbon's absorption nodes (:func:`symbiosis.carbon.absorption_nodes_of`), when carbon ran: found
        when first read (a caller after the park's emissions alone, as ``compare``'s attribution, skips them)."""
        if self.balance is None or self.graphs.carbon is None:
            return None
        if self._absorbers is None:
            from .carbon import absorption_nodes_of

            self._absorbers = absorption_nodes_of(self.graphs.carbon, self.balance)
        return self._absorbers

    @property
    def existing(self) -> nx.MultiDiGraph:
        """The park's existing flows, every resource, of ``options.year`` (or every year)."""
        return self.graphs.get(("existing",))

    @property
    def metrics(self) -> pd.DataFrame | None:
        """:func:`symbiosis.metrics.network_metrics` of the park, one row per currency."""
        if self.metric_rows is None:
            return None
        from .metrics import metrics_frame

        return metrics_frame(self.metric_rows)

    @property
    def imbalance(self) -> pd.DataFrame | None:
        """Firms out of balance by more than ``options.imbalance_threshold``
        (:func:`symbiosis.metrics.imbalanced_firms`), when metrics ran."""
        if self.metric_rows is None or self.graph is None:
            return None
        from .metrics import CURRENCIES, imbalanced_firms

        return imbalanced_firms(self.graph, self.options.currencies or CURRENCIES,
                                threshold=self.options.imbalance_threshold)


_Result = TypeVar("_Result")


def ran(value: _Result | None, analysis: str) -> _Result:
    """A result of :class:`ParkAnalysis` that the caller asked :func:`analyse_park` for: None only
    when the analysis did not run, which is a programming error said plainly here rather than an
    AttributeError on None further on.

    Examples
    --------
    >>> ran(3, "loops")
    3
    """
    if value is None:
        raise InputError(f"the {analysis} analysis was not asked of analyse_park")
    return value


class _Graphs:
    """Each graph a park's analyses read, loaded once however many analyses read it."""

    def __init__(self, db: sqlite_utils.Database, park: str | None, year: int | None, estimates: bool = False):
        self.db, self.park, self.year, self.estimates = db, park, year, estimates
        self._loaded: dict[tuple, nx.MultiDiGraph] = {}
        self.carbon: CarbonInputs | None = None  # read once for carbon, allocation and scorecard

    def estimates_read(self) -> dict[str, Any] | None:
        """The most estimates any loaded graph read (each graph counts those among its own flows)."""
        counted = [G.graph["estimates"] for G in self._loaded.values() if "estimates" in G.graph]
        return max(counted, key=lambda found: found["adjusted"] + found["determined"]) if counted else None

    def get(self, status: Sequence[str], kinds: Sequence[str] | None = None,
            resources: Sequence[str] | None = None, *, dated: bool = True) -> nx.MultiDiGraph:
        from .graph import load_graph

        key = (tuple(status), tuple(kinds) if kinds else None, tuple(resources) if resources is not None else None,
               dated)
        if key not in self._loaded:
            self._loaded[key] = load_graph(self.db, park=self.park, year=self.year if dated else None,
                                           kinds=list(kinds) if kinds else None, status=list(status),
                                           resources=resources, estimates=self.estimates)
        return self._loaded[key]


def analyse_park(db: sqlite_utils.Database, park: str | None, *, analyses: Sequence[str] = ANALYSES,
                 options: AnalysisOptions | None = None) -> ParkAnalysis:
    """Load one park's inputs once and run the analyses asked for on them.

    Parameters
    ----------
    db : sqlite_utils.Database
        The store.
    park : str or None
        The park's id; None analyses every firm of the store as one network (no scorecard then: it
        is a park's; the park view of the inventory is given per park, :func:`symbiosis.inventory.park_views`).
    analyses : sequence of str
        Among :data:`ANALYSES` ("allocation" runs "carbon" too: it stands on its balance).
    options : AnalysisOptions, optional
        Every analysis's options (default: the command line's defaults).

    Raises
    ------
    UnknownIdError
        The park is not in the store.
    InputError
        An analysis not in :data:`ANALYSES`, or options an analysis refuses.
    """
    options = options or AnalysisOptions()
    unknown = [name for name in analyses if name not in ANALYSES]
    if unknown:
        raise InputError(f"unknown analysis {', '.join(map(repr, unknown))}; expected {', '.join(ANALYSES)}")
    if park is None and "scorecard" in analyses:
        raise InputError("the scorecard is a park's: give a park")
    found = ("every park",) if park is None else db.execute("SELECT name FROM parks WHERE id = ?", (park,)).fetchone()
    if found is None:
        raise UnknownIdError(f"no park {park!r} in the store")
    graphs = _Graphs(db, park, options.year, options.estimates)
    result = ParkAnalysis(park=park, name=found[0], graphs=graphs, options=options,
                          ran=tuple(analyses))
    for name, step in _STEPS:
        if name in analyses or (name == "carbon" and "allocation" in analyses):
            step(db, result, graphs, options)
    result.estimates = graphs.estimates_read()
    return result


def _loops(db: sqlite_utils.Database, result: ParkAnalysis, graphs: _Graphs, options: AnalysisOptions) -> None:
    from .loops import find_loops

    result.graph = graphs.get(options.status, options.kinds)
    result.loops = find_loops(result.graph, max_length=options.max_length, limit=options.loop_limit)


def _metrics(db: sqlite_utils.Database, result: ParkAnalysis, graphs: _Graphs, options: AnalysisOptions) -> None:
    from .metrics import CURRENCIES, metric_rows

    result.graph = graphs.get(options.status, options.kinds)
    currencies = options.currencies or CURRENCIES
    result.metric_rows = metric_rows(result.graph, currencies, orientation=options.throughflow,
                                     imbalance_threshold=options.imbalance_threshold,
                                     min_coverage=options.min_coverage, balance=options.balance)
    if options.samples:
        from .sampling import with_intervals

        present = {data["currency"] for _, _, data in result.graph.edges(data=True)}
        sampled = tuple(currency for currency in currencies if currency in present)

        def figures(G: nx.MultiDiGraph) -> dict[str, float | None]:
            rows = metric_rows(G, sampled, orientation=options.throughflow,
                               imbalance_threshold=options.imbalance_threshold, min_coverage=options.min_coverage,
                               balance=options.balance)
            return {f"{row['currency']}: {name}": row[name] for row in rows for name in _SAMPLED_METRICS}

        result.metric_intervals = with_intervals(result.graph, _draws(db, result.graph, result.park, options),
                                                 figures)


#: the flow metrics given with an interval under ``--samples`` (topology counts do not vary with quantities)
_SAMPLED_METRICS = ("TST", "FCI", "APL", "ascendency", "robustness")


def _draws(db: sqlite_utils.Database, G: nx.MultiDiGraph, park: str | None, options: AnalysisOptions):
    """The flow sets ``--samples`` draws for a graph: jointly from the reconciliation of each currency the
    graph read estimates of (recomputed from the imported data with the stored settings), else from the
    stated uncertainties."""
    import json

    from .estimates import joint_distribution
    from .graph import load_graph
    from .sampling import draw_flows, park_seed

    if options.samples is None:
        raise InputError("no samples asked for")
    reconciled = {}
    runs = (G.graph.get("estimates") or {}).get("reconciliations") or []
    if runs and park is not None:
        imported = load_graph(db, park, year=options.year, status="existing")
        for currency, settings in db.execute(
                f"SELECT currency, settings FROM reconciliations WHERE id IN ({', '.join('?' for _ in runs)})", runs):
            chosen = json.loads(settings or "{}")
            reconciled[currency] = joint_distribution(imported, currency,
                                                      default_quality=chosen.get("default_quality", "estimated"),
                                                      balanced=chosen.get("balanced", "declared"))
    return draw_flows(G, options.samples, park_seed(options.seed, park), default_quality=options.default_quality,
                      reconciled=reconciled or None)


def _carbon_inputs(db: sqlite_utils.Database, result: ParkAnalysis, graphs: _Graphs, options: AnalysisOptions):
    """The carbon analyses' inputs, read once for the carbon balance, the allocation and the scorecard: the
    flows that carry carbon (CO2 and by-products with a factor) as a graph, the rest as records."""
    from .carbon import carbon_resources, load_carbon_inputs

    if graphs.carbon is None:
        parts = ("exchanges", "emissions") + (("offers",) if "allocation" in result.ran else ())
        G = graphs.get(("existing",), resources=carbon_resources(db))
        graphs.carbon = load_carbon_inputs(db, result.park, year=options.year, G=G, parts=parts)
    return graphs.carbon


def _carbon(db: sqlite_utils.Database, result: ParkAnalysis, graphs: _Graphs, options: AnalysisOptions) -> None:
    from .carbon import carbon_balance_of, exchange_credits_of
    from .factors import factors_or_shipped
    from .inventory import load_offsets, park_inventory, park_views

    factors = factors_or_shipped(options.factors)
    park, year = result.park, options.year
    inputs = _carbon_inputs(db, result, graphs, options)
    result.credits = exchange_credits_of(inputs, factors=factors)
    result.balance = carbon_balance_of(inputs, factors=factors, credits=result.credits, co2_uses=options.co2_uses)
    result.inventory = (park_inventory(result.balance, load_offsets(db, park, year=year), factors) if park is not None
                        else park_views(result.balance))
    if options.samples:
        offsets = load_offsets(db, park, year=year) if park is not None else None
        result.carbon_intervals = _sampled(db, result, options, graphs, lambda carbon, _: _carbon_figures(
            carbon, factors, offsets, options.co2_uses), inputs)


def carbon_headlines(inputs, options: AnalysisOptions, offsets: pd.DataFrame | None) -> dict[str, float | None]:
    """The park-view emissions and the CO2 avoided by by-product exchanges of a park's carbon inputs, as
    :func:`analyse_park`'s carbon analysis finds them (None when unknown): what ``compare``'s attribution
    recomputes with one synergy taken out."""
    from .factors import factors_or_shipped

    figures = _carbon_figures(inputs, factors_or_shipped(options.factors), offsets, options.co2_uses)
    found: dict[str, float | None] = {"park_emissions": None, "avoided": None}
    for name, value in figures.items():
        if name.startswith("park view: park_emissions") and not name.startswith("park view: park_emissions_"):
            found["park_emissions"] = value
        elif name.startswith("CO2 avoided by by-product exchanges"):
            found["avoided"] = value
    return found


def _carbon_figures(inputs, factors: dict[str, float], offsets: pd.DataFrame | None,
                    co2_uses: pd.DataFrame | None) -> dict[str, float | None]:
    """The headline carbon figures of one flow set: the park view (a park's), else the firm-view totals of
    absorbed CO2; and CO2 avoided by by-product exchanges (:func:`symbiosis.carbon.park_totals`). A figure
    that stands on some firms only is named "(known part: ...)", one with nothing known is None."""
    from .carbon import carbon_balance_of, exchange_credits_of, park_totals
    from .coverage import PARTIAL
    from .inventory import park_inventory

    credits = exchange_credits_of(inputs, factors=factors)
    balance = carbon_balance_of(inputs, factors=factors, credits=credits, co2_uses=co2_uses)
    totals = park_totals(balance).set_index("figure")
    rows = [(f"park view: {name}", value, status, None) for name, value, status
            in park_inventory(balance, offsets, factors)[["figure", "value_t", "status"]].itertuples(index=False)
            ] if offsets is not None else [("CO2 absorbed, firm view (t)", *totals.loc["absorbed", ["value_t", "status",
                                                                                                  "coverage"]])]
    rows.append(("CO2 avoided by by-product exchanges (t)", *totals.loc["avoided", ["value_t", "status", "coverage"]]))
    return {(f"{name}, known part: {coverage}" if status == PARTIAL and coverage else name): known_number(value)
            for name, value, status, coverage in rows}


def _sampled(db: sqlite_utils.Database, result: ParkAnalysis, options: AnalysisOptions, graphs: _Graphs,
             figures: Callable[[Any, Any], dict[str, float | None]], carbon: Any, scorecard: Any = None) -> pd.DataFrame:
    """A figure function's values on the data and their median and 90 % interval over ``options.samples``
    draws: the flows (of the park's full existing graph, as :func:`_draws` draws them) set on copies of the
    carbon inputs' graph (and the scorecard's), the emissions rows drawn from their own uncertainties."""
    import dataclasses

    from .sampling import apply_draw, draw_emissions, park_seed, summarise

    full = graphs.get(("existing",))
    draws = _draws(db, full, result.park, options)
    carbon_graph = carbon.G.copy()
    full_copy = full.copy() if scorecard is not None else None
    emissions = draw_emissions(carbon.emissions or {}, carbon.emission_uncertainty or {}, len(draws.values),
                               park_seed(options.seed, result.park), default_quality=options.default_quality)
    per_draw = []
    for row, drawn_emissions in enumerate(emissions):
        apply_draw(carbon_graph, draws, row)
        sampled_carbon = dataclasses.replace(carbon, G=carbon_graph, emissions=drawn_emissions)
        sampled_scorecard = None
        if scorecard is not None and full_copy is not None:
            apply_draw(full_copy, draws, row)
            sampled_scorecard = dataclasses.replace(scorecard, G=full_copy, carbon=sampled_carbon)
        per_draw.append(figures(sampled_carbon, sampled_scorecard))
    stated = sum(1 for firm in (carbon.emissions or {}) if firm in (carbon.emission_uncertainty or {}))
    note = draws.note + f"; emissions rows drawn: {stated} with a stated uncertainty" + (
        f", the rest as {options.default_quality}" if options.default_quality else ", the rest kept at their value"
    ) + "; energy use, offsets and the CO2 read from outside the carbon graph kept at their value"
    return summarise(figures(carbon, scorecard), per_draw, note)


def _allocation(db: sqlite_utils.Database, result: ParkAnalysis, graphs: _Graphs, options: AnalysisOptions) -> None:
    from .carbon import allocate_co2_of
    from .factors import factors_or_shipped

    result.allocation = allocate_co2_of(_carbon_inputs(db, result, graphs, options),
                                        factors=factors_or_shipped(options.factors), max_km=options.max_km,
                                        balance=result.balance, co2_uses=options.co2_uses)


def _scorecard(db: sqlite_utils.Database, result: ParkAnalysis, graphs: _Graphs, options: AnalysisOptions) -> None:
    from .factors import factors_or_shipped, load_targets
    from .scorecard import load_scorecard_inputs, scorecard_of

    if result.park is None:  # checked on entry; here for the type checker
        raise InputError("the scorecard is a park's: give a park")
    carbon = graphs.carbon  # the carbon analyses' inputs, when they ran: the scorecard reuses them
    inputs = load_scorecard_inputs(db, result.park, year=options.year, G=graphs.get(("existing",)), carbon=carbon)
    targets = options.targets if options.targets is not None else load_targets()
    factors = factors_or_shipped(options.factors)
    result.scorecard = scorecard_of(inputs, targets=targets, factors=factors, min_coverage=options.min_coverage)
    if options.samples:

        def indicators(_: Any, sampled: Any) -> dict[str, float | None]:
            card = scorecard_of(sampled, targets=targets, factors=factors, min_coverage=options.min_coverage)
            return {f"{pillar}: {name}": known_number(value)
                    for pillar, name, value in zip(card["pillar"], card["indicator"], card["value"])}

        result.scorecard_intervals = _sampled(db, result, options, graphs, indicators, inputs.carbon, inputs)


def _colocation(db: sqlite_utils.Database, result: ParkAnalysis, graphs: _Graphs, options: AnalysisOptions) -> None:
    from .colocation import gaps_of, load_colocation_inputs, long_haul_of
    from .factors import factors_or_shipped, load_resource_sectors

    G = graphs.get(_COLOCATION_STATUSES, dated=False)  # co-location reads every year's flows
    inputs = load_colocation_inputs(db, result.park, G=G, parts=("long_haul", "gaps"))
    result.long_haul = long_haul_of(inputs, radius_km=options.radius_km, factors=factors_or_shipped(options.factors))
    result.gaps = gaps_of(inputs, sectors=options.sectors if options.sectors is not None else load_resource_sectors())


def _clusters(db: sqlite_utils.Database, result: ParkAnalysis, graphs: _Graphs, options: AnalysisOptions) -> None:
    from .colocation import clusters_of, load_colocation_inputs
    from .factors import factors_or_shipped

    inputs = load_colocation_inputs(db, result.park, G=graphs.get(_COLOCATION_STATUSES, dated=False),
                                    parts=("clusters",))
    result.clusters = clusters_of(inputs, radius_km=options.radius_km, match_km=options.match_km,
                                  weight=options.weight, factors=factors_or_shipped(options.factors))


def _matching(db: sqlite_utils.Database, result: ParkAnalysis, graphs: _Graphs, options: AnalysisOptions) -> None:
    from .co2uses import load_co2_uses
    from .factors import factors_or_shipped
    from .matching import load_matching_inputs, load_prices, load_substitutes, load_weights, match_of

    weights, method = ((options.weights, options.method) if options.weights is not None and options.method
                       else load_weights())
    inputs = load_matching_inputs(db, result.park, radius_km=options.match_radius_km)
    result.matches = match_of(inputs, weights=weights, method=method, factors=factors_or_shipped(options.factors),
                              substitutes=options.substitutes if options.substitutes is not None else load_substitutes(),
                              prices=options.prices if options.prices is not None else load_prices(),
                              co2_uses=options.co2_uses if options.co2_uses is not None else load_co2_uses())


#: each analysis's step, in the order their results feed each other
_STEPS: tuple[tuple[str, Callable[[sqlite_utils.Database, ParkAnalysis, _Graphs, AnalysisOptions], None]], ...] = (
    ("loops", _loops), ("metrics", _metrics), ("carbon", _carbon), ("allocation", _allocation),
    ("scorecard", _scorecard), ("colocation", _colocation), ("clusters", _clusters), ("matching", _matching))
