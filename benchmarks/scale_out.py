"""Benchmark: per-park metrics with intervals on the quick national store, in one process, on the local pool and on a
Dask cluster of 1 and 2 workers (each a process on 127.0.0.1), with a projection of the full national uncertainty run.

    python benchmarks/scale_out.py --store /tmp/natq/national.db          # a store of run_all.py --quick --keep
    python benchmarks/scale_out.py --store STORE --samples 50 --parks 254

Each run is ``symbiosis.fanout.run_by_park(store, "metrics", options=AnalysisOptions(samples=S))`` on the same
parks (nothing recorded). The scheduler and the workers are started as the README says (``--preload
symbiosis.fanout``, one thread a worker). The figures it prints:

- wall time of each way of running, and its ratio to one process (the plain baseline, same run);
- compute: the sum of the parks' own analysis seconds, as each task measured them where it ran;
- start-up: from the call until the first park's result, less that park's compute (opening the store, ordering
  the parks, connecting to the scheduler, the first tasks' travel): paid once a run, whatever its size;
- per-task overhead: (wall x workers - compute) / parks, what a park costs beyond its analysis (the client
  reading and shipping it, scheduling, results coming back; idle workers at the end), with the start-up
  spread over the parks, and without it ((wall - start-up) x workers - compute) / parks; each also as a
  share of the median park's compute in one process;
- what a park costs the client to read for shipping (median ms) and the bytes shipped per park;
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

from symbiosis.fanout import run_by_park  # noqa: E402
from symbiosis.pipeline import AnalysisOptions  # noqa: E402
from symbiosis.scenarios import ParkCopier  # noqa: E402
from symbiosis.store import open_store, park_ids  # noqa: E402

NATIONAL_PARKS = 2543
NATIONAL_SAMPLES = 1000


def _cluster(workers: int, folder: Path) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and ``workers`` single-threaded workers, each its own process on 127.0.0.1."""
    scheduler_file = folder / f"scheduler-{workers}.json"
    processes = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--dashboard-address", ":0", "--scheduler-file", str(scheduler_file), "--preload", "symbiosis.fanout"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    while not scheduler_file.exists():
        time.sleep(0.1)
    processes += [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file), "--nthreads",
         "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--preload", "symbiosis.fanout"],
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


def _timed(store: str, parks: list[str], options: AnalysisOptions, **how) -> dict:
    """One way of running: wall time, each park's compute and the start-up (the first result's arrival, less
    its park's compute)."""
    started = time.perf_counter()
    run = run_by_park(store, "metrics", parks, options=options, record=False, **how)
    wall = time.perf_counter() - started
    if len(run.failures):
        raise SystemExit(f"failed parks: {run.failures.to_dict('records')[:3]}")
    first = min(run.arrived, key=run.arrived.get)
    return {"wall": wall, "seconds": run.seconds, "startup": max(0.0, run.arrived[first] - run.seconds[first])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--parks", type=int, default=None, help="the first N parks (default: all)")
    args = parser.parse_args()
    db = open_store(args.store, create=False)
    parks = park_ids(db)[:args.parks] if args.parks else park_ids(db)
    options = AnalysisOptions(samples=args.samples, seed=1, default_quality="estimated")
    copier = ParkCopier(db)
    shipped, reading = [], []
    for park in parks:
        started = time.perf_counter()
        shipped.append(len(copier.payload(park)))
        reading.append(time.perf_counter() - started)
    runs = [("one process", 1, _timed(str(args.store), parks, options, jobs=1)),
            ("local pool, 2 processes", 2, _timed(str(args.store), parks, options, jobs=2))]
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 2):
            address, processes = _cluster(workers, Path(folder))
            try:
                measured = _timed(str(args.store), parks, options, scheduler=address)
            finally:
                _stop(processes)
            runs.append((f"Dask, {workers} worker{'s' if workers > 1 else ''} (127.0.0.1)", workers, measured))
    baseline = runs[0][2]
    median_compute = statistics.median(baseline["seconds"].values())
    print(f"metrics by park with --samples {args.samples}: {len(parks)} parks of {args.store}; median park compute "
          f"{median_compute * 1000:.0f} ms (one process); the client reads a park for shipping in "
          f"{statistics.median(reading) * 1000:.1f} ms (median), shipped per park: median "
          f"{statistics.median(shipped) / 1024:.0f} KiB, largest {max(shipped) / 1024:.0f} KiB")
    print("| run | workers | wall s | x one process | compute s | start-up s | overhead per task ms | "
          "/ median park | after start-up, ms | / median park |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    cluster = None
    for name, workers, measured in runs:
        wall, compute, startup = measured["wall"], sum(measured["seconds"].values()), measured["startup"]
        overall = max(0.0, (wall * workers - compute) / len(parks))
        steady = max(0.0, ((wall - startup) * workers - compute) / len(parks))
        if name.startswith("Dask, 2"):
            cluster = (steady, startup)
        print(f"| {name} | {workers} | {wall:.2f} | {baseline['wall'] / wall:.2f} | {compute:.2f} | {startup:.2f} | "
              f"{overall * 1000:.1f} | {overall / median_compute:.1%} | {steady * 1000:.1f} | "
              f"{steady / median_compute:.1%} |")
    # projection: a park's compute grows with its draws (one analysis per draw), so per park at 1,000 samples
    # = its measured compute x 1000 / samples; the parks here stand for the national ones (the quick store is
    # the national generator at a tenth); the cluster's per-task overhead and start-up as measured; no run can
    # end before its largest park does
    per_park = statistics.mean(baseline["seconds"].values()) * NATIONAL_SAMPLES / args.samples
    largest = max(baseline["seconds"].values()) * NATIONAL_SAMPLES / args.samples
    steady, startup = cluster or (0.0, 0.0)
    print(f"\nprojection, {NATIONAL_PARKS:,} parks x {NATIONAL_SAMPLES:,} samples (mean park compute {per_park:.1f} s "
          f"at {NATIONAL_SAMPLES:,} samples, largest {largest:.0f} s; + {steady * 1000:.0f} ms a task and "
          f"{startup:.1f} s once):")
    for workers in (1, 16, 128):
        hours = (max(NATIONAL_PARKS * (per_park + steady) / workers, largest) + startup) / 3600
        print(f"  {workers:>3} workers: {hours:.2f} h")


if __name__ == "__main__":
    main()
