"""A synthetic national dataset of Chinese industrial parks, in the tool's own CSV format.

:func:`generate_dataset` writes ``parks.csv``, ``enterprises.csv``, ``flows.csv``, ``offers.csv``,
``demands.csv``, ``emissions.csv``, ``energy_use.csv`` and ``offsets.csv`` into a folder: by default
2,543 parks, 250,000 firms and 1,000,000 flows, for benchmarks and for trying the analyses at national
scale. Everything is SYNTHETIC: the parks are not real parks and no figure is a measurement.

The tables it draws from (provinces, sectors and what they give, take and burn, park profiles, firm-name
brands, ...) are data files in ``datasets/synthetic/``, read by :func:`load_tables`; that folder's
``SOURCES.md`` says, column by column, which figures are cited and which are invented.

How the data are made (all vectorised numpy; the same seed gives byte-identical files):

- Parks lie around about 30 provincial industrial centres, weighted towards the east coast and the
  Yangtze and Pearl River deltas; ``region`` is the province. Park sizes are skewed (lognormal): a few
  parks hold hundreds of firms, many hold a few dozen. Each park has a profile (chemical, metallurgy,
  building materials, light industry, high-tech, circular economy, comprehensive) that tilts its sector
  mix; a park of three firms or more has a central heat or power plant, one of five or more a
  wastewater plant, as Chinese parks usually do.
- Firms carry NACE Rev. 2 sector codes (the codes of ``datasets/factors/resource_sectors.csv``) and
  lognormal output value and staff by sector, and sit within a few km of their park's centre.
- Flows: about 87.5 % between firms of the same park, 6.5 % to a firm of a park within 150 km, 6 %
  across the boundary (imports; exports to landfill, air, sewer, grid or market). The resource is one the
  source's sector typically gives; the target is, where the park has one, a firm whose sector typically
  takes it. Quantities are lognormal in the resource's canonical unit (a few % written in other units such
  as kt/yr, GJ/yr or a fuel's tonnes, to exercise conversion), and about 5 % are unknown (left empty).
- Offers and demands (about 0.3 per firm each) come from the sector's typical outputs and inputs
  (demands include the virgin supplies that by-products substitute: clinker, natural gypsum, fresh
  water, district heat, natural gas ...). Emissions: one row per firm; energy use: 1-3 carriers per firm,
  renewable by a park-level share between 5 and 80 %; offsets for about a quarter of the parks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .datasets import catalogue_path
from .errors import InputError, ShippedDataError
from .geo import EARTH_RADIUS_KM, haversine_km, unit_vectors
from .synthetic import (HEAT_PLANT, POWER_PLANT, WASTEWATER_PLANT, ParkProfile, Province, Sector, SyntheticTables,
                        load_tables)
from .units import CANONICAL_UNIT

# SECTORS and PROVINCES (the shipped tables, as before) are still importable: see __getattr__ at the end
__all__ = ["generate_dataset", "load_tables", "SyntheticTables", "Sector", "Province", "ParkProfile"]

YEAR = 2024
#: share of flows between firms of one park, between firms of nearby parks; the rest cross the boundary
SHARE_SAME_PARK = 0.875
SHARE_NEARBY_PARK = 0.065
NEARBY_KM = 150.0
NEIGHBOURS = 8
ROAD_FACTOR = 1.3  # road distance / great-circle distance
SHARE_UNKNOWN_QUANTITY = 0.05
SHARE_OTHER_UNIT = 0.04
_LAT_RANGE = (18.2, 48.0)
_LON_RANGE = (75.0, 134.0)


def generate_dataset(out: str | os.PathLike, *, parks: int = 2543, firms: int = 250_000, flows: int = 1_000_000,
                     seed: int = 0) -> dict[str, int]:
    """Write a synthetic national dataset of Chinese industrial parks as CSV files in ``out``.

    Parameters
    ----------
    out : path-like
        Folder for the files (created if missing; files of the same names are overwritten).
    parks, firms, flows : int
        How many parks, enterprises and flows to make (``firms >= parks >= 1``).
    seed : int
        Seed of the numpy random generator: the same seed gives byte-identical files.

    Returns
    -------
    dict
        Rows written per file name, e.g. ``{"parks.csv": 2543, "enterprises.csv": 250000, ...}``. A
        table other than parks, enterprises and flows that would have no rows (offsets of a handful of
        parks) is not written, since the importer refuses a file with a header and no data.

    Raises
    ------
    InputError
        Sizes out of range.
    ShippedDataError
        The generator's tables (``datasets/synthetic/``) or the resource catalogue missing from this
        installation.

    Examples
    --------
    >>> import tempfile
    >>> counts = generate_dataset(tempfile.mkdtemp(), parks=20, firms=2000, flows=8000, seed=1)
    >>> counts["flows.csv"]
    8000
    """
    if parks < 1 or firms < parks or flows < 0:
        raise InputError("need parks >= 1, firms >= parks and flows >= 0")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    model = _Model.build(load_tables())

    park = _make_parks(rng, model.tables, parks)
    firm = _make_firms(rng, model, park, firms)
    flow = _make_flows(rng, model, park, firm, flows)
    offers = _make_exchanges(rng, model, firm, "O", model.out_cdf, model.out_median, 0.3)
    demands = _make_exchanges(rng, model, firm, "D", model.in_cdf, model.in_median, 0.3)
    emissions = _make_emissions(rng, model, firm)
    energy = _make_energy(rng, model, park, firm)
    offsets = _make_offsets(rng, model.tables, park)

    frames = {
        "parks.csv": pd.DataFrame({"id": park["id"], "name": park["name"], "country": "CN",
                                   "region": park["region"], "lat": park["lat"], "lon": park["lon"]}),
        "enterprises.csv": firm["frame"],
        "flows.csv": flow,
        "offers.csv": offers,
        "demands.csv": demands,
        "emissions.csv": emissions,
        "energy_use.csv": energy,
        "offsets.csv": offsets,
    }
    counts: dict[str, int] = {}
    for name, frame in frames.items():
        if len(frame) or name in ("parks.csv", "enterprises.csv", "flows.csv"):
            _write_csv(frame, folder / name)  # an optional table with no rows is left out
            counts[name] = len(frame)
        else:
            (folder / name).unlink(missing_ok=True)
    return counts


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write with numbers as text made by numpy (pandas' float_format runs in Python, per cell)."""
    frame = frame.copy(deep=False)
    for column in frame.columns:
        if frame[column].dtype.kind == "f":
            frame[column] = _number_text(frame[column].to_numpy())
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _number_text(values: np.ndarray) -> np.ndarray:
    """Floats as short text: whole numbers without '.0', others by their shortest repr, NaN empty."""
    text = np.full(len(values), "", dtype=object)
    finite = np.isfinite(values)
    whole = finite & (values == np.round(values)) & (np.abs(values) < 1e15)
    text[whole] = values[whole].astype(np.int64).astype(str)
    rest = finite & ~whole
    text[rest] = values[rest].astype(str)
    return text


# --------------------------------------------------------------------------------------------------
# lookup tables built once from the tables and the catalogue


@dataclass
class _Model:
    tables: SyntheticTables
    codes: list[str]  # resource codes (index = resource number)
    kinds: np.ndarray  # kind per resource (object)
    energy_t: np.ndarray  # MWh per t (nan if none)
    energy_m3: np.ndarray  # MWh per m3 (nan if none)
    out_cdf: np.ndarray  # [S, R] cumulative output weights per sector
    out_cdf_far: np.ndarray  # [S, R] the same, for flows to another park (local resources damped)
    in_cdf: np.ndarray  # [S, R]
    out_median: np.ndarray  # [S, R]
    in_median: np.ndarray  # [S, R]
    in_lists: list[np.ndarray]  # per sector: resources it takes
    carriers: list[str]
    carrier_logw: np.ndarray  # [S, C] log weight (-inf: sector does not use it)
    carrier_median: np.ndarray  # [S, C]

    @classmethod
    def build(cls, tables: SyntheticTables) -> _Model:
        path = catalogue_path()
        if path is None:
            raise ShippedDataError("the resource catalogue is missing from this installation of symbiosis")
        # read as before the tables moved, so energy contents parse to the same floats
        catalogue = pd.read_csv(path, dtype={"code": str, "kind": str})
        known = dict(zip(catalogue["code"], catalogue["kind"]))
        sectors = tables.sectors
        used = sorted({code for sector in sectors for code in (*sector.outputs, *sector.inputs)})  # all known
        index = {code: number for number, code in enumerate(used)}
        by_code = catalogue.set_index("code")
        n_sectors, n_resources = len(sectors), len(used)
        out_w = np.zeros((n_sectors, n_resources))
        in_w = np.zeros((n_sectors, n_resources))
        out_median = np.zeros((n_sectors, n_resources))
        in_median = np.zeros((n_sectors, n_resources))
        for s, sector in enumerate(sectors):
            for code, (weight, median) in sector.outputs.items():
                out_w[s, index[code]], out_median[s, index[code]] = weight, median
            for code, (weight, median) in sector.inputs.items():
                in_w[s, index[code]], in_median[s, index[code]] = weight, median
        far = np.array([0.03 if code in tables.stays_in_park else 1.0 for code in used])
        carriers = sorted({carrier for sector in sectors for carrier in sector.carriers})
        carrier_logw = np.full((n_sectors, len(carriers)), -np.inf)
        carrier_median = np.zeros((n_sectors, len(carriers)))
        for s, sector in enumerate(sectors):
            for carrier, (weight, median) in sector.carriers.items():
                c = carriers.index(carrier)
                carrier_logw[s, c], carrier_median[s, c] = np.log(weight), median
        return cls(
            tables=tables, codes=used,
            kinds=np.array([known[code] for code in used], dtype=object),
            energy_t=pd.to_numeric(by_code.loc[used, "energy_mwh_per_t"]).to_numpy(dtype=float),
            energy_m3=pd.to_numeric(by_code.loc[used, "energy_mwh_per_m3"]).to_numpy(dtype=float),
            out_cdf=_cdf(out_w), out_cdf_far=_cdf(out_w * far), in_cdf=_cdf(in_w),
            out_median=out_median, in_median=in_median,
            in_lists=[np.flatnonzero(row) for row in in_w],
            carriers=carriers, carrier_logw=carrier_logw, carrier_median=carrier_median,
        )


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights, axis=1)
    return cdf / cdf[:, -1:]


def _draw_rows(rng: np.random.Generator, cdf: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category per entry of ``rows`` from that row's cumulative distribution (vectorised)."""
    n_cols = cdf.shape[1]
    flat = (cdf + np.arange(cdf.shape[0])[:, None]).ravel()  # rows stacked on one increasing axis
    draws = np.searchsorted(flat, rows + rng.random(len(rows)), side="right")
    return np.minimum(draws - rows * n_cols, n_cols - 1)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """``prefix`` + zero-padded 1..n, as an object array, without a Python loop."""
    width = max(width, len(str(n)))
    numbers = np.arange(1, n + 1, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    chars = np.empty((n, len(prefix) + width), dtype=np.uint8)
    chars[:, :len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    chars[:, len(prefix):] = (numbers[:, None] // powers) % 10 + ord("0")
    return chars.view(f"S{chars.shape[1]}").ravel().astype(str).astype(object)


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float, size: int) -> np.ndarray:
    return np.asarray(median, dtype=float) * np.exp(sigma * rng.standard_normal(size))


# --------------------------------------------------------------------------------------------------
# parks and firms


def _make_parks(rng: np.random.Generator, tables: SyntheticTables, n: int) -> dict[str, Any]:
    provinces = tables.provinces
    weights = np.array([row.park_weight for row in provinces])
    province = rng.choice(len(provinces), size=n, p=weights / weights.sum())
    centre_lat = np.array([row.lat for row in provinces])[province]
    centre_lon = np.array([row.lon for row in provinces])[province]
    spread_lat = np.array([row.spread_lat_deg for row in provinces])[province]
    spread_lon = np.array([row.spread_lon_deg for row in provinces])[province]
    lat = np.clip(centre_lat + spread_lat * rng.standard_normal(n), *_LAT_RANGE).round(4)
    lon = np.clip(centre_lon + spread_lon * rng.standard_normal(n), *_LON_RANGE).round(4)
    region = np.array([row.name for row in provinces], dtype=object)[province]
    heavy = np.array([row.heavy_industry for row in provinces])[province]
    shares = np.array([(profile.share_ordinary, profile.share_heavy) for profile in tables.profiles])  # [profile, 2]
    cdf = np.cumsum(shares / shares.sum(axis=0), axis=0).T  # [2, profile]
    profile = _draw_rows(rng, cdf, heavy.astype(np.int64))
    ids = _ids("P", n, 4)
    numbers = pd.Series(ids).str.slice(1)
    names = ("Park " + numbers + " (" + pd.Series(region) + ")").to_numpy(dtype=object)
    renewable = np.round(0.05 + 0.75 * rng.beta(1.3, 2.2, n), 3)  # target renewable share, 5-80 %
    return {"n": n, "id": ids, "name": names, "region": region, "lat": lat, "lon": lon, "profile": profile,
            "renewable": renewable}


def _sector_cdf_by_profile(tables: SyntheticTables) -> np.ndarray:
    base = np.array([sector.weight for sector in tables.sectors])
    rows = []
    for profile in tables.profiles:
        weights = base.copy()
        for s, sector in enumerate(tables.sectors):
            for prefix, factor in profile.tilts:
                if sector.code.startswith(prefix):
                    weights[s] *= factor
        rows.append(weights)
    return _cdf(np.array(rows))


def _make_firms(rng: np.random.Generator, model: _Model, park: dict[str, Any], n: int) -> dict[str, Any]:
    sectors = model.tables.sectors
    n_parks = park["n"]
    floor = 2 if n >= 2 * n_parks else 1
    size = rng.lognormal(0.0, 1.1, n_parks)
    counts = floor + rng.multinomial(n - floor * n_parks, size / size.sum())
    park_of = np.repeat(np.arange(n_parks), counts)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(n) - starts[park_of]  # position of the firm inside its park

    sector = _draw_rows(rng, _sector_cdf_by_profile(model.tables), park["profile"][park_of])
    codes = [sector_.code for sector_ in sectors]
    # Chinese parks run a central heat (or power) plant and a wastewater plant
    utility = np.where(rng.random(n) < 0.8, codes.index(HEAT_PLANT), codes.index(POWER_PLANT))
    sector = np.where((rank == 0) & (counts[park_of] >= 3), utility, sector)
    sector = np.where((rank == 1) & (counts[park_of] >= 5), codes.index(WASTEWATER_PLANT), sector)

    output_median = np.array([s.output_mcny for s in sectors])[sector]
    output = _lognormal(rng, output_median, 0.9, n)
    size_factor = np.clip((output / output_median) ** 0.8, 0.02, 50.0)
    staff = np.array([s.employees for s in sectors])[sector] * (output / output_median) ** 0.7
    staff = np.maximum(np.rint(staff * np.exp(0.4 * rng.standard_normal(n))), 5).astype(np.int64)

    radius_km = np.minimum(0.6 + 0.2 * np.sqrt(counts[park_of]), 5.0)  # spread of a park, km
    lat0, lon0 = park["lat"][park_of], park["lon"][park_of]
    lat = np.clip(lat0 + radius_km * rng.standard_normal(n) / 111.2, *_LAT_RANGE)
    lon = np.clip(lon0 + radius_km * rng.standard_normal(n) / (111.2 * np.cos(np.radians(lat0))), *_LON_RANGE)
    lat, lon = lat.round(5), lon.round(5)

    ids = _ids("E", n, 6)
    brands = model.tables.brands
    brand = np.array(brands, dtype=object)[rng.integers(0, len(brands), n)]
    short = np.array([s.short for s in sectors], dtype=object)[sector]
    names = brand + " " + short + " Co., Ltd."
    frame = pd.DataFrame({
        "id": ids, "name": names, "park_id": park["id"][park_of],
        "sector_code": np.array(codes, dtype=object)[sector],
        "sector_name": np.array([s.name for s in sectors], dtype=object)[sector],
        "lat": lat, "lon": lon, "output_value_mcny": output.round(2), "employees": staff,
    })
    return {"n": n, "id": ids, "park": park_of, "sector": sector, "size": size_factor, "lat": lat, "lon": lon,
            "park_start": starts, "park_count": counts, "frame": frame}


# --------------------------------------------------------------------------------------------------
# flows


class _Takers:
    """For each (park, resource): the firms of that park whose sector takes the resource."""

    def __init__(self, model: _Model, firm: dict[str, Any], n_parks: int):
        per_sector = np.array([len(items) for items in model.in_lists])
        flat = np.concatenate(model.in_lists)
        offsets = np.concatenate(([0], np.cumsum(per_sector)[:-1]))
        n_in = per_sector[firm["sector"]]
        entry_firm = np.repeat(np.arange(firm["n"]), n_in)
        position = np.arange(len(entry_firm)) - np.repeat(np.cumsum(n_in) - n_in, n_in)
        entry_resource = flat[offsets[firm["sector"][entry_firm]] + position]
        self.n_resources = len(model.codes)
        key = firm["park"][entry_firm].astype(np.int64) * self.n_resources + entry_resource
        order = np.argsort(key, kind="stable")
        self.firm = entry_firm[order]
        boundaries = np.searchsorted(key[order], np.arange(n_parks * self.n_resources + 1))
        self.start = boundaries[:-1]
        self.count = np.diff(boundaries)

    def pick(self, rng: np.random.Generator, park: np.ndarray, resource: np.ndarray,
             exclude: np.ndarray | None) -> np.ndarray:
        """A taker firm per entry, or -1 where the park has none (other than ``exclude``)."""
        key = park.astype(np.int64) * self.n_resources + resource
        start, count = self.start[key], self.count[key]
        k = np.floor(rng.random(len(key)) * count).astype(np.int64)
        found = count > 0
        target = np.where(found, self.firm[np.minimum(start + k, len(self.firm) - 1)], -1)
        if exclude is not None:
            clash = found & (target == exclude)
            other = self.firm[np.minimum(start + (k + 1) % np.maximum(count, 1), len(self.firm) - 1)]
            target = np.where(clash, np.where(count > 1, other, -1), target)
        return target


def _neighbours(park: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Up to NEIGHBOURS other parks within NEARBY_KM of each park: (index matrix, count per park)."""
    from scipy.spatial import cKDTree

    n = park["n"]
    k = min(NEIGHBOURS + 1, n)
    points = unit_vectors(park["lat"], park["lon"])
    chord = 2 * np.sin(NEARBY_KM / EARTH_RADIUS_KM / 2)
    distance, index = cKDTree(points).query(points, k=k, distance_upper_bound=chord)
    index = index.reshape(n, k)
    valid = (index < n) & (index != np.arange(n)[:, None])
    # valid entries first, in order of distance
    order = np.argsort(~valid, axis=1, kind="stable")
    index = np.take_along_axis(np.where(valid, index, -1), order, axis=1)
    return index, valid.sum(axis=1)


def _pick_sources(rng: np.random.Generator, model: _Model, firm: dict[str, Any], n: int,
                  eligible: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    propensity = np.array([s.propensity for s in model.tables.sectors])[firm["sector"]]
    weights = propensity * np.sqrt(firm["size"]) * eligible
    return rng.choice(firm["n"], size=n, p=weights / weights.sum())


def _make_flows(rng: np.random.Generator, model: _Model, park: dict[str, Any], firm: dict[str, Any],
                n: int) -> pd.DataFrame:
    sector, park_of = firm["sector"], firm["park"]
    counts = firm["park_count"]
    near, near_count = _neighbours(park)
    can_local = counts[park_of] >= 2
    can_far = near_count[park_of] > 0
    n_local = round(n * SHARE_SAME_PARK) if can_local.any() else 0
    n_far = round(n * SHARE_NEARBY_PARK) if can_far.any() else 0
    if n_local == 0 and can_far.any():
        n_far = round(n * (SHARE_SAME_PARK + SHARE_NEARBY_PARK))
    elif n_far == 0 and n_local:
        n_local = round(n * (SHARE_SAME_PARK + SHARE_NEARBY_PARK))
    n_boundary = n - n_local - n_far
    takers = _Takers(model, firm, park["n"])

    # -- within a park
    source = _pick_sources(rng, model, firm, n_local, can_local)
    home = park_of[source]
    resource = np.zeros(n_local, dtype=np.int64)
    target = np.full(n_local, -1, dtype=np.int64)
    for _ in range(4):  # redraw the resource where the park has no taker for it
        todo = np.flatnonzero(target < 0)
        if not len(todo):
            break
        resource[todo] = _draw_rows(rng, model.out_cdf, sector[source[todo]])
        target[todo] = takers.pick(rng, home[todo], resource[todo], source[todo])
    todo = np.flatnonzero(target < 0)  # no taker at all: any other firm of the park
    if len(todo):
        start, count = firm["park_start"][home[todo]], counts[home[todo]]
        shift = 1 + np.floor(rng.random(len(todo)) * (count - 1)).astype(np.int64)
        target[todo] = start + (source[todo] - start + shift) % count
    local = (source, target, resource)

    # -- to a firm of a park within NEARBY_KM
    source = _pick_sources(rng, model, firm, n_far, can_far)
    home = park_of[source]
    resource = np.zeros(n_far, dtype=np.int64)
    target = np.full(n_far, -1, dtype=np.int64)
    other = np.zeros(n_far, dtype=np.int64)
    for _ in range(4):
        todo = np.flatnonzero(target < 0)
        if not len(todo):
            break
        choice = np.floor(rng.random(len(todo)) * near_count[home[todo]]).astype(np.int64)
        other[todo] = near[home[todo], choice]
        resource[todo] = _draw_rows(rng, model.out_cdf_far, sector[source[todo]])
        target[todo] = takers.pick(rng, other[todo], resource[todo], None)
    todo = np.flatnonzero(target < 0)
    if len(todo):
        start, count = firm["park_start"][other[todo]], counts[other[todo]]
        target[todo] = start + np.floor(rng.random(len(todo)) * count).astype(np.int64)
    far = (source, target, resource)

    # -- across the park boundary: imports (to a firm) and exports (from a firm)
    n_import = round(n_boundary * 0.4)
    n_export = n_boundary - n_import
    everyone = np.ones(firm["n"], dtype=bool)
    importer = _pick_sources(rng, model, firm, n_import, everyone)
    import_resource = _draw_rows(rng, model.in_cdf, sector[importer])
    exporter = _pick_sources(rng, model, firm, n_export, everyone)
    export_resource = _draw_rows(rng, model.out_cdf, sector[exporter])

    source = np.concatenate([local[0], far[0], np.full(n_import, -1), exporter])
    target = np.concatenate([local[1], far[1], importer, np.full(n_export, -1)])
    resource = np.concatenate([local[2], far[2], import_resource, export_resource])
    # a firm-to-firm flow carries part of what the source gives; an import part of what the target takes
    giver = np.where(source >= 0, source, target)
    median = np.where(source >= 0, model.out_median[sector[giver], resource], model.in_median[sector[giver], resource])
    share = np.where(np.arange(n) < n_local + n_far, rng.uniform(0.1, 0.9, n), rng.uniform(0.3, 1.0, n))
    quantity = np.maximum(np.rint(_lognormal(rng, median, 0.8, n) * firm["size"][giver] * share), 1.0)

    kinds = model.kinds[resource]
    codes = np.array(model.codes, dtype=object)
    boundary = np.full(n, "", dtype=object)
    boundary[source < 0] = "import"
    exports = target < 0
    export_code = codes[resource]
    label = np.where(kinds == "co2", "air",
                     np.where(np.isin(export_code, sorted(model.tables.to_sewer)), "sewer",
                              np.where(export_code == "electricity", "grid",
                                       np.where(kinds == "waste",
                                                np.where(rng.random(n) < 0.8, "landfill", "export"), "export"))))
    boundary[exports] = label[exports]

    distance = np.full(n, np.nan)
    span = slice(n_local, n_local + n_far)
    s_far, t_far = far[0], far[1]
    distance[span] = (haversine_km(firm["lat"][s_far], firm["lon"][s_far], firm["lat"][t_far], firm["lon"][t_far])
                      * ROAD_FACTOR).round(1)
    roll = rng.random(n)
    status = np.where(roll < 0.03, "planned", np.where(roll < 0.07, "potential", "existing")).astype(object)

    quantity_text, unit = _units(rng, model, resource, quantity)
    ids = np.asarray(firm["id"])
    frame = pd.DataFrame({
        "source_id": np.where(source >= 0, ids[np.maximum(source, 0)], ""),
        "target_id": np.where(target >= 0, ids[np.maximum(target, 0)], ""),
        "resource_code": codes[resource], "kind": kinds, "quantity": quantity_text, "unit": unit,
        "year": YEAR, "status": status, "distance_km": distance, "boundary": boundary,
    })
    frame = frame.iloc[rng.permutation(n)].reset_index(drop=True)
    frame.insert(0, "id", _ids("F", n, 7))
    return frame


def _units(rng: np.random.Generator, model: _Model, resource: np.ndarray,
           quantity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantities (canonical, some in other units, ~5 % unknown) and the unit each is written in."""
    n = len(resource)
    kinds = model.kinds[resource]
    unit = pd.Series(kinds).map(CANONICAL_UNIT).to_numpy(dtype=object)
    value = quantity.astype(float).copy()
    other = rng.random(n) < SHARE_OTHER_UNIT
    pick = rng.random(n)
    for kind, choices in model.tables.other_units.items():  # kind -> ((unit, factor from canonical), ...)
        mask = other & (kinds == kind)
        which = np.minimum((pick * len(choices)).astype(int), len(choices) - 1)
        for number, (text, factor) in enumerate(choices):
            chosen = mask & (which == number)
            unit[chosen] = text
            value[chosen] = value[chosen] * factor
    # fuels given by mass or volume, converted through the catalogue's energy content
    per_t, per_m3 = model.energy_t[resource], model.energy_m3[resource]
    by_mass = (kinds == "energy") & np.isfinite(per_t) & (rng.random(n) < 0.03)
    by_volume = (kinds == "energy") & ~by_mass & np.isfinite(per_m3) & (rng.random(n) < 0.03)
    unit[by_mass] = "t/yr"
    value[by_mass] = quantity[by_mass] / per_t[by_mass]
    unit[by_volume] = "Nm3/yr"
    value[by_volume] = quantity[by_volume] / per_m3[by_volume]
    value = np.where(value >= 100, np.rint(value), np.round(value, 3))
    unknown = rng.random(n) < SHARE_UNKNOWN_QUANTITY
    value[unknown] = np.nan
    unit[unknown] = ""
    return value, unit


# --------------------------------------------------------------------------------------------------
# offers, demands, emissions, energy use, offsets


def _make_exchanges(rng: np.random.Generator, model: _Model, firm: dict[str, Any], prefix: str, cdf: np.ndarray,
                    medians: np.ndarray, per_firm: float) -> pd.DataFrame:
    n = round(firm["n"] * per_firm)
    who = np.sort(rng.integers(0, firm["n"], n))
    resource = _draw_rows(rng, cdf, firm["sector"][who])
    keep = ~pd.DataFrame({"who": who, "resource": resource}).duplicated().to_numpy()
    who, resource = who[keep], resource[keep]
    m = len(who)
    quantity = _lognormal(rng, medians[firm["sector"][who], resource], 0.7, m) * firm["size"][who]
    quantity = np.maximum(np.rint(quantity * rng.uniform(0.2, 0.8, m)), 1.0)
    value, unit = _units(rng, model, resource, quantity)
    return pd.DataFrame({
        "id": _ids(prefix, m, 6), "enterprise_id": np.asarray(firm["id"])[who],
        "resource_code": np.array(model.codes, dtype=object)[resource], "kind": model.kinds[resource],
        "quantity": value, "unit": unit, "year": YEAR,
    })


def _make_emissions(rng: np.random.Generator, model: _Model, firm: dict[str, Any]) -> pd.DataFrame:
    n, sector, size = firm["n"], firm["sector"], firm["size"]
    sectors = model.tables.sectors
    scope1 = np.rint(_lognormal(rng, np.array([s.scope1_t for s in sectors])[sector], 0.5, n) * size)
    scope2 = np.rint(_lognormal(rng, np.array([s.scope2_t for s in sectors])[sector], 0.5, n) * size)
    emitter = np.array([s.may_capture_co2 for s in sectors], dtype=bool)[sector]
    capture = emitter & (rng.random(n) < 0.03)
    capture_t = np.where(capture, np.rint(scope1 * rng.uniform(0.05, 0.3, n)), 0.0)
    return pd.DataFrame({"enterprise_id": firm["id"], "year": YEAR, "scope1_t": scope1, "scope2_t": scope2,
                         "co2_capture_t": capture_t})


def _make_energy(rng: np.random.Generator, model: _Model, park: dict[str, Any], firm: dict[str, Any]) -> pd.DataFrame:
    n, sector = firm["n"], firm["sector"]
    logw = model.carrier_logw[sector]
    keys = logw + rng.gumbel(size=logw.shape)  # Gumbel top-k: weighted draw without replacement
    order = np.argsort(-keys, axis=1, kind="stable")[:, :3]
    available = np.isfinite(logw).sum(axis=1)
    wanted = np.minimum(rng.integers(1, 4, n), available)
    rows, slot = np.nonzero(np.arange(3)[None, :] < wanted[:, None])
    carrier = order[rows, slot]
    m = len(rows)
    mwh = np.rint(_lognormal(rng, model.carrier_median[sector[rows], carrier], 0.5, m) * firm["size"][rows])
    mwh = np.maximum(mwh, 1.0)
    names = np.array(model.carriers, dtype=object)[carrier]
    # Switchable carriers (power, heat, hydrogen) are green with the probability that brings the park's
    # expected renewable share of MWh to its target (as far as its switchable MWh allow).
    home = firm["park"][rows]
    fixed = np.isin(names, sorted(model.tables.renewable_always))
    switchable = np.isin(names, sorted(model.tables.renewable_by_park))
    total = np.bincount(home, weights=mwh, minlength=park["n"])
    green = np.bincount(home, weights=mwh * fixed, minlength=park["n"])
    room = np.bincount(home, weights=mwh * switchable, minlength=park["n"])
    chance = np.clip((park["renewable"] * total - green) / np.maximum(room, 1.0), 0.0, 1.0)
    renewable = fixed | (switchable & (rng.random(m) < chance[home]))
    # a draw that overshoots the 5-80 % band (few large rows) is pulled back: all or none switched
    share = np.bincount(home, weights=mwh * renewable, minlength=park["n"]) / np.maximum(total, 1.0)
    renewable = np.where(switchable & (share < 0.05)[home], True, renewable)
    renewable = np.where(switchable & (share > 0.80)[home], False, renewable)
    return pd.DataFrame({"enterprise_id": np.asarray(firm["id"])[rows], "year": YEAR, "carrier": names,
                         "mwh": mwh, "renewable": np.where(renewable, "true", "false")})


def _make_offsets(rng: np.random.Generator, tables: SyntheticTables, park: dict[str, Any]) -> pd.DataFrame:
    chosen = np.flatnonzero(rng.random(park["n"]) < 0.25)
    kinds = tables.offset_kinds
    kind = np.array(kinds, dtype=object)[rng.integers(0, len(kinds), len(chosen))]
    tonnes = np.rint(_lognormal(rng, 20e3, 1.0, len(chosen)))
    return pd.DataFrame({"park_id": park["id"][chosen], "year": YEAR, "t_co2e": tonnes, "kind": kind})


def __getattr__(name: str) -> Any:
    """``SECTORS`` and ``PROVINCES``: the shipped tables' rows, read on first use (the names the tables had
    when they were written in this module)."""
    if name == "SECTORS":
        return load_tables().sectors
    if name == "PROVINCES":
        return load_tables().provinces
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
