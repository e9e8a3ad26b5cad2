"""The park report: one self-contained HTML page that people would rather look at than read.

Summary counts, the scorecard against the standard's five pillars, the top loops, CO2 absorption
nodes and allocation, co-location opportunities, the top synergies, a few inline SVG plots and the
interactive map (in a sandboxed ``srcdoc`` frame). Everything is inline: the page needs no network.
Every text from data is HTML-escaped by the template (Jinja2 autoescape); the map's own page is
escaped once more as the frame's ``srcdoc`` attribute. A sum beyond the largest float (flows near
1.7e308 t) prints as "unknown (too large to add up)" and is left out of the plots, never drawn as inf.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
from pathlib import Path

import jinja2
import pandas as pd

from .map import KIND_COLOURS, store_map
from .page import HtmlPage
from .plots import bar_chart, sankey, waterfall

__all__ = ["build_report"]

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


def _park_section(db, park: str, include_map: bool) -> dict:
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


def build_report(db, park: str | None = None, *, include_map: bool = True, max_parks: int = 20) -> HtmlPage:
    """The report page for one park, or for every park (the first ``max_parks``, the rest named).

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
    sections = [_park_section(db, park_id, include_map) for park_id in parks[:max_parks]]
    title = sections[0]["name"] if park and sections else "Industrial symbiosis report"
    return HtmlPage(_TEMPLATES.get_template("report.html").render(
        title=title, sections=sections, left_out=parks[max_parks:],
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")), height=900)
