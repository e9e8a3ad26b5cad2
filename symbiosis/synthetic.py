"""The tables the synthetic national dataset is drawn from: data files in ``datasets/synthetic/``.

Provinces, sectors (what each typically gives, takes and burns), park profiles, firm-name brands, offset
kinds, resource rules and other units are read here, checked cell by cell (a bad table is named by file,
row and column), and handed to :mod:`symbiosis.generate` as one :class:`SyntheticTables`. That folder's
``SOURCES.md`` says, column by column, which figures are cited and which are invented.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from .datasets import catalogue_path, datasets_dir
from .errors import InputError, ShippedDataError
from .factors import number_column, read_table
from .units import CANONICAL_UNIT

__all__ = ["load_tables", "TABLES", "SyntheticTables", "Sector", "Province", "ParkProfile", "HEAT_PLANT", "POWER_PLANT",
           "WASTEWATER_PLANT"]

#: the utilities a park of a few firms runs: a heat plant (or, one time in five, a coal power plant), a
#: wastewater plant; these sectors must be in sectors.csv
HEAT_PLANT, POWER_PLANT, WASTEWATER_PLANT = "D35.30", "D35.11", "E37.00"


# --------------------------------------------------------------------------------------------------
# the tables of datasets/synthetic/


class Province(NamedTuple):
    """One row of ``provinces.csv``: where a province's parks lie and how many it has (relative)."""

    name: str
    lat: float  # centre of its main industrial area, degrees
    lon: float
    spread_lat_deg: float  # standard deviation of its parks' latitudes around the centre
    spread_lon_deg: float
    park_weight: float  # relative number of parks
    heavy_industry: bool  # its parks lean to chemicals, metals and building materials


@dataclass(frozen=True, kw_only=True)
class Sector:
    """One sector of the synthetic economy (``sectors.csv``, ``sector_resources.csv``, ``sector_energy.csv``).

    Quantities are for a firm of median size, in the resource's canonical unit a year (t, MWh, m3,
    tCO2e); a firm's figures scale with its output value against the sector median.
    """

    code: str  # NACE Rev. 2
    name: str
    short: str  # for firm names
    weight: float  # share of firms in a 'comprehensive' park (relative)
    output_mcny: float  # median output value, million CNY/yr
    employees: float  # median staff
    scope1_t: float  # median scope-1 emissions, tCO2e/yr
    scope2_t: float  # median scope-2 emissions, tCO2e/yr
    propensity: float  # how many exchanges a firm of this sector takes part in (relative)
    outputs: dict[str, tuple[float, float]]  # resource -> (weight, median quantity)
    inputs: dict[str, tuple[float, float]]  # resource -> (weight, median quantity)
    carriers: dict[str, tuple[float, float]]  # energy carrier -> (weight, median MWh/yr)
    may_capture_co2: bool  # a large emitter: a few of its firms capture part of their scope-1 CO2


class ParkProfile(NamedTuple):
    """One row of ``park_profiles.csv`` with its rows of ``profile_tilts.csv``."""

    name: str
    share_ordinary: float  # share of the parks of an ordinary province (relative)
    share_heavy: float  # share of the parks of a heavy-industry province (relative)
    tilts: tuple[tuple[str, float], ...]  # (sector-code prefix, multiplier of the sector's weight), in file order


@dataclass(frozen=True, kw_only=True)
class SyntheticTables:
    """Every table the generator draws from, as read by :func:`load_tables` (rows in file order)."""

    provinces: tuple[Province, ...]
    sectors: tuple[Sector, ...]
    profiles: tuple[ParkProfile, ...]
    brands: tuple[str, ...]  # first word of firm names
    offset_kinds: tuple[str, ...]
    stays_in_park: frozenset[str]  # resources piped locally: rarely sent to another park
    to_sewer: frozenset[str]  # resources that leave a park through the sewer
    renewable_always: frozenset[str]  # energy carriers that are renewable wherever used
    renewable_by_park: frozenset[str]  # carriers renewable with the park's target share
    other_units: dict[str, tuple[tuple[str, float], ...]]  # kind -> ((unit, factor from canonical), ...)


#: file -> column -> what its cells hold: "text"; a number of _NUMBER_RULES ("weight": relative, one at least
#: above 0); "flag" (true or false); or a tuple of the values allowed
TABLES: dict[str, dict[str, str | tuple[str, ...]]] = {
    "provinces.csv": {"province": "text", "centre_lat_deg": "number", "centre_lon_deg": "number",
                      "spread_lat_deg": "nonnegative", "spread_lon_deg": "nonnegative", "park_weight": "weight",
                      "heavy_industry": "flag"},
    "sectors.csv": {"nace_code": "text", "name": "text", "short_name": "text", "firm_weight": "weight",
                    "median_output_value_mcny_per_yr": "positive", "median_employees": "positive",
                    "median_scope1_tco2e_per_yr": "positive", "median_scope2_tco2e_per_yr": "positive",
                    "exchange_propensity": "positive", "may_capture_co2": "flag"},
    "sector_resources.csv": {"nace_code": "text", "role": ("output", "input"), "resource_code": "text",
                             "weight": "positive", "median_quantity": "positive", "unit": "text"},
    "sector_energy.csv": {"nace_code": "text", "carrier": "text", "weight": "positive",
                          "median_mwh_per_yr": "positive"},
    "park_profiles.csv": {"profile": "text", "share_ordinary_province": "weight",
                          "share_heavy_industry_province": "weight"},
    "profile_tilts.csv": {"profile": "text", "sector_code_prefix": "text", "weight_multiplier": "nonnegative"},
    "brands.csv": {"brand": "text"},
    "offset_kinds.csv": {"kind": "text"},
    "resource_rules.csv": {"resource_code": "text", "stays_in_park": "flag", "exported_to_sewer": "flag",
                           "renewable_as_energy": ("always", "park_share", "never")},
    "other_units.csv": {"kind": tuple(CANONICAL_UNIT), "unit": "text", "factor_from_canonical": "positive"},
}
#: what a number must be, by what its column holds (an empty cell is read as nan and fails every rule)
_NUMBER_RULES: dict[str, tuple[Callable[[float], bool], str]] = {
    "number": (math.isfinite, "a number"),
    "nonnegative": (lambda value: value >= 0, "a number >= 0"),
    "weight": (lambda value: value >= 0, "a relative weight >= 0"),
    "positive": (lambda value: value > 0, "a number > 0"),
}
#: file -> the columns that name a row (no two rows alike)
_KEYS = {"provinces.csv": ("province",), "sectors.csv": ("nace_code",),
         "sector_resources.csv": ("nace_code", "role", "resource_code"), "sector_energy.csv": ("nace_code", "carrier"),
         "park_profiles.csv": ("profile",), "profile_tilts.csv": ("profile", "sector_code_prefix"),
         "brands.csv": ("brand",), "offset_kinds.csv": ("kind",), "resource_rules.csv": ("resource_code",),
         "other_units.csv": ("kind", "unit")}
#: the tables that may have no rows
_MAY_BE_EMPTY = ("profile_tilts.csv", "resource_rules.csv", "other_units.csv")


def load_tables(folder: str | os.PathLike | None = None) -> SyntheticTables:
    """The generator's tables: the shipped ones (``datasets/synthetic/``), or the same files in ``folder``.

    Parameters
    ----------
    folder : path-like, optional
        A folder holding every file of :data:`TABLES` (an edited copy of the shipped folder); by default
        the shipped tables, read once per process.

    Raises
    ------
    InputError
        A file missing or unreadable, a column missing, a repeated row, or a cell that is not what its
        column holds (see :data:`TABLES`; codes must be in sectors.csv or the resource catalogue),
        named by file, row and column.
    ShippedDataError
        The shipped folder or the resource catalogue is missing from this installation.
    """
    if folder is None:
        return _shipped_tables()
    return _read_tables(Path(folder))


@lru_cache(maxsize=1)
def _shipped_tables() -> SyntheticTables:
    folder = datasets_dir() / "synthetic"
    if not folder.is_dir():
        raise ShippedDataError("the synthetic generator's tables (datasets/synthetic) are missing from this "
                               "installation of symbiosis: reinstall it")
    return _read_tables(folder)


def _read_tables(folder: Path) -> SyntheticTables:
    catalogue = catalogue_path()
    if catalogue is None:
        raise ShippedDataError("the resource catalogue is missing from this installation of symbiosis")
    kinds = dict(read_table(catalogue, ("code", "kind"))[["code", "kind"]].itertuples(index=False))
    by_file = {name: _read(folder / name) for name in TABLES}
    sectors = by_file["sectors.csv"]  # column -> cells
    for code in (HEAT_PLANT, POWER_PLANT, WASTEWATER_PLANT):
        if code not in sectors["nace_code"]:
            raise InputError(f"{folder / 'sectors.csv'}: no row for {code}, a utility every park of a few firms has")
    for name, column, allowed in (("sector_resources.csv", "nace_code", sectors["nace_code"]),
                                  ("sector_resources.csv", "resource_code", kinds),
                                  ("sector_energy.csv", "nace_code", sectors["nace_code"]),
                                  ("sector_energy.csv", "carrier", kinds),
                                  ("profile_tilts.csv", "profile", by_file["park_profiles.csv"]["profile"]),
                                  ("resource_rules.csv", "resource_code", kinds)):
        _check(folder / name, column, by_file[name][column], allowed)
    tilts: dict[str, list[tuple[str, float]]] = {name: [] for name in by_file["park_profiles.csv"]["profile"]}
    for profile, prefix, factor in zip(*by_file["profile_tilts.csv"].values()):
        tilts[profile].append((prefix, factor))
    other_units: dict[str, tuple[tuple[str, float], ...]] = {}
    for kind, unit, factor in zip(*by_file["other_units.csv"].values()):
        other_units[kind] = (*other_units.get(kind, ()), (unit, factor))
    rules = list(zip(*by_file["resource_rules.csv"].values()))
    return SyntheticTables(
        provinces=tuple(Province(*row) for row in zip(*by_file["provinces.csv"].values())),
        sectors=_sectors(folder, by_file, kinds),
        profiles=tuple(ParkProfile(name, ordinary, heavy, tuple(tilts[name]))
                       for name, ordinary, heavy in zip(*by_file["park_profiles.csv"].values())),
        brands=tuple(by_file["brands.csv"]["brand"]),
        offset_kinds=tuple(by_file["offset_kinds.csv"]["kind"]),
        stays_in_park=frozenset(code for code, local, *_ in rules if local),
        to_sewer=frozenset(code for code, _, sewer, _ in rules if sewer),
        renewable_always=frozenset(code for code, *_, renewable in rules if renewable == "always"),
        renewable_by_park=frozenset(code for code, *_, renewable in rules if renewable == "park_share"),
        other_units=other_units,
    )


def _sectors(folder: Path, by_file: dict[str, dict[str, list[Any]]], kinds: dict[str, str]) -> tuple[Sector, ...]:
    """The rows of sectors.csv with what each gives and takes (sector_resources.csv) and burns (sector_energy.csv)."""
    sectors = by_file["sectors.csv"]
    per_sector: dict[tuple[str, str], dict[str, tuple[float, float]]] = {
        (code, role): {} for code in sectors["nace_code"] for role in ("output", "input", "carrier")}
    for row, (code, role, resource, weight, median, unit) in enumerate(zip(*by_file["sector_resources.csv"].values())):
        if unit != CANONICAL_UNIT[kinds[resource]]:  # the medians are in the canonical unit: say so, and mean it
            raise _problem(folder / "sector_resources.csv", row, "unit", unit, CANONICAL_UNIT[kinds[resource]])
        per_sector[code, role][resource] = (weight, median)
    for code, carrier, weight, median in zip(*by_file["sector_energy.csv"].values()):
        per_sector[code, "carrier"][carrier] = (weight, median)
    lacking = [" ".join(key) for key, items in per_sector.items() if not items]
    if lacking:
        raise InputError(f"{folder}: every sector needs an output and an input in sector_resources.csv and a "
                         f"carrier in sector_energy.csv; missing: {', '.join(lacking)}")
    return tuple(Sector(code=code, name=name, short=short, weight=weight, output_mcny=output, employees=staff,
                        scope1_t=scope1, scope2_t=scope2, propensity=propensity,
                        outputs=per_sector[code, "output"], inputs=per_sector[code, "input"],
                        carriers=per_sector[code, "carrier"], may_capture_co2=capture)
                 for code, name, short, weight, output, staff, scope1, scope2, propensity, capture
                 in zip(*sectors.values()))


def _read(path: Path) -> dict[str, list[Any]]:
    """One table as column -> cells, every cell checked: numbers as Python's float() reads them (correctly
    rounded, so a figure reads back as the very float that was written), flags as bool."""
    spec = TABLES[path.name]
    frame = read_table(path, tuple(spec))
    if frame.empty and path.name not in _MAY_BE_EMPTY:
        raise InputError(f"{path}: no rows; the generator draws from this table")
    keys = _KEYS[path.name]
    repeated = frame.duplicated(list(keys)).to_numpy().nonzero()[0]
    if len(repeated):
        raise _problem(path, int(repeated[0]), keys[-1], frame[keys[-1]].iloc[repeated[0]],
                       f"one row per {' and '.join(keys)}; this one repeats an earlier row")
    columns: dict[str, list[Any]] = {}
    for column, holds in spec.items():
        texts = [str(text) for text in frame[column]]
        if isinstance(holds, str) and holds in _NUMBER_RULES:
            number_column(frame, column, path)  # text, nan and inf: the message of every shipped table
            numbers = [float(text) if text else math.nan for text in texts]
            accept, expected = _NUMBER_RULES[holds]
            bad = [index for index, number in enumerate(numbers) if not accept(number)]  # empty (nan) fails
            if bad:
                raise _problem(path, bad[0], column, texts[bad[0]], expected)
            if holds == "weight" and not sum(numbers) > 0:
                raise InputError(f"{path}, column {column!r}: every weight is 0; one at least must be above 0")
            columns[column] = numbers
        elif holds == "flag":
            columns[column] = [text == "true" for text in _check(path, column, texts, ("true", "false"))]
        else:
            columns[column] = _check(path, column, texts, None if holds == "text" else holds)
    return columns


def _check(path: Path, column: str, cells: list[str], allowed: Collection[str] | None) -> list[str]:
    """``cells`` when each is in ``allowed`` (a text that is not blank if None)."""
    for index, cell in enumerate(cells):
        if (cell not in allowed) if allowed is not None else not cell.strip():
            expected = ("a text" if allowed is None else ", ".join(sorted(allowed)) if len(allowed) <= 8
                        else f"a code of the {len(allowed)} known")
            raise _problem(path, index, column, cell, expected)
    return cells


def _problem(path: Path, index: int, column: str, value: object, expected: str) -> InputError:
    """An error naming the file, the row (as a spreadsheet shows it), the column and the value."""
    return InputError(f"{path}, row {index + 2}, column {column!r}: {value!r}: expected {expected}")


# --------------------------------------------------------------------------------------------------
