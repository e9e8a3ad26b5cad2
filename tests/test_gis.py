"""GIS export: firms as points and flows as lines, in GeoJSON and GeoPackage (issue 18, item 1)."""
import json
import math
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.gis import FIRM_FIELDS, FLOW_FIELDS, graph_to_geojson
from symbiosis.graph import load_graph
from symbiosis.store import open_store


def _placed(G):
    located = {node for node, data in G.nodes(data=True) if data.get("lat") is not None and data.get("lon") is not None}
    flows = [(u, v, key, data) for u, v, key, data in G.edges(keys=True, data=True) if u in located and v in located]
    return located, flows


def _export(demo_db, path, *extra):
    result = CliRunner().invoke(cli, ["export", "--db", str(demo_db), "--park", "zcp", "-o", str(path), *extra])
    assert result.exit_code == 0, result.output
    return path


def test_geojson_holds_every_placed_firm_and_flow_typed_and_unknown_as_null(demo_db, tmp_path):
    G = load_graph(open_store(demo_db), "zcp")
    located, flows = _placed(G)
    collection = json.loads(_export(demo_db, tmp_path / "zcp.geojson").read_text(encoding="utf-8"))
    points = [feature for feature in collection["features"] if feature["geometry"]["type"] == "Point"]
    lines = [feature for feature in collection["features"] if feature["geometry"]["type"] == "LineString"]
    assert {feature["properties"]["id"] for feature in points} == located
    assert {feature["properties"]["flow_id"] for feature in lines} == {key for _, _, key, _ in flows}
    left_out = collection["symbiosis"]["left_out"]
    assert left_out == {"nodes_without_coordinates": G.number_of_nodes() - len(located),
                        "flows_with_an_end_without_coordinates": G.number_of_edges() - len(flows)}
    first = next(feature for feature in points if feature["properties"]["id"] == sorted(located)[0])
    node = G.nodes[sorted(located)[0]]
    assert first["geometry"]["coordinates"] == [node["lon"], node["lat"]]  # longitude first (RFC 7946)
    unknown = {key for _, _, key, data in flows if data["quantity"] is None}
    assert unknown and {feature["properties"]["flow_id"] for feature in lines
                        if feature["properties"]["quantity"] is None} == unknown
    for feature in points + lines:
        fields = FIRM_FIELDS if feature["geometry"]["type"] == "Point" else FLOW_FIELDS
        for name, kind in fields.items():
            value = feature["properties"][name]
            expected = {"text": str, "real": float, "integer": int, "boolean": bool}[kind]
            assert value is None or type(value) is expected, (name, value)


def test_geopackage_reads_back_with_gdal_as_two_typed_layers(demo_db, tmp_path):
    pyogrio = pytest.importorskip("pyogrio")
    path = _export(demo_db, tmp_path / "zcp.gpkg")
    G = load_graph(open_store(demo_db), "zcp")
    located, flows = _placed(G)
    assert set(pyogrio.list_layers(str(path))[:, 0]) == {"firms", "flows"}
    for layer, count, geometry in (("firms", len(located), "Point"), ("flows", len(flows), "LineString")):
        info = pyogrio.read_info(str(path), layer=layer)
        assert (info["features"], info["crs"], info["geometry_type"]) == (count, "EPSG:4326", geometry)
    flows_info = pyogrio.read_info(str(path), layer="flows")
    types = dict(zip(flows_info["fields"], flows_info["dtypes"]))
    assert types["quantity"] == "float64" and types["year"] == "int64" and types["flow_id"] == "object"
    meta, _, _, columns = pyogrio.raw.read(str(path), layer="flows")
    quantities = columns[list(meta["fields"]).index("quantity")]
    assert sum(math.isnan(value) for value in quantities) == sum(data["quantity"] is None for *_, data in flows)


def test_ogrinfo_reads_both_files(demo_db, tmp_path):
    if shutil.which("ogrinfo") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install gdal-bin (ogrinfo): .ci/run does")
        pytest.skip("ogrinfo (Debian gdal-bin) is not installed")
    for name in ("zcp.geojson", "zcp.gpkg"):
        path = _export(demo_db, tmp_path / name)
        run = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "Feature Count" in run.stdout and ("4326" in run.stdout or "WGS 84" in run.stdout)


def test_a_geopackage_cannot_go_to_standard_output(demo_db):
    result = CliRunner().invoke(cli, ["export", "--db", str(demo_db), "--format", "gpkg", "-o", "-"])
    assert result.exit_code != 0 and "binary" in result.output


def test_graph_to_geojson_leaves_out_boundary_flows_and_counts_them():
    import networkx as nx

    G = nx.MultiDiGraph()
    G.add_node("a", name="A", lat=1.0, lon=2.0)
    G.add_node("boundary:in:import", boundary=True)
    G.add_edge("boundary:in:import", "a", key="in", resource="coal", kind="material", quantity=5.0)
    collection = graph_to_geojson(G)
    assert len(collection["features"]) == 1
    assert collection["symbiosis"]["left_out"] == {"nodes_without_coordinates": 1,
                                                   "flows_with_an_end_without_coordinates": 1}


def test_geopandas_reads_both_files_with_every_firm_and_flow_typed(demo_db, tmp_path):
    geopandas = pytest.importorskip("geopandas")
    G = load_graph(open_store(demo_db), "zcp")
    located, flows = _placed(G)
    for name in ("zcp.geojson", "zcp.gpkg"):
        path = _export(demo_db, tmp_path / name)
        if name.endswith(".gpkg"):
            firms, lines = (geopandas.read_file(path, layer=layer) for layer in ("firms", "flows"))
        else:
            everything = geopandas.read_file(path)
            firms, lines = (everything[everything["layer"] == layer] for layer in ("firms", "flows"))
        assert set(firms["id"]) == located and set(lines["flow_id"]) == {key for _, _, key, _ in flows}
        assert firms.crs.to_epsg() == 4326 and set(lines.geom_type) == {"LineString"}
        assert str(lines["quantity"].dtype) == "float64"
        assert int(lines["quantity"].isna().sum()) == sum(data["quantity"] is None for *_, data in flows)
