"""What becomes of CO2 kept at a node: stored for good, utilised (back in the air soon), or vented.

CO2 that a firm receives and does not pass on is *kept* there. Only some of it leaves the atmosphere for
good. The shipped, cited table ``datasets/catalogue/co2_uses.csv`` (sources in the catalogue's
SOURCES.md, [C1]-[C6]) gives, per use, the fate of what a firm of that sector keeps:

- **stored**: mineralisation (CO2 bound as carbonate in construction products: the EU ETS counts it as
  not emitted, Directive 2003/87/EC Art. 12(3b) and Delegated Regulation (EU) 2024/2620) and geological
  storage (a CO2 flow to a boundary labelled ``storage``; IPCC 2006 Vol. 2 Ch. 5, Directive 2009/31/EC);
  ``stored_share`` 1.
- **utilised**: returned to the air within a stated horizon: urea (released when applied to soil, IPCC
  2006 Vol. 4 Ch. 11.4), methanol and other fuels (burned), drinks and food, greenhouse crops, algae;
  ``stored_share`` 0. CO2 sold outside the park (a boundary flow that is not storage) is utilised too.
- **vented**: what a capture, purification or dry-ice plant (industrial gases) keeps of the CO2 it
  receives is its loss to air.

A firm is given the use of the longest sector prefix that matches its code (NACE Rev. 2 or GB/T 4754,
read by :func:`symbiosis.sectors.parse_sector` with the park's country). A firm whose sector has no use
in the table is ``unclassified``: what it keeps is counted as utilised (released), never as stored, and
the output says so. :func:`load_co2_uses` reads a user's own table of the same columns on top of the
shipped one (it replaces the rows of the uses it names), for :func:`co2_use`'s ``uses``; the analyses
use the shipped table.
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from .datasets import datasets_dir
from .errors import InputError
from .factors import read_table
from .sectors import parse_sector

__all__ = ["CO2Use", "FATES", "GEOLOGICAL_STORAGE", "SOLD_OUTSIDE", "UNCLASSIFIED", "load_co2_uses", "co2_use",
           "boundary_co2_use"]

#: what becomes of kept CO2
FATES = ("stored", "utilised", "vented")
_COLUMNS = ("use", "scheme", "sector_prefixes", "fate", "stored_share", "horizon")


class CO2Use(NamedTuple):
    """The use a firm puts kept CO2 to, and its fate."""

    use: str
    fate: str
    stored_share: float
    horizon: str


GEOLOGICAL_STORAGE = CO2Use("geological_storage", "stored", 1.0,
                            "permanent: injected into a geological store (IPCC 2006 Vol. 2 Ch. 5; Directive "
                            "2009/31/EC)")
SOLD_OUTSIDE = CO2Use("sold_outside", "utilised", 0.0,
                      "sold outside the park (liquid CO2, dry ice, gas): released by its buyers, not stored")
UNCLASSIFIED = CO2Use("unclassified", "utilised", 0.0,
                      "no use for this sector in the CO2-use table: counted as released (utilised), never as "
                      "stored")


def load_co2_uses(override: str | os.PathLike | None = None) -> pd.DataFrame:
    """The CO2-use table: shipped rows, with a user's file of the same columns on top.

    The user's rows replace every shipped row of the uses they name. Columns: ``use, scheme``
    (``nace2`` or ``gbt4754``), ``sector_prefixes`` (digits of the sector codes, space-separated),
    ``fate`` (stored | utilised | vented), ``stored_share`` (0 to 1) and ``horizon`` (text).

    Raises
    ------
    InputError
        A file that cannot be read, a missing column, or a bad fate, scheme or share (with file, row,
        column and value).
    """
    frame = _read(datasets_dir() / "catalogue" / "co2_uses.csv")
    if override is not None:
        own = _read(Path(override))
        frame = pd.concat([frame[~frame["use"].isin(set(own["use"]))], own], ignore_index=True)
    return frame.reset_index(drop=True)


def _read(path: Path) -> pd.DataFrame:
    frame = read_table(path, _COLUMNS)
    for number, row in enumerate(frame.to_dict("records"), start=2):
        _check(path, number, row)
    frame = frame.copy()
    frame["stored_share"] = frame["stored_share"].astype(float)
    return frame


def _check(path: Path, number: int, row: dict) -> None:
    problems = []
    if row["fate"].strip() not in FATES:
        problems.append(("fate", row["fate"], f"expected one of {', '.join(FATES)}"))
    if row["scheme"].strip() not in ("nace2", "gbt4754"):
        problems.append(("scheme", row["scheme"], "expected nace2 or gbt4754"))
    if not re.fullmatch(r"\d{2,4}( +\d{2,4})*", row["sector_prefixes"].strip()):
        problems.append(("sector_prefixes", row["sector_prefixes"], "expected digits of sector codes, space-separated"))
    try:
        share = float(row["stored_share"])
        if not 0.0 <= share <= 1.0:
            raise ValueError
    except ValueError:
        problems.append(("stored_share", row["stored_share"], "expected a number from 0 to 1"))
    if problems:
        column, value, why = problems[0]
        raise InputError(f"{path}, row {number}, column {column}: {value!r}: {why}")


@functools.lru_cache(maxsize=8)
def _prefixes(table_key: tuple) -> dict[str, list[tuple[str, CO2Use]]]:
    """scheme -> (prefix, use), longest prefix first."""
    found: dict[str, list[tuple[str, CO2Use]]] = {}
    for use, scheme, prefixes, fate, share, horizon in table_key:
        for prefix in prefixes.split():
            found.setdefault(scheme, []).append((prefix, CO2Use(use, fate, float(share), horizon)))
    for entries in found.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return found


def _key(uses: pd.DataFrame) -> tuple:
    return tuple(uses[list(_COLUMNS)].itertuples(index=False, name=None))


def co2_use(sector_code: str | None, *, country: str | None = None, uses: pd.DataFrame | None = None) -> CO2Use:
    """The use (and fate) of CO2 kept by a firm of this sector.

    Examples
    --------
    >>> co2_use("C23.69").fate, co2_use("C20.15").use, co2_use("2621", country="CN").use
    ('stored', 'urea', 'urea')
    >>> co2_use("K64.19").use
    'unclassified'
    """
    parsed = parse_sector(sector_code, country=country) if isinstance(sector_code, str) else None
    if parsed is None or parsed.division is None:
        return UNCLASSIFIED
    digits = re.sub(r"\D", "", parsed.code)
    table = _shipped_prefixes() if uses is None else _prefixes(_key(uses))
    for prefix, use in table.get(parsed.scheme, []):
        if digits.startswith(prefix):
            return use
    return UNCLASSIFIED


def boundary_co2_use(label: str | None) -> CO2Use:
    """The fate of CO2 a firm sends across the park boundary (not to air): a ``storage`` site stores it;
    anything else (export, sale) is released by its buyers."""
    return GEOLOGICAL_STORAGE if label and "storage" in label.lower() else SOLD_OUTSIDE


@functools.lru_cache(maxsize=1)
def _shipped_prefixes() -> dict[str, list[tuple[str, CO2Use]]]:
    """The shipped table's prefixes, read once (a national balance asks for thousands of firms)."""
    return _prefixes(_key(load_co2_uses()))
