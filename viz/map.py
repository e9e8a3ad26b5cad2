"""Interactive network maps: vis-network (as shipped inside pyvis) drawn by our own template, offline.

pyvis's bundled template loads bootstrap from a CDN and, for titles containing "href", writes them with
``innerHTML``; so the map is rendered with :file:`templates/map.html` instead. Nodes and edges are built
directly as vis-network's option dicts (what pyvis's ``Network.add_node``/``add_edge`` make, without
their list scans, which cost O(nodes x edges) on a 5,000-node map). vis-network's script and
style (shipped inside pyvis) are inlined, data go into the page as JSON that cannot close its script
tag, and every text from data reaches the page through ``textContent``/``innerText`` (tooltips are
plain text, never HTML). The page makes no network request.

Honest on sparse data: a flow without a quantity is drawn as a faded hairline marked "?" (never at
the width of a known flow or of a zero) and its tooltip says "quantity unknown"; node totals say
"unknown" or "at least X (n of m flows known)"; line widths are scaled within each currency (mass,
energy, water, co2), never across them. Sectors are coloured by division (NACE Rev. 2 or GB/T
4754-2017, see :mod:`symbiosis.sectors`) and named in the legend and tooltips; a code is read in the
light of the firm's park's country (GB/T only in China: Australia's "2131" is not GB/T furniture), and
one no scheme reads is shown as written, without a title. Firms that share a
point are spread on a small spiral around it, and the force layout is seeded: the same page draws
the same map on every load.

Sums beyond the largest float (flows near 1.7e308 t) are never drawn or printed as a number: a total
that overflows reads "unknown (too large to add up)", and sizes and widths are computed on values
capped at the largest float. A loop is highlighted by its list of firm ids, never by a joined text
split again (a firm id may contain " -> ").

:func:`scenario_map` draws several scenarios of a park on one page (the union of their nodes and flows,
one layout) with a toggle between them: a flow the baseline lacks is dashed, a baseline flow the selected
scenario removes is faded, a scaled flow's tooltip gives its quantity before and after.
"""
from __future__ import annotations

import dataclasses

import functools
import json
import logging
import math
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import jinja2
import networkx as nx
import pandas as pd
import pyvis

from symbiosis.errors import InputError
from .page import HtmlPage
from symbiosis.sectors import is_china, sector_division, sector_name
from symbiosis.units import CURRENCY
from symbiosis.settings import EDGE_DETAIL_LIMIT, PHYSICS_LIMIT
from symbiosis.settings import MAX_MAP_NODES as MAX_NODES

__all__ = ["build_map", "write_map", "store_map", "scenario_map", "aggregate", "KIND_COLOURS", "MAX_NODES", "KNOWN_WIDTH",
           "UNKNOWN_WIDTH", "LAYOUT_SEED", "ADDED_DASHES", "REMOVED_OPACITY"]

log = logging.getLogger(__name__)

KIND_COLOURS = {"material": "#8c6d31", "waste": "#d62728", "energy": "#ff7f0e", "water": "#1f77b4", "co2": "#555555"}
SECTOR_PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                  "#9c755f", "#bab0ac", "#17becf", "#bcbd22", "#8dd3c7", "#fb8072", "#80b1d3", "#fdb462",
                  "#b3de69", "#fccde5", "#bc80bd", "#ccebc5"]
BOUNDARY_COLOUR = "#c7c7c7"
ABSORBER_BORDER = "#1a9850"
# the map's limits (symbiosis.settings): parks instead of firms above MAX_NODES, a precomputed layout above
# PHYSICS_LIMIT, straight unlabelled edges above EDGE_DETAIL_LIMIT
#: vis-network's layout seed: the force layout starts from the same positions on every load
LAYOUT_SEED = 20240611
#: line widths (px) of flows with a known quantity, smallest to largest, on a log scale per currency
KNOWN_WIDTH = (2.5, 10.0)
#: a flow whose quantity is unknown: a hairline, thinner than any known flow (even a known zero)
UNKNOWN_WIDTH = 1.0
UNKNOWN_OPACITY = 0.55
#: canvas pixels between firms spread around a point they share (the geo canvas spans ~1,600 px)
SPREAD_PX = 42.0
CURRENCY_ORDER = ("mass", "energy", "water", "co2")
CURRENCY_LABELS = {"mass": "mass (material + waste)", "energy": "energy", "water": "water", "co2": "co2"}
STATUS_DASHES = {"planned": [2, 4], "potential": [8, 6]}
#: a flow whose quantity is a reconciliation estimate (map --estimates) glows amber
ESTIMATE_GLOW = {"enabled": True, "color": "rgba(217,119,6,0.9)", "size": 9, "x": 0, "y": 0}
_VIS = Path(pyvis.__file__).parent / "templates" / "lib" / "vis-9.1.2"
_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                                autoescape=jinja2.select_autoescape(["html"]))


def _script_json(data) -> str:
    """JSON that is safe inside <script>: no '</script>', no HTML comment or entity tricks."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_division = functools.lru_cache(maxsize=4096)(sector_division)
_table_name = functools.lru_cache(maxsize=4096)(functools.partial(sector_name, language="both"))


def _is_role_boundary(data: dict) -> bool:
    """Utilities, the environment, outside parties: enterprises whose role is not 'firm'."""
    role = data.get("role")
    return bool(role) and role != "firm"


def _drawn_as_box(data: dict) -> bool:
    return bool(data.get("direction")) or _is_role_boundary(data)


def _park_countries(parks: pd.DataFrame | None) -> dict[str, str]:
    """park id -> its country as given (parks without one are left out)."""
    if parks is None or "country" not in parks.columns:
        return {}
    return {park: country.strip() for park, country in zip(parks["park_id"], parks["country"])
            if isinstance(country, str) and country.strip()}


def _unread_reason(code: str, country: str | None, brief: bool = False) -> str:
    """Why a code names no division: GB/T digits outside China (or where the country is not known), or no
    scheme's form at all. ``brief`` for the legend, else for a tooltip."""
    if not is_china(country) and _division(code, country="CN"):  # a GB/T code, had the park been in China
        if brief:
            return "not read as GB/T: " + (f"park in {country[:40]}" if country else "park's country not given")
        where = f"park country {country[:40]}" if country else "the park's country is not given"
        return f"not read: GB/T 4754 applies only to parks in China; {where}"
    return "code not in NACE Rev. 2 or GB/T 4754-2017" if brief else "not a NACE Rev. 2 or GB/T 4754-2017 code"


def _sector_key(data: dict, country: str | None = None) -> str:
    """What a firm is coloured by: its division (NACE "C23", GB/T "GB/T C26"), else its code or text."""
    if data.get("aggregate"):
        return f"{data['aggregate']}s (firms aggregated)"
    code = str(data.get("sector_code") or "").strip()
    if code:
        return _division(code, country=country) or f"sector {code[:20]}"
    text = str(data.get("sector_name") or "").strip()
    return text[:40] if text else "no sector given"


def _sector_legend(key: str, data: dict, country: str | None = None) -> str:
    """Legend text of a sector key: the division with its official name, or why there is none."""
    code = str(data.get("sector_code") or "").strip()
    if code and _division(code, country=country) == key:
        return f"{key} {_table_name(code, country=country)}"
    if code:
        return f"{key} ({_unread_reason(code, country, brief=True)})"
    return key


def _sector_lines(data: dict, country: str | None = None) -> list[str]:
    """Tooltip lines: the firm's own sector name (free text wins), its code and the division's name."""
    code = str(data.get("sector_code") or "").strip()
    text = str(data.get("sector_name") or "").strip()
    key = _division(code, country=country) if code else None
    official = _table_name(code, country=country) if key else None
    if text:
        lines = [f"sector: {text}" + (f" ({code})" if code else "")]
        if official:
            lines.append(f"division: {key} {official}")
        return lines
    if official:
        return [f"sector: {key} {official}" + ("" if code.upper() == key else f" (code {code})")]
    if code:
        return [f"sector {code} ({_unread_reason(code, country)})"]
    return ["sector: not given"]


#: a sum beyond this is not a number the page can show or draw by
_LARGEST = sys.float_info.max
_TOO_LARGE = "unknown (too large to add up)"


def _capped(value: float) -> float:
    """For sizes and widths only: a sum that overflowed counts as the largest float."""
    return min(value, _LARGEST)


def _fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    if math.isinf(value):
        return _TOO_LARGE
    if abs(value) >= 1e15:  # 1.7e+308 t, not 309 digits
        return f"{value:.4g} {unit}"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:,.3g} {unit}"


def _plural(count: int, word: str = "flow") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _total_text(known_sum: float, known: int, flows: int, unit: str) -> str:
    """A node's total in one currency and direction: unknown, at least X, or X, with its coverage."""
    if known == 0:
        return f"unknown ({_plural(flows)}, none with a quantity)"
    if math.isinf(known_sum):
        return f"{_TOO_LARGE} ({known} of {flows} flows known)"
    if known < flows:
        return f"at least {_fmt(known_sum, unit)} ({known} of {flows} flows known)"
    return f"{_fmt(known_sum, unit)} ({_plural(flows)})"


def _edge_counts(data: dict) -> tuple[int, int]:
    """(flows, flows with a quantity) behind one drawn edge (an aggregated edge stands for several)."""
    flows = int(data.get("flows", 1))
    unknown = int(data["unknown"]) if "unknown" in data else (flows if data.get("quantity") is None else 0)
    return flows, flows - unknown


def _currency(data: dict) -> str:
    return data.get("currency") or CURRENCY.get(data["kind"], data["kind"])


def aggregate(G: nx.MultiDiGraph, *, parks: pd.DataFrame | None = None, by: str = "park") -> nx.MultiDiGraph:
    """Firms folded into their parks (``by="park"``) or parks into regions (``by="region"``).

    Each aggregate node carries ``name``, ``firms`` (how many), ``aggregate`` (``by``), ``lat``/``lon``
    (park or region centre) and the summed flows between aggregates per kind (canonical units; unknown
    quantities counted apart: ``flows``, ``unknown``; ``quantity`` is None when no flow has one).
    Boundary nodes stay as they are. Flows inside one aggregate become a self-loop.
    """
    parks = parks if parks is not None else pd.DataFrame(columns=["park_id", "name", "lat", "lon", "region"])
    park_info = {row.park_id: row for row in parks.itertuples()}

    def group_of(node: str) -> str:
        data = G.nodes[node]
        if data.get("direction"):
            return node
        park = data.get("park_id") or "no park"
        if by == "region":
            info = park_info.get(park)
            return f"region:{getattr(info, 'region', None) or 'unknown region'}"
        return f"park:{park}"

    H: nx.MultiDiGraph = nx.MultiDiGraph(aggregated=by)
    group_name = {node: group_of(node) for node in G}  # once per node, not twice per flow
    members: dict[str, list[str]] = defaultdict(list)
    for node, name in group_name.items():
        members[name].append(node)
    for group, nodes in members.items():
        first = G.nodes[nodes[0]]
        if first.get("direction"):
            H.add_node(group, **first)
            continue
        lats = [G.nodes[n]["lat"] for n in nodes if G.nodes[n].get("lat") is not None]
        lons = [G.nodes[n]["lon"] for n in nodes if G.nodes[n].get("lon") is not None]
        group_id = group.split(":", 1)[1]
        info = park_info.get(group_id)
        name = (getattr(info, "name", None) or group_id) if by == "park" else group_id
        H.add_node(group, name=str(name), firms=len(nodes), boundary=False, aggregate=by,
                   lat=sum(lats) / len(lats) if lats else None, lon=sum(lons) / len(lons) if lons else None)
    totals: dict[tuple, list] = defaultdict(lambda: [0.0, 0, 0, None])
    for u, v, data in G.edges(data=True):
        key = (group_name[u], group_name[v], data["kind"])
        total = totals[key]
        total[1] += 1
        total[3] = data["unit"]
        if data["quantity"] is None:
            total[2] += 1
        else:
            total[0] += data["quantity"]
    for (u, v, kind), (quantity, flows, unknown, unit) in totals.items():
        H.add_edge(u, v, key=f"{u}>{v}:{kind}", kind=kind, resource=f"{flows} {kind} flows", resource_name=None,
                   quantity=quantity if flows > unknown else None, unit=unit, status="existing",
                   currency=CURRENCY.get(kind, kind), flows=flows, unknown=unknown, distance_km=None)
    return H


def _spread(points: dict[str, tuple[float, float]], spacing: float = SPREAD_PX) -> dict[str, tuple[float, float]]:
    """Nodes drawn on the same pixel moved onto a small spiral around it, so that each is visible.

    Published data often give every firm the park's centroid. The spiral (golden angle, radius
    ``spacing * sqrt(i)``) keeps neighbours ``spacing`` apart whatever their number; the first node (in
    id order) stays on the point. Deterministic: the same graph gives the same layout.
    """
    shared: dict[tuple[int, int], list[str]] = defaultdict(list)
    for node, (x, y) in points.items():
        shared[(round(x), round(y))].append(node)
    golden = math.pi * (3 - math.sqrt(5))
    spread = dict(points)
    for nodes in shared.values():
        if len(nodes) < 2:
            continue
        x0, y0 = points[nodes[0]]
        for index, node in enumerate(sorted(nodes, key=str)):
            radius, angle = spacing * math.sqrt(index), golden * index
            spread[node] = (x0 + radius * math.cos(angle), y0 + radius * math.sin(angle))
    return spread


def _positions(G: nx.MultiDiGraph) -> dict[str, tuple[float, float]]:
    """Geographic layout in canvas pixels (equirectangular), scaled to the park's own firms.

    Firms outside the park (often far away: a cement plant 170 km off) and nodes with a boundary role
    (utility, environment, external) would shrink the park to a point, so they are placed on the edge
    of the map in their true direction; boundary nodes without coordinates (imports, exports) stand
    in columns beside it. Nodes that share a point are spread around it (:func:`_spread`).
    """
    located = {node: (data["lat"], data["lon"]) for node, data in G.nodes(data=True)
               if data.get("lat") is not None and data.get("lon") is not None}
    if not located:
        return {}
    core = {node: point for node, point in located.items()
            if not G.nodes[node].get("external") and not _is_role_boundary(G.nodes[node])} or located
    lats = [lat for lat, _ in core.values()]
    lons = [lon for _, lon in core.values()]
    mid_lat, mid_lon = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    cos_mid = math.cos(math.radians(mid_lat))
    span = max((max(lons) - min(lons)) * cos_mid, max(lats) - min(lats), 1e-4)
    scale = 1600 / span
    half_width = (max(lons) - min(lons)) * cos_mid * scale / 2 + 150
    half_height = (max(lats) - min(lats)) * scale / 2 + 150
    positions = {}
    for node, (lat, lon) in located.items():
        x, y = (lon - mid_lon) * cos_mid * scale, (mid_lat - lat) * scale
        reach = max(abs(x) / half_width, abs(y) / half_height)
        if node not in core and reach > 1:
            x, y = x / reach, y / reach  # on the edge of the map, pointing the right way
        positions[node] = (x, y)
    positions = _spread(positions)
    # the columns stand clear of the spread nodes too
    half_width = max(half_width, max(abs(x) for x, _ in positions.values()) + 60)
    half_height = max(half_height, max(abs(y) for _, y in positions.values()) + 60)
    counts: dict[str, int] = defaultdict(int)
    for node in G:
        if node not in positions:
            side = G.nodes[node].get("direction") or "unlocated"
            column = {"in": -half_width - 250, "out": half_width + 250}.get(side, half_width + 450)
            positions[node] = (column, -half_height + 70 * counts[side])
            counts[side] += 1
    return positions


def _grouped_positions(G: nx.MultiDiGraph) -> dict[str, tuple[float, float]]:
    """A layout in O(n) for large networks: each park at its centre (or on a grid), its firms on rings
    around it, boundary nodes in a row below. Readable without physics."""
    groups: dict[str, list[str]] = defaultdict(list)
    for node, data in G.nodes(data=True):
        groups["boundary" if data.get("direction") else str(data.get("park_id") or "no park")].append(node)
    parks = sorted(group for group in groups if group != "boundary")
    centres = {}
    located = {}
    for park in parks:
        points = [(G.nodes[n]["lat"], G.nodes[n]["lon"]) for n in groups[park] if G.nodes[n].get("lat") is not None]
        if points:
            located[park] = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    side = math.ceil(math.sqrt(max(len(parks), 1)))
    spacing = 60 * math.sqrt(max(len(G) / max(len(parks), 1), 1)) + 120
    if len(located) == len(parks) and len(parks) > 1:
        lats = [lat for lat, _ in located.values()]
        lons = [lon for _, lon in located.values()]
        span = max(max(lons) - min(lons), max(lats) - min(lats), 1e-6)
        for park, (lat, lon) in located.items():
            centres[park] = ((lon - min(lons)) / span * spacing * side, (max(lats) - lat) / span * spacing * side)
    else:
        for index, park in enumerate(parks):
            centres[park] = ((index % side) * spacing, (index // side) * spacing)
    positions = {}
    for park in parks:
        cx, cy = centres[park]
        for index, node in enumerate(sorted(groups[park])):
            ring = int(math.sqrt(index))  # rings of growing size: 1, 3, 5, ... firms
            slot = index - ring * ring
            angle = 2 * math.pi * slot / (2 * ring + 1)
            positions[node] = (cx + 40 * ring * math.cos(angle), cy + 40 * ring * math.sin(angle))
    bottom = max((y for _, y in positions.values()), default=0) + 200
    for index, node in enumerate(sorted(groups.get("boundary", []))):
        positions[node] = (index * 160, bottom)
    return positions


def build_map(
    G: nx.MultiDiGraph,
    *,
    loops: pd.DataFrame | None = None,
    absorbers: list[str] | None = None,
    layout: str = "force",
    show: tuple[str, ...] = ("loops", "absorbers", "potential"),
    title: str = "Industrial symbiosis network",
    parks: pd.DataFrame | None = None,
    max_nodes: int = MAX_NODES,
) -> HtmlPage:
    """The map as one self-contained HTML page.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        From :func:`symbiosis.graph.load_graph` (with ``potential`` flows if they should show, dashed).
    loops : DataFrame, optional
        From :func:`symbiosis.loops.find_loops`; listed in a selector that highlights each loop.
    absorbers : list of str, optional
        Firm ids to mark as CO2 absorption nodes (from :func:`symbiosis.carbon.absorption_nodes`).
    layout : {'force', 'geo'}
        ``geo`` places firms at their coordinates with physics off; ``force`` runs a physics layout
        that stops once it has stabilised.
    show : tuple of str
        Which of loops, absorbers, potential to draw.
    parks : DataFrame, optional
        ``park_id, name, lat, lon, region, country``: names and regions are used when the network is
        aggregated; ``country`` decides how a firm's sector code is read (GB/T 4754 only for a park in
        China; without it, digits alone such as "2131" are shown as written, unnamed).
    max_nodes : int
        Above this many nodes, firms are drawn as parks (and parks as regions if still too many); the
        page says so.

    Returns
    -------
    str
        HTML with vis-network inlined: opens offline.
    """
    if layout not in ("force", "geo"):
        raise InputError(f"layout must be 'force' or 'geo', not {layout!r}")
    G, notice, aggregated = _drawn_graph(G, parks, show, max_nodes)
    if aggregated:
        loops, absorbers = None, None  # they name firms, which the aggregated map no longer shows
    absorber_ids = set(absorbers or []) if "absorbers" in show else set()
    detailed = G.number_of_edges() <= EDGE_DETAIL_LIMIT
    flows = _flow_totals(G)
    sectors = _sector_colours(G, parks)
    positions = _positions(G) if layout == "geo" else {}
    if layout == "force" and G.number_of_nodes() > PHYSICS_LIMIT:
        positions = _grouped_positions(G)
        notice = (notice + " " if notice else "") + (
            f"Above {PHYSICS_LIMIT:,} nodes the layout is precomputed (firms around their park) and physics is off.")
    vis_nodes = [_vis_node(G, node, data, flows, sectors, absorber_ids, positions) for node, data in G.nodes(data=True)]
    vis_edges, edge_ids = _vis_edges(G, flows, detailed)
    loop_items = _loop_items(G, loops, edge_ids) if loops is not None and "loops" in show and len(loops) else []
    physics = layout == "force" and G.number_of_nodes() <= PHYSICS_LIMIT
    data = {"nodes": vis_nodes, "edges": vis_edges, "options": _vis_options(G, physics, detailed),
            "loops": loop_items, "legend": _legend(G, flows, sectors, layout, detailed), "physics": physics}
    return _render_page(data, title=title, notice=notice, counts=(G.number_of_nodes(), G.number_of_edges()),
                        layout=layout)


def _render_page(data: dict, *, title: str, notice: str | None, counts: tuple[int, int], layout: str,
                 scenarios: dict | None = None) -> HtmlPage:
    """The page from :file:`templates/map.html`: vis-network inlined, ``data`` (and a scenario map's
    ``scenarios``) as JSON that cannot close its script tag."""
    template = _TEMPLATES.get_template("map.html")
    return HtmlPage(template.render(title=title, notice=notice,
                                    vis_js=(_VIS / "vis-network.min.js").read_text(encoding="utf-8"),
                                    vis_css=(_VIS / "vis-network.css").read_text(encoding="utf-8"),
                                    data_json=_script_json(data), counts=counts, layout=layout,
                                    scenarios=len(scenarios["views"]) if scenarios else 0,
                                    scenario_json=_script_json(scenarios) if scenarios else ""), height=720)


def _drawn_graph(G: nx.MultiDiGraph, parks: pd.DataFrame | None, show: tuple[str, ...],
                 max_nodes: int) -> tuple[nx.MultiDiGraph, str | None, bool]:
    """The graph as drawn: firms as parks (or regions) above ``max_nodes``, potential flows only when
    shown; with the page's notice and whether it was aggregated."""
    notice, aggregated = None, False
    original_nodes = G.number_of_nodes()
    if original_nodes > max_nodes:
        firms, aggregated = G, True
        G = aggregate(firms, parks=parks, by="park")
        notice = f"{original_nodes:,} nodes are drawn as {G.number_of_nodes():,} parks (firms aggregated)."
        if G.number_of_nodes() > max_nodes:
            G = aggregate(firms, parks=parks, by="region")
            notice = f"{original_nodes:,} nodes are drawn as {G.number_of_nodes():,} regions (parks aggregated)."
    if "potential" not in show:
        kept = [(u, v, k) for u, v, k, data in G.edges(keys=True, data=True) if data.get("status") != "potential"]
        # types-networkx types edge_subgraph with Graph's (u, v) pairs; a multigraph's takes (u, v, key)
        G = G.edge_subgraph(kept).copy()  # type: ignore[arg-type]
    return G, notice, aggregated


@dataclass
class _Flows:
    """Per node, currency and direction: [known sum, flows with a quantity, flows] (so that a total can
    say "unknown" or "at least X (n of m flows known)"); the unit and widest known edge per currency;
    known throughput per node and currency, and its largest per currency (node sizes)."""

    totals: dict
    units: dict[str, str]
    widest: dict[str, float]
    throughput: dict
    largest: dict[str, float]

    def ordered_currencies(self) -> list[str]:
        return sorted(self.units, key=lambda c: (CURRENCY_ORDER + (c,)).index(c))


def _flow_totals(G: nx.MultiDiGraph) -> _Flows:
    totals: dict[tuple, list] = defaultdict(lambda: [0.0, 0, 0])
    units: dict[str, str] = {}
    widest: dict[str, float] = {}  # largest known edge quantity per currency (absent: none known)
    for u, v, data in G.edges(data=True):
        currency = _currency(data)
        units.setdefault(currency, data["unit"])
        flows, known = _edge_counts(data)
        quantity = data["quantity"] if known else None
        if quantity is not None:
            widest[currency] = max(widest.get(currency, 0.0), _capped(quantity))
        for node, direction in ((u, "out"), (v, "in")):
            total = totals[(node, currency, direction)]
            total[0] += quantity or 0.0
            total[1] += known
            total[2] += flows
    throughput: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (node, currency, _), (known_sum, known, _) in totals.items():
        if known:
            throughput[node][currency] = _capped(throughput[node][currency] + _capped(known_sum))
    largest = {currency: max((values[currency] for values in throughput.values()), default=0.0) for currency in units}
    return _Flows(totals, units, widest, throughput, largest)


@dataclass
class _Sectors:
    """Each drawn firm's country and sector key, the members of each sector and its colour."""

    country_of: dict
    sector_of: dict
    members: dict[str, list[str]]
    colour: dict[str, str]


def _sector_colours(G: nx.MultiDiGraph, parks: pd.DataFrame | None) -> _Sectors:
    """Sector colours over every node drawn as a firm, in this park or not: a firm outside the park with a
    sector no firm inside has must get a colour too."""
    park_country = _park_countries(parks)
    country_of = {node: park_country.get(data["park_id"]) if data.get("park_id") is not None else None
                  for node, data in G.nodes(data=True)}
    sector_of = {node: _sector_key(data, country_of[node]) for node, data in G.nodes(data=True)
                 if not _drawn_as_box(data)}
    members: dict[str, list[str]] = defaultdict(list)
    for node, key in sector_of.items():
        members[key].append(node)
    colour = {key: SECTOR_PALETTE[index % len(SECTOR_PALETTE)] for index, key in enumerate(sorted(members))}
    return _Sectors(country_of, sector_of, members, colour)


def _node_lines(G: nx.MultiDiGraph, node: str, data: dict, flows: _Flows, sectors: _Sectors,
                absorbers: set[str]) -> list[str]:
    """A node's tooltip: name, what it is, and its known totals per currency and direction."""
    lines = [str(data.get("name") or node)]
    if data.get("direction"):
        lines.append("outside the park")
    elif data.get("aggregate"):
        lines.append(f"firms: {data.get('firms')}")
    else:
        lines += _sector_lines(data, sectors.country_of[node])
        if data.get("park_id"):
            lines.append(f"park: {data['park_id']}")
        if _is_role_boundary(data):
            lines.append(f"role: {data['role']} (drawn as part of the park boundary, not as a firm)")
        elif data.get("external"):
            lines.append("firm outside this park")
    for currency in flows.ordered_currencies():
        for direction in ("in", "out"):
            total = flows.totals.get((node, currency, direction))
            if total:
                known_sum, known, count = total
                lines.append(f"{currency} {direction}: {_total_text(known_sum, known, count, flows.units[currency])}")
    if node in absorbers:
        lines.append("CO2 absorption node")
    return lines


def _vis_node(G: nx.MultiDiGraph, node: str, data: dict, flows: _Flows, sectors: _Sectors, absorbers: set[str],
              positions: dict) -> dict:
    """One node as vis-network draws it: label, tooltip, size by known throughput, colour by sector."""
    share = max((flows.throughput[node][currency] / flows.largest[currency] for currency in flows.throughput[node]
                 if flows.largest.get(currency)), default=0.0)
    options: dict[str, object] = {"label": str(data.get("name") or node)[:40],
                                  "title": "\n".join(_node_lines(G, node, data, flows, sectors, absorbers)),
                                  "size": 8 + 32 * math.sqrt(share)}
    if _drawn_as_box(data):
        options.update(color=BOUNDARY_COLOUR, shape="box", size=10)
        if _is_role_boundary(data):
            options.update(shapeProperties={"borderDashes": [4, 3]}, borderWidth=1)
    else:
        options.update(color={"background": sectors.colour[sectors.sector_of[node]],
                              "border": ABSORBER_BORDER if node in absorbers else "#333333"},
                       borderWidth=5 if node in absorbers else 1, shape="dot")
        if data.get("external"):
            options["shapeProperties"] = {"borderDashes": [4, 3]}
    if node in positions:
        options.update(x=positions[node][0], y=positions[node][1], physics=False)
    return {**options, "id": str(node), "shape": options.get("shape", "dot")}


def _vis_edges(G: nx.MultiDiGraph, flows: _Flows, detailed: bool) -> tuple[list[dict], dict]:
    """Every flow as vis-network draws it, and the edge ids of each pair of nodes (for loop highlights)."""
    vis_edges: list[dict] = []
    edge_ids: dict[tuple[str, str], list[str]] = {}
    for u, v, key, data in G.edges(keys=True, data=True):
        edge_id = str(key)
        edge_ids[(u, v)] = edge_ids.get((u, v), []) + [edge_id]
        vis_edges.append(_vis_edge(G, u, v, edge_id, data, flows, detailed))
    return vis_edges, edge_ids


def _vis_edge(G: nx.MultiDiGraph, u: str, v: str, edge_id: str, data: dict, flows: _Flows, detailed: bool) -> dict:
    currency = _currency(data)
    count, known = _edge_counts(data)
    quantity = data["quantity"] if known else None
    colour_of_kind = KIND_COLOURS.get(data["kind"], "#999999")
    if quantity is None:
        amount = "quantity unknown" + (f" ({_plural(count)})" if count > 1 else "")
    elif known < count:
        amount = f"at least {_fmt(quantity, data['unit'])} ({known} of {count} flows known)"
    else:
        amount = _fmt(quantity, data["unit"])
    lines = [f"{G.nodes[u].get('name') or u} -> {G.nodes[v].get('name') or v}",
             f"{data.get('resource_name') or data['resource']} ({data['kind']}, {currency})",
             amount, f"status: {data['status']}"]
    if data.get("distance_km") is not None:
        lines.append(f"distance: {data['distance_km']:,.1f} km")
    if data.get("estimate"):  # read with --estimates: the quantity is a reconciliation's, not the data's
        imported = data.get("quantity_imported")
        lines.append(f"reconciliation estimate ({data['estimate']}); imported: "
                     + ("unknown" if imported is None else _fmt(imported, data["unit"])))
    options: dict[str, object] = {"id": edge_id, "title": "\n".join(lines), "arrows": "to",
                                  "dashes": STATUS_DASHES.get(data["status"], False)}
    if data.get("estimate"):
        options["shadow"] = ESTIMATE_GLOW
    if quantity is None:
        # never the width of a known flow (nor of a known zero): a faded hairline marked "?"
        options.update(width=UNKNOWN_WIDTH, color={"color": colour_of_kind, "highlight": colour_of_kind,
                                                     "hover": colour_of_kind, "opacity": UNKNOWN_OPACITY,
                                                     "inherit": False})
        if detailed:
            options.update(label="?", font={"size": 12, "color": colour_of_kind, "strokeWidth": 3})
    else:
        low, high = KNOWN_WIDTH
        scale = math.log10(1 + flows.widest[currency])  # per currency: MWh never set the scale for tonnes
        share = math.log10(1 + min(max(quantity, 0.0), _LARGEST)) / scale if scale > 0 else 0.0
        options.update(width=low + (high - low) * share, color=colour_of_kind)
    return {**options, "from": str(u), "to": str(v)}


def _loop_items(G: nx.MultiDiGraph, loops: pd.DataFrame, edge_ids: dict) -> list[dict]:
    """The loop selector's entries: each loop's label, firms and edges (200 at most)."""
    items = []
    for row in loops.head(200).itertuples():
        members = _loop_members(row, G)
        if members is None:  # not drawn: no highlight beats one on the wrong firms
            log.warning("loop #%s: its firms cannot be told apart in the map; not highlighted", row.rank)
            continue
        links = list(zip(members, members[1:] + members[:1]))
        items.append({
            "label": f"#{row.rank} {row.currency}, {row.length} firms: {row.names}"[:200],
            "nodes": [str(member) for member in members],
            "edges": [edge for link in links for edge in edge_ids.get(link, [])],
        })
    return items


def _vis_options(G: nx.MultiDiGraph, physics: bool, detailed: bool) -> dict:
    return {
        "physics": {"enabled": physics, "solver": "barnesHut", "stabilization": {"iterations": 300},
                    "barnesHut": {"gravitationalConstant": -8000, "springLength": 160}},
        "interaction": {"hover": True, "tooltipDelay": 120, "hideEdgesOnDrag": not detailed},
        "edges": {"smooth": detailed, "arrows": {"to": {"scaleFactor": 0.6}}},
        "nodes": {"font": {"size": 13}},
        # a fixed seed: vis-network's only randomness is the starting layout, so every load is the same
        "layout": {"improvedLayout": G.number_of_nodes() <= 150, "randomSeed": LAYOUT_SEED},
    }


def _width_line(currency: str, flows: _Flows) -> str:
    label = CURRENCY_LABELS.get(currency, currency)
    if currency not in flows.widest:
        return f"{label}: no known quantity"
    return f"{label}: widest line {_fmt(flows.widest[currency], flows.units[currency])}"


def _legend(G: nx.MultiDiGraph, flows: _Flows, sectors: _Sectors, layout: str, detailed: bool) -> dict:
    """The legend: sectors (commonest first, 20 at most), kinds, line styles, widths and node styles."""
    ranked = sorted(sectors.members, key=lambda key: (-len(sectors.members[key]), key))  # commonest first
    sector_items = []
    for key in ranked[:20]:
        first = sectors.members[key][0]  # every member has this key: the first one's code names it
        sector_items.append({"label": f"{_sector_legend(key, G.nodes[first], sectors.country_of[first])} "
                                      f"({len(sectors.members[key])})", "colour": sectors.colour[key]})
    if len(ranked) > 20:
        sector_items.append({"label": f"... {len(ranked) - 20} more (colours repeat)", "colour": "#ffffff"})
    mid = sum(KNOWN_WIDTH) / 2
    return {
        "sectors": sector_items,
        "kinds": [{"label": kind, "colour": value} for kind, value in KIND_COLOURS.items()],
        "lines": [
            {"label": "existing flow, quantity known", "width": mid, "dashes": False},
            {"label": "planned flow", "width": mid, "dashes": STATUS_DASHES["planned"]},
            {"label": "potential flow (matchmaking)", "width": mid, "dashes": STATUS_DASHES["potential"]},
            {"label": "quantity unknown (not zero): faded hairline"
                      + (" marked ?" if detailed else "") + "; its status shows as above",
             "width": UNKNOWN_WIDTH, "dashes": False, "opacity": UNKNOWN_OPACITY, "mark": "?" if detailed else ""},
        ],
        "widths": ["Widths compare within a currency only (log scale, "
                   f"{KNOWN_WIDTH[0]:g} to {KNOWN_WIDTH[1]:g} px); never across currencies."]
                  + [_width_line(currency, flows) for currency in flows.ordered_currencies()],
        "styles": ["grey box: outside the park (imports, exports)",
                   "grey box, dashed outline: boundary role (utility, environment, external)",
                   "dashed outline: firm in another park",
                   "green ring: CO2 absorption node"]
                  + (["amber glow on a flow: its quantity is a reconciliation estimate (map --estimates)"]
                     if any(G.graph.get("estimates", {}).get(status) for status in ("adjusted", "determined")) else [])
                  + ["size: known throughput (relative, per currency); a node whose flows are all of unknown "
                     "quantity is drawn smallest",
                     "firms sharing a point are spread on a small spiral around it" if layout == "geo" else
                     "force layout: the same on every load"],
    }


def _loop_members(row, G: nx.MultiDiGraph) -> list[str] | None:
    """A loop's firm ids in order. A list (``member_ids``, or ``members`` as a list) is used as it is;
    a text ``members`` (ids joined by " -> ") is read back against the graph: the one way to cut it into
    ``length`` firms of the graph, each sending to the next, the last to the first. None when there is
    no such way or more than one (ids that themselves contain " -> " can make it ambiguous)."""
    for name in ("member_ids", "members"):
        value = getattr(row, name, None)
        if isinstance(value, (list, tuple)):
            return [str(member) for member in value]
    text = getattr(row, "members", None)
    if not isinstance(text, str):
        return None
    length = int(getattr(row, "length", 0) or 0)
    parts = text.split(" -> ")
    if length == len(parts) and all(part in G for part in parts):
        return parts  # the usual case: no id holds the separator
    found: list[list[str]] = []

    def cut(start: int, chosen: list[str]) -> None:
        if len(found) > 1:
            return
        if start == len(parts):
            if len(chosen) == length and G.has_edge(chosen[-1], chosen[0]):
                found.append(list(chosen))
            return
        if len(chosen) == length:
            return
        for end in range(start + 1, len(parts) + 1):
            node = " -> ".join(parts[start:end])
            if node in G and (not chosen or G.has_edge(chosen[-1], node)):
                cut(end, chosen + [node])

    if length > 0:
        cut(0, [])
    return found[0] if len(found) == 1 else None


def write_map(G: nx.MultiDiGraph, path: str | os.PathLike, **options) -> Path:
    """Write :func:`build_map`'s page to ``path`` (UTF-8), whole or not at all
    (:func:`symbiosis.export.write_output`)."""
    from symbiosis.export import write_output

    return Path(write_output(path, build_map(G, **options)))


def store_map(db, park: str | None = None, *, layout: str = "force",
              show: tuple[str, ...] = ("loops", "absorbers", "potential"), title: str | None = None,
              max_nodes: int = MAX_NODES, estimates: bool = False) -> HtmlPage:
    """Build the map of a store (or one park): the graph, its loops and absorption nodes, drawn.

    Loops and absorbers are computed on existing flows; planned flows are drawn dotted and potential
    ones (from matchmaking) dashed when ``show`` includes ``potential``. With ``estimates``, the stored
    reconciliation's estimates replace the quantities it adjusted or determined, and those flows glow.
    """
    from symbiosis.colocation import park_centres
    from symbiosis.graph import load_graph
    from symbiosis.pipeline import PAGE_OPTIONS, analyse_park

    statuses = ["existing", "planned"] + (["potential"] if "potential" in show else [])
    G = load_graph(db, park=park, status=statuses, estimates=estimates)
    small = G.number_of_nodes() <= max_nodes
    # the existing-only graph is loaded only when loops or absorbers will be drawn (a national map is
    # aggregated and shows neither; loading it twice would double the memory)
    wanted = (("loops",) if "loops" in show else ()) + (("carbon",) if "absorbers" in show else ())
    loops = absorbers = None
    if small and wanted:  # a national map is aggregated and shows neither: nothing to analyse then
        options = dataclasses.replace(PAGE_OPTIONS, estimates=estimates)
        analysis = analyse_park(db, park, analyses=wanted, options=options)
        loops = analysis.loops.loops if analysis.loops is not None else None
        absorbers = analysis.absorbers["id"].head(10).tolist() if analysis.absorbers is not None else None
    # every park (a park without coordinates still has a country to read its firms' codes by)
    parks = pd.DataFrame(db.execute("SELECT id, name, region, country FROM parks").fetchall(),
                         columns=["park_id", "name", "region", "country"])
    parks = parks.merge(park_centres(db)[["park_id", "lat", "lon"]], on="park_id", how="left")
    if title is None:
        names = dict(zip(parks["park_id"], parks["name"]))
        title = f"{names.get(park, park)}: industrial symbiosis network" if park else "Industrial symbiosis network"
    return build_map(G, loops=loops, absorbers=absorbers, layout=layout, show=show, title=title, parks=parks,
                     max_nodes=max_nodes)


# ------------------------------------------------------------------------------------------ scenarios

#: a scenario map's flow that is not in the baseline (added by the scenario); the only dashes it draws
ADDED_DASHES = [10, 6]
#: a baseline flow that the selected scenario removes: drawn faded, far below an unknown flow's hairline
REMOVED_OPACITY = 0.15
#: a node of another scenario that the selected one does not hold
ABSENT_NODE_OPACITY = 0.25

#: a flow's identity across scenarios: (source, target, key); load_graph keys a flow by its id
_FlowIdentity = tuple[str, str, object]


def scenario_map(networks: dict[str, nx.MultiDiGraph], *, baseline: str | None = None, title: str | None = None,
                 layout: str = "geo", physics: bool = False, parks: pd.DataFrame | None = None) -> HtmlPage:
    """One offline page drawing several scenarios of a park, with a toggle between them.

    The page draws the union of the scenarios' nodes and flows, laid out once (nodes stay where they are
    when the scenario changes). A row of radio buttons, one per scenario and labelled with its name,
    selects which flows are drawn:

    - the selected scenario's flows are drawn as the map draws any flow (colour by kind, width by known
      quantity within its currency, an unknown quantity a faded hairline marked "?", never a zero);
    - a flow that is not in the baseline is drawn dashed (on this map dashes mean that only: a flow's
      status, existing, planned or potential, is in its tooltip);
    - a baseline flow that the selected scenario lacks is drawn faded, and its tooltip says it is removed
      in that scenario;
    - a flow of another scenario, in neither the baseline nor the selected scenario, is hidden;
    - a scaled flow's tooltip gives its quantity before and after ("unknown" where it is not known);
    - nodes' tooltips and sizes are the selected scenario's totals; a node the scenario lacks is faded.

    The page opens on the baseline. The legend says what dashed and faded mean; a line beside the toggle
    counts the flows drawn, added, removed and scaled.

    Parameters
    ----------
    networks : dict of str to networkx.MultiDiGraph
        Scenario name -> its network, each shaped as :func:`symbiosis.graph.load_graph` returns it. A flow
        a scenario added carries ``scenario_change="added"``; a scaled one ``scenario_change="scaled"`` and
        ``quantity_before``; a removed flow is absent. A flow is the same flow in two scenarios when its
        source, target and key (the flow id) are the same. Names are shown as text, never read as HTML.
    baseline : str, optional
        The scenario the others are drawn against; the first key (normally ``"as-is"``) by default.
    title : str, optional
        The page's heading.
    layout : {'geo', 'force'}
        ``geo`` places firms at their coordinates; ``force`` leaves the layout to vis-network (seeded:
        the same on every load), precomputed around parks above the physics limit.
    physics : bool
        Run vis-network's force layout once (it stops when settled); nodes placed by ``geo`` stay put.
    parks : DataFrame, optional
        ``park_id, name, region, country``, as for :func:`build_map`: how sector codes are read, and the
        names of parks when a very large union is drawn as parks.

    Returns
    -------
    HtmlPage
        HTML with vis-network inlined: opens offline and makes no request.

    Raises
    ------
    InputError
        No scenario, a ``baseline`` that is not one of them, or an unknown ``layout``.
    """
    if layout not in ("force", "geo"):
        raise InputError(f"layout must be 'force' or 'geo', not {layout!r}")
    if not networks:
        raise InputError("a scenario map needs at least one scenario")
    names = list(networks)
    baseline = names[0] if baseline is None else baseline
    if baseline not in networks:
        raise InputError(f"baseline {str(baseline)[:80]!r} is not one of the scenarios "
                         f"({', '.join(str(name)[:40] for name in names[:10])})")
    graphs, notice = _scenario_graphs(networks, parks)
    union = _union_graph(graphs, baseline)
    vis_ids = _flow_vis_ids(union)
    detailed = union.number_of_edges() <= EDGE_DETAIL_LIMIT
    flows = _scenario_flows(graphs, baseline)
    sectors = _sector_colours(union, parks)
    positions = _positions(union) if layout == "geo" else {}
    if layout == "force" and union.number_of_nodes() > PHYSICS_LIMIT:
        positions, physics = _grouped_positions(union), False
        notice = (notice + " " if notice else "") + (
            f"Above {PHYSICS_LIMIT:,} nodes the layout is precomputed (firms around their park) and physics is off.")
    base_flows = _flows_by_identity(graphs[baseline])
    views = []
    for name, G in graphs.items():
        context = _ScenarioContext(str(name), str(baseline), G, graphs[baseline], base_flows, flows[name])
        views.append({"name": str(name), **_scenario_edges(context, union, vis_ids, detailed),
                      "nodes": _scenario_nodes(context, union, sectors, positions)})
    start = names.index(baseline)
    # the page is drawn on the starting scenario; the toggle swaps in the others' edges and node styles
    vis_nodes = [{**_vis_node(union, node, data, flows[baseline], sectors, set(), positions), **styled}
                 for (node, data), styled in zip(union.nodes(data=True), views[start]["nodes"])]
    legend_flows = _Flows({}, _merged_units(flows.values()), flows[baseline].widest, {}, flows[baseline].largest)
    data = {"nodes": vis_nodes, "edges": views[start]["edges"], "options": _vis_options(union, physics, detailed),
            "loops": [], "legend": _scenario_legend(union, legend_flows, sectors, layout, detailed, str(baseline)),
            "physics": physics}
    if title is None:
        title = "Industrial symbiosis network: scenarios"
    return _render_page(data, title=title, notice=notice, layout=layout,
                        counts=(union.number_of_nodes(), union.number_of_edges()),
                        scenarios={"baseline": str(baseline), "start": start, "views": views})


def _scenario_graphs(networks: dict[str, nx.MultiDiGraph],
                     parks: pd.DataFrame | None) -> tuple[dict[str, nx.MultiDiGraph], str | None]:
    """The scenarios as drawn: as they are, or every one folded into parks (regions if still too many)
    when their union has more than ``MAX_NODES`` nodes, the same way for all so that flows still match."""
    union_nodes = set().union(*(G.nodes for G in networks.values()))
    if len(union_nodes) <= MAX_NODES:
        return dict(networks), None
    for by in ("park", "region"):
        drawn = {name: aggregate(G, parks=parks, by=by) for name, G in networks.items()}
        drawn_nodes = len(set().union(*(G.nodes for G in drawn.values())))
        if drawn_nodes <= MAX_NODES:
            break
    what = "parks (firms aggregated)" if by == "park" else "regions (parks aggregated)"
    return drawn, (f"{len(union_nodes):,} nodes are drawn as {drawn_nodes:,} {what}; a flow between two of them "
                   "sums the flows of a kind, so a scenario's changes show as changed totals.")


def _union_graph(graphs: dict[str, nx.MultiDiGraph], baseline: str) -> nx.MultiDiGraph:
    """Every node and flow of every scenario, each with its attributes in the baseline, else in the first
    scenario that has it."""
    union: nx.MultiDiGraph = nx.MultiDiGraph(**graphs[baseline].graph)
    for name in [baseline] + [name for name in graphs if name != baseline]:
        G = graphs[name]
        for node, data in G.nodes(data=True):
            if node not in union:
                union.add_node(node, **data)
        for u, v, key, data in G.edges(keys=True, data=True):
            if not union.has_edge(u, v, key):
                union.add_edge(u, v, key=key, **data)
    return union


def _flow_vis_ids(union: nx.MultiDiGraph) -> dict[_FlowIdentity, str]:
    """Each flow's id on the page: its key, or where two flows of the union share a key (one flow id
    between other firms in another scenario), the key with its firms, numbered if need be."""
    uses = Counter(str(key) for _, _, key in union.edges(keys=True))
    shared = {key for key, count in uses.items() if count > 1}
    vis_ids: dict[_FlowIdentity, str] = {}
    taken: set[str] = set()
    for u, v, key in union.edges(keys=True):
        vis_id = str(key) if str(key) not in shared else f"{key} ({u} -> {v})"
        suffix = 1
        while vis_id in taken:
            suffix += 1
            vis_id = f"{key} ({u} -> {v}) #{suffix}"
        taken.add(vis_id)
        vis_ids[(u, v, key)] = vis_id
    return vis_ids


def _flows_by_identity(G: nx.MultiDiGraph) -> dict[_FlowIdentity, dict]:
    return {(u, v, key): data for u, v, key, data in G.edges(keys=True, data=True)}


def _scenario_flows(graphs: dict[str, nx.MultiDiGraph], baseline: str) -> dict[str, _Flows]:
    """Each scenario's totals, with the widest flow and largest throughput taken over all scenarios:
    a line is as wide, a node as large, for the same quantity whichever scenario is shown."""
    own = {name: _flow_totals(G) for name, G in graphs.items()}
    widest: dict[str, float] = {}
    largest: dict[str, float] = {}
    for flows in own.values():
        for currency, value in flows.widest.items():
            widest[currency] = max(widest.get(currency, 0.0), value)
        for currency, value in flows.largest.items():
            largest[currency] = max(largest.get(currency, 0.0), value)
    return {name: dataclasses.replace(flows, widest=widest, largest=largest) for name, flows in own.items()}


def _merged_units(all_flows) -> dict[str, str]:
    units: dict[str, str] = {}
    for flows in all_flows:
        for currency, unit in flows.units.items():
            units.setdefault(currency, unit)
    return units


@dataclass
class _ScenarioContext:
    """One scenario as its edges and nodes are drawn: its graph and totals, and the baseline's."""

    name: str
    baseline: str
    graph: nx.MultiDiGraph
    base_graph: nx.MultiDiGraph
    base_flows: dict[_FlowIdentity, dict]
    flows: _Flows


def _same_quantity(first: float | None, second: float | None) -> bool:
    def unknown(value: float | None) -> bool:
        return value is None or (isinstance(value, float) and math.isnan(value))

    return (unknown(first) and unknown(second)) or first == second


def _change_lines(context: _ScenarioContext, data: dict, base_data: dict | None) -> list[str]:
    """A flow's tooltip lines about what the scenario did to it: added, scaled (before and after), or a
    quantity other than the baseline's."""
    lines = []
    if base_data is None:
        how = "added by this scenario" if data.get("scenario_change") == "added" else "not in the baseline"
        lines.append(f"in {context.name}, not in {context.baseline} ({how}): drawn dashed")
    quantity, unit = data.get("quantity"), data["unit"]
    if data.get("scenario_change") == "scaled":
        before = data["quantity_before"] if "quantity_before" in data else (base_data or {}).get("quantity")
        lines.append(f"scaled in {context.name}: before {_fmt(before, unit)}, after {_fmt(quantity, unit)}")
    elif base_data is not None and not _same_quantity(base_data.get("quantity"), quantity):
        lines.append(f"quantity in {context.baseline}: {_fmt(base_data.get('quantity'), base_data['unit'])}; "
                     f"in {context.name}: {_fmt(quantity, unit)}")
    return lines


def _styled_edge(options: dict, *, dashes: list[int] | bool, opacity: float | None = None, hidden: bool = False,
                 more_lines: list[str] | tuple[str, ...] = ()) -> dict:
    """A drawn edge with every style a scenario changes set explicitly: colour (with its opacity),
    dashes, hidden, title."""
    colour = options["color"]
    base_colour = colour["color"] if isinstance(colour, dict) else colour
    own_opacity = colour.get("opacity", 1.0) if isinstance(colour, dict) else 1.0
    shown_opacity = min(own_opacity, opacity) if opacity is not None else own_opacity
    styled = {**options, "dashes": dashes, "hidden": hidden,
              "color": {"color": base_colour, "highlight": base_colour, "hover": base_colour,
                        "opacity": shown_opacity, "inherit": False},
              "title": "\n".join([options["title"], *more_lines])}
    if opacity is not None:
        styled.pop("label", None)  # a faded flow is not what the scenario has: no "?" drawn over the map
    return styled


def _scenario_edges(context: _ScenarioContext, union: nx.MultiDiGraph, vis_ids: dict[_FlowIdentity, str],
                    detailed: bool) -> dict:
    """Every flow of the union as drawn in one scenario, and a line counting them."""
    own = _flows_by_identity(context.graph)
    edges = []
    added = removed = scaled = 0
    for identity, vis_id in vis_ids.items():
        u, v, _ = identity
        base_data = context.base_flows.get(identity)
        if identity in own:
            data = own[identity]
            options = _vis_edge(context.graph, u, v, vis_id, data, context.flows, detailed)
            added += base_data is None
            scaled += data.get("scenario_change") == "scaled"
            edges.append(_styled_edge(options, dashes=ADDED_DASHES if base_data is None else False,
                                      more_lines=_change_lines(context, data, base_data)))
        elif base_data is not None:
            removed += 1
            options = _vis_edge(context.base_graph, u, v, vis_id, base_data, context.flows, detailed)
            edges.append(_styled_edge(options, dashes=False, opacity=REMOVED_OPACITY,
                                      more_lines=[f"removed in {context.name}: drawn faded, as it is in "
                                                  f"{context.baseline}"]))
        else:  # another scenario's addition: not part of this one, nor of the baseline
            data = union.edges[identity]
            options = _vis_edge(union, u, v, vis_id, data, context.flows, detailed)
            edges.append(_styled_edge(options, dashes=ADDED_DASHES, hidden=True,
                                      more_lines=["another scenario's flow: hidden in " + (
                                          context.name if context.name == context.baseline
                                          else f"{context.name} (not in it nor in {context.baseline})")]))
    if context.name == context.baseline:
        summary = f"{context.name} (the baseline): {_plural(len(own))}" + (f", {scaled} scaled" if scaled else "")
    else:
        summary = (f"{context.name}: {_plural(len(own))}; {added} not in {context.baseline} (dashed); "
                   f"{removed} of {context.baseline}'s removed (faded)" + (f"; {scaled} scaled" if scaled else ""))
    return {"edges": edges, "summary": summary,
            "counts": {"flows": len(own), "added": added, "removed": removed, "scaled": scaled}}


def _scenario_nodes(context: _ScenarioContext, union: nx.MultiDiGraph, sectors: _Sectors,
                    positions: dict) -> list[dict]:
    """Each node's tooltip, size and opacity in one scenario (union order): its totals there, faded when
    the scenario does not hold it."""
    styles = []
    for node, data in union.nodes(data=True):
        drawn = _vis_node(union, node, data, context.flows, sectors, set(), positions)
        if node in context.graph:
            styles.append({"id": str(node), "title": drawn["title"], "size": drawn["size"], "opacity": 1.0})
        else:
            styles.append({"id": str(node), "title": f"{drawn['title']}\nnot in {context.name}: drawn faded",
                           "size": drawn["size"], "opacity": ABSENT_NODE_OPACITY})
    return styles


def _scenario_legend(union: nx.MultiDiGraph, flows: _Flows, sectors: _Sectors, layout: str, detailed: bool,
                     baseline: str) -> dict:
    """:func:`_legend` with the scenario map's line styles: dashed (not in the baseline) and faded
    (removed in the selected scenario) instead of the status dashes of :func:`build_map`."""
    legend = _legend(union, flows, sectors, layout, detailed)
    mid = sum(KNOWN_WIDTH) / 2
    legend["lines"] = [
        {"label": "flow of the selected scenario, quantity known", "width": mid, "dashes": False},
        {"label": f"dashed: in the selected scenario, not in the baseline ({baseline})", "width": mid,
         "dashes": ADDED_DASHES},
        {"label": f"faded: in the baseline ({baseline}), removed in the selected scenario", "width": mid,
         "dashes": False, "opacity": REMOVED_OPACITY},
        {"label": "quantity unknown (not zero): faded hairline" + (" marked ?" if detailed else ""),
         "width": UNKNOWN_WIDTH, "dashes": False, "opacity": UNKNOWN_OPACITY, "mark": "?" if detailed else ""},
    ]
    legend["styles"] = [
        "dashes mark only a flow the baseline lacks; a flow's status (existing, planned, potential) is in its tooltip",
        "a scaled flow's tooltip gives its quantity before and after",
        "faded node: not in the selected scenario",
        "widths and sizes compare across scenarios: one scale for all",
    ] + legend["styles"]
    return legend
