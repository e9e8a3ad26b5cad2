"""Shipped, cited factor tables (transport, disposal, grid, pipe limits; resource-to-sector; targets),
each overridable by a user's own file of the same shape."""
from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from .datasets import datasets_dir
from .errors import InputError

__all__ = ["load_factors", "load_resource_sectors", "load_targets", "REQUIRED_FACTORS"]

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
)


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
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
    frames = [(datasets_dir() / "factors" / "factors.csv")]
    if override is not None:
        frames.append(Path(override))
    factors: dict[str, float] = {}
    for path in frames:
        frame = _read(path, ("key", "value"))
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


def load_resource_sectors(override: str | os.PathLike | None = None) -> pd.DataFrame:
    """Which sectors typically take (``role=taker``) or give (``giver``) each resource.

    Returns
    -------
    DataFrame
        ``resource_code, role, sector_code, sector_name, source``.
    """
    path = Path(override) if override else datasets_dir() / "factors" / "resource_sectors.csv"
    return _read(path, ("resource_code", "role", "sector_code", "sector_name", "source"))


def load_targets(override: str | os.PathLike | None = None) -> pd.DataFrame:
    """Scorecard targets: ``indicator, operator, target, unit, scheme, source, status``.

    ``operator`` is ``>=``, ``<=``, ``>`` or ``<``; ``status`` says how firmly the figure is known
    (V verified in the official text, S from secondary sources, U unverified).
    """
    path = Path(override) if override else datasets_dir() / "factors" / "targets.csv"
    frame = _read(path, ("indicator", "operator", "target", "unit", "scheme", "source", "status"))
    bad = ~frame["operator"].isin([">=", "<=", ">", "<"])
    if bad.any():
        row = int(bad.idxmax()) + 2
        raise InputError(f"{path}, row {row}, column 'operator': {frame['operator'][bad.idxmax()]!r}: "
                         "expected >=, <=, > or <")
    frame["target"] = pd.to_numeric(frame["target"], errors="coerce")
    return frame
