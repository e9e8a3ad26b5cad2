"""Benchmark: neighbours within 50 km among 250,000 generated firms, spatial index vs brute force.

    python benchmarks/colocate.py                   # 250,000 firms in 2,543 parks, 50 km
    python benchmarks/colocate.py --firms 25000     # a tenth

- indexed: ``symbiosis.geo.neighbour_counts`` (scipy cKDTree on unit vectors, all cores) for every firm,
  and ``pairs_within`` (the call co-location uses) for a sample of firms against all firms.
- brute force: great-circle distance from each sampled firm to every firm (numpy, vectorised), the
  same sample, timed in the same run; its time for all firms is extrapolated from the sample.
The sample's neighbour sets must agree exactly between the two.
"""
from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from symbiosis.geo import haversine_km, neighbour_counts, pairs_within


def generate(n_firms: int, n_parks: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Parks scattered over eastern and central China, firms within a few km of their park."""
    rng = np.random.default_rng(seed)
    park_lat = rng.uniform(21.0, 46.0, n_parks)
    park_lon = rng.uniform(98.0, 123.0, n_parks)
    park = rng.integers(0, n_parks, n_firms)
    # about 3 km spread: 0.027 degrees of latitude
    lat = park_lat[park] + rng.normal(0, 0.027, n_firms)
    lon = park_lon[park] + rng.normal(0, 0.027, n_firms) / np.cos(np.radians(park_lat[park]))
    return lat, lon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=250_000)
    parser.add_argument("--parks", type=int, default=2543)
    parser.add_argument("--radius-km", type=float, default=50.0)
    parser.add_argument("--sample", type=int, default=1000)
    args = parser.parse_args()
    lat, lon = generate(args.firms, args.parks)
    sample = np.random.default_rng(2).choice(args.firms, size=min(args.sample, args.firms), replace=False)

    started = time.perf_counter()
    counts = neighbour_counts(lat, lon, args.radius_km)
    indexed_all = time.perf_counter() - started

    started = time.perf_counter()
    i, j, _ = pairs_within(lat[sample], lon[sample], lat, lon, args.radius_km)
    indexed_sample = time.perf_counter() - started

    started = time.perf_counter()
    brute_pairs = []
    for firm in sample:
        near = np.flatnonzero(haversine_km(lat[firm], lon[firm], lat, lon) <= args.radius_km)
        brute_pairs.append(near)
    brute_sample = time.perf_counter() - started

    indexed_sets = [set() for _ in sample]
    for a, b in zip(i.tolist(), j.tolist()):
        indexed_sets[a].add(b)
    agree = all(indexed_sets[row] == set(near.tolist()) for row, near in enumerate(brute_pairs))
    counts_agree = all(counts[firm] == len(near) for firm, near in zip(sample, brute_pairs))
    brute_all = brute_sample * args.firms / len(sample)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.firms:,} firms in {args.parks:,} parks, radius {args.radius_km:g} km, {os.cpu_count()} cores; "
          f"mean neighbours per firm {counts.mean():.1f}")
    print(f"{'step':<46}{'firms':>10}{'seconds':>10}")
    print(f"{'indexed: neighbour_counts, every firm':<46}{args.firms:>10,}{indexed_all:>10.2f}")
    print(f"{'indexed: pairs_within, sample vs all':<46}{len(sample):>10,}{indexed_sample:>10.3f}")
    print(f"{'brute force: haversine to all, sample':<46}{len(sample):>10,}{brute_sample:>10.2f}")
    print(f"{'brute force: every firm (extrapolated)':<46}{args.firms:>10,}{brute_all:>10.0f}")
    print(f"speed-up on the sample: {brute_sample / indexed_sample:.0f}x; every firm indexed vs brute force "
          f"(extrapolated): {brute_all / indexed_all:.0f}x; neighbour sets agree: {agree}; counts agree: "
          f"{counts_agree}; peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
