"""Co-location on sparse data: unknown savings are None, never 0, and an empty list says why.

The parks are in tests/data/sparse_match (README.md there gives the hand figures); road freight
0.0001 tCO2e/tkm and 0.5 CNY/tkm (its factors.csv); 1 degree of latitude = 111.19508 km.
"""
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.colocation import DEFAULT_COLOCATED_KM, clusters, gaps, long_haul
from symbiosis.factors import load_factors
from symbiosis.ingest import import_files
from symbiosis.store import open_store

SPARSE = Path(__file__).parent / "data" / "sparse_match"
KM_PER_DEGREE = 111.19508


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    path = tmp_path_factory.mktemp("sparse_match") / "sparse.db"
    db = open_store(path)
    import_files(db, [SPARSE / f"{name}.csv" for name in ("parks", "enterprises", "flows", "offers", "demands")])
    return db, load_factors(SPARSE / "factors.csv"), path


def assert_no_nan(frame: pd.DataFrame) -> None:
    """Every cell is a value or None: never a float NaN nor pandas' NA."""
    for column in frame.columns:
        for value in frame[column].tolist():
            assert value is not pd.NA and not (isinstance(value, float) and math.isnan(value)), (column, value)


def by_flow(frame: pd.DataFrame) -> dict:
    return {row["flow_id"]: row for row in frame.to_dict("records")}


def test_long_haul_saving_unknown_without_a_quantity(sparse):
    db, factors, _ = sparse
    haul = long_haul(db, park="far", factors=factors)
    assert_no_nan(haul)
    rows = by_flow(haul)
    # h3 goes to a firm without coordinates (no distance); h5-h7 are the lake, the grid and an import
    assert set(rows) == {"h1", "h2", "h4"}
    known = rows["h1"]
    # the cement works would move into the power station's park, whose given centre is the station
    assert known["distance_km"] == pytest.approx(KM_PER_DEGREE, rel=1e-5) and known["distance_after_km"] == 0
    assert known["saved_tkm"] == pytest.approx(1000 * KM_PER_DEGREE, rel=1e-5)
    assert known["saved_tco2e"] == pytest.approx(1000 * KM_PER_DEGREE * 0.0001, rel=1e-5)
    assert known["quantity_known"] is True and known["note"] is None
    for flow in ("h2", "h4"):  # bottom ash and C&D waste: known to travel far, tonnage unknown
        row = rows[flow]
        assert row["quantity"] is None and not row["quantity_known"]
        assert row["tkm"] is None and row["saved_tkm"] is None and row["saved_tco2e"] is None
        assert row["saved_cost_cny"] is None and row["note"] == "quantity unknown"
    assert haul["flow_id"].iloc[0] == "h1"  # the known saving first, unknown ones after
    note = haul.attrs["note"]
    assert "3 of 4 exchanges between firms for park far have a distance" in note
    assert "unknown for 2 of 3 long-haul mass and CO2 exchanges" in note


def test_long_haul_never_moves_the_grid_the_lake_or_the_outside(sparse):
    db, factors, _ = sparse
    haul = long_haul(db, factors=factors)
    # the grid (a utility) is 222 km from the power station: it is the park's boundary, not a firm
    ends = set(haul["supplier_id"]) | set(haul["taker_id"])
    assert not ends & {"grid", "lake"} and not any(end.startswith("boundary:") for end in ends)


def test_long_haul_without_coordinates_is_unknown_not_none(sparse):
    db, factors, _ = sparse
    haul = long_haul(db, park="bare", factors=factors)
    assert haul.empty
    assert haul.attrs["note"] == ("unknown: none of the 2 exchanges between firms for park bare has a distance "
                                  "(given, or both ends with coordinates)")
    nothing = long_haul(db, park="unk", factors=factors)
    assert nothing.empty and "no exchanges between firms for park unk" in nothing.attrs["note"]


def test_cluster_freight_stands_on_the_known_exchanges(sparse):
    db, factors, _ = sparse
    groups = clusters(db, park="far", factors=factors)
    assert_no_nan(groups)
    assert groups["members"].tolist() == ["f1, f2"]  # f4 has no coordinates, f3 only an unknown exchange
    row = groups.iloc[0]
    # fly ash 1000 t over 111 km is known; the C&D waste back (h4) has no quantity: partial, not 0
    assert row["tkm_now"] == pytest.approx(1000 * KM_PER_DEGREE, rel=1e-5)
    assert row["tkm_colocated"] == pytest.approx(1000 * DEFAULT_COLOCATED_KM)
    assert row["saved_tkm"] == pytest.approx(1000 * (KM_PER_DEGREE - DEFAULT_COLOCATED_KM), rel=1e-5)
    assert row["freight_coverage"].startswith("1 of 2 mass and CO2 exchanges")
    note = groups.attrs["note"]
    assert "no offers or demands in the store for park far" in note
    assert "2 of 4 exchanges between firms for park far have a quantity" in note
    assert "1 of 3 firms with exchange potential have no coordinates" in note


def test_cluster_with_no_known_freight_has_none_not_zero(sparse):
    db, factors, _ = sparse
    groups = clusters(db, park="spread", factors=factors)
    assert_no_nan(groups)
    row = groups.iloc[0]
    # joined by an offer (200 t) and a demand (100 t) of fly ash: weight 100 t x the catalogue's factor
    factor = db.execute("SELECT co2_factor FROM resources WHERE code = 'fly_ash'").fetchone()[0]
    assert row["members"] == "g1, g2" and row["weight"] == pytest.approx(100 * factor)
    # the steel slag g1 -> g2 travels 111 km, tonnage unknown: the freight is unknown, not 0
    assert row["tkm_now"] is None and row["saved_tkm"] is None and row["saved_tco2e"] is None
    assert row["freight_coverage"].startswith("0 of 1")
    assert "freight now and saved unknown for 1 of 1 groups" in groups.attrs["note"]


def test_no_cluster_when_nothing_can_be_weighed_says_unknown(sparse):
    db, factors, _ = sparse
    groups = clusters(db, park="bare", factors=factors)
    assert groups.empty
    assert groups.attrs["note"].startswith("unknown: no exchange potential can be weighed for park bare")
    assert "none of the 2 exchanges between firms for park bare has a quantity" in groups.attrs["note"]
    blind = clusters(db, park="blind", factors=factors)
    assert blind.empty and "0 of 1 offers and 0 of 1 demands have a quantity and coordinates" in blind.attrs["note"]


def test_gaps_say_when_offers_or_demands_are_missing(sparse):
    db, _, _ = sparse
    for park in ("far", "bare"):
        found = gaps(db, park=park)
        assert found.empty
        assert found.attrs["note"] == (f"no offers or demands in the store for park {park}: load "
                                       "offers.csv/demands.csv to find streams without a taker")
    unknown = gaps(db, park="unk")
    assert_no_nan(unknown)
    row = unknown.iloc[0]
    assert (row["enterprise_id"], row["resource_code"], row["quantity"]) == ("m2", "bottom_ash", None)
    assert unknown.attrs["note"] == "quantity unknown for 1 of 1 gaps"
    # offer and demand of fly ash in the same park: no gap, and nothing to say about it
    assert gaps(db, park="spread").attrs.get("note") is None


@pytest.mark.parametrize("park", ["far", "spread", "unk", "bare", "blind", "talk", None])
def test_no_nan_anywhere(sparse, park):
    db, factors, _ = sparse
    for frame in (long_haul(db, park=park, factors=factors), clusters(db, park=park, factors=factors),
                  gaps(db, park=park)):
        assert_no_nan(frame)


def test_complete_data_carries_no_note(hand):
    db, factors = hand
    haul = long_haul(db, park="hp", radius_km=50, factors=factors)
    assert "note" not in haul.attrs and haul["quantity_known"].all()
    groups = clusters(db, park="hp", radius_km=50, factors=factors)
    assert "note" not in groups.attrs
    assert groups["freight_coverage"].str.match(r"(\d+) of \1 ").all()  # every exchange known


def test_colocate_json_has_null_for_unknown(sparse):
    _, _, path = sparse
    result = CliRunner().invoke(cli, ["colocate", "--db", str(path), "--park", "far", "--factors",
                                      str(SPARSE / "factors.csv"), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {row["flow_id"]: row for row in data["long_haul_exchanges"]}
    assert rows["h2"]["saved_tco2e"] is None and rows["h1"]["saved_tco2e"] > 0
