"""Great-circle distances."""
from __future__ import annotations

import numpy as np

__all__ = ["EARTH_RADIUS_KM", "haversine_km", "unit_vectors", "pairs_within", "nearest_within", "neighbour_counts",
           "nearest", "centroid"]

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees (arrays broadcast).

    Examples
    --------
    >>> round(float(haversine_km(55.68, 11.09, 55.68, 12.57)), 1)  # Kalundborg to Copenhagen
    92.8
    """
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(value, dtype=float)) for value in (lat1, lon1, lat2, lon2))
    half_chord = (np.sin((lat2 - lat1) / 2) ** 2
                  + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(half_chord, 0.0, 1.0)))


def unit_vectors(lat, lon) -> np.ndarray:
    """Points on the unit sphere (n x 3) for degrees lat/lon: chord distance grows with great-circle distance."""
    lat, lon = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def _chord(radius_km: float) -> float:
    angle = min(radius_km / EARTH_RADIUS_KM, np.pi)
    return 2 * np.sin(angle / 2)


def pairs_within(lat_a, lon_a, lat_b, lon_b, radius_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i in a, j in b) closer than ``radius_km``, found with a KD-tree on unit vectors.

    A great-circle radius is a chord radius on the unit sphere, so a 3-d ``scipy.spatial.cKDTree``
    answers it exactly, in about O((n + m) log m + pairs) instead of O(n m).

    Returns
    -------
    i, j : ndarray of int
        Indices into a and b.
    distance_km : ndarray
        Great-circle distance of each pair.

    Examples
    --------
    >>> i, j, d = pairs_within([55.68], [11.09], [55.66, 57.05], [11.08, 9.92], 50)
    >>> j.tolist(), round(float(d[0]), 2)
    ([0], 2.31)
    """
    from scipy.spatial import cKDTree

    a, b = unit_vectors(lat_a, lon_a), unit_vectors(lat_b, lon_b)
    if len(a) == 0 or len(b) == 0:
        empty = np.zeros(0, dtype=int)
        return empty, empty, np.zeros(0)
    pairs = cKDTree(a).sparse_distance_matrix(cKDTree(b), _chord(radius_km), output_type="coo_matrix")
    i, j = pairs.row.astype(int), pairs.col.astype(int)
    # Coincident points have chord 0, which the sparse result omits: add them back.
    same = cKDTree(a).query_ball_tree(cKDTree(b), 1e-12)
    extra = [(row, col) for row, cols in enumerate(same) for col in cols]
    if extra:
        rows, cols = np.array(extra).T
        i, j = np.concatenate([i, rows]), np.concatenate([j, cols])
        order = np.lexsort((j, i))
        keep = np.ones(len(order), dtype=bool)
        ii, jj = i[order], j[order]
        keep[1:] = (ii[1:] != ii[:-1]) | (jj[1:] != jj[:-1])
        i, j = ii[keep], jj[keep]
    distance = haversine_km(np.asarray(lat_a, dtype=float)[i], np.asarray(lon_a, dtype=float)[i],
                            np.asarray(lat_b, dtype=float)[j], np.asarray(lon_b, dtype=float)[j])
    return i, j, distance


def nearest_within(lat_a, lon_a, lat_b, lon_b, radius_km: float, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point of b, its ``k`` nearest points of a within ``radius_km`` (one KD-tree query).

    Bounds a candidate set at national scale: every demand keeps its k nearest offers, however dense
    the region. Returns ``(i, j, distance_km)`` like :func:`pairs_within`.
    """
    from scipy.spatial import cKDTree

    a, b = unit_vectors(lat_a, lon_a), unit_vectors(lat_b, lon_b)
    if len(a) == 0 or len(b) == 0 or k < 1:
        empty = np.zeros(0, dtype=int)
        return empty, empty, np.zeros(0)
    k = min(k, len(a))
    chord, index = cKDTree(a).query(b, k=k, distance_upper_bound=_chord(radius_km))
    chord, index = chord.reshape(len(b), k), index.reshape(len(b), k)
    found = np.isfinite(chord)
    j, column = np.nonzero(found)
    i = index[j, column]
    distance = haversine_km(np.asarray(lat_a, dtype=float)[i], np.asarray(lon_a, dtype=float)[i],
                            np.asarray(lat_b, dtype=float)[j], np.asarray(lon_b, dtype=float)[j])
    return i.astype(int), j.astype(int), distance


def neighbour_counts(lat, lon, radius_km: float, *, workers: int = -1) -> np.ndarray:
    """How many points lie within ``radius_km`` of each point (itself included), without listing pairs.

    For nationwide data the pairs themselves may not fit in memory; the counts do. ``workers=-1`` uses
    every core.
    """
    from scipy.spatial import cKDTree

    points = unit_vectors(lat, lon)
    return np.asarray(cKDTree(points).query_ball_point(points, _chord(radius_km), workers=workers,
                                                       return_length=True))


def nearest(lat, lon, target_lat, target_lon) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest target for each point, and its great-circle distance in km."""
    from scipy.spatial import cKDTree

    points, targets = unit_vectors(lat, lon), unit_vectors(target_lat, target_lon)
    _, index = cKDTree(targets).query(points)
    index = np.asarray(index, dtype=int)
    distance = haversine_km(lat, lon, np.asarray(target_lat, dtype=float)[index],
                            np.asarray(target_lon, dtype=float)[index])
    return index, distance


def centroid(lat, lon, weights=None) -> tuple[float, float]:
    """Weighted centre of points on the sphere (mean of unit vectors, projected back)."""
    vectors = unit_vectors(lat, lon)
    weights = np.ones(len(vectors)) if weights is None else np.asarray(weights, dtype=float)
    x, y, z = (vectors * weights[:, None]).sum(axis=0)
    return float(np.degrees(np.arctan2(z, np.hypot(x, y)))), float(np.degrees(np.arctan2(y, x)))
