"""enaR's steady-state check and its balancing of flow models, on plain arrays.

Flow-based network metrics (TST, FCI, ascendency ...) assume a steady state: every compartment passes on
what it receives. Published ecosystem models and industrial data rarely are; the R package enaR
(Borrett & Lau 2014) checks a model with ``ssCheck`` and balances it with ``balance``, which applies the
procedures compared by Allesina & Bondavalli (2003). This module does the same computations in numpy so
that a model can be checked and balanced, and then measured with :mod:`symbiosis.metrics`, without R.

A model is held as enaR holds it:

- ``F``, shape (n, n): ``F[i, j]`` the flow from compartment i to compartment j (row to column);
- ``z``, shape (n,): boundary inputs into each compartment;
- ``y``, shape (n,): boundary outputs from each compartment (enaR's ``output``, export plus respiration).

``z`` and ``y`` may also be given as (n, k) arrays, one column per origin or destination (enaR's separate
export and respiration columns): every method scales a compartment's outputs (or inputs) by one factor,
so the columns are balanced together and come back with the same shape.

The computations follow enaR 3.1.0's ``R/balance.R``, ``R/bal.R`` and ``R/ssCheck.R`` (SEELab/enaR),
read and re-expressed here, including its use of a Moore-Penrose generalised inverse (``MASS::ginv``)
and of a percent error relative to each compartment's outflow. ``tests/test_ena_models.py`` checks every
method against enaR's own output on the 26 unbalanced models of enaR's model library.

References
----------
Allesina, S. & Bondavalli, C. (2003) Steady state of ecosystem flow networks: a comparison between
balancing procedures. Ecological Modelling 165(2-3):231-239.
Borrett, S.R. & Lau, M.K. (2014) enaR: An R package for Ecosystem Network Analysis. Methods in Ecology
and Evolution 5:1206-1213.
Fath, B.D. & Borrett, S.R. (2006) A MATLAB function for Network Environ Analysis. Environmental Modelling
& Software 21:375-405 (the steady-state check's percent error).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from .errors import InputError
from .metrics import FlowModel

__all__ = [
    "SS_TOLERANCE_PERCENT",
    "BALANCE_METHODS",
    "BalancedModel",
    "percent_errors",
    "ss_check",
    "balance",
    "balance_flow_model",
]

#: enaR's default tolerance of ``ssCheck`` and ``balance``: a compartment is at steady state when its
#: inflow and outflow differ by less than 5 % of its outflow
SS_TOLERANCE_PERCENT = 5.0

#: the methods of enaR's ``balance``, in its order (the first, AVG2, is its default). Allesina &
#: Bondavalli (2003) name them: I (input-based), O (output-based), IO and OI (half of one, then the
#: other), AVG (mean of I and O) and AVG2 (mean of IO and OI).
BALANCE_METHODS = ("AVG2", "AVG", "IO", "OI", "I", "O")

# MASS::ginv drops singular values at or below sqrt(machine epsilon) times the largest
_GINV_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class BalancedModel:
    """A model after :func:`balance`.

    Attributes
    ----------
    flows : ndarray, shape (n, n)
        Balanced internal flows, ``flows[i, j]`` from i to j.
    inputs, outputs : ndarray
        Balanced boundary inputs and outputs, in the shape they were given ((n,) or (n, k)).
    method : str
        The method applied (one of :data:`BALANCE_METHODS`).
    changed : bool
        False when the model was already within the tolerance and is returned as it was (enaR's
        ``balance`` prints ``BALANCED`` and returns the model unchanged).
    balanced : bool
        Whether the result passes :func:`ss_check` at enaR's default tolerance (enaR's ``balanced``
        network attribute after ``balance``).
    """

    flows: np.ndarray
    inputs: np.ndarray
    outputs: np.ndarray
    method: str
    changed: bool
    balanced: bool


def _as_arrays(F, z, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float copies of the model with NaN as 0 (enaR's ``zero.na``), after checking shapes and signs."""
    flows = np.array(F, dtype=float)
    if flows.ndim != 2 or flows.shape[0] != flows.shape[1]:
        raise InputError(f"the flow matrix must be square (n, n), not of shape {flows.shape}")
    n = flows.shape[0]
    arrays = [flows]
    for what, values in (("inputs", z), ("outputs", y)):
        array = np.array(values, dtype=float)
        if array.ndim not in (1, 2) or array.shape[0] != n:
            raise InputError(f"{what} must have one row per compartment ({n}), not shape {array.shape}")
        arrays.append(array)
    for what, array in zip(("flows", "inputs", "outputs"), arrays):
        # a missing value is "not recorded": enaR's as.extended(zero.na = TRUE) counts it as 0
        array[np.isnan(array)] = 0.0
        if np.isinf(array).any():
            raise InputError(f"{what} hold an infinite value")
        if (array < 0).any():
            raise InputError(f"{what} hold a negative value ({array.min():g}): flows are non-negative quantities")
    return arrays[0], arrays[1], arrays[2]


def _totals(array: np.ndarray) -> np.ndarray:
    """Per compartment, the sum over the columns of a (n, k) boundary array; a (n,) one as it is."""
    return array if array.ndim == 1 else array.sum(axis=1)


def _percent_errors(F: np.ndarray, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    inflow = F.sum(axis=0) + _totals(z)  # enaR's Tin: column sums of the extended matrix
    outflow = F.sum(axis=1) + _totals(y)  # enaR's Tout: row sums
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(inflow - outflow) / outflow * 100.0


def percent_errors(F, z, y) -> np.ndarray:
    """Each compartment's steady-state error as enaR's ``ssCheck`` measures it, in percent.

    ``|T_in - T_out| / T_out * 100`` with ``T_in = sum_i F[i, j] + z_j`` (inflow plus boundary input) and
    ``T_out = sum_j F[i, j] + y_i`` (outflow plus boundary output). Note the denominator: the outflow,
    not the larger of the two sides.

    Parameters
    ----------
    F : array_like, shape (n, n)
        Internal flows, row to column.
    z, y : array_like, shape (n,) or (n, k)
        Boundary inputs and outputs (NaN counts as 0, as in enaR).

    Returns
    -------
    ndarray, shape (n,)
        Percent errors; ``inf`` for a compartment with inflow but no outflow and NaN for one with
        neither (enaR gives the same).

    Examples
    --------
    >>> percent_errors([[0.0, 10.0], [0.0, 0.0]], [10.0, 0.0], [0.0, 8.0]).round(6).tolist()
    [0.0, 25.0]
    """
    return _percent_errors(*_as_arrays(F, z, y))


def _within(errors: np.ndarray, tolerance: float) -> bool:
    """R's ``all(pe < tol)``: False if any compartment is out; undefined (NA) if one has no flow at all."""
    undefined = np.isnan(errors)
    if (errors[~undefined] >= tolerance).any():
        return False
    if undefined.any():
        positions = ", ".join(str(position) for position in np.flatnonzero(undefined)[:10])
        raise InputError(f"compartment(s) {positions} have neither inflow nor outflow: their steady-state "
                         "error is undefined (enaR's ssCheck gives NA)")
    return True


def ss_check(F, z, y, *, tolerance: float = SS_TOLERANCE_PERCENT) -> bool:
    """Whether a model is at steady state within ``tolerance`` percent, by enaR's ``ssCheck`` rule.

    True when every compartment's :func:`percent_errors` is strictly below ``tolerance``.

    Parameters
    ----------
    F : array_like, shape (n, n)
        Internal flows, row to column.
    z, y : array_like, shape (n,) or (n, k)
        Boundary inputs and outputs.
    tolerance : float
        Percent of each compartment's outflow (enaR's ``tol``, default 5).

    Returns
    -------
    bool

    Raises
    ------
    InputError
        Shapes that do not fit, negative or infinite values, or a compartment with neither inflow nor
        outflow (no error can be computed for it: enaR's check returns NA there).

    Examples
    --------
    >>> ss_check([[0.0, 10.0], [0.0, 0.0]], [10.0, 0.0], [0.0, 9.9])
    True
    >>> ss_check([[0.0, 10.0], [0.0, 0.0]], [10.0, 0.0], [0.0, 8.0])
    False
    """
    if not tolerance > 0:
        raise InputError(f"the tolerance is a percentage above 0, not {tolerance}")
    return _within(percent_errors(F, z, y), tolerance)


def _generalised_inverse(matrix: np.ndarray) -> np.ndarray:
    """Moore-Penrose inverse as MASS::ginv computes it (SVD; singular values <= sqrt(eps) * largest dropped)."""
    u, singular, vt = np.linalg.svd(matrix)
    if singular.size == 0:
        return matrix.T.copy()
    kept = singular > max(_GINV_TOLERANCE * singular[0], 0.0)
    return (vt[kept].T / singular[kept]) @ u[:, kept].T


def _by_inputs(F: np.ndarray, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """enaR's ``bal(T, 'input')``: keep the inputs, keep each compartment's output proportions, and scale its
    outflows to the throughflow that the inputs drive. Returns the balanced flows and outputs.

    With ``S[i, :] = (F[i, :], y[i]) / T_out,i`` (0 for a compartment without outflow), the throughflow is
    ``U = -ginv(S_F^T - I) z``, i.e. ``(I - S_F^T)^-1 z`` when that inverse exists, and the balanced
    row i is ``S[i, :] U_i``.
    """
    outflow = F.sum(axis=1) + _totals(y)
    # enaR leaves the share row of a compartment without outflow at 0 (its test is an exact == 0)
    scale = np.divide(1.0, outflow, out=np.zeros_like(outflow), where=outflow != 0)
    share_flows = F * scale[:, None]
    share_outputs = y * (scale if y.ndim == 1 else scale[:, None])
    integral = _generalised_inverse(share_flows.T - np.eye(len(outflow)))
    throughflow = -(integral @ _totals(z))
    return share_flows * throughflow[:, None], share_outputs * (throughflow if y.ndim == 1 else throughflow[:, None])


def _by_outputs(F: np.ndarray, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """enaR's ``bal(T, 'output')``: the input method on the transposed model (keep the outputs, keep each
    compartment's input proportions). Returns the balanced flows and inputs."""
    flows_transposed, inputs = _by_inputs(F.T, y, z)
    return flows_transposed.T, inputs


def _half_way(model: tuple[np.ndarray, np.ndarray, np.ndarray], balanced: tuple[np.ndarray, np.ndarray, np.ndarray]):
    """``0.5 * bal(T) + 0.5 * T`` on the extended matrix, term by term."""
    return tuple(0.5 * part + 0.5 * original for part, original in zip(balanced, model))


def _input_balanced(F, z, y):
    flows, outputs = _by_inputs(F, z, y)
    return flows, z, outputs


def _output_balanced(F, z, y):
    flows, inputs = _by_outputs(F, z, y)
    return flows, inputs, y


def _apply(method: str, model: tuple[np.ndarray, np.ndarray, np.ndarray]):
    """The extended-matrix arithmetic of enaR's balance() for one method."""
    if method == "I":
        return _input_balanced(*model)
    if method == "O":
        return _output_balanced(*model)
    if method == "IO":
        return _output_balanced(*_half_way(model, _input_balanced(*model)))
    if method == "OI":
        return _input_balanced(*_half_way(model, _output_balanced(*model)))
    if method == "AVG":
        return tuple(0.5 * (a + b) for a, b in zip(_input_balanced(*model), _output_balanced(*model)))
    # AVG2: the mean of OI and IO
    oi = _input_balanced(*_half_way(model, _output_balanced(*model)))
    io = _output_balanced(*_half_way(model, _input_balanced(*model)))
    return tuple(0.5 * (a + b) for a, b in zip(oi, io))


def _check_method(method: str) -> None:
    if method not in BALANCE_METHODS:
        raise InputError(f"unknown balancing method {method!r}; expected one of {', '.join(BALANCE_METHODS)}")


def balance(F, z, y, method: str = "AVG2", *, tolerance: float = SS_TOLERANCE_PERCENT) -> BalancedModel:
    """Balance a flow model to steady state as enaR's ``balance`` does (Allesina & Bondavalli 2003).

    A model that already passes :func:`ss_check` within ``tolerance`` is returned unchanged. Otherwise,
    on the extended matrix (internal flows, outputs, inputs):

    - ``I``: keep the inputs; each compartment keeps the proportions of its outflows (to other
      compartments and out of the system), scaled to the throughflow the inputs then drive,
      ``U = (I - S^T)^-1 z`` (a Moore-Penrose inverse, as enaR, when that matrix is singular);
    - ``O``: the same on the transposed model: keep the outputs and each compartment's inflow
      proportions; inputs are recomputed;
    - ``IO``: ``O`` applied to the mean of the model and its ``I`` balance; ``OI``: ``I`` applied to the
      mean of the model and its ``O`` balance;
    - ``AVG``: the mean of ``I`` and ``O``; ``AVG2`` (enaR's default): the mean of ``IO`` and ``OI``.

    ``I``, ``O`` and ``IO``/``OI`` end on a one-sided balance and so are exactly balanced; ``AVG`` and
    ``AVG2`` average two balanced models that may differ, and are balanced only to within what they
    average (enaR checks the result again, and so does :attr:`BalancedModel.balanced`).

    Parameters
    ----------
    F : array_like, shape (n, n)
        Internal flows, ``F[i, j]`` from i to j.
    z, y : array_like, shape (n,) or (n, k)
        Boundary inputs and outputs; with k columns (say export and respiration) each compartment's
        columns are scaled by one factor, as enaR scales its export and respiration columns.
    method : {'AVG2', 'AVG', 'IO', 'OI', 'I', 'O'}
        enaR's method names (default its default, AVG2).
    tolerance : float
        Percent error below which the model counts as balanced and is returned as it is (enaR's ``tol``).

    Returns
    -------
    BalancedModel

    Raises
    ------
    InputError
        An unknown method, shapes that do not fit, negative or infinite values, or a compartment with
        neither inflow nor outflow (no steady-state error can be computed for it).

    Notes
    -----
    Computed as enaR 3.1.0's ``R/balance.R`` and ``R/bal.R`` compute it (SEELab/enaR). enaR then writes
    the balanced flows back onto the network's edges as ``f[f > 0]``, which keeps each flow on its edge as
    long as every balanced flow stays positive; this function returns the matrix itself.

    References
    ----------
    Allesina, S. & Bondavalli, C. (2003) Steady state of ecosystem flow networks: a comparison between
    balancing procedures. Ecological Modelling 165(2-3):231-239.

    Examples
    --------
    >>> F = [[0.0, 10.0], [2.0, 0.0]]
    >>> result = balance(F, [10.0, 0.0], [0.0, 4.0], method="I")
    >>> result.changed, result.balanced
    (True, True)
    >>> result.flows.round(9).tolist(), result.inputs.tolist(), result.outputs.round(9).tolist()
    ([[0.0, 15.0], [5.0, 0.0]], [10.0, 0.0], [0.0, 10.0])
    """
    _check_method(method)
    model = _as_arrays(F, z, y)
    if not tolerance > 0:
        raise InputError(f"the tolerance is a percentage above 0, not {tolerance}")
    if _within(_percent_errors(*model), tolerance):
        return BalancedModel(*model, method=method, changed=False, balanced=True)
    flows, inputs, outputs = _apply(method, model)
    # enaR checks the result at its default tolerance, whatever tolerance decided to balance
    balanced = _within(_percent_errors(flows, inputs, outputs), SS_TOLERANCE_PERCENT)
    return BalancedModel(flows, inputs, outputs, method=method, changed=True, balanced=balanced)


def balance_flow_model(model: FlowModel, method: str = "AVG2", *,
                       tolerance: float = SS_TOLERANCE_PERCENT) -> FlowModel:
    """:func:`balance` one currency's :class:`symbiosis.metrics.FlowModel`; returns a balanced copy.

    The boundary inputs by origin and outputs by destination are balanced together (each firm's are scaled
    by one factor, as enaR scales export and respiration), so the ascendency's extended matrix keeps its
    rows and columns. The flow counts and coverage are those of the model: balancing changes quantities,
    not which flows exist. The metric functions of :mod:`symbiosis.metrics` (``throughflow``,
    ``finn_cycling_index``, ``flow_intensities``, ``ascendency``) take the result as they take any
    FlowModel.

    Parameters
    ----------
    model : FlowModel
        From :func:`symbiosis.metrics.flow_model`; every flow must have a quantity.
    method, tolerance
        As for :func:`balance`.

    Returns
    -------
    FlowModel
        The balanced model, or the model itself when it is already within ``tolerance``.

    Raises
    ------
    InputError
        Flows without a quantity (a model with unknown flows has no balance to restore), or as
        :func:`balance`.
    """
    _check_method(method)
    if model.unknown:
        raise InputError(f"{model.unknown} {model.currency} flow(s) have no quantity: balancing needs every flow's "
                         "quantity")
    n = len(model.nodes)
    origins, destinations = list(model.inputs_by_origin), list(model.outputs_by_destination)
    z = np.column_stack([model.inputs_by_origin[label] for label in origins]) if origins else np.zeros((n, 0))
    y = np.column_stack([model.outputs_by_destination[label] for label in destinations]) if destinations else \
        np.zeros((n, 0))
    result = balance(model.flows.toarray(), z, y, method, tolerance=tolerance)
    if not result.changed:
        return model
    # the links (adjacency) stay those of the data: balancing changes quantities, not who exchanges with whom
    return dataclasses.replace(
        model,
        flows=scipy.sparse.csr_matrix(result.flows),
        inputs=result.inputs.sum(axis=1),
        outputs=result.outputs.sum(axis=1),
        inputs_by_origin={label: result.inputs[:, k].copy() for k, label in enumerate(origins)},
        outputs_by_destination={label: result.outputs[:, k].copy() for k, label in enumerate(destinations)},
    )
