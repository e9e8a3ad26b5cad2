"""Getting real files in with flags only: --set, FILE:TABLE, resource names, header units, title rows."""
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.errors import InputError, ValidationError
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files, split_file_argument, table_for_file

from .conftest import GOOD, dump

FLOWS_HEADER = "source_id,target_id,resource_code,quantity,unit\n"


def _catalogue_size(db) -> int:
    return db["resources"].count


@pytest.mark.parametrize(("name", "table"), [
    ("kalundborg_flows.csv", "flows"), ("2024-offers.xlsx", "offers"), ("flows_2024.xlsx", "flows"),
    ("Park Enterprises (2021).csv", "enterprises"), ("energy-use 2020.csv", "energy_use"),
    ("flows_and_offers.csv", None), ("exchanges_1997.csv", "flows"), ("notes.csv", None),
])
def test_a_table_name_anywhere_in_the_file_name_names_the_table(name, table):
    assert table_for_file(name) == table


def test_file_colon_table_names_the_table(filled, tmp_path):
    exchanges = tmp_path / "物质交换表.csv"
    exchanges.write_text(FLOWS_HEADER + "power,cement,fly_ash,5,kt\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="FILE:TABLE"):
        import_files(filled, [exchanges])
    report = import_files(filled, [f"{exchanges}:flows"])
    assert report.files[0].table == "flows" and report.files[0].inserted == 1
    assert split_file_argument(f"{exchanges}:flows") == (exchanges, "flows")
    with pytest.raises(InputError, match="unknown table 'flow'"):
        split_file_argument(f"{exchanges}:flow")


def test_set_gives_every_row_a_value_and_refuses_a_contradiction(filled, tmp_path):
    flows = tmp_path / "my_flows.csv"
    flows.write_text(FLOWS_HEADER + "power,cement,fly_ash,5,kt\nrefinery,power,cooling_water,,m3\n")
    import_files(filled, [flows], set_values={"year": "2005", "status": "planned"})
    rows = filled.execute("SELECT year, status FROM flows WHERE import_id = (SELECT max(id) FROM imports)").fetchall()
    assert rows == [(2005, "planned"), (2005, "planned")]

    firms = tmp_path / "firms.csv"
    firms.write_text("id,name,park_id\nnew1,New one,\nnew2,New two,p2\n")
    before = dump(filled)
    with pytest.raises(ValidationError) as caught:
        import_files(filled, [firms], set_values={"park_id": "p1"})
    assert [(problem.row, problem.column, problem.value) for problem in caught.value.problems] == [(3, "park_id", "p2")]
    assert dump(filled) == before
    with pytest.raises(InputError, match="--set colour"):
        import_files(filled, [firms], set_values={"colour": "red"})


def test_title_rows_above_the_header_are_skipped(store, tmp_path):
    parks = tmp_path / "parks.csv"
    parks.write_text("Table 1: parks surveyed, 2005\n\nid,name,country\np9,Park nine,CN\n")
    report = import_files(store, [parks])
    assert store["parks"].get("p9")["name"] == "Park nine"
    assert any("above the header (row 3)" in note for note in report.files[0].notes)
    # the header row can also be named
    other = tmp_path / "parks_b.csv"
    other.write_text("a,b,c\nid,name,country\np8,Park eight,DK\n")
    import_files(store, [other], header_row=2)
    assert store["parks"].get("p8")["country"] == "DK"


def test_quantity_header_with_a_unit_stores_its_quantities(filled, tmp_path):
    """The analyst's workbook: a title row, 'Quantity (t/yr)', no unit column. --dry-run and the import agree."""
    book = tmp_path / "survey_flows.xlsx"
    grid = [["Survey of by-product exchanges, 2021", None, None, None],
            ["source_id", "target_id", "resource_code", "Quantity (t/yr)"],
            ["power", "cement", "fly ash", 1200],
            ["power", "board", "FGD gypsum", None]]
    pd.DataFrame(grid).to_excel(book, header=False, index=False, sheet_name="Survey 2021")
    dry = import_files(filled, [book], dry_run=True)
    report = import_files(filled, [book])
    assert dry.files[0].inserted == report.files[0].inserted == 2
    ash = filled["flows"].get("power>cement:fly_ash:")
    assert (ash["quantity"], ash["unit_orig"]) == (1200, "t/yr")
    assert filled["flows"].get("power>board:fgd_gypsum:")["quantity"] is None  # blank stays unknown


def test_a_column_that_looks_like_a_field_is_never_dropped_silently(filled, tmp_path):
    flows = tmp_path / "flows.csv"
    flows.write_text("source_id,target_id,resource_code,Amount,unit\npower,cement,fly_ash,5,kt\n")
    with pytest.raises(ValidationError, match="looks like field 'quantity'.*--map 'Amount=quantity'"):
        import_files(filled, [flows])
    both = tmp_path / "more_flows.csv"
    both.write_text("source_id,target_id,resource_code,quantity,unit,Menge\npower,cement,fly_ash,5,kt,7\n")
    report = import_files(filled, [both])
    assert report.files[0].warnings == ["column 'Menge' looks like field 'quantity', which column 'quantity' "
                                        "gives; 'Menge' is kept aside in 'extra'"]


def test_free_text_resource_names_resolve_to_the_catalogue(filled, tmp_path):
    size = _catalogue_size(filled)
    flows = tmp_path / "flows.csv"
    flows.write_text(FLOWS_HEADER + "power,refinery,process steam,3,kt\nrefinery,power,Cooling Water,,m3\n"
                     "power,cement,粉煤灰,2,万吨/年\n", encoding="utf-8")
    report = import_files(filled, [flows])
    assert _catalogue_size(filled) == size  # no new catalogue entry beside steam and cooling_water
    codes = [row[0] for row in filled.execute(
        "SELECT resource_code FROM flows WHERE import_id = ? ORDER BY rowid", (report.files[0].import_id,))]
    assert sorted(codes) == ["cooling_water", "fly_ash", "steam"]
    ash = filled["flows"].get("power>cement:fly_ash:")
    assert ash["quantity"] == 20_000 and json.loads(ash["extra"]) == {"resource_as_written": "粉煤灰"}


def test_an_unmatched_name_is_an_error_with_suggestions_unless_new_resources(filled, tmp_path):
    flows = tmp_path / "flows.csv"
    flows.write_text(FLOWS_HEADER + "power,cement,fly ashh,5,kt\npower,cement,black liquor,5,kt\n")
    draft = tmp_path / "draft_map.csv"
    with pytest.raises(ValidationError) as caught:
        import_files(filled, [flows], dry_run=True, resource_map_draft=draft)
    assert "did you mean fly_ash" in str(caught.value) and "--new-resources" in str(caught.value)
    guesses = pd.read_csv(draft)
    assert dict(zip(guesses["name"], guesses["code"].fillna(""))).get("fly ashh") == "fly_ash"
    # the user corrects the draft and passes it back; the other name becomes a new resource
    (tmp_path / "map.csv").write_text("name,code\nfly ashh,fly_ash\n")
    report = import_files(filled, [flows], resource_map=tmp_path / "map.csv", new_resources=True)
    assert report.files[0].new_resources == ["black_liquor"]
    assert filled["resources"].get("black_liquor")["kind"] == "material"  # from the unit


def test_nodes_that_are_not_firms_are_the_parks_boundary(filled, tmp_path):
    nodes = tmp_path / "enterprises.csv"
    nodes.write_text("id,name,park_id,role\nlake,Lake Tissø,p1,environment\ngrid,Gas grid,p1,utility\n")
    flows = tmp_path / "flows.csv"
    flows.write_text(FLOWS_HEADER + "lake,refinery,surface_water,,m3\ngrid,power,natural_gas,,MWh\n")
    import_files(filled, [nodes, flows])
    G = load_graph(filled, park="p1")
    assert G.nodes["lake"]["boundary"] and G.nodes["lake"]["role"] == "environment"
    assert G.nodes["grid"]["boundary"] and not G.nodes["power"]["boundary"]
    assert G.nodes["power"]["role"] == "firm"


def test_cli_import_with_flags_only(tmp_path):
    db = tmp_path / "cli.db"
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(GOOD / "parks.csv"), str(GOOD / "enterprises.csv"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    survey = tmp_path / "survey.csv"
    survey.write_text("Von;Nach;Stoff;Menge (t/a);Bemerkung\npower;cement;Flugasche;1200;\n", encoding="utf-8")
    args = ["import", f"{survey}:flows", "--map", "Von=source_id", "--map", "Nach=target_id", "--map",
            "Stoff=resource_code", "--map", "Menge=quantity", "--set", "year=2019", "--db", str(db), "--format", "json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inserted"] == 1
    from symbiosis.store import open_store

    stored = open_store(db)["flows"].get("power>cement:fly_ash:2019")
    assert (stored["quantity"], stored["unit_orig"]) == (1200, "t/a")
    assert "'Bemerkung' looks like field 'note'" in result.stderr  # kept in 'extra', and said
    # a warning reaches the user whatever the format, on stderr
    noisy = tmp_path / "noisy_flows.csv"
    noisy.write_text("source_id,target_id,resource_code,quantity,unit,qty\npower,cement,fly_ash,1,t,2\n")
    result = runner.invoke(cli, ["import", str(noisy), "--db", str(db), "--format", "json"])
    assert result.exit_code == 0 and "warning:" in result.stderr and "'qty'" in result.stderr
    json.loads(result.stdout)  # stdout stays pure JSON


def test_numbers_as_other_countries_write_them(filled, tmp_path):
    flows = tmp_path / "flows.csv"
    flows.write_text("source_id;target_id;resource_code;quantity;unit\npower;cement;fly_ash;1.234,5;t/år\n"
                     "power;board;fgd_gypsum;170 000;t\nrefinery;power;cooling_water;3,5;mio. m3/år\n",
                     encoding="utf-8")
    with pytest.raises(ValidationError, match="--decimal ,"):
        import_files(filled, [flows])  # 3,5 is no number with '.' as the decimal mark, and the error says why
    import_files(filled, [flows], decimal=",")
    assert filled["flows"].get("power>cement:fly_ash:")["quantity"] == 1234.5
    assert filled["flows"].get("power>board:fgd_gypsum:")["quantity"] == 170_000
    assert filled["flows"].get("refinery>power:cooling_water:")["quantity"] == 3.5e6
    danish = tmp_path / "more_flows.csv"
    danish.write_text("source_id,target_id,resource_code,quantity,unit\npower,cement,fly_ash,700.000,t\n")
    report = import_files(filled, [danish])  # read as 700, and the user is told how to read it as 700,000
    assert "pass --decimal ," in report.files[0].warnings[0]


def test_emission_units_from_the_headers(filled, tmp_path):
    emissions = tmp_path / "emissions.csv"
    emissions.write_text("Facility,year,Scope 1 (kt CO2-e),Scope 2 (Mt CO2-e)\npower,2019,850,0.2\n")
    with pytest.raises(ValidationError, match="--map 'Scope 1 \\(kt CO2-e\\)=scope1_t'"):
        import_files(filled, [emissions], column_map={"Facility": "enterprise_id"})
    import_files(filled, [emissions], column_map={"Facility": "enterprise_id", "Scope 1 (kt CO2-e)": "scope1_t",
                                                  "Scope 2 (Mt CO2-e)": "scope2_t"})
    row = filled.execute("SELECT scope1_t, scope2_t, unit_orig FROM emissions WHERE year = 2019").fetchone()
    assert row == (850_000, 200_000, "scope1_t: kt CO2-e; scope2_t: Mt CO2-e")


def test_roles_kinds_and_statuses_in_the_files_language(filled, tmp_path):
    nodes = tmp_path / "enterprises.csv"
    nodes.write_text("id,name,park_id,role\nx1,Lake X,p1,miljø\nx2,Grid,p1,유틸리티\nx3,Farmers,p1,External\n",
                     encoding="utf-8")
    import_files(filled, [nodes])
    roles = dict(filled.execute("SELECT id, role FROM enterprises WHERE id LIKE 'x%'").fetchall())
    assert roles == {"x1": "environment", "x2": "utility", "x3": "external"}


def test_new_resources_take_their_kind_from_the_map_and_look_alikes_are_named(filled, tmp_path):
    flows = tmp_path / "flows.csv"
    flows.write_text(FLOWS_HEADER + "power,cement,vinasse,,t\npower,refinery,raffinaderigas,,Nm3\n"
                     "power,refinery,refinery gass,,MWh\n")
    with pytest.raises(ValidationError, match="'raffinaderigas'"):  # Nm3 is a gas: no kind from the unit
        import_files(filled, [flows], new_resources=True)
    (tmp_path / "map.csv").write_text("name,code,kind\nvinasse,vinasse,waste\nraffinaderigas,raffinaderigas,energy\n")
    report = import_files(filled, [flows], resource_map=tmp_path / "map.csv", new_resources=True)
    assert filled["resources"].get("vinasse")["kind"] == "waste"  # the map's kind, not 'material' from 't'
    assert any("'refinery gass' looks like catalogue refinery_gas" in warning for warning in report.files[0].warnings)
    draft = tmp_path / "draft.csv"
    strange = tmp_path / "more_flows.csv"
    strange.write_text(FLOWS_HEADER + "power,cement,蔗渣,,t\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        import_files(filled, [strange], resource_map_draft=draft)
    guesses = pd.read_csv(draft, keep_default_na=False)
    assert guesses.loc[0, "code"] == ""  # a weak guess is never written as the mapping


def test_a_unit_beside_no_quantity_is_kept_not_checked(filled, tmp_path):
    flows = tmp_path / "flows.csv"
    flows.write_text(FLOWS_HEADER + "power,refinery,steam,,m3/d\n")
    import_files(filled, [flows])
    assert filled["flows"].get("power>refinery:steam:")["unit_orig"] == "m3/d"
