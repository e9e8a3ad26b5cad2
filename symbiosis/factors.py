"""Shipped, cited factor tables (transport, disposal, grid, pipe limits; resource-to-sector; targets),
each overridable by a user's own file of the same shape."""
from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from .datasets import datasets_dir
from .errors import InputError

__all__ = ["load_factors", "factors_or_shipped", "load_resource_sectors", "load_targets", "load_typical_flows",
           "read_table",
           "number_column", "shipped_or_own",
           "REQUIRED_FACTORS"]

#: keys the analyses read from factors.csv
REQUIRED_FACTORS = (
    "road_freight_tco2e_per_tkm",
    "road_freight_cost_cny_per_tkm",
    "landfill_tco2e_per_t",
    "landfill_cost_cny_per_t",
    "grid_electricity_tco2e_per_mwh",
    "pipe_max_km_energy",
    "pipe_max_km_water",
    "pipe_max_km_co2",
    "co2_truck_tco2e_per_tkm",
    "natural_gas_heat_tco2e_per_mwh",  # scope 2 of heat bought outside (carbon)
    "grid_electricity_fossil_tco2e_per_mwh",  # national accounting variant (inventory)
)


def shipped_or_own(folder: str, name: str, override: str | os.PathLike | None) -> Path:
    """The user's file when given, else the shipped ``datasets/<folder>/<name>``."""
    return Path(override) if override else datasets_dir() / folder / name


def read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A shipped or user CSV table as text cells (headers trimmed, lower case), with its required columns.

    The one reader of the shipped tables (factors, targets, sectors of resources, substitutes, prices,
    CO2 uses): every one fails the same way, naming the file, the row and what is missing.

    Raises
    ------
    InputError
        A file that cannot be read or is empty, or a required column missing.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty; expected columns {', '.join(columns)}") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as CSV ({exc})") from None
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InputError(f"{path}, row 1: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")
    return frame


def number_column(frame: pd.DataFrame, column: str, path: str | os.PathLike) -> pd.Series:
    """A column of :func:`read_table` as finite numbers (empty cells NaN: not given).

    Raises
    ------
    InputError
        A cell that is not a finite number, with file, row, column and value.
    """
    numbers = pd.to_numeric(frame[column].where(frame[column] != ""), errors="coerce")
    bad = frame[column].ne("") & ~numbers.astype(float).apply(math.isfinite)  # text, nan and inf alike
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 2
        raise InputError(f"{path}, row {row}, column {column!r}: {frame[column][bad].iloc[0]!r}: "
                         "expected a finite number")
    return numbers


def load_factors(override: str | os.PathLike | None = None) -> dict[str, float]:
    """Named factors (``key -> value``) from ``datasets/factors/factors.csv``, with a user's file on top.

    The user's file has the same columns (``key, value`` at least); its rows replace the shipped ones
    with the same key and may add new keys.

    Raises
    ------
    InputError
        A file that cannot be read (or is empty), a value that is not a finite number (with file, row,
        column and value: nan and inf are refused), or a required key missing from both files.
    """
    frames = [shipped_or_own("factors", "factors.csv", None)]
    if override is not None:
        frames.append(Path(override))
    factors: dict[str, float] = {}
    for path in frames:
        frame = read_table(path, ("key", "value"))
        for row_number, (key, value) in enumerate(zip(frame["key"], frame["value"]), start=2):
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):  # a nan factor would turn every figure built on it into nan
                raise InputError(f"{path}, row {row_number}, column 'value': {value!r}: expected a finite number")
            factors[key.strip()] = number
    missing = [key for key in REQUIRED_FACTORS if key not in factors]
    if missing:
        raise InputError(f"factor(s) missing: {', '.join(missing)}")
    return factors


def factors_or_shipped(factors: dict[str, float] | None) -> dict[str, float]:
    """The factors an analysis was given, or the shipped table when it was given none.

    The one place that says what ``factors=None`` means, so that every public function taking
    ``factors`` defaults the same way (an empty dict is a user's table with nothing in it, and is
    refused by the analyses that need a key, never silently replaced).
    """
    return load_factors() if factors is None else factors


def load_resource_sectors(override: str | os.PathLike | None = None) -> pd.DataFrame:
    """Which sectors typically take (``role=taker``) or give (``giver``) each resource.

    Returns
    -------
    DataFrame
        ``resource_code, role, sector_code, sector_name, source``.
    """
    path = shipped_or_own("factors", "resource_sectors.csv", override)
    return read_table(path, ("resource_code", "role", "sector_code", "sector_name", "source"))


def load_typical_flows(override: str | os.PathLike | None = None) -> pd.DataFrame:
    """A typical plant's exchanges by sector (``datasets/typical_flows``, each row cited): what a firm of the
    sector takes in (``direction=in``) or gives out (``out``), per year, in the resource's canonical unit.

    Returns
    -------
    DataFrame
        ``sector_code, sector_name, resource_code, direction, quantity_per_yr`` (float), ``unit, plant, basis,
        source, quality``.

    Raises
    ------
    InputError
        A missing column, a direction other than in/out, or a quantity that is not a positive number.
    """
    path = shipped_or_own("typical_flows", "typical_flows.csv", override)
    frame = read_table(path, ("sector_code", "sector_name", "resource_code", "direction", "quantity_per_yr", "unit",
                              "plant", "basis", "source", "quality"))
    quantities = pd.to_numeric(frame["quantity_per_yr"], errors="coerce")
    for row, (direction, quantity, text) in enumerate(zip(frame["direction"], quantities, frame["quantity_per_yr"]),
                                                      start=2):
        if direction not in ("in", "out"):
            raise InputError(f"{path}, row {row}, column 'direction': {direction!r}: expected in or out")
        if not quantity > 0:
            raise InputError(f"{path}, row {row}, column 'quantity_per_yr': {text!r}: expected a positive number")
    frame["quantity_per_yr"] = quantities.astype(float)
    return frame


def load_targets(override: str | os.PathLike | None = None) -> pd.DataFrame:
    """Scorecard targets: ``indicator, operator, target, unit, scheme, source, status``.

    ``operator`` is ``>=``, ``<=``, ``>`` or ``<``; ``status`` says how firmly the figure is known
    (V verified in the official text, S from secondary sources, U unverified).
    """
    path = shipped_or_own("factors", "targets.csv", override)
    frame = read_table(path, ("indicator", "operator", "target", "unit", "scheme", "source", "status"))
    bad = ~frame["operator"].isin([">=", "<=", ">", "<"])
    if bad.any():
        row = int(bad.idxmax()) + 2
        raise InputError(f"{path}, row {row}, column 'operator': {frame['operator'][bad.idxmax()]!r}: "
                         "expected >=, <=, > or <")
    frame["target"] = pd.to_numeric(frame["target"], errors="coerce")
    return frame
