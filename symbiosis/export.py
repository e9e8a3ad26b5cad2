"""Export the network to files other tools read: GraphML and GEXF (Gephi), node-link JSON, CSV."""
from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import pandas as pd

from .errors import InputError

__all__ = ["EXPORT_FORMATS", "export_graph", "graph_to_frames"]

EXPORT_FORMATS = ("graphml", "gexf", "json", "csv")


def graph_to_frames(G: nx.MultiDiGraph) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and edges of a flow graph as two DataFrames.

    Returns
    -------
    nodes : DataFrame
        One row per node: ``id`` and the node attributes.
    edges : DataFrame
        One row per flow: ``flow_id, source_id, source_name, target_id, target_name`` and the edge
        attributes (resource, kind, quantity in the canonical ``unit``, status, year, distance_km ...).
    """
    nodes = pd.DataFrame([{"id": node, **data} for node, data in G.nodes(data=True)])
    edges = pd.DataFrame([
        {"flow_id": key, "source_id": u, "source_name": G.nodes[u].get("name"),
         "target_id": v, "target_name": G.nodes[v].get("name"), **data}
        for u, v, key, data in G.edges(keys=True, data=True)
    ])
    return nodes, edges


def _for_gephi(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy whose attributes GraphML/GEXF accept: no None values, a 'label' for Gephi."""
    H = nx.MultiDiGraph()
    for node, data in G.nodes(data=True):
        clean = {key: value for key, value in data.items() if value is not None}
        clean["label"] = str(data.get("name") or node)
        H.add_node(str(node), **clean)
    for u, v, key, data in G.edges(keys=True, data=True):
        clean = {name: value for name, value in data.items() if value is not None}
        clean["label"] = str(data.get("resource_name") or data.get("resource") or "")
        # Gephi reads 'weight' as the edge weight; unknown quantities get none.
        if data.get("quantity") is not None:
            clean["weight"] = float(data["quantity"])
        H.add_edge(str(u), str(v), key=str(key), **clean)
    return H


def export_graph(G: nx.MultiDiGraph, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write the flow graph to a file.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        From :func:`symbiosis.graph.load_graph`.
    path : path-like
        Output file.
    fmt : {'graphml', 'gexf', 'json', 'csv'}, optional
        Default: from the file's suffix. GraphML and GEXF open in Gephi (node ``label`` = firm name,
        edge ``weight`` = canonical quantity); JSON is networkx node-link data; CSV is one row per flow.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "graphml":
        nx.write_graphml(_for_gephi(G), path)
    elif fmt == "gexf":
        nx.write_gexf(_for_gephi(G), path)
    elif fmt == "json":
        data = nx.node_link_data(G, edges="edges")
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    else:
        _, edges = graph_to_frames(G)
        edges.to_csv(path, index=False)
    return path
