"""Coverage: how much of its input a figure stands on, and when a figure is not given at all.

Published and surveyed park data are sparse: most exchanges are known to exist, few have a quantity.
Every figure built from quantities therefore carries its coverage (what it used out of what there is),
and a figure whose coverage is below :data:`MIN_COVERAGE` is given as null with a reason, or a verdict
as "insufficient data", never as a number that silently treats the unknown as zero.

Why 0.5 by default: below half, the links without a quantity outnumber those with one, so a total over
the known links says more about which figures happened to be published than about the park. Users
with a reason to go lower (a screening run) pass ``min_coverage`` (CLI ``--min-coverage``).
"""
from __future__ import annotations

import math
from typing import Any

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .settings import MIN_COVERAGE

__all__ = ["MIN_COVERAGE", "Coverage", "NOISE", "clean_zero", "INSUFFICIENT", "known_number", "none_for_nan",
           "with_note", "KNOWN", "PARTIAL", "UNKNOWN", "status_of"]

#: status of a figure: all its inputs known, only some (the figure is the known part), or none (None)
KNOWN, PARTIAL, UNKNOWN = "known", "partial", "unknown"


def status_of(known: int, total: int) -> str:
    """The status of a figure standing on ``known`` of ``total`` inputs.

    Examples
    --------
    >>> status_of(2, 2), status_of(1, 2), status_of(0, 2)
    ('known', 'partial', 'unknown')
    """
    return KNOWN if known == total else (UNKNOWN if known == 0 else PARTIAL)


#: verdict of an indicator whose coverage is below the minimum
INSUFFICIENT = "insufficient data"
#: relative floating-point noise: values this small against the figure's scale print as 0
NOISE = 1e-9


@dataclass(frozen=True)
class Coverage:
    """``known`` of ``total`` items (links, flows, firms) that a figure used, with what they are.

    Examples
    --------
    >>> c = Coverage(1, 2, "water flows with a quantity")
    >>> c.share, c.text, c.sufficient()
    (0.5, '1 of 2 water flows with a quantity', True)
    >>> Coverage(0, 0, "links").share is None
    True
    """

    known: int
    total: int
    what: str

    @property
    def share(self) -> float | None:
        """known / total, or None when there is nothing to cover."""
        return self.known / self.total if self.total else None

    @property
    def text(self) -> str:
        return f"{self.known:,} of {self.total:,} {self.what}"

    def sufficient(self, minimum: float = MIN_COVERAGE) -> bool:
        """True when something is known and at least ``minimum`` of the items are."""
        return self.known > 0 and self.share is not None and self.share >= minimum - 1e-12

    def reason(self, minimum: float = MIN_COVERAGE) -> str | None:
        """Why a figure on this coverage is not given, or None when it is."""
        if self.total == 0:
            return f"no {self.what.split(' with ')[0]}"
        if self.known == 0:
            return f"nothing known: {self.text}"
        if not self.sufficient(minimum):
            return f"coverage {self.share:.0%} below the minimum {minimum:.0%} ({self.text})"
        return None


def clean_zero(value: float | None, scale: float | None = None) -> float | None:
    """Values within floating-point noise of zero (relative to ``scale``) become exactly 0.0.

    Examples
    --------
    >>> clean_zero(3.3e-16, scale=1.0)
    0.0
    >>> clean_zero(0.25, scale=1.0)
    0.25
    >>> clean_zero(None) is None
    True
    """
    if value is None or value != value:  # None or NaN: not a number, stays unknown
        return None
    reference = abs(scale) if scale else 1.0
    return 0.0 if abs(value) <= NOISE * max(reference, 1.0) else float(value)


def known_number(value: Any) -> float | None:
    """A figure as a float, or None when it is unknown: None, NaN, infinite, or not a number at all.

    Examples
    --------
    >>> known_number("2.5"), known_number(float("nan")), known_number(None), known_number("n/a")
    (2.5, None, None, None)
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def none_for_nan(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns with a missing value become object columns holding None there, in place.

    Unknown is None, never NaN (a float column turns None into NaN, which prints as 'nan'). Complete
    columns keep their dtype.

    Examples
    --------
    >>> none_for_nan(pd.DataFrame({"t": [1.5, float("nan")], "n": [1, 2]}))["t"].tolist()
    [1.5, None]
    """
    for column in frame.columns:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            frame[column] = pd.Series(np.where(missing, None, frame[column].to_numpy(dtype=object)),
                                      index=frame.index, dtype=object)
    return frame


def with_note(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Set ``frame.attrs["note"]``: why the frame is empty or partial, in one line (only when it is).

    The CLI prints it in place of "(none)" or after the table, JSON output carries it, the report
    shows it under the table.
    """
    if notes:
        frame.attrs["note"] = "; ".join(notes)
    return frame
