"""enaR's steady-state check and balancing (symbiosis.ena_balance) and `metrics --balance`.

The methods follow Allesina & Bondavalli (2003) as enaR 3.1.0 computes them. Here they are checked on a
model balanced by hand (I, O and AVG are short enough to follow on paper) and by the relations between
the methods; the shipped published models (tests/data/ena) are at steady state and must come back
unchanged. (Agreement with enaR's own output on the 26 unbalanced models of its library, every method,
was checked outside the repository: those reference files are derived from enaR's data and code, which
this project does not redistribute.)
"""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.ena_balance import BALANCE_METHODS, balance, percent_errors, ss_check
from symbiosis.errors import InputError
from symbiosis.ingest import import_files
from symbiosis.store import open_store

# compartment 1 takes 10 in from outside, sends 8 to compartment 2 and 1 out; 2 sends 5 out
F = np.array([[0.0, 8.0], [0.0, 0.0]])
Z = np.array([10.0, 0.0])
Y = np.array([1.0, 5.0])


def test_the_two_compartment_model_balanced_by_hand():
    assert not ss_check(F, Z, Y) and percent_errors(F, Z, Y).tolist() == pytest.approx([100 / 9, 60.0])
    # I: keep the inputs and each compartment's output shares: T1 = 10, of which 8/9 to 2 and 1/9 out
    by_input = balance(F, Z, Y, "I")
    assert by_input.flows[0, 1] == pytest.approx(80 / 9) and by_input.outputs.tolist() == pytest.approx([10 / 9, 80 / 9])
    assert by_input.inputs.tolist() == pytest.approx([10.0, 0.0])
    # O: keep the outputs and each compartment's input shares: T2 = 5, all from 1; T1 = 1 + 5 = 6
    by_output = balance(F, Z, Y, "O")
    assert by_output.flows[0, 1] == pytest.approx(5.0) and by_output.inputs.tolist() == pytest.approx([6.0, 0.0])
    # AVG: the mean of the two
    average = balance(F, Z, Y, "AVG")
    assert average.flows[0, 1] == pytest.approx((80 / 9 + 5) / 2) and average.inputs[0] == pytest.approx(8.0)


@pytest.mark.parametrize("method", BALANCE_METHODS)
def test_every_method_reaches_steady_state(method):
    rng = np.random.default_rng(5)
    flows = rng.uniform(1, 20, (5, 5)) * (rng.uniform(size=(5, 5)) < 0.5)
    np.fill_diagonal(flows, 0.0)
    inputs, outputs = rng.uniform(5, 30, 5), rng.uniform(5, 30, 5)
    result = balance(flows, inputs, outputs, method)
    assert result.changed and ss_check(result.flows, result.inputs, result.outputs)
    assert percent_errors(result.flows, result.inputs, result.outputs).max() < 1e-9
    assert ((result.flows > 0) == (flows > 0)).all()  # who exchanges with whom is kept


def test_avg_and_avg2_are_the_means_enaR_defines():
    rng = np.random.default_rng(11)
    flows = rng.uniform(1, 20, (4, 4))
    np.fill_diagonal(flows, 0.0)
    inputs, outputs = rng.uniform(5, 30, 4), rng.uniform(5, 30, 4)
    run = {method: balance(flows, inputs, outputs, method) for method in BALANCE_METHODS}
    assert np.allclose(run["AVG"].flows, (run["I"].flows + run["O"].flows) / 2)
    assert np.allclose(run["AVG2"].flows, (run["IO"].flows + run["OI"].flows) / 2)


def test_an_unknown_method_is_an_input_error():
    with pytest.raises(InputError, match="AVG2"):
        balance(F, Z, Y, "median")


def _marine(tmp_path):
    path = tmp_path / "m.db"
    import_files(open_store(path), sorted(str(file) for file in Path("tests/data/ena/marine_coprophagy").glob("*.csv")))
    return path


def test_metrics_balance_leaves_a_steady_model_as_it_is_and_says_so(tmp_path):
    path = _marine(tmp_path)
    runs = [CliRunner().invoke(cli, ["metrics", "--db", str(path), "--park", "marine_coprophagy", "--format", "json",
                                     *extra]) for extra in ([], ["--balance", "avg2"])]
    plain, balanced = (json.loads(run.stdout)["metrics"] for run in runs)
    energy = {row["currency"]: row for row in balanced}["energy"]
    assert energy["TST"] == {row["currency"]: row for row in plain}["energy"]["TST"]
    assert "already at steady state" in energy["warning"]


def test_metrics_balance_rebalances_an_unbalanced_park(tmp_path):
    (tmp_path / "parks.csv").write_text("id,name\np,P\n")
    (tmp_path / "enterprises.csv").write_text("id,name,park_id\na,A,p\nb,B,p\n")
    (tmp_path / "flows.csv").write_text("source_id,target_id,resource_code,quantity,unit\n"
                                        ",a,steam,10,MWh\na,b,steam,8,MWh\na,,steam,1,MWh\nb,,steam,5,MWh\n")
    path = tmp_path / "u.db"
    import_files(open_store(path), [str(tmp_path / name) for name in ("parks.csv", "enterprises.csv", "flows.csv")])
    result = CliRunner().invoke(cli, ["metrics", "--db", str(path), "--park", "p", "--balance", "AVG", "--format",
                                      "json"])
    energy = {row["currency"]: row for row in json.loads(result.stdout)["metrics"]}["energy"]
    # TST of the AVG-balanced model: inflows 8 + (80/9 + 5)/2 (input throughflow, as enaR)
    assert energy["TST"] == pytest.approx(8.0 + (80 / 9 + 5) / 2)
    assert "balanced by enaR's AVG" in energy["warning"] and "2 of 2 firms" in energy["warning"]
    bad = CliRunner().invoke(cli, ["metrics", "--db", str(path), "--balance", "median"])
    assert bad.exit_code != 0
