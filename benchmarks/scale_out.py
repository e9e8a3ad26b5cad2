"""Benchmark: per-park metrics with intervals on the quick national store, in one process, on the local pool and on a
Dask cluster of 1 and 2 workers (each a process on 127.0.0.1), with a projection of the full national uncertainty run.

    python benchmarks/scale_out.py --store /tmp/natq/national.db          # a store of run_all.py --quick --keep
    python benchmarks/scale_out.py --store STORE --samples 50 --parks 254

Each run is ``symbiosis.fanout.run_by_park(store, "metrics", options=AnalysisOptions(samples=S))`` on the same
parks (nothing recorded). The figures it prints:

- wall time of each way of running, and its ratio to one process (the plain baseline, same run);
- compute: the sum of the parks' own analysis seconds, as each task measured them where it ran;
- per-task overhead: (wall time x workers - compute) / parks, what a park costs beyond its analysis (shipping,
  scheduling, the client writing nothing here), and that as a share of the median park's compute;
- bytes shipped per park to a cluster worker (the park's rows as an in-memory SQLite database);
- a projection of the full national uncertainty run (2,543 parks x 1,000 samples) for 1, 16 and 128 workers.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from symbiosis.fanout import park_payload, run_by_park  # noqa: E402
from symbiosis.pipeline import AnalysisOptions  # noqa: E402
from symbiosis.store import open_store, park_ids  # noqa: E402

NATIONAL_PARKS = 2543
NATIONAL_SAMPLES = 1000


def _cluster(workers: int, folder: Path) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and ``workers`` single-threaded workers, each its own process on 127.0.0.1."""
    scheduler_file = folder / f"scheduler-{workers}.json"
    processes = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--dashboard-address", ":0", "--scheduler-file", str(scheduler_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    while not scheduler_file.exists():
        time.sleep(0.1)
    processes += [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file), "--nthreads",
         "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True) for _ in range(workers)]
    address = json.loads(scheduler_file.read_text())["address"]
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(workers, timeout=60)
    return address, processes


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _timed(store: str, parks: list[str], options: AnalysisOptions, **how) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    run = run_by_park(store, "metrics", parks, options=options, record=False, **how)
    wall = time.perf_counter() - started
    if len(run.failures):
        raise SystemExit(f"failed parks: {run.failures.to_dict('records')[:3]}")
    return wall, run.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--parks", type=int, default=None, help="the first N parks (default: all)")
    args = parser.parse_args()
    db = open_store(args.store, create=False)
    parks = park_ids(db)[:args.parks] if args.parks else park_ids(db)
    options = AnalysisOptions(samples=args.samples, seed=1, default_quality="estimated")
    shipped = [len(park_payload(db, park)) for park in parks]
    rows = []
    wall, seconds = _timed(str(args.store), parks, options, jobs=1)
    baseline = wall
    rows.append(("one process", 1, wall, seconds))
    wall, seconds = _timed(str(args.store), parks, options, jobs=2)
    rows.append(("local pool, 2 processes", 2, wall, seconds))
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 2):
            address, processes = _cluster(workers, Path(folder))
            try:
                wall, seconds = _timed(str(args.store), parks, options, scheduler=address)
            finally:
                _stop(processes)
            rows.append((f"Dask, {workers} worker{'s' if workers > 1 else ''} (127.0.0.1)", workers, wall, seconds))
    median_compute = statistics.median(rows[0][3].values())
    print(f"metrics by park with --samples {args.samples}: {len(parks)} parks of {args.store}; median park compute "
          f"{median_compute * 1000:.0f} ms (one process); shipped per park to a cluster worker: median "
          f"{statistics.median(shipped) / 1024:.0f} KiB, largest {max(shipped) / 1024:.0f} KiB")
    print("| run | workers | wall s | x one process | compute s | overhead per task ms | overhead / median park |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    cluster_overhead = None
    for name, workers, wall, seconds in rows:
        compute = sum(seconds.values())
        overhead = max(0.0, (wall * workers - compute) / len(parks))
        if name.startswith("Dask, 2"):
            cluster_overhead = overhead
        print(f"| {name} | {workers} | {wall:.2f} | {baseline / wall:.2f} | {compute:.2f} | {overhead * 1000:.1f} | "
              f"{overhead / median_compute:.1%} |")
    # projection: a park's compute grows with its draws (one analysis per draw), so per park at 1,000 samples
    # = its measured compute x 1000 / samples; the parks here stand for the national ones (the quick store is
    # the national generator at a tenth: same park sizes); the cluster's per-task overhead as measured
    per_park = statistics.mean(rows[0][3].values()) * NATIONAL_SAMPLES / args.samples
    overhead = cluster_overhead or 0.0
    print(f"\nprojection, {NATIONAL_PARKS:,} parks x {NATIONAL_SAMPLES:,} samples (mean park compute "
          f"{per_park:.1f} s at {NATIONAL_SAMPLES:,} samples, + {overhead * 1000:.0f} ms a task):")
    for workers in (1, 16, 128):
        hours = NATIONAL_PARKS * (per_park + overhead) / workers / 3600
        print(f"  {workers:>3} workers: {hours:.1f} h")


if __name__ == "__main__":
    main()
