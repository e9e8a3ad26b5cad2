"""The synthetic national dataset: deterministic per seed, in the tool's format, imports cleanly."""
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from symbiosis.generate import SECTORS, generate_dataset
from symbiosis.ingest import import_files
from symbiosis.store import open_store

SMALL = dict(parks=20, firms=2000, flows=8000)
FILES = ("parks.csv", "enterprises.csv", "flows.csv", "offers.csv", "demands.csv", "emissions.csv",
         "energy_use.csv", "offsets.csv")


def _hashes(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.csv"))}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("national")
    counts = generate_dataset(folder, seed=7, **SMALL)
    return folder, counts


def test_writes_every_table_with_the_requested_sizes(small):
    folder, counts = small
    assert set(counts) == set(FILES)
    assert {path.name for path in folder.glob("*.csv")} == set(FILES)
    assert (counts["parks.csv"], counts["enterprises.csv"], counts["flows.csv"]) == (20, 2000, 8000)
    assert counts["emissions.csv"] == 2000
    assert 0.2 * 2000 < counts["offers.csv"] <= 0.3 * 2000
    assert 0.2 * 2000 < counts["demands.csv"] <= 0.3 * 2000
    assert 2000 <= counts["energy_use.csv"] <= 3 * 2000
    for name, rows in counts.items():
        assert len(pd.read_csv(folder / name)) == rows, name


def test_same_seed_same_bytes_other_seed_other_data(small, tmp_path):
    folder, _ = small
    generate_dataset(tmp_path / "again", seed=7, **SMALL)
    generate_dataset(tmp_path / "other", seed=8, **SMALL)
    assert _hashes(tmp_path / "again") == _hashes(folder)
    other = _hashes(tmp_path / "other")
    assert all(other[name] != digest for name, digest in _hashes(folder).items())


def test_imports_cleanly_with_the_expected_counts(small, tmp_path):
    folder, counts = small
    db = open_store(tmp_path / "g.db")
    report = import_files(db, [folder / name for name in FILES])
    assert all(not file.new_resources for file in report.files)  # every code is in the catalogue
    for name in FILES:
        table = name.removesuffix(".csv")
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == counts[name], table
    unknown = db.execute("SELECT count(*) FROM flows WHERE quantity IS NULL").fetchone()[0]
    assert 0.03 * 8000 < unknown < 0.07 * 8000
    converted = db.execute("SELECT count(*) FROM flows WHERE unit_orig IS NOT NULL AND unit_orig != unit "
                           "AND NOT (unit = 'tCO2e/yr' AND unit_orig = 't/yr')").fetchone()[0]
    assert converted > 0.01 * 8000  # a few % in kt/yr, GJ/yr, fuel tonnes ... exercise conversion


def test_flows_stay_mostly_inside_one_park(small):
    folder, _ = small
    flows = pd.read_csv(folder / "flows.csv", dtype=str, keep_default_na=False)
    firms = pd.read_csv(folder / "enterprises.csv", dtype=str, keep_default_na=False)
    park = dict(zip(firms["id"], firms["park_id"]))
    assert flows["id"].is_unique
    between_firms = flows[(flows["source_id"] != "") & (flows["target_id"] != "")]
    same_park = between_firms["source_id"].map(park) == between_firms["target_id"].map(park)
    assert same_park.mean() >= 0.85
    assert (~same_park).sum() > 0.03 * len(flows)  # some go to a nearby park
    assert (between_firms["source_id"] != between_firms["target_id"]).all()
    boundary = flows[(flows["source_id"] == "") | (flows["target_id"] == "")]
    assert 0.03 * len(flows) < len(boundary) < 0.1 * len(flows)
    assert set(boundary.loc[boundary["source_id"] == "", "boundary"]) == {"import"}
    assert set(boundary.loc[boundary["target_id"] == "", "boundary"]) <= {"export", "landfill", "air", "sewer", "grid"}
    assert (between_firms["boundary"] == "").all()


def test_plausible_geography_and_sectors(small):
    folder, _ = small
    parks = pd.read_csv(folder / "parks.csv")
    firms = pd.read_csv(folder / "enterprises.csv")
    assert parks["lat"].between(18, 48).all() and parks["lon"].between(75, 134).all()
    assert (parks["country"] == "CN").all()
    assert parks["name"].iloc[0].startswith("Park 0001 (") and parks["name"].iloc[0].endswith(f"{parks['region'].iloc[0]})")
    assert set(firms["sector_code"]) <= {sector.code for sector in SECTORS}
    assert firms["park_id"].isin(parks["id"]).all()
    located = firms.merge(parks, left_on="park_id", right_on="id", suffixes=("", "_park"))
    offset_km = ((located["lat"] - located["lat_park"]).abs() * 111).max()
    assert offset_km < 30
    assert (firms["output_value_mcny"] > 0).all() and (firms["employees"] > 0).all()
