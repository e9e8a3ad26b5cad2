"""The park report: one self-contained HTML page that people would rather look at than read.

Summary counts, the scorecard against the standard's five pillars, the top loops, CO2 absorption
nodes and allocation, co-location opportunities, the top synergies, a few inline SVG plots, the
interactive map (in a sandboxed ``srcdoc`` frame) and, when given, a comparison of scenarios
(:func:`scenario_section`: every figure per scenario, the changes against the baseline, each synergy's
contribution). Everything is inline: the page needs no network.
Every text from data is HTML-escaped by the template (Jinja2 autoescape); the map's own page is
escaped once more as the frame's ``srcdoc`` attribute. A sum beyond the largest float (flows near
1.7e308 t) prints as "unknown (too large to add up)" and is left out of the plots, never drawn as inf.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import jinja2
import pandas as pd

from symbiosis.errors import InputError

from .map import KIND_COLOURS, store_map
from .page import HtmlPage
from .plots import bar_chart, change_bars, sankey, waterfall

__all__ = ["build_report", "scenario_section"]

log = logging.getLogger(__name__)

_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                                autoescape=jinja2.select_autoescape(["html"]))


_TOO_LARGE = "unknown (too large to add up)"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isinf(value):
            return _TOO_LARGE
        if abs(value) >= 1e15:  # 1.7e+308, not 309 digits
            return f"{value:.4g}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


_TEMPLATES.filters["cell"] = _cell


def _is_figure(values: pd.Series) -> bool:
    known = values.dropna()
    return bool(len(known)) and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in known)


def _table(frame: pd.DataFrame | None, columns: dict[str, str], limit: int = 15, empty: str = "None found.",
           figures: tuple[str, ...] = ()) -> dict:
    """Rows for the template: {"headers", "rows", "more", "note"}.

    A figure column (numbers, or one of ``figures``) shows an unknown value as "unknown", never blank;
    ``note`` is what the analysis said about the table (``frame.attrs["note"]``: why it is empty or
    partial), else ``empty`` for an empty table.
    """
    note = None if frame is None else frame.attrs.get("note")
    if frame is None or frame.empty:
        return {"headers": list(columns.values()), "rows": [], "more": 0, "note": note or empty}
    shown = frame.head(limit)
    figure = {column: column in figures or (column in shown and _is_figure(shown[column])) for column in columns}
    rows = [[("unknown" if figure[column] and _missing(row.get(column)) else row.get(column)) for column in columns]
            for row in shown.to_dict("records")]
    return {"headers": list(columns.values()), "rows": rows, "more": max(len(frame) - limit, 0), "note": note}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _finite(value) -> bool:
    """A figure that can be drawn: known and not beyond the largest float."""
    return not _missing(value) and math.isfinite(float(value))


def _amount(value, unit: str = "t") -> str:
    """A figure in a sentence: '1,234 t', or 'unknown' (never a sentence with its number missing)."""
    if not _missing(value) and math.isinf(float(value)):
        return _TOO_LARGE
    return "unknown" if _missing(value) else f"{_cell(value)} {unit}"


def _park_section(db, park: str, include_map: bool, scenarios: dict | None = None) -> dict:
    """One park's part of the page; ``scenarios`` is its precomputed :func:`scenario_section` (shown when given)."""
    from symbiosis.pipeline import PAGE_ANALYSES, PAGE_OPTIONS, analyse_park, ran

    analysis = analyse_park(db, park, analyses=PAGE_ANALYSES, options=PAGE_OPTIONS)
    name, existing = analysis.name, analysis.existing
    firms = [node for node, data in existing.nodes(data=True) if not data.get("boundary")]
    kinds: dict[str, list] = {}
    for _, _, data in existing.edges(data=True):
        entry = kinds.setdefault(data["kind"], [0, None, data["unit"], 0])
        entry[0] += 1
        if data["quantity"] is None:
            entry[3] += 1
        else:  # a sum of known quantities; None while none is known
            entry[1] = (entry[1] or 0.0) + data["quantity"]
    flows_by_kind = pd.DataFrame([{"kind": kind, "flows": count, "quantity": total, "unit": unit, "unknown": unknown}
                                  for kind, (count, total, unit, unknown) in sorted(kinds.items())])
    overflowed = sorted(kind for kind, (_, total, _, _) in kinds.items() if total is not None and math.isinf(total))
    if overflowed:
        flows_by_kind.attrs["note"] = (f"the known quantities of {', '.join(overflowed)} flows add up beyond the "
                                       "largest float (about 1.8e308): their total is unknown")
    card, loops, inventory, nodes, allocation = (ran(analysis.scorecard, "scorecard"), ran(analysis.loops, "loops"),
                                                  ran(analysis.inventory, "carbon"), analysis.absorbers,
                                                  ran(analysis.allocation, "allocation"))
    figures = dict(zip(inventory["figure"], inventory["value_t"]))
    haul, missing, synergies = analysis.long_haul, analysis.gaps, ran(analysis.matches, "matching")
    plan = synergies.plan  # numbered 1..n (plan_row), each with its rank among all candidates
    if synergies.notes and not plan.attrs.get("note"):
        plan.attrs["note"] = "; ".join(synergies.notes)

    mass_flows = sorted(((data["quantity"], u, v, data["kind"]) for u, v, data in existing.edges(data=True)
                         if data["currency"] == "mass" and data["quantity"]), reverse=True)[:14]
    if not math.isfinite(sum(quantity for quantity, *_ in mass_flows)):
        mass_flows = []  # a Sankey of flows whose sum overflows cannot be scaled: not drawn
    label = lambda node: str(existing.nodes[node].get("name") or node)  # noqa: E731
    exchange_sides = db.execute(
        "SELECT (SELECT count(*) FROM offers o JOIN enterprises e ON e.id = o.enterprise_id WHERE e.park_id = ?), "
        "(SELECT count(*) FROM demands d JOIN enterprises e ON e.id = d.enterprise_id WHERE e.park_id = ?)",
        (park, park)).fetchone()
    no_sides = ("No offers or demands in the store for this park's firms: load offers and demands files "
                "to find gaps and synergies." if not any(exchange_sides) else None)
    plots = [
        bar_chart([(kind, float(count), KIND_COLOURS.get(kind, "#999")) for kind, (count, *_rest) in sorted(kinds.items())],
                  "Flows by kind (number of existing flows)"),
        sankey([(label(u), label(v), quantity, KIND_COLOURS.get(kind, "#999")) for quantity, u, v, kind in mass_flows],
               "Main material and waste flows", "t/yr"),
    ]
    gross = (figures["scope1_once"] + figures["scope2_outside_location"]
             if _finite(figures["scope1_once"]) and _finite(figures["scope2_outside_location"]) else None)
    if gross is not None and gross > 0:
        # the park view, each tonne once; only known parts are drawn, an unknown part is named in the title
        parts = {"stored for good": figures["stored"], "green certificates": figures["green_certificates"],
                 "offsets": figures["offsets"]}
        unknown = [label if value is None or pd.isna(value) else f"{label} too large to add up"
                   for label, value in parts.items() if not _finite(value)]
        plots.append(waterfall([("scope 1 once + scope 2 from outside", float(gross))]
                               + [(label, float(value)) for label, value in parts.items() if _finite(value)],
                               "Park emissions (park view) to the residual"
                               + (f" ({', '.join(unknown)}: unknown)" if unknown else ""), "tCO2e/yr"))
    return {
        "id": park, "name": name, "firms": len(firms), "flows": existing.number_of_edges(),
        "flows_by_kind": _table(flows_by_kind, {"kind": "kind", "flows": "flows", "quantity": "known quantity",
                                                "unit": "unit", "unknown": "without quantity"},
                                figures=("quantity",), empty="No existing flows in the store for this park."),
        "scorecard": card.astype(object).where(card.notna(), None).to_dict("records"),
        "loops_count": len(loops.loops),
        "loops": _table(loops.loops, {"rank": "#", "currency": "currency", "length": "firms", "bottleneck": "bottleneck",
                                      "unit": "unit", "names": "loop", "resources": "resources"}, 10,
                        empty="No recycling loop among the park's firms in the existing flows.",
                        figures=("bottleneck",)),
        "loops_capped": loops.capped,
        "park_view": _table(inventory, {"figure": "figure", "value_t": "tCO2e/yr", "status": "status",
                                        "rule": "rule"}, empty="No emissions in the store for this park.",
                            figures=("value_t",)),
        "absorbers": _table(nodes, {"rank": "#", "name": "firm", "co2_use": "CO2 use",
                                    "stored_t": "stored for good (tCO2e/yr)", "utilised_t": "utilised (tCO2e/yr)",
                                    "avoided_t": "avoided (tCO2e/yr)",
                                    "stored_share_of_park_emissions": "stored, share of park emissions",
                                    "carbon_pagerank": "carbon PageRank"}, 10,
                            empty="No firm takes in CO2 in the existing flows.",
                            figures=("stored_t", "utilised_t", "avoided_t", "stored_share_of_park_emissions",
                                     "carbon_pagerank")),
        "allocation": _table(allocation.pairs, {"emitter": "emitter", "absorber": "absorber", "tonnes": "tCO2/yr",
                                                "distance_km": "km"}, 10,
                                 empty="; ".join(getattr(allocation, "notes", [])) or
                                 "No emitter-absorber pair to allocate: no firm offers CO2 that a taker within reach "
                                 "demands.",
                                 figures=("tonnes", "distance_km")),
        "allocation_sentence": _allocation_sentence(allocation.summary.iloc[0].to_dict()),
        # the allocation's notes: in place of an empty table (above), else below it
        "allocation_notes": list(getattr(allocation, "notes", [])) if len(allocation.pairs) else [],
        "absorbable_percent": (f"{100 * allocation.summary.iloc[0]['absorbable_share']:.1f} %"
                               if _finite(allocation.summary.iloc[0]["absorbable_share"]) else "unknown"),
        "long_haul": _table(haul, {"supplier": "supplier", "taker": "taker", "resource": "resource",
                                   "quantity": "quantity", "unit": "unit", "distance_km": "km",
                                   "host_park": "host park", "saved_tco2e": "saved (tCO2e/yr)", "note": "note"}, 10,
                            empty="No exchange longer than the co-location radius among those with known distances.",
                            figures=("quantity", "distance_km", "saved_tco2e")),
        "gaps": _table(missing, {"side": "gap", "enterprise": "firm", "resource": "resource", "quantity": "quantity",
                                 "unit": "unit", "sectors": "sectors to attract"}, 15,
                       empty=no_sides or "Every offer has a taker and every demand a supplier in the park.",
                       figures=("quantity",)),
        "synergies": _table(plan, {"plan_row": "#", "candidate_rank": "candidate rank", "score": "score",
                                   "offer_name": "gives", "demand_name": "takes",
                                   "offered": "offered", "demanded": "demanded", "plan_quantity": "planned",
                                   "unit": "unit", "distance_km": "km", "co2_avoided_t": "CO2 avoided (t/yr)",
                                   "value_cny": "value (CNY/yr)"}, 15,
                            empty=no_sides or "No offer and demand of the park match within the matching radius.",
                            figures=("plan_quantity", "co2_avoided_t", "value_cny", "distance_km")),
        "reconciled": _reconciled(db, park),
        "plots": [plot for plot in plots if plot],
        "map": store_map(db, park=park) if include_map else None,
        "scenarios": scenarios,
    }


#: a 90 % interval of a normal estimate: value +- 1.645 standard deviations
_Z90 = 1.6448536269514722


def _reconciled(db, park: str) -> dict | None:
    """The park's latest stored reconciliation of each currency: which flows were estimated (adjusted,
    determined, left undetermined), with 90 % intervals; None when the park has none (the section is not
    shown). The page's other figures stay on the imported data."""
    runs = db.execute("SELECT max(id) FROM reconciliations WHERE park_id = ? GROUP BY currency", (park,)).fetchall()
    if not runs:
        return None
    ids = [run for (run,) in runs]
    marks = ", ".join("?" for _ in ids)
    summary = pd.DataFrame(db.execute(
        f"SELECT id, currency, year, flows, measured, unknown, determined, chi2, dof, p_value, passed "
        f"FROM reconciliations WHERE id IN ({marks}) ORDER BY currency", ids).fetchall(),
        columns=["id", "currency", "year", "flows", "measured", "unknown", "determined", "chi2", "dof", "p_value",
                 "passed"])
    summary["passed"] = summary["passed"].map({1: "yes", 0: "no: see the flagged flows"}).fillna("nothing to test")
    flows = pd.DataFrame(db.execute(
        "SELECT e.flow_id, r.currency, e.status, e.measured, e.value, e.sd, e.gross_error, e.reason FROM estimates e "
        f"JOIN reconciliations r ON r.id = e.reconciliation_id WHERE e.reconciliation_id IN ({marks}) AND "
        "e.status <> 'kept' ORDER BY e.gross_error DESC, r.currency, e.status, e.flow_id", ids).fetchall(),
        columns=["flow_id", "currency", "status", "measured", "value", "sd", "gross_error", "reason"])
    flows["low"] = (flows["value"] - _Z90 * flows["sd"]).clip(lower=0.0)
    flows["high"] = flows["value"] + _Z90 * flows["sd"]
    flows["gross_error"] = flows["gross_error"].map({1: "likely", 0: ""})
    return {
        "summary": _table(summary, {"id": "reconciliation", "currency": "currency", "flows": "flows",
                                    "measured": "measured", "unknown": "unknown", "determined": "determined",
                                    "chi2": "chi-square", "dof": "degrees of freedom", "p_value": "p",
                                    "passed": "balances consistent"}, figures=("chi2", "p_value")),
        "flows": _table(flows, {"flow_id": "flow", "currency": "currency", "status": "estimate",
                                "measured": "measured", "value": "reconciled", "sd": "sd", "low": "90 % low",
                                "high": "90 % high", "gross_error": "gross error", "reason": "why not estimated"},
                        30, empty="No flow was adjusted or determined.",
                        figures=("measured", "value", "sd", "low", "high")),
    }


def _allocation_sentence(summary: dict) -> str:
    """The CO2 allocation in one sentence, each figure known or said to be unknown."""
    return (f"Park emissions (park view): {_amount(summary.get('emitted_t'))}; stored for good by existing flows: "
            f"{_amount(summary.get('stored_existing_t'))} (utilised, back in the air within months: "
            f"{_amount(summary.get('utilised_existing_t'))}); newly allocated: {_amount(summary.get('allocated_t'))}, "
            f"of which stored for good: {_amount(summary.get('allocated_stored_t'))} (nearest-first would allocate "
            f"{_amount(summary.get('allocated_greedy_t'))}); not stored: {_amount(summary.get('unabsorbed_t'))}.")


def build_report(db, park: str | None = None, *, include_map: bool = True, max_parks: int = 20,
                 scenarios: Sequence[str] | None = None) -> HtmlPage:
    """The report page for one park, or for every park (the first ``max_parks``, the rest named).

    Parameters
    ----------
    scenarios : sequence of str, optional
        Scenarios to compare in the park's section (:func:`symbiosis.compare.compare_scenarios`): built-in
        names (as-is, planned, plan), stored scenarios or scenario files; the first is the baseline.
        Needs ``park``.

    Returns
    -------
    str
        A self-contained HTML page.
    """
    from symbiosis.store import park_exists, park_ids

    parks = [park] if park else park_ids(db)
    if park and not park_exists(db, park):
        from symbiosis.errors import UnknownIdError

        raise UnknownIdError(f"no park {park!r} in the store")
    compared = None
    if scenarios:
        from symbiosis.compare import compare_scenarios
        from symbiosis.scenarios import load_scenario

        if not park:
            raise InputError("scenarios are a park's: give a park")
        comparison = compare_scenarios(db, park, [found for name in scenarios for found in load_scenario(db, park, name)])
        compared = scenario_section(comparison.figures, comparison.contributions, comparison.scenarios)
    sections = [_park_section(db, park_id, include_map, scenarios=compared if park_id == park else None)
                for park_id in parks[:max_parks]]
    title = sections[0]["name"] if park and sections else "Industrial symbiosis report"
    return _render_page(sections, title, left_out=parks[max_parks:])


def _render_page(sections: list[dict], title: str, *, left_out: list[str] | None = None) -> HtmlPage:
    """The page around park sections (each as :func:`_park_section` returns it), ``left_out`` the parks not shown."""
    return HtmlPage(_TEMPLATES.get_template("report.html").render(
        title=title, sections=sections, left_out=left_out or [],
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")), height=900)


# ---------------------------------------------------------------------------------- scenarios

#: the figure sections of a scenario comparison in display order, with their headings
SCENARIO_SECTIONS = {"loops": "Recycling loops", "metrics": "Network metrics", "carbon": "Carbon",
                     "scorecard": "Zero-carbon park scorecard", "colocation": "Co-location",
                     "matchmaking": "Matchmaking plan"}
_FIGURE_COLUMNS = ("section", "figure_id", "figure", "unit", "scenario", "value", "text", "status", "coverage",
                   "lo", "hi", "change", "headline")
#: the contributions table: column -> heading (its figure columns show an unknown value as "unknown")
_CONTRIBUTION_COLUMNS = {"synergy": "#", "flow_id": "flow", "source_name": "gives", "target_name": "takes",
                         "resource_name": "resource", "quantity": "quantity", "unit": "unit",
                         "co2_avoided_t": "CO2 avoided (t/yr)", "value_cny": "value (CNY/yr)",
                         "park_emissions_change_t": "park emissions change (tCO2e/yr)",
                         "avoided_change_t": "CO2 avoided change (tCO2e/yr)",
                         "fci_change_mass": "FCI change (mass)", "fci_change_energy": "FCI change (energy)",
                         "fci_change_water": "FCI change (water)"}
CONTRIBUTION_METHOD = ("Each synergy's marginal contribution: the plan's figures minus the plan without that synergy; "
                       "interactions between synergies are not split.")
_NOT_COMPUTED = "not computed"


def _signed(value, unit: str = "") -> str:
    """A change with its sign: '+1,234 t', '-0.012', '0 t'; 'unknown' for None (never a 0 for it)."""
    unit = _unit(unit)
    if _missing(value) or math.isinf(float(value)):
        return _amount(value, unit)
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return sign + _amount(abs(float(value)), unit).rstrip()


def _unit(unit) -> str:
    """A unit to print after a number: none for a dimensionless figure ("" or "-")."""
    return "" if unit in (None, "-") else str(unit)


def _scenario_cell(row: dict | None) -> dict:
    """One figure under one scenario: its text, its 90 % interval when sampled, its coverage when partial (or
    the reason when unknown)."""
    if row is None:
        return {"text": _NOT_COMPUTED, "interval": None, "coverage": None, "status": "unknown"}
    text = row["text"] or ("unknown" if _missing(row["value"]) else _cell(float(row["value"])))
    interval = (f"[{_cell(float(row['lo']))} - {_cell(float(row['hi']))}]"
                if not _missing(row["lo"]) and not _missing(row["hi"]) else None)
    # partial: the part of the data it stands on; unknown: why (compare puts the reason there)
    coverage = row["coverage"] if row["status"] in ("partial", "unknown") and row["coverage"] else None
    return {"text": text, "interval": interval, "coverage": coverage, "status": row["status"]}


def _change_text(row: dict | None, base: dict | None, unit: str) -> str:
    """One change column's cell: signed with its unit; 'unknown' when the change is; two verdicts without a
    number say whether the verdict moved ('same', 'fail -> pass'); a change between capped counts says so."""
    if row is None or base is None:
        return _NOT_COMPUTED
    if _missing(row["change"]) and row["status"] == base["status"] == "verdict":
        return "same" if row["text"] == base["text"] else f"{base['text']} -> {row['text']}"
    capped = " (capped)" if not _missing(row["change"]) and "capped" in (row["status"], base["status"]) else ""
    return _signed(row["change"], unit) + capped


def _figure_rows(figures: pd.DataFrame, scenarios: list[str]) -> dict[str, dict]:
    """figure_id -> {"meta": its first row, "rows": {scenario: row}}, in the frame's order."""
    shown = figures[figures["scenario"].isin(scenarios)]
    repeated = shown[shown.duplicated(["figure_id", "scenario"])]
    if len(repeated):
        pairs = ", ".join(f"{figure} under {scenario!r}" for figure, scenario in
                          repeated[["figure_id", "scenario"]].drop_duplicates().head(5).itertuples(index=False))
        raise InputError(f"the scenario figures repeat a figure for a scenario: {pairs}")
    by_figure: dict[str, dict] = {}
    for row in shown.astype(object).where(shown.notna(), None).to_dict("records"):
        entry = by_figure.setdefault(row["figure_id"], {"meta": row, "rows": {}, "headline": False})
        entry["rows"][row["scenario"]] = row
        entry["headline"] = entry["headline"] or bool(row["headline"])
    return by_figure


def scenario_section(figures: pd.DataFrame, contributions: pd.DataFrame | None, scenarios: list[str], *,
                     top: int = 10) -> dict:
    """The report's comparison of scenarios, ready for the template (a park section's ``scenarios``).

    Parameters
    ----------
    figures
        One row per (figure, scenario): section, figure_id, figure, unit, scenario, value, text, status,
        coverage, lo, hi, change (against the baseline), headline. ``text`` is shown as given; a value or
        change of None is unknown and is never shown, nor drawn, as 0.
    contributions
        One row per synergy of the plan, in the order to show (the first ``top`` are shown); None (or ``top``
        0): no table.
    scenarios
        The scenario names in column order; the first is the baseline. Rows of other scenarios are left out.
    top
        How many synergies to list.

    Returns
    -------
    dict
        ``scenarios``, ``baseline``, ``others`` (the non-baseline names, one change column each), ``groups``
        (``[{"section", "title", "rows"}]``, each row ``{"id", "figure", "unit", "cells", "changes"}``),
        ``chart`` (inline SVG of the headline figures' changes, "" when there is none), ``unknown_changes``
        (the headline changes drawn without a bar), ``contributions`` (a table) and ``method``.

    Raises
    ------
    InputError
        No scenario, a scenario named twice, a missing column, a figure given twice for one scenario, or a
        negative ``top``.
    """
    if not scenarios:
        raise InputError("a scenario comparison needs at least one scenario (the first is the baseline)")
    if len(set(scenarios)) != len(scenarios):
        raise InputError(f"a scenario is named twice in {list(scenarios)!r}")
    if top < 0:
        raise InputError(f"top must be 0 or more, not {top}")
    absent = [column for column in _FIGURE_COLUMNS if column not in figures.columns]
    if contributions is not None:
        absent += [column for column in _CONTRIBUTION_COLUMNS if column not in contributions.columns]
    if absent:
        raise InputError(f"the scenario figures lack the columns {', '.join(absent)}")
    baseline, others = scenarios[0], list(scenarios[1:])
    by_figure = _figure_rows(figures, list(scenarios))
    order = list(SCENARIO_SECTIONS) + sorted({entry["meta"]["section"] for entry in by_figure.values()}
                                             - set(SCENARIO_SECTIONS))
    groups, bars, unknown = [], [], []
    for section in order:
        rows = []
        for figure_id, entry in by_figure.items():
            if entry["meta"]["section"] != section:
                continue
            meta, base = entry["meta"], entry["rows"].get(baseline)
            unit = meta["unit"] or ""
            changes = [_change_text(entry["rows"].get(name), base, unit) for name in others]
            rows.append({"id": figure_id, "figure": meta["figure"], "unit": unit, "changes": changes,
                         "cells": [_scenario_cell(entry["rows"].get(name)) for name in scenarios]})
            if entry["headline"] and others:
                drawn = []
                for name, text in zip(others, changes):
                    row = entry["rows"].get(name)
                    change = None if row is None or base is None or not _finite(row["change"]) else float(row["change"])
                    drawn.append((name, change, text if change is None else _signed(change)))
                    if change is None:
                        unknown.append(f"{meta['figure']} under {name}: {text}")
                bars.append((f"{meta['figure']} ({_unit(unit)})" if _unit(unit) else str(meta["figure"]), drawn))
        if rows:
            groups.append({"section": section, "title": SCENARIO_SECTIONS.get(section, section), "rows": rows})
    chart = change_bars(bars, others, f"Change against {baseline} (each figure on its own scale)")
    return {"scenarios": list(scenarios), "baseline": baseline, "others": others, "groups": groups,
            "chart": chart, "unknown_changes": unknown, "method": CONTRIBUTION_METHOD,
            # top=0 asks for no synergy: no table (an empty one would read as "the plan has none")
            "contributions": None if contributions is None or top == 0 else _table(
                contributions, _CONTRIBUTION_COLUMNS, top, empty="No synergy in the plan: nothing to attribute.",
                figures=("quantity", "co2_avoided_t", "value_cny", "park_emissions_change_t", "fci_change_mass",
                         "fci_change_energy", "fci_change_water"))}
