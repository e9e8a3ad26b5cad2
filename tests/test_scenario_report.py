"""The report's scenario comparison (issue 19): figures side by side, changes as bars, contributions.

The frames are built by hand in the contract ``symbiosis compare`` produces (one row per figure and
scenario; one row per synergy), with an unknown value, sampled intervals, a partial and a capped figure,
a verdict and a hostile scenario name. The section is checked as data, as the rendered page, and in
Debian's headless Chromium (skipped where it is missing, see tests/browser.py).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from symbiosis.errors import InputError
from symbiosis.ingest import import_files
from symbiosis.store import open_store
from viz.report import CONTRIBUTION_METHOD, _park_section, _render_page, scenario_section

from .browser import open_page
from .conftest import GOOD

HOSTILE = "<script>alert(1)</script>"
SCENARIOS = ["as-is", "planned", HOSTILE]
SVG = "{http://www.w3.org/2000/svg}"
COLUMNS = ["section", "figure_id", "figure", "unit", "scenario", "value", "text", "status", "coverage", "lo", "hi",
           "change", "headline"]


def _figure(section: str, figure_id: str, figure: str, unit: str, values: list, *, headline: bool = False,
            texts: list[str] | None = None, status: str = "known", coverage: str | None = None,
            intervals: list | None = None) -> list[dict]:
    """One figure's rows, one per scenario; the change is the value minus the baseline's, None where either
    is unknown (as the contract says)."""
    rows = []
    for index, (scenario, value) in enumerate(zip(SCENARIOS, values)):
        lo, hi = intervals[index] if intervals else (None, None)
        rows.append({"section": section, "figure_id": figure_id, "figure": figure, "unit": unit, "scenario": scenario,
                     "value": value, "text": texts[index] if texts else ("unknown" if value is None else f"{value:g}"),
                     "status": "unknown" if value is None and status != "verdict" else status,
                     "coverage": coverage, "lo": lo, "hi": hi,
                     "change": None if value is None or values[0] is None else value - values[0],
                     "headline": headline})
    return rows


@pytest.fixture(scope="module")
def figures() -> pd.DataFrame:
    # listed out of display order: the section puts loops first, matchmaking last
    rows = (_figure("carbon", "carbon.park_view", "Park emissions (park view)", "tCO2e/yr", [1000.0, 900.0, None],
                    headline=True)
            + _figure("metrics", "metrics.mass.fci", "Finn cycling index (mass)", "", [0.1, 0.125, 0.2], headline=True)
            + _figure("loops", "loops.cycled", "Cycled quantity", "t/yr", [50.0, 80.0, 120.0], headline=True,
                      intervals=[(40.0, 60.0), (70.0, 90.0), (100.0, 140.0)])
            + _figure("loops", "loops.count", "Recycling loops", "", [1000.0, 1000.0, 1000.0], status="capped",
                      texts=["at least 1,000 (capped)"] * 3)
            + _figure("colocation", "colocation.tonne_km", "Long-haul freight", "t km/yr", [500.0, 500.0, 300.0],
                      headline=True)
            + _figure("metrics", "metrics.energy.throughput", "Total system throughput (energy)", "GJ/yr",
                      [7000.0, 7500.0, 8000.0], status="partial", coverage="7 of 9 flows")
            + _figure("scorecard", "scorecard.renewable_share", "Renewable share", "", [None, None, None],
                      status="verdict", texts=["fail", "pass", "fail"])
            + _figure("matchmaking", "matchmaking.value", "Plan value", "CNY/yr", [0.0, 0.0, 25000.0])
            + _figure("metrics", "metrics.water.fci", "Finn cycling index (water)", "-", [0.3, None, 0.25],
                      coverage="no quantity on 2 of 5 flows"))
    return pd.DataFrame(rows)


def _contributions(count: int) -> pd.DataFrame:
    return pd.DataFrame([{"synergy": number, "flow_id": f"m{number}", "source_name": f"Firm {number}",
                          "target_name": "Taker <b>bold</b>", "resource_name": "fly ash",
                          "quantity": 100.0 * number, "unit": "t/yr",
                          "co2_avoided_t": None if number == 1 else 10.0 * number, "value_cny": 5000.0 * number,
                          "park_emissions_change_t": -2.0 * number, "avoided_change_t": 3.0 * number,
                          "fci_change_mass": 0.01 / number,
                          "fci_change_energy": None, "fci_change_water": 0.0} for number in range(1, count + 1)])


@pytest.fixture(scope="module")
def section(figures) -> dict:
    return scenario_section(figures, _contributions(12), SCENARIOS)


@pytest.fixture(scope="module")
def page(section, tmp_path_factory) -> str:
    """The whole report page of the small test park with the scenario section in it."""
    db = open_store(tmp_path_factory.mktemp("scenarios") / "store.db")
    import_files(db, sorted(GOOD.glob("*.csv")))
    park = _park_section(db, "p1", include_map=False, scenarios=section)
    return _render_page([park], park["name"])


def _rows(section: dict) -> dict[str, dict]:
    return {row["id"]: row for group in section["groups"] for row in group["rows"]}


def _bars(svg: str) -> list[ET.Element]:
    return [rect for rect in ET.fromstring(svg).iter(f"{SVG}rect") if "bar" in rect.get("class", "").split()]


# ---------------------------------------------------------------------------------- the section's data

def test_sections_in_display_order(section):
    assert [group["section"] for group in section["groups"]] == ["loops", "metrics", "carbon", "scorecard",
                                                                  "colocation", "matchmaking"]
    assert section["baseline"] == "as-is" and section["others"] == ["planned", HOSTILE]


def test_cells_show_text_interval_and_coverage(section):
    rows = _rows(section)
    cycled = rows["loops.cycled"]
    assert [cell["text"] for cell in cycled["cells"]] == ["50", "80", "120"]
    assert [cell["interval"] for cell in cycled["cells"]] == ["[40 - 60]", "[70 - 90]", "[100 - 140]"]
    assert cycled["changes"] == ["+30 t/yr", "+70 t/yr"]
    throughput = rows["metrics.energy.throughput"]
    assert [cell["coverage"] for cell in throughput["cells"]] == ["7 of 9 flows"] * 3
    assert rows["metrics.mass.fci"]["changes"] == ["+0.025", "+0.1"]  # no unit: no trailing space
    water = rows["metrics.water.fci"]  # dimensionless ("-"): no unit after the number
    assert water["changes"] == ["unknown", "-0.05"]
    assert water["cells"][1]["coverage"] == "no quantity on 2 of 5 flows"  # an unknown says why
    assert water["cells"][0]["coverage"] is None  # a known figure's coverage is not repeated


def test_unknown_is_never_zero(section):
    emissions = _rows(section)["carbon.park_view"]
    assert emissions["cells"][2]["text"] == "unknown"
    assert emissions["changes"] == ["-100 tCO2e/yr", "unknown"]
    assert any(HOSTILE in item and "Park emissions" in item for item in section["unknown_changes"])


def test_verdicts_capped_counts_and_zero_changes(section):
    rows = _rows(section)
    assert rows["scorecard.renewable_share"]["changes"] == ["fail -> pass", "same"]
    unknown = pd.DataFrame(_figure("scorecard", "scorecard.x", "x", "", [None, None, None], status="verdict",
                                   texts=["pass", "pass", "unknown"]))
    unknown.loc[unknown["scenario"] == HOSTILE, "status"] = "unknown"  # a verdict against no verdict: unknown
    assert _rows(scenario_section(unknown, None, SCENARIOS))["scorecard.x"]["changes"] == ["same", "unknown"]
    # a change between two counts cut at the cap is no measured change: it says so
    assert rows["loops.count"]["changes"] == ["0 (capped)", "0 (capped)"]
    assert rows["colocation.tonne_km"]["changes"] == ["0 t km/yr", "-200 t km/yr"]
    assert rows["matchmaking.value"]["changes"] == ["0 CNY/yr", "+25,000 CNY/yr"]


def test_chart_draws_known_changes_only(section, figures):
    bars = _bars(section["chart"])
    headline = figures[figures["headline"] & (figures["scenario"] != SCENARIOS[0])]
    known = headline[headline["change"].notna()]
    assert len(bars) == len(known) == len(headline) - 1  # the one unknown change has no bar, not a 0 bar
    signs = [rect.get("class").split()[1] for rect in bars]
    assert signs.count("up") == int((known["change"] > 0).sum())
    assert signs.count("down") == int((known["change"] < 0).sum())
    assert signs.count("zero") == int((known["change"] == 0).sum()) == 1  # a known 0: a hairline, drawn
    assert all(float(rect.get("width")) > 0 for rect in bars)
    unknown = [text for text in ET.fromstring(section["chart"]).iter(f"{SVG}text") if text.get("class") == "unknown"]
    assert len(unknown) == 1 and unknown[0].find(f"{SVG}title").tail == "unknown"
    assert "".join(unknown[0].find(f"{SVG}title").itertext()).startswith(f"{HOSTILE}: Park emissions")


def test_chart_bars_of_one_scenario_share_its_legend_colour(section):
    root = ET.fromstring(section["chart"])
    swatches = [rect.get("fill") for rect in root.iter(f"{SVG}rect") if rect.get("class") == "swatch"]
    assert len(swatches) == 2 and len(set(swatches)) == 2  # one per non-baseline scenario
    legend = ["".join(group.find(f"{SVG}text").itertext()) for group in root.iter(f"{SVG}g")]
    assert legend == ["planned", HOSTILE]
    for rect in _bars(section["chart"]):
        scenario = "".join(rect.find(f"{SVG}title").itertext()).split(":")[0]
        assert rect.get("fill") == swatches[["planned", HOSTILE].index(scenario)]


def test_chart_escapes_scenario_names(section):
    assert HOSTILE not in section["chart"] and "&lt;script&gt;alert(1)&lt;/script&gt;" in section["chart"]


def test_contributions_are_the_top_rows(section):
    table = section["contributions"]
    assert len(table["rows"]) == 10 and table["more"] == 2
    first = dict(zip(table["headers"], table["rows"][0]))
    assert first["#"] == 1 and first["CO2 avoided (t/yr)"] == "unknown" and first["FCI change (energy)"] == "unknown"
    assert first["park emissions change (tCO2e/yr)"] == -2.0 and first["FCI change (water)"] == 0.0
    assert section["method"] == CONTRIBUTION_METHOD
    three = scenario_section(pd.DataFrame(columns=COLUMNS), _contributions(12), SCENARIOS, top=3)
    assert len(three["contributions"]["rows"]) == 3 and three["groups"] == [] and three["chart"] == ""
    assert scenario_section(pd.DataFrame(columns=COLUMNS), _contributions(12), SCENARIOS, top=0)["contributions"] is None


def test_one_scenario_has_no_change_column_nor_chart(figures):
    alone = scenario_section(figures, None, ["as-is"])
    assert alone["others"] == [] and alone["chart"] == "" and alone["contributions"] is None
    assert all(row["changes"] == [] and len(row["cells"]) == 1 for row in _rows(alone).values())


def test_figure_missing_for_a_scenario_says_not_computed(figures):
    partial = figures[~((figures["figure_id"] == "matchmaking.value") & (figures["scenario"] == "as-is"))]
    row = _rows(scenario_section(partial, None, SCENARIOS))["matchmaking.value"]
    assert row["cells"][0]["text"] == "not computed" and row["changes"] == ["not computed", "not computed"]


@pytest.mark.parametrize("mend, message", [
    (lambda frame: frame.drop(columns="headline"), "lack the columns headline"),
    (lambda frame: pd.concat([frame, frame.head(1)]), "repeat a figure"),
])
def test_bad_frames_are_refused(figures, mend, message):
    with pytest.raises(InputError, match=message):
        scenario_section(mend(figures), None, SCENARIOS)


def test_bad_scenario_lists_are_refused(figures):
    for scenarios in ([], ["as-is", "as-is"]):
        with pytest.raises(InputError):
            scenario_section(figures, None, scenarios)
    with pytest.raises(InputError, match="top"):
        scenario_section(figures, None, SCENARIOS, top=-1)


# ---------------------------------------------------------------------------------- the rendered page

def _page_cells(page: str, figure_id: str) -> list[str]:
    """The text of a figure's cells in the scenario table (tags dropped, entities kept)."""
    row = re.search(rf'<tr data-figure="{re.escape(figure_id)}">(.*?)</tr>', page, re.S)
    assert row, figure_id
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_page_table(page):
    assert "Scenarios compared: as-is (baseline); planned; &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<th>change: &lt;script&gt;alert(1)&lt;/script&gt;</th>" in page
    assert _page_cells(page, "loops.cycled") == ["Cycled quantity", "t/yr", "50 [40 - 60]", "80 [70 - 90]",
                                                 "120 [100 - 140]", "+30 t/yr", "+70 t/yr"]
    assert _page_cells(page, "carbon.park_view")[4:] == ["unknown", "-100 tCO2e/yr", "unknown"]
    assert _page_cells(page, "metrics.energy.throughput")[2] == "7000 (7 of 9 flows)"  # the text as given
    assert _page_cells(page, "scorecard.renewable_share")[-2:] == ["fail -&gt; pass", "same"]
    assert CONTRIBUTION_METHOD.replace("'", "&#39;") in page
    assert page.count('<figure class="scenario-changes"><svg') == 1


def test_page_escapes_every_scenario_text(page):
    assert HOSTILE not in page and "<b>bold</b>" not in page
    assert "Taker &lt;b&gt;bold&lt;/b&gt;" in page


def test_page_without_scenarios_is_unchanged(page, section, tmp_path):
    db = open_store(tmp_path / "store.db")
    import_files(db, sorted(GOOD.glob("*.csv")))
    park = _park_section(db, "p1", include_map=False)
    plain = _render_page([park], park["name"])
    assert park["scenarios"] is None and "Scenarios compared" not in plain and "scenario-changes" not in plain


def test_page_in_chromium(browser, page, section, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    view, seen = open_page(browser, path)
    assert view.locator("figure.scenario-changes svg rect.bar").count() == len(_bars(section["chart"])) == 7
    assert view.locator("figure.scenario-changes svg rect.bar.down").count() == 2
    assert view.locator("figure.scenario-changes svg text.unknown").count() == 1
    headers = view.locator("table.scenarios thead th").all_inner_texts()
    assert headers[-1] == f"change: {HOSTILE}"  # shown as text, not run
    cells = view.locator('table.scenarios tr[data-figure="carbon.park_view"] td').all_inner_texts()
    assert cells[4:] == ["unknown", "-100 tCO2e/yr", "unknown"]
    assert view.locator("script").count() == 0  # the hostile name made no element
    box = view.locator("figure.scenario-changes svg").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    view.screenshot(path=str(tmp_path / "scenarios.png"), full_page=True)  # artifact: look at it
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert [url for url in seen["requests"] if url != path.as_uri()] == []
