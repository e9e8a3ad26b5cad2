"""GEXF 1.3 for Gephi, written to the published schema.

networkx writes GEXF 1.2draft, and its 1.3 output names the XML Schema instance namespace wrongly
(``http://w3.org/...``) and writes an empty ``name`` on the graph, so neither validates against GEXF 1.3
(gexf.net/1.3, schema in github.com/gephi/gexf ``specs/1.3``, CC BY 4.0). This module writes the file line by
line (national stores have a million flows) to the schema's rules:

- ``<gexf version="1.3">`` holds ``meta`` then one ``graph``; the graph holds ``attributes`` (one block per
  class, node then edge), then ``nodes``, then ``edges``.
- Every attribute is declared once with a type from the schema's list (``string``, ``long``, ``double``,
  ``boolean`` here) and each ``attvalue`` refers to a declared id. A value that is unknown has no ``attvalue``
  (GEXF has no null; an absent value is the schema's way to say unknown).
- A firm's place is a ``position`` element (x, y in km, see :func:`gexf_text`). The 1.3 schema declares the
  visual elements (``color``, ``position``, ``size``, ``shape``, ``thickness``) in the GEXF namespace itself,
  not in a ``viz`` namespace as 1.2draft did; Gephi's importer matches them by local name, so Gephi reads
  either. networkx's reader looks only for ``viz:position``: it reads every attribute of this file, and a
  firm's coordinates as its ``lat``/``lon`` attributes.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any, TextIO
from xml.sax.saxutils import escape, quoteattr

import networkx as nx

__all__ = ["GEXF_NAMESPACE", "gexf_lines", "write_gexf", "xml_safe"]

GEXF_NAMESPACE = "http://gexf.net/1.3"
_XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"

#: XML 1.0 cannot hold most control characters: replaced so that Gephi can read the file
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(value: Any) -> Any:
    """Text with the characters XML 1.0 cannot hold replaced by U+FFFD (so Gephi can read the file);
    other values unchanged."""
    return _XML_INVALID.sub("\ufffd", value) if isinstance(value, str) else value


def _text(value: object) -> str:
    return xml_safe(str(value))


def _type_of(values: Iterable[Any]) -> str:
    """The one GEXF type that holds every known value of an attribute (ints and floats together: double)."""
    kinds = {type(value) for value in values}
    if kinds <= {bool}:
        return "boolean"
    if kinds <= {int}:
        return "long"
    if kinds <= {int, float}:
        return "double"
    return "string"


def _formatted(value: Any, gexf_type: str) -> str:
    if gexf_type == "boolean":
        return "true" if value else "false"
    if gexf_type == "double":
        return repr(float(value))
    return _text(value)


def _declarations(records: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Attribute name -> GEXF type, in first-seen order, over the known (not None, not NaN) values."""
    seen: dict[str, list[Any]] = {}
    for record in records:
        for name, value in record.items():
            if _known(value):
                seen.setdefault(name, []).append(value)
    return {name: _type_of(values) for name, values in seen.items()}


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _attvalues(record: dict[str, Any], declared: dict[str, str], ids: dict[str, str]) -> str:
    parts = [f"<attvalue for={quoteattr(ids[name])} value={quoteattr(_formatted(value, declared[name]))}/>"
             for name, value in record.items() if name in declared and _known(value)]
    return f"<attvalues>{''.join(parts)}</attvalues>" if parts else ""


def _attribute_block(element_class: str, declared: dict[str, str], ids: dict[str, str]) -> Iterator[str]:
    yield f'    <attributes class="{element_class}" mode="static">'
    for name, gexf_type in declared.items():
        yield f'      <attribute id={quoteattr(ids[name])} title={quoteattr(_text(name))} type="{gexf_type}"/>'
    yield "    </attributes>"


def gexf_lines(
    G: nx.MultiDiGraph,
    *,
    node_attributes: dict[Any, dict[str, Any]],
    edge_attributes: dict[Any, dict[str, Any]],
    node_labels: dict[Any, str],
    edge_labels: dict[Any, str],
    positions: dict[Any, tuple[float, float]],
    description: str = "",
) -> Iterator[str]:
    """The lines of a GEXF 1.3 document for ``G``.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Its nodes and edge keys give the GEXF ids (an edge's key is its id).
    node_attributes, edge_attributes : dict
        Node id (edge key) -> the attributes to write; None and NaN values are left out.
    node_labels, edge_labels : dict
        Node id (edge key) -> label.
    positions : dict
        Node id -> (x, y) for the ``position`` element; nodes not in it get none.
    description : str
        Text of the ``meta/description`` element.

    Yields
    ------
    str
        One line (without its newline).
    """
    from . import __version__

    node_declared = _declarations(node_attributes.values())
    edge_declared = _declarations(edge_attributes.values())
    node_ids = {name: f"n{index}" for index, name in enumerate(node_declared)}
    edge_ids = {name: f"e{index}" for index, name in enumerate(edge_declared)}
    yield '<?xml version="1.0" encoding="UTF-8"?>'
    yield (f'<gexf xmlns="{GEXF_NAMESPACE}" xmlns:xsi="{_XSI_NAMESPACE}" '
           f'xsi:schemaLocation="{GEXF_NAMESPACE} {GEXF_NAMESPACE}/gexf.xsd" version="1.3">')
    yield f'  <meta lastmodifieddate="{_dt.date.today().isoformat()}">'
    yield f"    <creator>symbiosis {escape(__version__)}</creator>"
    if description:
        yield f"    <description>{escape(_text(description))}</description>"
    yield "  </meta>"
    yield '  <graph defaultedgetype="directed" mode="static" idtype="string">'
    yield from _attribute_block("node", node_declared, node_ids)
    yield from _attribute_block("edge", edge_declared, edge_ids)
    yield f'    <nodes count="{G.number_of_nodes()}">'
    for node in G.nodes:
        inner = _attvalues(node_attributes.get(node, {}), node_declared, node_ids)
        if node in positions:
            x_km, y_km = positions[node]
            inner += f'<position x="{x_km!r}" y="{y_km!r}" z="0.0"/>'
        opening = f"      <node id={quoteattr(_text(node))} label={quoteattr(_text(node_labels.get(node, node)))}"
        yield f"{opening}>{inner}</node>" if inner else f"{opening}/>"
    yield "    </nodes>"
    yield f'    <edges count="{G.number_of_edges()}">'
    for source, target, key in G.edges(keys=True):
        inner = _attvalues(edge_attributes.get(key, {}), edge_declared, edge_ids)
        opening = (f"      <edge id={quoteattr(_text(key))} source={quoteattr(_text(source))} "
                   f"target={quoteattr(_text(target))} label={quoteattr(_text(edge_labels.get(key, '')))}")
        yield f"{opening}>{inner}</edge>" if inner else f"{opening}/>"
    yield "    </edges>"
    yield "  </graph>"
    yield "</gexf>"


def write_gexf(lines: Iterable[str], handle: TextIO) -> None:
    """Write :func:`gexf_lines` to an open text file."""
    for line in lines:
        handle.write(line)
        handle.write("\n")
