"""The scorecard of the hand-computed park in tests/data/carbon."""
import pytest

from symbiosis.errors import UnknownIdError
from symbiosis.ingest import import_files
from symbiosis.scorecard import PILLARS, scorecard
from symbiosis.store import open_store


@pytest.fixture(scope="module")
def card(hand):
    db, factors = hand
    return db, scorecard(db, "hp", factors=factors).set_index("indicator")


def test_every_pillar_is_scored(card):
    _, table = card
    assert set(table["pillar"]) == set(PILLARS)


def test_values_by_hand(card):
    _, table = card
    value = table["value"]
    assert value["firms_in_exchange"] == pytest.approx(100 * 5 / 6)  # storage firm exchanges with nobody
    assert value["waste_recovered_in_park"] == pytest.approx(80.0)  # 1000 t to cement, 250 t landfilled
    assert value["solid_waste_utilisation"] == pytest.approx(80.0)
    assert value["mass_cycling_index"] == 0.0
    # park view: scope 1 once 1000 + 50 + 800 + 100 (the capture unit's 20 t are the power station's CO2
    # vented again) - 100 stored on site + 10 scope 2 of methanol (no purchase flow: bought outside)
    assert value["total_emissions"] == 1860
    assert value["emission_intensity"] == pytest.approx(1800 / 30)  # power + cement over their output value
    # national variant: no electricity flow from outside, methanol's 10 t stay; 4,000 MWh all primary (no
    # energy flow inside the park)
    assert value["co2_per_energy"] == pytest.approx(1860 / (4000 / 8.141), rel=1e-4)
    assert value["renewable_share"] == pytest.approx(20.0)  # 800 of 4000 MWh
    assert value["water_reuse"] == pytest.approx(100 * 400 / 1400)
    # stored for good (100 on site) + avoided by fly ash (490); the 280 t utilised return to the air
    assert value["reduction_from_exchanges"] == pytest.approx(100 + 490)
    # park emissions - offsets (100 t CCER); avoided emissions are never subtracted from the inventory
    assert value["residual_emissions"] == pytest.approx(1860 - 100)
    assert value["gap_to_net_zero"] == pytest.approx(1760)


def test_targets_and_coverage(card):
    _, table = card
    assert table.loc["renewable_share", "target"] == "> 70" and table.loc["renewable_share", "passed"] is False
    assert table.loc["solid_waste_utilisation", "passed"] is True  # 80 % meets >= 80
    assert table.loc["residual_emissions", "passed"] is False
    assert table.loc["total_emissions", "coverage"] == "5 of 6 firms"
    assert table.loc["renewable_share", "coverage"] == "4 of 6 firms"
    assert table.loc["firms_in_exchange", "passed"] is None  # no target


def test_missing_data_is_missing_not_zero(tmp_path):
    db = open_store(tmp_path / "empty.db")
    (tmp_path / "parks.csv").write_text("id,name\nnp,No-data Park\n")
    (tmp_path / "enterprises.csv").write_text("id,name,park_id\nf1,Firm,np\n")
    import_files(db, [tmp_path / "parks.csv", tmp_path / "enterprises.csv"])
    table = scorecard(db, "np").set_index("indicator")
    for indicator in ("total_emissions", "renewable_share", "water_reuse", "residual_emissions", "co2_per_energy"):
        assert table.isna().loc[indicator, "value"], indicator
        assert table.loc[indicator, "passed"] is None
    with pytest.raises(UnknownIdError):
        scorecard(db, "nowhere")
