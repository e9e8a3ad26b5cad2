"""Reading CSV, XLSX and JSON files into frames of text, with spreadsheet row numbers.

Every reader returns :class:`Sheet` objects: the cells as stripped strings (``""`` for empty), the
header as written, and for each data row the number a person sees for it in a spreadsheet (the header
is row 1). Parsing of numbers, units and ids happens later, in :mod:`symbiosis.ingest`, so that every
problem can be reported against the cell it came from.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import Problem

__all__ = ["Sheet", "read_file", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".json")
#: documented limits: a file larger than this is refused before it is read (raise with SYMBIOSIS_MAX_FILE_MB)
MAX_FILE_MB = float(os.environ.get("SYMBIOSIS_MAX_FILE_MB", 150))
#: an XLSX is a zip: its unpacked size and packing ratio are checked before it is opened (zip bombs)
MAX_UNPACKED_MB = 500
MAX_PACKING_RATIO = 200
#: rows per file
MAX_ROWS = 5_000_000


@dataclass
class Sheet:
    """One table's worth of rows read from a file (a CSV, one XLSX sheet, one JSON list)."""

    file: str
    frame: pd.DataFrame  # text cells, columns as written in the header
    row_numbers: pd.Series  # spreadsheet row number of each frame row
    table_hint: str | None = None  # table named inside the file (XLSX sheet, JSON key)
    sha256: str | None = None


class ReadFailure(Exception):
    """Raised inside this module with the problems that stopped a file being read."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def read_file(path: str | Path, *, encoding: str | None = None,
              table_names: tuple[str, ...] = ()) -> list[Sheet]:
    """Read one data file.

    Parameters
    ----------
    path : path-like
        A ``.csv`` (also ``.tsv``/``.txt``; the delimiter is detected), ``.xlsx`` or ``.json`` file.
    encoding : str, optional
        Text encoding of a CSV or JSON file; default UTF-8 (with or without BOM).
    table_names : tuple of str
        Known table names: an XLSX sheet or a JSON key with one of these names is read as that table.

    Returns
    -------
    list of Sheet

    Raises
    ------
    ReadFailure
        With the problems (file, row, what was expected) that stop the file being read.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise ReadFailure([Problem(name, None, None, None, "no such file")])
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ReadFailure([Problem(name, None, None, None,
                                   f"unsupported file type {suffix or '(none)'}; expected one of "
                                   + ", ".join(SUPPORTED_SUFFIXES))])
    size_mb = path.stat().st_size / 1e6
    if size_mb > MAX_FILE_MB:
        raise ReadFailure([Problem(name, None, None, None,
                                   f"the file is {size_mb:,.0f} MB, above the limit of {MAX_FILE_MB:,.0f} MB: split it "
                                   "(one import per part is fine) or raise SYMBIOSIS_MAX_FILE_MB")])
    raw = path.read_bytes()
    if not raw.strip():
        raise ReadFailure([Problem(name, None, None, None, "the file is empty")])
    digest = hashlib.sha256(raw).hexdigest()
    if suffix in (".xlsx", ".xlsm"):
        sheets = _read_excel(path, raw, table_names)
    else:
        text = _decode(name, raw, encoding)
        sheets = _read_json(name, text, table_names) if suffix == ".json" else [_read_csv(name, text)]
    for sheet in sheets:
        sheet.sha256 = digest
    return sheets


def _decode(name: str, raw: bytes, encoding: str | None) -> str:
    try:
        return raw.decode(encoding or "utf-8-sig")
    except LookupError:
        raise ReadFailure([Problem(name, None, None, encoding, "unknown text encoding")]) from None
    except UnicodeDecodeError as exc:
        row = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start:exc.start + 1].hex()
        raise ReadFailure([Problem(
            name, row, None, f"byte 0x{bad}",
            f"the file is not valid {encoding or 'UTF-8'} text; save it as UTF-8, or pass "
            "--encoding with the file's encoding (e.g. gb18030 for Chinese Excel exports, cp1252 or latin-1)",
        )]) from None


def _sniff_delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _read_csv(name: str, text: str) -> Sheet:
    delimiter = _sniff_delimiter(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=None, dtype=str,
                            keep_default_na=False, skip_blank_lines=False, engine="c")
    except pd.errors.ParserError as exc:
        match = _PARSER_LINE.search(str(exc))
        if match:
            expected, line, saw = match.groups()
            raise ReadFailure([Problem(name, int(line), None, None,
                                       f"has {saw} fields where the header has {expected} "
                                       f"(delimiter {delimiter!r}); quote values that contain it")]) from None
        raise ReadFailure([Problem(name, None, None, None, f"cannot be parsed as CSV: {exc}")]) from None
    except pd.errors.EmptyDataError:
        raise ReadFailure([Problem(name, None, None, None, "the file is empty")]) from None
    # pandas numbers records from 0 with the header as record 0: a person sees record i as row i + 1.
    return _from_grid(name, frame, first_row_number=1)


def _from_grid(name: str, grid: pd.DataFrame, first_row_number: int, table_hint: str | None = None) -> Sheet:
    """Turn a header-less grid of text into a Sheet: first non-blank row is the header."""
    grid = grid.fillna("").astype(str)
    grid = grid.apply(lambda column: column.str.strip())
    nonblank = grid.ne("").any(axis=1)
    if not nonblank.any():
        raise ReadFailure([Problem(name, None, None, None, "the file is empty")])
    header_index = nonblank.idxmax()
    header = list(grid.loc[header_index])
    problems = []
    seen: dict[str, int] = {}
    for position, column in enumerate(header):
        if column == "":
            if grid.iloc[:, position].ne("").any():
                problems.append(Problem(name, header_index + first_row_number, f"#{position + 1}", None,
                                        "a column with data has no header"))
            continue
        key = column.lower()
        if key in seen:
            problems.append(Problem(name, header_index + first_row_number, column, column,
                                    f"duplicate header (also column #{seen[key] + 1})"))
        seen[key] = position
    if problems:
        raise ReadFailure(problems)
    keep = [position for position, column in enumerate(header) if column != ""]
    body = grid.iloc[header_index + 1:, keep]
    body.columns = [header[position] for position in keep]
    body = body[body.ne("").any(axis=1)]  # blank rows are skipped, but keep their numbers
    if len(body) > MAX_ROWS:
        raise ReadFailure([Problem(name, None, None, None,
                                   f"{len(body):,} rows, above the limit of {MAX_ROWS:,} rows per file: split it")])
    if body.empty:
        raise ReadFailure([Problem(name, None, None, None, "the file has a header but no data rows")])
    row_numbers = pd.Series(body.index + first_row_number, index=body.index)
    body = body.reset_index(drop=True)
    row_numbers = row_numbers.reset_index(drop=True)
    return Sheet(name, body, row_numbers, table_hint)


def _read_excel(path: Path, raw: bytes, table_names: tuple[str, ...]) -> list[Sheet]:
    name = str(path)
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise ReadFailure([Problem(name, None, None, None, "not a readable XLSX workbook (not a zip archive)")])
    # A zip bomb unpacks to gigabytes: judge it by its directory before anything is decompressed.
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
    if unpacked / 1e6 > MAX_UNPACKED_MB or unpacked > MAX_PACKING_RATIO * max(len(raw), 1) + 10_000_000:
        raise ReadFailure([Problem(name, None, None, None,
                                   f"the workbook would unpack to {unpacked / 1e6:,.0f} MB from {len(raw) / 1e6:,.1f} MB "
                                   f"(limits: {MAX_UNPACKED_MB} MB, ratio {MAX_PACKING_RATIO}): refused as a zip bomb")])
    _check_workbook(name, raw)
    try:
        grids = pd.read_excel(io.BytesIO(raw), sheet_name=None, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise ReadFailure([Problem(name, None, None, None, f"not a readable XLSX workbook: {exc}")]) from None
    named = {sheet: grid for sheet, grid in grids.items() if _normal(sheet) in table_names}
    chosen = named or dict(list(grids.items())[:1])
    sheets = []
    for sheet_name, grid in chosen.items():
        label = f"{name} [sheet {sheet_name}]"
        # read_excel drops leading blank rows of a sheet only if asked; with header=None row 0 is row 1.
        sheets.append(_from_grid(label, grid, first_row_number=1,
                                 table_hint=_normal(sheet_name) if named else None))
    return sheets


def _check_workbook(name: str, raw: bytes) -> None:
    """Merged cells and formulas read as empty cells through pandas: name them instead."""
    if len(raw) > 20_000_000:  # openpyxl's full load of a large workbook costs memory; big files are exports
        return
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), data_only=False)
    except Exception as exc:  # broken workbooks raise many types
        raise ReadFailure([Problem(name, None, None, None, f"not a readable XLSX workbook: {exc}")]) from None
    problems = []
    for sheet in book.worksheets:
        for merged in list(sheet.merged_cells.ranges)[:20]:
            problems.append(Problem(f"{name} [sheet {sheet.title}]", merged.min_row, str(merged), None,
                                    "merged cells: unmerge them and repeat the value in every row"))
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" and len(problems) < 50:
                    problems.append(Problem(f"{name} [sheet {sheet.title}]", cell.row, cell.coordinate,
                                            str(cell.value), "a formula: paste values instead (the file holds no "
                                            "computed value this tool can trust)"))
    if problems:
        raise ReadFailure(problems)


def _read_json(name: str, text: str, table_names: tuple[str, ...]) -> list[Sheet]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadFailure([Problem(name, exc.lineno, None, None, f"not valid JSON: {exc.msg}")]) from None
    if isinstance(data, dict) and data and all(_normal(key) in table_names for key in data):
        parts = [(f"{name} [{key}]", records, _normal(key)) for key, records in data.items()]
    elif isinstance(data, list):
        parts = [(name, data, None)]
    else:
        raise ReadFailure([Problem(name, None, None, None,
                                   "JSON must be a list of records, or an object whose keys are table names "
                                   f"({', '.join(table_names)}) each holding a list of records")])
    sheets = []
    for label, records, hint in parts:
        if not isinstance(records, list) or not records:
            raise ReadFailure([Problem(label, None, None, None, "expected a non-empty list of records")])
        bad = [i for i, record in enumerate(records, start=1) if not isinstance(record, dict)]
        if bad:
            raise ReadFailure([Problem(label, i, None, None, "record is not an object of field: value")
                               for i in bad[:20]])
        columns: dict[str, None] = {}
        for record in records:
            columns.update(dict.fromkeys(record))
        header = list(columns)
        rows = [[_json_cell(record.get(column)) for column in header] for record in records]
        grid = pd.DataFrame([header] + rows, dtype=str)
        # Record i (1-based) is reported as row i + 1, as if the keys were a header row.
        sheets.append(_from_grid(label, grid, first_row_number=1, table_hint=hint))
    return sheets


def _json_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _normal(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


