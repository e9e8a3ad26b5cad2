"""Reading CSV, XLSX and JSON files into frames of text, with spreadsheet row numbers.

Every reader returns :class:`Sheet` objects: the cells as stripped strings (``""`` for empty), the
header as written, and for each data row the number a person sees for it in a spreadsheet (the header
is row 1). Parsing of numbers, units and ids happens later, in :mod:`symbiosis.ingest`, so that every
problem can be reported against the cell it came from.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, Problem
from .settings import (DEFAULT_MAX_FILE_MB, MAX_COLUMNS, MAX_FILE_MB_ENV, MAX_PACKING_RATIO, MAX_ROWS,
                       MAX_UNPACKED_MB, environment_value)

__all__ = ["Sheet", "read_file", "max_file_mb", "SUPPORTED_SUFFIXES", "DEFAULT_MAX_FILE_MB", "MAX_FILE_MB_ENV",
           "MAX_COLUMNS", "MAX_ROWS", "normal_name"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".json")
# documented limits (symbiosis.settings): file size (SYMBIOSIS_MAX_FILE_MB), columns (checked on the first
# lines before the body is parsed), unpacked size and packing ratio of an XLSX (zip bombs), rows per file


def max_file_mb() -> float:
    """The file size limit in MB: ``$SYMBIOSIS_MAX_FILE_MB`` if set, else :data:`DEFAULT_MAX_FILE_MB`.

    Read when a file is read (never at import time), so that a bad setting is one clear error.

    Raises
    ------
    InputError
        If the setting is not a positive finite number (``abc``, ``nan``, ``inf``, ``0``).
    """
    text = environment_value(MAX_FILE_MB_ENV)
    if text is None:
        return DEFAULT_MAX_FILE_MB
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{MAX_FILE_MB_ENV}={text!r}: expected a positive number of megabytes "
                         f"(default {DEFAULT_MAX_FILE_MB:g})")
    return value


@dataclass
class Sheet:
    """One table's worth of rows read from a file (a CSV, one XLSX sheet, one JSON list)."""

    file: str
    frame: pd.DataFrame  # text cells, columns as written in the header
    row_numbers: pd.Series  # spreadsheet row number of each frame row
    table_hint: str | None = None  # table named inside the file (XLSX sheet, JSON key)
    sha256: str | None = None
    header_row: int = 1  # spreadsheet row number of the header
    skipped_rows: int = 0  # non-blank rows above the header (titles, notes) that were skipped


class ReadFailure(Exception):
    """Raised inside this module with the problems that stopped a file being read."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def read_file(path: str | Path, *, encoding: str | None = None,
              table_names: tuple[str, ...] = (), header_row: int | None = None) -> list[Sheet]:
    """Read one data file.

    Parameters
    ----------
    path : path-like
        A ``.csv`` (also ``.tsv``/``.txt``; the delimiter is detected), ``.xlsx`` or ``.json`` file.
    encoding : str, optional
        Text encoding of a CSV or JSON file; default UTF-8 (with or without BOM).
    table_names : tuple of str
        Known table names: an XLSX sheet or a JSON key with one of these names is read as that table.
    header_row : int, optional
        The spreadsheet row number (1-based) of the header in a CSV or XLSX file. By default the
        header is found: the first row that fills at least half of the widest row's cells (and two
        cells), so that a title, a source note or blank rows above it are skipped.

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
    limit_mb = max_file_mb()
    if size_mb > limit_mb:
        raise ReadFailure([Problem(name, None, None, None,
                                   f"the file is {size_mb:,.0f} MB, above the limit of "
                                   f"{limit_mb:,.{0 if limit_mb >= 1 else 3}f} MB: split it "
                                   "(one import per part is fine) or raise SYMBIOSIS_MAX_FILE_MB")])
    raw = path.read_bytes()
    if not raw.strip():
        raise ReadFailure([Problem(name, None, None, None, "the file is empty")])
    digest = hashlib.sha256(raw).hexdigest()
    if suffix in (".xlsx", ".xlsm"):
        sheets = _read_excel(path, raw, table_names, header_row)
    else:
        text = _decode(name, raw, encoding)
        sheets = _read_json(name, text, table_names) if suffix == ".json" else [_read_csv(name, text, header_row)]
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


def _head(text: str, header_row: int | None = None) -> str:
    """The text up to the end of the first :data:`_HEADER_SEARCH_ROWS` non-blank lines (blank lines
    above a header do not use up the search), or up to the end of line ``header_row`` when given."""
    position = 0
    if header_row is not None and header_row > 0:
        for _ in range(header_row):
            end = text.find("\n", position)
            if end < 0:
                return text
            position = end + 1
        return text[:position]
    for _ in range(_HEADER_SEARCH_ROWS):
        found = _NON_BLANK.search(text, position)  # skips a run of blank lines in one step
        if found is None:
            break
        end = text.find("\n", found.start())
        position = len(text) if end < 0 else end + 1
    return text[:position]


_NON_BLANK = re.compile(r"\S")
#: a quoted field (a doubled quote inside it is two quoted runs), or an opening quote to the end of the line
_QUOTED = re.compile(r'"[^"\n]*(?:"|$)', re.MULTILINE)


def _sniff_delimiter(text: str, header_row: int | None = None) -> str:
    """The separator with the largest typical count per line among the first non-blank lines.

    Separators inside quotes are not counted (a header ``"Menge; t",Firma`` is comma-separated).
    Typical is the most frequent non-zero count, so a title line above the header ("Table 1: flows,
    2005") or a few quoted notes do not decide it. On a tie, the separator seen first wins (the header
    comes before the data).
    """
    lines = [line for line in _QUOTED.sub("", _head(text)).split("\n") if line.strip()]
    if header_row is not None and 0 < header_row <= text.count("\n") + 1:
        lines = [_QUOTED.sub("", _head(text, header_row).split("\n")[header_row - 1])]
    best, best_rank = ",", (0, 0)
    for sep in (",", ";", "\t", "|"):
        counts = [line.count(sep) for line in lines]
        nonzero = [count for count in counts if count]
        if not nonzero:
            continue
        typical = max(set(nonzero), key=lambda count: (nonzero.count(count), count))
        rank = (typical, -counts.index(typical))
        if rank > best_rank:
            best, best_rank = sep, rank
    return best


def _field_count(name: str, text: str, delimiter: str) -> int:
    """An upper bound of the fields in a record among the first lines (a title line above the header
    has fewer than the header, so it must not fix the width).

    Raises
    ------
    ReadFailure
        If a record there has more than :data:`MAX_COLUMNS` fields (checked before pandas reads the body).
    """
    head = _head(text)
    naive = max(line.count(delimiter) + 1 for line in head.split("\n"))
    try:
        widths = [len(row) for row in csv.reader(io.StringIO(head), delimiter=delimiter)]
        parsed = max(widths, default=1)
    except csv.Error:
        widths, parsed = [], 1
    if parsed > MAX_COLUMNS:
        row = next(index for index, width in enumerate(widths, start=1) if width == parsed)
        raise ReadFailure([Problem(name, row, None, None,
                                   f"{parsed:,} fields (delimiter {delimiter!r}), above the limit of "
                                   f"{MAX_COLUMNS:,} columns per file")])
    # delimiters inside quotes inflate the naive count: it is only an upper bound within the limit
    return max(naive, parsed) if naive <= MAX_COLUMNS else parsed


_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _read_csv(name: str, text: str, header_row: int | None = None) -> Sheet:
    delimiter = _sniff_delimiter(text, header_row)
    try:
        # names: as many columns as the widest early line, so a one-cell title line above the header
        # does not fix the width (pandas takes the first line's width otherwise)
        with warnings.catch_warnings():
            # pandas drops fields past ``names`` with only a warning: here that is an error, never a loss
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=None, dtype=str,
                                names=range(_field_count(name, text, delimiter)), index_col=False,
                                keep_default_na=False, skip_blank_lines=False, engine="c")
    except pd.errors.ParserError as exc:
        match = _PARSER_LINE.search(str(exc))
        if match:
            expected, line, saw = match.groups()
            raise ReadFailure([Problem(name, int(line), None, None,
                                       f"has {saw} fields where the header has {expected} "
                                       f"(delimiter {delimiter!r}); quote values that contain it")]) from None
        raise ReadFailure([Problem(name, None, None, None, f"cannot be parsed as CSV: {exc}")]) from None
    except pd.errors.ParserWarning as exc:
        raise ReadFailure([Problem(name, None, None, None, f"cannot be parsed as CSV: {exc}")]) from None
    except pd.errors.EmptyDataError:
        raise ReadFailure([Problem(name, None, None, None, "the file is empty")]) from None
    # pandas numbers records from 0 with the header as record 0: a person sees record i as row i + 1.
    return _from_grid(name, frame, first_row_number=1, header_row=header_row)


#: how many leading rows are looked at to find the header
_HEADER_SEARCH_ROWS = 30


def _find_header(filled: pd.Series) -> int:
    """Position of the header row in a grid, given the number of filled cells of each row.

    The header fills at least as many cells as any row below it (a column with data has a header),
    and the rows above it, if any, look like titles: one or two cells ("Table 3: exchanges, 2005",
    "单位：万吨"). Anything else keeps the first non-blank row, so that a real problem (a data column
    without a header) is reported where it is.
    """
    # the search starts at the first non-blank row (blank rows above the header use none of it)
    first = int(filled.to_numpy().nonzero()[0][0])
    head = filled.iloc[:first + _HEADER_SEARCH_ROWS].to_numpy()
    if head.max() <= 1:
        return first
    widest_below = np.maximum.accumulate(head[::-1])[::-1]  # widest row from each position down
    for position in range(first, len(head)):
        count = head[position]
        if count >= 2 and count >= widest_below[position]:
            above = head[first:position]
            titles_only = bool(((above <= 2) & (above < count)).all())
            return position if titles_only else first
    return first


def _from_grid(name: str, grid: pd.DataFrame, first_row_number: int, table_hint: str | None = None,
               header_row: int | None = None) -> Sheet:
    """Turn a header-less grid of text into a Sheet, finding the header below any title rows."""
    grid = grid.fillna("").astype(str)
    grid = grid.apply(lambda column: column.str.strip())
    filled = grid.ne("").sum(axis=1)
    if not filled.any():
        raise ReadFailure([Problem(name, None, None, None, "the file is empty")])
    if header_row is not None:
        position = header_row - first_row_number
        if not 0 <= position < len(grid) or not filled.iloc[position]:
            raise ReadFailure([Problem(name, header_row, None, None,
                                       f"--header-row {header_row}: that row is blank or past the end of the file")])
    else:
        position = _find_header(filled)
    header_index = grid.index[position]
    skipped = int((filled.iloc[:position] > 0).sum())
    header = list(grid.loc[header_index])
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    width = max((index + 1 for index, column in enumerate(header) if column), default=0)
    beyond = grid.iloc[position + 1:, width:].ne("")
    if width and beyond.to_numpy().any():
        fields = beyond.to_numpy()[:, ::-1].argmax(axis=1)
        for offset, row_has in enumerate(beyond.any(axis=1).to_numpy()):
            if row_has and len(problems) < 20:
                saw = grid.shape[1] - int(fields[offset])
                problems.append(Problem(name, int(grid.index[position + 1 + offset]) + first_row_number, None, None,
                                        f"has {saw} fields where the header has {width}; quote values "
                                        "that contain the delimiter"))
    for position, column in enumerate(header[:width]):
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
    return Sheet(name, body, row_numbers, table_hint, header_row=int(header_index) + first_row_number,
                 skipped_rows=skipped)


def _read_excel(path: Path, raw: bytes, table_names: tuple[str, ...], header_row: int | None = None) -> list[Sheet]:
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
    titles = _check_workbook(name, raw, table_names)
    named = [title for title in titles if normal_name(title) in table_names]
    chosen = named or titles[:1]
    try:
        grids = pd.read_excel(io.BytesIO(raw), sheet_name=chosen, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise ReadFailure([Problem(name, None, None, None, f"not a readable XLSX workbook: {exc}")]) from None
    sheets = []
    for sheet_name, grid in grids.items():
        label = f"{name} [sheet {sheet_name}]"
        if grid.shape[1] > MAX_COLUMNS:
            raise ReadFailure([Problem(label, None, None, None, f"{grid.shape[1]:,} columns, above the limit of "
                                       f"{MAX_COLUMNS:,} columns per file")])
        # read_excel drops leading blank rows of a sheet only if asked; with header=None row 0 is row 1.
        sheets.append(_from_grid(label, grid, first_row_number=1,
                                 table_hint=normal_name(sheet_name) if named else None, header_row=header_row))
    return sheets


#: a merged range in a worksheet's XML (<mergeCell ref="C2:C4"/>), found without parsing the XML
_MERGE_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?"
                         rb"\bref=\"([A-Z]{1,3}[0-9]{1,7}(?::[A-Z]{1,3}[0-9]{1,7})?)\"")
#: problems listed per workbook (the rest of the file is not scanned once this many are found)
_MAX_WORKBOOK_PROBLEMS = 50


def _merged_ranges(archive: zipfile.ZipFile, member: str, limit: int) -> list[str]:
    """Up to ``limit`` merged ranges of one worksheet, read as a stream (a sheet's XML may be far
    larger than the memory it deserves)."""
    found: list[str] = []
    try:
        handle = archive.open(member)
    except KeyError:
        return found
    with handle:
        tail = b""
        while len(found) < limit:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            block = tail + chunk
            last_end = 0
            for match in _MERGE_CELL.finditer(block):
                found.append(match[1].decode("ascii"))
                last_end = match.end()
            tail = block[max(last_end, len(block) - 256):]  # a tag cut in two is completed by the next chunk
    return found[:limit]


def _check_workbook(name: str, raw: bytes, table_names: tuple[str, ...]) -> list[str]:
    """Merged cells and formulas read as empty cells through pandas: name them instead.

    Every workbook is checked, whatever its size, in a streaming way: openpyxl's read-only mode
    iterates the cells of the sheets that will be read, and the merged ranges are found in each sheet's
    XML. Returns the sheet titles in workbook order.
    """
    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # broken workbooks raise many types
        raise ReadFailure([Problem(name, None, None, None, f"not a readable XLSX workbook: {exc}")]) from None
    problems: list[Problem] = []
    try:
        titles = list(book.sheetnames)
        named = [title for title in titles if normal_name(title) in table_names]
        read = named or titles[:1]
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            for title in read:
                sheet = book[title]
                label = f"{name} [sheet {title}]"
                member = getattr(sheet, "_worksheet_path", None)
                for ref in _merged_ranges(archive, member, 20) if member else []:
                    problems.append(Problem(label, range_boundaries(ref)[1], ref, None,
                                            "merged cells: unmerge them and repeat the value in every row"))
                for row in sheet.iter_rows():
                    for cell in row:
                        if cell.data_type == "f":
                            problems.append(Problem(label, cell.row, cell.coordinate, str(cell.value),
                                                    "a formula: paste values instead (the file holds no "
                                                    "computed value this tool can trust)"))
                    if len(problems) >= _MAX_WORKBOOK_PROBLEMS:
                        break
                if len(problems) >= _MAX_WORKBOOK_PROBLEMS:
                    break
    except ReadFailure:
        raise
    except Exception as exc:  # a broken sheet inside a readable workbook
        raise ReadFailure([Problem(name, None, None, None, f"not a readable XLSX workbook: {exc}")]) from None
    finally:
        book.close()
    if problems:
        raise ReadFailure(problems[:_MAX_WORKBOOK_PROBLEMS])
    return titles


#: digits of a JSON integer read as a number; a longer one is kept as its text (Python refuses to
#: convert more than 4,300 digits, and the importer reports such a number as too large)
_JSON_INT_DIGITS = 100


def _json_int(text: str) -> int | str:
    return int(text) if len(text) <= _JSON_INT_DIGITS else text


def _read_json(name: str, text: str, table_names: tuple[str, ...]) -> list[Sheet]:
    try:
        data = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise ReadFailure([Problem(name, exc.lineno, None, None, f"not valid JSON: {exc.msg}")]) from None
    except RecursionError:
        raise ReadFailure([Problem(name, None, None, None, "not valid JSON here: nested too deeply "
                                   "(records are objects of field: value)")]) from None
    parts: list[tuple[str, object, str | None]]  # (label, records, table name hint)
    if isinstance(data, dict) and data and all(normal_name(key) in table_names for key in data):
        parts = [(f"{name} [{key}]", records, normal_name(key)) for key, records in data.items()]
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
            if len(columns) > MAX_COLUMNS:
                raise ReadFailure([Problem(label, None, None, None, f"more than {MAX_COLUMNS:,} distinct fields, "
                                           f"above the limit of {MAX_COLUMNS:,} columns per file")])
        header = list(columns)
        try:
            rows = [[_json_cell(record.get(column)) for column in header] for record in records]
        except RecursionError:
            raise ReadFailure([Problem(label, None, None, None, "a value is nested too deeply")]) from None
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


def normal_name(name: str) -> str:
    """A table or column name as the store spells it: trimmed, lower case, spaces and hyphens as '_'.

    Examples
    --------
    >>> normal_name(" Resource-Code ")
    'resource_code'
    """
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


