"""The map on sparse real data: unknown quantities, outside firms with foreign sectors, roles, shared points.

Found on four real parks (Kalundborg, Ulsan, Guitang, Kwinana): most quantities unknown, firms of
other parks with sectors no firm inside has, every firm at the park's centroid. The browser tests
need /usr/bin/chromium and playwright, as in test_viz.py, and skip cleanly without them.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from symbiosis.errors import InputError
from symbiosis.ingest import import_files
from symbiosis.sectors import load_sectors, parse_sector, sector_division, sector_name
from symbiosis.store import open_store
from viz.map import KNOWN_WIDTH, UNKNOWN_WIDTH, aggregate, build_map, store_map

from .browser import open_page, wait_drawn
from .conftest import GOOD

HOSTILE = "<img src=x onerror=alert(1)>"
HREF = '<a href="javascript:alert(3)">see the site</a>'  # pyvis's own template would write this as HTML


def _data(html: str) -> dict:
    """The JSON the page draws from (nodes, edges, legend)."""
    match = re.search(r"var DATA = (.*?);\n", html)
    assert match, "the page carries its data as one JSON literal"
    return json.loads(match.group(1))


def _firm(G, node, name, sector_code=None, sector_name=None, park="p1", lat=None, lon=None, **extra):
    G.add_node(node, name=name, park_id=park, sector_code=sector_code, sector_name=sector_name, lat=lat, lon=lon,
               boundary=extra.pop("boundary", False), **extra)


#: the parks of :func:`sparse_park`: Guitang is in Guangxi, China, so its firm's "C2621" is GB/T
SPARSE_PARKS = pd.DataFrame({"park_id": ["p1", "guitang"], "name": ["Harbour Park", "Guitang"],
                             "country": ["DK", "CN"]})


def _flow(G, u, v, key, kind, quantity, unit, status="existing", **extra):
    currency = {"material": "mass", "waste": "mass"}.get(kind, kind)
    G.add_edge(u, v, key=key, kind=kind, currency=currency, resource=f"{kind}_{key}", resource_name=None,
               quantity=quantity, unit=unit, status=status, distance_km=None, **extra)


def sparse_park() -> nx.MultiDiGraph:
    """A park as published data give it: a steam hub whose flows have no quantity, a firm of another
    park with a GB/T sector no firm inside has, a utility, hostile text in names and sectors."""
    G = nx.MultiDiGraph()
    _firm(G, "hub", "Steam Hub", "D35.30", lat=55.66, lon=11.08)
    _firm(G, "refinery", "Refinery", "C19.20", "Refined petroleum products", lat=55.67, lon=11.10)
    _firm(G, "board", HOSTILE, "C23.62", HREF, lat=55.68, lon=11.11)
    _firm(G, "fertiliser", "Guitang Fertiliser Works", "C2621", park="guitang", lat=23.1, lon=109.6,
          boundary=True, external=True)  # outside the park, a GB/T code: the KeyError of the finding
    _firm(G, "grid", "Regional grid", "D35.12", lat=55.6, lon=11.0, boundary=True, role="utility")
    _flow(G, "hub", "refinery", "steam1", "energy", None, "MWh/yr")
    _flow(G, "hub", "board", "steam2", "energy", None, "MWh/yr")
    _flow(G, "refinery", "hub", "gas", "energy", 1200.0, "MWh/yr")
    _flow(G, "refinery", "board", "gypsum", "waste", 10.0, "t/yr")
    _flow(G, "board", "refinery", "pallets", "material", 1.0, "t/yr")
    _flow(G, "board", "fertiliser", "sulphur", "waste", None, "t/yr")
    _flow(G, "grid", "hub", "power", "energy", 1_000_000.0, "MWh/yr")
    _flow(G, "refinery", "board", "zero", "water", 0.0, "m3/yr")
    return G


# ------------------------------------------------------------------------ the crash of the finding

def test_outside_firm_with_a_sector_no_firm_inside_has_gets_a_colour_and_a_name():
    data = _data(build_map(sparse_park(), parks=SPARSE_PARKS))
    fertiliser = next(node for node in data["nodes"] if node["id"] == "fertiliser")
    assert fertiliser["shape"] == "dot" and fertiliser["color"]["background"].startswith("#")
    legend = [item["label"] for item in data["legend"]["sectors"]]
    # GB/T 4754-2017 大类 26: 化学原料和化学制品制造业 (the standard's title)
    assert any(label.startswith("GB/T C26 化学原料和化学制品制造业") for label in legend), legend


@pytest.mark.parametrize("layout", ["force", "geo"])
def test_store_map_of_the_small_park_no_longer_crashes(tmp_path, layout):
    # the reproduction of the finding: Valley Farm (A01.46, no park) and Inland Cement (p2) are outside p1
    db = open_store(tmp_path / "good.db")
    import_files(db, sorted(GOOD.glob("*.csv")))
    data = _data(store_map(db, park="p1", layout=layout))
    legend = " | ".join(item["label"] for item in data["legend"]["sectors"])
    assert "A01 Crop and animal production, hunting and related service activities" in legend  # Eurostat's title
    titles = {node["id"]: node["title"] for node in data["nodes"]}
    assert "firm outside this park" in titles["farm"] and "sector: Pig farming (A01.46)" in titles["farm"]


def _write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def three_countries(tmp_path):
    """A store with a park in China, one in Australia and one without a country, each firm given the
    digits of a real code of its country's scheme (2621 is GB/T 氮肥制造, 2131 ANZSIC alumina)."""
    db = open_store(tmp_path / "countries.db")
    files = [
        _write_csv(tmp_path / "parks.csv", "id,name,country,region,lat,lon\n"
                   "gt,Guitang,China,Guangxi,23.1,109.6\nkw,Kwinana,AU,Western Australia,-32.2,115.8\n"
                   "nowhere,Unplaced Park,,,,\n"),
        _write_csv(tmp_path / "enterprises.csv", "id,name,park_id,sector_code,sector_name,lat,lon\n"
                   "fert,Guitang Fertiliser,gt,2621,,23.1,109.6\ncement,Guitang Cement,gt,3011,,23.1,109.61\n"
                   "alcoa,Alcoa Kwinana,kw,2131,,-32.2,115.8\ncsbp,CSBP Kwinana,kw,1831,Fertiliser Manufacturing,"
                   "-32.21,115.8\nlime,Lime Works,kw,C23.5,,-32.2,115.81\n"
                   "mystery,Mystery Works,nowhere,2621,,,\n"),
        _write_csv(tmp_path / "flows.csv", "source_id,target_id,resource_code,quantity,unit,year,status\n"
                   "cement,fert,steam,,t/yr,2020,existing\nalcoa,csbp,steam,,t/yr,2020,existing\n"
                   "csbp,lime,steam,,t/yr,2020,existing\nmystery,alcoa,steam,,t/yr,2020,existing\n"),
    ]
    import_files(db, files)
    return db


def test_store_map_reads_codes_by_the_country_of_each_firms_park(three_countries):
    data = _data(store_map(three_countries, show=()))
    titles = {node["id"]: node["title"] for node in data["nodes"]}
    legend = [item["label"] for item in data["legend"]["sectors"]]
    # China: 2621 is GB/T 26, 化学原料和化学制品制造业
    assert "sector: GB/T C26 化学原料和化学制品制造业 (Manufacture of raw chemical materials and chemical products)" \
           " (code 2621)" in titles["fert"]
    assert any(label.startswith("GB/T C26 化学原料和化学制品制造业") for label in legend), legend
    # Australia: ANZSIC 2131 is alumina, not GB/T 21 furniture (家具制造业): shown as written, no title
    assert "sector 2131 (not read: GB/T 4754 applies only to parks in China; park country AU)" in titles["alcoa"]
    assert "家具" not in titles["alcoa"] and "furniture" not in titles["alcoa"]
    assert "sector 2131 (not read as GB/T: park in AU) (1)" in legend
    # the firm's own words still win, and no division line follows them
    assert "sector: Fertiliser Manufacturing (1831)" in titles["csbp"] and "division" not in titles["csbp"]
    # a park without a country: digits alone are not read either
    assert "the park's country is not given" in titles["mystery"] and "化学原料" not in titles["mystery"]
    assert "sector 2621 (not read as GB/T: park's country not given) (1)" in legend
    # NACE reads anywhere: a dotted code in the Australian park
    assert "sector: C23 Manufacture of other non-metallic mineral products (code C23.5)" in titles["lime"]
    assert not any("家具" in label or "furniture" in label for label in legend)


def test_an_unknown_map_country_and_a_code_of_no_scheme_say_which():
    G = nx.MultiDiGraph()
    _firm(G, "a", "A", "ZZ9", park="kw")
    _firm(G, "b", "B", "2131", park="kw")
    data = _data(build_map(G, parks=pd.DataFrame({"park_id": ["kw"], "country": [float("nan")]})))
    titles = {node["id"]: node["title"] for node in data["nodes"]}
    assert "sector ZZ9 (not a NACE Rev. 2 or GB/T 4754-2017 code)" in titles["a"]
    assert "sector 2131 (not read: GB/T 4754 applies only to parks in China; the park's country is not given)" \
           in titles["b"]


# ------------------------------------------------------------------------------ unknown is not zero

def test_node_totals_say_unknown_or_at_least_never_zero():
    titles = {node["id"]: node["title"] for node in _data(build_map(sparse_park()))["nodes"]}
    hub = titles["hub"]
    # both steam flows out of the hub lack a quantity: unknown, not "0 MWh"
    assert "energy out: unknown (2 flows, none with a quantity)" in hub
    assert not re.search(r"\b0 MWh", hub)
    # the board takes one steam flow (unknown) and 10 t of gypsum plus gives 1 t of pallets and an unknown sulphur
    board = titles["board"]
    assert "energy in: unknown (1 flow, none with a quantity)" in board
    assert "mass out: at least 1 t/yr (1 of 2 flows known)" in board
    assert "mass in: 10 t/yr (1 flow)" in board


def test_unknown_flows_are_hairlines_marked_and_never_the_width_of_a_known_flow_or_a_zero():
    data = _data(build_map(sparse_park()))
    edges = {edge["id"]: edge for edge in data["edges"]}
    unknown = [edges[key] for key in ("steam1", "steam2", "sulphur")]
    known = [edge for key, edge in edges.items() if key not in ("steam1", "steam2", "sulphur")]
    for edge in unknown:
        assert "quantity unknown" in edge["title"]
        assert edge["width"] == UNKNOWN_WIDTH and edge["label"] == "?"
        assert edge["color"]["opacity"] < 1
    assert min(edge["width"] for edge in known) >= KNOWN_WIDTH[0] > UNKNOWN_WIDTH
    assert edges["zero"]["width"] == KNOWN_WIDTH[0]  # a known zero is a known flow, drawn apart from unknown
    assert "0 m3/yr" in edges["zero"]["title"] and "unknown" not in edges["zero"]["title"]
    lines = data["legend"]["lines"]
    described = [line for line in lines if "quantity unknown" in line["label"]]
    assert len(described) == 1 and described[0]["width"] == UNKNOWN_WIDTH and described[0]["mark"] == "?"


def test_widths_are_scaled_within_each_currency_and_the_legend_says_so():
    data = _data(build_map(sparse_park()))
    edges = {edge["id"]: edge for edge in data["edges"]}
    # 1,000,000 MWh of power must not make 10 t of gypsum a hairline: gypsum is the widest mass flow
    assert edges["gypsum"]["width"] == pytest.approx(KNOWN_WIDTH[1])
    assert edges["power"]["width"] == pytest.approx(KNOWN_WIDTH[1])
    # material and waste share the mass scale: 1 t of pallets is log10(2)/log10(11) of the way up
    share = math.log10(2) / math.log10(11)
    assert edges["pallets"]["width"] == pytest.approx(KNOWN_WIDTH[0] + (KNOWN_WIDTH[1] - KNOWN_WIDTH[0]) * share)
    assert edges["gas"]["width"] < edges["power"]["width"]
    widths = data["legend"]["widths"]
    assert "within a currency only" in widths[0]
    assert "mass (material + waste): widest line 10 t/yr" in widths
    assert "energy: widest line 1,000,000 MWh/yr" in widths
    assert "water: widest line 0 m3/yr" in widths  # a known zero is known
    only_unknown = _data(build_map(_centroid_park()))["legend"]["widths"]
    assert "mass (material + waste): no known quantity" in only_unknown


def test_aggregated_edges_with_some_unknown_flows_say_at_least():
    G = nx.MultiDiGraph()
    for index in range(4):
        _firm(G, f"a{index}", f"A{index}", "C23", park="pa", lat=30.0, lon=110.0 + index / 100)
        _firm(G, f"b{index}", f"B{index}", "C24", park="pb", lat=31.0, lon=111.0 + index / 100)
        _flow(G, f"a{index}", f"b{index}", f"s{index}", "waste", 5.0 if index else None, "t/yr")
    H = aggregate(G, by="park")
    data = _data(build_map(G, max_nodes=4))
    (edge,) = data["edges"]
    assert "at least 15 t/yr (3 of 4 flows known)" in edge["title"]
    assert H.edges["park:pa", "park:pb", "park:pa>park:pb:waste"]["currency"] == "mass"


# ---------------------------------------------------------------------------------------- sectors

def test_sector_names_in_tooltips_free_text_first():
    titles = {node["id"]: node["title"] for node in _data(build_map(sparse_park(), parks=SPARSE_PARKS))["nodes"]}
    assert "sector: Refined petroleum products (C19.20)" in titles["refinery"]  # the firm's own words win
    assert "division: C19 Manufacture of coke and refined petroleum products" in titles["refinery"]
    # no free text: the division's official name, and the code as given
    assert "sector: D35 Electricity, gas, steam and air conditioning supply (code D35.30)" in titles["hub"]
    assert "化学原料和化学制品制造业" in titles["fertiliser"] and "firm outside this park" in titles["fertiliser"]


@pytest.mark.parametrize(("code", "division"), [
    # NACE Rev. 2: division 23 is "other non-metallic mineral products" in section C, 01 is crops in A
    ("C23", "C23"), ("C23.5", "C23"), ("23.51", "C23"), ("01.", "A01"), ("A01", "A01"), ("A01.46", "A01"),
    # GB/T 4754-2017: 2621 氮肥制造 is in 大类 26, 3011 水泥制造 in 大类 30, both in 门类 C
    ("2621", "GB/T C26"), ("C2621", "GB/T C26"), ("3011", "GB/T C30"),
    # NACE has no division 44 and GB/T 44 (电力、热力生产和供应业) is in D: the letter decides
    ("D44", "GB/T D44"),
    ("C", "C"), ("A23", None), ("1", None), ("", None), (None, None), ("not a code", None),
])
def test_sector_division_reads_real_world_codes_of_a_chinese_firm(code, division):
    assert sector_division(code, country="CN") == division


# Kwinana (Australia) writes ANZSIC 2006 classes: 2131 alumina production, 1701 petroleum refining,
# 1831 fertiliser manufacturing, 2811 water supply. Read as GB/T they would be 21 furniture, 17 textiles,
# 18 clothing, 28 chemical fibres: digits alone are read as GB/T only for a firm in China.
@pytest.mark.parametrize("country", ["AU", "Australia", None, ""])
@pytest.mark.parametrize("code", ["2131", "1701", "1831", "2811", "2621", "351"])
def test_digits_alone_are_not_read_as_gbt_outside_china(code, country):
    assert parse_sector(code, country=country) is None
    assert sector_division(code, country=country) is None and sector_name(code, country=country) is None


@pytest.mark.parametrize("country", ["CN", "chn", "China", "china", "中国", "PRC", "P.R.C.", "People's Republic of China"])
def test_the_ways_data_name_china_read_digits_as_gbt(country):
    assert sector_division("2621", country=country) == "GB/T C26"
    assert sector_name("2621", country=country, language="zh") == "化学原料和化学制品制造业"


@pytest.mark.parametrize("country", ["CN", "AU", "DK", None])
def test_nace_shapes_are_read_as_nace_anywhere(country):
    # NACE 23.5 is cement, lime and plaster: division 23, "other non-metallic mineral products"
    assert sector_division("C23.5", country=country) == "C23"
    assert sector_name("C23.5", country=country) == "Manufacture of other non-metallic mineral products"
    assert sector_division("23.51", country=country) == "C23" and sector_division("C23", country=country) == "C23"


def test_a_letter_and_four_digits_is_gbt_in_china_and_a_nace_class_elsewhere():
    # GB/T C2621 氮肥制造 is in 大类 26 (chemicals); NACE 26 is computers and electronics
    assert sector_division("C2621", country="CN") == "GB/T C26"
    assert parse_sector("C2351", country="DK") == ("nace2", "C", "23", "C2351")  # NACE 23.51 (cement) undotted
    assert sector_division("C2621") == "C26"  # no country: the NACE reading, never GB/T's
    # a named scheme wins over the country
    assert sector_division("2131", scheme="gbt4754", country="AU") == "GB/T C21"
    assert sector_division("2351", scheme="nace2", country="CN") == "C23"


def test_sector_table_and_names():
    table = load_sectors()
    counts = table.groupby(["scheme", "level"]).size().to_dict()
    # NACE Rev. 2: 21 sections, 88 divisions; GB/T 4754-2017: 20 门类, 97 大类 (the standards' own counts)
    assert counts == {("nace2", "section"): 21, ("nace2", "division"): 88,
                      ("gbt4754", "section"): 20, ("gbt4754", "division"): 97}
    assert table.loc[table["scheme"] == "gbt4754", "name_zh"].str.len().gt(0).all()
    assert set(table["name_source"]) == {"eurostat", "translation"}
    assert sector_name("C23.51") == "Manufacture of other non-metallic mineral products"
    assert sector_name("3011", language="zh", country="CN") == "非金属矿物制品业"
    assert sector_name("C30", scheme="GB/T 4754-2017", language="zh") == "非金属矿物制品业"
    assert sector_name("C30") == "Manufacture of other transport equipment"  # NACE unless told otherwise
    assert parse_sector("2351", scheme="nace2").division == "23"
    with pytest.raises(InputError):
        sector_name("C23", scheme="SIC")


# ------------------------------------------------------------------------------ roles, shared points

def test_nodes_with_a_boundary_role_are_drawn_as_boundary_nodes():
    data = _data(build_map(sparse_park()))
    grid = next(node for node in data["nodes"] if node["id"] == "grid")
    assert grid["shape"] == "box" and "role: utility" in grid["title"]
    # the utility is not a firm: its sector (D35) is not counted among the firms' colours
    d35 = [item["label"] for item in data["legend"]["sectors"] if item["label"].startswith("D35")]
    assert d35 == ["D35 Electricity, gas, steam and air conditioning supply (1)"]  # the hub only


def _centroid_park(n: int = 12) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph()
    for index in range(n):  # every firm at the park's centroid, as published data often give them
        _firm(G, f"f{index}", f"Firm {index}", "C20", lat=35.5, lon=129.3)
    _firm(G, "plant", "Elsewhere Plant", "C24", lat=35.9, lon=129.5)
    for index in range(n):
        _flow(G, f"f{index}", f"f{(index + 1) % n}", f"e{index}", "waste", None, "t/yr")
    return G


def test_firms_sharing_a_point_are_spread_so_each_is_visible():
    nodes = _data(build_map(_centroid_park(), layout="geo"))["nodes"]
    points = {node["id"]: (node["x"], node["y"]) for node in nodes if node["id"].startswith("f")}
    assert len(points) == 12
    gaps = [math.dist(a, b) for i, a in enumerate(points.values()) for b in list(points.values())[i + 1:]]
    assert min(gaps) > 20  # each dot (radius 8) stands apart from every other
    centre = (sum(x for x, _ in points.values()) / 12, sum(y for _, y in points.values()) / 12)
    assert max(math.dist(centre, point) for point in points.values()) < 250  # around the shared point
    again = {node["id"]: (node["x"], node["y"]) for node in _data(build_map(_centroid_park(), layout="geo"))["nodes"]
             if node["id"].startswith("f")}
    assert again == points  # deterministic


def test_hostile_text_stays_inert_json():
    html = build_map(sparse_park())
    assert HOSTILE not in html and HREF not in html and "<a href" not in html
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html


# ---------------------------------------------------------------------------------- in the browser

def _open(browser, path: Path):
    page, seen = open_page(browser, path)
    wait_drawn(page)
    return page, seen


def _tooltip_at(page, canvas_point: dict) -> str:
    """Move the mouse over a point of the network's canvas and read the tooltip vis-network shows."""
    dom = page.evaluate("(p) => window.symbiosisMap.network.canvasToDOM(p)", canvas_point)
    box = page.locator("#network canvas").bounding_box()
    page.mouse.move(box["x"] + 3, box["y"] + 3)  # an empty corner of the canvas: any tooltip goes away
    page.locator("div.vis-tooltip").wait_for(state="hidden", timeout=5000)
    page.mouse.move(box["x"] + dom["x"] + 25, box["y"] + dom["y"] + 25)  # arrive from aside, as a hand would
    page.mouse.move(box["x"] + dom["x"], box["y"] + dom["y"], steps=5)
    tooltip = page.locator("div.vis-tooltip")
    tooltip.wait_for(state="visible", timeout=5000)
    return tooltip.inner_text()


def test_sparse_map_in_chromium(browser, tmp_path):
    path = tmp_path / "sparse.html"
    path.write_text(build_map(sparse_park(), title="Sparse park", parks=SPARSE_PARKS), encoding="utf-8")
    page, seen = _open(browser, path)
    legend = page.locator("#legend").inner_text()
    assert "GB/T C26 化学原料和化学制品制造业" in legend  # the outside firm's foreign sector, named
    assert "quantity unknown" in legend and "within a currency only" in legend
    assert page.locator("#legend canvas.sample").count() == 4  # the four line styles, drawn
    # hover the outside firm: its tooltip names its sector and says its mass intake is unknown
    position = page.evaluate("() => window.symbiosisMap.network.getPositions(['fertiliser']).fertiliser")
    text = _tooltip_at(page, position)
    assert "化学原料和化学制品制造业" in text and "mass in: unknown (1 flow, none with a quantity)" in text
    # hover the middle of an unknown steam flow (on its curve): "quantity unknown"
    middle = page.evaluate("() => window.symbiosisMap.network.body.edges['steam2'].edgeType.getPoint(0.5)")
    edge_text = _tooltip_at(page, {"x": middle["x"], "y": middle["y"]})
    assert "quantity unknown" in edge_text and "Steam Hub" in edge_text
    # hostile text is shown as text: the href title did not become a link, the name no image
    position = page.evaluate("() => window.symbiosisMap.network.getPositions(['board']).board")
    board = _tooltip_at(page, position)
    assert HREF in board and HOSTILE in board
    assert page.evaluate("() => document.querySelectorAll('img, a').length") == 0
    page.screenshot(path=str(tmp_path / "sparse.png"))
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert [url for url in seen["requests"] if url != path.as_uri()] == []


def test_force_layout_is_the_same_on_every_load(browser, tmp_path):
    G = sparse_park()
    for index in range(20):  # enough nodes for the layout to have room to differ
        _firm(G, f"x{index}", f"Extra {index}", "C20")
        _flow(G, f"x{index}", ["hub", "refinery", "board"][index % 3], f"x{index}", "waste", float(index), "t/yr")
    path = tmp_path / "force.html"
    path.write_text(build_map(G, layout="force"), encoding="utf-8")
    layouts = []
    for _ in range(2):
        page, seen = _open(browser, path)
        layouts.append(page.evaluate("() => window.symbiosisMap.network.getPositions()"))
        assert seen["errors"] == []
        page.close()
    first, second = layouts
    assert first.keys() == second.keys() and len(first) == G.number_of_nodes()
    assert all(first[node] == second[node] for node in first), "the force layout moved between loads"
    spread = max(abs(point["x"]) + abs(point["y"]) for point in first.values())
    assert spread > 50  # a real layout, not every node on one point
