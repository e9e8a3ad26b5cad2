"""A park's flows reconciled against its firms' balances, and the estimates layer that keeps the result.

:func:`balance_system` turns a park's graph into the linear balances of one currency: one balance per
firm that declares the currency balanced (``enterprises.balanced``), every flow of that currency into or
out of such a firm a variable, boundary flows included (a stock change is a flow to or from the firm's
stock: a boundary flow with ``boundary`` = ``stock``). :func:`reconcile_park` solves it with
:func:`symbiosis.reconcile.reconcile`; :func:`save_reconciliation` writes the result as a separate layer
(tables ``reconciliations`` and ``estimates``) that never overwrites imported data and that
:func:`drop_reconciliation` removes again; ``load_graph(..., estimates=True)`` reads it back into a graph.

Standard deviations come from the data (:func:`symbiosis.uncertainty.flow_sd`: a stated one, else the
flow's quality class); a known quantity with neither takes ``default_quality`` (``"exact"`` makes such a
quantity fixed: known exactly, never adjusted).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse
import sqlite_utils

from .coverage import none_for_nan
from .errors import InputError, UnknownIdError
from .graph import is_boundary, validate_graph
from .schema import QUALITY_CLASSES
from .store import park_exists, transaction
from .uncertainty import flow_sd, sd_source
from .units import CURRENCY

if TYPE_CHECKING:
    from .reconcile import Reconciliation

__all__ = ["BalanceSystem", "ParkReconciliation", "balance_system", "reconcile_park", "reconcile_store",
           "save_reconciliation", "drop_reconciliation", "joint_distribution", "list_reconciliations",
           "ESTIMATE_STATUSES", "EXACT"]

#: ``default_quality`` that takes a known quantity without a stated uncertainty as exact (fixed)
EXACT = "exact"
#: what an estimate row says of its flow: adjusted (a redundant measurement moved by the balances),
#: determined (an unknown quantity the balances fix), kept (a measurement no balance checks, or a fixed
#: one), undetermined (an unknown the balances cannot fix: no value)
ESTIMATE_STATUSES = ("adjusted", "determined", "kept", "undetermined")
_CURRENCIES = tuple(sorted(set(CURRENCY.values())))
#: values below this share of the largest measured quantity are rounding noise of the projection
_NOISE = 1e-9
#: the reason given to a flow reconciled below 0
NEGATIVE_REASON = ("reconciled below 0: the balances contradict the data around this flow (a gross error, a flow "
                   "missing from the data, or a firm that does not balance); not used as an estimate")


@dataclass(frozen=True)
class BalanceSystem:
    """The balances of one currency in one park, ready for :func:`symbiosis.reconcile.reconcile`.

    ``A`` (balanced firms x flows): +1 for a flow into the firm, -1 out of it. ``values`` and ``sds``
    per flow (NaN where unknown); ``measured`` marks flows with a quantity; ``flows`` describes each flow
    (id, source, target, resource, unit, sd_source).
    """

    currency: str
    processes: tuple[str, ...]
    A: scipy.sparse.csr_array
    values: np.ndarray
    sds: np.ndarray
    measured: np.ndarray
    flows: pd.DataFrame


def balance_system(G: nx.MultiDiGraph, currency: str, *, default_quality: str | None = "estimated",
                   balanced: str = "declared") -> BalanceSystem:
    """The linear balances of ``currency`` at the park's balanced firms.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        The park's existing flows (:func:`symbiosis.graph.load_graph`); nodes carry ``balanced``.
    currency : {'mass', 'energy', 'water', 'co2'}
    default_quality : str or None
        The quality class of a known quantity with no stated uncertainty and no class of its own
        (:data:`symbiosis.schema.QUALITY_CLASSES`), or ``"exact"`` (fixed), or None (refused: such a
        quantity is listed in the error).
    balanced : {'declared', 'all'}
        Which firms are balanced: those whose ``balanced`` column names the currency, or every firm of the
        park (not the boundary, not outside firms) for this run.

    Raises
    ------
    InputError
        An unknown currency or option; no balanced firm; known quantities without an uncertainty when
        ``default_quality`` is None.
    """
    validate_graph(G, needs=("currency", "quantity"))
    if currency not in _CURRENCIES:
        raise InputError(f"unknown currency {currency!r}; expected one of {', '.join(_CURRENCIES)}")
    if default_quality not in (*QUALITY_CLASSES, EXACT, None):
        raise InputError(f"default quality {default_quality!r}: expected one of {', '.join(QUALITY_CLASSES)} or exact")
    if balanced not in ("declared", "all"):
        raise InputError(f"balanced firms {balanced!r}: expected 'declared' or 'all'")
    processes = tuple(sorted(node for node, data in G.nodes(data=True) if not is_boundary(G, node)
                             and (balanced == "all" or currency in (data.get("balanced") or "").split(","))))
    if not processes:
        raise InputError(f"no firm of this park declares its {currency} balance: give enterprises a 'balanced' "
                         f"column naming {currency} (or 'all'), or reconcile with --balanced all")
    row_of = {process: row for row, process in enumerate(processes)}
    rows: list[int] = []
    columns: list[int] = []
    coefficients: list[float] = []
    records: list[dict] = []
    for source, target, flow_id, data in G.edges(keys=True, data=True):
        if data["currency"] != currency or (source not in row_of and target not in row_of):
            continue
        column = len(records)
        for end, sign in ((target, 1.0), (source, -1.0)):
            if end in row_of:
                rows.append(row_of[end])
                columns.append(column)
                coefficients.append(sign)
        rule = None if default_quality == EXACT else default_quality
        quantity = data["quantity"]
        sd = flow_sd(quantity, data.get("sd"), data.get("quality"), default_quality=rule)
        source_of_sd: str | None
        if quantity is not None and sd is None and default_quality == EXACT:
            sd, source_of_sd = 0.0, "none stated: taken as exact"
        else:
            source_of_sd = sd_source(data.get("sd"), data.get("quality"), default_quality=rule)
        records.append({"flow_id": flow_id, "source": source, "target": target, "resource": data["resource"],
                        "unit": data["unit"], "quantity": quantity, "sd": sd,
                        "sd_source": source_of_sd if quantity is not None else None})
    flows = pd.DataFrame(records, columns=["flow_id", "source", "target", "resource", "unit", "quantity", "sd",
                                           "sd_source"])
    unweighted = flows[flows["quantity"].notna() & flows["sd"].isna()]
    if len(unweighted):
        listed = ", ".join(unweighted["flow_id"].astype(str).head(5))
        raise InputError(f"{len(unweighted)} known {currency} flow(s) state no uncertainty nor quality class ({listed}"
                         f"{' ...' if len(unweighted) > 5 else ''}): give them one, or pass a default quality")
    A = scipy.sparse.csr_array((coefficients, (rows, columns)), shape=(len(processes), len(records)))
    values = pd.to_numeric(flows["quantity"], errors="coerce").to_numpy(dtype=float)
    sds = pd.to_numeric(flows["sd"], errors="coerce").to_numpy(dtype=float)
    return BalanceSystem(currency=currency, processes=processes, A=A, values=values, sds=sds,
                         measured=~np.isnan(values), flows=flows)


def _status(kind: str, determinable: bool, redundant: bool) -> str:
    if kind == "unknown":
        return "determined" if determinable else "undetermined"
    return "adjusted" if kind == "measured" and redundant else "kept"


def reconcile_park(G: nx.MultiDiGraph, currency: str, *, default_quality: str | None = "estimated",
                   balanced: str = "declared", significance: float = 0.05) -> pd.DataFrame:
    """Reconcile one currency's flows of a park against its balanced firms.

    Returns
    -------
    DataFrame
        One row per flow in the balances: ``flow_id, source, target, resource, unit, status`` (one of
        :data:`ESTIMATE_STATUSES`), ``measured, measured_sd, sd_source, value, sd, adjustment,
        test_statistic, suspect, reason``. Unknown numbers are None. ``attrs``: the global test
        (``chi_square, degrees_of_freedom, p_value, passed``), ``currency``, ``processes``,
        ``critical_value`` and ``test``.

    Examples
    --------
    >>> G = nx.MultiDiGraph()
    >>> G.add_node("mill", balanced="mass")
    >>> _ = G.add_edge("boundary:in:import", "mill", key="in", currency="mass", quantity=100.0, sd=5.0,
    ...                resource="pulp", unit="t/yr")
    >>> _ = G.add_edge("mill", "boundary:out:export", key="out", currency="mass", quantity=None,
    ...                resource="paper", unit="t/yr")
    >>> G.nodes["boundary:in:import"]["boundary"] = G.nodes["boundary:out:export"]["boundary"] = True
    >>> table = reconcile_park(G, "mass")
    >>> row = table.set_index("flow_id").loc["out"]
    >>> row["status"], float(row["value"])
    ('determined', 100.0)
    """
    system, result = _solved(G, currency, default_quality=default_quality, balanced=balanced,
                             significance=significance)
    solved = result.to_frame()
    table = system.flows[["flow_id", "source", "target", "resource", "unit", "sd_source"]].copy()
    table.insert(5, "status", [_status(kind, determinable, redundant) for kind, determinable, redundant
                               in zip(result.kind, result.determinable, result.redundant)])
    for column in ("measured", "measured_sd", "value", "sd", "adjustment", "test_statistic", "suspect", "reason"):
        table[column] = solved[column].to_numpy()
    # rounding noise of the projection (1e-14 t on a balance of millions) is no quantity: an exact 0
    scale = float(np.nanmax(np.abs(system.values), initial=0.0)) or 1.0
    for column in ("value", "sd", "adjustment"):
        numbers = pd.to_numeric(table[column], errors="coerce")
        table[column] = numbers.where(~(numbers.abs() < scale * _NOISE), 0.0).astype(object).where(numbers.notna(), None)
    # a flow reconciled below 0 is no quantity: the balances contradict the data around it; said in its reason
    # (and counted), and never read as an estimate (symbiosis.graph keeps the imported quantity)
    below = pd.to_numeric(table["value"], errors="coerce") < 0
    table.loc[below, "reason"] = [f"{NEGATIVE_REASON}" + (f"; {reason}" if reason else "")
                                  for reason in table.loc[below, "reason"]]
    table = none_for_nan(table[["flow_id", "source", "target", "resource", "unit", "status", "measured",
                                "measured_sd", "sd_source", "value", "sd", "adjustment", "test_statistic", "suspect",
                                "reason"]])
    table.attrs.update(solved.attrs)
    table.attrs["negative"] = int(below.sum())
    if not table.attrs.get("degrees_of_freedom"):  # no redundancy, nothing tested: no statistic, not a 0
        table.attrs["chi_square"] = None
    table.attrs.update({"currency": currency, "processes": list(system.processes)})
    return table


def joint_distribution(G: nx.MultiDiGraph, currency: str, *, default_quality: str | None = "estimated",
                       balanced: str = "declared") -> tuple[list[str], np.ndarray, np.ndarray]:
    """The reconciled values of one currency's flows and their full covariance (flow ids, values,
    covariance; NaN for flows the balances cannot determine), for drawing consistent flow sets
    (:func:`symbiosis.sampling.draw_flows`). ``G`` holds the imported data (not the estimates)."""
    _, result = _solved(G, currency, default_quality=default_quality, balanced=balanced)
    return list(result.flow_ids), result.value, result.covariance


def _solved(G: nx.MultiDiGraph, currency: str, *, default_quality: str | None, balanced: str,
            significance: float = 0.05) -> tuple[BalanceSystem, Reconciliation]:
    """The balances of one currency and their reconciliation (:func:`symbiosis.reconcile.reconcile`)."""
    from .reconcile import reconcile

    system = balance_system(G, currency, default_quality=default_quality, balanced=balanced)
    return system, reconcile(system.A, system.values, np.nan_to_num(system.sds), system.measured,
                             flow_ids=[str(flow) for flow in system.flows["flow_id"]],
                             process_ids=list(system.processes), significance=significance)


def save_reconciliation(db: sqlite_utils.Database, park: str, table: pd.DataFrame, *, year: int | None = None,
                        settings: dict | None = None) -> int:
    """Store a :func:`reconcile_park` table as a new reconciliation (one transaction); its id.

    Imported flows are never changed: analyses read the estimates only when asked
    (``load_graph(..., estimates=True)``, ``--estimates``), and :func:`drop_reconciliation` removes them.
    """
    if not park_exists(db, park):
        raise UnknownIdError(f"no park {park!r} in the store")
    attrs = table.attrs
    counts = table["status"].value_counts()
    with transaction(db):
        cursor = db.conn.execute(
            "INSERT INTO reconciliations (park_id, currency, year, flows, measured, unknown, determined, chi2, dof, "
            "p_value, passed, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (park, attrs["currency"], year, len(table), int(table["measured"].notna().sum()),
             int(table["measured"].isna().sum()), int(counts.get("determined", 0)), attrs.get("chi_square"),
             attrs.get("degrees_of_freedom"), attrs.get("p_value"),
             None if attrs.get("passed") is None else int(bool(attrs["passed"])), json.dumps(settings or {})))
        run = int(cursor.lastrowid or 0)
        db.conn.executemany(
            "INSERT INTO estimates (reconciliation_id, flow_id, status, value, sd, measured, test, gross_error, "
            "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run, row.flow_id, row.status, row.value, row.sd, row.measured, row.test_statistic, int(bool(row.suspect)),
              row.reason) for row in table.itertuples(index=False)])
    return run


def drop_reconciliation(db: sqlite_utils.Database, reconciliation_id: int) -> int:
    """Remove a stored reconciliation and its estimates; the number of estimates removed."""
    if not db.execute("SELECT 1 FROM reconciliations WHERE id = ?", (reconciliation_id,)).fetchone():
        raise UnknownIdError(f"no reconciliation {reconciliation_id} in the store (symbiosis estimates lists them)")
    with transaction(db):
        removed = db.conn.execute("DELETE FROM estimates WHERE reconciliation_id = ?", (reconciliation_id,)).rowcount
        db.conn.execute("DELETE FROM reconciliations WHERE id = ?", (reconciliation_id,))
    return removed


def list_reconciliations(db: sqlite_utils.Database) -> pd.DataFrame:
    """Every stored reconciliation: id, park, currency, year, when, counts and the global test."""
    rows = db.execute(
        "SELECT id, park_id, currency, year, created_at, flows, measured, unknown, determined, chi2, dof, p_value, "
        "passed FROM reconciliations ORDER BY id").fetchall()
    frame = pd.DataFrame(rows, columns=["id", "park_id", "currency", "year", "created_at", "flows", "measured",
                                        "unknown", "determined", "chi2", "dof", "p_value", "passed"])
    frame["passed"] = frame["passed"].map({1: True, 0: False})
    return none_for_nan(frame)


@dataclass
class ParkReconciliation:
    """What :func:`reconcile_store` found: one table per currency reconciled, a summary, notes."""

    tables: dict[str, pd.DataFrame]
    summary: pd.DataFrame
    notes: list[str]


def _summary_row(currency: str, table: pd.DataFrame, run: int | None) -> dict:
    attrs, status = table.attrs, table["status"]
    return {"currency": currency, "balanced_firms": len(attrs["processes"]), "flows": len(table),
            "measured": int(table["measured"].notna().sum()), "adjusted": int(status.eq("adjusted").sum()),
            "unknown": int(table["measured"].isna().sum()), "determined": int(status.eq("determined").sum()),
            "undetermined": int(status.eq("undetermined").sum()), "negative": int(attrs.get("negative", 0)),
            "chi_square": attrs.get("chi_square"),
            "degrees_of_freedom": attrs.get("degrees_of_freedom"), "p_value": attrs.get("p_value"),
            "passed": attrs.get("passed"), "gross_errors": ", ".join(table.loc[table["suspect"].eq(True), "flow_id"]),
            "reconciliation": run}


def reconcile_store(db: sqlite_utils.Database, park: str, *, currencies: tuple[str, ...] | None = None,
                    year: int | None = None, default_quality: str | None = "estimated", balanced: str = "declared",
                    significance: float = 0.05, save: bool = True) -> ParkReconciliation:
    """Reconcile a park's existing flows, currency by currency, and store each result as estimates.

    Parameters
    ----------
    currencies : tuple of str, optional
        Default: every currency some firm of the park declares balanced (with ``balanced='all'``:
        every currency the park has flows of).
    year : int, optional
        Flows of this year (and undated ones); the estimates are stored for this year.
    save : bool
        Store each reconciliation (:func:`save_reconciliation`); False only computes.

    Raises
    ------
    UnknownIdError
        The park is not in the store.
    InputError, ReconciliationError
        As :func:`balance_system` and :func:`symbiosis.reconcile.reconcile`.
    """
    from .graph import load_graph

    G = load_graph(db, park, year=year, status="existing")
    if currencies is None:
        declared = {currency for _, data in G.nodes(data=True) for currency in (data.get("balanced") or "").split(",")}
        present = {data["currency"] for _, _, data in G.edges(data=True)}
        currencies = tuple(currency for currency in _CURRENCIES
                           if currency in present and (balanced == "all" or currency in declared))
    tables: dict[str, pd.DataFrame] = {}
    rows: list[dict] = []
    notes: list[str] = []
    for currency in currencies:  # every currency solved before any is stored: a failure stores nothing
        tables[currency] = reconcile_park(G, currency, default_quality=default_quality, balanced=balanced,
                                          significance=significance)
    settings = {"default_quality": default_quality, "balanced": balanced, "significance": significance}
    for currency, table in tables.items():
        run = save_reconciliation(db, park, table, year=year, settings=settings) if save else None
        rows.append(_summary_row(currency, table, run))
    if not currencies:
        notes.append("no firm of this park declares a balanced currency: give enterprises a 'balanced' column, "
                     "or reconcile with --balanced all")
    for currency, table in tables.items():
        if table.attrs.get("negative"):
            notes.append(f"{currency}: {table.attrs['negative']} of {len(table)} flows reconciled below 0, which no "
                         "flow can be: the balances contradict the data there (see each flow's reason; with "
                         "--balanced all, firms that do not balance are taken as balanced). --estimates keeps "
                         "their imported quantities")
    return ParkReconciliation(tables=tables, summary=none_for_nan(pd.DataFrame(rows)), notes=notes)
