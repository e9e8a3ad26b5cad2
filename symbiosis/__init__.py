"""symbiosis: an industrial symbiosis network analyser.

Load enterprises, material, energy and water flows, offers and demands, emissions and energy use of
industrial parks into one SQLite store, and analyse the network they form.

Examples
--------
>>> import symbiosis
>>> db = symbiosis.open_store(":memory:")
>>> G = symbiosis.load_graph(db)
>>> G.number_of_nodes()
0
"""
from __future__ import annotations

from .errors import (
    InputError,
    SchemaVersionError,
    StoreError,
    SymbiosisError,
    UnitError,
    UnknownIdError,
    ValidationError,
)
from .graph import load_graph
from .ingest import import_files
from .store import open_store

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "open_store",
    "import_files",
    "load_graph",
    "SymbiosisError",
    "StoreError",
    "SchemaVersionError",
    "InputError",
    "UnitError",
    "UnknownIdError",
    "ValidationError",
]
