"""The SQLite store: schema, migrations, connection settings and transactions.

The store is one SQLite file opened through :mod:`sqlite_utils`. Foreign keys are enforced, the journal
is in WAL mode (readers never block the writer) and ``PRAGMA user_version`` records the schema version.
Opening a file written by an older release migrates it forward, step by step, inside one transaction;
opening a file written by a newer release is refused rather than guessed at.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from .errors import SchemaVersionError, StoreError

__all__ = [
    "DEFAULT_DB",
    "SCHEMA_VERSION",
    "DATA_TABLES",
    "default_db_path",
    "open_store",
    "migrate",
    "schema_version",
    "transaction",
    "table_counts",
]

log = logging.getLogger(__name__)

DEFAULT_DB = "symbiosis.db"
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
]
SCHEMA_VERSION = len(_MIGRATIONS)


def default_db_path() -> Path:
    """The store used when no ``--db`` is given: ``$SYMBIOSIS_DB``, else ``./symbiosis.db``."""
    return Path(os.environ.get("SYMBIOSIS_DB") or DEFAULT_DB)


def schema_version(db: sqlite_utils.Database) -> int:
    """The schema version recorded in the file (``PRAGMA user_version``)."""
    return db.execute("PRAGMA user_version").fetchone()[0]


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block in one write transaction: everything is committed, or nothing is.

    ``BEGIN IMMEDIATE`` takes the write lock at the start, so a concurrent writer waits (busy timeout)
    here rather than failing half-way.
    """
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def migrate(db: sqlite_utils.Database, target: int = SCHEMA_VERSION) -> int:
    """Bring the store's schema forward to ``target``; return the version it had.

    Each step runs in one transaction together with its ``user_version`` update, so a crash leaves the
    file at the old or the new version, never between.

    Raises
    ------
    SchemaVersionError
        If the file's version is newer than this release knows.
    """
    found = schema_version(db)
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{db_path_of(db)} has schema version {found}, newer than this release of symbiosis "
            f"knows ({SCHEMA_VERSION}); upgrade symbiosis to open it"
        )
    for version in range(found, target):
        log.info("migrating %s from schema %d to %d", db_path_of(db), version, version + 1)
        with transaction(db):
            for statement in _split_sql(_MIGRATIONS[version]):
                db.conn.execute(statement)
            db.conn.execute(f"PRAGMA user_version = {version + 1}")
    return found


def _split_sql(script: str) -> list[str]:
    # executescript() would commit on its own; plain execute() keeps each step inside our transaction.
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def db_path_of(db: sqlite_utils.Database) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] or ":memory:"


def open_store(path: str | os.PathLike | None = None, *, create: bool = True,
               busy_timeout_ms: int = 30_000) -> sqlite_utils.Database:
    """Open (and if needed create or migrate) a symbiosis store.

    Parameters
    ----------
    path : path-like, optional
        The SQLite file; default :func:`default_db_path`. ``":memory:"`` gives a throw-away store.
    create : bool
        Create the file if it does not exist; if False a missing file is an error.
    busy_timeout_ms : int
        How long a writer waits for another writer's lock before giving up.

    Returns
    -------
    sqlite_utils.Database
        With foreign keys on, WAL journal, and the schema at :data:`SCHEMA_VERSION`. A new store also
        holds the shipped resource catalogue.

    Raises
    ------
    StoreError
        If the file is missing (and ``create`` is False) or is not a SQLite database.
    SchemaVersionError
        If the file comes from a newer release.

    Examples
    --------
    >>> db = open_store(":memory:")
    >>> db["resources"].count > 0
    True
    """
    path = default_db_path() if path is None else path
    in_memory = str(path) == ":memory:"
    if not in_memory:
        path = Path(path)
        if not path.exists() and not create:
            raise StoreError(f"no store at {path}: run 'symbiosis init' or pass --db")
        if path.exists() and path.is_dir():
            raise StoreError(f"{path} is a directory, not a SQLite file")
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=busy_timeout_ms / 1000)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA foreign_keys = ON")
        if not in_memory:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        was = migrate(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable SQLite store: {exc}") from None
    if was == 0:
        _seed_catalogue(db)
    return db


def _seed_catalogue(db: sqlite_utils.Database) -> None:
    # Imported lazily: ingest needs the store module, and the catalogue is optional data.
    from .datasets import catalogue_path
    from .ingest import import_files

    catalogue = catalogue_path()
    if catalogue is None:
        log.warning("resource catalogue not found; the store starts without one")
        return
    import_files(db, [catalogue], table="resources")


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Row count of every data table, in :data:`DATA_TABLES` order."""
    return {name: db[name].count for name in DATA_TABLES}
