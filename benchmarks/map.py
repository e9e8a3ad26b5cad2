"""Benchmark: how long generated maps take to open and finish drawing in headless Chromium.

    python benchmarks/map.py                   # 5,000-node map (force and geo) + national view of 250,000 firms
    python benchmarks/map.py --firms 25000     # a smaller national view

Steps: build the page in Python (``viz.map.build_map``), then open it in Debian's Chromium
(/usr/bin/chromium, driven by playwright) and wait until vis-network has drawn and stopped its physics.
Baseline in the same run: the same browser opening an empty page of the same size, so the figure
separates our drawing from browser start-up and parsing.
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import networkx as nx

from viz.map import build_map

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
KINDS = [("waste", "mass", "t/yr"), ("energy", "energy", "MWh/yr"), ("water", "water", "m3/yr"), ("co2", "co2", "tCO2e/yr")]


def generate(firms: int, flows: int, parks: int, seed: int = 1) -> nx.MultiDiGraph:
    rng = random.Random(seed)
    centres = [(rng.uniform(21, 46), rng.uniform(98, 123)) for _ in range(parks)]
    G = nx.MultiDiGraph()
    for i in range(firms):
        park = i % parks
        lat, lon = centres[park]
        G.add_node(f"f{i}", name=f"Firm {i}", park_id=f"p{park}", sector_code=f"C{20 + i % 12}",
                   lat=lat + rng.gauss(0, 0.03), lon=lon + rng.gauss(0, 0.03), boundary=False)
    for k in range(flows):
        source = rng.randrange(firms)
        target = (source + parks * rng.choice((-1, 1)) * rng.randrange(1, 20)) % firms
        kind, currency, unit = rng.choice(KINDS)
        G.add_edge(f"f{source}", f"f{target}", key=f"e{k}", kind=kind, currency=currency, resource=kind,
                   quantity=rng.lognormvariate(7, 2), unit=unit, status="existing", distance_km=None)
    return G


def open_in_chromium(browser, path: Path) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    started = time.perf_counter()
    page.goto(path.as_uri())
    check = "() => !window.symbiosisMap || (window.symbiosisMap.drawn && window.symbiosisMap.stabilised)"
    while not page.evaluate(check):
        time.sleep(0.02)
        if time.perf_counter() - started > 300:
            raise TimeoutError(path)
    seconds = time.perf_counter() - started
    page.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--firms", type=int, default=250_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        folder = Path(tmp)
        cases = [("5,000-node map, force", generate(args.nodes, args.nodes * 2, 50), "force", 10_000),
                 ("5,000-node map, geo", generate(args.nodes, args.nodes * 2, 50), "geo", 10_000)]
        national_started = time.perf_counter()
        national = generate(args.firms, args.firms * 2, 2543, seed=3)
        cases.append((f"national view of {args.firms:,} firms (aggregated)", national, "geo", 3000))
        generated = time.perf_counter() - national_started
        for label, G, layout, max_nodes in cases:
            started = time.perf_counter()
            html = build_map(G, layout=layout, max_nodes=max_nodes)
            build = time.perf_counter() - started
            page = folder / "map.html"
            page.write_text(html, encoding="utf-8")
            blank = folder / "blank.html"
            blank.write_text("<!DOCTYPE html><html><body>" + " " * len(html.encode()) + "</body></html>")
            drawn = open_in_chromium(browser, page)
            baseline = open_in_chromium(browser, blank)
            rows.append((label, G.number_of_nodes(), build, len(html.encode()) / 1e6, drawn, baseline))
        browser.close()
    print(f"(national graph of {args.firms:,} firms generated in {generated:.1f} s)")
    print(f"{'map':<48}{'nodes':>9}{'build s':>9}{'MB':>7}{'open+draw s':>13}{'blank page s':>14}")
    for label, nodes, build, size, drawn, baseline in rows:
        print(f"{label:<48}{nodes:>9,}{build:>9.2f}{size:>7.1f}{drawn:>13.2f}{baseline:>14.2f}")


if __name__ == "__main__":
    main()
