"""Linear data reconciliation (symbiosis.reconcile): a published example, known true flows, edge cases."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from symbiosis.errors import InputError, SymbiosisError
from symbiosis.reconcile import CLOSURE_RTOL, FIXED, MEASURED, UNKNOWN, ReconciliationError, reconcile

DATA = Path(__file__).parent / "data" / "reconcile"
#: two-sided 90 % interval of a normal estimate
Z90 = float(stats.norm.ppf(0.95))


@pytest.fixture(scope="module")
def cooling() -> dict:
    return json.loads((DATA / "cooling_water.json").read_text())


def _printed(value: float, digits: int) -> float:
    """A value as the source prints it (rounded half away from zero to ``digits`` decimals)."""
    return math.copysign(math.floor(abs(value) * 10 ** digits + 0.5) / 10 ** digits, value)


def _cooling_run(cooling: dict, measured_streams: list[str]):
    measured = np.array([stream in measured_streams for stream in cooling["streams"]])
    return reconcile(np.array(cooling["balances"], float), cooling["raw_measurement"], cooling["standard_deviation"],
                     measured, flow_ids=cooling["streams"], process_ids=cooling["processes"])


# ----------------------------------------------------------------------------------------------------
# 1. the published example


def test_cooling_water_all_measured_matches_the_printed_tables(cooling):
    printed = cooling["all_measured"]
    result = _cooling_run(cooling, cooling["streams"])
    assert [_printed(v, 2) for v in result.value] == printed["reconciled_flow"]
    assert [_printed(v, 2) for v in result.adjustment] == printed["adjustment"]
    assert [_printed(v, 2) for v in result.sd] == printed["reconciled_standard_deviation"]
    # the deviation table repeats the reconciled flows, with one misprint (README): stream 6 is 103.24
    repeated = printed["reconciled_flow_in_deviation_table"]
    assert [_printed(v, 2) for v in result.value[:5]] == repeated[:5]
    assert repeated[5] == 103.34 and _printed(result.value[5], 2) == 103.24 == _printed(result.value[0], 2)
    assert all(result.redundant) and all(result.determinable) and set(result.kind) == {MEASURED}


def test_cooling_water_covariance_matches_the_printed_matrix(cooling):
    upper = cooling["all_measured"]["covariance_upper_triangle"]
    covariance = _cooling_run(cooling, cooling["streams"]).covariance
    np.testing.assert_allclose(covariance, covariance.T, atol=1e-12)
    misprinted = {(2, 5), (4, 5)}  # printed 0.0693 for 0.0639 (README): cov(3,6) = cov(3,1) since F6 = F1
    for i in range(6):
        for j in range(i, 6):
            expected = upper[0][i] if (i, j) in misprinted else upper[i][j]
            assert _printed(covariance[i, j], 4) == expected, (i, j)
    assert upper[2][5] == upper[4][5] == 0.0693 and upper[0][2] == upper[0][4] == 0.0639


def test_cooling_water_tests_agree_with_hand_derivations(cooling):
    # The source prints no test statistic: these are closed-form derivations, independent of the module.
    A = np.array(cooling["balances"], float)
    y = np.array(cooling["raw_measurement"])
    variance = np.diag(np.array(cooling["standard_deviation"]) ** 2)
    result = _cooling_run(cooling, cooling["streams"])
    residual = A @ y
    balance_covariance = A @ variance @ A.T
    assert result.global_test.statistic == pytest.approx(residual @ np.linalg.solve(balance_covariance, residual))
    assert result.global_test.degrees_of_freedom == 4 and result.global_test.passed is False
    adjustment_covariance = variance @ A.T @ np.linalg.solve(balance_covariance, A @ variance)
    expected = np.abs(variance @ A.T @ np.linalg.solve(balance_covariance, residual)) / np.sqrt(
        np.diag(adjustment_covariance))
    np.testing.assert_allclose(result.test_statistic, expected, rtol=1e-10)
    # Sidak: beta = 1 - 0.95^(1/6), z = Phi^-1(1 - beta/2)
    assert result.critical_value == pytest.approx(stats.norm.isf((1 - 0.95 ** (1 / 6)) / 2))
    assert result.suspects == ["2"]  # stream 2 has the largest normalised adjustment (12.15)

    # flows 1, 3, 5 measured: one reduced balance F3 = F5, so the test is |35.0 - 38.6| / sqrt(s3^2 + s5^2)
    partial = _cooling_run(cooling, ["1", "3", "5"])
    by_hand = abs(35.0 - 38.6) / math.hypot(0.46, 0.45)
    assert partial.test_statistic[2] == pytest.approx(by_hand) == partial.test_statistic[4]
    assert partial.global_test.statistic == pytest.approx(by_hand ** 2)
    assert partial.global_test.degrees_of_freedom == 1
    assert partial.suspects == ["3", "5"]  # one balance cannot tell which of the two is wrong


def test_cooling_water_with_unmeasured_flows_matches_chapter_3(cooling):
    printed = cooling["flows_1_3_5_measured"]
    result = _cooling_run(cooling, printed["measured"])
    assert [_printed(v, 2) for v in result.value] == printed["estimated_flow"]
    streams = cooling["streams"]
    assert [s for s, r in zip(streams, result.redundant) if r] == printed["redundant"]
    non_redundant = [s for s, k, r in zip(streams, result.kind, result.redundant) if k == MEASURED and not r]
    assert non_redundant == printed["non_redundant"]
    assert [s for s, k, d in zip(streams, result.kind, result.determinable) if k == UNKNOWN and d] == printed["observable"]
    # a non-redundant measurement is not adjusted and has no test
    assert result.value[0] == 110.5 and result.adjustment[0] == 0 and math.isnan(result.test_statistic[0])
    assert result.sd[0] == 0.82 and "not redundant" in result.reason[0]


def test_cooling_water_with_two_measurements_matches_the_observability_analysis(cooling):
    printed = cooling["flows_1_6_measured"]
    result = _cooling_run(cooling, printed["measured"])
    streams = cooling["streams"]
    assert [s for s, r in zip(streams, result.redundant) if r] == printed["redundant"]
    unobservable = [s for s, d in zip(streams, result.determinable) if not d]
    assert unobservable == printed["unobservable"]
    for index, stream in enumerate(streams):
        if stream in unobservable:
            assert math.isnan(result.value[index]) and math.isnan(result.sd[index])
            assert result.reason[index].startswith("not determined by the balances: it appears only in Plant")
    # the global balance F1 = F6 reconciles the two measurements
    assert result.value[0] == pytest.approx(result.value[5])
    frame = result.to_frame()
    assert frame.loc[frame.flow_id == "2", "value"].item() is None  # unknown is None, never NaN


# ----------------------------------------------------------------------------------------------------
# 2. networks with known true flows


def _network(rng: np.random.Generator, processes: int, internal: int, hidden: float, fixed: float,
             general: bool = False):
    """A random park: ``internal`` flows between processes and one boundary flow per process; true flows
    uniform in [10, 100]; b = A @ x_true (stock changes). With ``general``, coefficients are not +-1."""
    source = rng.integers(0, processes, internal)
    target = (source + rng.integers(1, processes, internal)) % processes  # never a self-loop
    flows = internal + processes
    A = np.zeros((processes, flows))
    coefficient = rng.uniform(0.5, 2.0, internal) if general else np.ones(internal)
    A[target, np.arange(internal)] += coefficient
    A[source, np.arange(internal)] -= 1.0
    A[np.arange(processes), internal + np.arange(processes)] = rng.choice([-1.0, 1.0], processes)
    truth = rng.uniform(10, 100, flows)
    b = A @ truth
    draw = rng.random(flows)
    measured = draw >= hidden
    sd = np.where(draw < hidden + fixed, 0.0, 0.05 * truth + 1.0)
    return A, b, truth, measured, sd


def _observed(rng: np.random.Generator, truth: np.ndarray, sd: np.ndarray, measured: np.ndarray) -> np.ndarray:
    noise = rng.normal(size=truth.shape) * sd
    return np.where(measured, truth + noise, np.nan)


def _in_row_space(matrix: np.ndarray, column: int) -> bool:
    """Whether unit vector ``e_column`` lies in the row space of ``matrix`` (independent of the module)."""
    unit = np.zeros((1, matrix.shape[1]))
    unit[0, column] = 1.0
    return np.linalg.matrix_rank(np.vstack([matrix, unit])) == np.linalg.matrix_rank(matrix)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), processes=st.integers(2, 10), internal=st.integers(1, 25),
       hidden=st.floats(0.0, 0.8), fixed=st.floats(0.0, 0.3), general=st.booleans())
def test_known_network_balances_close_and_classification_is_right(seed, processes, internal, hidden, fixed, general):
    rng = np.random.default_rng(seed)
    A, b, truth, measured, sd = _network(rng, processes, internal, hidden, fixed, general)
    values = _observed(rng, truth, sd, measured)
    result = reconcile(A, values, sd, measured, b=b)
    uncertain = measured & (sd > 0)
    unknown = ~measured
    known = result.determinable
    # undeterminable unknowns stay unknown, with a reason
    assert np.isnan(result.value[~known]).all() and np.isnan(result.sd[~known]).all()
    assert all(result.reason[j] and result.reason[j].startswith("not determined") for j in np.flatnonzero(~known))
    # determinable exactly when e_j is in the row space of the unknowns' columns (rank test, numpy)
    unknown_part = A[:, unknown]
    for position, flow in enumerate(np.flatnonzero(unknown)):
        assert known[flow] == _in_row_space(unknown_part, position)
    # redundant exactly when the measurement could be computed from the others (treat it as unknown)
    for flow in np.flatnonzero(uncertain):
        with_it = A[:, unknown | (np.arange(len(truth)) == flow)]
        assert result.redundant[flow] == _in_row_space(with_it, int(np.sum((unknown)[:flow]))), flow
    # degrees of freedom = rank of the reduced balances = rank([A_y A_z]) - rank(A_z)
    dof = np.linalg.matrix_rank(A[:, uncertain | unknown]) - (np.linalg.matrix_rank(unknown_part) if unknown.any() else 0)
    assert result.global_test.degrees_of_freedom == dof
    # every balance closes: rows without undeterminable flows exactly, the others with some values of those
    estimate = np.where(known, result.value, 0.0)
    scale = np.abs(b) + np.abs(A) @ np.abs(estimate)
    residual = b - A @ estimate
    free = A[:, ~known]
    if free.shape[1]:
        completion = np.linalg.lstsq(free, residual, rcond=None)[0]
        residual = residual - free @ completion
    assert np.all(np.abs(residual) <= CLOSURE_RTOL * scale + 1e-12)
    # measured flows: never less certain than measured; fixed flows unchanged; non-redundant ones unchanged
    assert np.all(result.sd[uncertain] <= sd[uncertain] * (1 + 1e-12))
    assert np.array_equal(result.value[measured & (sd == 0)], values[measured & (sd == 0)])
    plain = uncertain & ~result.redundant
    assert np.array_equal(result.value[plain], values[plain]) and np.isnan(result.test_statistic[plain]).all()
    assert np.all(np.isfinite(result.sd[known])) and np.all(result.sd[known] >= 0)


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _binomial_band(trials: int, rate: float, risk: float = 1e-6) -> tuple[float, float]:
    """Counts between which a Binomial(trials, rate) falls except with probability ``risk`` (two-sided)."""
    return stats.binom.ppf(risk / 2, trials, rate), stats.binom.isf(risk / 2, trials, rate)


def test_known_networks_cover_the_truth_at_the_stated_rate():
    """Over many networks, 90 % intervals hold the true flow about 90 % of the time.

    One determinable unknown (with sd > 0) and one redundant measurement per network, chosen from the
    structure before the noise is drawn, so the trials are independent Bernoulli(0.9) (the errors are
    normal and the estimate linear, so the rate is exact). The band is the Binomial(N, 0.9) central
    interval of probability 1 - 1e-6: with N = 1000, [851, 943], a failure rate of one run in a
    million for a correct implementation. The global test must pass at 95 % the same way.
    """
    rng = np.random.default_rng(20240617)
    hits = {"unknown": [0, 0], "measured": [0, 0], "global": [0, 0]}
    while hits["unknown"][1] < 1000:
        A, b, truth, measured, sd = _network(rng, int(rng.integers(3, 12)), int(rng.integers(4, 30)), 0.35, 0.05)
        structure = reconcile(A, np.where(measured, truth, np.nan), sd, measured, b=b)  # noise-free: structure only
        unknown = _first((np.array(structure.kind) == UNKNOWN) & structure.determinable & (structure.sd > 0))
        redundant = _first(structure.redundant)
        values = _observed(rng, truth, sd, measured)
        result = reconcile(A, values, sd, measured, b=b)
        if unknown is not None:
            hits["unknown"][0] += abs(result.value[unknown] - truth[unknown]) <= Z90 * result.sd[unknown]
            hits["unknown"][1] += 1
        if redundant is not None:
            hits["measured"][0] += abs(result.value[redundant] - truth[redundant]) <= Z90 * result.sd[redundant]
            hits["measured"][1] += 1
        if result.global_test.degrees_of_freedom:
            hits["global"][0] += bool(result.global_test.passed)
            hits["global"][1] += 1
    for what, rate in (("unknown", 0.9), ("measured", 0.9), ("global", 0.95)):
        inside, trials = hits[what]
        low, high = _binomial_band(trials, rate)
        print(f"{what}: {inside}/{trials} = {inside / trials:.3f} inside, band [{low:.0f}, {high:.0f}]")
        assert low <= inside <= high, (what, inside, trials, low, high)


def test_a_planted_gross_error_is_flagged():
    """A 10-sd error on a well-checked measurement is the suspect.

    Chosen from the structure: a redundant measurement with leverage rho = Var(adjustment)/sd^2 >= 0.5
    and adjustments correlated at most 0.7 with any other's. Its test statistic is then about
    N(10 sqrt(rho), 1) >= N(7.07, 1), another's at most 0.7 of that mean: it exceeds the critical value
    (< 3.5 here) except with probability ~2e-4 and stays the largest except with ~0.3 % per rival.
    Over 300 networks the counts must reach the 1e-6 lower quantiles of Binomial(300, 0.995) for
    exceeding (290) and Binomial(300, 0.95) for suspect (264): conservative rates, so a correct
    implementation fails less than once in a million runs.
    """
    rng = np.random.default_rng(7)
    exceeded = suspected = trials = 0
    while trials < 300:
        A, b, truth, measured, sd = _network(rng, int(rng.integers(4, 12)), int(rng.integers(8, 30)), 0.2, 0.0)
        structure = reconcile(A, np.where(measured, truth, np.nan), sd, measured, b=b)
        covariance = structure.covariance
        chosen = None
        for flow in np.flatnonzero(structure.redundant):
            others = np.flatnonzero(structure.redundant & (np.arange(len(truth)) != flow))
            adjustment_cov = np.diag(sd ** 2) - np.nan_to_num(covariance)  # Cov(y - yhat) on measured flows
            rho = adjustment_cov[flow, flow] / sd[flow] ** 2
            correlation = np.abs(adjustment_cov[flow, others]) / np.sqrt(adjustment_cov[flow, flow] * np.diag(
                adjustment_cov)[others])
            if rho >= 0.5 and (len(others) == 0 or correlation.max() <= 0.7):
                chosen = flow
                break
        if chosen is None:
            continue
        values = _observed(rng, truth, sd, measured)
        values[chosen] += 10 * sd[chosen]
        result = reconcile(A, values, sd, measured, b=b)
        trials += 1
        exceeded += bool(result.exceeds_critical[chosen])
        suspected += bool(result.suspect[chosen])
        assert result.critical_value is not None and result.critical_value < 3.5
    print(f"planted 10-sd errors: exceeded {exceeded}/{trials}, suspect {suspected}/{trials}")
    assert exceeded >= stats.binom.ppf(1e-6, trials, 0.995), exceeded
    assert suspected >= stats.binom.ppf(1e-6, trials, 0.95), suspected


def test_covariance_is_the_propagated_one():
    """The covariance equals M V M.T with M = d xhat / d y, found by perturbing each measurement (the
    estimate is linear in the measurements, so differences are exact up to rounding)."""
    rng = np.random.default_rng(3)
    A, b, truth, measured, sd = _network(rng, 8, 20, 0.35, 0.1, general=True)
    values = _observed(rng, truth, sd, measured)
    result = reconcile(A, values, sd, measured, b=b)
    uncertain = np.flatnonzero(measured & (sd > 0))
    known = result.determinable
    jacobian = np.zeros((len(truth), len(uncertain)))
    for column, flow in enumerate(uncertain):
        moved = values.copy()
        moved[flow] += sd[flow]
        jacobian[:, column] = (reconcile(A, moved, sd, measured, b=b).value - result.value) / sd[flow]
    expected = jacobian[known] @ np.diag(sd[uncertain] ** 2) @ jacobian[known].T
    np.testing.assert_allclose(result.covariance[np.ix_(known, known)], expected, atol=1e-8 * expected.max())
    np.testing.assert_allclose(result.sd[known], np.sqrt(np.diag(expected)), rtol=1e-6, atol=1e-9)
    assert np.isnan(result.covariance[~known]).all()


def test_sparse_and_dense_inputs_agree():
    rng = np.random.default_rng(11)
    A, b, truth, measured, sd = _network(rng, 9, 25, 0.3, 0.05, general=True)
    values = _observed(rng, truth, sd, measured)
    dense = reconcile(A, values, sd, measured, b=b)
    sparse = reconcile(scipy.sparse.csr_matrix(A), values, sd, measured, b=b)
    np.testing.assert_array_equal(np.isnan(dense.value), np.isnan(sparse.value))
    np.testing.assert_allclose(dense.value, sparse.value, rtol=1e-12, equal_nan=True)


# ----------------------------------------------------------------------------------------------------
# 3. edge cases


def test_no_measured_flows():
    # a fixed import of 100 flows through two processes as unknown flows: all determined exactly
    result = reconcile([[1, -1, 0], [0, 1, -1]], [100.0, np.nan, np.nan], [0.0, np.nan, np.nan],
                       [True, False, False])
    assert list(result.kind) == [FIXED, UNKNOWN, UNKNOWN]
    np.testing.assert_allclose(result.value, [100, 100, 100])
    np.testing.assert_allclose(result.sd, [0, 0, 0])
    assert result.global_test.degrees_of_freedom == 0 and result.global_test.passed is None
    assert result.global_test.p_value is None and result.critical_value is None
    assert result.reason[0].startswith("fixed")
    # nothing measured at all: the stock change alone determines the flow
    alone = reconcile([[1.0]], [np.nan], [np.nan], [False], b=[5.0])
    assert alone.value[0] == 5 and alone.sd[0] == 0


def test_no_unknowns():
    result = reconcile([[1, -1]], [100.0, 90.0], [1.0, 2.0], [True, True], flow_ids=["in", "out"])
    np.testing.assert_allclose(result.value, [98.0, 98.0])
    np.testing.assert_allclose(result.sd, [math.sqrt(0.8), math.sqrt(0.8)])
    assert result.global_test.statistic == pytest.approx(100 / 5) and result.global_test.degrees_of_freedom == 1
    assert result.test_statistic[0] == pytest.approx(10 / math.sqrt(5))


def test_all_fixed_consistent_and_inconsistent():
    ok = reconcile([[1, -1, -1]], [100.0, 60.0, 40.0], [0.0, 0.0, 0.0], [True, True, True])
    np.testing.assert_allclose(ok.value, [100, 60, 40])
    assert ok.global_test.degrees_of_freedom == 0
    with pytest.raises(ReconciliationError, match="balances of kiln cannot close") as error:
        reconcile([[1, -1, -1, 0, 0], [0, 0, 0, 1, -1]], [100.0, 60.0, 30.0, 5.0, 5.0], [0.0] * 5, [True] * 5,
                  process_ids=["kiln", "mill"])
    assert isinstance(error.value, SymbiosisError) and isinstance(error.value, ValueError)
    assert error.value.processes == ("kiln",) and "largest imbalance 10" in str(error.value)
    # an unknown flow can take it up: the same balance, without a fixed waste flow, closes
    with pytest.raises(ReconciliationError, match="kiln, mill"):
        reconcile([[1, -1, -1], [0, 1, -1]], [100.0, 60.0, 30.0], [0.0] * 3, [True] * 3, process_ids=["kiln", "mill"])
    # fixed values that an unknown flow can absorb are fine; a measured one absorbs them too
    absorbed = reconcile([[1, -1, -1]], [100.0, 60.0, np.nan], [0.0, 0.0, np.nan], [True, True, False])
    assert absorbed.value[2] == pytest.approx(40.0) and absorbed.sd[2] == 0


def test_an_unknown_alone_in_a_process_is_determined():
    result = reconcile([[1, -1, -1]], [100.0, 70.0, np.nan], [2.0, 1.0, np.nan], [True, True, False],
                       flow_ids=["feed", "product", "waste"])
    assert result.determinable[2] and result.value[2] == pytest.approx(30.0)
    assert result.sd[2] == pytest.approx(math.sqrt(5.0))  # var(feed) + var(product)
    assert not result.redundant.any() and result.global_test.degrees_of_freedom == 0
    assert result.covariance[2, 0] == pytest.approx(4.0) and result.covariance[2, 1] == pytest.approx(-1.0)


def test_two_unknowns_in_parallel_are_not_determined():
    result = reconcile([[1, -1, -1, 0], [0, 1, 1, -1]], [100.0, np.nan, np.nan, 98.0], [1.0, np.nan, np.nan, 1.0],
                       [True, False, False, True], flow_ids=["in", "a", "b", "out"], process_ids=["split", "join"])
    assert not result.determinable[1] and not result.determinable[2]
    assert np.isnan(result.value[[1, 2]]).all()
    assert result.reason[1] == ("not determined by the balances: it appears only in split, join, together with the "
                                "unknown flows b that these balances cannot separate from it")
    # but the measurements around them are still checked against each other: in = out
    assert result.redundant[0] and result.redundant[3] and result.value[0] == pytest.approx(99.0)


def test_a_measurement_in_no_balance_is_not_redundant():
    result = reconcile([[1, -1, 0]], [100.0, 96.0, 42.0], [1.0, 1.0, 3.0], [True, True, True],
                       flow_ids=["in", "out", "elsewhere"])
    assert not result.redundant[2] and result.value[2] == 42.0 and result.sd[2] == 3.0
    assert result.adjustment[2] == 0 and math.isnan(result.test_statistic[2])
    assert result.reason[2] == "not redundant: it appears in no balance"
    unknown_nowhere = reconcile([[1, -1, 0]], [100.0, 96.0, np.nan], [1.0, 1.0, np.nan], [True, True, False])
    assert unknown_nowhere.reason[2] == "not determined by the balances: it appears in no balance"


def test_frame_and_attrs():
    result = reconcile([[1, -1, -1]], [100.0, 60.0, np.nan], [1.0, 1.0, np.nan], [True, True, False],
                       flow_ids=["a", "b", "c"])
    frame = result.to_frame()
    assert list(frame.columns) == ["flow_id", "kind", "measured", "measured_sd", "value", "sd", "determinable",
                                   "redundant", "adjustment", "test_statistic", "exceeds_critical", "suspect",
                                   "reason"]
    assert frame["measured"].tolist() == [100.0, 60.0, None]
    assert frame.attrs["degrees_of_freedom"] == 0 and frame.attrs["passed"] is None
    assert "Mah & Tamhane" in frame.attrs["test"]


@pytest.mark.parametrize("kwargs, message", [
    ({"values": [np.nan, 1.0]}, "no finite value"),
    ({"sds": [-1.0, 1.0]}, "standard deviation"),
    ({"values": [1.0]}, "one entry per flow"),
    ({"b": [1.0, 2.0]}, "one entry per process"),
    ({"flow_ids": ["x", "x"]}, "not unique"),
    ({"significance": 1.5}, "significance"),
])
def test_bad_inputs_are_refused(kwargs, message):
    arguments = {"A": [[1, -1]], "values": [1.0, 1.0], "sds": [1.0, 1.0], "measured": [True, True]}
    arguments.update(kwargs)
    with pytest.raises(InputError, match=message):
        reconcile(**arguments)
