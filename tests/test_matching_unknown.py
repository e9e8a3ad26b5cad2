"""Matchmaking on sparse data: offers and demands without a quantity are still matched (two firms who
should talk), their figures are None, never 0, the plan promises only known tonnes, and an empty list
says why.

The parks are in tests/data/sparse_match (README.md there gives the hand figures).
"""
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.factors import load_factors
from symbiosis.ingest import import_files
from symbiosis.matching import (find_candidates, greedy_plan, load_prices, load_substitutes, match, plan_exchanges,
                                save_plan, score_candidates)
from symbiosis.store import open_store

SPARSE = Path(__file__).parent / "data" / "sparse_match"
HAND = Path(__file__).parent / "data" / "matching"
KM_PER_DEGREE = 111.19508
#: figures that stand on a quantity: None for a pair whose offer or demand has none
QUANTITY_FIGURES = ("quantity", "offered_used", "tkm", "transport_tco2e", "transport_cost_cny", "co2_avoided_t",
                    "value_cny", "quantity_match")


@pytest.fixture
def sparse(tmp_path):
    path = tmp_path / "sparse.db"
    db = open_store(path)
    import_files(db, [SPARSE / f"{name}.csv" for name in ("parks", "enterprises", "flows", "offers", "demands")])
    inputs = {"factors": load_factors(SPARSE / "factors.csv"),
              "substitutes": load_substitutes(SPARSE / "substitutes.csv"), "prices": load_prices(SPARSE / "prices.csv")}
    return db, inputs, path


def assert_no_nan(frame: pd.DataFrame) -> None:
    """Every cell is a value or None: never a float NaN nor pandas' NA."""
    for column in frame.columns:
        for value in frame[column].tolist():
            assert value is not pd.NA and not (isinstance(value, float) and math.isnan(value)), (column, value)


def by_pair(frame: pd.DataFrame) -> dict:
    return {(row["offer_firm"], row["demand_firm"]): row for row in frame.to_dict("records")}


def test_pairs_without_a_quantity_are_matched_with_unknown_figures(sparse):
    db, inputs, _ = sparse
    candidates = find_candidates(db, park="unk", **inputs)
    assert_no_nan(candidates)
    pairs = by_pair(candidates)
    # m5 has no coordinates; the bottom ash offer has no demand
    assert set(pairs) == {("m1", "m3"), ("m1", "m4"), ("m2", "m3"), ("m2", "m4")}
    known = pairs[("m1", "m3")]
    assert known["quantity_known"] is True and known["quantity"] == 80
    assert known["quantity_match"] == pytest.approx(0.8)  # 80 t of 100 t offered
    tkm = 80 * 0.02 * KM_PER_DEGREE
    factor = db.execute("SELECT co2_factor FROM resources WHERE code = 'fly_ash'").fetchone()[0]
    # 80 t x the fly ash factor + 80 t x 0.001 (inert landfill avoided) - tkm x 0.0001 (road freight)
    assert known["co2_avoided_t"] == pytest.approx(80 * factor + 80 * 0.001 - tkm * 0.0001, rel=1e-6)
    # 80 t not bought at 50 + 80 t not disposed of at 30 - tkm x 0.5 CNY
    assert known["value_cny"] == pytest.approx(80 * 50 + 80 * 30 - tkm * 0.5, rel=1e-6)
    for pair in (("m1", "m4"), ("m2", "m3"), ("m2", "m4")):
        row = pairs[pair]
        assert row["quantity_known"] is False
        assert all(row[figure] is None for figure in QUANTITY_FIGURES), row
        assert row["distance_km"] > 0  # the distance is known all the same
    assert pairs[("m1", "m4")]["offered_quantity"] == 100 and pairs[("m1", "m4")]["demanded_quantity"] is None
    note = candidates.attrs["note"]
    assert "1 of 3 demands for park unk are of firms without coordinates and cannot be matched" in note
    assert "quantity unknown for 3 of 4 candidates" in note


def test_unknown_criteria_count_as_neutral_in_the_ranking(sparse):
    db, inputs, _ = sparse
    scored = score_candidates(find_candidates(db, park="unk", **inputs))
    assert_no_nan(scored)
    pairs = by_pair(scored)
    # default weights 0.4 co2, 0.3 value, 0.15 distance, 0.15 quantity match; the one known pair is best on
    # the known criteria (1), the others count 0.5 there; distance 0.01..0.03 degrees -> 1..0
    expected = {("m1", "m3"): 0.4 + 0.3 + 0.15 * 0.5 + 0.15, ("m2", "m3"): 0.85 * 0.5 + 0.15,
                ("m2", "m4"): 0.85 * 0.5 + 0.15 * 0.5, ("m1", "m4"): 0.85 * 0.5}
    assert {pair: row["score"] for pair, row in pairs.items()} == pytest.approx(expected)
    assert list(zip(scored["offer_firm"], scored["demand_firm"])) == [("m1", "m3"), ("m2", "m3"), ("m2", "m4"),
                                                                       ("m1", "m4")]
    unknown = pairs[("m2", "m3")]
    assert unknown["n_co2_avoided"] is None and unknown["n_value"] is None and unknown["n_quantity_match"] is None
    assert unknown["n_distance"] == 1.0
    assert unknown["unknown_criteria"] == "co2_avoided, value, quantity_match"
    assert pairs[("m1", "m3")]["unknown_criteria"] is None
    topsis = score_candidates(find_candidates(db, park="unk", **inputs), method="topsis")
    assert_no_nan(topsis)
    assert topsis["offer_firm"].iloc[0] == "m1" and all(0 <= score <= 1 for score in topsis["score"])


def test_plan_promises_only_known_tonnes(sparse):
    db, inputs, _ = sparse
    result = match(db, park="unk", **inputs)
    assert_no_nan(result.candidates)
    assert_no_nan(result.summary)
    plan = result.plan
    assert list(zip(plan["offer_firm"], plan["demand_firm"], plan["plan_quantity"])) == [("m1", "m3", 80)]
    pairs = by_pair(result.candidates)
    for pair in (("m1", "m4"), ("m2", "m3"), ("m2", "m4")):
        assert pairs[pair]["plan_share"] is None and pairs[pair]["plan_quantity"] is None
    greedy = greedy_plan(result.candidates)
    assert [share for share in greedy if share is not None] == [1.0] and sum(share is None for share in greedy) == 3
    assert plan_exchanges(result.candidates).tolist().count(None) == 3
    summary = result.summary.iloc[0]
    assert (summary["unit"], summary["candidates"], summary["with_quantity"], summary["in_plan"]) == ("t/yr", 4, 1, 1)
    assert summary["plan_quantity"] == 80 and summary["greedy_quantity"] == 80
    assert summary["coverage"] == "1 of 4 candidates with a known quantity"
    assert any("3 of 4 candidates have an unknown quantity" in note and "left out of the plan" in note
               for note in result.notes)
    assert not any(note.startswith("quantity unknown for") for note in result.notes)  # said once, above


def test_no_known_quantity_gives_unknown_totals_not_zero(sparse):
    db, inputs, _ = sparse
    result = match(db, park="talk", **inputs)
    assert len(result.candidates) == 1 and result.plan.empty
    summary = result.summary.iloc[0]
    counts = (summary["unit"], summary["candidates"], summary["with_quantity"], summary["in_plan"])
    assert counts == ("tCO2e/yr", 1, 0, 0)
    for total in ("plan_quantity", "plan_co2_avoided_t", "plan_value_cny", "plan_score", "greedy_quantity",
                  "greedy_score"):
        assert summary[total] is None, total
    assert_no_nan(result.summary)
    assert any(note.startswith("no candidate has a known quantity") for note in result.notes)
    assert result.candidates.attrs["note"] == "; ".join(result.notes)


def test_empty_lists_say_why(sparse, tmp_path):
    db, inputs, _ = sparse
    reasons = {
        "far": "no offers or demands in the store for park far: load offers.csv/demands.csv to find synergies",
        "bare": "no offers or demands in the store for park bare: load offers.csv/demands.csv to find synergies",
        "blind": ("unknown: none of the firms with offers or demands for park blind has coordinates, so no pair can "
                  "be matched (distance unknown)"),
        "spread": "no offer meets a demand of the same resource or a substitute within 50 km for park spread",
    }
    for park, reason in reasons.items():
        result = match(db, park=park, **inputs)
        assert result.candidates.empty and result.notes == [reason], park
        assert find_candidates(db, park=park, **inputs).attrs["note"] == reason
        assert_no_nan(result.summary)
    only_offers = open_store(tmp_path / "offers.db")
    import_files(only_offers, [SPARSE / f"{name}.csv" for name in ("parks", "enterprises", "offers")])
    assert match(only_offers, **inputs).notes == ["no demands in the store (only 6 offers): load demands.csv to "
                                                  "find takers"]


def test_complete_data_carries_no_note(tmp_path):
    db = open_store(tmp_path / "hand.db")
    # the hand park's link o2 -> d1 as planned: existing, its missing quantity would leave o2's open offer unknown
    planned_link = HAND.parent / "matching_existing" / "hand_planned_flows.csv"
    import_files(db, [HAND / name for name in ("parks.csv", "enterprises.csv", "resources.csv", "offers.csv",
                                               "demands.csv")] + [planned_link])
    result = match(db, radius_km=8, factors=load_factors(HAND / "factors.csv"),
                   substitutes=load_substitutes(HAND / "substitutes.csv"), prices=load_prices(HAND / "prices.csv"))
    assert result.notes == [] and "note" not in result.candidates.attrs
    assert result.candidates["quantity_known"].all() and result.candidates["unknown_criteria"].isna().all()
    summary = result.summary.iloc[0]
    assert summary["with_quantity"] == summary["candidates"] == 4
    assert summary["coverage"] == "4 of 4 candidates with a known quantity"
    assert result.candidates["plan_share"].dtype == float  # every share a number


def test_saving_the_plan_saves_only_known_tonnes(sparse):
    db, inputs, _ = sparse
    report = save_plan(db, match(db, park="unk", **inputs))
    assert report.files[0].inserted == 1
    assert db.execute("SELECT source_id, target_id, quantity FROM flows WHERE id LIKE 'match:%'").fetchall() == [
        ("m1", "m3", 80.0)]


def test_match_command_writes_unknown_as_null(sparse, tmp_path):
    _, _, path = sparse
    common = ["match", "--db", str(path), "--park", "unk", "--substitutes", str(SPARSE / "substitutes.csv"),
              "--prices", str(SPARSE / "prices.csv"), "--factors", str(SPARSE / "factors.csv")]
    result = CliRunner().invoke(cli, common + ["--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    candidates = data["candidates"]
    unknown = [row for row in candidates if not row["quantity_known"]]
    assert len(unknown) == 3 and all(row["quantity"] is None and row["co2_avoided_t"] is None for row in unknown)
    for suffix in ("xlsx", "csv", "json"):
        written = CliRunner().invoke(cli, common + ["-o", str(tmp_path / f"lists.{suffix}"), "--quiet", "--anonymise"])
        assert written.exit_code == 0, written.output
    lists = pd.read_csv(tmp_path / "lists.csv")
    assert lists["quantity"].isna().sum() == 3  # empty cells in the file, not 0
