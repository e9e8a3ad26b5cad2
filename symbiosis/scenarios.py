"""Scenarios: the park as it is, with what is planned, with the synergy plan, or with a user's changes.

A scenario is data: a base (which imported flows count as built) and a list of changes. The base is one of
:data:`BUILT_IN`:

- ``as-is``: the existing flows;
- ``planned``: the existing and the planned flows;
- ``plan``: those and the matchmaking plan (the plan saved with ``match --save``, flows ``match:...``;
  when none is saved, the plan :func:`symbiosis.matching.match_of` makes of the park as it is).

Changes (a user's scenario file, one change per row) add a flow, remove or scale one, add a firm or
remove one with its flows and rows. A scaled unknown quantity stays unknown: a scenario never turns an
unknown into a number.

A scenario is applied to a copy of the park's inputs (:func:`materialise`: an in-memory store holding the
park's rows, with the changes made to them), and the analyses run on that copy exactly as on the store:
every analysis sees the same network, and none has a scenario branch of its own.

Scenario files are CSV with a header (UTF-8), columns:

``scenario`` (name), ``base`` (as-is, planned or plan; one per scenario, default as-is), ``change``
(add_flow, remove_flow, scale_flow, add_firm, remove_firm), ``flow_id``, ``source_id``, ``target_id``,
``resource_code``, ``quantity``, ``unit``, ``factor``, ``firm_id``, ``firm_name``, ``sector_code``, ``lat``,
``lon``, ``typical``, ``note``; a column a change does not use stays empty. ``description`` (optional) describes
the scenario.

A firm added with ``typical`` = yes gets a typical plant of its sector's exchanges
(:func:`symbiosis.factors.load_typical_flows`, ``datasets/typical_flows``, each row cited): what it takes in
comes first from what the park's firms now send out of the park of that resource (the co-location gaps: largest
known stream first, split where the plant needs less), the rest from outside the park; what it gives out goes
first to the park's firms that now bring that resource in from outside, the rest out of the park. A stream of
unknown quantity is never split or counted.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlite_utils

from .coverage import known_number
from .errors import InputError, Problem, UnknownIdError, ValidationError

__all__ = ["BUILT_IN", "CHANGES", "SCENARIO_COLUMNS", "Change", "ParkCopier", "Scenario", "built_in",
           "drop_scenario", "list_scenarios", "load_scenario", "materialise", "park_copy", "plan_flows_of",
           "read_scenario_file", "save_scenarios", "scenario_firms", "scenario_table"]

#: the built-in scenarios, each the base of a user's one
BUILT_IN = ("as-is", "planned", "plan")
#: the flow statuses each base counts as built (the plan adds the matchmaking plan's flows)
_BASE_STATUSES = {"as-is": ("existing",), "planned": ("existing", "planned"), "plan": ("existing", "planned")}
#: what a change row can do
CHANGES = ("add_flow", "remove_flow", "scale_flow", "add_firm", "remove_firm")
#: the columns of a scenario file (and of the stored changes)
SCENARIO_COLUMNS = ("scenario", "base", "description", "change", "flow_id", "source_id", "target_id",
                    "resource_code", "quantity", "unit", "factor", "firm_id", "firm_name", "sector_code", "lat", "lon",
                    "typical", "note")
_YES, _NO = ("yes", "true", "1", "y"), ("", "no", "false", "0", "n")
#: the id prefix of the matchmaking plan's flows (symbiosis.matching.save_plan)
PLAN_FLOW_PREFIX = "match:"


@dataclass(frozen=True)
class Change:
    """One change of a scenario, checked against the store; quantities in the resource's canonical unit.

    ``line`` is the row of the scenario file it came from (the header is row 1), None for a built one.
    """

    change: str
    line: int | None = None
    flow_id: str | None = None
    source_id: str | None = None
    target_id: str | None = None
    resource_code: str | None = None
    quantity: float | None = None
    unit: str | None = None
    factor: float | None = None
    firm_id: str | None = None
    firm_name: str | None = None
    sector_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    typical: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A named set of changes to a park's network on a base (one of :data:`BUILT_IN`)."""

    name: str
    base: str = "as-is"
    changes: tuple[Change, ...] = ()
    description: str = ""
    source: str | None = None

    @property
    def statuses(self) -> tuple[str, ...]:
        """The imported flow statuses this scenario counts as built."""
        return _BASE_STATUSES[self.base]

    @property
    def with_plan(self) -> bool:
        """Whether the matchmaking plan is built in this scenario."""
        return self.base == "plan"


def built_in(name: str) -> Scenario:
    """One of the :data:`BUILT_IN` scenarios.

    Examples
    --------
    >>> built_in("planned").statuses
    ('existing', 'planned')
    """
    if name not in BUILT_IN:
        raise InputError(f"no built-in scenario {name!r}; expected {', '.join(BUILT_IN)}")
    descriptions = {"as-is": "the existing flows", "planned": "the existing and planned flows",
                    "plan": "the existing and planned flows and the matchmaking plan"}
    return Scenario(name=name, base=name, description=descriptions[name])


# ---------------------------------------------------------------------------------------------------
# reading a scenario file


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


class _Checker:
    """Checks the rows of one scenario file against the store, collecting every problem."""

    def __init__(self, db: sqlite_utils.Database, park: str, name: str):
        self.db, self.park, self.name = db, park, name
        self.problems: list[Problem] = []
        self.resources = {code: (kind, energy_t, energy_m3) for code, kind, energy_t, energy_m3 in db.execute(
            "SELECT code, kind, energy_mwh_per_t, energy_mwh_per_m3 FROM resources")}
        from .factors import load_typical_flows

        self.typical_sectors = set(load_typical_flows()["sector_code"])
        self.park_flows = {row[0] for row in db.execute(
            "SELECT f.id FROM flows f JOIN enterprises e ON e.id IN (f.source_id, f.target_id) WHERE e.park_id = ?",
            [park])}

    def problem(self, line: int, column: str | None, value: Any, expected: str) -> None:
        self.problems.append(Problem(self.name, line, column, None if value is None else str(value), expected))

    def firm_exists(self, firm: str) -> bool:
        return self.db.execute("SELECT 1 FROM enterprises WHERE id = ?", [firm]).fetchone() is not None

    def firm_in_park(self, firm: str) -> bool:
        return self.db.execute("SELECT 1 FROM enterprises WHERE id = ? AND park_id = ?",
                               [firm, self.park]).fetchone() is not None

    def flow_exists(self, flow: str) -> bool:
        return self.db.execute("SELECT 1 FROM flows WHERE id = ?", [flow]).fetchone() is not None


def _cell(row: dict[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _check_add_flow(check: _Checker, line: int, row: dict[str, str], added_firms: set[str],
                    flow_ids: set[str]) -> dict[str, Any]:
    from .units import CANONICAL_UNIT, conversion_factor

    values: dict[str, Any] = {}
    source, target = _cell(row, "source_id") or None, _cell(row, "target_id") or None
    if source is None and target is None:
        check.problem(line, "source_id", None, "an added flow needs a source_id or a target_id (or both)")
    for column, firm in (("source_id", source), ("target_id", target)):
        if firm is not None and firm not in added_firms and not check.firm_exists(firm):
            check.problem(line, column, firm, "no such firm in the store (nor added by this scenario above)")
    if not any(firm is not None and (firm in added_firms or check.firm_in_park(firm)) for firm in (source, target)):
        if source is not None or target is not None:
            check.problem(line, "source_id", source or target, f"an added flow must touch a firm of park {check.park!r}")
    values.update(source_id=source, target_id=target)
    resource = _cell(row, "resource_code")
    if resource not in check.resources:
        check.problem(line, "resource_code", resource, "a resource code of the store's catalogue")
        return values
    kind, energy_t, energy_m3 = check.resources[resource]
    values.update(resource_code=resource, unit=CANONICAL_UNIT[kind])
    quantity_text, unit_text = _cell(row, "quantity"), _cell(row, "unit")
    if quantity_text:
        try:
            quantity = _number(quantity_text)
            if quantity < 0:
                raise ValueError(quantity_text)
        except ValueError:
            check.problem(line, "quantity", quantity_text, "a number >= 0, or empty for an unknown quantity")
            return values
        if not unit_text:
            check.problem(line, "unit", None, f"the unit of the quantity (e.g. {CANONICAL_UNIT[kind]})")
            return values
        try:
            values["quantity"] = quantity * conversion_factor(unit_text, kind, energy_mwh_per_t=energy_t,
                                                              energy_mwh_per_m3=energy_m3)
        except InputError as error:
            check.problem(line, "unit", unit_text, str(error))
    flow_id = _cell(row, "flow_id") or f"scenario:{_cell(row, 'scenario')}:{line}"
    if flow_id in flow_ids or check.flow_exists(flow_id):
        check.problem(line, "flow_id", flow_id, "a new flow id (this one is taken)")
    flow_ids.add(flow_id)
    values["flow_id"] = flow_id
    return values


def _check_flow_change(check: _Checker, line: int, row: dict[str, str], change: str) -> dict[str, Any]:
    flow_id = _cell(row, "flow_id")
    if flow_id not in check.park_flows:
        check.problem(line, "flow_id", flow_id, f"the id of a flow of park {check.park!r}")
    values: dict[str, Any] = {"flow_id": flow_id}
    if change == "scale_flow":
        factor_text = _cell(row, "factor")
        try:
            factor = _number(factor_text)
            if factor < 0:
                raise ValueError(factor_text)
            values["factor"] = factor
        except ValueError:
            check.problem(line, "factor", factor_text, "a number >= 0 (1.2: 20 % more)")
    return values


def _check_firm_change(check: _Checker, line: int, row: dict[str, str], change: str,
                       added_firms: set[str]) -> dict[str, Any]:
    firm = _cell(row, "firm_id")
    values: dict[str, Any] = {"firm_id": firm}
    if change == "remove_firm":
        if not check.firm_in_park(firm):
            check.problem(line, "firm_id", firm, f"the id of a firm of park {check.park!r}")
        return values
    if not firm or firm in added_firms or check.firm_exists(firm):
        check.problem(line, "firm_id", firm, "a new firm id (not in the store, not added twice)")
    added_firms.add(firm)
    name = _cell(row, "firm_name")
    if not name:
        check.problem(line, "firm_name", None, "the added firm's name")
    values.update(firm_name=name or firm, sector_code=_cell(row, "sector_code") or None)
    typical = _cell(row, "typical").lower()
    if typical not in _YES + _NO:
        check.problem(line, "typical", typical, "yes or no: give the firm a typical plant's exchanges of its sector")
    elif typical in _YES:
        values["typical"] = True
        if values["sector_code"] not in check.typical_sectors:
            check.problem(line, "sector_code", values["sector_code"],
                          "a sector with typical flows (datasets/typical_flows): "
                          + ", ".join(sorted(check.typical_sectors)))
    for column, bound in (("lat", 90.0), ("lon", 180.0)):
        text = _cell(row, column)
        if text:
            try:
                coordinate = _number(text)
                if abs(coordinate) > bound:
                    raise ValueError(text)
                values[column] = coordinate
            except ValueError:
                check.problem(line, column, text, f"a number between -{bound:g} and {bound:g}, or empty")
    return values


def read_scenario_file(db: sqlite_utils.Database, path: str | Path, park: str) -> list[Scenario]:
    """Read and check a scenario file (CSV, see the module's docstring) for a park.

    Parameters
    ----------
    db : sqlite_utils.Database
        The store the changes are checked against (firms, flows, resources).
    path : path-like
        The CSV file.
    park : str
        The park the scenarios change.

    Returns
    -------
    list of Scenario
        In the order of their first row.

    Raises
    ------
    ValidationError
        Every problem found, each with the file, row (its line in the file), column and value.
    UnknownIdError
        The park is not in the store.
    """
    from .store import park_exists

    if not park_exists(db, park):
        raise UnknownIdError(f"no park {park!r} in the store")
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the scenario file ({error})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [column.strip() for column in reader.fieldnames or []]
    unknown = [column for column in header if column not in SCENARIO_COLUMNS]
    missing = [column for column in ("scenario", "change") if column not in header]
    if unknown or missing:
        problems = [Problem(name, 1, column, column, f"not a scenario column; expected {', '.join(SCENARIO_COLUMNS)}")
                    for column in unknown]
        problems += [Problem(name, 1, column, None, "a required column") for column in missing]
        raise ValidationError(problems)
    reader.fieldnames = header
    check = _Checker(db, park, name)
    scenarios: dict[str, dict[str, Any]] = {}
    added_firms: set[str] = set()
    flow_ids: set[str] = set()
    for row in reader:
        line = reader.line_num
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue
        scenario_name = _cell(row, "scenario")
        if not scenario_name or scenario_name in BUILT_IN:
            check.problem(line, "scenario", scenario_name,
                          f"a scenario name (not empty, not one of the built-in {', '.join(BUILT_IN)})")
            continue
        entry = scenarios.setdefault(scenario_name, {"base": None, "changes": [], "description": ""})
        base = _cell(row, "base")
        if base:
            if base not in BUILT_IN:
                check.problem(line, "base", base, f"one of {', '.join(BUILT_IN)}")
            elif entry["base"] not in (None, base):
                check.problem(line, "base", base, f"the base given above for {scenario_name!r}: {entry['base']}")
            else:
                entry["base"] = base
        entry["description"] = entry["description"] or _cell(row, "description")
        change = _cell(row, "change")
        if change not in CHANGES:
            check.problem(line, "change", change, f"one of {', '.join(CHANGES)}")
            continue
        if change == "add_flow":
            values = _check_add_flow(check, line, row, added_firms, flow_ids)
        elif change in ("remove_flow", "scale_flow"):
            values = _check_flow_change(check, line, row, change)
        else:
            values = _check_firm_change(check, line, row, change, added_firms)
        entry["changes"].append(Change(change=change, line=line, note=_cell(row, "note") or None, **values))
    if check.problems:
        raise ValidationError(check.problems)
    if not scenarios:
        raise ValidationError([Problem(name, None, None, None, "no scenario rows")])
    return [Scenario(name=scenario_name, base=entry["base"] or "as-is", changes=tuple(entry["changes"]),
                     description=entry["description"], source=str(path)) for scenario_name, entry in scenarios.items()]


# ---------------------------------------------------------------------------------------------------
# the stored scenarios


def save_scenarios(db: sqlite_utils.Database, park: str, scenarios: Sequence[Scenario]) -> None:
    """Store scenarios of a park in one transaction (a scenario of the same name is replaced)."""
    with db.conn:
        for scenario in scenarios:
            db.execute("DELETE FROM scenarios WHERE park_id = ? AND name = ?", [park, scenario.name])
            cursor = db.execute("INSERT INTO scenarios (park_id, name, base, description, source) VALUES (?, ?, ?, ?, ?)",
                                [park, scenario.name, scenario.base, scenario.description, scenario.source])
            scenario_id = cursor.lastrowid
            db.conn.executemany(
                "INSERT INTO scenario_changes (scenario_id, position, line, change, flow_id, source_id, target_id, "
                "resource_code, quantity, unit, factor, firm_id, firm_name, sector_code, lat, lon, typical, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(scenario_id, position, change.line, change.change, change.flow_id, change.source_id,
                  change.target_id, change.resource_code, change.quantity, change.unit, change.factor, change.firm_id,
                  change.firm_name, change.sector_code, change.lat, change.lon, int(change.typical), change.note)
                 for position, change in enumerate(scenario.changes)])


def list_scenarios(db: sqlite_utils.Database, park: str | None = None) -> pd.DataFrame:
    """The stored scenarios (of a park): ``park_id, name, base, changes, description, source, created_at``."""
    where, params = ("WHERE s.park_id = ?", [park]) if park is not None else ("", [])
    return pd.read_sql_query(
        "SELECT s.park_id, s.name, s.base, count(c.position) AS changes, s.description, s.source, s.created_at "
        f"FROM scenarios s LEFT JOIN scenario_changes c ON c.scenario_id = s.id {where} "
        "GROUP BY s.id ORDER BY s.park_id, s.name", db.conn, params=params)


def drop_scenario(db: sqlite_utils.Database, park: str, name: str) -> None:
    """Remove a stored scenario and its changes.

    Raises
    ------
    UnknownIdError
        No such scenario.
    """
    with db.conn:
        if db.execute("DELETE FROM scenarios WHERE park_id = ? AND name = ?", [park, name]).rowcount == 0:
            raise UnknownIdError(f"no stored scenario {name!r} of park {park!r}")


def load_scenario(db: sqlite_utils.Database, park: str, name: str) -> list[Scenario]:
    """A built-in scenario, a stored one of the park, or the scenarios of a file (checked).

    Parameters
    ----------
    name : str
        ``as-is``, ``planned``, ``plan``, a stored scenario's name, or the path of a scenario file.
    """
    if name in BUILT_IN:
        return [built_in(name)]
    found = db.execute("SELECT id, base, description, source FROM scenarios WHERE park_id = ? AND name = ?",
                       [park, name]).fetchone()
    if found is not None:
        scenario_id, base, description, source = found
        columns = [column for column in Change.__dataclass_fields__]
        changes = tuple(Change(**{**dict(zip(columns, row)), "typical": bool(row[columns.index("typical")])})
                        for row in db.execute(
            f"SELECT {', '.join(columns)} FROM scenario_changes WHERE scenario_id = ? ORDER BY position",
            [scenario_id]))
        return [Scenario(name=name, base=base, changes=changes, description=description or "", source=source)]
    if Path(name).is_file():
        return read_scenario_file(db, name, park)
    raise UnknownIdError(f"no scenario {name!r}: expected {', '.join(BUILT_IN)}, a stored scenario of park {park!r} "
                         "(symbiosis scenario list), or a scenario file")


def scenario_table(scenario: Scenario) -> pd.DataFrame:
    """A scenario's changes as a table (one row per change, the columns of :class:`Change`)."""
    return pd.DataFrame([change.__dict__ for change in scenario.changes],
                        columns=list(Change.__dataclass_fields__))


# ---------------------------------------------------------------------------------------------------
# applying a scenario to a copy of the park's inputs


@dataclass
class Materialised:
    """A scenario applied: an in-memory store with the park's rows as the scenario has them.

    Attributes
    ----------
    db : sqlite_utils.Database
        The copy; the analyses run on it as on the store (built flows have status ``existing``).
    scenario : Scenario
    plan_flows : DataFrame
        The matchmaking plan's flows the scenario built (``id, source_id, target_id, resource_code,
        quantity, unit, offer_id, demand_id``), empty when it has none.
    notes : list of str
        What was done that a reader should know (the plan made here rather than a saved one, ...).
    """

    db: sqlite_utils.Database
    scenario: Scenario
    plan_flows: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)


#: the tables copied, with the rows of the park each keeps (``:firms`` = the park's firms and partners)
_COPIED = (
    # the park and the parks of the firms copied (their countries: which sector codes, which grid factors)
    ("parks", "id = :park OR id IN (SELECT park_id FROM {source}enterprises WHERE id IN (SELECT value FROM "
              "json_each(:firms)))"),
    ("resources", None),
    ("enterprises", "id IN (SELECT value FROM json_each(:firms))"),
    ("flows", "rowid IN (SELECT f.rowid FROM {source}flows f WHERE f.source_id IN (SELECT value FROM "
              "json_each(:flow_firms)) UNION SELECT f.rowid FROM {source}flows f WHERE f.target_id IN (SELECT value "
              "FROM json_each(:flow_firms)))"),
    ("offers", "enterprise_id IN (SELECT value FROM json_each(:firms))"),
    ("demands", "enterprise_id IN (SELECT value FROM json_each(:firms))"),
    ("emissions", "enterprise_id IN (SELECT value FROM json_each(:firms))"),
    ("energy_use", "enterprise_id IN (SELECT value FROM json_each(:firms))"),
    ("offsets", "park_id = :park"),
    ("reconciliations", "park_id = :park"),
    ("estimates", "reconciliation_id IN (SELECT id FROM {source}reconciliations WHERE park_id = :park)"),
)
_WHERE = dict(_COPIED)


#: an empty store's schema as SQLite bytes: each park copy starts from it (a millisecond, not a migration run)
_EMPTY_STORE: bytes | None = None


def _empty_store() -> sqlite_utils.Database:
    import sqlite3

    from .store import open_store

    global _EMPTY_STORE
    if _EMPTY_STORE is None:
        template = open_store(":memory:")
        template.execute("DELETE FROM resources")  # the store's own catalogue is copied
        template.conn.commit()
        _EMPTY_STORE = template.conn.serialize()
    connection = sqlite3.connect(":memory:")
    connection.deserialize(_EMPTY_STORE)
    connection.execute("PRAGMA foreign_keys = OFF")  # provenance (imports) is not copied
    return sqlite_utils.Database(connection)


def _store_file(db: sqlite_utils.Database) -> str | None:
    """The file of a store on disk (None for an in-memory one: SQLite names no file for it, or, once bytes were
    deserialised into it, a name that is no absolute path of a file)."""
    import os

    found = [row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"]
    return found[0] if found and found[0] and os.path.isabs(found[0]) and os.path.isfile(found[0]) else None


class ParkCopier:
    """Copies parks' rows out of one store into in-memory stores (:func:`park_copy`), one park after another.

    Each table's columns are read once; each park's rows are copied by SQLite itself (``INSERT ... SELECT``
    from the store attached to the copy: no Python object per cell) into an empty store. A park's copy is a
    new connection: SQLite's deserialise into a connection that has run statements is not safe (CPython
    keeps their prepared statements), so the empty store is never reused in place.

    Examples
    --------
    >>> from symbiosis.store import open_store
    >>> copier = ParkCopier(open_store(":memory:"))
    >>> copier.copy("P1").table_names() == open_store(":memory:").table_names()
    True
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.source = _store_file(db)
        self.columns = {table: ", ".join(f'"{row[1]}"' for row in db.execute(f"PRAGMA table_info({table})"))
                        for table, _ in _COPIED}

    def copy(self, park: str, extra_firms: Sequence[str] = (), *,
             neighbours_km: float | None = None) -> sqlite_utils.Database:
        """A park's rows (as :func:`park_copy` describes) in a new in-memory store."""
        db = self.db
        members = [row[0] for row in db.execute("SELECT id FROM enterprises WHERE park_id = ?", [park])]
        neighbours: list[str] = []
        if neighbours_km is not None:
            from .matching import neighbour_firms

            neighbours = neighbour_firms(db, park, neighbours_km)
        params = {"park": park, "flow_firms": json.dumps(sorted(set(members) | set(neighbours)))}
        copy = _empty_store()
        if self.source is not None:
            copy.execute("ATTACH DATABASE ? AS source", [self.source])
        try:
            with copy.conn:
                # the flows first: their partners, read from the copy, are firms the other tables keep
                self._insert(copy, "flows", _WHERE["flows"], params)
                partners = [row[0] for row in copy.conn.execute(
                    "SELECT source_id FROM flows WHERE target_id IN (SELECT value FROM json_each(?)) AND source_id "
                    "IS NOT NULL UNION SELECT target_id FROM flows WHERE source_id IN (SELECT value FROM "
                    "json_each(?)) AND target_id IS NOT NULL", [json.dumps(members)] * 2)]
                params["firms"] = json.dumps(sorted(set(members) | set(partners) | set(extra_firms)
                                                    | set(neighbours)))
                for table, where in _COPIED:
                    if table != "flows":
                        self._insert(copy, table, where, params)
        finally:
            if self.source is not None:
                copy.execute("DETACH DATABASE source")
        return copy

    def _insert(self, copy: sqlite_utils.Database, table: str, where: str | None, params: dict[str, str]) -> None:
        listed = self.columns[table]
        select = "SELECT {listed} FROM {source}{table}" + (f" WHERE {where}" if where else "") + " ORDER BY rowid"
        if self.source is not None:
            copy.conn.execute(f"INSERT INTO main.{table} ({listed}) "
                              + select.format(listed=listed, source="source.", table=table), params if where else {})
            return
        # an in-memory store cannot be attached: its rows go through Python
        rows = self.db.execute(select.format(listed=listed, source="", table=table), params if where else {}).fetchall()
        if rows:
            copy.conn.executemany(f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' for _ in rows[0])})", rows)

    def payload(self, park: str, *, neighbours_km: float | None = None) -> bytes:
        """A park's copy as the bytes of an SQLite database (what a cluster worker is sent)."""
        copy = self.copy(park, neighbours_km=neighbours_km)
        try:
            return copy.conn.serialize()
        finally:
            copy.conn.close()


def park_copy(db: sqlite_utils.Database, park: str, extra_firms: Sequence[str] = (), *,
              neighbours_km: float | None = None) -> sqlite_utils.Database:
    """An in-memory store holding a park's rows: its firms and their partners (and ``extra_firms``), the flows
    touching its firms, their offers, demands, emissions and energy use, the park's offsets and reconciliations,
    the parks of those firms and every resource. Rows keep their order (analyses that add numbers add them in
    the same order as on the store). What :func:`materialise` changes, and what :mod:`symbiosis.fanout` ships
    to a cluster worker (through :class:`ParkCopier`); the analyses run on it as on the store.

    ``neighbours_km``: also the firms within that matchmaking radius that offer or demand something
    (:func:`symbiosis.matching.neighbour_firms`), with their offers, demands and flows, so that the park's
    matchmaking on the copy sees the partners it sees on the store."""
    return ParkCopier(db).copy(park, extra_firms, neighbours_km=neighbours_km)


def plan_flows_of(db: sqlite_utils.Database, park: str, matches: Any = None,
                  options: Any = None) -> tuple[pd.DataFrame, list[str]]:
    """The matchmaking plan's flows of a park: the plan saved with ``match --save``, else the plan of
    ``matches`` (:func:`symbiosis.matching.plan_flows`; made here from the park as it is when not given).

    Returns
    -------
    (DataFrame, list of str)
        The flows and a note saying which plan they are.
    """
    saved = pd.read_sql_query(
        "SELECT f.id, f.source_id, f.target_id, f.resource_code, f.quantity, f.unit, f.distance_km FROM flows f "
        "JOIN enterprises e ON e.id IN (f.source_id, f.target_id) WHERE e.park_id = ? AND f.status = 'potential' "
        "AND f.id LIKE 'match:%' GROUP BY f.id ORDER BY f.rowid", db.conn, params=[park])
    if len(saved):
        return saved, [f"the matchmaking plan: the {len(saved)} flows saved with 'match --save'"]
    from .matching import plan_flows

    if matches is None:
        from .pipeline import analyse_park

        matches = analyse_park(db, park, analyses=("matching",), options=options).matches
    flows = plan_flows(matches) if matches is not None else pd.DataFrame()
    return flows, [f"the matchmaking plan: {len(flows)} exchanges planned now from the park as it is "
                   "(none saved with 'match --save')"]


def scenario_firms(scenarios: Sequence[Scenario], plan: pd.DataFrame | None = None) -> list[str]:
    """The firms outside a park that scenarios' changes (or the plan's flows) name: what a park's copy must hold
    besides its own firms and partners (:func:`park_copy`)."""
    firms = [firm for frame in ([plan] if plan is not None else []) for column in ("source_id", "target_id")
             for firm in frame.get(column, [])]
    firms += [firm for scenario in scenarios for change in scenario.changes for firm in (change.source_id,
                                                                                          change.target_id)]
    return sorted({firm for firm in firms if isinstance(firm, str)})


def _clone(base: sqlite_utils.Database) -> sqlite_utils.Database:
    """A copy of an in-memory store (SQLite's backup: milliseconds where copying the rows takes tenths)."""
    import sqlite3

    connection = sqlite3.connect(":memory:")
    base.conn.backup(connection)
    connection.execute("PRAGMA foreign_keys = OFF")
    return sqlite_utils.Database(connection)


def materialise(db: sqlite_utils.Database, park: str, scenario: Scenario, *, options: Any = None,
                plan: pd.DataFrame | None = None, base: sqlite_utils.Database | None = None) -> Materialised:
    """Apply a scenario to a copy of a park's inputs.

    Parameters
    ----------
    db : sqlite_utils.Database
        The store (only read).
    park : str
        The park.
    scenario : Scenario
    options : symbiosis.pipeline.AnalysisOptions, optional
        The options of the matchmaking that makes the plan when none is saved, and the analysis year.
    plan : DataFrame, optional
        The plan's flows, when already found (:func:`plan_flows_of`), so that several scenarios share one plan.
    base : sqlite_utils.Database, optional
        The park's copy (:func:`park_copy`, holding :func:`scenario_firms`), when already made: several
        scenarios share it (each gets a clone).

    Returns
    -------
    Materialised
    """
    notes: list[str] = []
    plan_frame = pd.DataFrame()
    if scenario.with_plan:
        if plan is None:
            plan, notes = plan_flows_of(db, park, options=options)
        plan_frame = plan
    copy = _clone(base) if base is not None else park_copy(db, park, scenario_firms([scenario], plan_frame))
    with copy.conn:
        built = [status for status in scenario.statuses if status != "existing"]
        if built:
            copy.execute(f"UPDATE flows SET status = 'existing' WHERE status IN ({', '.join('?' for _ in built)})",
                         built)
        if len(plan_frame):
            copy.execute("DELETE FROM flows WHERE id IN (SELECT value FROM json_each(?))",
                         [json.dumps(list(plan_frame["id"]))])
            _insert_flows(copy, plan_frame.to_dict("records"))
        for change in scenario.changes:
            _apply(copy, park, scenario, change, notes, getattr(options, "year", None))
    return Materialised(db=copy, scenario=scenario, plan_flows=plan_frame, notes=notes)


def _insert_flows(copy: sqlite_utils.Database, flows: list[dict[str, Any]]) -> None:
    kinds = dict(copy.execute("SELECT code, kind FROM resources").fetchall())
    copy.conn.executemany(
        "INSERT INTO flows (id, source_id, target_id, resource_code, kind, quantity, unit, status, distance_km, "
        "boundary, note) VALUES (?, ?, ?, ?, ?, ?, ?, 'existing', ?, ?, ?)",
        [(flow["id"], flow.get("source_id"), flow.get("target_id"), flow["resource_code"], kinds[flow["resource_code"]],
          known_number(flow.get("quantity")), flow["unit"], known_number(flow.get("distance_km")), flow.get("boundary"),
          flow.get("note")) for flow in flows])


def _apply(copy: sqlite_utils.Database, park: str, scenario: Scenario, change: Change, notes: list[str],
           year: int | None) -> None:
    if change.change == "add_flow":
        _insert_flows(copy, [{"id": change.flow_id, "source_id": change.source_id, "target_id": change.target_id,
                              "resource_code": change.resource_code, "quantity": change.quantity, "unit": change.unit,
                              "note": change.note or f"scenario {scenario.name}"}])
    elif change.change == "remove_flow":
        copy.execute("DELETE FROM flows WHERE id = ?", [change.flow_id])
    elif change.change == "scale_flow":
        # NULL * factor is NULL: an unknown quantity stays unknown
        copy.execute("UPDATE flows SET quantity = quantity * ?, sd = sd * ? WHERE id = ?",
                     [change.factor, change.factor, change.flow_id])
        # a reconciled value of the flow (read with --estimates) is scaled with it
        copy.execute("UPDATE estimates SET value = value * ?, sd = sd * ?, measured = measured * ? WHERE flow_id = ?",
                     [change.factor, change.factor, change.factor, change.flow_id])
    elif change.change == "add_firm":
        copy.execute("INSERT INTO enterprises (id, name, park_id, sector_code, lat, lon) VALUES (?, ?, ?, ?, ?, ?)",
                     [change.firm_id, change.firm_name, park, change.sector_code, change.lat, change.lon])
        if change.typical:
            notes.extend(_typical_plant(copy, park, scenario, change, year))
    elif change.change == "remove_firm":
        firm = [change.firm_id]
        copy.execute("DELETE FROM flows WHERE source_id = ? OR target_id = ?", firm * 2)
        for table in ("offers", "demands", "emissions", "energy_use"):
            copy.execute(f"DELETE FROM {table} WHERE enterprise_id = ?", firm)
        copy.execute("DELETE FROM enterprises WHERE id = ?", firm)


def _emissions_year(copy: sqlite_utils.Database, year: int | None) -> int:
    """The year of an added firm's emissions: the analysis's, else the park's latest reported, else this one."""
    if year is not None:
        return year
    latest = copy.execute("SELECT max(year) FROM emissions").fetchone()[0]
    import datetime

    return int(latest) if latest is not None else datetime.date.today().year


def _typical_plant(copy: sqlite_utils.Database, park: str, scenario: Scenario, change: Change,
                   year: int | None) -> list[str]:
    """A typical plant's exchanges for an added firm (see the module's docstring); what was done, in sentences."""
    from .factors import load_typical_flows

    typical = load_typical_flows()
    rows = typical[typical["sector_code"] == change.sector_code]
    firm, notes = change.firm_id, []
    counter = 0

    def new_id() -> str:
        nonlocal counter
        counter += 1
        return f"scenario:{scenario.name}:{change.line}:{counter}"

    kinds = dict(copy.execute("SELECT code, kind FROM resources").fetchall())
    for resource, direction, quantity, unit, source in zip(rows["resource_code"], rows["direction"],
                                                          rows["quantity_per_yr"], rows["unit"], rows["source"]):
        if kinds.get(resource) == "co2" and direction == "out":
            # a plant's CO2 leaves in its flue gas: an emission (scope 1), not an exchange
            copy.execute("INSERT INTO emissions (id, enterprise_id, year, scope1_t, quality) VALUES (?, ?, ?, ?, ?)",
                         [f"scenario:{scenario.name}:{change.line}:emissions", firm, _emissions_year(copy, year),
                          float(quantity), "literature"])
            notes.append(f"{scenario.name}: {firm} ({change.sector_code}) emits {quantity:,.0f} tCO2e/yr, scope 1 "
                         f"(typical plant, {source})")
            continue
        # the park's streams of the resource across its boundary on the side the plant could serve: sent out
        # (for an intake) or brought in (for an output), known quantities, largest first
        end, other = ("source_id", "target_id") if direction == "in" else ("target_id", "source_id")
        streams = copy.execute(
            f"SELECT f.id, f.{end}, f.quantity FROM flows f JOIN enterprises e ON e.id = f.{end} "
            f"WHERE e.park_id = ? AND f.{other} IS NULL AND f.resource_code = ? AND f.status = 'existing' "
            "AND f.quantity > 0 ORDER BY f.quantity DESC, f.id", [park, resource]).fetchall()
        needed, moved, partners = float(quantity), 0.0, []
        for flow_id, partner, available in streams:
            if needed <= 0:
                break
            taken = min(needed, available)
            copy.execute("UPDATE flows SET quantity = quantity - ? WHERE id = ?", [taken, flow_id])
            pair = (partner, firm) if direction == "in" else (firm, partner)
            _insert_flows(copy, [{"id": new_id(), "source_id": pair[0], "target_id": pair[1], "resource_code": resource,
                                  "quantity": taken, "unit": unit,
                                  "note": f"scenario {scenario.name}: typical plant ({source}), from flow {flow_id}"}])
            needed, moved = needed - taken, moved + taken
            partners.append(partner)
        if needed > 0:  # the rest crosses the park boundary
            ends = (None, firm) if direction == "in" else (firm, None)
            _insert_flows(copy, [{"id": new_id(), "source_id": ends[0], "target_id": ends[1], "resource_code": resource,
                                  "quantity": needed, "unit": unit,
                                  "boundary": "outside supply" if direction == "in" else "outside market",
                                  "note": f"scenario {scenario.name}: typical plant ({source}), across the boundary"}])
        where = "from" if direction == "in" else "to"
        notes.append(f"{scenario.name}: {firm} ({change.sector_code}) {'takes' if direction == 'in' else 'gives'} "
                     f"{quantity:,.0f} {unit} of {resource} (typical plant, {source}): {moved:,.0f} {where} "
                     f"{len(set(partners))} park firm(s), {max(needed, 0.0):,.0f} across the park boundary")
    return notes
