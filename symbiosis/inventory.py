"""The park's carbon inventory as one reporting entity: the park view.

The firm view (:func:`symbiosis.carbon.carbon_balance`) gives each firm's scope 1 and 2 as it reports
them. Summed over the park they count some tonnes twice: power, steam and heat a firm buys from a park
neighbour are in that neighbour's scope 1 already, and captured CO2 that a capture unit (or a dry-ice
plant) vents again is in the gross scope 1 of the plant it was captured from as well as in the vent's.
The park view consolidates the park's firms as one organisation (GHG Protocol Corporate Standard,
chapter 3, consolidation of the operations inside the boundary; ISO 14064-1:2018, 5.1, organisational
boundary) and counts every tonne once:

1. **Scope 1, gross, once**: each firm's reported scope 1 (gross: captured CO2 included, as the
   GHG Protocol reports captured CO2 separately from the emissions it came from). A firm that receives
   CO2 by flows adds only the part of its scope 1 that is not received CO2 released again (its
   ``vented_t``: flows to air, and what a capture or dry-ice plant keeps): that CO2 is in its source's
   gross already. A firm that reports nothing stands in with the CO2 its flows send out (to air, to
   firms, to storage, sold).
2. **Scope 2 only for energy bought from outside the park** (the grid, outside suppliers): each firm's
   ``scope2_outside_t`` (see :func:`symbiosis.carbon.carbon_balance`). Location-based (the grid average,
   as the firms report it) and market-based (less green-electricity certificates among the park's
   offsets, capped at the location-based figure): both are given, and the certificates are never
   subtracted again as offsets.
3. **Captured CO2 by its fate** (:mod:`symbiosis.co2uses`): only CO2 *stored* for good (mineralised,
   geologically stored) comes off the headline; CO2 *utilised* (urea, methanol, drinks, greenhouses,
   algae, sold outside) returns to the air within months and stays in it. The figure with every
   captured tonne taken off (the CO2 that leaves the park's stacks and vents) is given beside it, named
   as such.

Headline: **park emissions = scope 1 (once) - stored + scope 2 from outside (location-based)**. It is the
headline because it is what the atmosphere receives within a year on the grid's average: utilised CO2 is
re-emitted within that time (the EU ETS counts captured CO2 as not emitted only when it is stored or
permanently bound in a product, Directive 2003/87/EC Art. 12(3a)-(3b)), and a market-based scope 2
depends on certificates that the national park accounting values separately.

Avoided emissions (by-products replacing virgin supply) are never subtracted from the inventory: they
happen in other firms' inventories and are reported beside it (WBCSD, Guidance on Avoided Emissions,
2023). Offsets are subtracted only in the residual, once.

The **national accounting variant** (NDRC/MIIT/NEA 发改环资〔2025〕910号, annex 4, as quoted in the shipped
targets' sources) values electricity bought from outside at the fossil grid factor
``grid_electricity_fossil_tco2e_per_mwh`` (0.8325 t/MWh for 2022) instead of the firms' reported scope 2;
it is the numerator of the ``co2_per_energy`` indicator.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import sqlite_utils

from .coverage import KNOWN, PARTIAL, UNKNOWN, Coverage, clean_zero, status_of
from .factors import factors_or_shipped

__all__ = ["park_inventory", "park_views", "firm_terms", "load_offsets", "is_green_certificate", "HEADLINE"]

#: the figure of :func:`park_inventory` that is the park's emissions
HEADLINE = "park_emissions"
_GREEN = re.compile(r"green[\s_-]*(electricity|power)?[\s_-]*certificate|\bgec\b|\bi-?rec\b|\brec\b|guarantee[s]? of "
                    r"origin|\bgoo?\b|绿证|绿色电力证书", re.IGNORECASE)
_COLUMNS = ["figure", "value_t", "status", "coverage", "rule"]


def is_green_certificate(kind: str | None) -> bool:
    """Whether an offset row is a green-electricity certificate (GEC, I-REC, REC, guarantee of origin, 绿证).

    Examples
    --------
    >>> [is_green_certificate(kind) for kind in ("green certificate", "I-REC", "CCER", "绿证", None)]
    [True, True, False, True, False]
    """
    return bool(kind) and bool(_GREEN.search(str(kind)))


def load_offsets(db: sqlite_utils.Database, park: str, *, year: int | None = None) -> pd.DataFrame:
    """The park's offsets rows (``year, t_co2e, kind``): the given year, else every year's."""
    rows = db.execute("SELECT year, t_co2e, kind FROM offsets WHERE park_id = ?" + (" AND year = ?" if year else ""),
                      [park] + ([year] if year else [])).fetchall()
    return pd.DataFrame(rows, columns=["year", "t_co2e", "kind"])


def park_inventory(balance: pd.DataFrame, offsets: pd.DataFrame | None = None,
                   factors: dict[str, float] | None = None) -> pd.DataFrame:
    """The park's carbon inventory as one reporting entity (the rules are in the module docstring).

    Parameters
    ----------
    balance : DataFrame
        :func:`symbiosis.carbon.carbon_balance` of the park (its firms only).
    offsets : DataFrame, optional
        :func:`load_offsets` of the park: ``t_co2e, kind``. Green-electricity certificates among them
        make the market-based scope 2; the rest are subtracted in the residual.
    factors : dict, optional
        For ``grid_electricity_fossil_tco2e_per_mwh`` (the national accounting variant).

    Returns
    -------
    DataFrame
        One row per figure: ``figure, value_t, status, coverage, rule`` (tCO2e/yr). Figures:
        ``scope1_once, stored, utilised, vented_again, scope2_outside_location,
        green_certificates, park_emissions`` (the headline), ``park_emissions_market_based,
        park_emissions_all_capture_removed, park_emissions_national_accounting, offsets,
        residual_after_offsets``. A figure with nothing known is None with its status ``unknown``;
        one that stands on some firms only is their known part, ``partial``, and the coverage says
        how many.

    Examples
    --------
    >>> import pandas as pd
    >>> firm = dict(park_id="p", scope1_t=100.0, scope2_outside_t=10.0, electricity_outside_mwh=20.0, co2_received_t=0.0,
    ...             vented_t=0.0, stored_t=0.0, utilised_t=0.0, co2_to_air_t=None, co2_sent_t=0.0,
    ...             co2_to_storage_t=0.0, co2_sold_t=0.0)
    >>> inventory = park_inventory(pd.DataFrame([firm]), factors={"grid_electricity_fossil_tco2e_per_mwh": 0.8})
    >>> inventory.set_index("figure").at["park_emissions", "value_t"]
    110.0
    """
    factors = factors_or_shipped(factors)
    terms = firm_terms(balance).drop(columns="park_id")
    firms = len(terms)
    count = {column: int(terms[column].notna().sum()) for column in terms.columns}
    total = {column: _total(terms[column]) for column in terms.columns}
    reporting = _Part(count["scope1_once"], firms, "firms with scope 1 (reported, or CO2 flows out)")
    stored_cov = _Part(count["stored"], firms, "firms' stored CO2 known")
    utilised_cov = _Part(count["utilised"], firms, "firms' utilised CO2 known")
    vented_cov = _Part(count["vented"], firms, "firms' vented CO2 known")
    scope2_cov = _Part(count["scope2_outside"], firms, "firms with scope 2 reported")
    electricity_cov = _Part(count["electricity_outside_mwh"], firms, "firms' electricity bought from outside known")
    scope1, stored, utilised, vented, scope2 = (total[column] for column in (
        "scope1_once", "stored", "utilised", "vented", "scope2_outside"))
    electricity = total["electricity_outside_mwh"]
    offsets = offsets if offsets is not None else pd.DataFrame(columns=["t_co2e", "kind"])
    green_rows = offsets["kind"].map(is_green_certificate).astype(bool) if len(offsets) else pd.Series(dtype=bool)
    certificates = float(pd.to_numeric(offsets.loc[green_rows, "t_co2e"], errors="coerce").sum()) if len(offsets) \
        else 0.0
    other_offsets = float(pd.to_numeric(offsets.loc[~green_rows, "t_co2e"], errors="coerce").sum()) if len(offsets) \
        else 0.0
    # certificates cover scope 2 bought from outside at most; with that unknown, they stand as given
    green = min(certificates, scope2) if scope2 is not None else certificates

    def combine(*terms: tuple[float | None, int]) -> float | None:
        known = [(value, sign) for value, sign in terms if value is not None]
        if len(known) < len(terms):
            return None
        result = sum(sign * value for value, sign in known)
        return clean_zero(result, max(abs(value) for value, _ in known) or 1.0)

    # the headline and the figures built on it stand on scope 1: with it known, an unknown stored CO2 or
    # scope 2 adds its known part (0 when none is known), and the status and coverage say so
    stored_part, utilised_part, scope2_part = (value or 0.0 for value in (stored, utilised, scope2))
    headline = combine((scope1, 1), (stored_part, -1), (scope2_part, 1))
    national_scope2 = None if electricity is None else \
        electricity * factors["grid_electricity_fossil_tco2e_per_mwh"] + (total["scope2_without_electricity"] or 0.0)
    base_status = _worst(reporting, stored_cov, scope2_cov)
    coverage = "; ".join(part.text for part in (reporting, stored_cov, scope2_cov))
    certificate_rows = int(green_rows.sum()) if len(offsets) else 0
    table = [
        ("scope1_once", scope1, reporting.status, reporting.text,
         "scope 1 of every park firm, gross at its source; a CO2 receiver adds only what is not received CO2 "
         "released again"),
        ("stored", stored, stored_cov.status, stored_cov.text,
         "captured CO2 stored for good: mineralised, geologically stored (co2_uses.csv)"),
        ("utilised", utilised, utilised_cov.status, utilised_cov.text,
         "captured CO2 in uses that release it within months (urea, fuels, drinks, greenhouses, algae, sold "
         "outside): stays in the park's emissions"),
        ("vented_again", vented, vented_cov.status, vented_cov.text,
         "received CO2 released again by capture, purification or dry-ice plants: counted once, at its source"),
        ("scope2_outside_location", scope2, scope2_cov.status, scope2_cov.text,
         "scope 2 of energy bought from outside the park only (grid average, as reported)"),
        ("green_certificates", green, KNOWN if green is not None else UNKNOWN,
         f"{certificate_rows} certificate rows among the offsets", "green-electricity certificates, up to the "
         "scope 2 bought from outside: they make the market-based scope 2 and are not subtracted again as offsets"),
        (HEADLINE, headline, base_status, coverage,
         "HEADLINE: scope1_once - stored + scope2_outside_location (only CO2 stored for good is deducted)"),
        ("park_emissions_market_based", combine((headline, 1), (green, -1)) if green is not None else None,
         base_status, coverage, "park_emissions - green_certificates"),
        ("park_emissions_all_capture_removed",
         combine((scope1, 1), (stored_part, -1), (utilised_part, -1), (scope2_part, 1)),
         _worst(base_status, utilised_cov), coverage,
         "as if every captured tonne were removed: the CO2 leaving the park's stacks and vents, plus scope 2 "
         "from outside; NOT the headline, utilised CO2 returns to the air"),
        ("park_emissions_national_accounting",
         combine((scope1, 1), (stored_part, -1), (national_scope2, 1)) if national_scope2 is not None else None,
         _worst(base_status, electricity_cov), coverage,
         "scope1_once - stored + electricity bought from outside x the fossil grid factor "
         f"({factors['grid_electricity_fossil_tco2e_per_mwh']:g} t/MWh, 910号 annex 4) + other scope 2 from outside"),
        ("offsets", other_offsets, KNOWN, f"{len(offsets) - certificate_rows} offset rows (certificates apart)",
         "offsets other than green-electricity certificates"),
        ("residual_after_offsets",
         combine((headline, 1), (green, -1), (other_offsets, -1)) if green is not None else None, base_status,
         coverage, "park_emissions - green_certificates - offsets: each subtracted once"),
    ]
    # a figure with nothing known is unknown, whatever share of the firms its known zeros cover
    table = [(figure, value, UNKNOWN if value is None else status, coverage, rule)
             for figure, value, status, coverage, rule in table]
    return pd.DataFrame([dict(zip(_COLUMNS, row)) for row in table], columns=_COLUMNS, dtype=object)


def _numbers(balance: pd.DataFrame, column: str) -> pd.Series:
    if column not in balance.columns:
        return pd.Series(np.nan, index=balance.index)
    return pd.to_numeric(balance[column], errors="coerce").astype(float)


def firm_terms(balance: pd.DataFrame) -> pd.DataFrame:
    """Each firm's part of the park view (NaN where unknown): ``park_id, scope1_once, stored, utilised,
    vented, scope2_outside, electricity_outside_mwh, scope2_without_electricity``.

    ``scope1_once`` is the reported scope 1, less the received CO2 the firm releases again when it
    receives CO2 (its sources' gross holds it); a firm that reports none stands in with the CO2 its
    flows send out (to air, firms, storage, sold), and a receiver that reports none adds 0. Vectorised:
    the national store's balance has 250,000 firms."""
    scope1 = _numbers(balance, "scope1_t")
    received = _numbers(balance, "co2_received_t").fillna(0.0) > 0
    vented = _numbers(balance, "vented_t")
    from_flows = balance["emitted_source"].eq("co2 flows to air") if "emitted_source" in balance.columns \
        else pd.Series(False, index=balance.index)
    outflows = sum(_numbers(balance, column).fillna(0.0)
                   for column in ("co2_to_air_t", "co2_sent_t", "co2_to_storage_t", "co2_sold_t"))
    stand_in = outflows.where(from_flows)
    own = np.where(scope1.notna(), np.where(received, (scope1 - vented.fillna(0.0)).clip(lower=0.0), scope1),
                   np.where(received, 0.0, stand_in))
    scope2_outside = _numbers(balance, "scope2_outside_t")
    electricity = _numbers(balance, "electricity_outside_mwh")
    return pd.DataFrame({
        "park_id": balance["park_id"] if "park_id" in balance.columns else None,
        "scope1_once": own, "stored": _numbers(balance, "stored_t"), "utilised": _numbers(balance, "utilised_t"),
        "vented": vented, "scope2_outside": scope2_outside, "electricity_outside_mwh": electricity,
        # scope 2 from outside of firms buying no electricity from outside: their heat (national variant)
        "scope2_without_electricity": scope2_outside.where(~(electricity.fillna(0.0) > 0), 0.0),
    }, index=balance.index)


def park_views(balance: pd.DataFrame) -> pd.DataFrame:
    """The park view's main figures for every park of a balance (all parks at once): ``park_id, firms,
    park_emissions, scope1_once, stored, utilised, scope2_outside, status`` (partial when some firm's
    figure is unknown: the known part; None when nothing is known). Offsets are per park and not in it."""
    terms = firm_terms(balance)
    columns = ["scope1_once", "stored", "utilised", "scope2_outside"]
    grouped = terms.groupby("park_id", sort=True, dropna=False)
    sums = grouped[columns].sum(min_count=1)
    known = grouped[columns].count()
    firms = grouped.size()
    # a figure whose known part is 0 while some firm's is unknown is unknown, not 0
    for column in columns:
        sums.loc[(known[column] < firms) & (sums[column].fillna(0.0) == 0), column] = np.nan
    frame = sums.copy()
    frame["park_emissions"] = sums["scope1_once"] - sums["stored"].fillna(0.0) + sums["scope2_outside"].fillna(0.0)
    complete = known[["scope1_once", "stored", "scope2_outside"]].min(axis=1)
    frame["status"] = np.where(complete == firms, KNOWN, np.where(sums["scope1_once"].isna(), UNKNOWN, PARTIAL))
    frame.insert(0, "firms", firms)
    frame = frame.reset_index()[["park_id", "firms", "park_emissions", "scope1_once", "stored", "utilised",
                                 "scope2_outside", "status"]]
    return frame.astype(object).where(frame.notna(), None)


def _total(values: pd.Series) -> float | None:
    """Sum of the known values, floating-point noise cleared; None when some are unknown and the known
    ones add up to nothing (an unknown is not a 0); 0 for no firms."""
    known = values.dropna()
    if len(known) < len(values) and not known.abs().sum() > 0:
        return None
    return clean_zero(float(known.sum()), float(known.abs().max()) if len(known) else 1.0)


class _Part(Coverage):
    @property
    def status(self) -> str:
        return status_of(self.known, self.total)


def _worst(*statuses: str | _Part) -> str:
    texts = [status if isinstance(status, str) else status.status for status in statuses]
    return UNKNOWN if UNKNOWN in texts else (PARTIAL if PARTIAL in texts else KNOWN)
