import json

import pandas as pd
import pytest

from symbiosis.errors import InputError, ValidationError
from symbiosis.ingest import import_files, parse_column_map, table_for_file
from symbiosis.store import table_counts

from .conftest import BAD, GOOD, dump


def test_good_park_lands_with_canonical_units_and_originals(filled):
    flows = {row["id"]: row for row in filled["flows"].rows}
    assert len(flows) == 9
    steam = flows["power>refinery:steam:2002"]
    # 140 kt of steam at the catalogue's energy content (MWh per tonne of steam)
    energy_per_t = filled["resources"].get("steam")["energy_mwh_per_t"]
    assert steam["quantity"] == pytest.approx(140_000 * energy_per_t)
    assert (steam["unit"], steam["quantity_orig"], steam["unit_orig"], steam["kind"]) == ("MWh/yr", 140, "kt/yr", "energy")
    assert flows["power>board:fgd_gypsum:2002"]["quantity"] == 200_000
    assert flows["refinery>power:cooling_water:2002"]["quantity"] == 700_000
    assert flows["refinery>power:refinery_gas:2002"]["quantity"] == pytest.approx(100_000)  # 360 TJ
    assert flows["power>:co2:2002"]["quantity"] == 3.1e6
    assert flows["power>:co2:2002"]["unit"] == "tCO2e/yr"
    assert flows["power>farm:district_heat:2002"]["status"] == "planned"


def test_empty_quantity_is_unknown_not_zero(filled):
    fly_ash = filled["flows"].get("power>cement:fly_ash:2002")
    assert fly_ash["quantity"] is None and fly_ash["unit"] == "t/yr"


def test_boundary_flows_keep_an_empty_end(filled):
    coal = filled["flows"].get(">power:coal:2002")
    assert coal["source_id"] is None and coal["boundary"] == "import"
    assert coal["quantity"] == pytest.approx(1.2e6 * filled["resources"].get("coal")["energy_mwh_per_t"])


def test_extra_columns_are_kept(filled):
    power = filled["enterprises"].get("power")
    assert json.loads(power["extra"]) == {"website": "https://example.org/power"}


def test_every_row_records_its_import(filled):
    rows = filled.execute("SELECT f.id, i.file FROM flows f JOIN imports i ON i.id = f.import_id").fetchall()
    assert len(rows) == 9 and all(file.endswith("flows.csv") for _, file in rows)


def test_reimport_changes_nothing(filled):
    before = dump(filled)
    report = import_files(filled, sorted(GOOD.glob("*.csv")))
    assert all(file.inserted == 0 and file.updated == 0 for file in report.files)
    assert sum(file.unchanged for file in report.files) == 16
    assert dump(filled) == before


def test_changed_value_is_updated_in_place(filled, tmp_path):
    changed = tmp_path / "flows.csv"
    changed.write_text("source_id,target_id,resource_code,quantity,unit,year\npower,board,fgd_gypsum,180,kt,2002\n")
    report = import_files(filled, [changed])
    assert (report.files[0].inserted, report.files[0].updated) == (0, 1)
    row = filled["flows"].get("power>board:fgd_gypsum:2002")
    assert row["quantity"] == 180_000
    assert row["status"] == "existing"  # columns the file does not carry are left as they were
    assert table_counts(filled)["flows"] == 9


def test_partial_file_does_not_erase_other_columns(filled, tmp_path):
    names_only = tmp_path / "enterprises.csv"
    names_only.write_text("id,name\npower,Harbour Power Station (renamed)\n")
    import_files(filled, [names_only])
    power = filled["enterprises"].get("power")
    assert power["name"] == "Harbour Power Station (renamed)"
    assert (power["park_id"], power["lat"], power["employees"]) == ("p1", 55.66, 300)


def test_dry_run_counts_but_writes_nothing(store):
    before = dump(store)
    report = import_files(store, sorted(GOOD.glob("*.csv")), dry_run=True)
    assert report.dry_run and report.rows == 16
    assert [file.inserted for file in report.files] == [2, 5, 9]
    assert dump(store) == before


@pytest.mark.parametrize(
    ("file", "table", "expected"),
    [
        ("enterprises_dup_unknown.csv", "enterprises", [(3, "id", "duplicate id"), (4, "park_id", "unknown park id"),
                                                        (5, "id", "required"), (6, "name", "required")]),
        ("flows_bad_values.csv", "flows", [(2, "quantity", "negative"), (3, "quantity", "expected a number"),
                                           (4, "target_id", "unknown enterprise"), (5, "unit", "cannot measure"),
                                           (6, "unit", "cannot measure"), (7, "resource_code", "not in the catalogue"),
                                          (7, "source_id", "source_id or a target_id"),
                                           (8, "unit", "unknown unit"), (9, "unit", "unit is required")]),
        ("flows_duplicate_key.csv", "flows", [(3, None, "duplicate (source_id, target_id, resource_code, year)")]),
        ("parks_bad_coords.csv", "parks", [(2, "lat", "out of range"), (3, "lon", "give both"), (4, "lon", "below -180")]),
        ("parks_header_only.csv", "parks", [(None, None, "no data rows")]),
        ("parks_empty.csv", "parks", [(None, None, "empty")]),
        ("parks_latin1.csv", "parks", [(2, None, "not valid UTF-8")]),
        ("parks_not_list.json", "parks", [(None, None, "list of records")]),
        ("parks_fake.xlsx", "parks", [(None, None, "not a readable XLSX")]),
        ("enterprises_missing_name.csv", "enterprises", [(1, "name", "required column missing")]),
        ("flows_wrong_kind.csv", "flows", [(2, "kind", "cannot measure"), (3, "kind", "expected one of")]),
        ("parks_ragged.csv", "parks", [(3, None, "has 4 fields where the header has 3")]),
        ("flows_missing_columns.csv", "flows", [(2, "unit", "unit is required")]),
        ("enterprises_duplicate_header.csv", "enterprises", [(1, "name", "duplicate header (also column #2)")]),
        ("flows_bad_year.csv", "flows", [(2, "year", "expected a year"), (3, "year", "between 1800 and 2200")]),
    ],
)
def test_each_malformed_file_is_rejected_with_row_column_and_store_unchanged(filled, file, table, expected):
    before = dump(filled)
    with pytest.raises(ValidationError) as caught:
        import_files(filled, [BAD / file], table=table)
    found = [(problem.row, problem.column, problem.expected) for problem in caught.value.problems]
    assert len(found) == len(expected), found
    for (row, column, text), (got_row, got_column, got_text) in zip(expected, found):
        assert (got_row, got_column) == (row, column)
        assert text in got_text
    assert all(problem.file.endswith(file) for problem in caught.value.problems)
    assert file in str(caught.value)
    assert dump(filled) == before


def test_one_bad_file_rolls_back_the_whole_import(store):
    before = dump(store)
    with pytest.raises(ValidationError):
        import_files(store, [GOOD / "parks.csv", GOOD / "enterprises.csv", BAD / "flows_bad_values.csv"])
    assert dump(store) == before


def test_problems_in_several_files_are_reported_together(store):
    with pytest.raises(ValidationError) as caught:
        import_files(store, [BAD / "parks_bad_coords.csv", BAD / "parks_latin1.csv"], table="parks")
    assert {problem.file.rsplit("/", 1)[-1] for problem in caught.value.problems} == {
        "parks_bad_coords.csv", "parks_latin1.csv"}


def test_listing_is_capped_but_total_is_counted(store, tmp_path):
    many = tmp_path / "parks.csv"
    many.write_text("id,name,lat,lon\n" + "".join(f"p{i},P,{100 + i},0\n" for i in range(300)))
    with pytest.raises(ValidationError) as caught:
        import_files(store, [many])
    message = str(caught.value)
    assert message.startswith("300 problem(s) found")
    assert "... and 250 more" in message
    assert message.count("\n") == 51


def test_encoding_option_reads_latin1(store):
    import_files(store, [BAD / "parks_latin1.csv"], table="parks", encoding="latin-1")
    assert store["parks"].get("p20")["name"] == "København Park"


def test_column_map_renames_survey_headers(store, tmp_path):
    survey = tmp_path / "survey.csv"
    survey.write_text("Park code,Park name,Breite,Länge\nsv,Survey Park,31.2,121.5\n")
    import_files(store, [survey], table="parks",
                 column_map=parse_column_map(["Park code=id", "Park name=name", "Breite=lat", "Länge=lon"]))
    assert store["parks"].get("sv")["lat"] == 31.2


def test_new_resource_is_added_and_reported(filled, tmp_path):
    flows = tmp_path / "flows.csv"
    flows.write_text("source_id,target_id,resource_code,quantity,unit\n"
                     "refinery,board,spent_clay,12,kt/yr\n"
                     "refinery,board,mystery_heat,3,GWh\n"
                     "refinery,board,sorbent,4,t,\n".replace(",\n", "\n"))
    text = flows.read_text().replace("sorbent,4,t", "sorbent,4,t")
    flows.write_text(text)
    with_kind = tmp_path / "more_flows.csv"
    with_kind.write_text("source_id,target_id,resource_code,kind,quantity,unit\nrefinery,cement,spent_catalyst_x,waste,1,kt\n")
    with pytest.raises(ValidationError) as caught:  # names that match nothing are never added silently
        import_files(filled, [flows, with_kind], table="flows")
    assert {problem.value for problem in caught.value.problems} == {"spent_clay", "mystery_heat", "sorbent",
                                                                    "spent_catalyst_x"}
    assert "catalyst_waste" in str(caught.value)  # the closest catalogue entry is suggested
    report = import_files(filled, [flows, with_kind], table="flows", new_resources=True)
    added = [code for file in report.files for code in file.new_resources]
    assert added == ["spent_clay", "mystery_heat", "sorbent", "spent_catalyst_x"]
    kinds = {code: filled["resources"].get(code)["kind"] for code in added}
    assert kinds == {"spent_clay": "material", "mystery_heat": "energy", "sorbent": "material",
                     "spent_catalyst_x": "waste"}
    assert filled["resources"].get("mystery_heat")["canonical_unit"] == "MWh/yr"
    assert any("check for typos" in note for file in report.files for note in file.notes)


def test_xlsx_workbook_with_a_sheet_per_table(store, tmp_path):
    book = tmp_path / "park.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.read_csv(GOOD / "parks.csv").to_excel(writer, sheet_name="parks", index=False)
        pd.read_csv(GOOD / "enterprises.csv").to_excel(writer, sheet_name="enterprises", index=False)
        pd.read_csv(GOOD / "flows.csv").to_excel(writer, sheet_name="flows", index=False)
    report = import_files(store, [book])
    assert [file.table for file in report.files] == ["parks", "enterprises", "flows"]
    assert table_counts(store)["flows"] == 9
    assert store["flows"].get("power>board:fgd_gypsum:2002")["quantity"] == 200_000
    assert store["enterprises"].get("power")["employees"] == 300


def test_xlsx_rows_are_reported_as_excel_shows_them(store, tmp_path):
    book = tmp_path / "parks.xlsx"
    pd.DataFrame({"id": ["a", "b", "c"], "name": ["A", "B", "C"], "lat": [1, 2, 200], "lon": [1, 2, 3]}).to_excel(
        book, index=False)
    with pytest.raises(ValidationError) as caught:
        import_files(store, [book])
    assert [(problem.row, problem.column) for problem in caught.value.problems] == [(4, "lat")]


def test_json_list_of_records(store, tmp_path):
    parks = tmp_path / "parks.json"
    parks.write_text(json.dumps([{"id": "j1", "name": "JSON Park", "lat": 30.5, "lon": 114.3},
                                 {"id": "j2", "name": "园区二", "lat": None, "lon": None}], ensure_ascii=False),
                     encoding="utf-8")
    import_files(store, [parks])
    assert store["parks"].get("j2")["name"] == "园区二"
    assert store["parks"].get("j1")["lon"] == 114.3


def test_blank_rows_are_skipped_and_rows_still_counted_as_seen(store, tmp_path):
    parks = tmp_path / "parks.csv"
    parks.write_text("id,name,lat,lon\na,A,1,1\n\n,,,\nb,B,100,1\n")
    with pytest.raises(ValidationError) as caught:
        import_files(store, [parks])
    assert caught.value.problems[0].row == 5


def test_semicolon_delimited_and_bom(store, tmp_path):
    parks = tmp_path / "parks.csv"
    parks.write_bytes("\ufeffid;name;lat;lon\ns1;Semi Park;48.1;11.5\n".encode("utf-8"))
    import_files(store, [parks])
    assert store["parks"].get("s1")["name"] == "Semi Park"


def test_table_from_file_name():
    assert table_for_file("flows.csv") == "flows"
    assert table_for_file("/x/Energy_Use.xlsx") == "energy_use"
    assert table_for_file("flows_2024.csv") == "flows"
    assert table_for_file("survey.csv") is None


def test_unnamed_file_needs_table(store, tmp_path):
    survey = tmp_path / "survey.csv"
    survey.write_text("id,name\na,A\n")
    with pytest.raises(ValidationError, match="pass --table"):
        import_files(store, [survey])
    with pytest.raises(InputError, match="unknown table"):
        import_files(store, [survey], table="nonsense")


def test_emissions_energy_use_and_offsets(filled, tmp_path):
    (tmp_path / "emissions.csv").write_text("enterprise_id,year,scope1_t,scope2_t,co2_capture_t,unit\n"
                                            "power,2022,3.1,0.05,0.2,MtCO2e\n")
    (tmp_path / "energy_use.csv").write_text("enterprise_id,year,carrier,quantity,unit,renewable\n"
                                             "power,2022,coal,1.2,Mt,no\nrefinery,2022,electricity,50,GWh,yes\n")
    (tmp_path / "offsets.csv").write_text("park_id,year,t_co2e,kind\np1,2022,12000,CCER\n")
    import_files(filled, sorted(tmp_path.glob("*.csv")))
    assert filled["emissions"].get("power:2022")["scope1_t"] == pytest.approx(3.1e6)
    coal = filled["energy_use"].get("power:2022:coal")
    assert coal["mwh"] == pytest.approx(1.2e6 * filled["resources"].get("coal")["energy_mwh_per_t"])
    assert (coal["renewable"], coal["unit_orig"]) == (0, "Mt")
    assert filled["energy_use"].get("refinery:2022:electricity")["mwh"] == 50_000
    assert filled["offsets"].get("p1:2022:CCER")["t_co2e"] == 12000


def test_offers_and_demands(filled, tmp_path):
    (tmp_path / "offers.csv").write_text("enterprise_id,resource_code,quantity,unit\npower,fly_ash,150,kt/yr\n")
    (tmp_path / "demands.csv").write_text("enterprise_id,resource_code,quantity,unit\ncement,fly_ash,90000,t\n")
    import_files(filled, sorted(tmp_path.glob("*.csv")))
    assert filled["offers"].get("power:fly_ash:")["quantity"] == 150_000
    assert filled["demands"].get("cement:fly_ash:")["kind"] == "waste"


def test_reserved_boundary_prefix(store, tmp_path):
    firms = tmp_path / "enterprises.csv"
    firms.write_text("id,name\nboundary:in:import,Sneaky\n")
    with pytest.raises(ValidationError, match="reserved"):
        import_files(store, [firms])


def test_bad_column_map():
    with pytest.raises(InputError, match="SOURCE_COLUMN=FIELD"):
        parse_column_map(["no-equals-sign"])


def test_resources_file_in_the_same_import_defines_codes_for_flows(filled, tmp_path):
    (tmp_path / "resources.csv").write_text("code,name,kind,energy_mwh_per_t\nbio_oil,Bio-oil,energy,4.5\n")
    (tmp_path / "flows.csv").write_text("source_id,target_id,resource_code,quantity,unit\nrefinery,power,bio_oil,2,kt\n")
    report = import_files(filled, [tmp_path / "flows.csv", tmp_path / "resources.csv"])
    assert [file.new_resources for file in report.files] == [[], []]
    assert filled["flows"].get("refinery>power:bio_oil:")["quantity"] == pytest.approx(9000.0)


def test_resources_file_without_names_keeps_catalogue_names(store, tmp_path):
    (tmp_path / "resources.csv").write_text("code,kind,co2_factor\nfly_ash,waste,0.42\nnew_slag,waste,0.1\n")
    import_files(store, [tmp_path / "resources.csv"])
    fly_ash = store["resources"].get("fly_ash")
    assert fly_ash["name"] == "Coal fly ash" and fly_ash["co2_factor"] == 0.42
    assert store["resources"].get("new_slag")["name"] == "new_slag"


def test_ewc_codes_map_to_catalogue_resources(filled, tmp_path):
    (tmp_path / "offers.csv").write_text("enterprise_id,resource_code,quantity,unit\npower,10 01 02,150,kt\n"
                                         "refinery,100105,5,kt\n")
    report = import_files(filled, [tmp_path / "offers.csv"])
    assert filled["offers"].get("power:fly_ash:")["quantity"] == 150_000
    assert filled["offers"].get("refinery:fgd_gypsum:")["kind"] == "waste"
    assert report.files[0].new_resources == []
    assert report.files[0].resolved == {"10 01 02": ("fly_ash", "ewc"), "100105": ("fgd_gypsum", "ewc")}
