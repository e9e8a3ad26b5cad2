"""Uncertainty on headline figures: consistent flow sets drawn from the data's uncertainties.

``--samples N --seed S`` (metrics, carbon, scorecard) recomputes a figure on ``N`` flow sets and reports
its median and 90 % interval beside the figure computed on the data. Two sources of draws:

* **A stored reconciliation** (``--estimates``): the flows of each reconciled currency are drawn jointly
  from a multivariate normal with the reconciled values and covariance (recomputed from the data, as
  :func:`symbiosis.estimates.reconcile_park` does), so every drawn set satisfies the balances, as the
  reconciled values do; a draw below 0 is set to 0 (counted in the note: it breaks that balance a little).
* **The stated uncertainties otherwise**: each flow with a standard deviation (stated, or its quality
  class's default, :func:`symbiosis.uncertainty.flow_sd`) is drawn independently from a **lognormal** with
  the flow's value as its mean and that standard deviation: flow quantities are positive and their errors
  multiplicative and right-skewed, which is why MFA practice models them so (Laner, Rechberger & Astrup
  2014, "Systematic evaluation of uncertainty in material flow analysis", J. Ind. Ecol. 18(6)); a normal
  with a 50 % standard deviation would draw negative tonnes one time in 40.

A flow with no uncertainty keeps its value in every draw (the note counts them), and a flow with an unknown
quantity stays unknown: sampling never turns an unknown into a number. Draws are deterministic for a seed
(``numpy.random.default_rng(seed)``); a park draws from its own seed (:func:`park_seed`: the seed given and
the park's id), so a park's intervals are the same asked alone (``--park``) or in a run of every park
(``--by-park``), on any number of workers.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from .coverage import none_for_nan
from .errors import InputError
from .uncertainty import flow_sd

__all__ = ["FlowDraws", "draw_flows", "draw_emissions", "apply_draw", "with_intervals", "summarise", "park_seed",
           "INTERVAL"]

#: the interval reported beside each figure: the 5th and 95th percentiles (a 90 % interval)
INTERVAL = (5.0, 95.0)


def park_seed(seed: int, park: str | None) -> int:
    """The seed of one park's draws: the seed given and the park's id, hashed (SHA-256), so that a park draws
    the same samples whichever command asks (one park, or every park on any number of workers) and whichever
    parks run beside it. Without a park (the whole store as one network) the seed as given.

    Examples
    --------
    >>> park_seed(1, "P0001") == park_seed(1, "P0001") != park_seed(2, "P0001")
    True
    >>> park_seed(7, None)
    7
    """
    if park is None:
        return seed
    digest = hashlib.sha256(f"{seed}:{park}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**63)


@dataclass(frozen=True)
class FlowDraws:
    """Drawn quantities: ``values[s, j]`` is flow ``keys[j]``'s quantity in draw ``s``."""

    keys: list[tuple[Hashable, Hashable, Hashable]]
    values: np.ndarray
    distribution: str
    fixed: int
    clipped: int

    @property
    def note(self) -> str:
        parts = [f"{len(self.values)} draws ({self.distribution}) of {len(self.keys)} flows with an uncertainty"]
        if self.fixed:
            parts.append(f"{self.fixed} flows with a quantity but no uncertainty kept at their value")
        if self.clipped:
            parts.append(f"{self.clipped} drawn values below 0 set to 0")
        return "; ".join(parts) + f"; interval: {INTERVAL[0]:g}th-{INTERVAL[1]:g}th percentile"


def draw_flows(G: nx.MultiDiGraph, samples: int, seed: int, *, default_quality: str | None = None,
               reconciled: dict[str, tuple[list[str], np.ndarray, np.ndarray]] | None = None) -> FlowDraws:
    """Draw ``samples`` quantity sets for the graph's flows that have an uncertainty.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The flows (their ``quantity``, ``sd``, ``quality``).
    samples, seed : int
        How many sets; the random seed (the same seed gives the same sets).
    default_quality : str, optional
        The quality class of a known quantity that states no uncertainty (default: it keeps its value).
    reconciled : dict, optional
        ``{currency: (flow ids, values, covariance)}`` of a reconciliation
        (:func:`symbiosis.estimates.joint_distribution`): those flows are drawn jointly (multivariate
        normal), the rest as above.
    """
    if samples < 1:
        raise InputError(f"samples must be at least 1, not {samples}")
    rng = np.random.default_rng(seed)
    keys: list[tuple[Hashable, Hashable, Hashable]] = []
    means: list[float] = []
    sds: list[float] = []
    fixed = 0
    joint = {str(flow): (currency, position) for currency, (flows, _, _) in (reconciled or {}).items()
             for position, flow in enumerate(flows)}
    joint_keys: dict[str, list] = {currency: [None] * len(flows) for currency, (flows, _, _) in (reconciled or {}).items()}
    for u, v, key, data in G.edges(keys=True, data=True):
        quantity = data["quantity"]
        if quantity is None:
            continue
        if str(key) in joint:
            currency, position = joint[str(key)]
            joint_keys[currency][position] = (u, v, key)
            continue
        sd = flow_sd(quantity, data.get("sd"), data.get("quality"), default_quality=default_quality)
        if not sd:
            fixed += 1
            continue
        keys.append((u, v, key))
        means.append(float(quantity))
        sds.append(sd)
    columns = [_lognormal(rng, np.array(means), np.array(sds), samples)] if keys else []
    clipped = 0
    for currency, (_, values, full_covariance) in (reconciled or {}).items():
        present = [position for position, found in enumerate(joint_keys[currency]) if found is not None
                   and np.isfinite(values[position])]
        if not present:
            continue
        mean = np.asarray(values, dtype=float)[present]
        covariance = np.asarray(full_covariance, dtype=float)[np.ix_(present, present)]
        drawn = rng.multivariate_normal(mean, covariance, size=samples, method="eigh")
        clipped += int((drawn < 0).sum())
        columns.append(np.clip(drawn, 0.0, None))
        keys += [joint_keys[currency][position] for position in present]
    values = np.hstack(columns) if columns else np.zeros((samples, 0))
    distribution = "multivariate normal from the reconciliation; lognormal elsewhere" if reconciled else "lognormal"
    return FlowDraws(keys=keys, values=values, distribution=distribution, fixed=fixed, clipped=clipped)


def _lognormal(rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray, samples: int) -> np.ndarray:
    """Lognormal draws with the given mean and standard deviation (a zero mean stays 0)."""
    positive = mean > 0
    safe_mean = np.where(positive, mean, 1.0)
    sigma2 = np.log1p((sd / safe_mean) ** 2)
    mu = np.log(safe_mean) - sigma2 / 2.0
    drawn = rng.lognormal(mu, np.sqrt(sigma2), size=(samples, len(mean)))
    return np.where(positive, drawn, 0.0)


def with_intervals(G: nx.MultiDiGraph, draws: FlowDraws, figures: Callable[[nx.MultiDiGraph], dict[str, float | None]],
                   ) -> pd.DataFrame:
    """Each figure of ``figures(G)`` on the data and its median and 90 % interval over the draws.

    ``figures`` maps a graph to named figures (None where a figure is unknown); it is called once on the
    data and once per draw on a copy of ``G`` whose drawn quantities are replaced.

    Returns
    -------
    DataFrame
        ``figure, value, median, low, high, draws`` (``draws``: how many draws gave the figure a number;
        a figure unknown in every draw has None for its interval).
    """
    on_data = figures(G)
    sampled = G.copy()
    per_draw = []
    for row in range(len(draws.values)):
        apply_draw(sampled, draws, row)
        per_draw.append(figures(sampled))
    return summarise(on_data, per_draw, draws.note)


def draw_emissions(emissions: dict[str, tuple], uncertainty: dict[str, tuple], samples: int, seed: int, *,
                   default_quality: str | None = None) -> list[dict[str, tuple]]:
    """``samples`` versions of the firms' emissions rows ``firm -> (year, scope1, scope2, capture)``:
    each figure of a row with a relative uncertainty (stated, its class's default, or ``default_quality``'s)
    multiplied by its own lognormal factor of mean 1; the other rows as they are.

    The draws use their own random stream (``default_rng([seed, 1])``), so adding emission uncertainties
    leaves the flow draws of the same seed unchanged.
    """
    from .uncertainty import DEFAULT_RELATIVE_SD

    rng = np.random.default_rng([seed, 1])
    drawn: list[dict[str, tuple]] = [dict(emissions) for _ in range(samples)]
    for firm, row in emissions.items():
        sd_rel, quality = uncertainty.get(firm, (None, None))
        share = sd_rel if sd_rel is not None else DEFAULT_RELATIVE_SD.get(quality or default_quality or "", None)
        if not share:
            continue
        year, *figures = row
        factors = _lognormal(rng, np.ones(len(figures)), np.full(len(figures), share), samples)
        for draw, factor in zip(drawn, factors):
            draw[firm] = (year, *(None if figure is None else figure * float(scale)
                                  for figure, scale in zip(figures, factor)))
    return drawn


def apply_draw(G: nx.MultiDiGraph, draws: FlowDraws, row: int) -> None:
    """Set the quantities of draw ``row`` on ``G`` (a copy of the graph drawn from, or a graph with a
    subset of its flows: flows it lacks are skipped)."""
    edges = G.edges
    for (u, v, key), quantity in zip(draws.keys, draws.values[row]):
        if G.has_edge(u, v, key):
            edges[u, v, key]["quantity"] = float(quantity)


def summarise(on_data: dict[str, float | None], per_draw: list[dict[str, float | None]], note: str) -> pd.DataFrame:
    """Figures on the data beside their median and 90 % interval over the draws (as :func:`with_intervals`)."""
    rows = []
    for name, value in on_data.items():
        known = [float(figure) for figure in (draw.get(name) for draw in per_draw)
                 if figure is not None and math.isfinite(figure)]
        values = np.array(known, dtype=np.float64)
        low, median, high = (np.percentile(values, [INTERVAL[0], 50.0, INTERVAL[1]]).tolist() if len(values)
                             else (None, None, None))
        rows.append({"figure": name, "value": value, "median": median, "low": low, "high": high, "draws": len(values)})
    frame = none_for_nan(pd.DataFrame(rows, columns=["figure", "value", "median", "low", "high", "draws"]))
    frame.attrs["note"] = note
    return frame
