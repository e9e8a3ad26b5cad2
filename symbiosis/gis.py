"""The flow network as GIS layers: firms as points, flows as lines, for QGIS, ArcGIS or any GDAL tool.

Two layers, in WGS 84 longitude/latitude (EPSG:4326, the only CRS of GeoJSON, RFC 7946):

* ``firms``: one point per firm (and per boundary-role node: a grid, a lake) that has coordinates, with its
  attributes typed (text, real, integer, boolean); a node without coordinates is left out and counted.
* ``flows``: one line per flow whose two ends both have coordinates, drawn **straight in longitude and
  latitude** (not a great circle: at park scale, a few km, the two differ by far less than a pixel), with the
  flow's attributes; ``quantity`` is null where unknown, never 0. A flow across the park boundary (an
  import, an export, an emission) has an end with no place (``boundary:in:import``) and is left out, counted.

GeoJSON is written by hand (it is JSON); GeoPackage through the ``gis`` extra (``pip install
'park-symbiosis[gis]'``: pyogrio for GDAL's GPKG driver, shapely for the geometries).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import networkx as nx

from .errors import InputError

__all__ = ["GIS_FORMATS", "FIRM_FIELDS", "FLOW_FIELDS", "graph_to_geojson", "write_geopackage"]

GIS_FORMATS = ("geojson", "gpkg")
#: the firms layer's attributes and their types (text, real, integer, boolean)
FIRM_FIELDS = {"id": "text", "name": "text", "park_id": "text", "sector_code": "text", "sector_name": "text",
               "role": "text", "boundary": "boolean", "external": "boolean", "output_value_mcny": "real",
               "employees": "integer", "balanced": "text"}
#: the flows layer's attributes and their types; quantity in the canonical ``unit`` (null when unknown)
FLOW_FIELDS = {"flow_id": "text", "source_id": "text", "target_id": "text", "resource": "text",
               "resource_name": "text", "kind": "text", "currency": "text", "quantity": "real", "unit": "text",
               "sd": "real", "quality": "text", "year": "integer", "status": "text", "distance_km": "real",
               "distance_source": "text", "cost_cny_per_yr": "real"}


def _typed(value: Any, kind: str) -> Any:
    """A value as its field's type; None (never NaN) when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "real":
        number = float(value)
        return number if math.isfinite(number) else None
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        return bool(value)
    return str(value)


def _place(data: dict) -> tuple[float, float] | None:
    lat, lon = data.get("lat"), data.get("lon")
    if lat is None or lon is None:
        return None
    return float(lon), float(lat)


def _firms(G: nx.MultiDiGraph) -> Iterator[tuple[tuple[float, float], dict]]:
    for node, data in G.nodes(data=True):
        place = _place(data)
        if place is not None:
            yield place, {name: _typed(node if name == "id" else data.get(name), kind)
                          for name, kind in FIRM_FIELDS.items()}


def _flows(G: nx.MultiDiGraph) -> Iterator[tuple[tuple[tuple[float, float], tuple[float, float]], dict]]:
    nodes = G.nodes
    for u, v, key, data in G.edges(keys=True, data=True):
        start, end = _place(nodes[u]), _place(nodes[v])
        if start is None or end is None:
            continue
        values = {"flow_id": key, "source_id": u, "target_id": v, **data}
        yield (start, end), {name: _typed(values.get(name), kind) for name, kind in FLOW_FIELDS.items()}


def _left_out(G: nx.MultiDiGraph, firms: int, flows: int) -> dict[str, int]:
    return {"nodes_without_coordinates": G.number_of_nodes() - firms,
            "flows_with_an_end_without_coordinates": G.number_of_edges() - flows}


def graph_to_geojson(G: nx.MultiDiGraph) -> dict:
    """The graph as one GeoJSON FeatureCollection: firm points, then flow lines (``layer`` says which).

    ``symbiosis.left_out`` (a foreign member) counts the nodes and flows that could not be placed.

    Examples
    --------
    >>> G = nx.MultiDiGraph()
    >>> G.add_node("a", name="A", lat=55.0, lon=11.0)
    >>> G.add_node("b", name="B", lat=55.1, lon=11.1)
    >>> _ = G.add_edge("a", "b", key="f1", resource="steam", kind="energy", quantity=None, unit="MWh/yr")
    >>> collection = graph_to_geojson(G)
    >>> [feature["geometry"]["type"] for feature in collection["features"]]
    ['Point', 'Point', 'LineString']
    >>> collection["features"][2]["properties"]["quantity"] is None
    True
    """
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": list(place)},
                 "properties": {"layer": "firms", **properties}} for place, properties in _firms(G)]
    firms = len(features)
    features += [{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [list(start), list(end)]},
                  "properties": {"layer": "flows", **properties}} for (start, end), properties in _flows(G)]
    return {"type": "FeatureCollection", "name": "symbiosis", "features": features,
            "symbiosis": {"crs": "EPSG:4326", "lines": "straight in longitude and latitude",
                          "left_out": _left_out(G, firms, len(features) - firms)}}


def geojson_text(G: nx.MultiDiGraph) -> str:
    """:func:`graph_to_geojson` as text (UTF-8, no NaN)."""
    return json.dumps(graph_to_geojson(G), ensure_ascii=False, allow_nan=False)


def write_geopackage(G: nx.MultiDiGraph, path: str) -> dict[str, int]:
    """Write the ``firms`` and ``flows`` layers into a GeoPackage at ``path`` (replaced if it exists).

    Returns the counts left out (:func:`graph_to_geojson`'s ``left_out``).

    Raises
    ------
    InputError
        The ``gis`` extra is not installed (the message says how to install it).
    """
    try:
        import numpy as np
        import pyogrio.raw  # type: ignore[import-untyped]  # pyogrio ships no type information
        import shapely  # type: ignore[import-untyped]  # nor does shapely 2 (types-shapely is separate)
    except ImportError:
        raise InputError("GeoPackage output needs the gis extra: pip install 'park-symbiosis[gis]' "
                         "(pyogrio and shapely); GeoJSON needs nothing more (--format geojson)") from None
    firms, flows = list(_firms(G)), list(_flows(G))
    layers = (("firms", "Point", FIRM_FIELDS, [shapely.Point(place) for place, _ in firms], [row for _, row in firms]),
              ("flows", "LineString", FLOW_FIELDS, [shapely.LineString(ends) for ends, _ in flows],
               [row for _, row in flows]))
    for number, (layer, geometry_type, fields, geometries, rows) in enumerate(layers):
        columns, masks = [], []
        for name, kind in fields.items():
            values = [row[name] for row in rows]
            missing = np.array([value is None for value in values], dtype=bool)
            if kind == "text":
                column = np.array(values, dtype=object)
            else:  # typed columns, a missing value masked (a null in the layer, never 0 or false)
                fill = {"real": 0.0, "integer": 0, "boolean": False}[kind]
                dtype = {"real": "float64", "integer": "int64", "boolean": "bool"}[kind]
                column = np.array([fill if value is None else value for value in values], dtype=dtype)
            columns.append(column)
            masks.append(missing)
        pyogrio.raw.write(path, geometry=shapely.to_wkb(np.array(geometries, dtype=object)), field_data=columns,
                          fields=list(fields), field_mask=masks, crs="EPSG:4326", driver="GPKG", layer=layer,
                          geometry_type=geometry_type, append=number > 0)
    return _left_out(G, len(firms), len(flows))
