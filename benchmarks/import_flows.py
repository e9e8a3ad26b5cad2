"""Benchmark: import a generated file of flows, against a plain sqlite3.executemany of the same rows.

    python benchmarks/import_flows.py                 # 1,000,000 flows
    python benchmarks/import_flows.py --flows 100000  # quicker

Each step runs in its own subprocess so that its peak memory (ru_maxrss) is its own. Both write the
same rows into the same table of a fresh store (schema, keys, indexes and foreign keys as shipped):

- baseline: csv.reader over the file, a tuple per row (id, ends, resource, kind, quantity, unit, year,
  status), one executemany in one transaction. No validation, no unit conversion.
- baseline_sorted: the same, with the rows sorted by key first (what symbiosis does for new rows: B-tree
  inserts in key order are much cheaper), so the comparison is not flattered by insert order alone.
- symbiosis: ``import_files`` (read, validate every cell, convert units with pint, upsert by key).

The ratio symbiosis / baseline is the figure that matters; absolute times depend on the machine.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESOURCES = [("fly_ash", "waste"), ("fgd_gypsum", "waste"), ("steam", "energy"), ("district_heat", "energy"),
             ("treated_wastewater", "water"), ("scrap_steel", "material"), ("co2", "co2"),
             ("blast_furnace_slag", "waste"), ("electricity", "energy"), ("cooling_water", "water")]
UNITS = {"waste": ["t/yr", "kt/yr"], "material": ["t/yr", "kt"], "energy": ["MWh/yr", "GJ/yr"],
         "water": ["m3/yr", "m³"], "co2": ["tCO2e/yr", "t"]}


def generate(folder: Path, n_flows: int, n_firms: int, seed: int = 1) -> tuple[Path, Path, Path]:
    """Write parks.csv, enterprises.csv and flows.csv; flows have unique (source, target, resource, year)."""
    rng = random.Random(seed)
    n_parks = max(1, n_firms // 400)
    parks = folder / "parks.csv"
    with parks.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "lat", "lon"])
        for park in range(n_parks):
            writer.writerow([f"p{park}", f"Park {park}", round(rng.uniform(20, 45), 4), round(rng.uniform(100, 122), 4)])
    firms = folder / "enterprises.csv"
    with firms.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "park_id"])
        for firm in range(n_firms):
            writer.writerow([f"e{firm}", f"Enterprise {firm}", f"p{firm % n_parks}"])
    flows = folder / "flows.csv"
    seen = set()
    with flows.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source_id", "target_id", "resource_code", "quantity", "unit", "year", "status"])
        while len(seen) < n_flows:
            source = f"e{rng.randrange(n_firms)}"
            # within a park (firm i is in park i % n_parks), to a neighbour up to 49 places either side,
            # so that exchanges go both ways and short loops exist, as in real parks
            target = f"e{(int(source[1:]) + n_parks * rng.choice((-1, 1)) * rng.randrange(1, 50)) % n_firms}"
            if rng.random() < 0.03:
                source = ""  # boundary import
            code, kind = RESOURCES[rng.randrange(len(RESOURCES))]
            year = 2015 + rng.randrange(10)
            key = (source, target, code, year)
            if key in seen or source == target:
                continue
            seen.add(key)
            quantity = "" if rng.random() < 0.05 else round(rng.lognormvariate(7, 2), 2)
            writer.writerow([source, target, code, quantity, rng.choice(UNITS[kind]), year, "existing"])
    return parks, firms, flows


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_step(step: str, folder: Path) -> dict:
    """One step, in this process: prepare a store with parks and firms, then time the flows import."""
    from symbiosis.ingest import import_files
    from symbiosis.store import open_store

    db_file = folder / f"{step}.db"
    for stale in folder.glob(f"{step}.db*"):
        stale.unlink()
    db = open_store(db_file)
    import_files(db, [folder / "parks.csv", folder / "enterprises.csv"])
    before_mb = _peak_mb()
    started = time.perf_counter()
    if step.startswith("baseline"):
        kinds = dict(RESOURCES)
        conn = db.conn
        with (folder / "flows.csv").open(newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            rows = [(f"{s}>{t}:{r}:{y}", s or None, t or None, r, kinds[r], float(q) if q else None, u, int(y), st)
                    for s, t, r, q, u, y, st in reader]
        if step == "baseline_sorted":
            rows.sort()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO flows (id, source_id, target_id, resource_code, kind, quantity, unit, year, status)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    else:
        import_files(db, [folder / "flows.csv"])
    seconds = time.perf_counter() - started
    count = db.execute("SELECT count(*) FROM flows").fetchone()[0]
    return {"step": step, "seconds": seconds, "rows": count, "peak_mb": _peak_mb(), "before_mb": before_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--firms", type=int, default=20_000)
    parser.add_argument("--step", choices=["baseline", "baseline_sorted", "symbiosis"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:  # child process
        print(json.dumps(run_step(args.step, args.folder)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        generate(folder, args.flows, args.firms)
        size_mb = (folder / "flows.csv").stat().st_size / 1e6
        print(f"generated {args.flows:,} flows among {args.firms:,} firms ({size_mb:.0f} MB CSV) "
              f"in {time.perf_counter() - started:.1f} s")
        results = {}
        for step in ("baseline", "baseline_sorted", "symbiosis"):
            out = subprocess.run([sys.executable, __file__, "--step", step, "--folder", str(folder)],
                                 check=True, capture_output=True, text=True)
            results[step] = json.loads(out.stdout.strip().splitlines()[-1])
    base, base_sorted, ours = results["baseline"], results["baseline_sorted"], results["symbiosis"]
    print(f"{'step':<16}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak MB':>10}")
    for result in (base, base_sorted, ours):
        print(f"{result['step']:<16}{result['rows']:>12,}{result['seconds']:>10.2f}"
              f"{result['rows'] / result['seconds']:>12,.0f}{result['peak_mb']:>10.0f}")
    print(f"ratio symbiosis / baseline: {ours['seconds'] / base['seconds']:.2f}x; "
          f"symbiosis / baseline_sorted: {ours['seconds'] / base_sorted['seconds']:.2f}x (goal: within 2x); "
          f"peak memory {ours['peak_mb']:.0f} MB (goal: under 2048 MB)")


if __name__ == "__main__":
    main()
