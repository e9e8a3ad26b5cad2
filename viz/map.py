"""Interactive network maps: pyvis builds the network, our own template renders it offline.

pyvis's bundled template loads bootstrap from a CDN and, for titles containing "href", writes them with
``innerHTML``; so the map is rendered with :file:`templates/map.html` instead: vis-network's script and
style (shipped inside pyvis) are inlined, data go into the page as JSON that cannot close its script
tag, and every text from data reaches the page through ``textContent``/``innerText`` (tooltips are
plain text, never HTML). The page makes no network request.
"""
from __future__ import annotations

import json
import logging
import math
import os
from collections import defaultdict
from pathlib import Path

import jinja2
import networkx as nx
import pandas as pd
import pyvis
from pyvis.network import Network

__all__ = ["build_map", "write_map", "store_map", "aggregate", "KIND_COLOURS", "MAX_NODES"]

log = logging.getLogger(__name__)

KIND_COLOURS = {"material": "#8c6d31", "waste": "#d62728", "energy": "#ff7f0e", "water": "#1f77b4", "co2": "#555555"}
SECTOR_PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                  "#9c755f", "#bab0ac", "#17becf", "#bcbd22", "#8dd3c7", "#fb8072", "#80b1d3", "#fdb462",
                  "#b3de69", "#fccde5", "#bc80bd", "#ccebc5"]
BOUNDARY_COLOUR = "#c7c7c7"
ABSORBER_BORDER = "#1a9850"
#: above this many nodes the map draws parks (or regions) instead of firms
MAX_NODES = 3000
#: above this many nodes a force layout is precomputed (firms around their park) and physics is off
PHYSICS_LIMIT = 1500
_VIS = Path(pyvis.__file__).parent / "templates" / "lib" / "vis-9.1.2"
_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                                autoescape=jinja2.select_autoescape(["html"]))


def _script_json(data) -> str:
    """JSON that is safe inside <script>: no '</script>', no HTML comment or entity tricks."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _sector_key(data: dict) -> str:
    code = (data.get("sector_code") or "").strip()
    if code:
        return code[:3]  # NACE division (C23) or GB/T 4754 major group
    return (data.get("sector_name") or "unknown sector").strip()[:40]


def _fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"unknown {unit}"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:,.3g} {unit}"


def aggregate(G: nx.MultiDiGraph, parks: pd.DataFrame | None = None, by: str = "park") -> nx.MultiDiGraph:
    """Firms folded into their parks (``by="park"``) or parks into regions (``by="region"``).

    Each aggregate node carries ``name``, ``firms`` (how many), ``lat``/``lon`` (park or region centre)
    and the summed flows between aggregates per kind (canonical units; unknown quantities counted apart).
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

    H = nx.MultiDiGraph(aggregated=by)
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
        key = group.split(":", 1)[1]
        info = park_info.get(key)
        name = (getattr(info, "name", None) or key) if by == "park" else key
        H.add_node(group, name=str(name), firms=len(nodes), boundary=False,
                   lat=sum(lats) / len(lats) if lats else None, lon=sum(lons) / len(lons) if lons else None,
                   sector_name=f"{len(nodes)} firms")
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
                   currency=kind, flows=flows, unknown=unknown, distance_km=None)
    return H


def _positions(G: nx.MultiDiGraph) -> dict[str, tuple[float, float]]:
    """Geographic layout in canvas pixels (equirectangular), scaled to the park's own firms.

    Firms outside the park (often far away: a cement plant 170 km off) would shrink the park to a
    point, so they are placed on the edge of the map in their true direction; boundary nodes (imports,
    exports) stand in columns beside it.
    """
    located = {node: (data["lat"], data["lon"]) for node, data in G.nodes(data=True)
               if data.get("lat") is not None and data.get("lon") is not None}
    if not located:
        return {}
    core = {node: point for node, point in located.items() if not G.nodes[node].get("external")} or located
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
    loops: pd.DataFrame | None = None,
    absorbers: list[str] | None = None,
    layout: str = "force",
    show: tuple[str, ...] = ("loops", "absorbers", "potential"),
    title: str = "Industrial symbiosis network",
    parks: pd.DataFrame | None = None,
    max_nodes: int = MAX_NODES,
) -> str:
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
        ``park_id, name, lat, lon, region``: used when the network is aggregated.
    max_nodes : int
        Above this many nodes, firms are drawn as parks (and parks as regions if still too many); the
        page says so.

    Returns
    -------
    str
        HTML with vis-network inlined: opens offline.
    """
    if layout not in ("force", "geo"):
        raise ValueError(f"layout must be 'force' or 'geo', not {layout!r}")
    notice = None
    original_nodes = G.number_of_nodes()
    if original_nodes > max_nodes:
        firms = G
        G = aggregate(firms, parks, by="park")
        notice = f"{original_nodes:,} nodes are drawn as {G.number_of_nodes():,} parks (firms aggregated)."
        if G.number_of_nodes() > max_nodes:
            G = aggregate(firms, parks, by="region")
            notice = f"{original_nodes:,} nodes are drawn as {G.number_of_nodes():,} regions (parks aggregated)."
        loops, absorbers = None, None  # they name firms, which the aggregated map no longer shows
    if "potential" not in show:
        G = G.edge_subgraph([(u, v, k) for u, v, k, s in G.edges(keys=True, data="status") if s != "potential"]).copy()
    absorbers = set(absorbers or []) if "absorbers" in show else set()
    # Node size: throughput in each currency relative to the largest node's in that currency.
    throughput: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    units: dict[str, str] = {}
    for u, v, data in G.edges(data=True):
        if data["quantity"] is not None:
            for node in (u, v):
                throughput[node][data["kind"]] += data["quantity"]
            units[data["kind"]] = data["unit"]
    largest = {kind: max((values[kind] for values in throughput.values()), default=0.0) for kind in units}
    sectors = sorted({_sector_key(data) for node, data in G.nodes(data=True) if not data.get("boundary")})
    colour = {sector: SECTOR_PALETTE[index % len(SECTOR_PALETTE)] for index, sector in enumerate(sectors)}

    net = Network(height="100%", width="100%", directed=True, cdn_resources="in_line")
    positions = _positions(G) if layout == "geo" else {}
    if layout == "force" and G.number_of_nodes() > PHYSICS_LIMIT:
        positions = _grouped_positions(G)
        notice = (notice + " " if notice else "") + (
            f"Above {PHYSICS_LIMIT:,} nodes the layout is precomputed (firms around their park) and physics is off.")
    for node, data in G.nodes(data=True):
        share = max((throughput[node][kind] / largest[kind] for kind in throughput[node] if largest.get(kind)),
                    default=0.0)
        lines = [str(data.get("name") or node)]
        if data.get("boundary") and data.get("direction"):
            lines.append("outside the park")
        else:
            for label, key in (("sector", "sector_name"), ("park", "park_id")):
                if data.get(key):
                    lines.append(f"{label}: {data[key]}")
            if data.get("external"):
                lines.append("firm outside this park")
        lines += [f"{kind}: {_fmt(value, units[kind])}" for kind, value in sorted(throughput[node].items())]
        if node in absorbers:
            lines.append("CO2 absorption node")
        options = {"label": str(data.get("name") or node)[:40], "title": "\n".join(lines),
                   "size": 8 + 32 * math.sqrt(share)}
        if data.get("direction"):
            options.update(color=BOUNDARY_COLOUR, shape="box", size=10)
        else:
            options.update(color={"background": colour[_sector_key(data)],
                                  "border": ABSORBER_BORDER if node in absorbers else "#333333"},
                           borderWidth=5 if node in absorbers else 1, shape="dot")
            if data.get("external"):
                options["shapeProperties"] = {"borderDashes": [4, 3]}
        if node in positions:
            options.update(x=positions[node][0], y=positions[node][1], physics=False)
        net.add_node(str(node), **options)
    edge_ids = {}
    maxima: dict[str, float] = defaultdict(float)
    for _, _, data in G.edges(data=True):
        if data["quantity"]:
            maxima[data["kind"]] = max(maxima[data["kind"]], data["quantity"])
    for u, v, key, data in G.edges(keys=True, data=True):
        quantity = data["quantity"]
        width = 1.0 if not quantity else 1.0 + 7.0 * math.log10(1 + quantity) / math.log10(1 + maxima[data["kind"]])
        lines = [f"{G.nodes[u].get('name') or u} -> {G.nodes[v].get('name') or v}",
                 f"{data.get('resource_name') or data['resource']} ({data['kind']})",
                 _fmt(quantity, data["unit"]), f"status: {data['status']}"]
        if data.get("distance_km") is not None:
            lines.append(f"distance: {data['distance_km']:,.1f} km")
        edge_id = str(key)
        edge_ids[(u, v)] = edge_ids.get((u, v), []) + [edge_id]
        net.add_edge(str(u), str(v), id=edge_id, title="\n".join(lines), width=width,
                     color=KIND_COLOURS.get(data["kind"], "#999999"), arrows="to",
                     dashes=[8, 6] if data["status"] == "potential" else ([2, 4] if data["status"] == "planned" else False))
    loop_items = []
    if loops is not None and "loops" in show and len(loops):
        for row in loops.head(200).itertuples():
            members = row.members.split(" -> ")
            links = list(zip(members, members[1:] + members[:1]))
            loop_items.append({
                "label": f"#{row.rank} {row.currency}, {row.length} firms: {row.names}"[:200],
                "nodes": members,
                "edges": [edge for link in links for edge in edge_ids.get(link, [])],
            })
    physics = layout == "force" and G.number_of_nodes() <= PHYSICS_LIMIT
    options = {
        "physics": {"enabled": physics, "solver": "barnesHut", "stabilization": {"iterations": 300},
                    "barnesHut": {"gravitationalConstant": -8000, "springLength": 160}},
        "interaction": {"hover": True, "tooltipDelay": 120, "hideEdgesOnDrag": G.number_of_edges() > 3000},
        "edges": {"smooth": G.number_of_edges() <= 3000, "arrows": {"to": {"scaleFactor": 0.6}}},
        "nodes": {"font": {"size": 13}},
        "layout": {"improvedLayout": G.number_of_nodes() <= 150},
    }
    legend = {
        "sectors": [{"label": sector, "colour": colour[sector]} for sector in sectors[:20]]
                   + ([{"label": f"... {len(sectors) - 20} more", "colour": "#ffffff"}] if len(sectors) > 20 else []),
        "kinds": [{"label": kind, "colour": value} for kind, value in KIND_COLOURS.items()],
        "styles": ["solid: existing", "dotted: planned", "dashed: potential (matchmaking)",
                   "grey box: outside the park", "dashed outline: firm in another park",
                   "green ring: CO2 absorption node", "size: throughput (relative, per currency)",
                   "width: quantity (log scale, per kind)"],
    }
    data = {"nodes": net.nodes, "edges": net.edges, "options": options, "loops": loop_items, "legend": legend,
            "physics": physics}
    template = _TEMPLATES.get_template("map.html")
    return template.render(title=title, notice=notice, vis_js=(_VIS / "vis-network.min.js").read_text(encoding="utf-8"),
                           vis_css=(_VIS / "vis-network.css").read_text(encoding="utf-8"),
                           data_json=_script_json(data), counts=(G.number_of_nodes(), G.number_of_edges()),
                           layout=layout)


def write_map(G: nx.MultiDiGraph, path: str | os.PathLike, **options) -> Path:
    """Write :func:`build_map`'s page to ``path`` (UTF-8)."""
    path = Path(path)
    path.write_text(build_map(G, **options), encoding="utf-8")
    return path


def store_map(db, park: str | None = None, layout: str = "force",
              show: tuple[str, ...] = ("loops", "absorbers", "potential"), title: str | None = None,
              max_nodes: int = MAX_NODES) -> str:
    """Build the map of a store (or one park): the graph, its loops and absorption nodes, drawn.

    Loops and absorbers are computed on existing flows; planned flows are drawn dotted and potential
    ones (from matchmaking) dashed when ``show`` includes ``potential``.
    """
    from symbiosis.carbon import absorption_nodes, carbon_balance
    from symbiosis.colocation import park_centres
    from symbiosis.graph import load_graph
    from symbiosis.loops import find_loops

    statuses = ["existing", "planned"] + (["potential"] if "potential" in show else [])
    G = load_graph(db, park=park, status=statuses)
    small = G.number_of_nodes() <= max_nodes
    # the existing-only graph is loaded only when loops or absorbers will be drawn (a national map is
    # aggregated and shows neither; loading it twice would double the memory)
    existing = load_graph(db, park=park, status="existing") if small and {"loops", "absorbers"} & set(show) else None
    loops = find_loops(existing, limit=200).loops if "loops" in show and small else None
    absorbers = None
    if "absorbers" in show and small:
        nodes = absorption_nodes(carbon_balance(db, park=park, G=existing), existing, db)
        absorbers = nodes["id"].head(10).tolist()
    parks = park_centres(db).merge(
        pd.DataFrame(db.execute("SELECT id, region FROM parks").fetchall(), columns=["park_id", "region"]),
        on="park_id", how="left")
    if title is None:
        names = dict(db.execute("SELECT id, name FROM parks"))
        title = f"{names.get(park, park)}: industrial symbiosis network" if park else "Industrial symbiosis network"
    return build_map(G, loops=loops, absorbers=absorbers, layout=layout, show=show, title=title, parks=parks,
                     max_nodes=max_nodes)
