"""Start-up time: `symbiosis --version`, `symbiosis --help` and `import symbiosis` beside a bare Python.

Each command runs 5 times in a fresh process; the script prints each median and its ratio to the bare
`python -c pass` measured in the same run (issue 18's bar: --version and --help under 0.3 s, the import under
0.5 s on this machine).

    python benchmarks/startup.py [--runs 5]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def _median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    script = shutil.which("symbiosis") or "symbiosis"
    cases = [("python -c pass (baseline)", [sys.executable, "-c", "pass"]),
             ("python -c 'import symbiosis'", [sys.executable, "-c", "import symbiosis"]),
             ("symbiosis --version", [script, "--version"]),
             ("symbiosis --help", [script, "--help"])]
    baseline = None
    print(f"| command | median of {runs} (s) | x baseline |\n| --- | ---: | ---: |")
    for label, command in cases:
        seconds = _median_seconds(command, runs)
        baseline = baseline or seconds
        print(f"| {label} | {seconds:.3f} | {seconds / baseline:.1f} |")


if __name__ == "__main__":
    main()
