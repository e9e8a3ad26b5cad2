"""Maps and reports: offline, escaped, and really drawn in Debian's headless Chromium.

The browser tests need /usr/bin/chromium (Debian's package) and playwright (pointed at it, never a
downloaded browser). Where either is missing they are skipped with the reason, except under CI or with
SYMBIOSIS_BROWSER_TESTS=1, where a missing browser fails the run.
"""
import re

import networkx as nx
import pytest

from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.store import open_store
from viz.map import build_map, store_map
from viz.report import build_report

from .browser import open_page as _open
from .browser import wait_drawn as _wait_drawn
from .conftest import DATA

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    db = open_store(tmp_path_factory.mktemp("hostile") / "hostile.db")
    import_files(db, sorted((DATA / "hostile").glob("*.csv")))
    return db


def test_map_is_offline_and_escapes_data(hostile_db):
    html = store_map(hostile_db, park="hx")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)  # nothing is fetched
    assert "Content-Security-Policy" in html and "connect-src 'none'" in html
    assert HOSTILE not in html and "</script><script>alert(2)" not in html
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html  # data travel as inert JSON escapes
    assert "&lt;script&gt;alert(&#39;park&#39;)&lt;/script&gt;" in html  # the heading is escaped HTML


def test_report_escapes_every_text(hostile_db):
    html = build_report(hostile_db, park="hx")
    body = re.sub(r'srcdoc="[^"]*"', "", html)  # the map frame is checked on its own
    assert HOSTILE not in body and "<script>alert" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert 'sandbox="allow-scripts"' in html


def _graph(n: int, parks: int = 10) -> nx.MultiDiGraph:
    G = nx.MultiDiGraph()
    for i in range(n):
        G.add_node(f"f{i}", name=f"Firm {i}", park_id=f"p{i % parks}", sector_code="C23", lat=30 + (i % parks),
                   lon=110 + (i % 7) * 0.01, boundary=False)
    for i in range(n):
        G.add_edge(f"f{i}", f"f{(i + parks) % n}", key=f"e{i}", kind="waste", currency="mass", resource="fly_ash",
                   quantity=float(i + 1), unit="t/yr", status="existing", distance_km=1.0)
    return G


def test_large_network_is_aggregated_and_says_so():
    html = build_map(_graph(400, parks=10), max_nodes=100)
    assert "400 nodes are drawn as 10 parks (firms aggregated)" in html


def test_geo_layout_switches_physics_off():
    html = build_map(_graph(30), layout="geo")
    assert '"physics": false' in html.replace('"physics": {"enabled": false', '"physics": false')


# ---------------------------------------------------------------------------------- in the browser

def _outside(requests: list[str], page_url: str) -> list[str]:
    return [url for url in requests if url not in (page_url, "about:srcdoc")]


def test_map_in_chromium(browser, hostile_db, tmp_path):
    path = tmp_path / "map.html"
    path.write_text(store_map(hostile_db, park="hx"), encoding="utf-8")
    G = load_graph(hostile_db, park="hx", status=["existing", "planned", "potential"])
    page, seen = _open(browser, path)
    _wait_drawn(page)
    assert page.locator("#network canvas").count() == 1
    assert page.evaluate("() => window.symbiosisMap.nodes.length") == G.number_of_nodes()
    assert page.evaluate("() => window.symbiosisMap.edges.length") == G.number_of_edges()
    labels = page.evaluate("() => window.symbiosisMap.nodes.get().map(node => node.label)")
    assert HOSTILE in labels  # drawn as text on the canvas
    assert HOSTILE in page.locator("#loop-select").inner_text()  # loops list the firm by name, as text
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    page.locator("#loop-select").select_option(index=1)  # highlighting a loop works
    assert page.evaluate("() => window.symbiosisMap.network.getSelectedNodes().length") >= 2
    page.screenshot(path=str(tmp_path / "map.png"))  # artifact: look at it
    assert (tmp_path / "map.png").stat().st_size > 10_000
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert _outside(seen["requests"], path.as_uri()) == []


def test_report_in_chromium(browser, hostile_db, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(build_report(hostile_db, park="hx"), encoding="utf-8")
    page, seen = _open(browser, path)
    frames = [frame for frame in page.frames if frame != page.main_frame]
    assert len(frames) == 1
    # Chromium throttles animation frames in an off-screen frame: scroll to the map as a reader would.
    page.locator("iframe.map").scroll_into_view_if_needed()
    _wait_drawn(frames[0])
    assert frames[0].evaluate("() => window.symbiosisMap.nodes.length") > 3
    text = page.inner_text("body")
    assert HOSTILE in text and "Park <script>alert('park')</script>" in text
    assert "Zero-carbon park scorecard" in text and "renewable_share" in text
    assert page.locator("svg").count() >= 2  # inline plots
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert _outside(seen["requests"], path.as_uri()) == []


def test_demo_pages_in_chromium(browser, tmp_path):
    from click.testing import CliRunner

    from cli import cli

    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path), "--quiet", "--format", "json"])
    assert result.exit_code == 0, result.output
    page, seen = _open(browser, tmp_path / "map.html")
    _wait_drawn(page)
    assert page.evaluate("() => window.symbiosisMap.nodes.length") > 20
    page.screenshot(path=str(tmp_path / "demo-map.png"))
    assert seen["errors"] == [] and _outside(seen["requests"], (tmp_path / "map.html").as_uri()) == []
    assert (tmp_path / "report.html").stat().st_size > 10_000 and (tmp_path / "matchmaking.xlsx").exists()
