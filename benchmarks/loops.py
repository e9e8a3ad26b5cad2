"""Benchmark: recycling loops on a generated park of 2,000 firms and 8,000 flows.

    python benchmarks/loops.py                      # 2,000 firms, 8,000 flows, --max-length 6
    python benchmarks/loops.py --limit 5000

Steps, each in its own process (peak memory = that process's maximum resident set):

- cli: ``symbiosis loops --max-length 6 --limit N`` on a store holding the generated park, end to end
  (open store, load graph, search, print).
- symbiosis: ``find_loops(G, max_length=6, limit=N)`` on the loaded graph.
- baseline: plain ``networkx.simple_cycles`` on the same firm-to-firm digraph with no length bound,
  stopped after the same number of cycles as symbiosis listed.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_flows import generate  # noqa: E402  (the same generator as the import benchmark)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_step(step: str, folder: Path, max_length: int, limit: int, count: int) -> dict:
    import networkx as nx

    from symbiosis.graph import load_graph
    from symbiosis.loops import find_loops, internal_digraph
    from symbiosis.store import open_store

    G = load_graph(open_store(folder / "park.db", create=False))
    started = time.perf_counter()
    if step == "symbiosis":
        search = find_loops(G, max_length=max_length, limit=limit)
        found, capped = len(search.loops), search.capped
        lengths = search.loops["length"].tolist()
    else:
        lengths = [len(cycle) for cycle in islice(nx.simple_cycles(internal_digraph(G)), count)]
        found, capped = len(lengths), None
    return {"step": step, "seconds": time.perf_counter() - started, "loops": found, "capped": capped,
            "peak_mb": _peak_mb(), "mean_length": sum(lengths) / len(lengths) if lengths else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=2000)
    parser.add_argument("--flows", type=int, default=8000)
    parser.add_argument("--max-length", type=int, default=6)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--step", choices=["symbiosis", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.folder, args.max_length, args.limit, args.count)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, args.flows, args.firms, seed=7)
        cli = [sys.executable, "-m", "cli"]
        subprocess.run(cli + ["import", *(str(folder / f"{name}.csv") for name in ("parks", "enterprises", "flows")),
                              "--db", str(folder / "park.db"), "--quiet"], check=True, capture_output=True,
                       cwd=Path(__file__).resolve().parent.parent)
        started = time.perf_counter()
        out = subprocess.run(cli + ["loops", "--db", str(folder / "park.db"), "--max-length", str(args.max_length),
                                    "--limit", str(args.limit), "--format", "json"],
                             check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        cli_seconds = time.perf_counter() - started
        cli_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        cli_search = json.loads(out.stdout)["search"][0]

        def child(step: str, count: int = 0) -> dict:
            result = subprocess.run([sys.executable, __file__, "--step", step, "--folder", str(folder),
                                     "--max-length", str(args.max_length), "--limit", str(args.limit),
                                     "--count", str(count)], check=True, capture_output=True, text=True)
            return json.loads(result.stdout.strip().splitlines()[-1])

        ours = child("symbiosis")
        base = child("baseline", ours["loops"])
    print(f"park: {args.firms:,} firms, {args.flows:,} flows; --max-length {args.max_length}, --limit {args.limit}")
    print(f"{'step':<34}{'loops':>8}{'capped':>8}{'seconds':>10}{'peak MB':>10}{'mean length':>13}")
    print(f"{'cli: symbiosis loops (end to end)':<34}{cli_search['loops_listed']:>8}{str(cli_search['capped']):>8}"
          f"{cli_seconds:>10.2f}{cli_peak:>10.0f}")
    print(f"{'symbiosis find_loops':<34}{ours['loops']:>8}{str(ours['capped']):>8}{ours['seconds']:>10.3f}"
          f"{ours['peak_mb']:>10.0f}{ours['mean_length']:>13.1f}")
    print(f"{'baseline simple_cycles, unbounded':<34}{base['loops']:>8}{'-':>8}{base['seconds']:>10.3f}"
          f"{base['peak_mb']:>10.0f}{base['mean_length']:>13.1f}")
    print(f"ratio find_loops / unbounded simple_cycles at the same count: {ours['seconds'] / base['seconds']:.2f}x")


if __name__ == "__main__":
    main()
