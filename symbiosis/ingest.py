"""Import: files -> validated, unit-converted rows -> the store, as one transaction.

An import reads every file first, validates every row against :data:`symbiosis.schema.TABLES`,
converts quantities to canonical units, and only then writes, inside one transaction: a file with any
problem leaves the store exactly as it was, and the error lists every problem with its file, row
(as a spreadsheet shows it), column, value and what was expected.

Rows are upserted by key, so importing the same file twice changes nothing. Columns that a file does
not carry are left as they are in the store, so a second file may complete the first.
"""
from __future__ import annotations

import difflib
import json
import logging
import re
import dataclasses
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlite_utils

from .errors import InputError, Problem, UnitError, ValidationError
from .readers import ReadFailure, Sheet, max_file_mb, normal_name, read_file
from .resolve import ResourceMap, ResourceResolver, load_resource_map, load_synonyms, normalise_name
from .schema import MAX_MAGNITUDE, TABLES, Field, TableSpec, escape_key_part
from .store import DATA_TABLES, resource_names, transaction
from .units import CANONICAL_UNIT, CURRENCY, conversion_factor, parse_unit
from .settings import MAX_KEPT_PROBLEMS

__all__ = ["import_files", "ImportReport", "FileReport", "table_for_file", "parse_column_map",
           "parse_set_values", "split_file_argument"]

log = logging.getLogger(__name__)

# problems kept in full (the rest are only counted), so a million bad rows cannot exhaust memory
_WRITE_CHUNK = 50_000
_TRUE = {"true", "yes", "y", "1", "t", "x"}
_FALSE = {"false", "no", "n", "0", "f", ""}


@dataclass
class FileReport:
    """What one import did with one file (or one XLSX sheet / JSON table)."""

    file: str
    table: str
    rows: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    import_id: int | None = None
    new_resources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: things the user must see whatever the output format (a column that looks like a field but was not read)
    warnings: list[str] = field(default_factory=list)
    #: resource names as written -> catalogue code and how it was found (synonym, name, resource map ...)
    resolved: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do) to the store."""

    files: list[FileReport]
    dry_run: bool = False
    #: where a draft resource map was written (``resource_map_draft``), if one was
    draft_map: str | None = None

    @property
    def rows(self) -> int:
        return sum(report.rows for report in self.files)

    def to_frame(self) -> pd.DataFrame:
        """One row per file: file, table, rows, inserted, updated, unchanged, import_id, new_resources."""
        return pd.DataFrame(
            [
                {
                    "file": report.file,
                    "table": report.table,
                    "rows": report.rows,
                    "inserted": report.inserted,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "import_id": report.import_id,
                    "new_resources": ", ".join(report.new_resources),
                }
                for report in self.files
            ]
        )


class _DryRun(Exception):
    """Rolls the transaction back after a dry run has measured what it would do."""


class _Problems:
    """Collects problems, keeping the first MAX_KEPT_PROBLEMS and counting the rest."""

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.total = 0

    def add(self, problem: Problem) -> None:
        self.total += 1
        if len(self.kept) < MAX_KEPT_PROBLEMS:
            self.kept.append(problem)

    def add_rows(self, sheet: Sheet, mask: pd.Series, column: str | None,
                 values: pd.Series | None, expected: str | Callable[[int], str]) -> None:
        """Add one problem per row where ``mask`` is true."""
        positions = np.flatnonzero(mask.to_numpy())
        self.total += len(positions)
        room = MAX_KEPT_PROBLEMS - len(self.kept)
        for position in positions[: max(room, 0)]:
            value = None if values is None else str(values.iloc[position])
            text = expected(position) if callable(expected) else expected
            self.kept.append(Problem(sheet.file, int(sheet.row_numbers.iloc[position]), column, value, text))

    def __bool__(self) -> bool:
        return self.total > 0


class _Context:
    """What the import knows of the store and of the files read so far in this import."""

    def __init__(self, db: sqlite_utils.Database, resource_map=None, new_resources: bool = False):
        self.db = db
        self.resource_map = resource_map
        self.new_resources = new_resources
        self.synonyms: dict[str, str] | None = None  # the shipped list, read on first use
        self._resolver: ResourceResolver | None = None
        self._resolver_size = -1
        self.set_values: dict[str, str] = {}
        self.decimal = "."
        #: warnings about the whole import (not one file's columns), for every output format
        self.warnings: list[str] = []
        #: names no step resolved: name -> [Resolution, rows]
        self.unmatched: dict[str, list] = {}
        self.unresolved: set[str] = set()  # the same names, already reported
        self._ids: dict[str, set[str]] = {}
        #: the keys each file of this import gave, per table: the same key in two files is an error
        self.keyed: dict[str, list[tuple[Sheet, pd.Series]]] = {}
        self._keyed_sets: dict[str, set[str]] = {}
        self.resources: dict[str, tuple[str, float | None, float | None]] = {
            code: (kind, energy_t, energy_m3)
            for code, kind, energy_t, energy_m3 in db.execute(
                "SELECT code, kind, energy_mwh_per_t, energy_mwh_per_m3 FROM resources"
            )
        }

    def resolver(self) -> ResourceResolver:
        """The resolver over the catalogue as it stands now (resources imported earlier in this import
        included); rebuilt only when the catalogue changed."""
        if self._resolver is None or self._resolver_size != len(self.resources):
            if self.synonyms is None:
                self.synonyms = load_synonyms()
            names = resource_names(self.db)
            names.update({code: names.get(code, code) for code in self.resources})
            ewc: dict[str, tuple[str, ...]] = {}
            for code, ewc_code in self.db.execute("SELECT code, ewc_code FROM resources WHERE ewc_code IS NOT NULL"):
                ewc[ewc_code] = ewc.get(ewc_code, ()) + (code,)
            self._resolver = ResourceResolver(names, self.synonyms, self.resource_map, ewc,
                                              allow_new_codes=self.new_resources)
            self._resolver_size = len(self.resources)
        return self._resolver

    def earlier_keys(self, table: str) -> set[str]:
        """Keys given by the files of ``table`` read so far in this import (built on the second file)."""
        keys = self._keyed_sets.get(table)
        if keys is None:
            keys = self._keyed_sets[table] = set()
            for _, series in self.keyed.get(table, []):
                keys.update(series.tolist())
        return keys

    def ids(self, table: str) -> set[str]:
        if table not in self._ids:
            key = TABLES[table].key
            self._ids[table] = {row[0] for row in self.db.execute(f"SELECT {key} FROM {table}")}
        return self._ids[table]


@dataclass
class _Prepared:
    sheet: Sheet
    spec: TableSpec
    columns: list[str]
    new_rows: list[tuple]  # keys not yet in the store
    old_rows: list[tuple]  # keys already stored: updated only where a value differs
    report: FileReport
    new_resources: list[tuple] = field(default_factory=list)


def parse_column_map(pairs: Iterable[str]) -> dict[str, str]:
    """Parse ``SOURCE_COLUMN=FIELD`` options into a mapping.

    Examples
    --------
    >>> parse_column_map(["Firm=name", "Menge = quantity"])
    {'Firm': 'name', 'Menge': 'quantity'}
    """
    mapping = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise InputError(f"--map {pair!r}: expected SOURCE_COLUMN=FIELD")
        mapping[source.strip()] = target.strip()
    return mapping


def parse_set_values(pairs: Iterable[str]) -> dict[str, str]:
    """Parse ``COLUMN=VALUE`` options (``--set park_id=kalundborg``) into a mapping.

    Examples
    --------
    >>> parse_set_values(["park_id=kalundborg", "year = 2005"])
    {'park_id': 'kalundborg', 'year': '2005'}
    """
    values = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep or not column.strip():
            raise InputError(f"--set {pair!r}: expected COLUMN=VALUE, e.g. park_id=p1")
        values[normal_name(column)] = value.strip()
    return values


def split_file_argument(argument: str | Path) -> tuple[Path, str | None]:
    """``FILE:TABLE`` -> (FILE, TABLE); a plain path -> (path, None).

    A path that exists as written is never split (a file may have a colon in its name).

    Examples
    --------
    >>> split_file_argument("exchanges_1997.csv:flows")
    (PosixPath('exchanges_1997.csv'), 'flows')
    >>> split_file_argument("flows.csv")
    (PosixPath('flows.csv'), None)
    """
    text = str(argument)
    path, sep, table = text.rpartition(":")
    if sep and path and not Path(text).exists() and normal_name(table) in TABLES:
        return Path(path), normal_name(table)
    if sep and path and "/" not in table and "\\" not in table and not Path(text).exists() and Path(path).exists():
        raise InputError(f"{text}: unknown table {table!r} after ':'; expected one of {', '.join(TABLES)}")
    return Path(text), None


#: other words for a table in file names (singular forms, and what analysts call them)
_TABLE_WORDS = {
    "park": "parks", "enterprise": "enterprises", "firm": "enterprises", "firms": "enterprises",
    "companies": "enterprises", "company": "enterprises", "flow": "flows", "exchanges": "flows",
    "offer": "offers", "demand": "demands", "emission": "emissions", "resource": "resources",
    "offset": "offsets", "energy": "energy_use",
}


def table_for_file(path: str | Path) -> str | None:
    """The table a file name points to: a table name as a word of the name.

    ``flows.csv``, ``flows_2024.xlsx``, ``kalundborg_flows.csv`` and ``2024-offers.xlsx`` name their
    table; so do singular forms and a few common words (``firms``, ``exchanges``). A name with words of
    two tables (``flows_and_offers.csv``) names none: pass ``FILE:TABLE``.

    Examples
    --------
    >>> table_for_file("kalundborg_flows.csv"), table_for_file("2024-offers.xlsx"), table_for_file("notes.csv")
    ('flows', 'offers', None)
    """
    stem = re.sub(r"[^0-9a-z]+", "_", Path(path).stem.lower()).strip("_")
    if stem in TABLES:
        return stem
    words = stem.split("_")
    found = {name for name in TABLES if re.search(rf"(^|_){name}(_|$)", stem)}
    if not found:
        found = {_TABLE_WORDS[word] for word in words if word in _TABLE_WORDS}
    if "energy_use" in found and found & {"flows", "emissions"}:
        found.discard("energy_use")  # energy_flows.csv, energy_emissions.csv: 'energy' is only a qualifier
    return found.pop() if len(found) == 1 else None


def import_files(
    db: sqlite_utils.Database,
    paths: Sequence[str | Path],
    *,
    table: str | None = None,
    column_map: dict[str, str] | None = None,
    set_values: dict[str, str] | None = None,
    resource_map: str | Path | dict[str, str] | None = None,
    new_resources: bool = False,
    header_row: int | None = None,
    resource_map_draft: str | Path | None = None,
    decimal: str = ".",
    dry_run: bool = False,
    encoding: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Validate and import data files into the store, all in one transaction.

    Parameters
    ----------
    db : sqlite_utils.Database
        An open store (:func:`symbiosis.store.open_store`).
    paths : sequence of path-like
        CSV, XLSX or JSON files, each optionally followed by ``:TABLE`` (``exchanges.csv:flows``).
        They are imported parents first (parks, resources, enterprises, then flows and the rest),
        whatever order they are given in.
    table : str, optional
        The table for every file without ``:TABLE``; by default taken from a table name that is a
        word of the file's name (``flows.csv``, ``kalundborg_flows.csv``), an XLSX sheet's name or
        a JSON object's keys.
    column_map : dict, optional
        ``{header in the file: field}`` to rename a foreign file's columns. A header with a unit in
        brackets (``Quantity (t/yr)``, ``Menge [t/a]``) is the field before the brackets, and the
        unit is that column's unit where the file has no unit column.
    set_values : dict, optional
        ``{field: value}`` given to every row of every file whose table has that field
        (``{"park_id": "kalundborg", "year": "2005"}``); a cell that says otherwise is an error.
    resource_map : path or dict, optional
        A CSV ``name,code`` (or a dict) mapping the resource names written in the files to catalogue
        codes. Names are also resolved by code, catalogue name, the shipped synonyms and EWC code.
    new_resources : bool
        Add resource names that match nothing to the catalogue (each is listed in the report);
        without it such a name is an error that lists the closest catalogue entries.
    header_row : int, optional
        Spreadsheet row of the header; by default found below any title rows.
    decimal : {'.', ','}
        The decimal mark of numbers in the files. With ``','`` (Danish, German, French files), a point
        or a space groups thousands: ``1.234,5``. Spaces grouping thousands (``170 000``) are read either way.
    resource_map_draft : path, optional
        Write a draft resource map (each unmatched name, the best guess and its score) here, for the
        user to check and pass back as ``resource_map``.
    dry_run : bool
        Validate and count what would change, then roll back.
    encoding : str, optional
        Text encoding of CSV/JSON files (default UTF-8, with or without BOM).
    progress : callable, optional
        ``progress(rows_just_written, rows_in_all_files)``, for a progress bar; called once with 0
        when the files have been read.

    Returns
    -------
    ImportReport

    Raises
    ------
    ValidationError
        Listing every problem found in every file; the store is unchanged.
    InputError
        For an unknown ``table``.

    Examples
    --------
    >>> from symbiosis.datasets import dataset_files
    >>> from symbiosis.store import open_store
    >>> db = open_store(":memory:")
    >>> report = import_files(db, dataset_files("kalundborg"))
    >>> report.to_frame()["table"].tolist()
    ['parks', 'enterprises', 'flows', 'offers']
    """
    if table is not None and normal_name(table) not in TABLES:
        raise InputError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    if decimal not in (".", ","):
        raise InputError(f"decimal mark {decimal!r}: expected '.' or ','")
    column_map = {normal_name(source): normal_name(target) for source, target in (column_map or {}).items()}
    set_values = {normal_name(name): str(value) for name, value in (set_values or {}).items()}
    resource_map = _as_resource_map(resource_map)
    problems = _Problems()
    sheets = _read_sheets(paths, table, encoding, header_row, problems)
    unused = set(set_values) - {name for table_name, _ in sheets for name in TABLES[table_name].field_names}
    if sheets and unused:
        raise InputError(f"--set {', '.join(sorted(unused))}: no file of this import is of a table with that field")
    sheets.sort(key=lambda item: DATA_TABLES.index(item[0]))
    total_rows = sum(len(sheet.frame) for _, sheet in sheets)
    if progress is not None:
        progress(0, total_rows)

    reports: list[FileReport] = []
    try:
        with transaction(db):
            context = _Context(db, resource_map, new_resources)
            context.set_values = set_values
            context.decimal = decimal
            for name, sheet in sheets:
                prepared = _prepare(sheet, TABLES[name], column_map, context, problems)
                if prepared is None:
                    continue
                reports.append(prepared.report)
                if not problems:
                    try:
                        _write(db, prepared, None if progress is None else lambda rows: progress(rows, total_rows))
                    except sqlite3.IntegrityError as exc:
                        # keys are checked before writing; a stored row under another key (a store written
                        # by an older version) can still clash on a table's UNIQUE columns: say so, roll back
                        raise InputError(f"{prepared.sheet.file}: a row clashes with a row already stored in "
                                         f"{name} ({exc}); nothing was written") from None
            draft = _write_draft_map(resource_map_draft, context.unmatched)
            if problems:
                raise _validation_error(problems, sheets, draft)
            if dry_run:
                raise _DryRun
    except _DryRun:
        for report in reports:
            report.import_id = None
        return ImportReport(reports, dry_run=True, draft_map=draft)
    return ImportReport(reports, draft_map=draft)


def _as_resource_map(resource_map: str | Path | dict[str, str] | ResourceMap | None) -> ResourceMap | None:
    """A resource map given as a path (CSV ``name,code``) or a dict, as a :class:`ResourceMap`."""
    if resource_map is None or isinstance(resource_map, ResourceMap):
        return resource_map
    if isinstance(resource_map, (str, Path)):
        return load_resource_map(resource_map)
    return ResourceMap({normalise_name(name): code for name, code in resource_map.items()},
                       written={normalise_name(name): name for name in resource_map})


def _read_sheets(paths: Sequence[str | Path], table: str | None, encoding: str | None, header_row: int | None,
                 problems: _Problems) -> list[tuple[str, Sheet]]:
    """Every sheet of every file with the table it is for; a file that cannot be read or whose table
    cannot be told is a problem, and the others are still read (so every problem is listed at once)."""
    sheets: list[tuple[str, Sheet]] = []
    named_twice: set[tuple[Path, str | None]] = set()
    for argument in paths:
        path, named_table = split_file_argument(argument)
        if str(path) == STDIN:
            for sheet in _read_stdin(encoding, header_row, problems):
                name = named_table or (normal_name(table) if table else sheet.table_hint)
                if name is None:
                    problems.add(Problem(STDIN_NAME, None, None, None, "standard input has no file name to tell the "
                                         f"table by: pass --table TABLE (or name it -:TABLE after --; tables: "
                                         f"{', '.join(TABLES)})"))
                    continue
                sheets.append((name, sheet))
            continue
        if (path.resolve(), named_table) in named_twice:
            continue  # one file named twice (flows.csv *.csv) is read once, not refused as its own duplicate
        named_twice.add((path.resolve(), named_table))
        try:
            read = read_file(path, encoding=encoding, table_names=tuple(TABLES), header_row=header_row)
        except ReadFailure as failure:
            for problem in failure.problems:
                problems.add(problem)
            continue
        for sheet in read:
            name = named_table or (normal_name(table) if table else (sheet.table_hint or table_for_file(path)))
            if name is None:
                problems.add(Problem(str(path), None, None, None,
                                     "cannot tell the table from the file name; name it as FILE:TABLE "
                                     f"(tables: {', '.join(TABLES)}) or pass --table"))
                continue
            sheets.append((name, sheet))
    return sheets


#: the file argument that means standard input, and how its rows are named in reports and the history
STDIN, STDIN_NAME = "-", "<stdin>"


def _read_stdin(encoding: str | None, header_row: int | None, problems: _Problems) -> list[Sheet]:
    """Standard input as a file: CSV, or JSON when it starts with ``[`` or ``{``; named ``<stdin>``."""
    limit = int(max_file_mb() * 1e6)
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        problems.add(Problem(STDIN_NAME, None, None, None, f"standard input is above the limit of "
                                                          f"{max_file_mb():,.0f} MB: split it (SYMBIOSIS_MAX_FILE_MB)"))
        return []
    suffix = ".json" if data.lstrip()[:1] in (b"[", b"{") else ".csv"
    with tempfile.TemporaryDirectory(prefix="symbiosis-stdin-") as folder:
        held = Path(folder) / f"stdin{suffix}"
        held.write_bytes(data)
        try:
            read = read_file(held, encoding=encoding, table_names=tuple(TABLES), header_row=header_row)
        except ReadFailure as failure:
            for problem in failure.problems:
                problems.add(dataclasses.replace(problem, file=STDIN_NAME))
            return []
    return [dataclasses.replace(sheet, file=STDIN_NAME) for sheet in read]


def _validation_error(problems: _Problems, sheets: list[tuple[str, Sheet]], draft: str | None) -> ValidationError:
    """Every problem of the import, parents' first (a firms file's own errors before the flows that
    cannot find them), with the draft resource map named last when one was written."""
    rank = {sheet.file: DATA_TABLES.index(name) for name, sheet in sheets}
    ordered = sorted(problems.kept, key=lambda problem: (rank.get(problem.file, -1), problem.file, problem.row or 0))
    if draft:
        ordered.append(Problem(draft, None, None, None, "a draft resource map was written here: "
                               "check each guess, then pass it with --resource-map"))
    return ValidationError(ordered, problems.total + bool(draft))


#: a draft map's guess fills the code column only from this similarity up
_DRAFT_GUESS_SCORE = 0.75
#: a name added with --new-resources this close to a catalogue entry is named in a warning
_LOOK_ALIKE_SCORE = 0.8


def _write_draft_map(path: str | Path | None, unmatched: dict[str, list]) -> str | None:
    """A CSV ``name,code,score,rows,how`` with the best guess for every unmatched name (code blank
    when nothing is close), for the user to check and pass back with --resource-map."""
    if path is None:
        return None
    rows = []
    for name, (resolution, count) in sorted(unmatched.items()):
        best, score = (resolution.suggestions[0] if resolution.suggestions else ("", 0.0))
        # a weak guess (bagasse -> blast_furnace_slag at 0.50) is listed, never written as the mapping
        shown = resolution.suggestions[1:] if score >= _DRAFT_GUESS_SCORE else resolution.suggestions
        others = "; ".join(f"{code} ({value:.2f})" for code, value in shown)
        best = best if score >= _DRAFT_GUESS_SCORE else ""
        rows.append({"name": name, "code": best, "score": round(score, 2), "rows": count,
                     "other_guesses": others})
    from .export import neutral_frame, write_output  # the one writer and cell neutraliser of every file written

    frame = pd.DataFrame(rows, columns=["name", "code", "score", "rows", "other_guesses"])
    try:
        return write_output(path, neutral_frame(frame).to_csv(index=False))
    except OSError as exc:
        raise InputError(f"cannot write the draft resource map {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------------
# validation and conversion


def _prepare(sheet: Sheet, spec: TableSpec, column_map: dict[str, str], context: _Context,
             problems: _Problems) -> _Prepared | None:
    n_rows = len(sheet.frame)
    report = FileReport(sheet.file, spec.name, n_rows)
    if sheet.skipped_rows:
        report.notes.append(f"{sheet.skipped_rows} row(s) above the header (row {sheet.header_row}) skipped as titles")
    frame = _rename(sheet, spec, column_map, problems, report, context.set_values)
    if frame is None:
        return None
    present = [spec_field for spec_field in spec.fields if spec_field.name in frame.columns]
    extras = [column for column in frame.columns if column not in spec.field_names]
    out: dict[str, pd.Series] = {}
    empty = {column: frame[column].eq("") for column in frame.columns}

    if spec.unit_rule == "resource" and "resource_code" in frame.columns:
        # free-text names ("process steam", "粉煤灰", "10 01 02") become catalogue codes before keys are built;
        # the name as written stays with the row (in 'extra'), so every row can be traced to its file
        written = frame["resource_code"]
        frame["resource_code"] = _resolve_resources(sheet, written, context, problems, report)
        renamed = written.ne(frame["resource_code"])
        if renamed.any():
            frame["resource_as_written"] = written.where(renamed, "")
            extras.append("resource_as_written")
    for spec_field in present:
        if spec_field.type == "uncertainty":  # one column, two stored fields: sd (absolute), sd_rel (relative)
            out.update(_parse_uncertainty(sheet, frame[spec_field.name], empty[spec_field.name], problems))
            continue
        out[spec_field.name] = _parse_field(sheet, frame, spec_field, empty[spec_field.name], context, problems)
    report.warnings += context.warnings
    context.warnings.clear()

    key = _key(sheet, frame, spec, out, empty, problems)
    if key is None:
        return None
    out[spec.key] = key
    _check_across_files(sheet, spec, key, frame, context, problems)
    _check_specific(sheet, frame, spec, out, empty, problems, report, context)
    new_resources = _quantities(sheet, frame, spec, out, empty, context, problems, report)
    _check_magnitudes(sheet, frame, spec, out, problems)

    if extras:
        extra_frame = frame[extras]
        out["extra"] = pd.Series(
            [_extra_json(extras, record) for record in extra_frame.itertuples(index=False, name=None)],
            index=frame.index, dtype=object,
        )
        report.notes.append(f"kept {len(extras)} extra column(s) in 'extra': {', '.join(extras)}")

    if spec.defines_resources:  # later files of this import convert and validate against these
        for code, kind, energy_t, energy_m3 in zip(key, out["kind"], out.get("energy_mwh_per_t", [None] * n_rows),
                                                   out.get("energy_mwh_per_m3", [None] * n_rows)):
            context.resources[code] = (kind, _or_none(energy_t), _or_none(energy_m3))
    known = context.ids(spec.name)
    existing = key.isin(known).to_numpy()
    known.update(key.tolist())
    # New rows go in with a plain INSERT in key order (B-tree friendly, about twice as fast as an
    # upsert); only rows whose key is already stored need the compare-and-update path.
    order = np.argsort(key.to_numpy(dtype=str), kind="stable")
    columns = list(out)
    values = [_to_python(out[column].iloc[order]) for column in columns]
    rows = list(zip(*values))
    existing = existing[order]
    new_rows = [row for row, seen in zip(rows, existing) if not seen] if existing.any() else rows
    old_rows = [row for row, seen in zip(rows, existing) if seen]
    return _Prepared(sheet, spec, columns, new_rows, old_rows, report, new_resources)


#: a unit in brackets after a header: "Quantity (t/yr)", "Menge [t/a]", "数量（万吨/年）"
_HEADER_UNIT = re.compile(r"^(?P<base>.*?)\s*[(\[（【]\s*(?P<unit>[^()\[\]（）【】]+?)\s*[)\]）】]\s*$")
#: what analysts call the fields, in the languages of the data we meet (normalised as _normal does);
#: a column with one of these names is never read silently as the field: the user confirms with --map
_FIELD_ALIASES = {
    "quantity": ("amount", "qty", "menge", "数量", "量", "产量", "volume", "mass", "tonnage", "flow", "mængde",
                 "mængde", "mengde", "mängd", "수량", "양", "물량", "quantité", "cantidad"),
    "unit": ("units", "einheit", "单位", "uom", "enhed", "enhet", "단위", "unité", "unidad"),
    "source_id": ("from", "source", "supplier", "provider", "origin", "lieferant", "von", "来源", "来源企业",
                  "供方", "供应方", "leverandør", "leverantör", "fra", "från", "공급처", "공급기업", "공급자",
                  "fournisseur", "proveedor"),
    "target_id": ("to", "target", "receiver", "recipient", "destination", "user", "abnehmer", "nach", "去向",
                  "去向企业", "需方", "接收方", "modtager", "mottaker", "mottagare", "til", "till", "수요처",
                  "수요기업", "수요자", "destinataire", "receptor"),
    "resource_code": ("resource", "material", "substance", "by_product", "byproduct", "stoff", "物料",
                      "物料名称", "资源", "副产品", "resource_name", "material_name", "ressource", "ressurs",
                      "resurs", "materiale", "biprodukt", "물질", "자원", "부산물", "matière", "recurso"),
    "name": ("firm", "company", "enterprise", "firm_name", "company_name", "firma", "unternehmen", "名称",
             "企业名称", "navn", "namn", "virksomhed", "기업명", "회사명", "업체명", "nom", "nombre"),
    "id": ("编号", "企业编号", "nr", "nr.", "no", "no.", "code", "virksomheds_id", "기업코드", "코드", "번호"),
    "enterprise_id": ("firm", "company", "enterprise", "企业", "firma", "virksomhed", "företag", "기업", "업체"),
    "park_id": ("park", "园区", "산업단지", "단지", "parc"),
    "sector_code": ("sector", "nace", "branche", "行业", "行业代码", "industry", "isic", "branchekode",
                    "업종", "업종코드", "anzsic", "naics"),
    "lat": ("latitude", "breite", "纬度", "breddegrad", "위도"),
    "lon": ("longitude", "lng", "laenge", "länge", "经度", "længdegrad", "lengdegrad", "경도"),
    "year": ("jahr", "年份", "年", "år", "ar", "연도", "년도", "année", "año"),
    "kind": ("type", "category", "类型", "类别", "art", "kategori", "유형", "종류"),
    "status": ("状态", "state", "상태"),
    "distance_km": ("distance", "entfernung", "距离", "afstand", "avstand", "거리"),
    "note": ("comment", "comments", "remark", "remarks", "bemerkung", "备注", "description", "bemærkning",
             "kilde", "source_note", "비고", "메모"),
    "role": ("rolle", "角色", "node_type", "roll", "역할", "구분"),
    "scope1_t": ("scope_1", "scope1", "direct_emissions", "范围一", "范围1", "直接排放"),
    "scope2_t": ("scope_2", "scope2", "indirect_emissions", "范围二", "范围2", "间接排放"),
    "co2_capture_t": ("co2_capture", "captured_co2", "capture", "碳捕集"),
}


#: values of choice fields as files in other languages write them (lower case) -> the value
_CHOICE_WORDS = {
    "role": {
        **dict.fromkeys(("company", "enterprise", "virksomhed", "unternehmen", "företag", "企业", "公司", "기업",
                         "회사", "entreprise", "empresa"), "firm"),
        **dict.fromkeys(("forsyning", "versorger", "versorgung", "försörjning", "公用", "公用事业", "公用设施",
                         "基础设施", "유틸리티", "공공", "infrastructure", "grid", "network"), "utility"),
        **dict.fromkeys(("miljø", "umwelt", "miljö", "环境", "自然", "환경", "environnement", "nature"), "environment"),
        **dict.fromkeys(("ekstern", "extern", "externe", "外部", "园区外", "외부", "externo", "outside"), "external"),
    },
    "kind": {
        **dict.fromkeys(("materiale", "material", "stoff", "物料", "材料", "原料", "产品", "물질", "자재"), "material"),
        **dict.fromkeys(("affald", "abfall", "avfall", "废物", "废弃物", "固废", "副产品", "폐기물", "déchet"), "waste"),
        **dict.fromkeys(("energi", "energie", "能源", "能量", "热", "电", "에너지", "énergie"), "energy"),
        **dict.fromkeys(("vand", "wasser", "vatten", "水", "물", "eau", "agua"), "water"),
        **dict.fromkeys(("二氧化碳", "이산화탄소", "kuldioxid", "koldioxid"), "co2"),
    },
    "status": {
        **dict.fromkeys(("eksisterende", "bestehend", "befintlig", "现有", "已有", "运行", "기존", "existant"),
                        "existing"),
        **dict.fromkeys(("planlagt", "geplant", "planerad", "规划", "计划", "拟建", "계획", "prévu"), "planned"),
        **dict.fromkeys(("potentiel", "potenziell", "potentiell", "潜在", "잠재"), "potential"),
    },
}
#: fields whose text is kept in 'extra' all the same: a look-alike column loses nothing, so it is a warning
_DESCRIPTIVE_FIELDS = ("note", "sector_name")


def _header_unit(column: str) -> tuple[str, str | None]:
    """``"Quantity (t/yr)"`` -> ("quantity", "t/yr") when the brackets hold a unit pint can read."""
    match = _HEADER_UNIT.match(str(column))
    if not match:
        return normal_name(column), None
    try:
        parse_unit(match["unit"].strip())
    except UnitError:
        return normal_name(column), None
    return normal_name(match["base"]), match["unit"].strip()


def _field_for_header(column: str, spec: TableSpec, column_map: dict[str, str]) -> tuple[str, str | None, str | None]:
    """(field or kept name, unit from the header, how it was read) for one header of a file."""
    full = normal_name(column)
    base, unit = _header_unit(column)
    target = column_map.get(full, column_map.get(base, base))
    if unit is not None and target in spec.unit_fields:
        return target, unit, f"column {column!r} read as {target} in {unit}"
    if full in column_map:
        return column_map[full], None, None
    if full in spec.field_names:
        return full, None, None
    if full.endswith("s") and full[:-1] in spec.field_names:  # Notes, Names, Years
        return full[:-1], None, f"column {column!r} read as {full[:-1]}"
    return full, None, None


def _resembled_field(column: str, spec: TableSpec) -> str | None:
    """The field a column not read as any field looks like: its name without brackets, a known alias
    (Menge, 数量, Supplier), or a near spelling (quantitiy)."""
    match = _HEADER_UNIT.match(str(column))
    base = normal_name(match["base"]) if match else normal_name(column)
    fields = spec.field_names
    if base in fields:
        return base
    for field_name, aliases in _FIELD_ALIASES.items():
        if field_name in fields and base in aliases:
            return field_name
    close = difflib.get_close_matches(base, fields, n=1, cutoff=0.8)
    return close[0] if close else None


def _rename(sheet: Sheet, spec: TableSpec, column_map: dict[str, str], problems: _Problems,
            report: FileReport, set_values: dict[str, str]) -> pd.DataFrame | None:
    frame = sheet.frame
    header_row = sheet.header_row
    names, header_units = [], {}
    for column in frame.columns:
        name, unit, how = _field_for_header(column, spec, column_map)
        names.append(name)
        if unit is not None:
            header_units[name] = unit
        if how:
            report.notes.append(how)
    seen: dict[str, str] = {}
    ok = True
    for original, name in zip(frame.columns, names):
        if name in seen:
            problems.add(Problem(sheet.file, header_row, original, None,
                                 f"maps to field {name!r}, as column {seen[name]!r} does"))
            ok = False
        seen[name] = original
    ok = _check_look_alikes(sheet, spec, names, seen, column_map, set_values, problems, report) and ok
    names_given = set(names) | set(set_values)
    missing = [spec_field.name for spec_field in spec.fields if spec_field.required and spec_field.name not in names_given]
    if spec.one_of and not names_given & set(spec.one_of):
        missing.append(spec.one_of_label)
    if not spec.key_from_natural_only and spec.key not in names and not spec.natural_key:
        missing.append(spec.key)
    for name in dict.fromkeys(missing):
        problems.add(Problem(sheet.file, header_row, name, None,
                             f"required column missing (columns found: {', '.join(map(str, frame.columns))}; "
                             "use --map SOURCE_COLUMN=FIELD to rename, or --set FIELD=VALUE for every row)"))
    if missing or not ok:
        return None
    renamed = frame.copy()
    renamed.columns = names
    return _with_units_and_set_values(sheet, spec, renamed, header_units, set_values, problems)


def _check_look_alikes(sheet: Sheet, spec: TableSpec, names: list[str], seen: dict[str, str],
                       column_map: dict[str, str], set_values: dict[str, str], problems: _Problems,
                       report: FileReport) -> bool:
    """A column kept aside (in 'extra') that looks like a field would silently lose that field's data:
    a warning where the field is given otherwise or only descriptive, else an error. False on an error."""
    ok = True
    for original, name in zip(sheet.frame.columns, names):
        if name in spec.field_names or normal_name(original) in column_map:
            continue
        resembled = _resembled_field(original, spec)
        if resembled is None:
            continue
        if resembled in _DESCRIPTIVE_FIELDS and resembled not in names:
            report.warnings.append(f"column {original!r} looks like field {resembled!r} and is kept aside in "
                                   f"'extra'; --map '{original}={resembled}' reads it as {resembled}")
        elif resembled in names or resembled in set_values:
            report.warnings.append(f"column {original!r} looks like field {resembled!r}, which column "
                                   f"{seen.get(resembled, '--set')!r} gives; {original!r} is kept aside in 'extra'")
        else:
            problems.add(Problem(sheet.file, sheet.header_row, original, None,
                                 f"looks like field {resembled!r}, which this file lacks: read it with --map "
                                 f"'{original}={resembled}' (or keep it aside with --map '{original}=other_name')"))
            ok = False
    return ok


def _with_units_and_set_values(sheet: Sheet, spec: TableSpec, renamed: pd.DataFrame, header_units: dict[str, str],
                               set_values: dict[str, str], problems: _Problems) -> pd.DataFrame:
    """A header's unit as the unit of rows that give none (per column where the table's unit rule
    converts column by column); ``--set`` values in every row, a cell that says otherwise an error."""
    if spec.unit_rule == "co2":  # each scope column may have its own unit: converted column by column
        renamed.attrs["column_units"] = header_units
        header_units = {}
    for unit in header_units.values():
        if "unit" in renamed.columns:
            renamed["unit"] = renamed["unit"].where(renamed["unit"].ne(""), unit)
        else:
            renamed["unit"] = unit
    for name, value in set_values.items():
        if name not in spec.field_names:
            continue
        if name in renamed.columns:
            given = renamed[name]
            clash = given.ne("") & given.ne(value)
            problems.add_rows(sheet, clash, name, given, f"--set {name}={value} gives every row {value!r}")
            renamed[name] = given.where(given.ne(""), value)
        else:
            renamed[name] = value
    return renamed


#: a digit group separator that never means a decimal point: spaces (plain, no-break, thin) and apostrophes
_GROUPED = re.compile(r"^\s*([-+]?)(\d{1,3}(?:[ \u00a0\u2009\u202f']\d{3})+)([.,]\d+)?\s*$")


def _number_text(raw: pd.Series, decimal: str) -> pd.Series:
    """Number text as Python reads it: '170 000' -> '170000'; with ``decimal=','``: '1.234,5' -> '1234.5';
    with '.': '1,234.5' -> '1234.5' (a comma before three digits and a point, or alone in groups)."""
    text = raw.str.replace(_GROUPED, lambda m: m[1] + re.sub(r"\D", "", m[2]) + (m[3] or ""), regex=True)
    if decimal == ",":
        grouped = text.str.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+(,\d+)?")
        text = text.where(~grouped.fillna(False), text.str.replace(".", "", regex=False))
        return text.str.replace(",", ".", regex=False)
    grouped = text.str.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")
    return text.where(~grouped.fillna(False), text.str.replace(",", "", regex=False))


#: a well-formed number: one that still fails to read as a float is too large for one (1e400, 5,000 digits)
_PLAIN_NUMBER = r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*"


def _parse_field(sheet: Sheet, frame: pd.DataFrame, spec_field: Field, empty: pd.Series,
                 context: _Context, problems: _Problems) -> pd.Series:
    """One column's text as the field's type (text, bool, or a number: real, int, year); every bad
    cell reported with its row."""
    if spec_field.required:
        problems.add_rows(sheet, empty, spec_field.name, None, "a value is required")
    if spec_field.type == "text":
        return _parse_text(sheet, frame[spec_field.name], spec_field, empty, context, problems)
    if spec_field.type == "bool":
        return _parse_bool(sheet, frame[spec_field.name], spec_field, empty, problems)
    if spec_field.type == "currencies":
        return _parse_currencies(sheet, frame[spec_field.name], empty, problems)
    return _parse_number(sheet, frame[spec_field.name], spec_field, empty, context, problems)


#: an uncertainty as written: '120' (a standard deviation in the row's unit), '10 %' or '±10%' (relative)
_UNCERTAINTY_TEXT = re.compile(r"^\s*(?:±|\+/-|\+-)?\s*(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
                               r"(?P<percent>%|％|percent|pct)?\s*$")


def _parse_uncertainty(sheet: Sheet, raw: pd.Series, empty: pd.Series, problems: _Problems) -> dict[str, pd.Series]:
    """An ``uncertainty`` column as ``sd`` (a standard deviation in the row's unit, converted with the
    quantity later) and ``sd_rel`` (a share of the quantity: '10 %' -> 0.1); each row has one or neither."""
    parts = raw.where(~empty, "").str.extract(_UNCERTAINTY_TEXT)
    numbers = pd.to_numeric(parts["number"], errors="coerce").astype(float)
    relative = parts["percent"].notna()
    bad = ~empty & (numbers.isna() | ~np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan)) | (numbers < 0))
    problems.add_rows(sheet, bad, "uncertainty", raw,
                      "expected a standard deviation in the row's unit (120) or a relative one (10 %), not negative")
    numbers = numbers.where(~bad)
    return {"sd": numbers.where(~relative), "sd_rel": (numbers / 100.0).where(relative)}


def _parse_currencies(sheet: Sheet, raw: pd.Series, empty: pd.Series, problems: _Problems) -> pd.Series:
    """A ``balanced`` column: the currencies whose balance holds at the firm ('mass', 'mass, energy',
    'all'), stored sorted and comma-joined; 'none' or empty: no balance declared."""
    currencies = sorted(set(CURRENCY.values()))

    def parsed(text: str) -> str | None:
        words = {word for word in re.split(r"[\s,;/|+]+", text.strip().lower()) if word}
        if words <= {"none", "no", "-"}:
            return None
        if "all" in words or "yes" in words or "true" in words:
            return ",".join(currencies)
        return ",".join(sorted(words)) if words <= set(currencies) else "?"

    values = raw.where(~empty, "").map(parsed)
    problems.add_rows(sheet, values.eq("?"), "balanced", raw,
                      f"expected the currencies balanced at this firm: all, none, or some of {', '.join(currencies)}")
    return values.where(values.ne("?"), None)


def _parse_text(sheet: Sheet, raw: pd.Series, spec_field: Field, empty: pd.Series, context: _Context,
                problems: _Problems) -> pd.Series:
    name = spec_field.name
    values = raw
    if spec_field.choices:
        values = raw.str.lower()
        words = _CHOICE_WORDS.get(name)
        if words:  # a role, kind or status written in the file's language
            values = values.map(lambda value: words.get(value, value))
        bad = ~empty & ~values.isin(spec_field.choices)
        problems.add_rows(sheet, bad, name, raw, f"expected one of {', '.join(spec_field.choices)}")
    if spec_field.references and spec_field.references != "resources":
        known = context.ids(spec_field.references)
        bad = ~empty & ~raw.isin(known)
        noun = spec_field.references.rstrip("s")
        folded = {}
        if bad.any():  # ids are case-sensitive; point at a near miss rather than guess
            folded = {identifier.casefold(): identifier for identifier in known}

        def expected(position: int, raw=raw, noun=noun, folded=folded, table=spec_field.references) -> str:
            hint = folded.get(str(raw.iloc[position]).casefold())
            return (f"unknown {noun} id: not in the store nor in this import's {table} file"
                    + (f" (ids are case-sensitive: did you mean {hint!r}?)" if hint else ""))

        problems.add_rows(sheet, bad, name, raw, expected)
    if spec_field.default is not None:
        values = values.where(~empty, spec_field.default)
    return values.where(values.ne(""), None)


def _parse_bool(sheet: Sheet, raw: pd.Series, spec_field: Field, empty: pd.Series, problems: _Problems) -> pd.Series:
    name = spec_field.name
    lowered = raw.str.lower()
    bad = ~lowered.isin(_TRUE | _FALSE)
    problems.add_rows(sheet, bad, name, raw, "expected true or false (yes/no, 1/0)")
    return pd.Series(np.where(empty, None, lowered.isin(_TRUE)), index=raw.index, dtype=object)


def _parse_number(sheet: Sheet, raw: pd.Series, spec_field: Field, empty: pd.Series, context: _Context,
                  problems: _Problems) -> pd.Series:
    name = spec_field.name
    # float always: a whole number past 2**64 would otherwise come back as uint64 or object
    text = raw.where(~empty)
    if context.decimal == ".":  # fast path: most cells are plain numbers; only the others are rewritten
        plain = pd.to_numeric(text, errors="coerce")
        odd = ~empty & plain.isna()
        if odd.any():
            text = text.copy()
            text[odd] = _number_text(raw[odd], ".")
    else:
        text = _number_text(text, context.decimal)
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    finite = np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan))
    bad = ~empty & ~finite
    expected = {"real": "expected a number, like 1250.5", "int": "expected a whole number",
                "year": "expected a year, like 2024"}[spec_field.type]
    if context.decimal == "." and (bad & raw.str.fullmatch(r"[-+]?\d+(\.\d{3})*,\d+")).any():
        expected += " (if the file writes decimals with a comma, pass --decimal ,)"
    if context.decimal == "." and spec_field.type == "real":
        _warn_ambiguous_marks(sheet, raw, name, empty, context)
    # a number too long for a float (1e400, a 5,000-digit integer) is a number all the same: say so
    overflowed = bad & text.str.fullmatch(_PLAIN_NUMBER).fillna(False).astype(bool) if bad.any() else bad
    problems.add_rows(sheet, bad & ~overflowed, name, raw, expected)
    problems.add_rows(sheet, overflowed, name, raw, f"too large: the limit is {MAX_MAGNITUDE:g}")
    return _checked_range(sheet, raw, spec_field, numbers, ~empty & finite, finite, expected, problems)


def _warn_ambiguous_marks(sheet: Sheet, raw: pd.Series, name: str, empty: pd.Series, context: _Context) -> None:
    """A warning for numbers that read differently with the other decimal mark."""
    # 700.000 and 1,200 read as 700 and 1200 here; in a file from a decimal-comma country they are
    # 700,000 and 1.2: say how each was read, and how to read it the other way
    for pattern, how in ((r"[-+]?\d{1,3}(\.000)+", "with '.' as the decimal point; if '.' separates thousands"),
                         (r"[-+]?\d{1,3}(,\d{3})+", "with ',' separating thousands; if ',' is the decimal mark")):
        marker = ".000" if "000" in pattern else ","
        maybe = ~empty & raw.str.contains(marker, regex=False)
        if not maybe.any():
            continue
        ambiguous = maybe & raw.str.fullmatch(pattern)
        if ambiguous.any():
            first = int(sheet.row_numbers.iloc[int(np.flatnonzero(ambiguous.to_numpy())[0])])
            context.warnings.append(f"column {name!r}: {int(ambiguous.sum())} value(s) like "
                                    f"{raw[ambiguous].iloc[0]!r} (row {first}) read {how} in this file, "
                                    "pass --decimal ,")


def _checked_range(sheet: Sheet, raw: pd.Series, spec_field: Field, numbers: pd.Series, checked: pd.Series,
                   finite: np.ndarray, expected: str, problems: _Problems) -> pd.Series:
    """Whole numbers, years and bounds checked on the cells that read as finite numbers (``checked``);
    the values as stored (a bad cell empty)."""
    name = spec_field.name
    if spec_field.type in ("int", "year"):
        fractional = checked & (numbers != np.floor(numbers))
        problems.add_rows(sheet, fractional, name, raw, expected)
        if spec_field.type == "year":
            outside = checked & ~numbers.between(1800, 2200)
            problems.add_rows(sheet, outside, name, raw, "expected a year between 1800 and 2200")
        else:  # SQLite keeps integers in 64 bits; no count of people or things comes near this bound
            huge = checked & (numbers.abs() > MAX_MAGNITUDE)
            problems.add_rows(sheet, huge, name, raw, f"too large: the limit is {MAX_MAGNITUDE:g}")
            numbers = numbers.where(~huge)
    if spec_field.minimum is not None:
        below = checked & (numbers < spec_field.minimum)
        what = "negative" if spec_field.minimum == 0 else f"below {spec_field.minimum:g}"
        problems.add_rows(sheet, below, name, raw, f"{what}; expected at least {spec_field.minimum:g}")
    if spec_field.maximum is not None:
        above = checked & (numbers > spec_field.maximum)
        problems.add_rows(sheet, above, name, raw,
                          f"out of range; expected {spec_field.minimum:g} to {spec_field.maximum:g}")
    numbers = numbers.where(finite)
    if spec_field.type in ("int", "year"):
        return numbers.where(numbers == np.floor(numbers)).astype("Int64")
    return numbers




def _key_texts(values: pd.Series) -> pd.Series:
    """Each value as one part of a generated key: its text ('' for none, a year as digits) with the
    key's separators escaped (:func:`symbiosis.schema.escape_key_part`); each distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [escape_key_part(str(value)) for value in uniques]
    table = np.array(texts + [""], dtype=object)  # code -1 (missing) takes the last entry
    return pd.Series(table[codes], index=values.index, dtype=object)


def _natural_parts(frame: pd.DataFrame, spec: TableSpec, out: dict[str, pd.Series]) -> list[pd.Series]:
    """The natural key's parts as the row's values will be stored: parsed (a year written 2024.0 is
    2024), resolved (resource names as codes) and defaulted (an offset without a kind is
    'unspecified'), so that one row never gets two keys."""
    parts = []
    for name in spec.natural_key:
        if name in out:
            values = out[name]
        elif name in frame.columns:
            values = frame[name].where(frame[name].ne(""), None)
        else:
            default = spec.field(name).default
            values = pd.Series(default, index=frame.index, dtype=object)
            if default is not None:
                out[name] = values  # stored as the key says
        parts.append(_key_texts(values))
    return parts


def _key(sheet: Sheet, frame: pd.DataFrame, spec: TableSpec, out: dict[str, pd.Series],
         empty: dict[str, pd.Series], problems: _Problems) -> pd.Series | None:
    """The stored key of each row: the ``id`` as given, else built from the natural key
    (:func:`symbiosis.schema.natural_key`: 'power>refinery:steam:2002', each part escaped)."""
    key_name = spec.key
    natural = None
    if spec.natural_key:
        parts = _natural_parts(frame, spec, out)
        natural = spec.join_key(parts)  # flows read 'power>refinery:steam:2002'
    if spec.key_from_natural_only or key_name not in frame.columns:
        if natural is None:  # a spec without a natural key requires its key column (checked with the header)
            raise InputError(f"{sheet.file}: table {spec.name} needs a {key_name!r} column")
        key = natural
        what = "(" + ", ".join(spec.natural_key) + ")"
    else:
        key = frame[key_name]
        if natural is not None:
            key = key.where(~empty[key_name], natural)
        what = key_name
    duplicated = key.duplicated(keep="first")
    if duplicated.any():
        first_row = dict(zip(key[~duplicated], sheet.row_numbers[~duplicated]))
        # a table whose key is always its natural key takes no 'id' column: never suggest one
        hint = "" if what == key_name or spec.key_from_natural_only else "; give each row an 'id' to keep both"
        problems.add_rows(
            sheet, duplicated, key_name if what == key_name else None, key,
            lambda position: f"duplicate {what} in this file (first at row {first_row[key.iloc[position]]})" + hint,
        )
    if spec.reserved_prefix:
        reserved = key.str.startswith(spec.reserved_prefix)
        problems.add_rows(sheet, reserved, key_name, key, f"ids starting with {spec.reserved_prefix!r} are reserved")
    return key


def _check_across_files(sheet: Sheet, spec: TableSpec, key: pd.Series, frame: pd.DataFrame,
                        context: _Context, problems: _Problems) -> None:
    """The same key in two files (or sheets, or JSON keys) of one import: one row would silently replace
    the other, so both places are named. Costs nothing when a table has one file."""
    earlier = context.keyed.setdefault(spec.name, [])
    if earlier:
        seen = context.earlier_keys(spec.name)
        again = key.isin(seen) & key.ne("")
        if again.any():
            repeated = set(key[again].tolist())
            where: dict[str, str] = {}
            for other, other_keys in earlier:
                hits = other_keys.isin(repeated).to_numpy()
                for value, row in zip(other_keys[hits], other.row_numbers[hits]):
                    where.setdefault(value, f"{other.file}, row {int(row)}")
            column = spec.key if spec.key in frame.columns and not spec.key_from_natural_only else None
            what = spec.key if column else "(" + ", ".join(spec.natural_key) + ")"
            problems.add_rows(sheet, again, column, key,
                              lambda position: f"the same {what} as {where[key.iloc[position]]} in this import: "
                                               "one would silently replace the other; keep one")
        seen.update(key.tolist())
    earlier.append((sheet, key))




def _check_magnitudes(sheet: Sheet, frame: pd.DataFrame, spec: TableSpec, out: dict[str, pd.Series],
                      problems: _Problems) -> None:
    """One guard for every real figure as it will be stored (after unit conversion): finite and at
    most :data:`symbiosis.schema.MAX_MAGNITUDE`, so that no inf is stored and no park total overflows."""
    stored = {spec_field.name: spec_field.name for spec_field in spec.fields if spec_field.type == "real"}
    if "sd" in out:  # an uncertainty's standard deviation, converted with its quantity
        stored["sd"] = "uncertainty"
    for name, written in stored.items():
        if name not in out:
            continue
        values = out[name].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(values) & ~(np.abs(values) <= MAX_MAGNITUDE)  # inf and too large alike
        if not bad.any():
            continue
        column = written if written in frame.columns else ("quantity" if "quantity" in frame.columns else None)
        how = "once converted to the canonical unit " if name in spec.unit_fields or name == "sd" else ""
        problems.add_rows(sheet, pd.Series(bad, index=frame.index), column,
                          frame[column] if column else None,
                          f"too large {how}(the limit is {MAX_MAGNITUDE:g} in the canonical unit)")
        out[name] = out[name].where(~bad)


def _check_specific(sheet: Sheet, frame: pd.DataFrame, spec: TableSpec, out: dict[str, pd.Series],
                    empty: dict[str, pd.Series], problems: _Problems, report: FileReport,
                    context: _Context) -> None:
    """The checks a table's spec asks for beyond each field's own: coordinates given in pairs, one of
    ``one_of`` in each row, the catalogue's canonical units and kind changes."""
    _check_coordinates(sheet, frame, empty, problems, report)
    if spec.one_of_each_row:  # the file has one of the columns (checked with the header); each row needs a value
        none_given = pd.Series(True, index=frame.index)
        for name in spec.one_of:
            none_given &= empty.get(name, True)
        problems.add_rows(sheet, none_given, spec.one_of[0], None, spec.one_of_each_row)
    if spec.defines_resources:
        _check_catalogue(sheet, frame, spec, out, empty, problems, report, context)


def _check_coordinates(sheet: Sheet, frame: pd.DataFrame, empty: dict[str, pd.Series], problems: _Problems,
                       report: FileReport) -> None:
    columns = frame.columns
    if "lat" in columns or "lon" in columns:
        lat_empty = empty.get("lat", pd.Series(True, index=frame.index))
        lon_empty = empty.get("lon", pd.Series(True, index=frame.index))
        half = lat_empty ^ lon_empty
        problems.add_rows(sheet, half & lat_empty, "lat", None, "lon is given without lat; give both or neither")
        problems.add_rows(sheet, half & lon_empty, "lon", None, "lat is given without lon; give both or neither")
        missing = int((lat_empty & lon_empty).sum())
        if missing:
            report.notes.append(f"{missing} row(s) without coordinates (analyses that need them skip these)")


def _check_catalogue(sheet: Sheet, frame: pd.DataFrame, spec: TableSpec, out: dict[str, pd.Series],
                     empty: dict[str, pd.Series], problems: _Problems, report: FileReport, context: _Context) -> None:
    """Resources: the canonical unit follows the kind; a kind change is checked against stored rows;
    a name left out keeps the stored one."""
    columns = frame.columns
    kinds = out["kind"]
    canonical = kinds.map(CANONICAL_UNIT)
    if "canonical_unit" in columns:
        given = frame["canonical_unit"]
        bad = ~empty["canonical_unit"] & canonical.notna() & (given != canonical)
        problems.add_rows(sheet, bad, "canonical_unit", given,
                          lambda position: f"the canonical unit of kind {kinds.iloc[position]} is "
                                           f"{canonical.iloc[position]}")
    out["canonical_unit"] = canonical
    _check_kind_changes(sheet, out[spec.key], kinds, problems, report, context)
    # A name left out keeps the stored one (a file may only set co2_factor); a new code is its own name.
    stored = resource_names(context.db)
    fallback = out[spec.key].map(lambda code: stored.get(code, code))
    names = out.get("name")
    out["name"] = fallback if names is None else names.where(names.notna(), fallback)


#: tables whose rows carry a resource's kind and a quantity in its canonical unit
_RESOURCE_USERS = tuple(name for name, spec in TABLES.items() if spec.unit_rule == "resource")


def _check_kind_changes(sheet: Sheet, codes: pd.Series, kinds: pd.Series, problems: _Problems,
                        report: FileReport, context: _Context) -> None:
    """A resource's new kind against the stored one. Rows of flows, offers and demands hold their
    quantity in the canonical unit of the resource's currency: a change to another currency (steam
    from energy to water) would leave them in the wrong unit, so it is refused while rows use the
    resource. A change within a currency (waste to material) is taken; the rows keep their own kind."""
    stored = codes.map(lambda code: context.resources.get(code, (None,))[0])
    changed = stored.notna() & kinds.isin(CANONICAL_UNIT) & stored.ne(kinds)  # a bad kind is reported already
    if not changed.any():
        return
    changed_codes = sorted(set(codes[changed]))
    uses: dict[str, int] = {}
    for start in range(0, len(changed_codes), 500):
        part = changed_codes[start:start + 500]
        marks = ", ".join("?" for _ in part)
        for table in _RESOURCE_USERS:
            for code, count in context.db.execute(
                    f"SELECT resource_code, count(*) FROM {table} WHERE resource_code IN ({marks}) "
                    "GROUP BY resource_code", part):
                uses[code] = uses.get(code, 0) + count
    other_currency = changed & stored.map(CURRENCY).ne(kinds.map(CURRENCY)) & codes.map(uses).fillna(0).gt(0)
    problems.add_rows(sheet, other_currency, "kind", kinds,
                      lambda position: f"resource {codes.iloc[position]!r} is {stored.iloc[position]} and "
                                       f"{uses[codes.iloc[position]]} stored flow/offer/demand row(s) use it in "
                                       f"{CANONICAL_UNIT[stored.iloc[position]]}; a {kinds.iloc[position]} is "
                                       f"measured in {CANONICAL_UNIT[kinds.iloc[position]]}: undo or delete those "
                                       "rows first, or give the new kind a new code")
    within = changed & ~other_currency & codes.map(uses).fillna(0).gt(0)
    for code, old, new in zip(codes[within], stored[within], kinds[within]):
        report.warnings.append(f"resource {code!r} changes kind from {old} to {new}: the {uses[code]} stored "
                               "flow/offer/demand row(s) that use it keep their own kind")


def _quantities(sheet: Sheet, frame: pd.DataFrame, spec: TableSpec, out: dict[str, pd.Series],
                empty: dict[str, pd.Series], context: _Context, problems: _Problems,
                report: FileReport) -> list[tuple]:
    """Convert quantities to canonical units by the table's ``unit_rule``; fill kinds; return the
    resources new to the catalogue (``(code, name, kind, canonical_unit)`` rows)."""
    rule = _UNIT_RULES.get(spec.unit_rule) if spec.unit_rule else None
    return [] if rule is None else rule(sheet, frame, spec, out, empty, context, problems, report)


def _quantity_columns(frame: pd.DataFrame, out: dict[str, pd.Series],
                      empty: dict[str, pd.Series]) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(unit as written, unit empty, quantity, quantity empty) of a file, a missing column as empty."""
    index = frame.index
    no_values = pd.Series(True, index=index)
    unit_raw = frame["unit"] if "unit" in frame.columns else pd.Series("", index=index)
    quantity = out.get("quantity", pd.Series(np.nan, index=index, dtype=float))
    return unit_raw, empty.get("unit", no_values), quantity, empty.get("quantity", no_values)


def _co2_quantities(sheet: Sheet, frame: pd.DataFrame, spec: TableSpec, out: dict[str, pd.Series],
                    empty: dict[str, pd.Series], context: _Context, problems: _Problems,
                    report: FileReport) -> list[tuple]:
    """Emissions: each scope column in tCO2e, from the unit column, else the column's header unit."""
    index = frame.index
    unit = frame["unit"].where(~empty["unit"], "tCO2e") if "unit" in frame.columns else pd.Series("tCO2e", index=index)
    given = ~empty["unit"] if "unit" in frame.columns else pd.Series(False, index=index)
    header_units = frame.attrs.get("column_units", {})
    co2 = pd.Series("co2", index=index)
    factors = _factors(sheet, unit, co2, None, context, problems, "unit")
    if "sd" in out:  # a row holds up to three figures: only a share can apply to each
        problems.add_rows(sheet, out.pop("sd").notna(), "uncertainty", frame.get("uncertainty"),
                          "give a relative uncertainty (10 %): an emissions row holds several figures")
    for column in spec.unit_fields:
        if column in out:
            # a unit column wins; else the column's header unit ("Scope 1 (kt CO2-e)"); else tCO2e
            own = (_factors(sheet, unit.where(given, header_units[column]), co2, None, context, problems, "unit")
                   if column in header_units else factors)
            out[column] = _converted(out[column], own)
    if "unit" in out:
        out["unit_orig"] = out.pop("unit")
    if header_units:  # the units as the header gave them, for tracing the figures back
        written = "; ".join(f"{column}: {value}" for column, value in header_units.items())
        out["unit_orig"] = out["unit_orig"].where(out["unit_orig"].notna(), written) if "unit_orig" in out \
            else pd.Series(written, index=index)
    return []


def _energy_quantities(sheet: Sheet, frame: pd.DataFrame, spec: TableSpec, out: dict[str, pd.Series],
                       empty: dict[str, pd.Series], context: _Context, problems: _Problems,
                       report: FileReport) -> list[tuple]:
    """Energy use: MWh as given, or a carrier's quantity in its own unit converted to MWh."""
    index = frame.index
    unit_raw, unit_empty, quantity, quantity_empty = _quantity_columns(frame, out, empty)
    if "mwh" in frame.columns and "quantity" in frame.columns:
        both = ~empty["mwh"] & ~quantity_empty
        problems.add_rows(sheet, both, "mwh", frame["mwh"], "give mwh, or quantity and unit, not both")
    carrier = frame["carrier"]
    problems.add_rows(sheet, ~quantity_empty & unit_empty, "unit", None, "a unit is required with a quantity")
    factors = _factors(sheet, unit_raw.where(~unit_empty, "MWh"), pd.Series("energy", index=index), carrier,
                       context, problems, "unit")
    converted = _converted(quantity, factors)
    if "quantity" in out:
        mwh = out.get("mwh", pd.Series(np.nan, index=index, dtype=float))
        out["mwh"] = mwh.where(mwh.notna(), converted)
        out["quantity_orig"] = out.pop("quantity")
        out["unit_orig"] = unit_raw.where(~unit_empty & ~quantity_empty, None)
    out.pop("unit", None)
    return []


def _resource_quantities(sheet: Sheet, frame: pd.DataFrame, spec: TableSpec, out: dict[str, pd.Series],
                         empty: dict[str, pd.Series], context: _Context, problems: _Problems,
                         report: FileReport) -> list[tuple]:
    """Flows, offers, demands: kind from the row, else from the resource, else from the unit; the
    quantity in the kind's canonical unit; names new to the catalogue added with their kind."""
    index = frame.index
    unit_raw, unit_empty, quantity, quantity_empty = _quantity_columns(frame, out, empty)
    codes = out["resource_code"]
    known_kind = codes.map(lambda code: context.resources.get(code, (None,))[0])
    row_kind = out.get("kind", pd.Series(None, index=index, dtype=object))
    row_kind = row_kind.where(row_kind.isin(CANONICAL_UNIT))  # an invalid kind is reported once, above
    resource_currency = known_kind.map(CURRENCY)
    conflict = row_kind.notna() & known_kind.notna() & (row_kind.map(CURRENCY) != resource_currency)
    problems.add_rows(sheet, conflict, "kind", row_kind,
                      lambda position: f"resource {codes.iloc[position]!r} is {known_kind.iloc[position]} "
                                       f"({resource_currency.iloc[position]}), which this kind cannot measure")
    kind = row_kind.where(row_kind.notna(), known_kind)
    unknown = codes.notna() & known_kind.isna() & ~codes.isin(context.unresolved)  # new to the catalogue
    map_kinds = getattr(context.resource_map, "kinds", {})
    if map_kinds and unknown.any():  # the resource map's 'kind' column names the kind of a new code
        kind = kind.where(kind.notna() | ~unknown, codes.map(map_kinds))
    guess = unknown & kind.isna()
    if guess.any():
        inferred = unit_raw.where(guess & ~unit_empty).map(_kind_from_unit, na_action="ignore")
        kind = kind.where(~guess, inferred)
        problems.add_rows(sheet, guess & kind.isna(), "resource_code", codes,
                          "resource not in the catalogue: give a 'kind' column (material, waste, energy, "
                          "water, co2) or a unit that tells it, or add it to resources first")
    problems.add_rows(sheet, ~quantity_empty & unit_empty, "unit", None,
                      "a unit is required with a quantity (e.g. t/yr, MWh/yr, m3/yr)")
    kind = kind.where(kind.notna(), None)
    # a unit beside no quantity converts nothing: it is kept as written, not checked
    factors = _factors(sheet, unit_raw.where(~unit_empty & ~quantity_empty, None), kind, codes, context, problems,
                       "unit")
    out["kind"] = kind
    converted = _converted(quantity, factors)  # an overflow is reported by _check_magnitudes
    if "sd" in out:  # an absolute standard deviation is in the row's unit: converted as its quantity is
        absolute = out["sd"].notna()
        problems.add_rows(sheet, absolute & quantity_empty, "uncertainty", frame.get("uncertainty"),
                          "a standard deviation needs the quantity (and unit) it belongs to; a relative one "
                          "(10 %) needs none")
        out["sd"] = _converted(out["sd"].where(~quantity_empty), factors)
    out["quantity"] = converted
    out["unit"] = kind.map(CANONICAL_UNIT)
    out["quantity_orig"] = quantity
    out["unit_orig"] = unit_raw.where(~unit_empty, None)

    unknown_quantity = int(quantity_empty.sum())
    if unknown_quantity:
        report.notes.append(f"{unknown_quantity} row(s) without a quantity (unknown): {spec.unknown_quantity_note}")
    new = []
    new_codes = codes[unknown].dropna()
    for code, row_kind_value in zip(new_codes, kind[unknown].loc[new_codes.index]):
        if code not in context.resources and row_kind_value is not None:
            context.resources[code] = (row_kind_value, None, None)
            new.append((code, code, row_kind_value, CANONICAL_UNIT[row_kind_value]))
            report.new_resources.append(code)
    if new:
        report.notes.append("new resources added to the catalogue (check for typos): "
                            + ", ".join(report.new_resources))
    return new


#: how each ``TableSpec.unit_rule`` converts a file's quantities
_UNIT_RULES = {"co2": _co2_quantities, "energy": _energy_quantities, "resource": _resource_quantities}


def _resolve_resources(sheet: Sheet, names: pd.Series, context: _Context, problems: _Problems,
                       report: FileReport) -> pd.Series:
    """Resource names as written -> catalogue codes (code, name, synonym, EWC code, the user's map).

    A name that matches nothing is an error listing the closest catalogue entries, unless new resources
    are allowed: then its code is the name itself (a code-like name) or its normalised form, and it is
    added to the catalogue and listed in the report. Never a silent duplicate of a catalogue entry.
    """
    written = names[names.ne("")]
    if written.empty:
        return names
    resolutions = context.resolver().resolve_many(written.unique().tolist())
    codes = {}
    for name, resolution in resolutions.items():
        if resolution.code is not None:
            codes[name] = resolution.code
            if resolution.code != name:
                report.resolved[name] = (resolution.code, resolution.how)
            continue
        rows = written.index[written.eq(name)]
        if context.new_resources and not resolution.how.startswith("ambiguous"):
            codes[name] = _new_code(name)
            close = [f"{code} ({score:.2f})" for code, score in resolution.suggestions if score >= _LOOK_ALIKE_SCORE]
            if close:
                report.warnings.append(f"new resource {name!r} looks like catalogue {', '.join(close)}: if it is, "
                                       "map it with --resource-map instead of adding it")
            continue
        entry = context.unmatched.setdefault(name, [resolution, 0])
        entry[1] += len(rows)
        context.unresolved.add(name)
        first = int(sheet.row_numbers.iloc[rows[0]])
        more = f" (and {len(rows) - 1} more row(s))" if len(rows) > 1 else ""
        problems.add(Problem(sheet.file, first, "resource_code", name,
                             resolution.hint() + more + "; map it with --resource-map FILE (CSV name,code), "
                             "or pass --new-resources to add it to the catalogue"))
    if report.resolved:
        shown = ", ".join(f"{name!r} -> {code} ({how})" for name, (code, how) in list(report.resolved.items())[:8])
        hidden = len(report.resolved) - 8
        report.notes.append(f"resource names resolved: {shown}" + (f" and {hidden} more" if hidden > 0 else ""))
    return names.map(lambda name: codes.get(name, name))


def _new_code(name: str) -> str:
    """The catalogue code of a new resource: a code-like name as written, else its normalised form."""
    if re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        return name
    return normalise_name(name).replace(" ", "_")


#: significant digits kept of a converted figure
_CONVERTED_DIGITS = 12


def _converted(values: pd.Series, factors: pd.Series) -> pd.Series:
    """values x factors, without the binary noise of the conversion (3.5 ML x 1000 is 3500 m3, never
    3500.0000000000005); figures that needed no conversion stay exactly as written."""
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported as a problem by the caller
        product = values * factors
    values_out = product.to_numpy(dtype=float, na_value=np.nan, copy=True)
    scaled = factors.ne(1.0).to_numpy() & np.isfinite(values_out) & (values_out != 0)
    if scaled.any():
        # 12 significant digits: the multiplication's noise (about 1e-16 relative) goes, nothing a source
        # could give is lost (a kg/d figure keeps its digits, unlike rounding to fixed decimals)
        chosen = values_out[scaled]
        with np.errstate(over="ignore", invalid="ignore"):
            power = 10.0 ** (_CONVERTED_DIGITS - 1 - np.floor(np.log10(np.abs(chosen))))
            rounded = np.round(chosen * power) / power
        values_out[scaled] = np.where(np.isfinite(rounded), rounded, chosen)
        product = pd.Series(values_out, index=product.index)
    return product


def _kind_from_unit(unit: str) -> str | None:
    if re.search(r"(?<![A-Za-z])[Nn]m(3|³)", unit):
        return None  # a normal cubic metre measures a gas (a fuel, CO2, oxygen): the unit does not tell the kind
    try:
        parsed = parse_unit(unit)
    except UnitError:
        return None
    for kind, probe in (("material", "t"), ("energy", "MWh"), ("water", "m**3")):
        for candidate in (parsed, parsed * parse_unit("yr")):
            if candidate.dimensionality == parse_unit(probe).dimensionality:
                return kind
    return None


def _factors(sheet: Sheet, units: pd.Series, kinds: pd.Series, resources: pd.Series | None,
             context: _Context, problems: _Problems, column: str) -> pd.Series:
    """Conversion factor per row, computed once per distinct (unit, kind, resource)."""
    frame = pd.DataFrame({"unit": units, "kind": kinds,
                          "resource": resources if resources is not None else None})
    valid = frame["unit"].notna() & frame["kind"].notna()
    factors = pd.Series(np.nan, index=frame.index)
    if not valid.any():
        return factors
    combos = frame[valid].drop_duplicates()
    cache: dict[tuple, float | str] = {}
    for unit, kind, resource in combos.itertuples(index=False, name=None):
        _, energy_t, energy_m3 = context.resources.get(resource, (None, None, None))
        try:
            cache[(unit, kind, resource)] = conversion_factor(unit, kind, energy_mwh_per_t=energy_t,
                                                              energy_mwh_per_m3=energy_m3)
        except UnitError as exc:
            cache[(unit, kind, resource)] = str(exc)
    keys = list(zip(frame["unit"], frame["kind"], frame["resource"]))
    looked_up = pd.Series([cache.get(key, np.nan) for key in keys], index=frame.index, dtype=object)
    failed = looked_up.map(lambda value: isinstance(value, str))
    problems.add_rows(sheet, failed, column, frame["unit"], lambda position: looked_up.iloc[position])
    return pd.to_numeric(looked_up.where(~failed, np.nan))


def _or_none(value):
    return None if value is None or pd.isna(value) else float(value)


def _extra_json(columns: list[str], record: tuple) -> str | None:
    values = {column: value for column, value in zip(columns, record) if value != ""}
    return json.dumps(values, ensure_ascii=False) if values else None


def _to_python(series: pd.Series) -> list:
    """Values for sqlite3: None for missing, plain int/float/str otherwise."""
    if str(series.dtype) == "Int64":
        array = series.to_numpy(dtype=object, na_value=None)
    else:
        array = series.to_numpy(dtype=object, copy=True)
        array[pd.isna(array)] = None
    return array.tolist()


# --------------------------------------------------------------------------------------------------
# writing


def _write(db: sqlite_utils.Database, prepared: _Prepared, progress: Callable[[int], None] | None) -> None:
    conn = db.conn
    spec, report = prepared.spec, prepared.report
    import_id = int(conn.execute(
        "INSERT INTO imports (file, table_name, sha256, rows) VALUES (?, ?, ?, ?)",
        (prepared.sheet.file, spec.name, prepared.sheet.sha256, report.rows),
    ).lastrowid or 0)  # an INSERT always sets it
    if prepared.new_resources:
        conn.executemany(
            f"INSERT INTO resources (code, name, kind, canonical_unit, import_id) VALUES (?, ?, ?, ?, {import_id})",
            prepared.new_resources,
        )
    before_rows = conn.execute(f"SELECT count(*) FROM {spec.name}").fetchone()[0]
    changed = 0  # rows inserted or really updated by the data statements (not the bookkeeping)
    names = ", ".join(prepared.columns)
    placeholders = ", ".join("?" for _ in prepared.columns)
    insert = f"INSERT INTO {spec.name} ({names}, import_id) VALUES ({placeholders}, {import_id})"
    upsert = _upsert_sql(spec, prepared.columns, import_id)
    key_position = prepared.columns.index(spec.key)
    for sql, rows in ((insert, prepared.new_rows), (upsert, prepared.old_rows)):
        for start in range(0, len(rows), _WRITE_CHUNK):
            chunk = rows[start:start + _WRITE_CHUNK]
            if sql is upsert:
                _keep_replaced(conn, spec, [row[key_position] for row in chunk], import_id)
            before = conn.total_changes
            conn.executemany(sql, chunk)
            changed += conn.total_changes - before
            if progress is not None:
                progress(len(chunk))
    if prepared.old_rows:
        # only rows this import really changed keep their old version
        conn.execute(f"DELETE FROM replaced_rows WHERE import_id = ? AND table_name = ? AND row_key NOT IN "
                     f"(SELECT {spec.key} FROM {spec.name} WHERE import_id = ?)", (import_id, spec.name, import_id))
    report.inserted = conn.execute(f"SELECT count(*) FROM {spec.name}").fetchone()[0] - before_rows
    report.updated = changed - report.inserted
    report.unchanged = report.rows - changed
    if changed == 0 and not prepared.new_resources:
        # Nothing changed: leave no trace, so a re-import really changes nothing.
        conn.execute("DELETE FROM replaced_rows WHERE import_id = ?", (import_id,))
        conn.execute("DELETE FROM imports WHERE id = ?", (import_id,))
    else:
        conn.execute("UPDATE imports SET inserted = ?, updated = ? WHERE id = ?",
                     (report.inserted, report.updated, import_id))
        report.import_id = import_id
    log.info("%s -> %s: %d inserted, %d updated, %d unchanged", report.file, spec.name,
             report.inserted, report.updated, report.unchanged)


def _keep_replaced(conn, spec: TableSpec, keys: list, import_id: int) -> None:
    """Save the stored version of rows about to be upserted (as JSON), for ``undo``."""
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        marks = ", ".join("?" for _ in part)
        # the rowid too, so that undo puts the row back exactly where it was
        cursor = conn.execute(f"SELECT rowid AS rowid, * FROM {spec.name} WHERE {spec.key} IN ({marks})", part)
        names = [column[0] for column in cursor.description]
        conn.executemany(
            "INSERT OR IGNORE INTO replaced_rows (import_id, table_name, row_key, row_json) VALUES (?, ?, ?, ?)",
            [(import_id, spec.name, row[names.index(spec.key)], json.dumps(dict(zip(names, row)), ensure_ascii=False))
             for row in cursor.fetchall()])


def _upsert_sql(spec: TableSpec, columns: list[str], import_id: int) -> str:
    """INSERT ... ON CONFLICT DO UPDATE, touching a row only when a value really differs."""
    names = ", ".join(columns)
    placeholders = ", ".join("?" for _ in columns)
    updatable = [column for column in columns if column != spec.key]
    if not updatable:
        return f"INSERT INTO {spec.name} ({names}, import_id) VALUES ({placeholders}, {import_id}) ON CONFLICT DO NOTHING"
    assignments = ", ".join(f"{column} = excluded.{column}" for column in updatable)
    differs = " OR ".join(f"{spec.name}.{column} IS NOT excluded.{column}" for column in updatable)
    return (
        f"INSERT INTO {spec.name} ({names}, import_id) VALUES ({placeholders}, {import_id}) "
        f"ON CONFLICT({spec.key}) DO UPDATE SET {assignments}, import_id = excluded.import_id WHERE {differs}"
    )

