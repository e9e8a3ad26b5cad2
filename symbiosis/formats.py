"""The names of the output formats and of standard output: the one place they are defined.

A module of its own, without heavy imports, because every command's options read them (``symbiosis
--help`` should not load pandas to print a list of format names); :mod:`symbiosis.export` writes them.
"""
from __future__ import annotations

__all__ = ["EXPORT_FORMATS", "LIST_FORMATS", "STDOUT", "BINARY_FORMATS"]

#: formats of the flow network (export)
EXPORT_FORMATS = ("graphml", "gexf", "json", "csv", "geojson", "gpkg")
#: formats of matchmaking lists
LIST_FORMATS = ("csv", "xlsx", "json")
#: the output path that means standard output
STDOUT = "-"
#: formats that cannot go to standard output (binary)
BINARY_FORMATS = frozenset({"xlsx", "gpkg"})
