"""The shipped datasets: they import cleanly, every code is in the catalogue, every set is cited."""
import pandas as pd
import pytest

from symbiosis.datasets import DEMO_SETS, catalogue_path, dataset_files, datasets_dir
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.store import open_store


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    db = open_store(tmp_path_factory.mktemp("demo") / "demo.db")
    reports = {name: import_files(db, dataset_files(name)) for name in DEMO_SETS}
    return db, reports


def test_every_set_has_sources():
    for name in ("catalogue", "synthetic", *DEMO_SETS):
        sources = datasets_dir() / name / "SOURCES.md"
        assert sources.is_file() and len(sources.read_text(encoding="utf-8")) > 1000


def test_catalogue_is_complete_and_valid():
    catalogue = pd.read_csv(catalogue_path())
    assert catalogue["code"].is_unique
    assert set(catalogue["kind"]) == {"material", "waste", "energy", "water", "co2"}
    fuels = catalogue[catalogue["code"].isin(["coal", "natural_gas", "hydrogen", "steam"])]
    assert fuels[["energy_mwh_per_t", "energy_mwh_per_m3"]].notna().any(axis=1).all()


def test_demo_sets_import_without_unknown_resources(demo_store):
    _, reports = demo_store
    for name, report in reports.items():
        assert report.rows > 0
        assert [code for file in report.files for code in file.new_resources] == [], name


def test_kalundborg_has_the_documented_partners_and_exchanges(demo_store):
    db, _ = demo_store
    G = load_graph(db, park="kalundborg")
    names = " ".join(str(data.get("name")) for _, data in G.nodes(data=True)).lower()
    for partner in ("power station", "refinery", "novo nordisk", "novozymes", "gyproc", "forsyning",
                    "fish farm", "farms", "portland", "kemira"):
        assert partner in names, partner
    resources = {data["resource"] for *_, data in G.edges(data=True)}
    for exchanged in ("steam", "district_heat", "surface_water", "cooling_water", "fgd_gypsum", "fly_ash",
                      "sulphur", "biomass_sludge", "yeast_slurry", "biogas"):
        assert exchanged in resources, exchanged
    # the power station and the refinery exchange in both directions
    assert G.has_edge("asnaes_ps", "refinery") and G.has_edge("refinery", "asnaes_ps")
    located = [node for node, data in G.nodes(data=True) if data.get("lat") is not None]
    assert len(located) >= 10


def test_zero_carbon_park_is_marked_synthetic_and_complete(demo_store):
    db, _ = demo_store
    assert "SYNTHETIC" in (datasets_dir() / "zero_carbon_park" / "SOURCES.md").read_text(encoding="utf-8")
    counts = {table: db.execute(f"SELECT count(*) FROM {table} t JOIN enterprises e ON e.id = t.enterprise_id "
                                "WHERE e.park_id = 'zcp'").fetchone()[0]
              for table in ("offers", "demands", "emissions", "energy_use")}
    assert all(count > 0 for count in counts.values()), counts
    kinds = {kind for (kind,) in db.execute("SELECT DISTINCT f.kind FROM flows f JOIN enterprises e "
                                            "ON e.id = f.source_id WHERE e.park_id = 'zcp'")}
    assert kinds == {"material", "waste", "energy", "water", "co2"}
