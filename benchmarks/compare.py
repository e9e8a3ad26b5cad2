"""Benchmark: `symbiosis compare` (three scenarios) on the largest park of a national store.

    python benchmarks/compare.py --store /tmp/natfull/national.db   # a store of benchmarks/run_all.py --keep
    python benchmarks/compare.py --store STORE --park P0201 --runs 5

Times, each the median of ``--runs`` runs in this process (the store's pages warm after the first):

- compare: ``compare_scenarios`` with as-is, planned and plan, attribution of the default 20 synergies (what
  ``symbiosis compare --park P`` does), of 40, and without attribution;
- baseline: the same analyses (loops, metrics, carbon, scorecard) run on the store itself once per scenario,
  with no scenario applied: what three single-command runs compute, without their process start-up.
The ratio says what applying scenarios (a copy of the park's rows in memory per scenario, the plan's
matchmaking, the attribution) costs beyond the analyses themselves. The command's own wall time, a new
process each run, is printed too.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the symbiosis command runs

from symbiosis.compare import COMPARED_ANALYSES, compare_scenarios  # noqa: E402
from symbiosis.pipeline import analyse_park  # noqa: E402
from symbiosis.scenarios import built_in  # noqa: E402
from symbiosis.store import open_store  # noqa: E402


def _largest_park(db) -> str:
    return db.execute("SELECT e.park_id FROM flows f JOIN enterprises e ON e.id = f.source_id "
                      "WHERE e.park_id IS NOT NULL GROUP BY e.park_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]


def _median(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a national store (benchmarks/run_all.py --keep)")
    parser.add_argument("--park", default=None, help="default: the park with the most flows")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    db = open_store(args.store, create=False)
    park = args.park or _largest_park(db)
    flows = db.execute("SELECT count(DISTINCT f.id) FROM flows f JOIN enterprises e ON e.id IN (f.source_id, "
                       "f.target_id) WHERE e.park_id = ?", [park]).fetchone()[0]
    firms = db.execute("SELECT count(*) FROM enterprises WHERE park_id = ?", [park]).fetchone()[0]
    scenarios = [built_in(name) for name in ("as-is", "planned", "plan")]
    result = compare_scenarios(db, park, scenarios)
    synergies = int(result.figures.set_index(["scenario", "figure_id"]).loc[("plan", "matchmaking.synergies"),
                                                                                "value"])
    with_attribution = _median(args.runs, lambda: compare_scenarios(db, park, scenarios))
    without = _median(args.runs, lambda: compare_scenarios(db, park, scenarios, attribute=0))
    forty = _median(args.runs, lambda: compare_scenarios(db, park, scenarios, attribute=40))
    baseline = _median(args.runs, lambda: [analyse_park(db, park, analyses=COMPARED_ANALYSES) for _ in scenarios])
    command = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli", "compare", "--park", park, "--db", str(args.store), "--format",
                        "json"], check=True, capture_output=True, cwd=Path(__file__).resolve().parent.parent)
        command.append(time.perf_counter() - started)
    print(f"compare on park {park} ({firms:,} firms, {flows:,} flows touching them; plan of {synergies} synergies, "
          f"{len(result.contributions)} attributed), median of {args.runs} runs")
    print("| step | seconds | baseline | baseline s | ratio |")
    print("| --- | ---: | --- | ---: | ---: |")
    print(f"| compare, 3 scenarios, attribution | {with_attribution:.2f} | analyses x 3, no scenario | {baseline:.2f} | "
          f"{with_attribution / baseline:.2f} |")
    print(f"| compare, 3 scenarios, 40 attributed | {forty:.2f} | analyses x 3, no scenario | {baseline:.2f} | "
          f"{forty / baseline:.2f} |")
    print(f"| compare, 3 scenarios, no attribution | {without:.2f} | analyses x 3, no scenario | {baseline:.2f} | "
          f"{without / baseline:.2f} |")
    print(f"| symbiosis compare --park {park} (a new process each run) | {statistics.median(command):.2f} | | | |")


if __name__ == "__main__":
    main()
