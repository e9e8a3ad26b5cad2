"""Scorecard coverage counts what each indicator used; below the minimum the verdict is "insufficient data".

The parks are in tests/data/sparse (README.md there gives the hand figures).
"""
import math
from pathlib import Path

import pandas as pd
import pytest

from symbiosis.coverage import INSUFFICIENT
from symbiosis.errors import InputError
from symbiosis.factors import load_factors
from symbiosis.ingest import import_files
from symbiosis.scorecard import scorecard
from symbiosis.store import open_store

SPARSE = Path(__file__).parent / "data" / "sparse"


@pytest.fixture(scope="module")
def sparse():
    db = open_store(":memory:")
    import_files(db, sorted(file for file in SPARSE.glob("*.csv") if file.name != "factors.csv"))
    return db, load_factors(SPARSE / "factors.csv")


def card(db, park, factors, **options) -> pd.DataFrame:
    table = scorecard(db, park, factors=factors, **options)
    for column in table.columns:  # no NaN anywhere: unknown is None
        for value in table[column].tolist():
            assert value is not pd.NA and not (isinstance(value, float) and math.isnan(value)), (column, value)
    return table.set_index("indicator")


def test_nothing_known_is_null_with_a_reason(sparse):
    db, factors = sparse
    table = card(db, "unk", factors)
    reduction = table.loc["reduction_from_exchanges"]
    assert reduction["value"] is None and reduction["passed"] == INSUFFICIENT  # exchanges exist, no quantity
    assert reduction["coverage"] == ("0 of 4 by-product exchanges with a quantity and a CO2 factor; "
                                     "0 of 1 CO2 flows with a quantity")
    assert reduction["reason"].startswith("nothing known: 0 of 4 by-product exchanges")
    water = table.loc["water_reuse"]  # reuse and the lake intake both without a quantity
    assert water["value"] is None and water["passed"] == INSUFFICIENT
    assert water["coverage"] == "0 of 2 water flows with a quantity" and "no quantity" in water["reason"]
    for indicator in ("waste_recovered_in_park", "solid_waste_utilisation"):
        assert table.loc[indicator, "value"] is None and table.loc[indicator, "passed"] == INSUFFICIENT
        assert table.loc[indicator, "coverage"] == "0 of 3 waste flows with a quantity"
    # no firm reports energy use: nothing to weigh at all, so no verdict, and the reason says why
    energy = table.loc["renewable_share"]
    assert energy["value"] is None and energy["passed"] is None and energy["reason"] == "nothing known: 0 of 4 firms"


def test_a_figure_on_too_little_is_insufficient_data_not_pass_or_fail(sparse):
    db, factors = sparse
    table = card(db, "unk", factors)
    # 1,500 t reported by 2 of 4 firms: the residual is at least that (the others can only add), on half
    # of the firms; with a minimum above half there is no verdict
    residual = table.loc["residual_emissions"]
    assert residual["value"] == 1500 and residual["coverage"] == "2 of 4 firms"
    strict = card(db, "unk", factors, min_coverage=0.7).loc["residual_emissions"]
    assert strict["value"] == 1500 and strict["passed"] == INSUFFICIENT and strict["reason"]
    assert table.loc["total_emissions", "coverage"] == "2 of 4 firms"
    # the lake (environment) and the grid (utility) are the park's boundary, not its firms
    assert table.loc["firms_in_exchange", "coverage"] == "4 of 4 firms"
    assert table.loc["firms_in_exchange", "value"] == 100


def test_partial_park_counts_what_each_indicator_used(sparse):
    db, factors = sparse
    table = card(db, "part", factors)
    water = table.loc["water_reuse"]
    # 400 m3 reused over 400 + 1,000 m3 drawn from the lake (a boundary node declared in the park); the
    # cooling water p2 -> p3 has no quantity: 2 of 3 flows, above the minimum, so a verdict is given
    assert water["value"] == pytest.approx(100 * 400 / 1400) and water["passed"] is False
    assert water["coverage"] == "2 of 3 water flows with a quantity" and water["reason"] is None
    reduction = table.loc["reduction_from_exchanges"]
    # nothing stored (p4's use is unclassified: utilised), 506 + 8.79 avoided
    assert reduction["value"] == pytest.approx(506 + 8.79)
    assert reduction["coverage"] == ("2 of 5 by-product exchanges with a quantity and a CO2 factor; "
                                     "1 of 2 CO2 flows with a quantity")
    assert reduction["reason"].startswith("coverage 40% below the minimum 50%")
    assert reduction["passed"] == INSUFFICIENT  # no target, but too little to stand on says so too
    emissions = table.loc["total_emissions"]
    assert emissions["coverage"] == "1 of 4 firms" and emissions["value"] == 2000
    assert emissions["passed"] == INSUFFICIENT and "scope not reported" in emissions["note"]
    assert table.loc["residual_emissions", "passed"] == INSUFFICIENT
    assert table.loc["residual_emissions", "value"] == pytest.approx(2000)  # no offsets; avoided never subtracted


def test_min_coverage_decides_the_verdict(sparse):
    db, factors = sparse
    strict = card(db, "part", factors, min_coverage=0.7)
    assert strict.loc["water_reuse", "passed"] == INSUFFICIENT  # 2 of 3 is below 70 %
    assert strict.loc["water_reuse", "value"] == pytest.approx(100 * 400 / 1400)  # the value stays
    lenient = card(db, "part", factors, min_coverage=0.0)
    assert lenient.loc["residual_emissions", "passed"] is False  # 2,000 t > 0 once any coverage will do
    # with nothing known there is still no verdict, whatever the minimum
    assert card(db, "unk", factors, min_coverage=0.0).loc["reduction_from_exchanges", "passed"] == INSUFFICIENT
    for bad in (-0.1, 1.5):
        with pytest.raises(InputError):
            scorecard(db, "part", factors=factors, min_coverage=bad)


def test_complete_park_keeps_its_verdicts_and_full_coverage(hand):
    db, factors = hand
    table = card(db, "hp", factors)
    assert table.loc["reduction_from_exchanges", "value"] == pytest.approx(100 + 490)
    assert table.loc["reduction_from_exchanges", "coverage"] == (
        "1 of 1 by-product exchanges with a quantity and a CO2 factor; 4 of 4 CO2 flows with a quantity")
    assert table.loc["water_reuse", "coverage"] == "2 of 2 water flows with a quantity"
    assert table.loc["residual_emissions", "passed"] is False and table.loc["solid_waste_utilisation", "passed"] is True
    # every figure with a value stands on enough, except the intensity: only power and cement give an output value
    given = table[table["value"].notna()]
    assert list(given[given["reason"].notna()].index) == ["emission_intensity"]
    assert table.loc["emission_intensity", "coverage"] == "2 of 6 firms"
    assert table.loc["emission_intensity", "passed"] == INSUFFICIENT
    assert table.loc["total_emissions", "passed"] is None  # 5 of 6 firms: enough, and no target
