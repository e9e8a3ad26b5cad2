"""National scale, measured: generate 2,543 parks / 250,000 firms / 1,000,000 flows and time every step.

    python benchmarks/run_all.py            # the full national dataset
    python benchmarks/run_all.py --quick    # a tenth of it (fits in CI's time)

Every step runs end to end as its own process (the ``symbiosis`` command, or a small Python call), so
its wall time and peak memory (maximum resident set) are its own. Beside each step, a plain baseline
measured in the same run on the same data:

- import: ``csv.reader`` + one ``sqlite3.executemany`` of the same flow rows (no validation, no units)
- graph load: ``SELECT`` of every flow with plain sqlite3, no graph built
- loops: networkx ``simple_cycles`` without a length bound, stopped at the same number of cycles
- metrics by park: the same command on one core (``--jobs 1``): the multi-core speed-up
- carbon, colocate, match, map, report, scorecard: reading the data those steps read (SQL), no analysis

Then the per-park commands on the largest park, whose target is under 2 s each.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL = {"parks": 2543, "firms": 250_000, "flows": 1_000_000}
#: loops listed before the search stops (the command's default), and where the baseline stops too
LOOP_CAP = 1000


def _child(code: str) -> dict:
    """Run Python code in a fresh process; return its wall time, peak memory and printed JSON."""
    wrapper = (
        "import json, resource, sys, time\n"
        "started = time.perf_counter()\n"
        f"{code}\n"
        "print(json.dumps({'seconds': time.perf_counter() - started, "
        "'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
        "'result': globals().get('result')}))\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapper], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"step failed:\n{code}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cli(*args: str) -> str:
    """Python code that runs one symbiosis command in-process, its output discarded."""
    return ("import cli, io, contextlib\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    cli.cli.main({list(args)!r}, standalone_mode=False)\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the national size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="keep the data and store in this folder")
    args = parser.parse_args()
    size = {key: value // 10 for key, value in FULL.items()} if args.quick else dict(FULL)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="symbiosis-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    data, db = folder / "data", folder / "national.db"
    for stale in folder.glob("national.db*"):
        stale.unlink()
    rows: list[tuple] = []
    pipeline_seconds = 0.0  # the symbiosis steps only, as a user would run them (no baselines)

    def step(name: str, code: str, baseline_name: str | None = None, baseline_code: str | None = None,
             is_baseline: bool = False) -> dict:
        nonlocal pipeline_seconds
        measured = _child(code)
        base = _child(baseline_code) if baseline_code else None
        if not is_baseline:
            pipeline_seconds += measured["seconds"]
        rows.append((name, measured["seconds"], measured["peak_mb"], baseline_name,
                     base["seconds"] if base else None))
        print(f"  {name}: {measured['seconds']:.2f} s, {measured['peak_mb']:.0f} MB"
              + (f"; {baseline_name}: {base['seconds']:.2f} s" if base else ""), flush=True)
        return measured

    started = time.perf_counter()
    generated = step("generate", f"from symbiosis.generate import generate_dataset\n"
                                 f"result = generate_dataset({str(data)!r}, seed={args.seed}, **{size!r})")
    counts = generated["result"]
    # the store with parks and firms first, so that the flows import is compared like for like
    step("import parks, firms", _cli("import", str(data / "parks.csv"), str(data / "enterprises.csv"),
                                     "--db", str(db), "--quiet"))
    baseline_db = folder / "baseline.db"
    shutil.copy(db, baseline_db)
    step("import flows (1 transaction)", _cli("import", str(data / "flows.csv"), "--db", str(db), "--quiet"),
         "executemany", f"""
import csv, sqlite3
conn = sqlite3.connect({str(baseline_db)!r}, isolation_level=None)
conn.execute("PRAGMA foreign_keys = ON")
kinds = dict(conn.execute("SELECT code, kind FROM resources"))
with open({str(data / 'flows.csv')!r}, newline="") as handle:
    reader = csv.DictReader(handle)
    rows = [(r["id"], r["source_id"] or None, r["target_id"] or None, r["resource_code"], kinds[r["resource_code"]],
             float(r["quantity"]) if r["quantity"] else None, r["unit"], int(r["year"]) if r.get("year") else None,
             r.get("status") or "existing") for r in reader]
conn.execute("BEGIN")
conn.executemany("INSERT INTO flows (id, source_id, target_id, resource_code, kind, quantity, unit, year, status) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
conn.execute("COMMIT")
""")
    rest = [str(path) for path in sorted(data.glob("*.csv"))
            if path.name not in ("parks.csv", "enterprises.csv", "flows.csv")]
    step("import offers, demands, emissions, energy", _cli("import", *rest, "--db", str(db), "--quiet"))
    plain_flows = f"import sqlite3\nresult = len(sqlite3.connect({str(db)!r}).execute('SELECT * FROM flows').fetchall())"
    step("graph load (all flows)",
         f"from symbiosis.graph import load_graph\nresult = load_graph({str(db)!r}).number_of_edges()",
         "SELECT flows", plain_flows)
    # the command a user runs; it stops at 1,000 loops of up to 6 firms (its defaults)
    step("loops (capped at 1,000, length 6)",
         _cli("loops", "--db", str(db), "--max-length", "6", "--limit", str(LOOP_CAP), "--format", "csv"))
    step("loops, unbounded simple_cycles (baseline)", f"""
from itertools import islice
import networkx as nx
from symbiosis.graph import load_graph
from symbiosis.loops import internal_digraph
result = sum(1 for _ in islice(nx.simple_cycles(internal_digraph(load_graph({str(db)!r}, status="existing"))), {LOOP_CAP}))
""", is_baseline=True)
    step("metrics by park (2 processes)", _cli("metrics", "--db", str(db), "--by-park", "--format", "csv"),
         "1 process", _cli("metrics", "--db", str(db), "--by-park", "--jobs", "1", "--format", "csv"))
    plain_carbon = (f"import sqlite3\nc = sqlite3.connect({str(db)!r})\n"
                    "result = [len(c.execute(q).fetchall()) for q in ('SELECT * FROM emissions', "
                    "'SELECT * FROM flows WHERE kind = \"co2\"', 'SELECT * FROM offers', 'SELECT * FROM demands')]")
    step("carbon (all parks)", _cli("carbon", "--db", str(db), "--format", "csv"), "read its data", plain_carbon)
    step("colocate (all parks)", _cli("colocate", "--db", str(db), "--format", "csv"), "SELECT flows", plain_flows)
    step("match (all parks)", _cli("match", "--db", str(db), "--all", "--format", "csv"), "read its data", plain_carbon)
    step("map (aggregated national view)", _cli("map", "--db", str(db), "-o", str(folder / "map.html")),
         "SELECT flows", plain_flows)
    step("report (first 20 parks, no maps)", _cli("report", "--db", str(db), "--no-map", "-o", str(folder / "report.html")),
         "SELECT flows", plain_flows)
    total = time.perf_counter() - started

    largest = sqlite3.connect(str(db)).execute(
        "SELECT park_id FROM enterprises GROUP BY park_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    per_park = []
    for command in (["loops"], ["metrics"], ["carbon"], ["colocate"], ["scorecard"], ["match"]):
        measured = _child(_cli(*command, "--db", str(db), "--park", largest, "--format", "csv"))
        per_park.append((" ".join(command), measured["seconds"], measured["peak_mb"]))

    peak = max(row[2] for row in rows)
    print()
    print(f"symbiosis national benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; command: python benchmarks/run_all.py{' --quick' if args.quick else ''}")
    print(f"data: {counts}")
    print("| step | seconds | peak MB | baseline | baseline s | ratio |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    for name, seconds, peak_mb, base_name, base_seconds in rows:
        ratio = f"{seconds / base_seconds:.2f}" if base_seconds else ""
        print(f"| {name} | {seconds:.2f} | {peak_mb:.0f} | {base_name or ''} | "
              f"{'' if base_seconds is None else f'{base_seconds:.2f}'} | {ratio} |")
    print(f"\nwhole pipeline (generate to report, symbiosis steps only): {pipeline_seconds:.0f} s; "
          f"with the baselines: {total:.0f} s; largest step peak {peak:.0f} MB")
    print(f"per-park commands on the largest park ({largest}):")
    for command, seconds, peak_mb in per_park:
        print(f"  symbiosis {command} --park {largest}: {seconds:.2f} s, {peak_mb:.0f} MB")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
