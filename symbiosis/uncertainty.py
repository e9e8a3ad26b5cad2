"""How uncertain a stated figure is: its standard deviation, stated or taken from its data-quality class.

A flow (offer, demand, emissions row) may state its uncertainty in the ``uncertainty`` column: a standard
deviation in the row's unit (``120``; converted with the quantity to the canonical unit) or a relative one
(``10 %``). Without one, its ``quality`` class gives a relative standard deviation by default
(:data:`DEFAULT_RELATIVE_SD`). A figure with neither has no stated uncertainty: analyses that need one
(reconciliation, ``--samples``) say so rather than invent it, unless the user names a class for such
figures (``default_quality``).

The classes follow the practice of MFA data-quality assessment (STAN, Cencic & Rechberger 2008; the
pedigree approach of Laner et al. 2016, "A novel approach to characterize data uncertainty in material flow
analysis and its application to plastics flows in Austria", J. Ind. Ecol. 20(5), 1050-1063): the less
direct the source, the wider the spread. The relative standard deviations below are this project's
documented defaults, not values taken from those papers: they grade the classes roughly as Laner et al.'s
coefficients of variation grow with worse scores, and are meant to be replaced by stated uncertainties
whenever the data have them.
"""
from __future__ import annotations

import math

from .schema import QUALITY_CLASSES

__all__ = ["DEFAULT_RELATIVE_SD", "flow_sd", "sd_source"]

#: relative standard deviation of a figure by data-quality class (documented project defaults, see above):
#: measured (a meter, a weighbridge, an invoice), calculated (from measured figures: a balance, a
#: stoichiometric ratio), estimated (an expert's or the firm's estimate), literature (a typical value for
#: the sector or process from a published source)
DEFAULT_RELATIVE_SD: dict[str, float] = {"measured": 0.05, "calculated": 0.10, "estimated": 0.30, "literature": 0.50}
if tuple(DEFAULT_RELATIVE_SD) != QUALITY_CLASSES:  # one list of classes: the schema's
    raise RuntimeError("symbiosis.uncertainty: DEFAULT_RELATIVE_SD must list schema.QUALITY_CLASSES in order")


def flow_sd(quantity: float | None, sd: float | None, quality: str | None = None, *,
            default_quality: str | None = None) -> float | None:
    """The standard deviation of a figure in its canonical unit, or None when nothing says it.

    A stated standard deviation (``sd``, already absolute: :func:`symbiosis.graph.load_graph` turns a
    relative one into an absolute one) wins; else the quality class's relative default times the
    quantity (``quality``, else ``default_quality``); else None. An unknown quantity has no standard
    deviation of its own (reconciliation may determine one).

    Examples
    --------
    >>> flow_sd(1000.0, 50.0, "estimated")
    50.0
    >>> flow_sd(1000.0, None, "estimated")
    300.0
    >>> flow_sd(1000.0, None) is None, flow_sd(None, None, "measured") is None
    (True, True)
    """
    if sd is not None and not (isinstance(sd, float) and math.isnan(sd)):
        return float(sd)
    if quantity is None or (isinstance(quantity, float) and math.isnan(quantity)):
        return None
    rule = quality or default_quality
    return None if rule is None else DEFAULT_RELATIVE_SD[rule] * abs(float(quantity))


def sd_source(sd: float | None, quality: str | None = None, *, default_quality: str | None = None) -> str | None:
    """Where :func:`flow_sd`'s figure comes from: 'stated', 'class: estimated', 'default: literature' or None."""
    if sd is not None and not (isinstance(sd, float) and math.isnan(sd)):
        return "stated"
    if quality:
        return f"class: {quality}"
    return f"default: {default_quality}" if default_quality else None
