"""Carbon balance where quantities are unknown: listed, flagged and null, never a silent 0.

The parks are in tests/data/sparse (README.md there gives the hand figures); the road-freight factor is
0.0001 t/tkm (its factors.csv).
"""
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.inventory import park_inventory
from symbiosis.carbon import (absorption_nodes, allocate_co2, carbon_balance, carbon_resources, exchange_credits,
                              park_totals)
from symbiosis.factors import load_factors
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.store import open_store

SPARSE = Path(__file__).parent / "data" / "sparse"


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    path = tmp_path_factory.mktemp("sparse") / "sparse.db"
    db = open_store(path)
    import_files(db, sorted(file for file in SPARSE.glob("*.csv") if file.name != "factors.csv"))
    return db, load_factors(SPARSE / "factors.csv"), path


def assert_no_nan(frame: pd.DataFrame) -> None:
    """Every cell: unknown is None, never NaN or pandas' NA."""
    for column in frame.columns:
        for value in frame[column].tolist():
            assert value is not pd.NA and not (isinstance(value, float) and math.isnan(value)), (column, value)


def by_id(frame: pd.DataFrame, column: str = "id") -> dict:
    return {row[column]: row for row in frame.to_dict("records")}


def test_every_exchange_is_listed_with_an_unknown_saving(sparse):
    db, factors, _ = sparse
    credits = exchange_credits(db, load_graph(db, park="unk", status="existing"), factors)
    assert_no_nan(credits)
    rows = by_id(credits, "flow_id")
    # fly ash and steam have a factor but no quantity; bottom ash has neither, also from a firm of another
    # park (u10). Water reused, power sold to the grid (a utility), ash dumped at the lake (the environment)
    # and sludge from the grid company are not by-product exchanges.
    assert set(rows) == {"u1", "u2", "u3", "u10"}
    assert all(row["avoided_t"] is None and row["saving_status"] == "unknown" for row in rows.values())
    assert rows["u1"]["note"] == "no quantity" and rows["u1"]["co2_factor"] == pytest.approx(0.507)
    assert rows["u2"]["note"] == "no quantity; no CO2 factor for this resource"


@pytest.mark.parametrize("park", ["unk", "part"])
@pytest.mark.parametrize("year", [None, 2025])
def test_the_carbon_graph_lists_the_same_exchanges_as_the_full_graph(sparse, park, year):
    """The carbon command loads only carbon-carrying resources; exchanges of the others come from the store
    with the same park, year and status filters."""
    db, factors, _ = sparse
    full = exchange_credits(db, load_graph(db, park=park, year=year, status="existing"), factors)
    lean = exchange_credits(db, load_graph(db, park=park, year=year, status="existing",
                                           resources=carbon_resources(db)), factors)
    assert_no_nan(lean)
    assert lean.sort_values("flow_id").reset_index(drop=True).equals(full.sort_values("flow_id").reset_index(drop=True))
    ids = set(full["flow_id"])
    assert "q12" not in ids  # planned
    assert ("q11" in ids) == (park == "part" and year is None)  # bottom ash of 2020, no factor


def test_firm_figures_are_null_where_their_inputs_are_unknown(sparse):
    db, factors, _ = sparse
    balance = carbon_balance(db, park="unk", factors=factors)
    assert_no_nan(balance)
    rows = by_id(balance)
    assert set(rows) == {"unk-a", "unk-b", "unk-c", "unk-d"}  # the lake and the grid are not firms
    b, c, d, a = rows["unk-b"], rows["unk-c"], rows["unk-d"], rows["unk-a"]
    assert b["avoided_t"] is None and b["avoided_status"] == "unknown"
    assert b["avoided_coverage"] == "0 of 1 by-product exchanges received with a quantity and a CO2 factor"
    assert c["avoided_t"] is None and c["avoided_coverage"].startswith("0 of 3 ")
    assert d["absorbed_t"] is None and d["absorbed_status"] == "unknown"
    assert d["absorbed_coverage"] == "0 of 1 CO2 flows with a quantity"
    assert d["avoided_t"] == 0 and d["avoided_status"] == "known"  # the grid's sludge is no by-product exchange
    # no emissions reported and no CO2 sent to air: unknown, and so is its net
    assert c["emitted_t"] is None and c["emitted_status"] == "unknown" and c["net_t"] is None
    assert b["net_t"] is None and b["net_status"] == "unknown"  # emissions known, saving not
    # a firm that receives no by-product and no CO2 avoids and keeps nothing: a fact about its links
    assert a["avoided_t"] == 0 and a["avoided_status"] == "known" and a["avoided_coverage"] is None
    assert a["absorbed_t"] == 0 and a["net_t"] == 1000 and a["net_status"] == "known"


def test_partial_figures_are_the_known_part_and_say_so(sparse):
    db, factors, _ = sparse
    rows = by_id(carbon_balance(db, park="part", factors=factors))
    cement, greenhouse, power = rows["p2"], rows["p4"], rows["p1"]
    # fly ash: 1000 t x 0.507 = 507, less 1000 t x 10 km x 0.0001 = 1; bottom ash (x2) has no factor
    assert [cement["avoided_gross_t"], cement["transport_t"], cement["avoided_t"]] == pytest.approx([507, 1, 506])
    assert cement["avoided_status"] == "partial"
    assert cement["avoided_coverage"] == "1 of 3 by-product exchanges received with a quantity and a CO2 factor"
    # plasterboard waste to a firm without coordinates: 100 t x 0.0879 before transport, which is unknown
    assert greenhouse["avoided_t"] == pytest.approx(8.79) and greenhouse["transport_t"] is None
    assert greenhouse["avoided_status"] == "partial" and "1 without a distance" in greenhouse["avoided_coverage"]
    # receives 100 t CO2 and vents an unknown amount to the air: keeps at most 100, partial
    assert greenhouse["absorbed_t"] == 100 and greenhouse["absorbed_status"] == "partial"
    assert greenhouse["absorbed_coverage"] == "1 of 2 CO2 flows with a quantity"
    assert greenhouse["co2_to_air_t"] is None and greenhouse["emitted_t"] is None
    # scope 1 reported, scope 2 not: the figure is the known part
    assert power["emitted_t"] == 2000 and power["emitted_status"] == "partial" and power["net_status"] == "partial"
    credits = by_id(exchange_credits(db, load_graph(db, park="part", status="existing"), factors), "flow_id")
    assert credits["q4"]["saving_status"] == "partial" and credits["q4"]["note"].startswith("no distance")
    assert credits["q10"]["taker_id"] == "p-farms" and credits["q10"]["saving_status"] == "known"  # outside actor


def test_park_totals_are_null_when_nothing_is_known_and_partial_otherwise(sparse):
    db, factors, _ = sparse
    unknown = park_totals(carbon_balance(db, park="unk", factors=factors)).set_index("figure")
    assert_no_nan(unknown.reset_index())
    assert unknown.loc["emitted", "value_t"] == 1500 and unknown.loc["emitted", "status"] == "partial"
    assert unknown.loc["emitted", "coverage"] == "2 of 4 firms with emissions (reported, or CO2 flows to air)"
    for figure in ("absorbed", "avoided", "net"):
        assert unknown.loc[figure, "value_t"] is None and unknown.loc[figure, "status"] == "unknown", figure
    partial = park_totals(carbon_balance(db, park="part", factors=factors)).set_index("figure")
    assert partial.loc["absorbed", "value_t"] == 100 and partial.loc["absorbed", "status"] == "partial"
    assert partial.loc["avoided", "value_t"] == pytest.approx(506 + 8.79)
    assert partial.loc["net", "value_t"] == pytest.approx(2000 - 100 - 506 - 8.79)
    assert partial.loc["net", "status"] == "partial"


def test_allocation_without_known_supply_or_demand_is_unknown_and_says_why(sparse):
    db, factors, _ = sparse
    allocation = allocate_co2(db, park="unk", factors=factors)
    summary = allocation.summary.iloc[0]
    assert_no_nan(allocation.summary)
    assert allocation.pairs.empty
    # unk-d receives CO2 of unknown quantity: what it utilises is unknown; its use (no sector: unclassified)
    # stores none, so the park's stored CO2 is a known 0
    assert summary["stored_existing_t"] == 0
    for column in ("offered_t", "demand_open_t", "allocated_t", "utilised_existing_t", "absorbable_share"):
        assert summary[column] is None, column
    assert summary["emitted_t"] == 1500 and summary["emitted_status"] == "partial"
    assert any("CO2 offers without a quantity" in note for note in allocation.notes)
    assert any("no CO2 offer has a quantity" in note for note in allocation.notes)
    assert any("no CO2 demand has a known quantity" in note for note in allocation.notes)


def test_absorption_nodes_carry_the_known_part(sparse):
    db, factors, _ = sparse
    balance = carbon_balance(db, park="part", factors=factors)
    nodes = absorption_nodes(balance, load_graph(db, park="part", status="existing"), db)
    assert_no_nan(nodes)
    rows = by_id(nodes)
    # nothing stored; p4 utilises the known 100 t of its CO2 (what it sends to the air has no quantity), then
    # p2 avoids 506 t
    assert list(nodes["id"]) == ["p4", "p2"]
    assert rows["p4"]["utilised_t"] == 100 and rows["p4"]["absorbed_status"] == "partial"
    assert rows["p4"]["avoided_t"] == pytest.approx(8.79) and rows["p2"]["avoided_t"] == pytest.approx(506)
    assert rows["p2"]["stored_share_of_park_emissions"] == 0
    unknown = absorption_nodes(carbon_balance(db, park="unk", factors=factors),
                               load_graph(db, park="unk", status="existing"), db)
    assert unknown.empty and "unknown for 3 of 4 firms" in unknown.attrs["note"]  # b, c and d


def test_floating_point_noise_is_zero(sparse):
    db, factors, _ = sparse
    balance = carbon_balance(db, park="tiny", factors=factors)
    rows = by_id(balance)
    assert rows["t1"]["absorbed_t"] == pytest.approx(0.3) and rows["t1"]["net_t"] == 0.3
    # 0.3 emitted, 0.1 + 0.2 utilised: with every captured tonne removed, 0.3 - 0.30000000000000004 is
    # noise, not -5.6e-17
    view = park_inventory(balance[balance["id"] == "t1"], factors=factors).set_index("figure")
    assert view.at["park_emissions_all_capture_removed", "value_t"] == 0.0


def test_a_complete_park_keeps_its_figures_and_is_known(hand):
    db, factors = hand
    G = load_graph(db, park="hp", status="existing")
    credits = exchange_credits(db, G, factors)
    balance = carbon_balance(db, park="hp", factors=factors, G=G, credits=credits)
    for frame in (credits, balance, park_totals(balance), allocate_co2(db, park="hp", factors=factors).summary):
        assert_no_nan(frame)
    assert list(credits["saving_status"]) == ["known"] and credits.iloc[0]["avoided_t"] == pytest.approx(490)
    rows = by_id(balance)
    assert rows["cem"]["avoided_t"] == pytest.approx(490) and rows["cem"]["avoided_status"] == "known"
    assert {row["absorbed_status"] for row in rows.values()} == {"known"}
    # only the greenhouse lacks an emissions figure (it reports none and vents nothing)
    assert {firm for firm, row in rows.items() if row["net_status"] != "known"} == {"gh"}
    totals = park_totals(balance).set_index("figure")
    assert totals.loc["absorbed", "value_t"] == 380 and totals.loc["absorbed", "status"] == "known"
    assert totals.loc["emitted", "value_t"] == 1980 and totals.loc["emitted", "coverage"].startswith("5 of 6 ")


def test_the_carbon_command_lists_unknown_exchanges(sparse):
    _, _, path = sparse
    result = CliRunner().invoke(cli, ["carbon", "--db", str(path), "--park", "unk", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.splitlines()[0])
    exchanges = data["by_product_exchanges"]
    assert sorted(row["flow_id"] for row in exchanges) == ["u1", "u10", "u2", "u3"]
    assert all(row["avoided_t"] is None and row["saving_status"] == "unknown" for row in exchanges)
    balance = {row["id"]: row for row in data["balance_firm_view"]}
    assert balance["unk-b"]["avoided_t"] is None and balance["unk-d"]["absorbed_t"] is None
