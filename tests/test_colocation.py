import numpy as np
import pandas as pd
import pytest

from symbiosis.colocation import clusters, gaps, long_haul, park_centres
from symbiosis.geo import haversine_km, pairs_within


def test_spatial_index_matches_brute_force():
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(18, 50, 2000), rng.uniform(75, 130, 2000)
    i, j, distance = pairs_within(lat, lon, lat[:300], lon[:300], 80)
    brute = haversine_km(lat[:, None], lon[:, None], lat[None, :300], lon[None, :300])
    expected = set(zip(*np.nonzero(brute <= 80)))
    assert set(zip(i.tolist(), j.tolist())) == {(int(a), int(b)) for a, b in expected}
    assert np.allclose(distance, brute[i, j])


def test_long_haul_by_hand(hand):
    db, factors = hand
    haul = long_haul(db, park="hp", radius_km=50, factors=factors)
    assert haul["flow_id"].tolist() == ["pow>cem:fly_ash:2025", "pow>cem:treated_wastewater:2025"]
    water = haul.iloc[1]
    assert "beyond a water pipe's reach" in water["note"] and pd.isna(water["saved_tkm"])
    row = haul.iloc[0]
    # the cement works moves into the power station's park, whose centre is the station: 100 km -> 0 km
    assert (row["host_park"], row["distance_after_km"]) == ("hp", pytest.approx(0.0, abs=1e-6))
    assert row["saved_tkm"] == pytest.approx(100_000) and row["saved_tco2e"] == pytest.approx(10.0)
    assert row["saved_cost_cny"] == pytest.approx(50_000)


def test_cluster_of_spread_out_partners(hand):
    db, factors = hand
    groups = clusters(db, park="hp", radius_km=50, factors=factors)
    row = groups[groups["members"].str.contains("cem")].iloc[0]
    assert "pow" in row["members"] and row["spread_km"] > 50 and row["host_park"] == "hp"
    # only the fly ash travels far: 1000 t x (100 - 5) km saved once co-located
    assert row["saved_tkm"] == pytest.approx(95_000, rel=1e-6)


def test_gaps_with_typical_sectors(hand):
    db, _ = hand
    found = gaps(db, park="hp").set_index(["side", "resource_code"])
    assert ("offer without taker", "bottom_ash") in found.index
    assert ("demand without supplier", "hydrogen") in found.index
    assert ("demand without supplier", "co2") not in found.index  # the capture unit supplies it by flow
    sectors = found.loc[("offer without taker", "bottom_ash"), "sectors"]
    assert isinstance(sectors, str) and len(sectors) > 3


def test_gaps_sector_table_can_be_replaced(hand):
    db, _ = hand
    mine = pd.DataFrame([{"resource_code": "bottom_ash", "role": "taker", "sector_code": "X1",
                          "sector_name": "Road base", "source": "mine"}])
    found = gaps(db, park="hp", sectors=mine)
    assert found.loc[found["resource_code"] == "bottom_ash", "sectors"].tolist() == ["X1 Road base"]


def test_park_centres(hand):
    db, _ = hand
    centres = park_centres(db).set_index("park_id")
    assert centres.loc["al", "source"] == "given" and centres.loc["hp", "lat"] == 0.0
