"""Every limit and setting a user may meet, in one place: its value, its unit, what it guards and how to change it.

Three are read from the environment each time they are used (never frozen at import), so a bad value is
one clear error where it matters:

======================== ========================= ==========================================
environment variable     default                   what it sets
======================== ========================= ==========================================
``SYMBIOSIS_DB``         ``./symbiosis.db``        the store used without ``--db``
``SYMBIOSIS_MAX_FILE_MB`` 150 MB                   the largest file an import reads
``SYMBIOSIS_BUSY_TIMEOUT_S`` 600 s                 how long a writer waits for another's lock
======================== ========================= ==========================================

The others are fixed limits the modules import from here (their names stay importable from the modules
that use them); :func:`settings_table` lists them all, with their current values.

Examples
--------
>>> table = settings_table()
>>> table.set_index("name").at["MAX_ROWS", "value"]
5000000
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Setting", "SETTINGS", "settings_table", "environment_value", "DB_ENV", "DEFAULT_DB", "MAX_FILE_MB_ENV",
           "DEFAULT_MAX_FILE_MB", "BUSY_TIMEOUT_ENV", "DEFAULT_BUSY_TIMEOUT_S", "MAX_BUSY_TIMEOUT_S", "MAX_COLUMNS",
           "MAX_UNPACKED_MB", "MAX_PACKING_RATIO", "MAX_ROWS", "MAX_MAGNITUDE", "MAX_KEPT_PROBLEMS",
           "DEFAULT_LOOP_LIMIT", "PAGE_LOOP_LIMIT", "DEFAULT_ATTRIBUTED", "MIN_COVERAGE", "DEFAULT_IMBALANCE_THRESHOLD",
           "DENSE_LIMIT", "MAX_OFFERS_PER_DEMAND", "NETWORKX_LIMIT", "MAX_MAP_NODES", "PHYSICS_LIMIT", "EDGE_DETAIL_LIMIT"]

# -- read from the environment when used
DB_ENV = "SYMBIOSIS_DB"
DEFAULT_DB = "symbiosis.db"
MAX_FILE_MB_ENV = "SYMBIOSIS_MAX_FILE_MB"
#: a file larger than this is refused before it is read
DEFAULT_MAX_FILE_MB = 150.0
BUSY_TIMEOUT_ENV = "SYMBIOSIS_BUSY_TIMEOUT_S"
#: about nine times the longest single transaction the tool runs (the national import of 1M flows)
DEFAULT_BUSY_TIMEOUT_S = 600.0
MAX_BUSY_TIMEOUT_S = 86_400.0

# -- reading files
#: columns per file: no table of this tool has a tenth of this many fields
MAX_COLUMNS = 1000
#: an XLSX is a zip: its unpacked size and packing ratio are checked before it is opened (zip bombs)
MAX_UNPACKED_MB = 500
MAX_PACKING_RATIO = 200
#: rows per file
MAX_ROWS = 5_000_000
#: the largest magnitude a figure may have after conversion (beyond it, a typo or a unit slip)
MAX_MAGNITUDE = 1e15
#: row problems an import keeps in full before it only counts them
MAX_KEPT_PROBLEMS = 2000

# -- analyses
#: loops listed by default (cycle counts explode: always bounded)
DEFAULT_LOOP_LIMIT = 1000
#: loops searched for the report and the map (they show the strongest few; the search stops here)
PAGE_LOOP_LIMIT = 200
#: plan synergies whose marginal contribution compare works out, the most valuable first (each is one more
#: carbon balance and cycling index of the park: about 0.1 s on the national store's largest park)
DEFAULT_ATTRIBUTED = 20
#: least share of the inputs known for a verdict or a flow metric
MIN_COVERAGE = 0.5
#: firms whose inflow and outflow differ by more than this share are reported
DEFAULT_IMBALANCE_THRESHOLD = 0.05
#: FCI and the flow intensities need a dense inverse per strongly connected component: not formed above
#: this many firms in one component (the figures that need it are withheld, with the reason)
DENSE_LIMIT = 4000
#: each demand keeps at most this many nearest offers per resource route (bounds national runs)
MAX_OFFERS_PER_DEMAND = 25
#: above this many candidate pairs the CO2 allocation is a linear programme (HiGHS) instead of networkx
NETWORKX_LIMIT = 20_000

# -- maps
#: above this many nodes a map draws parks (or regions) instead of firms
MAX_MAP_NODES = 3000
#: above this many nodes the layout is precomputed and physics is off
PHYSICS_LIMIT = 1500
#: above this many flows, edges are drawn straight, without "?" labels (drawing cost)
EDGE_DETAIL_LIMIT = 3000


@dataclass(frozen=True)
class Setting:
    """One documented setting: its name, value, unit, environment variable (if any) and meaning."""

    name: str
    value: object
    unit: str
    environment: str | None
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DEFAULT_DB", DEFAULT_DB, "path", DB_ENV, "the store used without --db"),
    Setting("DEFAULT_MAX_FILE_MB", DEFAULT_MAX_FILE_MB, "MB", MAX_FILE_MB_ENV, "the largest file an import reads"),
    Setting("DEFAULT_BUSY_TIMEOUT_S", DEFAULT_BUSY_TIMEOUT_S, "s", BUSY_TIMEOUT_ENV,
            "how long a writer waits for another writer's lock (0 to 86,400)"),
    Setting("MAX_COLUMNS", MAX_COLUMNS, "columns", None, "columns per file"),
    Setting("MAX_UNPACKED_MB", MAX_UNPACKED_MB, "MB", None, "unpacked size of an XLSX"),
    Setting("MAX_PACKING_RATIO", MAX_PACKING_RATIO, "x", None, "packing ratio of an XLSX"),
    Setting("MAX_ROWS", MAX_ROWS, "rows", None, "rows per file"),
    Setting("MAX_MAGNITUDE", MAX_MAGNITUDE, "canonical unit", None, "largest figure after conversion"),
    Setting("MAX_KEPT_PROBLEMS", MAX_KEPT_PROBLEMS, "problems", None, "row problems an import lists in full"),
    Setting("DEFAULT_LOOP_LIMIT", DEFAULT_LOOP_LIMIT, "loops", None, "loops listed (loops --limit)"),
    Setting("PAGE_LOOP_LIMIT", PAGE_LOOP_LIMIT, "loops", None, "loops searched for the report and the map"),
    Setting("DEFAULT_ATTRIBUTED", DEFAULT_ATTRIBUTED, "synergies", None,
            "plan synergies given a marginal contribution (compare --attribute)"),
    Setting("MIN_COVERAGE", MIN_COVERAGE, "share", None, "least known share for a verdict (--min-coverage)"),
    Setting("DEFAULT_IMBALANCE_THRESHOLD", DEFAULT_IMBALANCE_THRESHOLD, "share", None,
            "imbalance reported by metrics (--threshold)"),
    Setting("DENSE_LIMIT", DENSE_LIMIT, "firms", None, "largest component whose dense inverse is formed (FCI)"),
    Setting("MAX_OFFERS_PER_DEMAND", MAX_OFFERS_PER_DEMAND, "offers", None, "nearest offers per demand and route"),
    Setting("NETWORKX_LIMIT", NETWORKX_LIMIT, "pairs", None, "CO2 allocation solved as an LP above it"),
    Setting("MAX_MAP_NODES", MAX_MAP_NODES, "nodes", None, "maps draw parks instead of firms above it"),
    Setting("PHYSICS_LIMIT", PHYSICS_LIMIT, "nodes", None, "maps precompute the layout above it"),
    Setting("EDGE_DETAIL_LIMIT", EDGE_DETAIL_LIMIT, "flows", None, "maps draw edges straight, without labels, above it"),
)


def environment_value(name: str) -> str | None:
    """The environment variable's text, stripped; None when unset or blank (read at call time)."""
    text = os.environ.get(name)
    return text.strip() if text is not None and text.strip() else None


def settings_table() -> pd.DataFrame:
    """Every setting with its default, the environment variable that overrides it and its current value.

    Returns
    -------
    DataFrame
        ``name, value, unit, environment, current, meaning`` (``current``: the environment's text where
        set, else the default).
    """
    import pandas as pd  # only here: the settings themselves are read by every command's options

    rows = []
    for setting in SETTINGS:
        current = environment_value(setting.environment) if setting.environment else None
        rows.append({"name": setting.name, "value": setting.value, "unit": setting.unit,
                     "environment": setting.environment, "current": current if current is not None else setting.value,
                     "meaning": setting.meaning})
    return pd.DataFrame(rows, columns=["name", "value", "unit", "environment", "current", "meaning"], dtype=object)
