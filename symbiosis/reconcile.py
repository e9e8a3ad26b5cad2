"""Linear data reconciliation: balances fill in unknown flows, weighted least squares adjusts measured ones.

A park's flow data are sparse and uncertain. Balances at processes (what goes in comes out, up to a
stock change) determine some unknown flows and over-determine some measured ones; weighted least
squares adjusts the uncertain measurements as little as their uncertainties allow so that every balance
holds, and tells which measurements look wrong. This is the linear case of STAN (Cencic & Rechberger
2008; Cencic 2016) and of process data reconciliation (Narasimhan & Jordache 2000, "Data Reconciliation
and Gross Error Detection", ch. 3 and 7; Crowe, Garcia Campos & Hrymak 1983, "Reconciliation of process
flow rates by matrix projection. Part I: Linear case", AIChE J., for the projection).

The problem
-----------
Flows ``x`` (``n``) obey ``A @ x = b`` (``A``: processes x flows, +1 in / -1 out or any real
coefficients; ``b``: stock changes, default 0). Each flow is

* measured: a value ``y_i`` with an absolute standard deviation ``sigma_i > 0``, errors independent and
  normal. A relative uncertainty (``10 %``) is the caller's to turn into ``sigma_i = 0.10 * |y_i|``:
  this function takes absolute standard deviations only;
* fixed: measured with ``sigma_i = 0``, known exactly. A fixed value is moved to the right-hand side
  (``b - A_f x_f``), is never adjusted, has standard deviation 0 and no test statistic;
* unknown: no value.

The estimate minimises ``sum(((y_i - yhat_i) / sigma_i) ** 2)`` over the measured flows subject to
``A @ x = b``.

The method (Crowe et al. 1983's projection, built by QR as in Narasimhan & Jordache 2000, ch. 3)
-----------------------------------------------------------------------------------------------
1. Unknowns are eliminated with a projection. The columns of the unknown flows ``A_z`` are split into
   independent blocks (connected components of processes and unknown flows), and each block is
   factorised by column-pivoted QR, ``A_z P = [Q1 Q2] [[R11, R12], [0, 0]]``. ``Q2.T`` annihilates
   ``A_z``; the reduced balances ``Q2.T A_y yhat = Q2.T (b - A_f x_f)`` hold the measured flows only.
2. Classification. A measured flow is *redundant* when its column of the reduced balances is not zero:
   some balance checks it. A non-redundant measurement is not adjusted (adjustment 0, test statistic
   undefined). An unknown flow is *determinable* (observable) when it has no component in the null
   space of ``A_z``: every solution of the balances gives it the same value (equivalently, a zero row
   of ``R11^-1 R12``; tested on an orthonormal basis of the null space, which is scale-free).
   Undeterminable unknowns stay unknown (NaN in arrays, None in the frame) with a reason that names
   the processes and the other unknown flows involved; they are never given a value.
3. Weighted least squares, closed form. The reduced balances are split again into independent
   components; in each, an SVD of the reduced matrix gives an independent set of ``t`` rows ``B`` (rank
   deficiency: dependent balances are dropped, not inverted), and with ``D = diag(sigma)`` and the QR
   ``(B D).T = Qb Rb``, the normalised estimate is ``u_hat = u - Qb g``, ``u = D^-1 y``,
   ``g = Qb.T u - Rb^-T d``. The covariance of the reconciled measured flows is
   ``D (I - Qb Qb.T) D``; of the adjustments ``D Qb Qb.T D``.
4. Determinable unknowns are computed from the reconciled measured values through the basic part of the
   QR, ``z_basic = R11^-1 Q1.T (b - A_f x_f - A_y yhat)`` (any solution gives the same value for them);
   their covariance is propagated linearly, ``J Cov(yhat) J.T`` with ``J = -R11^-1 Q1.T A_y``.

Rank decisions use one relative tolerance, :data:`RANK_RTOL` (``1e-10``): a diagonal element of ``R``
below ``RANK_RTOL * |R[0, 0]|``, a singular value below ``RANK_RTOL * s_max``, an entry of the reduced
balances below ``RANK_RTOL`` times its flow's column norm, and a null-space row (of an orthonormal
basis) below ``RANK_RTOL`` count as zero. That is far above the rounding noise of Householder QR and
SVD on a few thousand rows (``m * eps`` is about ``7e-13`` at ``m = 3000``) and far below any ratio of
balance coefficients that differ by less than ten orders of magnitude.

Balances that cannot close (a balance, or a combination of balances, left with only fixed values after
the unknowns are eliminated, whose fixed values do not add up to ``b`` within :data:`CLOSURE_RTOL` of
its scale) raise :class:`ReconciliationError` naming the processes.

Tests (Narasimhan & Jordache 2000, ch. 7)
-----------------------------------------
* Global test: ``gamma = g.T g`` (equal to ``r.T (B V B.T)^-1 r`` with the reduced residual ``r``),
  chi-square with ``t`` = rank of the reduced balances degrees of freedom; passed when its p-value is at
  least the significance. With ``t = 0`` there is nothing to test: p-value and verdict are None.
* Measurement test (Mah & Tamhane 1982, "Detection of gross errors in process data", AIChE J.), the
  normalised adjustment of each redundant measurement:
  ``z_i = |y_i - yhat_i| / sqrt(Cov(y - yhat)_ii)``, standard normal under no gross error. Its
  critical value uses the Sidak correction of Mah & Tamhane (1982) for ``n_r`` simultaneous tests:
  ``beta = 1 - (1 - alpha) ** (1 / n_r)``, ``z_crit = Phi^-1(1 - beta / 2)``. Every redundant
  measurement above the critical value is marked ``exceeds_critical``; the largest of them is the
  ``suspect`` (the likely gross error, to be removed first in a serial elimination; measurements whose
  statistic equals the largest within ``1e-9`` relative are all suspects: the balances cannot tell
  them apart).

Speed: dense linear algebra on the blocks of the unknown part and on the components of the reduced
system only, never on the whole ``A``; the full covariance matrix (``n x n``) is computed on first
access of :attr:`Reconciliation.covariance`. The standard deviations do not need it. Measured with one
BLAS thread (``OPENBLAS_NUM_THREADS=1``, as the ``symbiosis`` command sets): about 0.02 s for 500 flows
and 0.1-0.6 s for 3,000 flows in 600-1,500 processes; the many small factorisations gain nothing from
BLAS threads and lose much to them on a busy machine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Sequence

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph
from scipy import stats

from .coverage import none_for_nan
from .errors import InputError, ReconciliationError

__all__ = [
    "ReconciliationError",
    "GlobalTest",
    "Reconciliation",
    "reconcile",
    "RANK_RTOL",
    "CLOSURE_RTOL",
    "DEFAULT_SIGNIFICANCE",
    "MEASURED",
    "FIXED",
    "UNKNOWN",
]

#: relative tolerance of every rank decision (see the module docstring)
RANK_RTOL = 1e-10
#: a balance left with fixed values only must close within this share of its scale (|b| + sum |a x|)
CLOSURE_RTOL = 1e-9
#: significance of the global test and of the (Sidak-corrected) measurement tests
DEFAULT_SIGNIFICANCE = 0.05
#: the kinds of flow
MEASURED, FIXED, UNKNOWN = "measured", "fixed", "unknown"
# measurement tests this close to the largest one are suspects too (the balances cannot tell them apart)
_TIE_RTOL = 1e-9
# how many names a reason lists before it says "and N more"
_LISTED = 5


@dataclass(frozen=True)
class GlobalTest:
    """The chi-square test of the whole reconciliation.

    ``statistic`` is the weighted sum of squared adjustments, chi-square with ``degrees_of_freedom``
    (the rank of the reduced balances) when there is no gross error. ``p_value`` and ``passed`` are
    None when there is nothing to test (no degree of freedom).
    """

    statistic: float
    degrees_of_freedom: int
    p_value: float | None
    significance: float
    passed: bool | None


@dataclass(frozen=True)
class _CovarianceParts:
    """What the full covariance matrix is built from, kept so that it is formed only when asked for."""

    n_flows: int
    measured_index: np.ndarray        # flow index of each measured (uncertain) flow, in measurement order
    sigma: np.ndarray                 # their standard deviations
    components: list[tuple[np.ndarray, np.ndarray]]  # (measurement positions, Qb) per reduced component
    unknown_index: np.ndarray         # flow index of each determinable unknown
    jacobian: scipy.sparse.csr_array  # d z / d yhat, determinable unknowns x measurements
    undetermined_index: np.ndarray    # flow index of each undeterminable unknown


@dataclass(frozen=True, eq=False)
class Reconciliation:
    """The result of :func:`reconcile`: one entry per flow in every array, in the input's order.

    Attributes
    ----------
    flow_ids, process_ids : tuple of str
        Names of the flows (columns of ``A``) and processes (rows).
    kind : tuple of str
        ``"measured"``, ``"fixed"`` (standard deviation 0) or ``"unknown"``.
    measured_value, measured_sd : ndarray
        The inputs; NaN for unknown flows.
    value, sd : ndarray
        Reconciled value and standard deviation of measured flows, the given value and 0 of fixed ones,
        the estimate of determinable unknowns; NaN for undeterminable unknowns.
    determinable : ndarray of bool
        True for measured, fixed and determinable unknown flows.
    redundant : ndarray of bool
        True for measured flows that a balance checks (only those are adjusted and tested).
    adjustment : ndarray
        ``value - measured_value`` (0 for non-redundant and fixed flows, NaN for unknowns).
    test_statistic : ndarray
        Measurement test ``|adjustment| / sd(adjustment)`` of redundant flows, NaN elsewhere.
    critical_value : float or None
        Sidak-corrected critical value of the measurement test; None with no redundant measurement.
    exceeds_critical, suspect : ndarray of bool
        Test statistic above the critical value; the largest of those (the likely gross error).
    reason : tuple of (str or None)
        Why a flow is not estimated, not adjusted, or fixed; None for redundant measurements and
        determinable unknowns.
    global_test : GlobalTest
        The chi-square test.
    """

    flow_ids: tuple[str, ...]
    process_ids: tuple[str, ...]
    kind: tuple[str, ...]
    measured_value: np.ndarray
    measured_sd: np.ndarray
    value: np.ndarray
    sd: np.ndarray
    determinable: np.ndarray
    redundant: np.ndarray
    adjustment: np.ndarray
    test_statistic: np.ndarray
    critical_value: float | None
    exceeds_critical: np.ndarray
    suspect: np.ndarray
    reason: tuple[str | None, ...]
    global_test: GlobalTest
    _parts: _CovarianceParts = field(repr=False)

    @cached_property
    def covariance(self) -> np.ndarray:
        """The full covariance matrix of all flows (``n x n``), formed on first access.

        Rows and columns follow :attr:`flow_ids`. Fixed flows have zero rows and columns;
        undeterminable unknowns have NaN rows and columns. Needs ``8 n**2`` bytes (72 MB at
        3,000 flows).
        """
        parts = self._parts
        k = len(parts.measured_index)
        # Cov(yhat) = D (I - Qb Qb.T) D, block-diagonal over the reduced components
        cov_measured = np.diag(parts.sigma ** 2)
        for positions, qb in parts.components:
            scaled = qb * parts.sigma[positions, None]
            cov_measured[np.ix_(positions, positions)] -= scaled @ scaled.T
        jacobian = parts.jacobian.toarray() if k else np.zeros((len(parts.unknown_index), 0))
        cross = jacobian @ cov_measured
        covariance = np.zeros((parts.n_flows, parts.n_flows))
        covariance[np.ix_(parts.measured_index, parts.measured_index)] = cov_measured
        covariance[np.ix_(parts.unknown_index, parts.measured_index)] = cross
        covariance[np.ix_(parts.measured_index, parts.unknown_index)] = cross.T
        covariance[np.ix_(parts.unknown_index, parts.unknown_index)] = cross @ jacobian.T
        covariance[parts.undetermined_index, :] = np.nan
        covariance[:, parts.undetermined_index] = np.nan
        return covariance

    @property
    def suspects(self) -> list[str]:
        """Ids of the likely gross errors (the largest measurement test above its critical value)."""
        return [flow for flow, flagged in zip(self.flow_ids, self.suspect) if flagged]

    def to_frame(self) -> pd.DataFrame:
        """One row per flow; unknown numbers are None (never NaN). The global test is in ``attrs``.

        Columns: ``flow_id``, ``kind``, ``measured``, ``measured_sd``, ``value``, ``sd``,
        ``determinable``, ``redundant``, ``adjustment``, ``test_statistic``, ``exceeds_critical``,
        ``suspect``, ``reason``. ``attrs``: ``chi_square``, ``degrees_of_freedom``, ``p_value``,
        ``passed``, ``significance``, ``critical_value``, ``test`` (which measurement test).
        """
        frame = pd.DataFrame({
            "flow_id": list(self.flow_ids),
            "kind": list(self.kind),
            "measured": self.measured_value,
            "measured_sd": self.measured_sd,
            "value": self.value,
            "sd": self.sd,
            "determinable": self.determinable,
            "redundant": self.redundant,
            "adjustment": self.adjustment,
            "test_statistic": self.test_statistic,
            "exceeds_critical": self.exceeds_critical,
            "suspect": self.suspect,
            "reason": list(self.reason),
        })
        frame = none_for_nan(frame)
        test = self.global_test
        frame.attrs.update({
            "chi_square": test.statistic, "degrees_of_freedom": test.degrees_of_freedom,
            "p_value": test.p_value, "passed": test.passed, "significance": test.significance,
            "critical_value": self.critical_value,
            "test": "measurement test (Mah & Tamhane 1982): |adjustment| / sd(adjustment), Sidak-corrected",
        })
        return frame


# ----------------------------------------------------------------------------------------------------
# inputs


@dataclass
class _Problem:
    """The validated inputs, split by kind of flow."""

    matrix: scipy.sparse.csc_array   # A, processes x flows
    rhs: np.ndarray                  # b - A_f x_f
    scale: np.ndarray                # per process |b| + sum |a x_fixed|: what "closes" is relative to
    values: np.ndarray
    sds: np.ndarray
    measured: np.ndarray             # indices of measured flows with sd > 0
    fixed: np.ndarray
    unknown: np.ndarray
    flow_ids: tuple[str, ...]
    process_ids: tuple[str, ...]
    rtol: float


def _ids(given: Sequence[str] | None, count: int, prefix: str, what: str) -> tuple[str, ...]:
    if given is None:
        return tuple(f"{prefix} {index}" for index in range(count))
    ids = tuple(str(item) for item in given)
    if len(ids) != count:
        raise InputError(f"{what}: {len(ids)} ids for {count} {what.split()[0]}s")
    if len(set(ids)) != len(ids):
        raise InputError(f"{what}: ids are not unique")
    return ids


def _vector(data: Any, count: int, what: str, dtype: type = float) -> np.ndarray:
    vector: np.ndarray | None = np.asarray(data, dtype=dtype).reshape(-1) if data is not None else None
    if vector is None or vector.shape != (count,):
        raise InputError(f"{what} must have one entry per {'flow' if what != 'b' else 'process'} ({count})")
    return vector


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _problem(matrix: Any, values: Any, sds: Any, measured: Any, b: Any, flow_ids: Sequence[str] | None,
             process_ids: Sequence[str] | None, rank_rtol: float) -> _Problem:
    """Validate and split the inputs (every error names the flows concerned)."""
    sparse = scipy.sparse.csc_array(matrix) if scipy.sparse.issparse(matrix) else None
    if sparse is None:
        dense = np.asarray(matrix, dtype=float)
        if dense.ndim != 2:
            raise InputError(f"A must be a 2-d matrix (processes x flows), not of shape {dense.shape}")
        sparse = scipy.sparse.csc_array(dense)
    sparse = sparse.astype(float)
    sparse.eliminate_zeros()
    m, n = sparse.shape
    if not np.isfinite(sparse.data).all():
        raise InputError("A holds a value that is not a finite number")
    flows = _ids(flow_ids, n, "flow", "flow ids")
    processes = _ids(process_ids, m, "process", "process ids")
    values = _vector(values, n, "values")
    sds = _vector(sds, n, "sds")
    is_measured = _vector(measured, n, "measured", dtype=bool)
    rhs = np.zeros(m) if b is None else _vector(b, m, "b")
    if not np.isfinite(rhs).all():
        raise InputError("b holds a value that is not a finite number")
    bad_value = is_measured & ~np.isfinite(values)
    bad_sd = is_measured & ~(np.isfinite(sds) & (sds >= 0))
    for bad, what in ((bad_value, "no finite value"), (bad_sd, "no finite standard deviation >= 0")):
        if bad.any():
            raise InputError(f"measured flows with {what}: {_listed([flows[i] for i in np.flatnonzero(bad)])}")
    if not 0 < rank_rtol < 1:
        raise InputError(f"rank_rtol must be between 0 and 1, not {rank_rtol}")
    fixed = np.flatnonzero(is_measured & (sds == 0))
    fixed_part = sparse[:, fixed] @ values[fixed] if len(fixed) else np.zeros(m)
    fixed_scale = abs(sparse[:, fixed]) @ np.abs(values[fixed]) if len(fixed) else np.zeros(m)
    return _Problem(matrix=sparse, rhs=rhs - fixed_part, scale=np.abs(rhs) + fixed_scale, values=values, sds=sds,
                    measured=np.flatnonzero(is_measured & (sds > 0)), fixed=fixed,
                    unknown=np.flatnonzero(~is_measured), flow_ids=flows, process_ids=processes, rtol=rank_rtol)


# ----------------------------------------------------------------------------------------------------
# step 1: eliminate the unknowns, block by block


@dataclass
class _Block:
    """One connected block of processes and unknown flows, factorised."""

    rows: np.ndarray           # process indices
    unknowns: np.ndarray       # flow indices
    q2: np.ndarray             # rows x (rows - rank): the projection onto the balances free of these unknowns
    solve: np.ndarray          # determinable unknowns x rows: z = solve @ (rhs - A_y yhat)[rows]
    observable: np.ndarray     # flow indices of the determinable unknowns (rows of ``solve``)
    unobservable: np.ndarray   # flow indices of the undeterminable ones


def _components(pattern: scipy.sparse.csr_array) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components of the bipartite graph rows x columns of ``pattern``: (count, row labels,
    column labels)."""
    rows, cols = pattern.shape
    adjacency = scipy.sparse.bmat([[None, pattern], [pattern.T, None]], format="csr",
                                  dtype=float) if rows and cols else None
    if adjacency is None:
        return rows + cols, np.arange(rows), rows + np.arange(cols)
    count, labels = scipy.sparse.csgraph.connected_components(adjacency, directed=False)
    return count, labels[:rows], labels[rows:]


def _groups(pattern: scipy.sparse.csr_array) -> list[tuple[np.ndarray, np.ndarray]]:
    """The rows and columns of each connected component of ``pattern`` (:func:`_components`), in label order."""
    count, row_labels, col_labels = _components(pattern)
    row_order, col_order = np.argsort(row_labels, kind="stable"), np.argsort(col_labels, kind="stable")
    row_bounds = np.searchsorted(row_labels[row_order], np.arange(count + 1))
    col_bounds = np.searchsorted(col_labels[col_order], np.arange(count + 1))
    return [(row_order[row_bounds[label]:row_bounds[label + 1]], col_order[col_bounds[label]:col_bounds[label + 1]])
            for label in range(count)]


def _factorise(block: np.ndarray, rows: np.ndarray, unknowns: np.ndarray, rtol: float) -> _Block:
    """Column-pivoted QR of one block of ``A_z``, its rank, projection and determinable unknowns."""
    q, r, perm = scipy.linalg.qr(block, mode="full", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int(np.sum(diagonal > rtol * diagonal[0])) if diagonal.size and diagonal[0] > 0 else 0
    r11, r12 = r[:rank, :rank], r[:rank, rank:]
    basic = np.zeros(len(unknowns), dtype=bool)
    if rank < len(unknowns):
        # null space of the block: P [-R11^-1 R12; I]; an unknown is determinable when its row of an
        # orthonormal basis of that space is zero (every solution gives it the same value)
        coupling = scipy.linalg.solve_triangular(r11, r12) if rank else np.zeros((0, len(unknowns)))
        null = np.zeros((len(unknowns), len(unknowns) - rank))
        null[perm[:rank]] = -coupling
        null[perm[rank:]] = np.eye(len(unknowns) - rank)
        basis, _ = scipy.linalg.qr(null, mode="economic")  # null has full column rank (its identity part)
        free = np.linalg.norm(basis, axis=1) > rtol
    else:
        free = np.zeros(len(unknowns), dtype=bool)
    basic[perm[:rank]] = True
    keep = basic[perm[:rank]] & ~free[perm[:rank]]  # basic columns that are determinable, in R11 order
    solve = scipy.linalg.solve_triangular(r11, q[:, :rank].T) if rank else np.zeros((0, len(rows)))
    return _Block(rows=rows, unknowns=unknowns, q2=q[:, rank:], solve=solve[keep],
                  observable=unknowns[perm[:rank][keep]], unobservable=unknowns[free])


def _blocks(problem: _Problem) -> tuple[list[_Block], np.ndarray]:
    """The factorised blocks of the unknown part, and the processes that hold no unknown flow."""
    unknown_part = problem.matrix[:, problem.unknown].tocsr()
    touched = np.flatnonzero(np.diff(unknown_part.indptr) > 0)
    untouched = np.flatnonzero(np.diff(unknown_part.indptr) == 0)
    used = np.flatnonzero(np.diff(problem.matrix[:, problem.unknown].indptr) > 0)
    blocks: list[_Block] = []
    if len(touched):
        pattern = unknown_part[touched][:, used]
        for local_rows, local_cols in _groups(pattern):
            dense = pattern[local_rows][:, local_cols].toarray()
            blocks.append(_factorise(dense, touched[local_rows], problem.unknown[used[local_cols]], problem.rtol))
    # unknown flows in no balance at all: undeterminable, alone
    for flow in problem.unknown[np.setdiff1d(np.arange(len(problem.unknown)), used)]:
        blocks.append(_Block(rows=np.zeros(0, dtype=int), unknowns=np.array([flow]), q2=np.zeros((0, 0)),
                             solve=np.zeros((0, 0)), observable=np.zeros(0, dtype=int),
                             unobservable=np.array([flow])))
    return blocks, untouched


@dataclass
class _Reduced:
    """The reduced balances ``G yhat = c`` on the measured flows, and where each reduced row comes from."""

    matrix: scipy.sparse.csr_array   # reduced rows x measured flows (positions in problem.measured)
    rhs: np.ndarray
    scale: np.ndarray                # per reduced row, for the closure check
    origins: list[tuple[np.ndarray, np.ndarray]]  # per reduced row: (process indices, coefficients)


def _reduce(problem: _Problem, blocks: list[_Block], untouched: np.ndarray) -> _Reduced:
    """Project the balances onto the complement of the unknowns' columns: ``Q2.T A_y``, ``Q2.T rhs``."""
    measured_part = problem.matrix[:, problem.measured].tocsr()
    column_norm = np.sqrt(np.asarray(measured_part.multiply(measured_part).sum(axis=0))).reshape(-1)
    row_parts, cols_parts, vals_parts = [], [], []
    rhs_parts, scale_parts = [problem.rhs[untouched]], [problem.scale[untouched]]
    origins: list[tuple[np.ndarray, np.ndarray]] = [(np.array([row]), np.ones(1)) for row in untouched]
    free_rows = measured_part[untouched].tocoo()
    row_parts.append(free_rows.row)
    cols_parts.append(free_rows.col)
    vals_parts.append(free_rows.data)
    offset = len(untouched)
    for block in blocks:
        width = block.q2.shape[1]
        if width == 0:
            continue
        local = measured_part[block.rows]
        touched = np.unique(local.indices)
        projected = block.q2.T @ local[:, touched].toarray() if len(touched) else np.zeros((width, 0))
        rows, cols = np.nonzero(np.ones_like(projected, dtype=bool))
        row_parts.append(rows + offset)
        cols_parts.append(touched[cols])
        vals_parts.append(projected[rows, cols])
        rhs_parts.append(block.q2.T @ problem.rhs[block.rows])
        scale_parts.append(np.abs(block.q2.T) @ problem.scale[block.rows])
        origins.extend((block.rows, block.q2[:, index]) for index in range(width))
        offset += width
    rows_all, cols_all, vals_all = (np.concatenate(parts) for parts in (row_parts, cols_parts, vals_parts))
    # projected entries at rounding level are zeros: a measurement whose column vanishes is not redundant
    significant = np.abs(vals_all) > problem.rtol * column_norm[cols_all] if len(cols_all) else np.zeros(0, bool)
    matrix = scipy.sparse.csr_array((vals_all[significant], (rows_all[significant], cols_all[significant])),
                                    shape=(offset, len(problem.measured)))
    return _Reduced(matrix=matrix, rhs=np.concatenate(rhs_parts), scale=np.concatenate(scale_parts),
                    origins=origins)


# ----------------------------------------------------------------------------------------------------
# step 3: weighted least squares on the reduced balances, component by component


@dataclass
class _Fit:
    """The reconciled measured flows (positions in problem.measured) and what the tests need."""

    estimate: np.ndarray
    leverage: np.ndarray                              # ||row of Qb||^2: Var(adjustment) / sigma^2
    components: list[tuple[np.ndarray, np.ndarray]]   # (measurement positions, Qb)
    statistic: float
    dof: int


def _raise_unclosed(problem: _Problem, reduced: _Reduced, rows: np.ndarray, residual: np.ndarray) -> None:
    """Name the processes whose balances cannot close, with their imbalance."""
    imbalance = np.zeros(problem.matrix.shape[0])
    for row, value in zip(rows, residual):
        processes, coefficients = reduced.origins[row]
        imbalance[processes] += coefficients * value
    scale = np.maximum(problem.scale, np.finfo(float).tiny)
    names = [problem.process_ids[index] for index in np.flatnonzero(np.abs(imbalance) > CLOSURE_RTOL * scale)]
    if not names:
        names = sorted({problem.process_ids[index] for row in rows for index in reduced.origins[row][0]})
    raise ReconciliationError(
        f"the balances of {_listed(names)} cannot close: after the unknown flows they determine are taken "
        f"out, they hold fixed values only (standard deviation 0) that do not add up (largest imbalance "
        f"{np.max(np.abs(residual)):.6g}); give one of them an uncertainty or correct it", names)


def _fit_component(g: np.ndarray, c: np.ndarray, sigma: np.ndarray, u: np.ndarray,
                   rtol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One component: returns (normalised estimate, Qb, g-vector, residual of c off the range of G)."""
    left, singular, right_t = scipy.linalg.svd(g, full_matrices=False)
    rank = int(np.sum(singular > rtol * singular[0])) if singular.size and singular[0] > 0 else 0
    left, singular, right_t = left[:, :rank], singular[:rank], right_t[:rank]
    off_range = c - left @ (left.T @ c)
    # independent rows B = W.T (orthonormal), B yhat = d; then weight: (B D).T = Qb Rb
    d = (left.T @ c) / singular
    qb, rb = scipy.linalg.qr((right_t * sigma).T, mode="economic")
    gvec = qb.T @ u - scipy.linalg.solve_triangular(rb, d, trans="T")
    return u - qb @ gvec, qb, gvec, off_range


def _fit(problem: _Problem, reduced: _Reduced) -> _Fit:
    """Reconcile the measured flows: closed-form WLS per component of the reduced balances."""
    sigma = problem.sds[problem.measured]
    u = problem.values[problem.measured] / sigma
    estimate = u.copy()
    leverage = np.zeros(len(u))
    components: list[tuple[np.ndarray, np.ndarray]] = []
    statistic, dof = 0.0, 0
    unclosed_rows: list[np.ndarray] = []
    unclosed_residual: list[np.ndarray] = []
    for rows, cols in _groups(reduced.matrix):
        if len(rows) == 0:
            continue  # a measurement in no reduced balance: not redundant, not adjusted
        c = reduced.rhs[rows]
        if len(cols) == 0:
            off_range = c  # a reduced balance of fixed values only
        else:
            local, qb, gvec, off_range = _fit_component(reduced.matrix[rows][:, cols].toarray(), c, sigma[cols],
                                                        u[cols], problem.rtol)
            estimate[cols] = local
            leverage[cols] = np.sum(qb ** 2, axis=1)
            components.append((cols, qb))
            statistic += float(gvec @ gvec)
            dof += qb.shape[1]
        # judged per component: the range projection mixes its rows, so a row's rounding comes from all
        if np.max(np.abs(off_range)) > CLOSURE_RTOL * np.max(reduced.scale[rows]):
            unclosed_rows.append(rows)
            unclosed_residual.append(off_range)
    if unclosed_rows:
        _raise_unclosed(problem, reduced, np.concatenate(unclosed_rows), np.concatenate(unclosed_residual))
    return _Fit(estimate=estimate * sigma, leverage=leverage, components=components, statistic=statistic, dof=dof)


# ----------------------------------------------------------------------------------------------------
# step 4: the unknowns, and the result


def _unknowns(problem: _Problem, blocks: list[_Block], fit: _Fit,
              variance_of_measured: Any) -> tuple[np.ndarray, np.ndarray, scipy.sparse.csr_array, np.ndarray]:
    """Values and standard deviations of the determinable unknowns; the Jacobian d z / d yhat."""
    measured_part = problem.matrix[:, problem.measured].tocsr()
    remainder = problem.rhs - measured_part @ fit.estimate  # what the unknowns must carry, per process
    observable = np.concatenate([block.observable for block in blocks]) if blocks else np.zeros(0, int)
    values, sds, jacobians = [], [], []
    for block in blocks:
        if len(block.observable) == 0:
            continue
        values.append(block.solve @ remainder[block.rows])
        local = measured_part[block.rows]
        jacobian = -(scipy.sparse.csr_array(block.solve) @ local)  # d z / d yhat, determinable x measured
        jacobians.append(scipy.sparse.csr_array(jacobian))
        sds.append(np.sqrt(np.maximum(variance_of_measured(jacobians[-1]), 0.0)))
    if not values:
        empty = scipy.sparse.csr_array((0, len(problem.measured)))
        return np.zeros(0), np.zeros(0), empty, observable.astype(int)
    return (np.concatenate(values), np.concatenate(sds), scipy.sparse.vstack(jacobians, format="csr"),
            observable.astype(int))


def _propagator(problem: _Problem, fit: _Fit) -> Any:
    """A function giving ``diag(J Cov(yhat) J.T)`` for a sparse Jacobian ``J`` without forming Cov(yhat)."""
    sigma = problem.sds[problem.measured]
    component_of = np.full(len(sigma), -1)
    position_in = np.zeros(len(sigma), dtype=int)
    for index, (cols, _qb) in enumerate(fit.components):
        component_of[cols] = index
        position_in[cols] = np.arange(len(cols))

    def variance(jacobian: scipy.sparse.csr_array) -> np.ndarray:
        # Cov(yhat) = D (I - Qb Qb.T) D: diag(J D D J.T) - sum over components ||(J D)_c Qb_c||^2
        scaled = scipy.sparse.csr_array(jacobian @ scipy.sparse.diags_array(sigma))
        result = np.asarray(scaled.multiply(scaled).sum(axis=1)).reshape(-1)
        touched = np.unique(scaled.indices)
        for index in np.unique(component_of[touched]):
            if index < 0:
                continue
            cols, qb = fit.components[index]
            projected = scaled[:, cols] @ qb
            result = result - np.sum(np.asarray(projected) ** 2, axis=1)
        return result

    return variance


def _reasons(problem: _Problem, blocks: list[_Block], redundant: np.ndarray) -> list[str | None]:
    """Why each flow is fixed, not adjusted or not estimated (None when it is adjusted or estimated)."""
    by_flow, by_process = problem.matrix, problem.matrix.tocsr()
    names, processes = problem.flow_ids, problem.process_ids
    reasons: list[str | None] = [None] * by_flow.shape[1]
    undetermined = {int(flow) for block in blocks for flow in block.unobservable}

    def rows_of(flow: int) -> np.ndarray:
        return by_flow.indices[by_flow.indptr[flow]:by_flow.indptr[flow + 1]]

    for flow in problem.fixed:
        reasons[flow] = "fixed: standard deviation 0, known exactly"
    for position, flow in enumerate(problem.measured):
        if not redundant[position]:
            rows = rows_of(flow)
            reasons[flow] = ("not redundant: it appears in no balance" if len(rows) == 0 else
                             f"not redundant: unknown flows in {_listed([processes[row] for row in rows])} take up "
                             "any change to it, so no balance checks it")
    for flow in sorted(undetermined):
        rows = rows_of(flow)
        if len(rows) == 0:
            reasons[flow] = "not determined by the balances: it appears in no balance"
            continue
        neighbours = {int(other) for row in rows
                      for other in by_process.indices[by_process.indptr[row]:by_process.indptr[row + 1]]}
        partners = sorted(neighbours & undetermined - {flow})
        reasons[flow] = (f"not determined by the balances: it appears only in {_listed([processes[r] for r in rows])}"
                         f", together with the unknown flows {_listed([names[p] for p in partners])} that these "
                         "balances cannot separate from it")
    return reasons


def _measurement_tests(fit: _Fit, measured_values: np.ndarray, sigma: np.ndarray, redundant: np.ndarray,
                       significance: float) -> tuple[np.ndarray, float | None, np.ndarray, np.ndarray]:
    """Measurement test of each redundant measurement, the Sidak critical value, exceeding and suspect."""
    statistic = np.full(len(sigma), np.nan)
    adjustment_sd = sigma[redundant] * np.sqrt(fit.leverage[redundant])
    statistic[redundant] = np.abs(fit.estimate[redundant] - measured_values[redundant]) / adjustment_sd
    tests = int(redundant.sum())
    if tests == 0:
        return statistic, None, np.zeros(len(sigma), bool), np.zeros(len(sigma), bool)
    beta = -np.expm1(np.log1p(-significance) / tests)  # 1 - (1 - alpha)^(1/n), accurately for small alpha
    critical = float(stats.norm.isf(beta / 2))
    exceeds = np.nan_to_num(statistic, nan=-np.inf) > critical
    suspect = np.zeros(len(sigma), bool)
    if exceeds.any():
        largest = np.nanmax(statistic)
        suspect = exceeds & (statistic >= largest * (1 - _TIE_RTOL))
    return statistic, critical, exceeds, suspect


def reconcile(A: Any, values: Any, sds: Any, measured: Any, *, b: Any = None,
              flow_ids: Sequence[str] | None = None, process_ids: Sequence[str] | None = None,
              significance: float = DEFAULT_SIGNIFICANCE, rank_rtol: float = RANK_RTOL) -> Reconciliation:
    """Reconcile measured flows and estimate unknown ones under linear balances ``A @ x = b``.

    Parameters
    ----------
    A : array_like or scipy sparse matrix, shape (processes, flows)
        Balance coefficients: +1 for a flow into the process, -1 out, or any real coefficient.
    values : array_like, shape (flows,)
        Measured values; ignored (may be NaN) for unknown flows.
    sds : array_like, shape (flows,)
        Absolute standard deviations of the measured values; 0 means fixed (known exactly). A relative
        uncertainty is the caller's to convert (``sd = share * |value|``). Ignored for unknown flows.
    measured : array_like of bool, shape (flows,)
        True for a measured (or fixed) flow, False for an unknown one.
    b : array_like, shape (processes,), optional
        Right-hand side (stock changes, in minus out); default 0.
    flow_ids, process_ids : sequence of str, optional
        Names for readable output; default ``"flow 0"``, ``"process 0"``, ...
    significance : float
        Significance of the global test and of the measurement tests (before the Sidak correction).
    rank_rtol : float
        Relative tolerance of every rank decision (see the module docstring).

    Returns
    -------
    Reconciliation

    Raises
    ------
    InputError
        Inputs of the wrong shape, a measured flow with no finite value or a negative standard deviation.
    ReconciliationError
        Balances that cannot close (fixed values only, not adding up).

    Examples
    --------
    One process, an inflow measured twice as precisely as its outflow:

    >>> result = reconcile([[1, -1]], [100.0, 90.0], [1.0, 2.0], [True, True], flow_ids=["in", "out"])
    >>> [round(float(v), 2) for v in result.value], round(float(result.sd[0]), 3)
    ([98.0, 98.0], 0.894)

    Two unknown outflows in parallel: the balance gives their sum, not each of them:

    >>> result = reconcile([[1, -1, -1]], [100.0, 0, 0], [1.0, 0, 0], [True, False, False])
    >>> bool(result.determinable[1]), result.reason[1][:30]
    (False, 'not determined by the balances')
    """
    if not 0 < significance < 1:
        raise InputError(f"significance must be between 0 and 1, not {significance}")
    problem = _problem(A, values, sds, measured, b, flow_ids, process_ids, rank_rtol)
    n = problem.matrix.shape[1]
    blocks, untouched = _blocks(problem)
    reduced = _reduce(problem, blocks, untouched)
    fit = _fit(problem, reduced)
    sigma = problem.sds[problem.measured]
    measured_values = problem.values[problem.measured]
    redundant_local = np.diff(reduced.matrix.tocsc().indptr) > 0
    unknown_values, unknown_sds, jacobian, observable = _unknowns(problem, blocks, fit, _propagator(problem, fit))
    tests, critical, exceeds, suspect = _measurement_tests(fit, measured_values, sigma, redundant_local, significance)

    kind = np.full(n, UNKNOWN, dtype=object)
    kind[problem.measured], kind[problem.fixed] = MEASURED, FIXED
    given = np.where(kind != UNKNOWN, problem.values, np.nan)
    given_sd = np.where(kind != UNKNOWN, problem.sds, np.nan)
    value, sd = np.full(n, np.nan), np.full(n, np.nan)
    value[problem.fixed], sd[problem.fixed] = problem.values[problem.fixed], 0.0
    # a non-redundant measurement keeps its value exactly (no rounding from the projection)
    value[problem.measured] = np.where(redundant_local, fit.estimate, measured_values)
    sd[problem.measured] = sigma * np.sqrt(np.clip(1.0 - fit.leverage, 0.0, 1.0))
    value[observable], sd[observable] = unknown_values, unknown_sds
    columns = {name: np.zeros(n, dtype=bool) for name in ("redundant", "exceeds", "suspect")}
    columns["redundant"][problem.measured] = redundant_local
    columns["exceeds"][problem.measured] = exceeds
    columns["suspect"][problem.measured] = suspect
    statistic = np.full(n, np.nan)
    statistic[problem.measured] = tests
    undetermined = np.array(sorted(int(flow) for block in blocks for flow in block.unobservable), dtype=int)
    dof = fit.dof
    p_value = float(stats.chi2.sf(fit.statistic, dof)) if dof else None
    return Reconciliation(
        flow_ids=problem.flow_ids, process_ids=problem.process_ids, kind=tuple(kind), measured_value=given,
        measured_sd=given_sd, value=value, sd=sd, determinable=~np.isin(np.arange(n), undetermined),
        redundant=columns["redundant"], adjustment=np.where(kind != UNKNOWN, value - given, np.nan),
        test_statistic=statistic, critical_value=critical, exceeds_critical=columns["exceeds"],
        suspect=columns["suspect"], reason=tuple(_reasons(problem, blocks, redundant_local)),
        global_test=GlobalTest(statistic=fit.statistic, degrees_of_freedom=dof, p_value=p_value,
                               significance=significance, passed=None if p_value is None else p_value >= significance),
        _parts=_CovarianceParts(n_flows=n, measured_index=problem.measured, sigma=sigma, components=fit.components,
                                unknown_index=observable, jacobian=jacobian, undetermined_index=undetermined))
