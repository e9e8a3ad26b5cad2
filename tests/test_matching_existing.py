"""Matchmaking against what already exists: existing flows are deducted from offers and demands, heat,
water and CO2 stay within their pipe reach, and CO2 is credited by how long its taker keeps it.

The parks are in tests/data/matching_existing (1 degree of latitude = 111.19508 km); the demo park is
built by ``symbiosis demo``. Factors are the shipped ones (pipe reach: heat 10 km, water 15 km, CO2 20 km).
"""
import json
import math

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.factors import load_factors
from symbiosis.ingest import import_files
from symbiosis.matching import find_candidates, match
from symbiosis.units import HEAT
from symbiosis.store import open_store

from .conftest import DATA

EXISTING = DATA / "matching_existing"
HAND = DATA / "matching"
KM_PER_DEGREE = 111.19508
#: same-resource pairs only, so that every candidate below is one worked out by hand
NO_SUBSTITUTES = pd.DataFrame(columns=["offered", "demanded", "ratio"])


@pytest.fixture(scope="module")
def parks(tmp_path_factory):
    db = open_store(tmp_path_factory.mktemp("existing") / "existing.db")
    import_files(db, [EXISTING / f"{name}.csv" for name in ("parks", "enterprises", "offers", "demands", "flows")])
    return db


@pytest.fixture(scope="module")
def factors():
    return load_factors()


def by_pair(frame: pd.DataFrame) -> dict:
    return {(row["offer_firm"], row["demand_firm"]): row for row in frame.to_dict("records")}


def test_existing_flows_are_deducted_before_matching(parks, factors):
    candidates = find_candidates(parks, park="met", factors=factors, substitutes=NO_SUBSTITUTES)
    pairs = by_pair(candidates)
    # fly ash, all of 2025:
    # - giver offers 100 t and gives 30 t to t2 and 10 t to ext (role external): 40 t given, 60 t open.
    #   Its 50 t to landfill (boundary) and 5 t into the lake (role environment) are still thrown away and
    #   stay on offer; 5 t planned to t1 is not exchanged yet; 1000 t to t2 in 2024 is another year's.
    # - g2 offers 20 t and gives all 20 t to t1 (a firm): nothing open, no candidate.
    # - t1 needs 20 t and gets 20 t from g2: met in full, no candidate.
    # - t2 needs 100 t and gets 30 t from giver and 25 t imported (boundary imports count): 45 t open.
    # So giver -> t2 is the only fly-ash candidate: min(60, 45) = 45 t.
    ash = pairs[("giver", "t2")]
    assert (ash["offered_quantity"], ash["offer_existing"]) == (60, 40)
    assert (ash["demanded_quantity"], ash["demand_existing"]) == (45, 55)
    assert ash["quantity"] == 45 and ash["quantity_known"] is True and ash["exists"] is True
    # bottom ash: s2 offers 30 t (s-a) and 50 t (s-b) and gives 40 t to t2. The two offers share the 40 t
    # in id order: s-a 30 t (nothing left), s-b 10 t (40 t open); never 40 t off each. t2 needs 100 t and
    # gets those 40 t: 60 t open. Candidate s-b -> t2: min(40, 60) = 40 t.
    slag = candidates[candidates["offered"] == "bottom_ash"]
    assert slag["offer_id"].tolist() == ["s-b"]
    row = slag.iloc[0]
    assert (row["offered_quantity"], row["offer_existing"], row["demanded_quantity"], row["demand_existing"],
            row["quantity"]) == (40, 10, 60, 40, 40)
    assert set(pairs) == {("giver", "t2"), ("s2", "t2")}  # nothing for g2, s-a (given) or t1 (met)
    assert "g2-ash" not in set(candidates["offer_id"]) and "t1-ash" not in set(candidates["demand_id"])
    assert ("1 demand already met in full by existing flows and 2 offers already given in full for park met: "
            "not matched") in candidates.attrs["note"]


def test_an_existing_flow_without_quantity_leaves_the_open_amount_unknown(parks, factors):
    candidates = find_candidates(parks, park="unk", factors=factors, substitutes=NO_SUBSTITUTES)
    pairs = by_pair(candidates)
    # ug offers 100 t of fly ash and gives some to uo, amount not recorded: what is open is unknown
    to_ut = pairs[("ug", "ut")]
    assert to_ut["offered_quantity"] is None and to_ut["offer_existing"] is None
    assert to_ut["demanded_quantity"] == 50 and to_ut["demand_existing"] == 0
    assert to_ut["quantity"] is None and to_ut["quantity_known"] is False and to_ut["co2_avoided_t"] is None
    # ut2 needs 40 t and imports some, amount not recorded: its open demand is unknown too
    to_ut2 = pairs[("ug", "ut2")]
    assert to_ut2["demanded_quantity"] is None and to_ut2["demand_existing"] is None and to_ut2["quantity"] is None
    # ug2 offers 10 t of bottom ash and gives 10 t to uo plus an unknown amount to uo2: the known flow alone
    # uses all 10 t, so nothing is open (a known 0, not unknown) and there is no candidate
    assert set(pairs) == {("ug", "ut"), ("ug", "ut2")}
    note = candidates.attrs["note"]
    assert "1 offer already given in full for park unk: not matched" in note
    assert "1 offer and 1 demand for park unk have an existing flow without a quantity" in note
    result = match(parks, park="unk", factors=factors, substitutes=NO_SUBSTITUTES)
    assert result.plan.empty and all(value is None for value in result.candidates["plan_share"])


def test_the_hand_park_link_without_quantity_makes_its_offer_unknown(tmp_path):
    """The hand park of tests/test_matching.py as shipped: o2 already sends fly ash to d1 by an existing
    flow without a quantity, so o2's open offer is unknown (test_matching.py loads that link as planned)."""
    db = open_store(tmp_path / "hand.db")
    import_files(db, [HAND / f"{name}.csv" for name in ("parks", "enterprises", "resources", "offers", "demands",
                                                        "flows")])
    candidates = find_candidates(db, radius_km=8, factors=load_factors(HAND / "factors.csv"))
    o2 = candidates[candidates["offer_firm"] == "o2"]
    assert len(o2) == 1 and o2.iloc[0]["offered_quantity"] is None and o2.iloc[0]["quantity"] is None
    assert o2.iloc[0]["exists"]
    o1 = candidates[candidates["offer_firm"] == "o1"]
    assert (o1["offered_quantity"] == 100).all() and (o1["offer_existing"] == 0).all()


def test_heat_water_and_co2_stay_within_their_pipe_reach(parks, factors):
    assert (factors["pipe_max_km_energy"], factors["pipe_max_km_water"], factors["pipe_max_km_co2"]) == (10, 15, 20)
    candidates = find_candidates(parks, park="reach", factors=factors, substitutes=NO_SUBSTITUTES)
    takers = {(row["offered"], row["demand_firm"]): row["distance_km"] for row in candidates.to_dict("records")}
    # north of the giver by 0.15 / 0.2 degrees (CO2), 0.08 / 0.1 (steam), 0.13 / 0.14 (water): the near
    # taker is within reach, the far one beyond it, though both are well within the 50 km radius
    assert set(takers) == {("co2", "c_near"), ("steam", "h_near"), ("treated_wastewater", "w_near")}
    assert takers[("co2", "c_near")] == pytest.approx(0.15 * KM_PER_DEGREE, rel=1e-5)  # 16.7 km <= 20
    assert takers[("steam", "h_near")] == pytest.approx(0.08 * KM_PER_DEGREE, rel=1e-5)  # 8.9 km <= 10
    assert takers[("treated_wastewater", "w_near")] == pytest.approx(0.13 * KM_PER_DEGREE, rel=1e-5)  # 14.5 <= 15
    # 0.2, 0.1, 0.14 degrees (22.2, 11.1, 15.6 km) are beyond; with a longer CO2 pipe the far taker appears
    longer = dict(factors, pipe_max_km_co2=25.0)
    wider = find_candidates(parks, park="reach", factors=longer, substitutes=NO_SUBSTITUTES)
    assert {"c_near", "c_far"} <= set(wider["demand_firm"])


def test_co2_is_credited_by_its_permanence_at_the_taker(parks, factors):
    candidates = find_candidates(parks, park="fate", factors=factors, substitutes=NO_SUBSTITUTES)
    pairs = by_pair(candidates)
    truck = factors["co2_truck_tco2e_per_tkm"]
    # 100 t each, trucked 0.01 / 0.02 / 0.03 degrees; a carbonation plant (NACE C23.69, mineralisation)
    # keeps it for good: 1 t avoided per t, minus the truck; a methanol plant (C20.14) releases it when the
    # methanol burns: 0 t, minus the truck; a bank has no CO2 use: counted as released, 0 t
    for taker, degrees, credit, fate in (("f_min", 0.01, 100.0, "stored"), ("f_meoh", 0.02, 0.0, "utilised"),
                                         ("f_bank", 0.03, 0.0, "utilised")):
        row = pairs[("f0", taker)]
        tkm = 100 * degrees * KM_PER_DEGREE
        assert row["quantity"] == 100 and row["co2_fate"] == fate, taker
        assert row["tkm"] == pytest.approx(tkm, rel=1e-5)
        assert row["co2_avoided_t"] == pytest.approx(credit - tkm * truck, rel=1e-6), taker
    assert pairs[("f0", "f_meoh")]["co2_avoided_t"] < 0  # the truck's emissions and nothing stored
    assert "1 CO2 candidate goes to firms whose sector has no use in the CO2-use table" in candidates.attrs["note"]
    ash = find_candidates(parks, park="met", factors=factors, substitutes=NO_SUBSTITUTES)
    assert ash["co2_fate"].isna().all()  # None for resources other than CO2


# --------------------------------------------------------------------------------------------------
# the shipped demo park (the demo_db fixture is in conftest.py)


#: CO2 users of the demo park whose demand existing flows from zcp-ccus (and zcp-dryice) already meet
MET_CO2_TAKERS = ("zcp-urea", "zcp-meoh", "zcp-gh", "zcp-dryice", "zcp-algae", "zcp-bev")


def test_demo_park_proposes_only_what_is_open_and_within_reach(demo_db):
    result = CliRunner().invoke(cli, ["match", "--db", str(demo_db), "--park", "zcp", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    candidates = pd.DataFrame(data["candidates"])
    co2 = candidates[candidates["offered"] == "co2"]
    assert not co2.empty and not set(co2["demand_firm"]) & set(MET_CO2_TAKERS)
    assert set(co2["co2_fate"]) == {"stored"}  # what is left is zcp-carb's open 4,000 t (mineralisation)
    factors = load_factors()
    db = open_store(demo_db, create=False)
    kinds = dict(db.execute("SELECT code, kind FROM resources"))
    for row in candidates.to_dict("records"):
        kind = kinds[row["offered"]]
        reach = (factors["pipe_max_km_co2"] if kind == "co2" else factors["pipe_max_km_water"] if kind == "water"
                 else factors["pipe_max_km_energy"] if row["offered"] in HEAT else math.inf)
        assert row["distance_km"] <= reach, row
    # the cement kiln's CO2 is stated gross (645,582 t): the 140,000 t it sends to capture are deducted
    kiln = candidates[candidates["offer_id"] == "zcp-o08"]
    assert not kiln.empty and (kiln["offered_quantity"] == 505_582).all() and (kiln["offer_existing"] == 140_000).all()


def test_demo_plan_is_numbered_from_one(demo_db):
    result = match(open_store(demo_db, create=False), park="zcp")
    plan = result.plan
    assert not plan.empty and plan.columns[0] == "plan_row"
    assert plan["plan_row"].tolist() == list(range(1, len(plan) + 1))
    ranks = plan["candidate_rank"].tolist()
    assert ranks == sorted(ranks) and set(ranks) <= set(result.candidates["rank"])
    planned = result.candidates[pd.to_numeric(result.candidates["plan_share"]) > 0]
    assert ranks == planned["rank"].tolist()  # the candidates' own rank, gaps where one is left out
    assert any("already met in full by existing flows" in note for note in result.notes)

