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

import logging
from typing import Any

from .errors import (
    InputError,
    SchemaVersionError,
    StoreError,
    SymbiosisError,
    UnitError,
    UnknownIdError,
    ValidationError,
)

__version__ = "0.1.0"

# The library logs through its own loggers ("symbiosis.*") and shows nothing unless the application asks:
# without a handler, Python's last-resort handler would print every warning to stderr (in a notebook,
# under every cell). The command line configures what a user sees (-v, -vv).
logging.getLogger(__name__).addHandler(logging.NullHandler())

#: what ``symbiosis.<name>`` loads on first use: the heavy libraries (pandas, networkx, pint) are imported
#: only when an analysis needs them, so ``import symbiosis`` and ``symbiosis --version`` stay fast
_LAZY = {"open_store": ".store", "import_files": ".ingest", "load_graph": ".graph"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
