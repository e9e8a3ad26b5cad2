"""Scenarios side by side: every headline figure of a park under each scenario, and what each synergy adds.

:func:`compare_scenarios` applies each scenario to a copy of the park's inputs
(:func:`symbiosis.scenarios.materialise`), runs the park's analyses on it through the one pipeline
(:func:`symbiosis.pipeline.analyse_park`, the same code as the single commands) and gathers the headline
figures: loops, flow metrics per currency, the park-view carbon figures, every scorecard indicator with its
verdict, the tonne-km of the built mass flows, and the matchmaking plan's synergies the scenario builds.

Attribution (:attr:`Comparison.contributions`): for the scenario that builds the matchmaking plan, each
synergy's marginal contribution is the scenario's figure minus the same figure with that synergy alone
taken out (the plan without it, everything else kept). Interactions between synergies are not split: two
synergies that only work together each get the whole of their joint effect, and the contributions need
not add up to the plan's total change. A synergy's value and CO2 avoided are its own (they add up).
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import pandas as pd
import sqlite_utils

from .coverage import known_number
from .errors import InputError
from .pipeline import AnalysisOptions, ParkAnalysis, analyse_park, ran
from .settings import DEFAULT_ATTRIBUTED
from .scenarios import Scenario, materialise, park_copy, plan_flows_of, scenario_firms

__all__ = ["COMPARED_ANALYSES", "Comparison", "FIGURE_COLUMNS", "compare_scenarios", "scenario_figures",
           "scenario_networks"]

#: the analyses each scenario runs
COMPARED_ANALYSES = ("loops", "metrics", "carbon", "scorecard")
#: the columns of :attr:`Comparison.figures`
FIGURE_COLUMNS = ["section", "figure_id", "figure", "unit", "scenario", "value", "text", "status", "coverage",
                  "verdict", "lo", "hi", "change", "headline"]
_CURRENCIES = ("mass", "energy", "water")
#: a loop's currency: one of the four, or mixed (a loop through flows of several currencies)
_LOOP_CURRENCIES = ("mass", "energy", "water", "co2", "mixed")
_CURRENCY_UNITS = {"mass": "t/yr", "energy": "MWh/yr", "water": "m3/yr"}
_METRICS = (("FCI", "Finn cycling index", "-"), ("cyclicity", "cyclicity", "-"), ("TST", "total system throughflow", None),
            ("robustness", "robustness", "-"))
_CARBON = (("park_emissions", "park-view emissions"), ("stored", "CO2 stored"), ("utilised", "CO2 utilised"))
#: the figures drawn as bars of change in the report
_HEADLINES = {"loops.mass.cycled", "metrics.mass.fci", "metrics.energy.fci", "metrics.water.fci",
              "carbon.park_emissions", "carbon.stored", "carbon.avoided", "colocation.tkm", "matchmaking.value_cny"}


@dataclass
class Comparison:
    """What :func:`compare_scenarios` found.

    Attributes
    ----------
    park : str
    scenarios : list of str
        The scenario names in order; the first is the baseline of every change.
    figures : DataFrame
        One row per figure and scenario (:data:`FIGURE_COLUMNS`): ``value`` None when unknown (``text``
        says "unknown" and why in ``coverage``), ``status`` known, partial, unknown, capped or verdict,
        ``lo``/``hi`` the 90 % interval with ``samples``, ``change`` the value minus the baseline's.
    contributions : DataFrame
        One row per synergy of the plan, the largest contribution to park-view emissions first (see the
        module's docstring).
    networks : dict
        Scenario name -> its flow graph (:func:`symbiosis.graph.load_graph` of the scenario's copy), each
        flow it adds to the baseline marked ``scenario_change="added"``, each it scales ``"scaled"`` with
        ``quantity_before``.
    notes : list of str
    """

    park: str
    scenarios: list[str]
    figures: pd.DataFrame
    contributions: pd.DataFrame
    networks: dict[str, nx.MultiDiGraph] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        """The figures side by side: ``section, figure, unit``, then each scenario's text (a partial figure with
        what it stands on), then each later scenario's change against the first."""
        if self.figures.empty:
            return pd.DataFrame(columns=["section", "figure", "unit", *self.scenarios])
        order = list(dict.fromkeys(self.figures["figure_id"]))
        shown = self.figures.assign(text=[f"{text} (partial: {coverage})" if status == "partial" and coverage else text
                                          for text, status, coverage in zip(self.figures["text"], self.figures["status"],
                                                                            self.figures["coverage"])])
        wide = shown.pivot(index="figure_id", columns="scenario", values="text").reindex(order)
        wide = wide.reindex(columns=self.scenarios).fillna("no flows")  # a currency absent from a scenario
        changes = self.figures.pivot(index="figure_id", columns="scenario", values="change").reindex(order)
        first = self.figures.drop_duplicates("figure_id").set_index("figure_id").reindex(order)
        table = first[["section", "figure", "unit"]].copy()
        for name in self.scenarios:
            table[name] = wide[name]
        for name in self.scenarios[1:]:
            table[f"change: {name}"] = [_change_text(value) for value in changes[name]]
        return table.reset_index(drop=True)


def _change_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    return f"{value:+.4g}"


def _text(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _row(section: str, figure_id: str, figure: str, unit: str, value: Any, status: str | None = None,
         coverage: str | None = None, verdict: str | None = None, text: str | None = None) -> dict[str, Any]:
    number = known_number(value)
    status = status or ("known" if number is not None else "unknown")
    if number is None:
        status = "unknown"
    shown = text if text is not None else _text(number)
    if verdict:
        shown = f"{shown} ({verdict})"
    return {"section": section, "figure_id": figure_id, "figure": figure, "unit": unit, "value": number,
            "text": shown, "status": status, "coverage": coverage, "verdict": verdict,
            "headline": figure_id in _HEADLINES}


def _loop_figures(analysis: ParkAnalysis) -> list[dict[str, Any]]:
    search = analysis.loops
    if search is None:
        return []
    loops = search.loops
    capped = bool(search.capped)
    status = "capped" if capped else "known"

    def count_text(count: int) -> str:
        return f"at least {count:,} (capped)" if capped else f"{count:,}"

    rows = [_row("loops", "loops.count", "recycling loops", "loops", len(loops), status, text=count_text(len(loops)))]
    for currency in _LOOP_CURRENCIES:
        count = int((loops["currency"] == currency).sum()) if len(loops) else 0
        rows.append(_row("loops", f"loops.{currency}.count", f"recycling loops ({currency})", "loops", count, status,
                         text=count_text(count)))
    metrics = analysis.metrics
    if metrics is not None:
        by_currency = metrics.set_index("currency")
        for currency in _CURRENCIES:
            if currency in by_currency.index and (known_number(by_currency.loc[currency].get("flows")) or 0) > 0:
                row = by_currency.loc[currency]
                rows.append(_row("loops", f"loops.{currency}.cycled", f"cycled quantity ({currency})",
                                 _CURRENCY_UNITS[currency], row.get("cycled"), _metric_status(row),
                                 _metric_coverage(row)))
    return rows


def _metric_status(row: pd.Series) -> str:
    return "partial" if (known_number(row.get("flows_without_quantity")) or 0) > 0 else "known"


def _metric_coverage(row: pd.Series) -> str | None:
    reason = row.get("reason")
    if isinstance(reason, str) and reason:
        return reason
    flows, unknown = known_number(row.get("flows")), known_number(row.get("flows_without_quantity"))
    if flows is None:
        return None
    return f"{int(flows - (unknown or 0))} of {int(flows)} flows with a quantity"


def _metric_figures(analysis: ParkAnalysis) -> list[dict[str, Any]]:
    metrics = analysis.metrics
    rows: list[dict[str, Any]] = []
    if metrics is None:
        return rows
    by_currency = metrics.set_index("currency")
    for currency in _CURRENCIES:
        if currency not in by_currency.index or not (known_number(by_currency.loc[currency].get("flows")) or 0) > 0:
            continue  # a currency the scenario has no flow of (the table says "no flows")
        row = by_currency.loc[currency]
        for column, name, unit in _METRICS:
            rows.append(_row("metrics", f"metrics.{currency}.{column.lower()}", f"{name} ({currency})",
                             unit or _CURRENCY_UNITS[currency], row.get(column),
                             _metric_status(row) if column != "cyclicity" else "known", _metric_coverage(row)))
    return rows


def _carbon_figures(analysis: ParkAnalysis) -> list[dict[str, Any]]:
    from .carbon import park_totals

    rows: list[dict[str, Any]] = []
    if analysis.inventory is not None:
        inventory = analysis.inventory.set_index("figure")
        for figure, name in _CARBON:
            if figure in inventory.index:
                found = inventory.loc[figure]
                rows.append(_row("carbon", f"carbon.{figure}", name, "tCO2e/yr", found["value_t"], found["status"],
                                 found.get("coverage")))
    if analysis.balance is not None:
        totals = park_totals(analysis.balance).set_index("figure")
        found = totals.loc["avoided"]
        rows.append(_row("carbon", "carbon.avoided", "CO2 avoided by by-product exchanges", "tCO2e/yr",
                         found["value_t"], found["status"], found.get("coverage")))
    return rows


def _verdict(row: pd.Series) -> str | None:
    target = row.get("target")
    if target is None or (isinstance(target, float) and math.isnan(target)):
        return None
    passed = row.get("passed")
    if passed is True or passed == 1:
        return "pass"
    if passed is False or passed == 0:
        return "fail"
    return "insufficient data"


def _scorecard_figures(analysis: ParkAnalysis) -> list[dict[str, Any]]:
    card = analysis.scorecard
    if card is None:
        return []
    rows = []
    for _, row in card.iterrows():
        verdict = _verdict(row)
        rows.append(_row("scorecard", f"scorecard.{row['indicator']}", f"{row['pillar']}: {row['indicator']}",
                         row["unit"] or "", row["value"], "verdict" if verdict else None,
                         row.get("coverage") if isinstance(row.get("coverage"), str) else row.get("reason"),
                         verdict))
    return rows


def _tonne_km(G: nx.MultiDiGraph) -> dict[str, Any]:
    """Tonne-km of the built mass flows between two places: the transport co-location would shorten."""
    total, known, flows = 0.0, 0, 0
    for _, _, data in G.edges(data=True):
        if data.get("currency") != "mass" or data.get("boundary_label") is not None:
            continue
        flows += 1
        quantity, distance = data.get("quantity"), data.get("distance_km")
        if quantity is not None and distance is not None:
            known += 1
            total += quantity * distance
    status = "known" if known == flows else ("partial" if known else "unknown")
    return _row("colocation", "colocation.tkm", "transport of mass exchanges", "t·km/yr",
                total if known or not flows else None, status,
                f"{known} of {flows} mass exchanges with a quantity and a distance")


def scenario_figures(analysis: ParkAnalysis) -> list[dict[str, Any]]:
    """The headline figures of one park analysis (one scenario), as rows of :data:`FIGURE_COLUMNS`
    (without ``scenario``, ``lo``, ``hi``, ``change``)."""
    rows = _loop_figures(analysis) + _metric_figures(analysis) + _carbon_figures(analysis)
    rows += _scorecard_figures(analysis)
    rows.append(_tonne_km(analysis.existing))
    return rows


def _plan_values(matches: Any) -> pd.DataFrame:
    """Each plan exchange's own value and CO2 avoided (the candidate's, times its share in the plan), by
    the flow id the plan gives it (``match:<offer>><demand>``)."""
    if matches is None or matches.plan.empty:
        return pd.DataFrame(columns=["id", "value_cny", "co2_avoided_t"])
    from .matching import plan_flows

    plan = matches.plan
    share = pd.to_numeric(plan["plan_share"], errors="coerce")
    return pd.DataFrame({"id": plan_flows(matches)["id"].to_numpy(),  # one flow per plan row, in its order
                         "value_cny": pd.to_numeric(plan["value_cny"], errors="coerce") * share,
                         "co2_avoided_t": pd.to_numeric(plan["co2_avoided_t"], errors="coerce") * share})


def _matchmaking_figures(plan_flows: pd.DataFrame, values: pd.DataFrame) -> list[dict[str, Any]]:
    count = len(plan_flows)
    rows = [_row("matchmaking", "matchmaking.synergies", "synergies of the plan built", "exchanges", count,
                 text=f"{count:,}")]
    if not count:
        rows += [_row("matchmaking", "matchmaking.value_cny", "value of the plan's synergies", "CNY/yr", 0.0),
                 _row("matchmaking", "matchmaking.co2_avoided_t", "CO2 avoided by the plan's synergies", "tCO2e/yr",
                      0.0)]
        return rows
    joined = plan_flows[["id"]].merge(values, on="id", how="left")
    for column, figure_id, name, unit in (("value_cny", "matchmaking.value_cny", "value of the plan's synergies",
                                           "CNY/yr"),
                                          ("co2_avoided_t", "matchmaking.co2_avoided_t",
                                           "CO2 avoided by the plan's synergies", "tCO2e/yr")):
        known = joined[column].dropna()
        status = "known" if len(known) == count else ("partial" if len(known) else "unknown")
        rows.append(_row("matchmaking", figure_id, name, unit, known.sum() if len(known) else None, status,
                         f"{len(known)} of {count} synergies with a known {column.split('_')[0]}"))
    return rows


def _intervals(analysis: ParkAnalysis) -> dict[str, tuple[float | None, float | None]]:
    """``--samples`` intervals by figure id, where the analyses drew them."""
    found: dict[str, tuple[float | None, float | None]] = {}
    for frame, name_of in ((analysis.metric_intervals, _metric_interval_id),
                           (analysis.carbon_intervals, _carbon_interval_id),
                           (analysis.scorecard_intervals, _scorecard_interval_id)):
        if frame is None:
            continue
        for name, low, high in zip(frame["figure"], frame["low"], frame["high"]):
            figure_id = name_of(str(name))
            if figure_id:
                found[figure_id] = (known_number(low), known_number(high))
    return found


def _metric_interval_id(name: str) -> str | None:
    currency, _, metric = name.partition(": ")
    return f"metrics.{currency}.{metric.lower()}" if metric else None


def _carbon_interval_id(name: str) -> str | None:
    if name.startswith("park view: "):
        return f"carbon.{name.removeprefix('park view: ').split(',')[0]}"
    return "carbon.avoided" if name.startswith("CO2 avoided") else None


def _scorecard_interval_id(name: str) -> str | None:
    _, _, indicator = name.partition(": ")
    return f"scorecard.{indicator}" if indicator else None


def _marked_network(G: nx.MultiDiGraph, baseline: nx.MultiDiGraph | None) -> nx.MultiDiGraph:
    if baseline is None:
        return G
    before = {key: data.get("quantity") for _, _, key, data in baseline.edges(keys=True, data=True)}
    for _, _, key, data in G.edges(keys=True, data=True):
        if key not in before:
            data["scenario_change"] = "added"
        elif before[key] != data.get("quantity"):
            data["scenario_change"], data["quantity_before"] = "scaled", before[key]
    return G


def compare_scenarios(db: sqlite_utils.Database, park: str, scenarios: Sequence[Scenario], *,
                      options: AnalysisOptions | None = None, attribute: int = DEFAULT_ATTRIBUTED,
                      jobs: int | None = None) -> Comparison:
    """Every headline figure of a park under each scenario, and each plan synergy's contribution.

    Parameters
    ----------
    db : sqlite_utils.Database
        The store (only read: each scenario runs on an in-memory copy of the park's rows).
    park : str
    scenarios : sequence of Scenario
        :func:`symbiosis.scenarios.built_in` or :func:`symbiosis.scenarios.load_scenario`'s; the first is the
        baseline of the changes.
    options : AnalysisOptions, optional
        Every analysis's options (``samples`` gives each figure's 90 % interval in each scenario,
        ``estimates`` reads the stored reconciliation).
    attribute : int
        Work out the marginal contribution of this many of the plan's synergies, the most valuable first (one
        more carbon balance and cycling index of the plan scenario each; 0: none).
    jobs : int, optional
        Processes (default: two where there are two cores): the scenarios are analysed side by side, each
        worker forked from this process and given its scenario's store copy as bytes; 1 runs all here. The
        figures are the same either way.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> from symbiosis.store import open_store
    >>> from symbiosis.scenarios import built_in
    >>> db = open_store(":memory:")
    >>> _ = db["parks"].insert({"id": "p", "name": "Park"})
    >>> compare_scenarios(db, "p", [built_in("as-is"), built_in("planned")]).scenarios
    ['as-is', 'planned']
    """
    if not scenarios:
        raise InputError("compare needs at least one scenario")
    names = [scenario.name for scenario in scenarios]
    if len(set(names)) != len(names):
        raise InputError(f"a scenario is named twice: {', '.join(names)}")
    options = options or AnalysisOptions()
    notes: list[str] = []
    plan_values, shared_plan = None, None
    if any(scenario.with_plan for scenario in scenarios):
        # one matchmaking of the park as it is gives the plan (unless one is saved) and each synergy's value
        matches = analyse_park(db, park, analyses=("matching",), options=options).matches
        plan_values = _plan_values(matches)
        shared_plan, plan_notes = plan_flows_of(db, park, matches)
        notes += plan_notes
    base = park_copy(db, park, scenario_firms(scenarios, shared_plan))  # one copy of the park, cloned per scenario
    built = [materialise(db, park, scenario, options=options, plan=shared_plan, base=base) for scenario in scenarios]
    for copy in built:
        notes += [note for note in copy.notes if note not in notes]
    values = plan_values if plan_values is not None else pd.DataFrame()
    # the scenario whose synergies are attributed is analysed here (its analysis is needed again); the others, when
    # there are two cores, in a forked process at the same time (each ships its store copy as bytes)
    here = next((number for number, copy in enumerate(built) if copy.scenario.with_plan and len(copy.plan_flows)),
                len(built) - 1)
    elsewhere = [number for number in range(len(built)) if number != here]
    results: dict[int, tuple[list[dict[str, Any]], str | None, nx.MultiDiGraph]] = {}
    pool = _pool(jobs, len(elsewhere))
    try:
        pending = {number: pool.submit(_analyse_copy, built[number].db.conn.serialize(), park, built[number].scenario,
                                       built[number].plan_flows, values, options) for number in elsewhere} if pool else {}
        analysis = analyse_park(built[here].db, park, analyses=COMPARED_ANALYSES, options=options)
        results[here] = (*_scenario_rows(analysis, built[here], values, options), analysis.existing)
        contributions = _empty_contributions()
        if attribute > 0 and built[here].scenario.with_plan and len(built[here].plan_flows) and plan_values is not None:
            contributions, attribution_notes = _contributions(park, built[here], analysis, plan_values, options,
                                                              attribute)
            notes += attribution_notes
        for number in elsewhere:
            results[number] = (pending[number].result() if number in pending else
                               _analyse_copy(None, park, built[number].scenario, built[number].plan_flows, values,
                                             options, db=built[number].db))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    rows: list[dict[str, Any]] = []
    networks: dict[str, nx.MultiDiGraph] = {}
    for number, scenario in enumerate(scenarios):
        scenario_rows, estimates_note, existing = results[number]
        rows += scenario_rows
        if estimates_note:
            notes.append(f"{scenario.name}: {estimates_note}")
        networks[scenario.name] = _marked_network(existing, networks.get(names[0]))
    figures_frame = _with_changes(pd.DataFrame(rows, columns=FIGURE_COLUMNS), names[0])
    return Comparison(park=park, scenarios=names, figures=figures_frame, contributions=contributions,
                      networks=networks, notes=notes)


def _pool(jobs: int | None, tasks: int):
    """A process pool of ``jobs - 1`` forked workers (the caller is the other), or None: one job, nothing to share
    out, or no fork on this platform (each worker starts from the caller's memory, so no import is paid again)."""
    import multiprocessing
    import os
    import sys
    from concurrent.futures import ProcessPoolExecutor

    jobs = jobs if jobs is not None else min(2, os.cpu_count() or 1)
    if jobs < 2 or tasks == 0 or not sys.platform.startswith("linux"):
        return None
    return ProcessPoolExecutor(max_workers=min(jobs - 1, tasks), mp_context=multiprocessing.get_context("fork"))


def _scenario_rows(analysis: ParkAnalysis, built: Any, values: pd.DataFrame,
                   options: AnalysisOptions) -> tuple[list[dict[str, Any]], str | None]:
    """One scenario's figure rows (with their intervals under ``samples``) and its estimates note."""
    intervals = _intervals(analysis) if options.samples else {}
    figures = scenario_figures(analysis) + _matchmaking_figures(built.plan_flows, values)
    rows = []
    for figure in figures:
        low, high = intervals.get(figure["figure_id"], (None, None))
        rows.append({**figure, "scenario": built.scenario.name, "lo": low, "hi": high})
    return rows, analysis.estimates_note


def _analyse_copy(serialised: bytes | None, park: str, scenario: Scenario, plan_flows: pd.DataFrame,
                  values: pd.DataFrame, options: AnalysisOptions,
                  db: sqlite_utils.Database | None = None) -> tuple[list[dict[str, Any]], str | None, nx.MultiDiGraph]:
    """A scenario's figures from its store copy (given, or as the bytes a forked worker receives)."""
    import sqlite3

    from .scenarios import Materialised

    if db is None:
        connection = sqlite3.connect(":memory:")
        connection.deserialize(serialised or b"")
        db = sqlite_utils.Database(connection)
    analysis = analyse_park(db, park, analyses=COMPARED_ANALYSES, options=options)
    rows, note = _scenario_rows(analysis, Materialised(db=db, scenario=scenario, plan_flows=plan_flows), values,
                                options)
    return rows, note, analysis.existing


def scenario_networks(db: sqlite_utils.Database, park: str, scenarios: Sequence[Scenario], *,
                      options: AnalysisOptions | None = None) -> dict[str, nx.MultiDiGraph]:
    """Each scenario's flow network (no analysis run): what the map draws, the first scenario the baseline.

    Returns
    -------
    dict
        Scenario name -> :func:`symbiosis.graph.load_graph` of the scenario's copy (its built flows), each
        flow added to the baseline marked ``scenario_change="added"``, each scaled one ``"scaled"`` with
        ``quantity_before``.
    """
    from .graph import load_graph

    options = options or AnalysisOptions()
    plan = None
    if any(scenario.with_plan for scenario in scenarios):
        plan, _ = plan_flows_of(db, park, options=options)
    networks: dict[str, nx.MultiDiGraph] = {}
    base = park_copy(db, park, scenario_firms(scenarios, plan))
    for scenario in scenarios:
        built = materialise(db, park, scenario, options=options, plan=plan, base=base)
        G = load_graph(built.db, park, year=options.year, status="existing", estimates=options.estimates)
        networks[scenario.name] = _marked_network(G, networks.get(scenarios[0].name))
    return networks


def _with_changes(figures: pd.DataFrame, baseline: str) -> pd.DataFrame:
    base = figures[figures["scenario"] == baseline].set_index("figure_id")["value"].to_dict()
    changes = []
    for figure_id, value in zip(figures["figure_id"], figures["value"]):
        before = base.get(figure_id)
        known = value is not None and before is not None and not (isinstance(value, float) and math.isnan(value)) \
            and not (isinstance(before, float) and math.isnan(before))
        changes.append(float(value) - float(before) if known else None)
    figures["change"] = pd.Series(changes, index=figures.index, dtype=object)
    for column in ("value", "lo", "hi"):
        figures[column] = figures[column].astype(object).where(figures[column].notna(), None)
    return figures


_CONTRIBUTION_COLUMNS = ["synergy", "flow_id", "source_name", "target_name", "resource_name", "quantity", "unit",
                         "co2_avoided_t", "value_cny", "park_emissions_change_t", "avoided_change_t", "fci_change_mass",
                         "fci_change_energy", "fci_change_water"]


def _empty_contributions() -> pd.DataFrame:
    return pd.DataFrame(columns=_CONTRIBUTION_COLUMNS)


@contextlib.contextmanager
def _without_edge(G: nx.MultiDiGraph, source: str, target: str, key: str) -> Iterator[None]:
    """``G`` with one edge taken out for the duration, then put back as it was. The graph still keeps its
    contract (an edge fewer of those load_graph checked), so its count of checked edges follows: the analyses'
    validate_graph does not walk it again for each synergy."""
    data = G.edges[source, target, key]
    checked = G.graph.get("contract_edges")
    G.remove_edge(source, target, key)
    if checked is not None:
        G.graph["contract_edges"] = checked - 1
    try:
        yield
    finally:
        G.add_edge(source, target, key, **data)
        if checked is not None:
            G.graph["contract_edges"] = checked


def _difference(with_it: float | None, without: float | None) -> float | None:
    return None if with_it is None or without is None else with_it - without


def _fci(G: nx.MultiDiGraph, currency: str, options: AnalysisOptions) -> float | None:
    """The FCI column of ``metrics`` for one currency (its guards included), without the other metrics."""
    from .metrics import flow_model, known_cycling_index, metric_rows

    if options.balance:  # a balanced model: the metrics' own path
        return known_number(metric_rows(G, (currency,), orientation=options.throughflow,
                                  imbalance_threshold=options.imbalance_threshold, min_coverage=options.min_coverage,
                                  balance=options.balance)[0]["FCI"])
    fci, _ = known_cycling_index(flow_model(G, currency), orientation=options.throughflow,
                                 min_coverage=options.min_coverage)
    return fci


def _contributions(park: str, built: Any, analysis: ParkAnalysis, values: pd.DataFrame, options: AnalysisOptions,
                   limit: int) -> tuple[pd.DataFrame, list[str]]:
    """Each plan synergy's marginal contribution: the plan scenario's figures minus those without it.

    A synergy's flow is of one currency, so only that currency's cycling index can change (the others'
    change is exactly 0 where known); and only CO2, a material or waste (a by-product exchange) or energy
    that scope 2 covers enters the park-view emissions or the CO2 avoided (a water or other energy flow
    changes neither: exactly 0). The carbon figures are recomputed from the scenario's carbon inputs with the
    flow taken out of their graph, of the exchanges read beside it and of the scope-2 purchases it counted in
    (:func:`_carbon_without`)."""
    from .inventory import load_offsets
    from .pipeline import carbon_headlines
    from .units import CURRENCY, SCOPE2_CARRIERS

    quiet = AnalysisOptions(**{**options.__dict__, "samples": None})  # contributions are on the data
    G = analysis.existing
    carbon = ran(analysis.graphs.carbon, "carbon")  # the plan scenario's carbon inputs (COMPARED_ANALYSES)
    offsets = load_offsets(built.db, park, year=options.year)
    with_plan = carbon_headlines(carbon, quiet, offsets)
    fci_with = {currency: _fci(G, currency, quiet) for currency in _CURRENCIES}
    plan = built.plan_flows.merge(values, on="id", how="left")
    plan = plan.sort_values("value_cny", ascending=False, na_position="last", kind="stable")
    notes = []
    if len(plan) > limit:
        notes.append(f"contributions of the {limit} most valuable of the plan's {len(plan)} synergies "
                     "(compare --attribute N for more)")
        plan = plan.head(limit)
    names = dict(built.db.execute("SELECT id, name FROM enterprises").fetchall())
    resource_kinds = {code: (name, kind) for code, name, kind in built.db.execute("SELECT code, name, kind FROM resources")}
    ends = {key: (source, target) for source, target, key in G.edges(keys=True)}
    carbon_ends = ({key: (source, target) for source, target, key in carbon.G.edges(keys=True)}
                   if carbon.G is not None else {})
    rows = []
    for flow in plan.to_dict("records"):
        resource_name, kind = resource_kinds[flow["resource_code"]]
        currency = CURRENCY[kind]
        # another currency's FCI is untouched: exactly 0 where it is known, unknown where it is
        fci_changes = {f"fci_change_{name}": 0.0 if fci_with[name] is not None else None for name in _CURRENCIES}
        if currency in _CURRENCIES and flow["id"] in ends:
            with _without_edge(G, *ends[flow["id"]], flow["id"]):
                fci_changes[f"fci_change_{currency}"] = _difference(fci_with[currency], _fci(G, currency, quiet))
        carbon_changes: dict[str, float | None] = {"park_emissions_change_t": 0.0, "avoided_change_t": 0.0}
        if flow["id"] in carbon_ends or kind in ("material", "waste", "co2") or flow["resource_code"] in SCOPE2_CARRIERS:
            without = _carbon_without(carbon, flow, carbon_ends.get(flow["id"]), quiet, offsets)
            carbon_changes = {f"{name}_change_t": _difference(with_plan[name], without[name])
                              for name in ("park_emissions", "avoided")}
        rows.append({"flow_id": flow["id"], "source_name": names.get(flow["source_id"], flow["source_id"]),
                     "target_name": names.get(flow["target_id"], flow["target_id"]), "resource_name": resource_name,
                     "quantity": known_number(flow.get("quantity")), "unit": flow.get("unit"),
                     "co2_avoided_t": known_number(flow.get("co2_avoided_t")),
                     "value_cny": known_number(flow.get("value_cny")),
                     **carbon_changes, **fci_changes})
    frame = pd.DataFrame(rows, columns=[column for column in _CONTRIBUTION_COLUMNS if column != "synergy"])
    if len(frame):
        # the largest cut in park-view emissions first (most negative change), then value
        order = frame.assign(_cut=pd.to_numeric(frame["park_emissions_change_t"], errors="coerce").fillna(0.0),
                             _value=pd.to_numeric(frame["value_cny"], errors="coerce").fillna(0.0))
        frame = frame.loc[order.sort_values(["_cut", "_value"], ascending=[True, False], kind="stable").index]
    frame = frame.reset_index(drop=True)
    frame.insert(0, "synergy", range(1, len(frame) + 1))
    return frame.astype(object).where(frame.notna(), None), notes


def _carbon_without(carbon: Any, flow: dict[str, Any], ends: tuple[str, str] | None, options: AnalysisOptions,
                    offsets: pd.DataFrame) -> dict[str, float | None]:
    """The carbon headline figures with one flow taken out of the carbon inputs: out of their graph (removed
    and put back), out of the exchanges read beside it, out of the scope-2 purchases it counted in."""
    import dataclasses

    from .carbon import purchases_without
    from .pipeline import carbon_headlines

    without = dataclasses.replace(
        carbon, outside_records=[record for record in carbon.outside_records or [] if record[0] != flow["id"]]
        if carbon.outside_records is not None else None,
        purchases=purchases_without(carbon, source=flow.get("source_id"), target=flow.get("target_id"),
                                    resource=flow["resource_code"], quantity=known_number(flow.get("quantity"))))
    if ends is None or carbon.G is None:
        return carbon_headlines(without, options, offsets)
    with _without_edge(carbon.G, *ends, flow["id"]):
        return carbon_headlines(without, options, offsets)
