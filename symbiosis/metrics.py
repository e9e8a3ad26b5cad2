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
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg

from .errors import InputError
from .graph import is_boundary
from .units import CANONICAL_UNIT, CURRENCY

__all__ = [
    "CURRENCIES",
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
]

log = logging.getLogger(__name__)

#: the currencies whose cycling is measured
CURRENCIES = ("mass", "energy", "water")
_UNIT = {CURRENCY[kind]: unit for kind, unit in CANONICAL_UNIT.items()}
#: firms whose inflow and outflow differ by more than this share are reported as unbalanced
DEFAULT_IMBALANCE_THRESHOLD = 0.05
#: FCI and the flow intensities need the diagonal of the integral matrix N = (I - G)^-1, which comes
#: from a dense inverse of each strongly connected component; above this many firms in one component
#: (or in the whole currency, when I - G is singular and the pseudo-inverse is needed) it is not formed
DENSE_LIMIT = 4000


class _TooLarge(Exception):
    """The model is too large for the dense integral matrix."""


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
    if currency not in set(CURRENCY.values()):
        raise InputError(f"unknown currency {currency!r}; expected one of mass, energy, water, co2")
    edges = [(u, v, data["quantity"]) for u, v, data in G.edges(data=True) if data["currency"] == currency]
    inside = sorted({node for u, v, _ in edges for node in (u, v) if not is_boundary(G, node)})
    index = {node: position for position, node in enumerate(inside)}
    n = len(inside)
    rows, cols, values, links = [], [], [], set()
    by_origin: dict[str, np.ndarray] = {}
    by_destination: dict[str, np.ndarray] = {}
    unknown = 0
    for u, v, quantity in edges:
        i, j = index.get(u), index.get(v)
        if i is not None and j is not None:
            links.add((i, j))
        if quantity is None:
            unknown += 1
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
                     by_origin, by_destination)


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
    rows, columns = np.asarray(extended.sum(axis=1)).ravel(), np.asarray(extended.sum(axis=0)).ravel()
    coo = extended.tocoo()
    keep = coo.data > 0
    i, j, t = coo.row[keep], coo.col[keep], coo.data[keep]
    p = t / total
    flow_diversity = float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no "-0" for a single flow
    mutual_information = float((p * np.log2(t * total / (rows[i] * columns[j]))).sum())
    capacity = flow_diversity * total
    ascendency_value = mutual_information * total
    ratio = ascendency_value / capacity if capacity else None
    robustness = -ratio * np.log(ratio) if ratio else None
    return {
        "TSTp": float(total), "H": flow_diversity, "AMI": mutual_information, "ascendency": ascendency_value,
        "capacity": capacity, "overhead": capacity - ascendency_value, "ascendency_ratio": ratio,
        "robustness": None if robustness is None else float(robustness),
    }


def node_balance(G: nx.MultiDiGraph, currency: str) -> pd.DataFrame:
    """Inflow, outflow and imbalance of every firm in one currency.

    Returns
    -------
    DataFrame
        ``currency, id, name, inflow, outflow, imbalance, unit``; ``inflow`` includes boundary input and
        ``outflow`` boundary output; ``imbalance = (inflow - outflow) / max(inflow, outflow)`` (0 when
        both are 0; +1 means nothing recorded leaving, -1 nothing recorded entering). Largest first.
    """
    return _balance(G, flow_model(G, currency))


def _balance(G: nx.MultiDiGraph, model: FlowModel) -> pd.DataFrame:
    inflow = throughflow(model, "input")
    outflow = throughflow(model, "output")
    larger = np.maximum(inflow, outflow)
    with np.errstate(divide="ignore", invalid="ignore"):
        imbalance = np.where(larger > 0, (inflow - outflow) / larger, 0.0)
    frame = pd.DataFrame({
        "currency": model.currency, "id": model.nodes,
        "name": [G.nodes[node].get("name") for node in model.nodes],
        "inflow": inflow, "outflow": outflow, "imbalance": imbalance, "unit": model.unit,
    })
    return frame.reindex(frame["imbalance"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def network_metrics(
    G: nx.MultiDiGraph,
    currencies: tuple[str, ...] = CURRENCIES,
    orientation: str = "input",
    imbalance_threshold: float = DEFAULT_IMBALANCE_THRESHOLD,
) -> pd.DataFrame:
    """Structure, cycling and information metrics of the network, one row per currency.

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

    Returns
    -------
    DataFrame
        One row per currency with columns:

        - ``nodes`` n, ``links`` L (firm-to-firm links, quantity known or not), ``connectance`` L/n^2,
          ``link_density`` L/n, ``cyclicity`` (spectral radius of the 0/1 adjacency matrix);
        - ``flows_without_quantity``: left out of the flow-based metrics below;
        - ``boundary_input``, ``boundary_output``; ``TST`` total system throughflow (sum of T_j);
          ``APL`` average path length TST / boundary input (Finn 1976); ``FCI`` Finn cycling index;
          ``cycled`` FCI x TST; ``BFI``, ``DFI``, ``IFI`` boundary, direct and indirect flow intensities;
        - ``TSTp``, ``H``, ``AMI``, ``ascendency``, ``capacity``, ``overhead``, ``ascendency_ratio``,
          ``robustness`` (see :func:`ascendency`);
        - ``throughflow`` (which orientation), ``unbalanced_nodes`` (beyond the threshold),
          ``max_imbalance``, ``unit`` and ``warning`` (why a figure should be read with care).

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
    """
    rows = []
    for currency in currencies:
        model = flow_model(G, currency)
        n = len(model.nodes)
        links = int(model.adjacency.nnz)
        T = throughflow(model, orientation)
        total = float(T.sum())
        boundary_input = float(model.inputs.sum())
        # what FCI and the flow intensities need of the integral matrix, formed once for both
        integral, too_large = None, None
        if n:
            try:
                integral = _integral(model, orientation)
            except _TooLarge as error:
                too_large = error.args[0]
        fci = _fci(integral) if integral else None
        balance = _balance(G, model) if n else pd.DataFrame(columns=["imbalance"])
        unbalanced = int((balance["imbalance"].abs() > imbalance_threshold).sum())
        warnings = []
        if model.unknown:
            warnings.append(f"{model.unknown} flow(s) without a quantity left out of flow-based metrics")
        if too_large:
            warnings.append(f"FCI and flow intensities need a dense inverse of {too_large:,} firms (formed up to "
                            f"{DENSE_LIMIT:,}); use per-park metrics (--by-park)")
        if unbalanced:
            warnings.append(f"{unbalanced} of {n} firms unbalanced by more than {imbalance_threshold:.0%}: "
                            "TST, APL, FCI and ascendency assume steady state")
        if fci is not None and not -1e-9 <= fci <= 1 + 1e-9:
            warnings.append(f"FCI {fci:.3g} is outside [0, 1] (recorded outflows exceed throughflow): not reported")
            fci = None
        row = {
            "currency": currency, "unit": model.unit, "nodes": n, "links": links,
            "connectance": links / n**2 if n else None, "link_density": links / n if n else None,
            "cyclicity": cyclicity(model.adjacency), "flows_without_quantity": model.unknown,
            "boundary_input": boundary_input, "boundary_output": float(model.outputs.sum()),
            "TST": total if n else None, "APL": total / boundary_input if boundary_input > 0 else None,
            "FCI": fci, "cycled": fci * total if fci is not None else None,
            **(_intensities(model, integral) if integral else {"BFI": None, "DFI": None, "IFI": None}),
            **ascendency(model),
            "throughflow": orientation, "unbalanced_nodes": unbalanced,
            "max_imbalance": float(balance["imbalance"].abs().max()) if n else None,
            "warning": "; ".join(warnings) or None,
        }
        if warnings:
            log.warning("%s: %s", currency, row["warning"])
        rows.append(row)
    return pd.DataFrame(rows)


def _park_metrics(db_path: str, parks: list[str], currencies: tuple[str, ...], orientation: str,
                  imbalance_threshold: float, status: tuple[str, ...]) -> pd.DataFrame:
    """Worker: metrics of some parks, with its own connection (SQLite connections do not cross processes)."""
    from .graph import load_graph
    from .store import open_store

    db = open_store(db_path, create=False)
    frames = []
    for park in parks:
        frame = network_metrics(load_graph(db, park=park, status=list(status)), currencies, orientation,
                                imbalance_threshold)
        frame.insert(0, "park_id", park)
        frames.append(frame)
    db.conn.close()
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def metrics_by_park(
    db_path: str,
    parks: list[str] | None = None,
    currencies: tuple[str, ...] = CURRENCIES,
    orientation: str = "input",
    imbalance_threshold: float = DEFAULT_IMBALANCE_THRESHOLD,
    jobs: int | None = None,
    status: tuple[str, ...] = ("existing",),
) -> pd.DataFrame:
    """:func:`network_metrics` for every park (or the given ones), one row per park and currency.

    Parks are independent, so the work is spread over ``jobs`` processes (default: every core; 1 runs
    in this process). Each process opens the store itself. The matrices are small: run with one BLAS
    thread per process (``OPENBLAS_NUM_THREADS=1``, as the ``symbiosis`` command does), or BLAS threads
    of every process fight over the cores.

    Returns
    -------
    DataFrame
        ``park_id`` followed by the columns of :func:`network_metrics`, in park order.
    """
    import os
    from concurrent.futures import ProcessPoolExecutor

    from .store import open_store

    if parks is None:
        db = open_store(db_path, create=False)
        parks = [row[0] for row in db.execute("SELECT id FROM parks ORDER BY id")]
        db.conn.close()
    jobs = jobs or os.cpu_count() or 1
    arguments = (currencies, orientation, imbalance_threshold, tuple(status))
    if jobs == 1 or len(parks) < 2:
        return _park_metrics(str(db_path), list(parks), *arguments)
    # Many small chunks keep both cores busy when park sizes differ a lot.
    size = max(1, len(parks) // (jobs * 8))
    chunks = [parks[start:start + size] for start in range(0, len(parks), size)]
    pool = ProcessPoolExecutor(max_workers=jobs)
    with pool:
        frames = list(pool.map(_park_metrics, [str(db_path)] * len(chunks), chunks,
                               *[[argument] * len(chunks) for argument in arguments]))
    return pd.concat(frames, ignore_index=True)
