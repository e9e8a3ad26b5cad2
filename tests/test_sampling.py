"""--samples: flow sets drawn from the data's uncertainties, and figures with intervals (issue 17, item 4)."""
import json

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.estimates import balance_system, joint_distribution
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.sampling import draw_flows, with_intervals
from symbiosis.store import open_store

DATA = "tests/data/uncertainty"


def _chain(sd_rel=0.1):
    G = nx.MultiDiGraph()
    G.add_edge("a", "b", key="ab", currency="mass", quantity=100.0, sd=100.0 * sd_rel, quality=None)
    G.add_edge("b", "c", key="bc", currency="mass", quantity=50.0, sd=None, quality="estimated")
    G.add_edge("c", "a", key="ca", currency="mass", quantity=None, sd=None, quality=None)
    G.add_edge("c", "d", key="cd", currency="mass", quantity=20.0, sd=None, quality=None)
    return G


def test_lognormal_draws_keep_the_stated_mean_and_spread_and_never_invent_a_quantity():
    draws = draw_flows(_chain(), 20_000, seed=3)
    assert [key for _, _, key in draws.keys] == ["ab", "bc"]  # ca unknown, cd has no uncertainty
    assert draws.fixed == 1 and (draws.values > 0).all()
    ab, bc = draws.values[:, 0], draws.values[:, 1]
    assert ab.mean() == pytest.approx(100.0, rel=0.01) and ab.std() == pytest.approx(10.0, rel=0.03)
    assert bc.std() == pytest.approx(50.0 * 0.30, rel=0.03)  # the 'estimated' class: 30 %


def test_the_same_seed_gives_the_same_draws_and_another_seed_others():
    first, again, other = (draw_flows(_chain(), 50, seed=seed).values for seed in (7, 7, 8))
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_intervals_bracket_the_figure_and_an_unknown_stays_unknown():
    G = _chain()

    def figures(graph):
        data = {key: value["quantity"] for _, _, key, value in graph.edges(keys=True, data=True)}
        return {"ab plus bc": data["ab"] + data["bc"], "with the unknown": None if data["ca"] is None else 1.0}

    table = with_intervals(G, draw_flows(G, 2000, seed=1), figures).set_index("figure")
    row = table.loc["ab plus bc"]
    assert row["low"] < row["median"] < row["high"] and row["low"] < 150.0 < row["high"] and row["draws"] == 2000
    assert table.loc["with the unknown", "draws"] == 0 and table.loc["with the unknown", "median"] is None
    assert G.edges["a", "b", "ab"]["quantity"] == 100.0  # the data's graph is never changed


def test_draws_from_a_reconciliation_satisfy_its_balances(tmp_path):
    db = open_store(tmp_path / "u.db")
    import_files(db, [f"{DATA}/parks.csv", f"{DATA}/enterprises.csv", f"{DATA}/flows.csv"])
    imported = load_graph(db, "u")
    joint = joint_distribution(imported, "mass")
    flows, values, _ = joint
    estimated = imported.copy()  # the reconciled values in place of the data, as --estimates reads them
    for _, _, key, data in estimated.edges(keys=True, data=True):
        if str(key) in flows:
            data["quantity"] = float(values[flows.index(str(key))])
    draws = draw_flows(estimated, 500, seed=2, reconciled={"mass": joint})
    assert draws.clipped == 0
    system = balance_system(imported, "mass")
    order = [flows.index(str(key)) for _, _, key in draws.keys]
    drawn = np.zeros((500, len(flows)))
    drawn[:, order] = draws.values
    residual = system.A @ drawn.T  # every balanced firm closes in every draw
    assert np.abs(residual).max() < 1e-6 * np.abs(values[np.isfinite(values)]).max()
    assert drawn.std(axis=0).min() > 0


def test_metrics_samples_on_the_command_line(tmp_path):
    path = tmp_path / "u.db"
    import_files(open_store(path), [f"{DATA}/parks.csv", f"{DATA}/enterprises.csv", f"{DATA}/flows.csv"])
    runs = [CliRunner().invoke(cli, ["metrics", "--db", str(path), "--park", "u", "--samples", "100", "--seed", "4",
                                     "--format", "json"]) for _ in range(2)]
    assert all(run.exit_code == 0 for run in runs), runs[0].output
    first, second = (json.loads(run.stdout) for run in runs)
    assert first == second  # deterministic for a seed
    intervals = {row["figure"]: row for row in first["intervals"]}
    tst = intervals["mass: TST"]
    assert tst["low"] <= tst["median"] <= tst["high"] and tst["draws"] == 100
    assert set(intervals) == {f"mass: {name}" for name in ("TST", "FCI", "APL", "ascendency", "robustness")}



def _json(*arguments):
    result = CliRunner().invoke(cli, [str(argument) for argument in arguments])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_carbon_samples_give_each_headline_figure_an_interval_around_its_value(demo_db):
    arguments = ("carbon", "--db", demo_db, "--park", "zcp", "--samples", "60", "--seed", "2",
                 "--default-quality", "estimated", "--format", "json")
    first, again = _json(*arguments), _json(*arguments)
    assert first == again
    intervals = {row["figure"]: row for row in first["intervals"]}
    park_view = {row["figure"]: row["value_t"] for row in first["park_view"]}
    headline = intervals["park view: park_emissions"]
    assert headline["value"] == pytest.approx(park_view["park_emissions"])  # the figure on the data, unchanged
    assert headline["low"] < headline["median"] < headline["high"] and headline["draws"] == 60
    avoided = next(row for name, row in intervals.items() if name.startswith("CO2 avoided by by-product"))
    assert avoided["low"] > 0 and "known part: 10 of 14 firms" in avoided["figure"]  # partial: said so
    plain = _json("carbon", "--db", demo_db, "--park", "zcp", "--format", "json")
    assert "intervals (median, 90 % interval)" not in plain  # asked for, or not there


def test_scorecard_samples_give_every_indicator_an_interval(demo_db):
    result = _json("scorecard", "--db", demo_db, "--park", "zcp", "--samples", "30", "--default-quality",
                   "estimated", "--format", "json")
    card = {row["indicator"]: row["value"] for row in result["scorecard"]}
    intervals = {row["figure"].split(": ")[1]: row for row in result["intervals"]}
    assert set(intervals) == set(card)
    water = intervals["water_reuse"]
    assert water["value"] == pytest.approx(card["water_reuse"]) and water["low"] <= water["high"]
