"""Every analysis option of `metrics` reaches the per-park path (`--by-park`), where it should change it.

`metrics --by-park --kinds plasma --year 1900` once succeeded with the figures of all kinds and years:
that branch never passed --year or --kinds on.
"""
import json

import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.datasets import dataset_files
from symbiosis.ingest import import_files
from symbiosis.store import open_store


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("by_park") / "zcp.db"
    import_files(open_store(path), dataset_files("zero_carbon_park"))
    return str(path)


def _by_park(path, *options):
    result = CliRunner().invoke(cli, ["metrics", "--db", path, "--park", "zcp", "--by-park", "--jobs", "1",
                                      "--format", "json", *options])
    assert result.exit_code == 0, result.output
    return {row["currency"]: row for row in json.loads(result.stdout)}


def test_an_unknown_kind_fails_with_its_name(demo_path):
    result = CliRunner().invoke(cli, ["metrics", "--db", demo_path, "--by-park", "--kinds", "plasma"])
    assert result.exit_code != 0 and "plasma" in result.output and "Traceback" not in result.output


def test_year_reaches_the_park_graph(demo_path):
    every_year, none = _by_park(demo_path), _by_park(demo_path, "--year", "1900")
    assert every_year["mass"]["links"] > 0
    assert all(row["links"] == 0 and row["flows"] == 0 for row in none.values())  # no flow of 1900
    assert _by_park(demo_path, "--year", "2025") == every_year  # every demo flow is of 2025


def test_kinds_reach_the_park_graph(demo_path):
    water = _by_park(demo_path, "--kinds", "water")
    every_kind = _by_park(demo_path)
    assert water["mass"]["flows"] == 0 and water["energy"]["flows"] == 0
    assert water["water"] == every_kind["water"]


def test_status_throughflow_and_coverage_reach_the_park_path(demo_path):
    existing = _by_park(demo_path)
    assert _by_park(demo_path, "--status", "all")["mass"]["flows"] > existing["mass"]["flows"]
    output = _by_park(demo_path, "--throughflow", "output")
    assert output["mass"]["throughflow"] == "output" and output["mass"]["TST"] != existing["mass"]["TST"]
    # the demo's mass flows are not all quantified: at a minimum coverage of 1 their flow metrics are withheld
    strict = _by_park(demo_path, "--min-coverage", "1")
    assert existing["mass"]["FCI"] is not None and strict["mass"]["FCI"] is None and strict["mass"]["reason"]
    # no mass firm is out of balance by more than 99 % (the largest imbalance is 98.7 %)
    assert existing["mass"]["unbalanced_nodes"] > 0
    assert _by_park(demo_path, "--threshold", "0.99")["mass"]["unbalanced_nodes"] == 0
