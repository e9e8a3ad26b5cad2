"""Exports: the network to files other tools read (GraphML and GEXF for Gephi, node-link JSON, CSV),
and matchmaking lists that a facilitator hands out (CSV, XLSX with a sheet per firm, JSON).

**Every file the tool writes goes through :func:`write_output`**: a regular file is written to a
temporary file beside it and renamed over it once complete (a full disk or a killed run leaves the old
file, or none, never a truncated one); a special file (``/dev/stdout``, ``/dev/full``, anything under
``/dev`` or ``/proc``, a pipe) is written directly; ``-`` is standard output (text formats only). Any
failure is one :class:`~symbiosis.errors.InputError` naming the path. :func:`check_output` makes the
same checks without writing, so that a command that also changes the store can refuse a bad output
before it changes anything.

**Every CSV or XLSX cell the tool writes is neutralised** (files and standard output): text a
spreadsheet would run as a formula (:func:`formula_like`: starting with ``=``, ``+``, ``-``, ``@``, tab
or carriage return) gets a leading apostrophe in CSV (:func:`neutral_cell`); in XLSX it is stored as
text with Excel's own apostrophe prefix (``quotePrefix``: what Excel stores when a user types
``'=1+2``), so it shows as written and never runs. Numbers stay numbers. XLSX text also loses the
control characters XML cannot hold: they are spelt out (``\\x07``), as the CLI's tables show them.
"""
from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import secrets
import stat
import sys
from pathlib import Path
from typing import BinaryIO, Callable

import networkx as nx
import numpy as np
import pandas as pd

from .errors import InputError
from .formats import BINARY_FORMATS, EXPORT_FORMATS, LIST_FORMATS, STDOUT
from .gexf import xml_safe

__all__ = ["EXPORT_FORMATS", "LIST_FORMATS", "STDOUT", "export_graph", "graph_to_frames", "export_matches",
           "export_tables", "readable_header",
           "firm_lists", "write_output", "check_output", "output_format", "formula_like", "neutral_cell",
           "neutral_frame", "xlsx_text"]

_BINARY_FORMATS = BINARY_FORMATS
#: folders whose entries are devices or kernel files: written in place, never replaced by a rename
_SPECIAL_FOLDERS = ("/dev/", "/proc/", "/sys/")


# --------------------------------------------------------------------------------------------------
# writing files


def _shown(path) -> str:
    return "standard output" if str(path) == STDOUT else str(path)


def _is_special(path: Path) -> bool:
    """A device, pipe or kernel file: it cannot be replaced by a rename, only written in place."""
    absolute = os.path.abspath(path)
    if absolute.startswith(_SPECIAL_FOLDERS) or absolute in ("/dev", "/proc", "/sys"):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # not there (yet): a new regular file
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _reason(error: OSError, path: Path) -> str:
    """What went wrong, in words, naming the folder when it is the folder that is missing."""
    if error.errno == errno.ENOENT and not _is_special(path):
        return f"folder {str(path.parent) or '.'!r} does not exist"
    if error.errno == errno.EISDIR:
        return "it is a folder"
    return error.strerror or str(error)


def output_format(path, fmt: str | None, formats: tuple[str, ...], *, what: str = "output") -> str:
    """The format of an output: ``fmt`` if given, else the file's suffix; one of ``formats``.

    Raises
    ------
    InputError
        No format (standard output needs one), an unknown one, or a binary one for standard output.
    """
    if fmt is None and str(path) == STDOUT:
        raise InputError(f"writing the {what} to standard output (-o -) needs a format: one of {', '.join(formats)}")
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt not in formats:
        raise InputError(f"unknown {what} format {fmt!r} for {_shown(path)}; expected one of {', '.join(formats)}")
    if str(path) == STDOUT and fmt in _BINARY_FORMATS:
        raise InputError(f"{fmt} is a binary format: write it to a file, not to standard output")
    return fmt


def check_output(path, fmt: str | None = None, *, formats: tuple[str, ...] | None = None, what: str = "output") -> str:
    """Check, without writing, that an output can be written: its format (when ``formats`` is given), its
    folder exists and takes a new file, it is not a folder, an existing file is writable.

    Commands that change the store and also write a file call this first, so a bad ``-o`` changes
    nothing. A write can still fail later (a disk that fills up): :func:`write_output` then says so.

    Returns
    -------
    str
        The format (``fmt`` or the suffix), or ``""`` when ``formats`` is None.
    """
    chosen = output_format(path, fmt, formats, what=what) if formats else ""
    if str(path) == STDOUT:
        return chosen
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(f"cannot write {path}: it is a folder")
        if _is_special(path) and path.exists():  # a device or a pipe: written in place, if we may
            if not os.access(path, os.W_OK):
                raise InputError(f"cannot write {path}: permission denied")
            return chosen
        target = Path(os.path.realpath(path))
        if target.exists() and not os.access(target, os.W_OK):
            raise InputError(f"cannot write {path}: permission denied (the file is read-only or immutable)")
        probe = target.parent / f".{target.name}.{secrets.token_hex(4)}.check"
        descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as error:
        raise InputError(f"cannot write {path}: {_reason(error, path)}") from None
    return chosen


# what a producer returns is ignored (a lambda around handle.write returns the count written)
Producer = Callable[[BinaryIO], object]


def write_output(path, content: str | bytes | Producer) -> str:
    """Write a file whole, or not at all: the one writer behind every file the tool writes.

    Parameters
    ----------
    path : path-like or ``"-"``
        ``-`` writes to standard output. A path under ``/dev``, ``/proc`` or ``/sys``, or an existing
        file that is not a regular file (a pipe, a terminal), is written directly. Any other path is
        written to a temporary file in the same folder, flushed to disk, then renamed over the target
        (atomic): a failure leaves the old file as it was (or no file) and no temporary file. A
        symbolic link keeps pointing at the new file; an existing file keeps its permissions.
    content : str, bytes or callable
        Text (written as UTF-8), bytes, or a function that writes to a binary file object.

    Returns
    -------
    str
        The path as given (``-`` for standard output).

    Raises
    ------
    InputError
        The file cannot be written (no such folder, permission denied, read-only or immutable file,
        disk full, ...), with the path and the reason.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    produce: Producer = (lambda handle: handle.write(content)) if isinstance(content, bytes) else content
    if str(path) == STDOUT:
        stream = getattr(sys.stdout, "buffer", None)
        try:
            if stream is None:  # a text-only stdout (some test runners): decode what was produced
                buffer = io.BytesIO()
                produce(buffer)
                sys.stdout.write(buffer.getvalue().decode("utf-8"))
            else:
                sys.stdout.flush()
                produce(stream)
                stream.flush()
        except OSError as error:
            raise InputError(f"cannot write to standard output: {error.strerror or error}") from None
        return STDOUT
    path = Path(path)
    try:
        if _is_special(path):
            with open(path, "wb") as handle:  # an error on the final flush is raised by close
                produce(handle)
        else:
            _replace_atomically(path, produce)
    except OSError as error:
        raise InputError(f"cannot write {path}: {_reason(error, path)}") from None
    return str(path)


def _replace_atomically(path: Path, produce: Producer) -> None:
    target = Path(os.path.realpath(path))  # through a symbolic link: the link stays, its file is replaced
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
    existing = None
    if target.exists():
        if not os.access(target, os.W_OK):  # a rename would bypass a read-only file's protection
            raise PermissionError(errno.EACCES, "permission denied (the file is read-only or immutable)", str(path))
        existing = os.stat(target).st_mode & 0o7777
    temporary = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    # a new file gets the usual permissions (0666 less the umask), not mkstemp's 0600
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if existing is not None and hasattr(os, "fchmod"):  # the file's own mode, not the umask's
                os.fchmod(handle.fileno(), existing)
            produce(handle)
            handle.flush()
            os.fsync(handle.fileno())  # a full disk shows here at the latest, before the rename
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------------------------------
# cells for spreadsheets


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
    """A copy whose attributes GraphML/GEXF accept: no None values, valid XML text, a 'label' for Gephi."""
    H: nx.MultiDiGraph = nx.MultiDiGraph()
    for node, data in G.nodes(data=True):
        clean = {key: xml_safe(value) for key, value in data.items() if value is not None}
        clean["label"] = xml_safe(str(data.get("name") or node))
        H.add_node(xml_safe(str(node)), **clean)
    for u, v, key, data in G.edges(keys=True, data=True):
        clean = {name: xml_safe(value) for name, value in data.items() if value is not None}
        clean["label"] = xml_safe(str(data.get("resource_name") or data.get("resource") or ""))
        # Gephi reads 'weight' as the edge weight; unknown quantities get none.
        if data.get("quantity") is not None:
            clean["weight"] = float(data["quantity"])
        H.add_edge(xml_safe(str(u)), xml_safe(str(v)), key=xml_safe(str(key)), **clean)
    return H


def _geopackage_bytes(G: nx.MultiDiGraph) -> bytes:
    """The GeoPackage of :func:`symbiosis.gis.write_geopackage`, built in a private folder and handed to
    :func:`write_output` whole (so the target is replaced at once, or not at all)."""
    import tempfile

    from .gis import write_geopackage

    with tempfile.TemporaryDirectory(prefix="symbiosis-gpkg-") as folder:
        built = Path(folder) / "layers.gpkg"
        write_geopackage(G, str(built))
        return built.read_bytes()


#: GEXF: each currency's quantity in its own weight attribute (Gephi can size edges by one at a time)
_CURRENCY_WEIGHTS = {"mass": "weight_mass_t", "energy": "weight_energy_mwh", "water": "weight_water_m3",
                     "co2": "weight_co2_t"}
#: km per degree of latitude, and of longitude at the equator (WGS 84 mean values), for the firms' position
_KM_PER_DEGREE = (110.574, 111.320)


def _gexf_producer(G: nx.MultiDiGraph) -> Producer:
    """GEXF 1.3 for Gephi (:mod:`symbiosis.gexf`): each flow's id as its edge id; no single ``weight`` mixing
    t, MWh, m3 and tCO2e but one weight attribute per currency (none where the quantity is unknown); firms
    with coordinates placed by ``position`` in km east and north of the firms' mean position (an
    equirectangular projection at that latitude: distances within a park true to well under 1 %)."""
    from .gexf import gexf_lines, write_gexf

    H = _for_gephi(G)
    node_attributes = {node: {name: value for name, value in data.items() if name != "label"}
                       for node, data in H.nodes(data=True)}
    edge_attributes = {}
    for _, _, key, data in H.edges(keys=True, data=True):
        attributes = {name: value for name, value in data.items() if name not in ("label", "weight")}
        if data.get("weight") is not None and data.get("currency") in _CURRENCY_WEIGHTS:
            attributes[_CURRENCY_WEIGHTS[data["currency"]]] = data["weight"]
        edge_attributes[key] = attributes
    placed = [(data["lat"], data["lon"]) for _, data in H.nodes(data=True) if "lat" in data and "lon" in data]
    positions = {}
    if placed:
        lat0 = sum(lat for lat, _ in placed) / len(placed)
        lon0 = sum(lon for _, lon in placed) / len(placed)
        east = _KM_PER_DEGREE[1] * math.cos(math.radians(lat0))
        positions = {node: ((data["lon"] - lon0) * east, (data["lat"] - lat0) * _KM_PER_DEGREE[0])
                     for node, data in H.nodes(data=True) if "lat" in data and "lon" in data}
    lines = gexf_lines(
        H, node_attributes=node_attributes, edge_attributes=edge_attributes,
        node_labels={node: str(label) for node, label in H.nodes(data="label")},
        edge_labels={key: str(data["label"]) for _, _, key, data in H.edges(keys=True, data=True)},
        positions=positions,
        description="Industrial symbiosis flow network; position x, y: km east and north of the firms' mean "
                    "position (equirectangular projection)")

    def produce(handle) -> None:
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="\n", write_through=False)
        write_gexf(lines, text)
        text.flush()
        text.detach()  # the caller owns the binary handle

    return produce


def export_graph(G: nx.MultiDiGraph, path: str | os.PathLike, *, fmt: str | None = None) -> Path:
    """Write the flow graph to a file.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        From :func:`symbiosis.graph.load_graph`.
    path : path-like or ``"-"``
        Output file (written whole or not at all, see :func:`write_output`); ``-`` is standard output.
    fmt : {'graphml', 'gexf', 'json', 'csv', 'geojson', 'gpkg'}, optional
        Default: from the file's suffix (required for ``-``). GraphML and GEXF 1.3 open in Gephi (node
        ``label`` = firm name; GraphML: edge ``weight`` = canonical quantity beside ``currency``; GEXF: one
        weight attribute per currency, :func:`_gexf_producer`); JSON is networkx node-link data;
        CSV is one row per flow; GeoJSON and GeoPackage are firm points and flow lines for GIS
        (:mod:`symbiosis.gis`; GeoPackage needs the ``gis`` extra).

    Returns
    -------
    pathlib.Path
    """
    fmt = output_format(path, fmt, EXPORT_FORMATS, what="export")
    content: str | bytes | Producer
    if fmt == "graphml":
        content = lambda handle: nx.write_graphml(_for_gephi(G), handle)  # noqa: E731
    elif fmt == "gexf":
        content = _gexf_producer(G)
    elif fmt == "geojson":
        from .gis import geojson_text

        content = geojson_text(G)
    elif fmt == "gpkg":
        content = _geopackage_bytes(G)
    elif fmt == "json":
        data = nx.node_link_data(G, edges="edges")
        content = json.dumps(_json_safe(data), ensure_ascii=False, indent=1, default=str, allow_nan=False)
    else:
        _, edges = graph_to_frames(G)
        content = neutral_frame(edges).to_csv(index=False)  # spreadsheets must not run text from data
    written = write_output(path, content)
    return Path(written) if written != STDOUT else Path(STDOUT)


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


def formula_like(value) -> bool:
    """Text a spreadsheet would run as a formula: it starts with ``=``, ``+``, ``-``, ``@``, tab or CR."""
    return isinstance(value, str) and value.startswith(_FORMULA_START)


def neutral_cell(value):
    """A CSV cell as a spreadsheet must get it: formula-like text (:func:`formula_like`) with a leading
    apostrophe (OWASP); anything else, numbers included, as is."""
    return "'" + value if formula_like(value) else value


def neutral_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell of ``frame`` through :func:`neutral_cell` (headers too: they can come from data)."""
    out = frame.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if column.dtype != object and not pd.api.types.is_string_dtype(column.dtype):
            continue  # numbers, booleans, dates: never text a spreadsheet runs
        try:  # by distinct value: a national list has millions of cells, most of them repeated or numbers
            distinct = pd.unique(column.to_numpy(dtype=object))
            formula_like = [value for value in distinct if isinstance(value, str) and value.startswith(_FORMULA_START)]
            risky = column.isin(formula_like) if formula_like else None
        except TypeError:  # unhashable cells (lists): cell by cell, vectorised
            try:
                risky = column.str.startswith(_FORMULA_START).eq(True)
            except AttributeError:  # no text in the column at all
                continue
        if risky is None:
            continue
        if risky.any():
            out.iloc[:, position] = column.where(~risky, "'" + column.where(risky, "").astype(str))
    out.columns = [neutral_cell(column) for column in frame.columns]
    out.attrs = dict(frame.attrs)
    return out


_neutral = neutral_cell  # the name older code used

#: control characters an XLSX (XML 1.0) cell cannot hold
_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_text(text: str) -> str:
    """Text an XLSX cell or sheet name can hold: control characters XML refuses spelt out (``\\x07``)."""
    return _XLSX_ILLEGAL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _xlsx_value(value):
    """One XLSX cell's value: unknown (None, NaN) and non-finite numbers empty, text with control
    characters spelt out (the caller stores it as text, with the apostrophe prefix when formula-like)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None  # unknown, or a sum too large for a float: never 'inf' or 'nan' in a sheet
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
    if isinstance(value, (dict, list, tuple)):
        value = json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, str):
        return xlsx_text(value)
    return value


def _json_safe(value):
    """JSON has no NaN or infinity: such a float (unknown, or a sum too large) becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def firm_lists(candidates: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per firm (name as given, or its code once anonymised), the candidates it gives or takes in."""
    lists: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for firm_column, name_column, role, partner, partner_park in (
        ("offer_firm", "offer_name", "gives", "demand_name", "demand_park"),
        ("demand_firm", "demand_name", "takes", "offer_name", "offer_park"),
    ):
        for (firm, name), rows in candidates.groupby([firm_column, name_column], sort=True):
            table = rows.assign(role=role, partner=rows[partner], partner_park=rows[partner_park])
            lists.setdefault((firm, name), []).append(table)
    return {name: pd.concat(tables).sort_values("rank")[list(_LIST_COLUMNS)].rename(columns=_LIST_COLUMNS)
            for (firm, name), tables in sorted(lists.items(), key=lambda item: str(item[0][1]))}


def export_matches(candidates: pd.DataFrame, summary: pd.DataFrame, path: str | os.PathLike, *,
                   fmt: str | None = None, about: dict | None = None) -> Path:
    """Write matchmaking lists: CSV (every candidate), XLSX (a summary sheet and one sheet per firm) or JSON.

    Every CSV and XLSX cell is neutralised, the summary sheet's ``about`` values (park id, notes) too:
    formula-like text gets a leading apostrophe in CSV and Excel's apostrophe prefix in XLSX, where it
    is always stored as text, with control characters spelt out. ``about`` (method, weights, notes)
    goes on the summary sheet / into the JSON. The file is written whole or not at all
    (:func:`write_output`); ``-`` is standard output (CSV, JSON).
    """
    fmt = output_format(path, fmt, LIST_FORMATS, what="list")
    about = about or {}
    if fmt == "csv":
        content = neutral_frame(candidates).to_csv(index=False)
    elif fmt == "json":
        payload = {"about": _json_safe(about), "summary": json.loads(summary.to_json(orient="records")),
                   "candidates": json.loads(candidates.to_json(orient="records", force_ascii=False))}
        content = json.dumps(payload, ensure_ascii=False, indent=1, default=str)
    else:
        book = _workbook(candidates, summary, about)
        content = book.save  # openpyxl writes the zip to the file object it is given
    written = write_output(path, content)
    return Path(written)


def _workbook(candidates: pd.DataFrame, summary: pd.DataFrame, about: dict):
    """The lists as an openpyxl Workbook: a summary sheet, then one sheet per firm. Every cell through
    ``append``: text stored as text (never a formula), formula-like text with the apostrophe prefix,
    control characters spelt out, unknown and non-finite figures empty."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()

    def append(sheet, values) -> None:
        sheet.append([_xlsx_value(value) for value in values])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
                if formula_like(cell.value):
                    cell.quotePrefix = True  # Excel's own mark: text typed as '=1+2, kept text when edited
            elif isinstance(cell.value, float):
                cell.number_format = "#,##0.00" if abs(cell.value) < 1000 else "#,##0"

    def fill(sheet, frame: pd.DataFrame, start_row: int = 1) -> None:
        for cell in sheet[start_row]:
            cell.font = Font(bold=True)
        for record in frame.itertuples(index=False):
            append(sheet, record)
        for index, column in enumerate(frame.columns, start=1):
            width = max([len(str(column))] + [len(str(value)) for value in frame[column].head(200)])
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
        sheet.freeze_panes = sheet.cell(row=start_row + 1, column=1)

    first = book.active
    first.title = "summary"
    first.append(["Matchmaking summary"])
    first["A1"].font = Font(bold=True, size=13)
    for key, value in about.items():  # the park id, notes ...: text from the user or the data
        append(first, [str(key), value])
    first.append([])
    header_row = first.max_row + 1
    append(first, [str(column) for column in summary.columns])
    for cell in first[header_row]:
        cell.font = Font(bold=True)
    for record in summary.itertuples(index=False):
        append(first, record)
    for index in range(1, len(summary.columns) + 1):
        first.column_dimensions[get_column_letter(index)].width = 20

    used: set[str] = {"summary"}
    for name, table in firm_lists(candidates).items():
        title = _sheet_title(str(name), used)
        sheet = book.create_sheet(title)
        append(sheet, [str(column) for column in table.columns])
        fill(sheet, table, start_row=1)
    return book


#: column-name endings that carry a unit -> the unit as a header shows it
_HEADER_UNITS = (("_tco2e_per_t", "tCO2e/t"), ("_tco2e", "tCO2e"), ("_t_per_yr", "t/yr"), ("_mwh", "MWh"),
                 ("_m3", "m3"), ("_km", "km"), ("_tkm", "t km"), ("_cny", "CNY"), ("_mcny", "million CNY"),
                 ("_t", "t"))


def readable_header(column: str) -> str:
    """A column name as a workbook header: words, and the unit its name ends with in brackets.

    Examples
    --------
    >>> readable_header("co2_avoided_t"), readable_header("distance_km"), readable_header("FCI")
    ('co2 avoided (t)', 'distance (km)', 'FCI')
    """
    for ending, unit in _HEADER_UNITS:
        if column.endswith(ending) and len(column) > len(ending):
            return f"{column[: -len(ending)].replace('_', ' ')} ({unit})"
    return column.replace("_", " ")


def _number_format(values: pd.Series) -> str | None:
    """One number format for a whole column: whole numbers with thousands separators, else two decimals
    (four when every figure is below 1: shares, ratios); None for a column that is not numeric."""
    numbers = pd.to_numeric(values, errors="coerce")
    known = numbers[numbers.notna() & values.map(lambda value: not isinstance(value, bool))]
    if known.empty or len(known) < values.notna().sum():
        return None
    finite = known[np.isfinite(known.astype(float))]
    if (finite == finite.round()).all():
        return "#,##0"
    return "0.0000" if (finite.abs() < 1).all() else "#,##0.00"


def export_tables(frames: dict[str, pd.DataFrame], path: str | os.PathLike, *, about: dict) -> Path:
    """Several tables as one XLSX workbook: an ``about`` sheet (command, parameters, store, date,
    version, notes), then one sheet per table.

    Each table sheet: readable headers with units (:func:`readable_header`), the header frozen, an
    autofilter, one number format per column, booleans as TRUE/FALSE, unknown figures empty (never 0),
    formula-like text kept as text, column widths set, printed landscape and one page wide.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    output_format(path, None, ("xlsx",), what="workbook")
    book = Workbook()
    first = book.active
    first.title = "about"
    first.append(["symbiosis results"])
    first["A1"].font = Font(bold=True, size=13)
    for key, value in about.items():
        first.append([str(key), _xlsx_value(value)])
    for name, frame in frames.items():
        if frame.attrs.get("note"):
            first.append([f"note: {name}", xlsx_text(str(frame.attrs["note"]))])
    for cell in first["B"]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
    first.column_dimensions["A"].width, first.column_dimensions["B"].width = 28, 100
    used = {"about"}
    for name, frame in frames.items():
        sheet = book.create_sheet(_sheet_title(name, used))
        sheet.append([readable_header(str(column)) for column in frame.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        formats = {index: _number_format(frame[column]) for index, column in enumerate(frame.columns, start=1)}
        for record in frame.itertuples(index=False):
            sheet.append([_xlsx_value(value) for value in record])
            for index, cell in enumerate(sheet[sheet.max_row], start=1):
                if isinstance(cell.value, str):
                    cell.data_type = "s"
                    if formula_like(cell.value):
                        cell.quotePrefix = True
                elif formats[index] and isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                    cell.number_format = formats[index]
        for index, column in enumerate(frame.columns, start=1):
            width = max([len(readable_header(str(column)))] + [len(str(value)) for value in frame[column].head(200)])
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
        sheet.freeze_panes = "A2"
        if len(frame.columns):
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{max(sheet.max_row, 1)}"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True

    def produce(handle) -> None:
        book.save(handle)

    return Path(write_output(path, produce))


def _sheet_title(name: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\ nor a control character, unique."""
    name = _XLSX_ILLEGAL.sub(" ", name)
    base = "".join(" " if char in '[]:*?/\\' else char for char in name).strip().strip("'") or "firm"
    base = base[:31]
    title, number = base, 2
    while title.lower() in {existing.lower() for existing in used}:
        suffix = f" ({number})"
        title, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(title)
    return title
