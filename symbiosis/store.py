"""The SQLite store: schema, migrations, connection settings, transactions and what a store file is.

The store is one SQLite file opened through :mod:`sqlite_utils`. Foreign keys are enforced, the journal
is in WAL mode (readers never block the writer) and ``PRAGMA user_version`` records the schema version.

Which files ``--db`` opens
    A symbiosis store: ``PRAGMA application_id`` is :data:`APPLICATION_ID`, or (stores written before it
    was set) ``user_version`` 1..:data:`SCHEMA_VERSION` with every data table present. When creating
    (``init``, ``import``, ``demo``) also a missing file, a 0-byte file or a SQLite file with no table at
    all, none of them named like an input file (``.csv``, ``.xlsx``, ``.json`` ...). Anything else (another
    application's database, a CSV, a text file) is refused with a :class:`~symbiosis.errors.StoreError`
    before anything is written to it: the file is read first, and the journal is switched to WAL only
    once it is known to be a store or an empty file. ``create=False`` (every read-only command) never
    creates a store, not even in an empty SQLite file.
Creating, migrating, repairing
    Creation (the whole schema and the shipped resource catalogue), migration of an older store and
    re-seeding a store whose catalogue is missing each run in one transaction that takes the write lock
    first and then re-reads the version, so a kill at any moment leaves the file empty or complete, and
    several processes opening one new store at once create it once.
Waiting for a locked store
    A writer waits for another writer's lock up to :data:`DEFAULT_BUSY_TIMEOUT_S` seconds (10 minutes:
    about nine times the longest single transaction the tool runs, the national import of 1,000,000
    flows, 65-68 s in benchmarks/README.md), or ``$SYMBIOSIS_BUSY_TIMEOUT_S`` (0 to 86400 seconds).
    When it gives up it raises a StoreError naming the file, how long it
    waited and what to do; nothing has been written. Readers never wait (WAL).
Faults
    Every SQLite error that means the file cannot be used (locked, damaged, disk full, I/O error,
    read-only) becomes a StoreError naming the file, wherever it happens: the connection translates
    them. A damaged store is found when it is opened (``PRAGMA quick_check``, for files up to
    :data:`QUICK_CHECK_MAX_MB`) or by the first query that reads a damaged page.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from .errors import SchemaVersionError, StoreError
from .settings import BUSY_TIMEOUT_ENV, DB_ENV, DEFAULT_BUSY_TIMEOUT_S, DEFAULT_DB, environment_value
from .settings import MAX_BUSY_TIMEOUT_S as _MAX_BUSY_TIMEOUT_S

__all__ = [
    "park_exists",
    "park_ids",
    "park_countries",
    "resource_names",
    "co2_factors",
    "APPLICATION_ID",
    "DEFAULT_DB",
    "DEFAULT_BUSY_TIMEOUT_S",
    "BUSY_TIMEOUT_ENV",
    "QUICK_CHECK_MAX_MB",
    "SCHEMA_VERSION",
    "DATA_TABLES",
    "resolve_busy_timeout",
    "catalogue_import_ids",
    "default_db_path",
    "open_store",
    "migrate",
    "schema_version",
    "store_error",
    "transaction",
    "table_counts",
]

log = logging.getLogger(__name__)

#: ``PRAGMA application_id`` of a symbiosis store: "SYMB" in ASCII
APPLICATION_ID = 0x53594D42
# how long a command waits for another process's write lock, unless $SYMBIOSIS_BUSY_TIMEOUT_S says, and
# the longest wait accepted (a day; SQLite counts milliseconds in a 32-bit int): symbiosis.settings
#: stores up to this size are checked (``PRAGMA quick_check``) each time they are opened: measured
#: 2 ms for the demo store (0.2 MB) and 2.4-2.9 s for the national one (338 MB, 1,000,000 flows), so
#: at most about 0.25 s here; larger stores are left to the errors their queries raise
QUICK_CHECK_MAX_MB = 32
#: names of files the importer reads: never made into a store
_INPUT_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".json", ".toml")
_SQLITE_MAGIC = b"SQLite format 3\x00"

#: tables that hold the user's data, in the order an import must fill them (parents first)
DATA_TABLES = (
    "parks",
    "resources",
    "enterprises",
    "flows",
    "offers",
    "demands",
    "emissions",
    "energy_use",
    "offsets",
)

_KIND_CHECK = "CHECK (kind IN ('material', 'waste', 'energy', 'water', 'co2'))"
#: data-quality classes of a stated figure (symbiosis.schema.QUALITY_CLASSES; their default uncertainty
#: is in symbiosis.uncertainty)
_QUALITY_CHECK = "CHECK (quality IN ('measured', 'calculated', 'estimated', 'literature'))"
# offers (what a firm could give away) and demands (what it could take) have the same shape
_EXCHANGE_COLUMNS = f"""
        id TEXT PRIMARY KEY NOT NULL,
        enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
        resource_code TEXT NOT NULL REFERENCES resources(code),
        kind TEXT NOT NULL {_KIND_CHECK},
        quantity REAL CHECK (quantity >= 0),
        unit TEXT NOT NULL,
        quantity_orig REAL,
        unit_orig TEXT,
        year INTEGER,
        note TEXT,
        extra TEXT
    """

# Each migration takes the schema from version i to i + 1. Never edit one that has been released:
# add a new one, so that every older file can be brought forward.
_MIGRATIONS: list[str] = [
    # 0 -> 1: the design's data model.
    f"""
    CREATE TABLE parks (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        country TEXT,
        region TEXT,
        lat REAL CHECK (lat BETWEEN -90 AND 90),
        lon REAL CHECK (lon BETWEEN -180 AND 180),
        extra TEXT
    );
    CREATE TABLE resources (
        code TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL {_KIND_CHECK},
        canonical_unit TEXT NOT NULL,
        ewc_code TEXT,
        energy_mwh_per_t REAL CHECK (energy_mwh_per_t >= 0),
        energy_mwh_per_m3 REAL CHECK (energy_mwh_per_m3 >= 0),
        co2_factor REAL,
        note TEXT,
        extra TEXT
    );
    CREATE TABLE enterprises (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        park_id TEXT REFERENCES parks(id),
        sector_code TEXT,
        sector_name TEXT,
        lat REAL CHECK (lat BETWEEN -90 AND 90),
        lon REAL CHECK (lon BETWEEN -180 AND 180),
        output_value_mcny REAL CHECK (output_value_mcny >= 0),
        employees INTEGER CHECK (employees >= 0),
        extra TEXT
    );
    CREATE TABLE flows (
        id TEXT PRIMARY KEY NOT NULL,
        source_id TEXT REFERENCES enterprises(id),
        target_id TEXT REFERENCES enterprises(id),
        resource_code TEXT NOT NULL REFERENCES resources(code),
        kind TEXT NOT NULL {_KIND_CHECK},
        quantity REAL CHECK (quantity >= 0),
        unit TEXT NOT NULL,
        quantity_orig REAL,
        unit_orig TEXT,
        year INTEGER,
        status TEXT NOT NULL DEFAULT 'existing' CHECK (status IN ('existing', 'planned', 'potential')),
        distance_km REAL CHECK (distance_km >= 0),
        cost_cny_per_yr REAL,
        boundary TEXT,
        note TEXT,
        extra TEXT,
        CHECK (source_id IS NOT NULL OR target_id IS NOT NULL)
    );
    CREATE TABLE offers ({_EXCHANGE_COLUMNS});
    CREATE TABLE demands ({_EXCHANGE_COLUMNS});
    CREATE TABLE emissions (
        id TEXT PRIMARY KEY NOT NULL,
        enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
        year INTEGER NOT NULL,
        scope1_t REAL CHECK (scope1_t >= 0),
        scope2_t REAL CHECK (scope2_t >= 0),
        co2_capture_t REAL CHECK (co2_capture_t >= 0),
        unit_orig TEXT,
        extra TEXT,
        UNIQUE (enterprise_id, year)
    );
    CREATE TABLE energy_use (
        id TEXT PRIMARY KEY NOT NULL,
        enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
        year INTEGER NOT NULL,
        carrier TEXT NOT NULL,
        mwh REAL CHECK (mwh >= 0),
        quantity_orig REAL,
        unit_orig TEXT,
        renewable INTEGER CHECK (renewable IN (0, 1)),
        extra TEXT,
        UNIQUE (enterprise_id, year, carrier)
    );
    CREATE TABLE offsets (
        id TEXT PRIMARY KEY NOT NULL,
        park_id TEXT NOT NULL REFERENCES parks(id),
        year INTEGER NOT NULL,
        t_co2e REAL CHECK (t_co2e >= 0),
        kind TEXT NOT NULL,
        extra TEXT,
        UNIQUE (park_id, year, kind)
    );
    """,
    # 1 -> 2: provenance (which file and import every row came from) and indexes, so that a park's
    # slice or an enterprise's flows are index lookups, not full scans.
    """
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file TEXT NOT NULL,
        table_name TEXT NOT NULL,
        sha256 TEXT,
        imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        rows INTEGER NOT NULL DEFAULT 0,
        inserted INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE parks ADD COLUMN import_id INTEGER REFERENCES imports(id);
    ALTER TABLE resources ADD COLUMN import_id INTEGER REFERENCES imports(id);
    ALTER TABLE enterprises ADD COLUMN import_id INTEGER REFERENCES imports(id);
    ALTER TABLE flows ADD COLUMN import_id INTEGER REFERENCES imports(id);
    ALTER TABLE offers ADD COLUMN import_id INTEGER REFERENCES imports(id);
    ALTER TABLE demands ADD COLUMN import_id INTEGER REFERENCES imports(id);
    ALTER TABLE emissions ADD COLUMN import_id INTEGER REFERENCES imports(id);
    ALTER TABLE energy_use ADD COLUMN import_id INTEGER REFERENCES imports(id);
    ALTER TABLE offsets ADD COLUMN import_id INTEGER REFERENCES imports(id);
    CREATE INDEX idx_enterprises_park ON enterprises(park_id);
    CREATE INDEX idx_flows_source ON flows(source_id);
    CREATE INDEX idx_flows_target ON flows(target_id);
    CREATE INDEX idx_flows_resource ON flows(resource_code);
    CREATE INDEX idx_offers_enterprise ON offers(enterprise_id);
    CREATE INDEX idx_demands_enterprise ON demands(enterprise_id);
    CREATE INDEX idx_offsets_park ON offsets(park_id);
    """,
    # 2 -> 3: lookups by resource (gaps, matchmaking) are index searches at national scale too.
    """
    CREATE INDEX idx_offers_resource ON offers(resource_code);
    CREATE INDEX idx_demands_resource ON demands(resource_code);
    CREATE INDEX idx_flows_source_resource ON flows(source_id, resource_code);
    CREATE INDEX idx_flows_target_resource ON flows(target_id, resource_code);
    """,
    # 3 -> 4: the versions of rows an import replaced, so that undoing it restores them.
    """
    CREATE TABLE replaced_rows (
        import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
        table_name TEXT NOT NULL,
        row_key TEXT NOT NULL,
        row_json TEXT NOT NULL,
        PRIMARY KEY (import_id, table_name, row_key)
    );
    """,
    # 4 -> 5: (source_id) and (target_id) alone are prefixes of the (.., resource_code) indexes, which
    # answer the same lookups; two fewer indexes to keep up make a national flows import faster.
    """
    DROP INDEX IF EXISTS idx_flows_source;
    DROP INDEX IF EXISTS idx_flows_target;
    """,
    # 5 -> 6: nodes that are not firms (a lake, a gas grid, "local farmers") are declared in the
    # enterprises file with a role; analyses treat them as the park's boundary. NULL means firm.
    # An undone import stays in the history, marked with the time it was undone.
    """
    ALTER TABLE enterprises ADD COLUMN role TEXT CHECK (role IN ('firm', 'utility', 'environment', 'external'));
    ALTER TABLE imports ADD COLUMN undone_at TEXT;
    """,
    # 6 -> 7: uncertain data and their reconciliation. A flow, offer, demand or emissions row may state its
    # uncertainty (an absolute standard deviation in the canonical unit, or a relative one) and its data
    # quality class; a firm declares the currencies whose balance holds at it. Reconciled values live in
    # their own layer (reconciliations, estimates): imported rows are never overwritten.
    f"""
    ALTER TABLE flows ADD COLUMN sd REAL CHECK (sd >= 0);
    ALTER TABLE flows ADD COLUMN sd_rel REAL CHECK (sd_rel >= 0);
    ALTER TABLE flows ADD COLUMN quality TEXT {_QUALITY_CHECK};
    ALTER TABLE offers ADD COLUMN sd REAL CHECK (sd >= 0);
    ALTER TABLE offers ADD COLUMN sd_rel REAL CHECK (sd_rel >= 0);
    ALTER TABLE offers ADD COLUMN quality TEXT {_QUALITY_CHECK};
    ALTER TABLE demands ADD COLUMN sd REAL CHECK (sd >= 0);
    ALTER TABLE demands ADD COLUMN sd_rel REAL CHECK (sd_rel >= 0);
    ALTER TABLE demands ADD COLUMN quality TEXT {_QUALITY_CHECK};
    ALTER TABLE emissions ADD COLUMN sd_rel REAL CHECK (sd_rel >= 0);
    ALTER TABLE emissions ADD COLUMN quality TEXT {_QUALITY_CHECK};
    ALTER TABLE enterprises ADD COLUMN balanced TEXT;
    CREATE TABLE reconciliations (
        id INTEGER PRIMARY KEY,
        park_id TEXT REFERENCES parks(id),
        currency TEXT NOT NULL,
        year INTEGER,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        flows INTEGER NOT NULL,
        measured INTEGER NOT NULL,
        unknown INTEGER NOT NULL,
        determined INTEGER NOT NULL,
        chi2 REAL,
        dof INTEGER,
        p_value REAL,
        passed INTEGER,
        settings TEXT
    );
    CREATE TABLE estimates (
        reconciliation_id INTEGER NOT NULL REFERENCES reconciliations(id) ON DELETE CASCADE,
        flow_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('adjusted', 'determined', 'kept', 'undetermined')),
        value REAL,
        sd REAL CHECK (sd >= 0),
        measured REAL,
        test REAL,
        gross_error INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        PRIMARY KEY (reconciliation_id, flow_id)
    );
    CREATE INDEX idx_estimates_flow ON estimates (flow_id);
    """,
    # 7 -> 8: scenarios (symbiosis.scenarios): a named base and changes to a park's network, kept apart from
    # the imported data, which they never change.
    """
    CREATE TABLE scenarios (
        id INTEGER PRIMARY KEY,
        park_id TEXT NOT NULL REFERENCES parks(id),
        name TEXT NOT NULL,
        base TEXT NOT NULL CHECK (base IN ('as-is', 'planned', 'plan')),
        description TEXT,
        source TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        UNIQUE (park_id, name)
    );
    CREATE TABLE scenario_changes (
        scenario_id INTEGER NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        line INTEGER,
        change TEXT NOT NULL CHECK (change IN ('add_flow', 'remove_flow', 'scale_flow', 'add_firm', 'remove_firm')),
        flow_id TEXT,
        source_id TEXT,
        target_id TEXT,
        resource_code TEXT,
        quantity REAL CHECK (quantity >= 0),
        unit TEXT,
        factor REAL CHECK (factor >= 0),
        firm_id TEXT,
        firm_name TEXT,
        sector_code TEXT,
        lat REAL,
        lon REAL,
        typical INTEGER NOT NULL DEFAULT 0 CHECK (typical IN (0, 1)),
        note TEXT,
        PRIMARY KEY (scenario_id, position)
    );
    """,
    # 8 -> 9: per-park runs (symbiosis.fanout) and each park's result, so that an interrupted national run
    # resumes.
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        options TEXT,
        parks INTEGER NOT NULL,
        started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        finished_at TEXT
    );
    CREATE INDEX idx_runs_fingerprint ON runs (fingerprint);
    CREATE TABLE park_results (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        park_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        result TEXT,
        error TEXT,
        seconds REAL,
        PRIMARY KEY (run_id, park_id)
    );
    """,
]
SCHEMA_VERSION = len(_MIGRATIONS)


def default_db_path() -> Path:
    """The store used when no ``--db`` is given: ``$SYMBIOSIS_DB``, else ``./symbiosis.db``."""
    return Path(environment_value(DB_ENV) or DEFAULT_DB)


def resolve_busy_timeout(value: float | str | None = None) -> float:
    """Seconds a writer waits for another writer's lock: ``value``, else ``$SYMBIOSIS_BUSY_TIMEOUT_S``,
    else :data:`DEFAULT_BUSY_TIMEOUT_S`.

    Raises
    ------
    StoreError
        If the setting is not a number of seconds from 0 to a day.
    """
    source = "busy timeout"
    if value is None:
        value = environment_value(BUSY_TIMEOUT_ENV) or ""
        source = BUSY_TIMEOUT_ENV
        if not value:
            return DEFAULT_BUSY_TIMEOUT_S
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds <= _MAX_BUSY_TIMEOUT_S:  # also refuses nan
        raise StoreError(f"{source}={str(value)[:40]!r}: expected a number of seconds from 0 to "
                         f"{_MAX_BUSY_TIMEOUT_S:.0f}, e.g. {DEFAULT_BUSY_TIMEOUT_S:.0f}")
    return seconds


def schema_version(db: sqlite_utils.Database) -> int:
    """The schema version recorded in the file (``PRAGMA user_version``)."""
    return db.execute("PRAGMA user_version").fetchone()[0]


# ------------------------------------------------------------------------------------------- SQLite errors

# primary result codes (https://www.sqlite.org/rescode.html); Python gives the extended code
_SQLITE_READONLY, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_CORRUPT = 8, 5, 6, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26


_DAMAGED_ADVICE = ("Check it with: sqlite3 {where} \"PRAGMA integrity_check\", and restore it from a backup "
                   "(or rebuild it by importing your files into a new store)")


def store_error(exc: BaseException, *, path: str | os.PathLike | None = None,
                waited_s: float | None = None) -> StoreError | None:
    """The StoreError that says what a SQLite error means for the store at ``path``, or None when the
    error is not about the file (a constraint, a bad statement: those are the caller's to explain).

    Parameters
    ----------
    exc : BaseException
        Usually a :class:`sqlite3.DatabaseError`.
    path : path-like, optional
        The store's file, named in the message.
    waited_s : float, optional
        The busy timeout in force, named when the store was locked.
    """
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, sqlite3.IntegrityError):
        return None
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc)
    where = str(path) if path is not None else "the store"
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in text:
        waited = f"waited {waited_s:g} s and gave up" if waited_s is not None else "gave up waiting"
        return StoreError(
            f"{where} is locked: another process is writing to it (an import, undo, init or 'match --save'); "
            f"{waited}, nothing was written. Run the command again when that one has finished, or let it wait "
            f"longer with {BUSY_TIMEOUT_ENV}=SECONDS")
    if code == _SQLITE_NOTADB or "not a database" in text:
        return StoreError(f"{where} is not a usable SQLite store ({text}): not a SQLite file, or one whose header "
                          "is damaged; symbiosis leaves it alone. " + _DAMAGED_ADVICE.format(where=where))
    if code == _SQLITE_CORRUPT or "malformed" in text:
        return StoreError(f"{where} is damaged ({text}): symbiosis will not read or write it. "
                          + _DAMAGED_ADVICE.format(where=where))
    if code == _SQLITE_FULL or "disk is full" in text:
        return StoreError(f"cannot write to {where}: the disk (or the file-size limit) is full ({text}); the "
                          "command's changes were rolled back. Free some space and run it again")
    if code == _SQLITE_IOERR or "disk I/O error" in text:
        return StoreError(f"cannot read or write {where}: {text} (a full disk or file-size limit, a failing disk or "
                          "network drive); "
                          "the command's changes were rolled back. Check the disk, then run it again")
    if code == _SQLITE_READONLY or "readonly" in text:
        return StoreError(f"cannot write to {where}: {text}; check the file's and its folder's permissions")
    if code == _SQLITE_CANTOPEN or "unable to open" in text:
        return StoreError(f"cannot open {where}: {text}; check that its folder exists and can be written to")
    return None


def _raise_as_store_error(exc: sqlite3.DatabaseError, connection: sqlite3.Connection) -> None:
    translated = store_error(exc, path=getattr(connection, "store_path", None),
                             waited_s=getattr(connection, "busy_timeout_s", None))
    if translated is not None:
        raise translated from exc


class _StoreCursor(sqlite3.Cursor):
    """A cursor whose file-level SQLite errors (locked, damaged, full) are StoreErrors naming the file."""

    def execute(self, sql, parameters=(), /):
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            _raise_as_store_error(exc, self.connection)
            raise

    def executemany(self, sql, seq_of_parameters, /):
        try:
            return super().executemany(sql, seq_of_parameters)
        except sqlite3.DatabaseError as exc:
            _raise_as_store_error(exc, self.connection)
            raise

    def executescript(self, sql_script, /):
        try:
            return super().executescript(sql_script)
        except sqlite3.DatabaseError as exc:
            _raise_as_store_error(exc, self.connection)
            raise

    def fetchone(self):
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            _raise_as_store_error(exc, self.connection)
            raise

    def fetchmany(self, size=None):
        try:
            return super().fetchmany(self.arraysize if size is None else size)
        except sqlite3.DatabaseError as exc:
            _raise_as_store_error(exc, self.connection)
            raise

    def fetchall(self):
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            _raise_as_store_error(exc, self.connection)
            raise

    def __next__(self):
        try:
            return super().__next__()
        except sqlite3.DatabaseError as exc:
            _raise_as_store_error(exc, self.connection)
            raise


class _StoreConnection(sqlite3.Connection):
    """A connection whose cursors are :class:`_StoreCursor` and that knows its file and busy timeout."""

    store_path: str = ":memory:"
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S

    def cursor(self, factory=_StoreCursor):
        return super().cursor(factory)

    # Connection.execute* would make a plain cursor: go through ours
    def execute(self, sql, parameters=(), /):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script, /):
        return self.cursor().executescript(sql_script)

    def commit(self):
        try:
            super().commit()
        except sqlite3.DatabaseError as exc:
            _raise_as_store_error(exc, self)
            raise


# ---------------------------------------------------------------------------------------------- transactions

_savepoints = itertools.count(1)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block in one write transaction: everything is committed, or nothing is.

    ``BEGIN IMMEDIATE`` takes the write lock at the start, so a concurrent writer waits (busy timeout)
    here rather than failing half-way; if the wait runs out, a StoreError says so. Inside another
    transaction the block is a savepoint of it (undone alone if it fails). When SQLite has already rolled
    the transaction back itself (a full disk, an I/O error), the error that made it do so is raised, never
    the failing ``ROLLBACK``'s "no transaction is active".
    """
    conn = db.conn
    if conn.in_transaction:
        name = f"symbiosis_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                _quietly(conn, f"ROLLBACK TO {name}", f"RELEASE {name}")
            raise
        else:
            conn.execute(f"RELEASE {name}")
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.DatabaseError as exc:  # a plain connection (not from open_store) gets the same message
        _raise_as_store_error(exc, conn)
        raise
    try:
        yield db
    except BaseException:
        if conn.in_transaction:  # SQLite rolls back by itself after some errors
            _quietly(conn, "ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                _quietly(conn, "ROLLBACK")
            raise


def _quietly(conn: sqlite3.Connection, *statements: str) -> None:
    # Undoing after a failure must not hide the failure: a rollback that fails is only logged.
    for statement in statements:
        try:
            conn.execute(statement)
        except (sqlite3.Error, StoreError) as exc:
            log.warning("%s failed after an error (%s); the error that caused it follows", statement, exc)
            return


# -------------------------------------------------------------------------------------------- schema changes

def migrate(db: sqlite_utils.Database, target: int = SCHEMA_VERSION) -> int:
    """Bring the store's schema forward to ``target`` in one transaction; return the version it had.

    The version is read once the write lock is held, so two processes migrating one file do it once;
    a crash leaves the file at the old version, never between.

    Raises
    ------
    SchemaVersionError
        If the file's version is newer than this release knows.
    """
    with transaction(db):
        found = schema_version(db)
        _check_not_newer(db, found)
        _apply_migrations(db, found, target)
    return found


def _check_not_newer(db: sqlite_utils.Database, found: int) -> None:
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{db_path_of(db)} has schema version {found}, newer than this release of symbiosis "
            f"knows ({SCHEMA_VERSION}); upgrade symbiosis to open it"
        )


def _apply_migrations(db: sqlite_utils.Database, found: int, target: int) -> None:
    for version in range(found, target):
        log.info("migrating %s from schema %d to %d", db_path_of(db), version, version + 1)
        for statement in _split_sql(_MIGRATIONS[version]):
            db.conn.execute(statement)
        db.conn.execute(f"PRAGMA user_version = {version + 1}")


def _split_sql(script: str) -> list[str]:
    # executescript() would commit on its own; plain execute() keeps each step inside our transaction.
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def db_path_of(db: sqlite_utils.Database) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] or ":memory:"


# ------------------------------------------------------------------------------------- what a store file is

def _tables(db: sqlite_utils.Database) -> set[str]:
    return {row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}


def _classify(db: sqlite_utils.Database) -> tuple[str, int, set[str]]:
    """("store" | "empty" | "foreign", user_version, tables), reading the file only."""
    version = schema_version(db)
    application = db.execute("PRAGMA application_id").fetchone()[0]
    tables = _tables(db)
    if application == APPLICATION_ID:
        return "store", version, tables
    if application != 0:
        return "foreign", version, tables
    if not tables and version == 0:
        return "empty", version, tables
    if version > SCHEMA_VERSION and not tables:  # a newer release's file, or one we cannot tell
        return "store", version, tables
    if version >= 1 and set(DATA_TABLES) <= tables:  # written before the application id was set
        return "store", version, tables
    return "foreign", version, tables


def _foreign(path: str, version: int, tables: set[str]) -> StoreError:
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    what = f"tables {shown}" if tables else f"no tables, user_version {version}"
    return StoreError(f"{path} is a SQLite database of another application ({what}), not a symbiosis store; "
                      "symbiosis leaves it alone. Pass the path of a symbiosis store, or a new file, with --db")


def _looks_like_input(path: Path) -> bool:
    return path.suffix.lower() in _INPUT_SUFFIXES


def _check_file(path: Path, create: bool) -> None:
    """Refuse, before SQLite touches it, a path that cannot be (or become) a store."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a SQLite file")
    if path.exists() and not path.is_file():
        raise StoreError(f"{path} is not a regular file (a device, pipe or socket), so not a store; pass a file "
                         "with --db")
    if not path.exists():
        if not create:
            raise StoreError(f"no store at {path}: run 'symbiosis init --db {path}' or pass --db")
        if _looks_like_input(path):
            raise StoreError(f"{path}: a store's name must not end in {path.suffix} (the importer reads such "
                             "files); name it e.g. symbiosis.db")
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not header:
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return  # a WAL store never checkpointed: SQLite reads it
        if _looks_like_input(path):
            raise StoreError(f"{path} is an empty {path.suffix} file, not a store: symbiosis will not make it one "
                             "(did you mean another --db?)")
        if not create:
            raise StoreError(f"{path} is an empty file, not a symbiosis store: run 'symbiosis init --db {path}' "
                             "to make it one")
        return
    if header != _SQLITE_MAGIC:
        raise StoreError(f"{path} is not a usable SQLite store: it is not a SQLite file (no SQLite header); "
                         "symbiosis leaves it alone. Pass a store, or a new file, with --db")


def _catalogue_missing(db: sqlite_utils.Database) -> bool:
    return db.execute("SELECT 1 FROM resources LIMIT 1").fetchone() is None


def open_store(path: str | os.PathLike | None = None, *, create: bool = True,
               busy_timeout_s: float | None = None, check: bool | None = None) -> sqlite_utils.Database:
    """Open (and if needed create, migrate or repair) a symbiosis store.

    Parameters
    ----------
    path : path-like, optional
        The SQLite file; default :func:`default_db_path`. ``":memory:"`` gives a throw-away store.
    create : bool
        Make a store of a missing file, a 0-byte file or a SQLite file with no tables; if False, each of
        those is an error. Never anything else (see the module's notes).
    busy_timeout_s : float, optional
        How long a writer waits for another writer's lock before giving up; default
        :func:`resolve_busy_timeout` (``$SYMBIOSIS_BUSY_TIMEOUT_S``, else 600 s).
    check : bool, optional
        Run ``PRAGMA quick_check`` before use; default: for files up to :data:`QUICK_CHECK_MAX_MB`.

    Returns
    -------
    sqlite_utils.Database
        With foreign keys on, WAL journal, the schema at :data:`SCHEMA_VERSION` and the shipped resource
        catalogue (seeded with the schema, or again if a store has lost it).

    Raises
    ------
    StoreError
        If the file is missing (and ``create`` is False), is not a symbiosis store (another application's
        database, a text file, an empty file when not creating), is damaged, or stays locked by another
        writer for longer than the busy timeout.
    SchemaVersionError
        If the file comes from a newer release.

    Examples
    --------
    >>> db = open_store(":memory:")
    >>> db["resources"].count > 0
    True
    """
    path = default_db_path() if path is None else path
    timeout_s = resolve_busy_timeout(busy_timeout_s)
    in_memory = str(path) == ":memory:"
    if not in_memory:
        path = Path(path)
        _check_file(path, create)
    shown = str(path)
    try:
        conn = sqlite3.connect(shown, isolation_level=None, timeout=timeout_s, factory=_StoreConnection)
    except sqlite3.DatabaseError as exc:
        raise (store_error(exc, path=shown) or StoreError(f"cannot open {shown}: {exc}")) from None
    conn.store_path, conn.busy_timeout_s = shown, timeout_s
    db = sqlite_utils.Database(conn)
    try:
        _prepare(db, shown, in_memory, create, check)
    except BaseException:
        conn.close()
        raise
    return db


def _prepare(db: sqlite_utils.Database, shown: str, in_memory: bool, create: bool, check: bool | None) -> None:
    try:
        db.execute("PRAGMA foreign_keys = ON")
        # Look before writing anything: journal_mode=WAL writes the file's header.
        kind, version, tables = _classify(db)
        if kind == "foreign":
            raise _foreign(shown, version, tables)
        if kind == "empty" and not create:
            raise StoreError(f"{shown} is an empty SQLite database, not a symbiosis store (an 'init' that was "
                             f"interrupted?): run 'symbiosis init --db {shown}' to make it one")
        _check_not_newer(db, version)
        if not in_memory:
            if check if check is not None else Path(shown).stat().st_size <= QUICK_CHECK_MAX_MB * 2**20:
                _quick_check(db, shown)
            _switch_to_wal(db)
            db.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
        if kind == "empty" or version < SCHEMA_VERSION or _catalogue_missing(db):
            _bring_up_to_date(db, shown)
    except StoreError:
        raise
    except sqlite3.DatabaseError as exc:
        raise (store_error(exc, path=shown) or StoreError(f"{shown} is not a usable SQLite store: {exc}")) from None


def _switch_to_wal(db: sqlite_utils.Database) -> None:
    """``PRAGMA journal_mode = WAL``, waiting for other processes as a write would.

    The switch needs the file to itself; when another process opening the file at the same moment holds a
    read lock, SQLite answers "database is locked" at once, without the busy timeout (waiting could
    deadlock), so the wait is done here.
    """
    conn = db.conn
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    timeout_s = getattr(conn, "busy_timeout_s", DEFAULT_BUSY_TIMEOUT_S)
    deadline = time.monotonic() + timeout_s
    pause_s = 0.005
    while True:
        try:
            sqlite3.Connection.execute(conn, "PRAGMA journal_mode = WAL").fetchone()  # untranslated errors
            return
        except sqlite3.OperationalError as exc:
            busy = ((getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF) in (_SQLITE_BUSY, _SQLITE_LOCKED)
            if not busy or time.monotonic() >= deadline:
                _raise_as_store_error(exc, conn)
                raise
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.1)


def _quick_check(db: sqlite_utils.Database, shown: str) -> None:
    problems = [row[0] for row in db.execute("PRAGMA quick_check(5)").fetchall()]
    if problems != ["ok"]:
        raise StoreError(f"{shown} is damaged ({'; '.join(problems)[:300]}): symbiosis will not read or write it. "
                         + _DAMAGED_ADVICE.format(where=shown))


def _bring_up_to_date(db: sqlite_utils.Database, shown: str) -> None:
    """Create, migrate or re-seed the store in one transaction, deciding again once the lock is held
    (another process may have done it meanwhile)."""
    with transaction(db):
        kind, version, tables = _classify(db)
        if kind == "foreign":  # someone else wrote tables into the empty file meanwhile
            raise _foreign(shown, version, tables)
        _check_not_newer(db, version)
        if version < SCHEMA_VERSION:
            _apply_migrations(db, version, SCHEMA_VERSION)
        db.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        if _catalogue_missing(db):
            if version:
                log.warning("%s has no resource catalogue; seeding the shipped one again", shown)
            _seed_catalogue(db)


def _seed_catalogue(db: sqlite_utils.Database) -> None:
    # Imported lazily: ingest needs the store module, and the catalogue is optional data.
    from .datasets import catalogue_path
    from .ingest import import_files

    catalogue = catalogue_path()
    if catalogue is None:
        log.warning("resource catalogue not found; the store starts without one")
        return
    import_files(db, [catalogue], table="resources")  # a savepoint of the caller's transaction


def catalogue_import_ids(db: sqlite_utils.Database) -> set[int]:
    """Ids of the imports that seeded the shipped resource catalogue (when the store was created, or
    repaired): imports of ``catalogue/resources.csv`` into resources that inserted rows. Undoing one would
    take away the catalogue every other import resolves resource names against."""
    ids = set()
    for import_id, file in db.execute(
            "SELECT id, file FROM imports WHERE table_name = 'resources' AND inserted > 0"):
        if Path(file).parts[-2:] == ("catalogue", "resources.csv"):
            ids.add(import_id)
    return ids


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Row count of every data table, in :data:`DATA_TABLES` order."""
    return {name: db[name].count for name in DATA_TABLES}


# -- small queries several modules ask: one definition each


def park_exists(db: sqlite_utils.Database, park: str) -> bool:
    """Whether the store holds a park of this id."""
    return db.execute("SELECT 1 FROM parks WHERE id = ?", (park,)).fetchone() is not None


def park_ids(db: sqlite_utils.Database) -> list[str]:
    """Every park's id, in id order."""
    return [row[0] for row in db.execute("SELECT id FROM parks ORDER BY id")]


def park_countries(db: sqlite_utils.Database) -> dict[str, str | None]:
    """park id -> country, for every park."""
    return dict(db.execute("SELECT id, country FROM parks").fetchall())


def resource_names(db: sqlite_utils.Database) -> dict[str, str]:
    """resource code -> name, for the whole catalogue."""
    return dict(db.execute("SELECT code, name FROM resources").fetchall())


def co2_factors(db: sqlite_utils.Database) -> dict[str, float]:
    """resource code -> avoided-CO2 factor, for the resources that have one."""
    return dict(db.execute("SELECT code, co2_factor FROM resources WHERE co2_factor IS NOT NULL").fetchall())
