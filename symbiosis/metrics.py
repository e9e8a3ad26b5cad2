"""Network metrics of the ecological-network literature, per currency, as enaR computes them.

Industrial symbiosis networks are analysed like ecosystems (Layton, Bras & Weissburg 2016; Fath 2015):
a flow matrix of one currency between the firms inside the park, boundary inputs ``z`` (virgin supply,
firms outside the park) and boundary outputs ``y`` (products, landfill, air, firms outside). Mass,
energy and water are never summed together: every metric is computed per currency.

Conventions follow the R package enaR (Borrett & Lau 2014, Methods Ecol. Evol. 5:1206-1213), so that
published models reproduce: input-based throughflow, log2 ("bits") for the information measures, an
extended matrix with an import row and an output column for ascendency, connectance ``L/n^2``.

Industrial data are rarely at steady state. Flow-based metrics (TST, APL, FCI, ascendency) assume it;
:func:`node_balance` reports each firm's imbalance, and :func:`network_metrics` says how many firms are
out of balance beyond a threshold instead of silently producing a number.

Industrial data are also sparse: many exchanges are known to exist without a quantity. Topology metrics
use every link; flow metrics use the flows with a quantity, carry their coverage, and are null with a
reason when too little is known (:mod:`symbiosis.coverage`), never a number that counts the unknown as 0.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg

from .coverage import MIN_COVERAGE, Coverage, clean_zero, none_for_nan
from .errors import InputError
from .graph import is_boundary, validate_graph
from .units import CANONICAL_UNIT, CURRENCY
from .settings import DEFAULT_IMBALANCE_THRESHOLD, DENSE_LIMIT

__all__ = [
    "CURRENCIES",
    "metric_rows",
    "metrics_frame",
    "imbalanced_firms",
    "FLOW_METRICS",
    "FlowModel",
    "flow_model",
    "cyclicity",
    "throughflow",
    "finn_cycling_index",
    "flow_intensities",
    "ascendency",
    "network_metrics",
    "metrics_by_park",
    "node_balance",
    "known_cycling_index",
]

log = logging.getLogger(__name__)

#: the currencies whose cycling is measured
CURRENCIES = ("mass", "energy", "water")
_UNIT = {CURRENCY[kind]: unit for kind, unit in CANONICAL_UNIT.items()}
# firms out of balance by more than DEFAULT_IMBALANCE_THRESHOLD are reported; FCI and the flow intensities
# need the diagonal of N = (I - G)^-1, a dense inverse per strongly connected component, not formed above
# DENSE_LIMIT firms in one component (or in the whole currency, when the pseudo-inverse is needed)
#: columns of :func:`network_metrics` computed from quantities: null, with a ``reason``, when the
#: currency's flows are too little known (coverage below the minimum) or form no network to measure
FLOW_METRICS = ("boundary_input", "boundary_output", "TST", "APL", "FCI", "cycled", "BFI", "DFI", "IFI",
                "TSTp", "H", "AMI", "ascendency", "capacity", "overhead", "ascendency_ratio", "robustness",
                "unbalanced_nodes", "max_imbalance")


class _TooLarge(InputError):
    """The model is too large for the dense integral matrix (a user-facing error where it escapes)."""

    def __init__(self, firms: int):
        super().__init__(f"a cycle of {firms:,} firms is too large for the dense integral matrix that FCI and "
                         "the flow intensities need")
        self.firms = firms


@dataclass
class _Integral:
    """What FCI and the flow intensities need of N = (I - G)^-1: its diagonal and its row sums."""

    T: np.ndarray
    G_row_sums: np.ndarray
    diagonal: np.ndarray
    row_sums: np.ndarray


@dataclass
class FlowModel:
    """One currency's flows as matrices (the input of every flow-based metric).

    Attributes
    ----------
    nodes : list of str
        Firms inside the park with at least one flow of the currency, in matrix order.
    flows : scipy.sparse.csr_matrix, shape (n, n)
        ``flows[i, j]``: known quantity from firm i to firm j per year, canonical unit.
    inputs, outputs : ndarray, shape (n,)
        Boundary input ``z`` into each firm and boundary output ``y`` from it.
    inputs_by_origin, outputs_by_destination : dict of str to ndarray
        The same split by the outside end's label (import, grid, export, landfill, air, respiration;
        ``outside park`` for firms beyond a park cut), for the ascendency's extended matrix.
    adjacency : scipy.sparse.csr_matrix of int, shape (n, n)
        1 where i sends j any flow of the currency, quantity known or not (topology uses the link).
    unknown : int
        Flows of the currency without a quantity: in the topology, left out of flow-based metrics.
    flows_total : int
        Flows of the currency with at least one end at a firm of the park (firm to firm, or across the
        park boundary); ``flows_total - unknown`` have a quantity.
    unknown_links : set of (int, int)
        Firm-to-firm links ``(i, j)`` with at least one flow without a quantity: the link's quantity is
        unknown (its known flows are only a lower bound).
    unknown_at : set of int
        Firms with at least one flow (in or out, boundary included) without a quantity: their balance
        is unknown.
    inflows, inflows_known, outflows, outflows_known : ndarray of int, shape (n,)
        Per firm, the flows entering it (from firms and across the boundary), those of them with a
        quantity, and the same for the flows leaving it. A side with no flow was not recorded: its
        quantity is unknown, not 0.
    boundary_inputs, boundary_inputs_known, boundary_outputs, boundary_outputs_known : int
        Flows across the park boundary into (out of) its firms, and those of them with a quantity.
    """

    currency: str
    unit: str
    nodes: list[str]
    flows: scipy.sparse.csr_matrix
    inputs: np.ndarray
    outputs: np.ndarray
    adjacency: scipy.sparse.csr_matrix
    unknown: int
    inputs_by_origin: dict[str, np.ndarray]
    outputs_by_destination: dict[str, np.ndarray]
    flows_total: int = 0
    unknown_links: set[tuple[int, int]] = field(default_factory=set)
    unknown_at: set[int] = field(default_factory=set)
    inflows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    inflows_known: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    outflows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    outflows_known: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    boundary_inputs: int = 0
    boundary_inputs_known: int = 0
    boundary_outputs: int = 0
    boundary_outputs_known: int = 0

    @property
    def coverage(self) -> Coverage:
        """The flows with a quantity out of all the currency's flows (firm to firm and across the boundary)."""
        return Coverage(self.flows_total - self.unknown, self.flows_total, f"{self.currency} flows with a quantity")

    @property
    def links_known(self) -> int:
        """Firm-to-firm links whose every flow has a quantity."""
        return int(self.adjacency.nnz) - len(self.unknown_links)


def flow_model(G: nx.MultiDiGraph, currency: str) -> FlowModel:
    """Build the flow matrix, boundary inputs and outputs of one currency from a flow graph.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        From :func:`symbiosis.graph.load_graph`. Boundary nodes and firms outside the park are the
        environment: flows from them are inputs, flows to them are outputs.
    currency : {'mass', 'energy', 'water', 'co2'}

    Returns
    -------
    FlowModel
    """
    validate_graph(G, needs=("currency", "quantity"))
    if currency not in set(CURRENCY.values()):
        raise InputError(f"unknown currency {currency!r}; expected one of mass, energy, water, co2")
    edges = [(u, v, data["quantity"]) for u, v, data in G.edges(data=True) if data["currency"] == currency]
    inside = sorted({node for u, v, _ in edges for node in (u, v) if not is_boundary(G, node)})
    index = {node: position for position, node in enumerate(inside)}
    n = len(inside)
    rows, cols, values, links = [], [], [], set()
    by_origin: dict[str, np.ndarray] = {}
    by_destination: dict[str, np.ndarray] = {}
    unknown, total, unknown_links, unknown_at = 0, 0, set(), set()
    # flows (and flows with a quantity) per firm and side, and across the boundary: [in, out]
    side_flows, side_known = np.zeros((2, n), dtype=int), np.zeros((2, n), dtype=int)
    boundary_flows, boundary_known = [0, 0], [0, 0]
    for u, v, quantity in edges:
        i, j = index.get(u), index.get(v)
        if i is None and j is None:
            continue  # both ends outside the park: not one of its flows
        total += 1
        known = quantity is not None
        for side, end in ((0, j), (1, i)):
            if end is not None:
                side_flows[side, end] += 1
                side_known[side, end] += known
        if i is None or j is None:
            side = 0 if i is None else 1
            boundary_flows[side] += 1
            boundary_known[side] += known
        if i is not None and j is not None:
            links.add((i, j))
        if quantity is None:
            unknown += 1
            if i is not None and j is not None:
                unknown_links.add((i, j))
            for end in (i, j):
                if end is not None:
                    unknown_at.add(end)
            continue
        if i is not None and j is not None:
            rows.append(i)
            cols.append(j)
            values.append(quantity)
        elif j is not None:
            by_origin.setdefault(_outside_label(G, u), np.zeros(n))[j] += quantity
        elif i is not None:
            by_destination.setdefault(_outside_label(G, v), np.zeros(n))[i] += quantity
    # Sparse matrices: a national network has 250,000 firms; duplicates (parallel flows) are summed.
    flows = scipy.sparse.csr_matrix((values, (rows, cols)), shape=(n, n))
    link_rows, link_cols = zip(*links) if links else ((), ())
    adjacency = scipy.sparse.csr_matrix((np.ones(len(link_rows), dtype=int), (link_rows, link_cols)), shape=(n, n))
    inputs = sum(by_origin.values(), np.zeros(n))
    outputs = sum(by_destination.values(), np.zeros(n))
    return FlowModel(currency, _UNIT[currency], inside, flows, inputs, outputs, adjacency, unknown,
                     by_origin, by_destination, total, unknown_links, unknown_at,
                     side_flows[0], side_known[0], side_flows[1], side_known[1],
                     boundary_flows[0], boundary_known[0], boundary_flows[1], boundary_known[1])


def _outside_label(G: nx.MultiDiGraph, node: str) -> str:
    return G.nodes[node].get("boundary_label") or "outside park"


def cyclicity(adjacency: np.ndarray) -> float:
    """Spectral radius (largest eigenvalue modulus) of a 0/1 adjacency matrix.

    0 for a network without cycles, 1 for a single cycle, ``n - 1`` for a complete digraph on n nodes;
    enaR's ``lam1A`` (Fath & Halnes 2007 call it cyclicity; Layton et al. 2016 use it for industrial
    networks). Computed per strongly connected component: the spectrum of a reducible non-negative
    matrix is the union of its components' spectra, so a national network need not be one dense matrix.

    Examples
    --------
    >>> cyclicity(np.array([[0, 1], [1, 0]]))
    1.0
    >>> cyclicity(np.ones((4, 4)) - np.eye(4))
    3.0
    >>> cyclicity(np.triu(np.ones((3, 3)), 1))
    0.0
    """
    matrix = scipy.sparse.csr_matrix(adjacency, dtype=float)
    if matrix.shape[0] == 0 or matrix.nnz == 0:
        return 0.0
    matrix.data = (matrix.data != 0).astype(float)
    matrix.eliminate_zeros()
    count, labels = scipy.sparse.csgraph.connected_components(matrix, directed=True, connection="strong")
    # a lone firm is a cycle only through a self-loop (radius 1); only larger components need a solve
    sizes = np.bincount(labels, minlength=count)
    radius = 1.0 if (matrix.diagonal()[sizes[labels] == 1] != 0).any() else 0.0
    members_of = _component_members(labels, count)
    for component in np.flatnonzero(sizes > 1):
        members = members_of(component)
        block = matrix[members][:, members]
        if block.nnz == 0:
            continue
        radius = max(radius, _spectral_radius(block))
    return float(round(radius, 10))


def _component_members(labels: np.ndarray, count: int):
    """``members(component)``: the indices labelled ``component``, from one sort of the labels."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(count + 1))
    return lambda component: order[bounds[component]:bounds[component + 1]]


def _spectral_radius(block) -> float:
    """Perron root of one irreducible non-negative block (sparse)."""
    rows, columns = np.asarray(block.sum(axis=1)).ravel(), np.asarray(block.sum(axis=0)).ravel()
    # Equal row (or column) sums bound the Perron root from both sides: it is that sum, exactly
    # (a ring, a complete digraph). This also covers the cases iterative solvers find hardest.
    for sums in (rows, columns):
        if sums.min() == sums.max():
            return float(sums[0])
    n = block.shape[0]
    if n > 400:
        # A + I is primitive with Perron root rho(A) + 1, strictly dominant in modulus.
        shifted = scipy.sparse.csr_matrix(block) + scipy.sparse.identity(n, format="csr")
        try:
            return float(scipy.sparse.linalg.eigs(shifted, k=1, which="LM", maxiter=20 * n,
                                                  return_eigenvectors=False)[0].real - 1)
        except scipy.sparse.linalg.ArpackNoConvergence:
            if n > 4000:
                return _collatz_wielandt(shifted) - 1
    return float(np.max(np.abs(np.linalg.eigvals(block.toarray()))))


def _collatz_wielandt(matrix, iterations: int = 2000) -> float:
    """Power iteration with Collatz-Wielandt bounds min(Ax/x) <= rho <= max(Ax/x); their midpoint."""
    x = np.ones(matrix.shape[0])
    low, high = 0.0, np.inf
    for _ in range(iterations):
        y = matrix @ x
        ratios = y / x
        low, high = max(low, ratios.min()), min(high, ratios.max())
        if high - low <= 1e-9 * high:
            break
        x = y / y.max()
    log.warning("spectral radius from Collatz-Wielandt bounds [%.6g, %.6g]", low, high)
    return (low + high) / 2


def throughflow(model: FlowModel, orientation: str = "input") -> np.ndarray:
    """Throughflow of each firm: inflows plus boundary input (``input``, enaR's choice) or outflows plus
    boundary output (``output``). At steady state the two agree.
    """
    if orientation == "input":
        return np.asarray(model.flows.sum(axis=0)).ravel() + model.inputs
    if orientation == "output":
        return np.asarray(model.flows.sum(axis=1)).ravel() + model.outputs
    raise InputError(f"throughflow orientation must be 'input' or 'output', not {orientation!r}")


def finn_cycling_index(model: FlowModel, orientation: str = "input") -> float | None:
    """Finn cycling index: the share of total system throughflow that is cycled (Finn 1976).

    ``G[i, j] = F[i, j] / T_i`` (output-oriented direct flow intensities), ``N = (I - G)^-1`` (the
    integral flow matrix; a generalised inverse as in enaR), and

    ``FCI = sum_j ((N_jj - 1) / N_jj) T_j / TST``,  with ``TST = sum_j T_j``.

    Returns None for a model without throughflow.

    References
    ----------
    Finn, J.T. (1976) Measures of ecosystem structure and function derived from analysis of flows.
    J. Theor. Biol. 56:363-380. Borrett, S.R. & Lau, M.K. (2014) enaR. Methods Ecol. Evol. 5:1206-1213.
    """
    return _fci(_integral(model, orientation))


def _fci(integral: _Integral) -> float | None:
    T, diagonal = integral.T, integral.diagonal
    total = T.sum()
    if total <= 0:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        cycled = np.where(diagonal != 0, (diagonal - 1) / diagonal * T, 0.0)
    index = float(cycled.sum() / total)
    return 0.0 if abs(index) < 1e-12 else index  # round-off of an acyclic model is no cycling


def flow_intensities(model: FlowModel, orientation: str = "input") -> dict[str, float | None]:
    """Boundary, direct and indirect flow intensities (Borrett & Freeze 2011; enaR's BFI, DFI, IFI).

    With boundary inputs ``z``: ``BFI = sum(z) / TST``, ``DFI = sum_i z_i sum_j G_ij / TST`` (flow that
    reaches a firm in one step from its entry) and ``IFI = sum_i z_i sum_j (N - I - G)_ij / TST``
    (flow that arrives by longer, indirect paths). BFI + DFI + IFI = 1 at steady state.
    """
    return _intensities(model, _integral(model, orientation))


def _intensities(model: FlowModel, integral: _Integral) -> dict[str, float | None]:
    total = integral.T.sum()
    if total <= 0:
        return {"BFI": None, "DFI": None, "IFI": None}
    z = model.inputs
    direct = float(z @ integral.G_row_sums)
    indirect = float(z @ (integral.row_sums - 1.0 - integral.G_row_sums))
    return {"BFI": float(z.sum() / total), "DFI": direct / total, "IFI": indirect / total}


def _integral(model: FlowModel, orientation: str) -> _Integral:
    """Throughflow T, direct intensities G = F / T (by rows), and the diagonal and row sums of
    N = (I - G)^-1.

    Without forming N: ``N 1`` is one sparse solve, and because I - G is block triangular once its
    strongly connected components are ordered, each diagonal block of N is the inverse of that
    component's block of I - G (closed walks never leave their component). Firms on no cycle have
    N_jj = 1. Only when I - G is singular (a closed cycle without outflow) is the whole dense
    generalised inverse formed, as enaR does.
    """
    T = throughflow(model, orientation)
    n = len(T)
    scale = np.divide(1.0, T, out=np.zeros(n), where=T > 0)
    G = (scipy.sparse.diags(scale) @ model.flows).tocsr()
    G.eliminate_zeros()
    G_row_sums = np.asarray(G.sum(axis=1)).ravel()
    system = (scipy.sparse.identity(n, format="csc") - G).tocsc()
    exact = _block_integral(G, system)
    if exact is not None:
        diagonal, row_sums = exact
        return _Integral(T, G_row_sums, diagonal, row_sums)
    if n > DENSE_LIMIT:
        raise _TooLarge(n)
    # A generalised inverse, as enaR: a closed cycle without outflow makes I - G singular.
    N = np.linalg.pinv(system.toarray())
    return _Integral(T, G_row_sums, np.diag(N).copy(), N.sum(axis=1))


def _block_integral(G, system) -> tuple[np.ndarray, np.ndarray] | None:
    """Diagonal and row sums of (I - G)^-1 by components; None when I - G is (nearly) singular."""
    n = G.shape[0]
    if n == 0:
        return np.zeros(0), np.zeros(0)
    count, labels = scipy.sparse.csgraph.connected_components(G, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=count)
    self_loops = G.diagonal() != 0
    cyclic = (sizes[labels] > 1) | self_loops
    if cyclic.any() and sizes[labels[cyclic]].max() > DENSE_LIMIT:
        raise _TooLarge(int(sizes[labels[cyclic]].max()))
    diagonal = np.ones(n)
    members_of = _component_members(labels, count)
    for component in np.unique(labels[cyclic]):
        members = members_of(component)
        block = system[members][:, members].toarray()
        try:
            inverse = np.linalg.inv(block)
        except np.linalg.LinAlgError:
            return None
        if not np.isfinite(inverse).all() or np.abs(block @ inverse - np.eye(len(members))).max() > 1e-8:
            return None  # nearly singular: the pseudo-inverse decides
        diagonal[members] = np.diag(inverse)
    try:
        row_sums = scipy.sparse.linalg.splu(system).solve(np.ones(n))
    except RuntimeError:  # exactly singular
        return None
    if not np.isfinite(row_sums).all() or np.abs(system @ row_sums - 1.0).max() > 1e-8 * max(1.0, np.abs(row_sums).max()):
        return None
    return diagonal, row_sums


def ascendency(model: FlowModel) -> dict[str, float | None]:
    """Ulanowicz's information measures on the extended flow matrix, in bits (log2), as in enaR.

    The extended matrix adds to the internal flows one row per boundary origin (enaR: one import row)
    and one column per boundary destination (enaR: an export and a respiration column; here also
    landfill, air, sewer ...); ``TSTp`` is the sum of all its entries (total system throughput). With
    ``p_ij = t_ij / TSTp`` and row and column sums ``t_i.`` and ``t_.j``:

    - flow diversity ``H = -sum p_ij log2 p_ij``; development capacity ``C = H TSTp``;
    - average mutual information ``AMI = sum p_ij log2(t_ij TSTp / (t_i. t_.j))``; ascendency ``A = AMI TSTp``;
    - overhead ``O = C - A``; robustness ``R = -(A/C) ln(A/C)`` (enaR's form; Ulanowicz et al. 2009
      scale it by e so that its maximum is 1).

    References
    ----------
    Ulanowicz, R.E. (1986) Growth and Development: Ecosystems Phenomenology. Springer.
    Ulanowicz, R.E., Goerner, S.J., Lietaer, B. & Gomez, R. (2009) Quantifying sustainability:
    resilience, efficiency and the return of information theory. Ecol. Complex. 6:27-36.
    """
    n = len(model.nodes)
    origins, destinations = list(model.inputs_by_origin.values()), list(model.outputs_by_destination.values())
    flows = model.flows.tocoo()
    rows, cols, values = [flows.row], [flows.col], [flows.data]
    for row, inputs in enumerate(origins, start=n):
        nonzero = np.flatnonzero(inputs)
        rows.append(np.full(len(nonzero), row))
        cols.append(nonzero)
        values.append(inputs[nonzero])
    for column, outputs in enumerate(destinations, start=n):
        nonzero = np.flatnonzero(outputs)
        rows.append(nonzero)
        cols.append(np.full(len(nonzero), column))
        values.append(outputs[nonzero])
    # the extended matrix, kept sparse: only its non-zero entries enter the information measures
    extended = scipy.sparse.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                                       shape=(n + len(origins), n + len(destinations)))
    extended.sum_duplicates()
    total = float(extended.sum())
    if total <= 0:
        return dict.fromkeys(("TSTp", "H", "AMI", "ascendency", "capacity", "overhead", "ascendency_ratio",
                              "robustness"))
    row_sums, column_sums = np.asarray(extended.sum(axis=1)).ravel(), np.asarray(extended.sum(axis=0)).ravel()
    coo = extended.tocoo()
    keep = coo.data > 0
    i, j, t = coo.row[keep], coo.col[keep], coo.data[keep]
    p = t / total
    # Round-off (e.g. AMI a hair above H when every flow is its row's and column's only one) is cleaned
    # to exact zeros against each figure's scale: an overhead of 1e-10 bits x t/yr is no overhead.
    flow_diversity = _clean(float(-(p * np.log2(p)).sum()), 1.0)
    mutual_information = _clean(float((p * np.log2(t * total / (row_sums[i] * column_sums[j]))).sum()), flow_diversity)
    capacity = flow_diversity * total
    ascendency_value = mutual_information * total
    overhead = _clean(capacity - ascendency_value, capacity)
    if not capacity:
        ratio = robustness = None
    elif overhead == 0.0:  # no overhead: A = C exactly, and -1 ln 1 = 0
        ratio, robustness = 1.0, 0.0
    else:
        ratio = _clean(ascendency_value / capacity, 1.0)
        # -x ln x tends to 0 as x tends to 0
        robustness = _clean(float(-ratio * np.log(ratio)), 1.0) if ratio > 0 else 0.0
    return {
        "TSTp": float(total), "H": flow_diversity, "AMI": mutual_information, "ascendency": ascendency_value,
        "capacity": capacity, "overhead": overhead, "ascendency_ratio": ratio, "robustness": robustness,
    }


def node_balance(G: nx.MultiDiGraph, currency: str) -> pd.DataFrame:
    """Inflow, outflow and imbalance of every firm in one currency.

    A firm's balance is known only when flows are recorded on both sides (entering and leaving it, the
    park boundary included) and every one of them has a quantity. A side with no recorded flow is not
    a side of 0: a power plant whose coal input is not in the data has an unknown inflow.

    Returns
    -------
    DataFrame
        ``currency, id, name, inflow, outflow, imbalance, unit, balance_known``; ``inflow`` includes
        boundary input and ``outflow`` boundary output, summed over the flows with a quantity, and is
        None for a side with no recorded flow or none with a quantity; with some of its flows known it
        is their sum, a lower bound. ``imbalance = (inflow - outflow) / max(inflow, outflow)`` (0 when
        both are 0) for a firm whose balance is known, None otherwise (``balance_known`` False: a side
        without a recorded flow, or a flow without a quantity). Known balances first, largest first.
        Null cells are None, never NaN.

    Examples
    --------
    >>> G = nx.MultiDiGraph()
    >>> G.add_node("plant")  # coal into the plant is not in the data
    >>> G.add_edge("plant", "board", currency="mass", quantity=80.0)
    0
    >>> row = node_balance(G, "mass").set_index("id").loc["plant"]
    >>> row["inflow"] is None, row["outflow"], row["imbalance"] is None, bool(row["balance_known"])
    (True, 80.0, True, False)
    """
    validate_graph(G, needs=("currency", "quantity"))
    return _balance(G, flow_model(G, currency))


def _imbalance(model: FlowModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inflow, outflow (known flows) and imbalance of each firm, without building a table (NaN: unknown).

    A side with no recorded flow, or none with a quantity, is unknown (NaN), not 0. The imbalance is
    known only for a firm with flows on both sides, all with a quantity: with a flow left out, the
    known inflow and outflow are only lower bounds.
    """
    inflow = throughflow(model, "input")
    outflow = throughflow(model, "output")
    larger = np.maximum(inflow, outflow)
    with np.errstate(divide="ignore", invalid="ignore"):
        imbalance = np.where(larger > 0, (inflow - outflow) / larger, 0.0)
    inflow[model.inflows_known == 0] = np.nan
    outflow[model.outflows_known == 0] = np.nan
    known = (model.inflows > 0) & (model.outflows > 0)
    if model.unknown_at:
        known[sorted(model.unknown_at)] = False
    imbalance[~known] = np.nan
    return inflow, outflow, imbalance


def _balance(G: nx.MultiDiGraph, model: FlowModel) -> pd.DataFrame:
    inflow, outflow, imbalance = _imbalance(model)
    known = ~np.isnan(imbalance)
    frame = pd.DataFrame({
        "currency": model.currency, "id": model.nodes,
        "name": [G.nodes[node].get("name") for node in model.nodes],
        "inflow": inflow, "outflow": outflow, "imbalance": imbalance, "unit": model.unit,
        "balance_known": known,
    })
    order = np.argsort(-np.where(known, np.abs(imbalance), -1.0), kind="stable")
    return none_for_nan(frame.iloc[order].reset_index(drop=True))  # unknown is None, never NaN


#: the columns of :func:`network_metrics`, in order
_COLUMNS = ("currency", "unit", "nodes", "links", "connectance", "link_density", "cyclicity", "flows",
            "flows_without_quantity", "links_known", "coverage", *FLOW_METRICS[:-2], "throughflow",
            *FLOW_METRICS[-2:], "warning", "reason")
#: columns that may be null: kept as Python objects so that a gap is None, never NaN (pandas would turn
#: None into NaN in a float column, and into a NaN that prints "nan" in a text column)
_NULLABLE = frozenset(("connectance", "link_density", "cyclicity", "coverage", *FLOW_METRICS, "warning",
                       "reason"))


def _clean(value: float, scale: float) -> float:
    """:func:`symbiosis.coverage.clean_zero` of a known figure: a float in, a float out."""
    cleaned = clean_zero(value, scale)
    return value if cleaned is None else cleaned


def _frame(rows: list[dict], columns: tuple[str, ...], nullable: frozenset[str]) -> pd.DataFrame:
    """Rows as a DataFrame whose missing cells are None."""
    return pd.DataFrame({column: pd.Series([row[column] for row in rows], dtype=object if column in nullable else None)
                         for column in columns}, columns=list(columns))


def _degenerate(model: FlowModel) -> str | None:
    """Why the known flows form no network to measure, or None when they do."""
    internal = int((model.flows.data > 0).sum())
    if internal == 0:
        return ("degenerate network: no flow between two firms of the park has a known quantity above 0 "
                "(flow metrics need flow passing between firms)")
    boundary = sum(int((vector > 0).sum()) for vector in (*model.inputs_by_origin.values(),
                                                          *model.outputs_by_destination.values()))
    if internal + boundary < 2:
        return "degenerate network: a single flow with a known quantity (no diversity, path or cycle to measure)"
    return None


def _unknown_links_on_cycles(model: FlowModel) -> int:
    """Firm-to-firm links without a (full) quantity that lie on a cycle of the network."""
    if not model.unknown_links:
        return 0
    _, labels = scipy.sparse.csgraph.connected_components(model.adjacency, directed=True, connection="strong")
    return sum(1 for i, j in model.unknown_links if i == j or labels[i] == labels[j])


def _cycling(model: FlowModel, integral: _Integral | None, warnings: list[str], reasons: list[str]) -> float | None:
    """FCI of the known flows, or None (with a reason) when it is out of range or hidden in unknown links."""
    fci = clean_zero(_fci(integral), 1.0) if integral else None
    if fci is not None and not -1e-9 <= fci <= 1 + 1e-9:
        reasons.append(f"FCI, cycled: FCI {fci:.3g} is outside [0, 1] (recorded outflows exceed throughflow)")
        fci = None
    hidden_cycles = _unknown_links_on_cycles(model)
    if hidden_cycles and fci == 0.0:
        # cyclicity says the network cycles, the known flows say nothing does: the cycled share is unknown
        reasons.append(f"FCI, cycled: every cycle runs through a link without a quantity ({hidden_cycles} such "
                       "link(s)), so the cycled share is unknown, not 0")
        fci = None
    elif hidden_cycles and fci is not None:
        warnings.append(f"FCI counts only cycles whose flows are known: {hidden_cycles} link(s) on cycles have "
                        "no quantity")
    return fci


def _integral_or_reason(model: FlowModel, orientation: str, reasons: list[str]) -> _Integral | None:
    try:
        return _integral(model, orientation)
    except _TooLarge as error:
        reasons.append(f"FCI, cycled, BFI, DFI, IFI: need a dense inverse of {error.firms:,} firms (formed up "
                       f"to {DENSE_LIMIT:,}), use per-park metrics (--by-park)")
        return None


def known_cycling_index(model: FlowModel, *, orientation: str = "input",
                        min_coverage: float = 0.0) -> tuple[float | None, str | None]:
    """The Finn cycling index of the known flows as :func:`network_metrics` gives it, with why it is not.

    The same guards as the ``FCI`` column: nothing known (or coverage below ``min_coverage``, default
    none required), no network among the known flows, FCI out of range, or every cycle running through
    links without a quantity give None and the reason. Callers that weigh coverage themselves (the
    scorecard) keep the default and read :attr:`FlowModel.coverage`.

    Returns
    -------
    (float or None, str or None)
        FCI and None, or None and the reason.
    """
    withheld = model.coverage.reason(min_coverage) or _degenerate(model)
    if withheld:
        return None, withheld
    reasons: list[str] = []
    fci = _cycling(model, _integral_or_reason(model, orientation, reasons), [], reasons)
    return fci, ("; ".join(reasons) or None) if fci is None else None


def _boundary_notes(model: FlowModel, warnings: list[str], reasons: list[str]) -> tuple[bool, bool]:
    """Whether any boundary input and any boundary output has a quantity; why not, and partial sums, noted."""
    sides = (("input", "boundary_input, APL, BFI, DFI, IFI", model.boundary_inputs, model.boundary_inputs_known,
              "into"),
             ("output", "boundary_output", model.boundary_outputs, model.boundary_outputs_known, "out of"))
    known = []
    for side, figures, flows, with_quantity, direction in sides:
        known.append(with_quantity > 0)
        if not with_quantity:
            detail = (f"no flow {direction} the park's firms across its boundary in the data" if not flows else
                      f"0 of {flows} boundary {side} flows with a quantity")
            reasons.append(f"{figures}: no boundary {side} with a known quantity ({detail}): unknown, not 0")
        elif with_quantity < flows:
            warnings.append(f"boundary_{side} sums {with_quantity} of {flows} boundary {side} flows (the others have "
                            "no quantity): a lower bound")
    return known[0], known[1]


def _flow_metrics(model: FlowModel, orientation: str, imbalance_threshold: float, warnings: list[str],
                  reasons: list[str]) -> dict:
    """The flow-based columns of one currency on its known flows; notes go to ``warnings`` (figures given)
    and ``reasons`` (why a figure is null)."""
    T = throughflow(model, orientation)
    total = float(T.sum())
    inputs_known, outputs_known = _boundary_notes(model, warnings, reasons)
    # no boundary input recorded with a quantity is an unknown input, not an input of 0
    boundary_input = float(model.inputs.sum()) if inputs_known else None
    # what FCI and the flow intensities need of the integral matrix, formed once for both
    integral = _integral_or_reason(model, orientation, reasons)
    fci = _cycling(model, integral, warnings, reasons)
    intensities: dict[str, float | None] = {"BFI": None, "DFI": None, "IFI": None}
    if integral and inputs_known:  # the intensities follow the boundary input: unknown with it
        intensities = {name: clean_zero(value, 1.0) for name, value in _intensities(model, integral).items()}
    if boundary_input == 0.0:
        reasons.append("APL: the boundary input is 0 (APL = TST / boundary input)")
    _, _, imbalance = _imbalance(model)
    known_balance = imbalance[~np.isnan(imbalance)]  # a side not recorded or a flow unknown: balance unknown
    balance_unknown = len(imbalance) - len(known_balance)
    unbalanced = int((np.abs(known_balance) > imbalance_threshold).sum()) if len(known_balance) else None
    if not len(known_balance):
        reasons.append(f"unbalanced_nodes, max_imbalance: no firm has a known balance (each of the {len(imbalance)} "
                       "has a side with no recorded flow or a flow without a quantity)")
    elif unbalanced:
        unknown_note = (f" ({balance_unknown} more with an unknown balance: a side with no recorded flow or a flow "
                        "without a quantity)" if balance_unknown else "")
        warnings.append(f"{unbalanced} of {len(known_balance)} firms with a known balance unbalanced by more than "
                        f"{imbalance_threshold:.0%}{unknown_note}: TST, APL, FCI and ascendency assume steady state")
    return {
        "boundary_input": boundary_input,
        "boundary_output": float(model.outputs.sum()) if outputs_known else None,
        "TST": total, "APL": total / boundary_input if boundary_input else None,
        "FCI": fci, "cycled": clean_zero(fci * total, total) if fci is not None else None,
        **intensities,
        **ascendency(model),
        "unbalanced_nodes": unbalanced,
        "max_imbalance": clean_zero(float(np.abs(known_balance).max()), 1.0) if len(known_balance) else None,
    }


def network_metrics(
    G: nx.MultiDiGraph,
    currencies: tuple[str, ...] = CURRENCIES,
    *,
    orientation: str = "input",
    imbalance_threshold: float = DEFAULT_IMBALANCE_THRESHOLD,
    min_coverage: float = MIN_COVERAGE,
    balance: str | None = None,
) -> pd.DataFrame:
    """Structure, cycling and information metrics of the network, one row per currency.

    Topology metrics use every link, quantity known or not. Flow metrics use the flows with a quantity
    and stand beside their ``coverage``; they are null, with a ``reason``, when nothing is known, when
    the coverage is below ``min_coverage``, or when the known flows form no network (no known flow
    between two firms, or a single known flow). Null cells are None, never NaN; values within
    floating-point noise of zero are exactly 0.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        From :func:`symbiosis.graph.load_graph` (internal flows plus boundary imports and exports).
    currencies : tuple of str
        Currencies to measure (default mass, energy, water).
    orientation : {'input', 'output'}
        Throughflow used for TST, APL and FCI: inflows plus boundary input (enaR's choice), or outflows
        plus boundary output. They agree at steady state.
    imbalance_threshold : float
        Firms whose inflow and outflow differ by more than this share count as unbalanced.
    min_coverage : float
        Least share of a currency's flows with a quantity for its flow metrics to be given (default
        :data:`symbiosis.coverage.MIN_COVERAGE`, 0.5; CLI ``--min-coverage``).
    balance : str, optional
        Balance each currency's flow model to steady state first, as enaR's ``balance`` does (``AVG2``,
        ``AVG``, ``IO``, ``OI``, ``I``, ``O``: :mod:`symbiosis.ena_balance`); the ``warning`` says how many
        firms were out of steady state by ssCheck's rule. Every flow needs a quantity (else the flow
        metrics are withheld with the reason). CLI ``--balance``.

    Returns
    -------
    DataFrame
        One row per currency with columns:

        - ``nodes`` n, ``links`` L (firm-to-firm links, quantity known or not), ``connectance`` L/n^2,
          ``link_density`` L/n, ``cyclicity`` (spectral radius of the 0/1 adjacency matrix): given
          whenever the currency has a firm (None, like connectance, when it has none);
        - ``flows`` (the currency's flows with an end at a firm of the park: firm to firm and across the
          boundary), ``flows_without_quantity`` (left out of the flow-based metrics below),
          ``links_known`` (links of L whose every flow has a quantity) and ``coverage``, the share of
          ``flows`` with a quantity (None without flows). The share of the true throughflow that the
          known flows carry cannot be bounded from the flows alone: an unknown quantity has no upper
          bound, so the known TST is a lower bound of the true one and nothing more;
        - flow metrics (:data:`FLOW_METRICS`), on the known flows: ``boundary_input``,
          ``boundary_output`` (the known sum, a lower bound when some boundary flows have no quantity;
          None when no boundary flow of that direction has a quantity, or none is recorded: an
          unrecorded input is unknown, not 0); ``TST`` total system throughflow (sum of T_j); ``APL``
          average path length TST / boundary input (Finn 1976); ``FCI`` Finn cycling index; ``cycled``
          FCI x TST; ``BFI``, ``DFI``, ``IFI`` boundary, direct and indirect flow intensities (None with
          the boundary input: they measure what becomes of it); ``TSTp``, ``H``, ``AMI``,
          ``ascendency``, ``capacity``, ``overhead``, ``ascendency_ratio``, ``robustness`` (see
          :func:`ascendency`); ``unbalanced_nodes`` (beyond the threshold) and ``max_imbalance``, over
          the firms whose balance is known (see :func:`node_balance`), None when no firm's is.
          ``FCI`` and ``cycled`` are null when the known flows hold no cycle but the network does
          through links without a quantity (the cycled share is unknown, not 0); when some cycles are
          known and others run through unknown links, FCI is given with a warning;
        - ``throughflow`` (which orientation), ``unit``;
        - ``warning``: why a given figure should be read with care (flows without quantity, unbalanced
          firms, cycles partly unknown); ``reason``: why null flow figures are null (``FCI, cycled: ...``
          names the figures when only some are), None when every figure is given.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> G.add_edge("a", "b", currency="mass", quantity=1.0)
    0
    >>> G.add_edge("b", "a", currency="mass", quantity=1.0)
    0
    >>> float(network_metrics(G, currencies=("mass",)).loc[0, "cyclicity"])
    1.0
    >>> G.add_edge("c", "d", currency="energy", quantity=None)
    0
    >>> row = network_metrics(G, currencies=("energy",)).iloc[0]
    >>> row["coverage"], row["TST"] is None, row["reason"]
    (0.0, True, 'nothing known: 0 of 1 energy flows with a quantity')
    """
    validate_graph(G, needs=("currency", "quantity"))
    _check_options(orientation, min_coverage, balance)
    return _frame(_metric_rows(G, currencies, orientation, imbalance_threshold, min_coverage, balance), _COLUMNS,
                  _NULLABLE)


def _check_options(orientation: str, min_coverage: float, balance: str | None = None) -> None:
    if not 0 <= min_coverage <= 1:
        raise InputError(f"min_coverage must be between 0 and 1, not {min_coverage}")
    if orientation not in ("input", "output"):
        raise InputError(f"throughflow orientation must be 'input' or 'output', not {orientation!r}")
    if balance is not None:
        from .ena_balance import BALANCE_METHODS

        if balance not in BALANCE_METHODS:
            raise InputError(f"balance method {balance!r}: expected one of {', '.join(BALANCE_METHODS)}")


def _balanced(model: FlowModel, method: str, warnings: list[str]) -> tuple[FlowModel, str | None]:
    """The model balanced by enaR's ``balance`` method (:mod:`symbiosis.ena_balance`), or the reason it
    cannot be: balancing rescales every flow, so every flow needs a quantity."""
    from .ena_balance import SS_TOLERANCE_PERCENT, balance_flow_model, percent_errors

    if model.unknown:
        return model, (f"balance {method}: {model.unknown} flow(s) without a quantity (balancing rescales every "
                       "flow: it needs them all)")
    if not len(model.nodes) or not model.adjacency.nnz:
        return model, None
    errors = percent_errors(model.flows.toarray(), model.inputs, model.outputs)
    outside = int((errors >= SS_TOLERANCE_PERCENT).sum())
    balanced = balance_flow_model(model, method)
    warnings.append(f"balanced by enaR's {method} before the metrics ({outside} of {len(model.nodes)} firms were "
                    f"{SS_TOLERANCE_PERCENT:g} % or more out of steady state, ssCheck's rule); flow figures describe "
                    "the balanced model" if outside else
                    f"already at steady state by ssCheck's {SS_TOLERANCE_PERCENT:g} % rule: not rebalanced")
    return balanced, None


def _metric_rows(G: nx.MultiDiGraph, currencies: tuple[str, ...], orientation: str, imbalance_threshold: float,
                 min_coverage: float, balance: str | None = None) -> list[dict]:
    """The rows of :func:`network_metrics` as dicts (a table of many parks is built once, from all rows)."""
    rows = []
    for currency in currencies:
        model = flow_model(G, currency)
        n = len(model.nodes)
        links = int(model.adjacency.nnz)
        coverage = model.coverage
        warnings: list[str] = []
        reasons: list[str] = []
        if model.unknown:
            warnings.append(f"{model.unknown} flow(s) without a quantity left out of flow-based metrics")
        withheld = coverage.reason(min_coverage) or _degenerate(model)
        if balance and not withheld:
            model, withheld = _balanced(model, balance, warnings)
        if withheld:
            reasons.append(withheld)
            flow_metrics = dict.fromkeys(FLOW_METRICS)
        else:
            flow_metrics = _flow_metrics(model, orientation, imbalance_threshold, warnings, reasons)
        row = {
            "currency": currency, "unit": model.unit, "nodes": n, "links": links,
            "connectance": links / n**2 if n else None, "link_density": links / n if n else None,
            # with no firm there is no network whose cycles could be counted: unknown, like connectance
            "cyclicity": cyclicity(model.adjacency) if n else None, "flows": model.flows_total,
            "flows_without_quantity": model.unknown, "links_known": model.links_known, "coverage": coverage.share,
            **flow_metrics, "throughflow": orientation,
            "warning": "; ".join(warnings) or None, "reason": "; ".join(reasons) or None,
        }
        for label, notes in (("", warnings), ("not given: ", reasons)):
            if notes:
                log.warning("%s: %s%s", currency, label, "; ".join(notes))
        rows.append(row)
    return rows


def _check_filters(kinds: tuple[str, ...] | None, status: tuple[str, ...]) -> None:
    """Unknown kinds or statuses fail here, once, not in each worker (or not at all for an empty park)."""
    from .schema import FLOW_STATUSES
    from .units import KINDS

    for values, allowed, what in ((kinds or (), KINDS, "kind"), (status, FLOW_STATUSES, "status")):
        bad = [value for value in values if value not in allowed]
        if bad:
            raise InputError(f"unknown {what} {', '.join(map(repr, bad))}; expected {', '.join(allowed)}")


def metric_rows(G: nx.MultiDiGraph, currencies: tuple[str, ...] = CURRENCIES, *, orientation: str = "input",
                imbalance_threshold: float = DEFAULT_IMBALANCE_THRESHOLD,
                min_coverage: float = MIN_COVERAGE, balance: str | None = None) -> list[dict]:
    """:func:`network_metrics`'s rows as dicts, one per currency: a table of many parks is built once
    from all their rows (a small DataFrame per park costs more than its metrics)."""
    validate_graph(G, needs=("currency", "quantity"))
    _check_options(orientation, min_coverage, balance)
    return _metric_rows(G, currencies, orientation, imbalance_threshold, min_coverage, balance)


def metrics_frame(rows: list[dict], *, by_park: bool = False) -> pd.DataFrame:
    """Rows of :func:`metric_rows` as :func:`network_metrics`'s table (with ``park_id`` first when
    ``by_park``); null cells are None."""
    return _frame(rows, ("park_id", *_COLUMNS) if by_park else _COLUMNS, _NULLABLE)


def imbalanced_firms(G: nx.MultiDiGraph, currencies: tuple[str, ...] = CURRENCIES, *,
                     threshold: float = DEFAULT_IMBALANCE_THRESHOLD) -> pd.DataFrame:
    """Firms whose inflow and outflow differ by more than ``threshold`` (a share), in each currency.

    Only firms with every inflow and outflow known have a balance (:func:`node_balance`);
    ``attrs['note']`` says why the table is empty when it is.
    """
    balance = pd.concat([node_balance(G, currency) for currency in currencies], ignore_index=True)
    known = int(balance["balance_known"].sum())
    balance = balance[balance["balance_known"] & (pd.to_numeric(balance["imbalance"]).abs() > threshold)]
    if known == 0:  # no firm with every flow known on both sides: nothing can be said of balance
        balance.attrs["note"] = "unknown: no firm has every inflow and outflow with a quantity"
    elif balance.empty:
        balance.attrs["note"] = f"none of the {known} firms with a known balance"
    return balance


def metrics_by_park(
    db_path: str,
    parks: list[str] | None = None,
    *,
    currencies: tuple[str, ...] = CURRENCIES,
    orientation: str = "input",
    imbalance_threshold: float = DEFAULT_IMBALANCE_THRESHOLD,
    jobs: int | None = None,
    status: tuple[str, ...] = ("existing",),
    min_coverage: float = MIN_COVERAGE,
    year: int | None = None,
    kinds: tuple[str, ...] | None = None,
    estimates: bool = False,
    balance: str | None = None,
) -> pd.DataFrame:
    """:func:`network_metrics` for every park (or the given ones), one row per park and currency.

    Parks are independent, so the work is spread over ``jobs`` processes (default: every core; 1 runs
    in this process) by :func:`symbiosis.fanout.run_by_park` (nothing is written to the store). The
    matrices are small: run with one BLAS thread per process (``OPENBLAS_NUM_THREADS=1``, as the
    ``symbiosis`` command does), or BLAS threads of every process fight over the cores.

    Parameters
    ----------
    min_coverage : float
        Least share of a currency's flows with a quantity for a park's flow metrics to be given, per park
        and currency (see :func:`network_metrics`).
    balance : str, optional
        Balance each park's flow model first, as enaR's ``balance`` (:data:`symbiosis.ena_balance.BALANCE_METHODS`).
    year, kinds, status, estimates
        The flows of each park's graph, as :func:`symbiosis.graph.load_graph` reads them.

    Returns
    -------
    DataFrame
        ``park_id`` followed by the columns of :func:`network_metrics`, in park order; null cells are None.

    Raises
    ------
    InputError
        An unknown kind or status (checked before any worker starts).
    """
    from .fanout import run_by_park
    from .pipeline import AnalysisOptions

    _check_options(orientation, min_coverage, balance)
    _check_filters(kinds, status)
    options = AnalysisOptions(balance=balance, year=year, status=tuple(status), kinds=tuple(kinds) if kinds else None,
                              currencies=tuple(currencies), throughflow=orientation,
                              imbalance_threshold=imbalance_threshold, min_coverage=min_coverage, estimates=estimates)
    run = run_by_park(db_path, "metrics", parks, options=options, jobs=jobs, record=False)
    if len(run.failures):
        raise InputError("; ".join(f"park {park}: {error}" for park, error in run.failures.itertuples(index=False)))
    return metrics_frame(run.tables["metrics"].to_dict("records") if "metrics" in run.tables else [], by_park=True)
