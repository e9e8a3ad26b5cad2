"""Exports: the network to files other tools read (GraphML and GEXF for Gephi, node-link JSON, CSV),
and matchmaking lists that a facilitator hands out (CSV, XLSX with a sheet per firm, JSON)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["EXPORT_FORMATS", "export_graph", "graph_to_frames", "export_matches", "firm_lists"]

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


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(value):
    """XML 1.0 cannot hold most control characters: replace them, so Gephi can read the file."""
    return _XML_INVALID.sub("\ufffd", value) if isinstance(value, str) else value


def _for_gephi(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy whose attributes GraphML/GEXF accept: no None values, valid XML text, a 'label' for Gephi."""
    H = nx.MultiDiGraph()
    for node, data in G.nodes(data=True):
        clean = {key: _xml_safe(value) for key, value in data.items() if value is not None}
        clean["label"] = _xml_safe(str(data.get("name") or node))
        H.add_node(_xml_safe(str(node)), **clean)
    for u, v, key, data in G.edges(keys=True, data=True):
        clean = {name: _xml_safe(value) for name, value in data.items() if value is not None}
        clean["label"] = _xml_safe(str(data.get("resource_name") or data.get("resource") or ""))
        # Gephi reads 'weight' as the edge weight; unknown quantities get none.
        if data.get("quantity") is not None:
            clean["weight"] = float(data["quantity"])
        H.add_edge(_xml_safe(str(u)), _xml_safe(str(v)), key=_xml_safe(str(key)), **clean)
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
        edges.map(_neutral).to_csv(path, index=False)  # spreadsheets must not run text from data
    return path


# --------------------------------------------------------------------------------------------------
# matchmaking lists

#: columns of a firm's sheet, with their headers (units in the header)
_LIST_COLUMNS = {
    "rank": "rank", "score": "score (0-1)", "role": "role", "partner": "partner", "partner_park": "partner park",
    "offered": "offered resource", "demanded": "demanded resource", "quantity": "quantity", "unit": "unit",
    "distance_km": "distance (km)", "co2_avoided_t": "CO2 avoided (tCO2e/yr)", "value_cny": "value (CNY/yr)",
    "exists": "exchange exists", "plan_quantity": "in plan (quantity)",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutral(value):
    """Text a spreadsheet would run as a formula is written with a leading apostrophe (OWASP)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def firm_lists(candidates: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per firm (name as given, or its code once anonymised), the candidates it gives or takes in."""
    lists = {}
    for firm_column, name_column, role, partner, partner_park in (
        ("offer_firm", "offer_name", "gives", "demand_name", "demand_park"),
        ("demand_firm", "demand_name", "takes", "offer_name", "offer_park"),
    ):
        for (firm, name), rows in candidates.groupby([firm_column, name_column], sort=True):
            table = rows.assign(role=role, partner=rows[partner], partner_park=rows[partner_park])
            lists.setdefault((firm, name), []).append(table)
    return {name: pd.concat(tables).sort_values("rank")[list(_LIST_COLUMNS)].rename(columns=_LIST_COLUMNS)
            for (firm, name), tables in sorted(lists.items(), key=lambda item: str(item[0][1]))}


def export_matches(candidates: pd.DataFrame, summary: pd.DataFrame, path: str | os.PathLike,
                   fmt: str | None = None, about: dict | None = None) -> Path:
    """Write matchmaking lists: CSV (every candidate), XLSX (a summary sheet and one sheet per firm) or JSON.

    Cells from data that start like a formula (``=``, ``+``, ``-``, ``@``) are written as text in CSV and
    XLSX. ``about`` (method, weights, notes) goes on the summary sheet / into the JSON.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "xlsx", "json"):
        raise InputError(f"unknown list format {fmt!r}; expected csv, xlsx or json")
    about = about or {}
    if fmt == "csv":
        candidates.map(_neutral).to_csv(path, index=False)
    elif fmt == "json":
        payload = {"about": about, "summary": json.loads(summary.to_json(orient="records")),
                   "candidates": json.loads(candidates.to_json(orient="records", force_ascii=False))}
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    else:
        _write_workbook(path, candidates, summary, about)
    return path


def _write_workbook(path: Path, candidates: pd.DataFrame, summary: pd.DataFrame, about: dict) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()

    def fill(sheet, frame: pd.DataFrame, start_row: int = 1) -> None:
        for cell in sheet[start_row]:
            cell.font = Font(bold=True)
        for record in frame.itertuples(index=False):
            row = [None if (isinstance(value, float) and np.isnan(value)) else value for value in record]
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                elif isinstance(cell.value, float):
                    cell.number_format = "#,##0.00" if abs(cell.value) < 1000 else "#,##0"
        for index, column in enumerate(frame.columns, start=1):
            width = max([len(str(column))] + [len(str(value)) for value in frame[column].head(200)])
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
        sheet.freeze_panes = sheet.cell(row=start_row + 1, column=1)

    first = book.active
    first.title = "summary"
    first.append(["Matchmaking summary"])
    first["A1"].font = Font(bold=True, size=13)
    for key, value in about.items():
        first.append([str(key), json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value])
    first.append([])
    header_row = first.max_row + 1
    first.append([str(column) for column in summary.columns])
    for cell in first[header_row]:
        cell.font = Font(bold=True)
    for record in summary.itertuples(index=False):
        first.append([None if (isinstance(value, float) and np.isnan(value)) else value for value in record])
    for index in range(1, len(summary.columns) + 1):
        first.column_dimensions[get_column_letter(index)].width = 20

    used: set[str] = {"summary"}
    for name, table in firm_lists(candidates).items():
        title = _sheet_title(str(name), used)
        sheet = book.create_sheet(title)
        sheet.append([str(column) for column in table.columns])
        fill(sheet, table, start_row=1)
    book.save(path)


def _sheet_title(name: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = "".join(" " if char in '[]:*?/\\' else char for char in name).strip().strip("'") or "firm"
    base = base[:31]
    title, number = base, 2
    while title.lower() in {existing.lower() for existing in used}:
        suffix = f" ({number})"
        title, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(title)
    return title
