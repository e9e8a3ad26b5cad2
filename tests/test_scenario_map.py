"""The scenario map (viz.map.scenario_map): one page, the union of the scenarios, a toggle between them.

Built from the real test store (tests/data/good through the importer and load_graph): "as-is" (existing
flows), "planned" (planned flows counted as built, marked added) and a hand-made scenario that removes
the fly-ash flow and scales the gypsum flow. What each scenario should draw is computed from the graphs
themselves: visible = its flows and the baseline's, dashed = its flows the baseline lacks, faded = the
baseline's flows it lacks. The browser tests need /usr/bin/chromium and playwright, as in test_viz.py.
"""
from __future__ import annotations

import json
import re

import networkx as nx
import pytest

from symbiosis.errors import InputError
from symbiosis.graph import load_graph
from viz.map import ADDED_DASHES, REMOVED_OPACITY, build_map, scenario_map

from .browser import open_page, wait_drawn

HOSTILE = "<img src=x onerror=alert(1)>"
REMOVED_RESOURCE = "fly_ash"  # an existing flow of unknown quantity: removed in the hand-made scenario
SCALED_RESOURCE = "fgd_gypsum"  # an existing flow of 200 kt/yr: scaled by 1.5
SCALE = 1.5
HAND = "less ash, more gypsum"


def _flow_key(G: nx.MultiDiGraph, resource: str) -> tuple:
    matches = [(u, v, key) for u, v, key, data in G.edges(keys=True, data=True) if data["resource"] == resource]
    assert len(matches) == 1, f"the test park has one {resource} flow"
    return matches[0]


def _networks(db, hand_name: str = HAND) -> dict[str, nx.MultiDiGraph]:
    """as-is, planned (its planned flows marked added) and a hand-made scenario from the store."""
    as_is = load_graph(db, status="existing")
    planned = load_graph(db, status=["existing", "planned"])
    for _, _, data in planned.edges(data=True):
        if data["status"] == "planned":
            data["scenario_change"] = "added"
    hand = as_is.copy()
    hand.remove_edge(*_flow_key(hand, REMOVED_RESOURCE))
    scaled = hand.edges[_flow_key(hand, SCALED_RESOURCE)]
    scaled.update(quantity_before=scaled["quantity"], quantity=scaled["quantity"] * SCALE, scenario_change="scaled")
    return {"as-is": as_is, "planned": planned, hand_name: hand}


@pytest.fixture
def networks(filled):
    return _networks(filled)


def _page_data(html: str) -> tuple[dict, dict]:
    """The map's data and the scenarios' data, as the page carries them (two JSON literals)."""
    data = re.search(r"var DATA = (.*?);\n", html)
    scenarios = re.search(r"var SCENARIOS = (.*?);\n", html)
    assert data and scenarios, "a scenario page carries its map and its scenarios as JSON literals"
    return json.loads(data.group(1)), json.loads(scenarios.group(1))


def _keys(G: nx.MultiDiGraph) -> set[str]:
    return {str(key) for _, _, key in G.edges(keys=True)}


def _expected(networks: dict[str, nx.MultiDiGraph], name: str, baseline: str = "as-is") -> dict[str, set[str]]:
    """What a scenario should draw, from the graphs alone."""
    own, base = _keys(networks[name]), _keys(networks[baseline])
    return {"visible": own | base, "dashed": own - base, "faded": base - own}


def _drawn(edges: list[dict]) -> dict[str, set[str]]:
    """What a list of vis edges draws: visible, dashed (visible) and faded (visible) edge ids."""
    visible = {edge["id"] for edge in edges if not edge["hidden"]}
    return {"visible": visible,
            "dashed": {edge["id"] for edge in edges if edge["id"] in visible and edge["dashes"]},
            "faded": {edge["id"] for edge in edges if edge["id"] in visible
                      and edge["color"]["opacity"] == REMOVED_OPACITY}}


# ---------------------------------------------------------------------------------- the page's data

def test_each_scenario_draws_its_flows_dashes_additions_and_fades_removals(networks):
    data, scenarios = _page_data(scenario_map(networks))
    union = set().union(*(_keys(G) for G in networks.values()))
    assert [view["name"] for view in scenarios["views"]] == list(networks)
    assert scenarios["baseline"] == "as-is" and scenarios["start"] == 0  # opens on the baseline
    assert {edge["id"] for edge in data["edges"]} == union  # the union, drawn once
    assert {node["id"] for node in data["nodes"]} == set().union(*(set(G) for G in networks.values()))
    for view in scenarios["views"]:
        assert {edge["id"] for edge in view["edges"]} == union
        assert _drawn(view["edges"]) == _expected(networks, view["name"]), view["name"]
        for edge in view["edges"]:
            assert edge["dashes"] in (False, ADDED_DASHES)
    planned = _expected(networks, "planned")
    hand = _expected(networks, HAND)
    assert planned["dashed"] and not planned["faded"]  # the test park has a planned flow and loses nothing
    assert hand["faded"] and not hand["dashed"]
    assert data["edges"] == scenarios["views"][0]["edges"]  # the page is drawn on the baseline


def test_counts_and_summary_say_what_changed(networks):
    _, scenarios = _page_data(scenario_map(networks))
    for view in scenarios["views"]:
        expected = _expected(networks, view["name"])
        assert view["counts"]["flows"] == networks[view["name"]].number_of_edges()
        assert view["counts"]["added"] == len(expected["dashed"])
        assert view["counts"]["removed"] == len(expected["faded"])
    hand = scenarios["views"][2]
    assert hand["counts"]["scaled"] == 1
    assert "1 of as-is's removed (faded)" in hand["summary"] and "1 scaled" in hand["summary"]


def test_titles_say_added_removed_and_scaled_before_and_after(networks):
    _, scenarios = _page_data(scenario_map(networks))
    by_id = {view["name"]: {edge["id"]: edge for edge in view["edges"]} for view in scenarios["views"]}
    added = next(iter(_expected(networks, "planned")["dashed"]))
    assert "not in as-is (added by this scenario)" in by_id["planned"][added]["title"]
    assert "status: planned" in by_id["planned"][added]["title"]
    removed = str(_flow_key(networks["as-is"], REMOVED_RESOURCE)[2])
    assert "removed in less ash, more gypsum" in by_id[HAND][removed]["title"]
    assert "quantity unknown" in by_id[HAND][removed]["title"]  # the fly ash has no quantity: never 0
    scaled = str(_flow_key(networks["as-is"], SCALED_RESOURCE)[2])
    before = networks["as-is"].edges[_flow_key(networks["as-is"], SCALED_RESOURCE)]["quantity"]
    assert before == 200_000.0  # 200 kt in tests/data/good/flows.csv
    assert f"before {before:,.0f} t/yr, after {before * SCALE:,.0f} t/yr" in by_id[HAND][scaled]["title"]
    assert "scaled" not in by_id["as-is"][scaled]["title"]
    # the scaled flow is wider in the scenario that scaled it: one width scale for all scenarios
    assert by_id[HAND][scaled]["width"] > by_id["as-is"][scaled]["width"]


def test_a_scaled_flow_of_unknown_quantity_says_unknown_never_zero(filled):
    networks = _networks(filled)
    ash = networks[HAND] = networks["as-is"].copy()
    identity = _flow_key(ash, REMOVED_RESOURCE)
    ash.edges[identity].update(quantity_before=None, scenario_change="scaled")  # 1.5 x unknown is unknown
    _, scenarios = _page_data(scenario_map(networks))
    edge = next(edge for edge in scenarios["views"][2]["edges"] if edge["id"] == str(identity[2]))
    assert "before unknown, after unknown" in edge["title"]
    assert not re.search(r"\b0 t/yr", edge["title"])


def test_nodes_follow_the_scenario_and_a_node_it_lacks_is_faded(networks):
    networks["no cement"] = networks["as-is"].copy()
    networks["no cement"].remove_node("cement")  # its flows go with it
    _, scenarios = _page_data(scenario_map(networks))
    view = scenarios["views"][-1]
    cement = next(node for node in view["nodes"] if node["id"] == "cement")
    assert cement["opacity"] < 1 and "not in no cement" in cement["title"]
    assert _drawn(view["edges"])["faded"] == _keys(networks["as-is"]) - _keys(networks["no cement"]) != set()
    # the power station's heat to the farm counts in its totals only where the flow exists
    power = {view["name"]: next(node for node in view["nodes"] if node["id"] == "power")["title"]
             for view in scenarios["views"]}
    assert power["as-is"] != power["planned"]


def test_legend_says_what_dashed_and_faded_mean(networks):
    data, _ = _page_data(scenario_map(networks))
    labels = [line["label"] for line in data["legend"]["lines"]]
    assert any(label.startswith("dashed: in the selected scenario, not in the baseline (as-is)") for label in labels)
    assert any(label.startswith("faded: in the baseline (as-is), removed in the selected scenario") for label in labels)
    assert any("quantity unknown (not zero)" in label for label in labels)
    faded = next(line for line in data["legend"]["lines"] if line["label"].startswith("faded"))
    assert faded["opacity"] == REMOVED_OPACITY


def test_another_baseline_draws_the_others_against_it(networks):
    _, scenarios = _page_data(scenario_map(networks, baseline="planned"))
    assert scenarios["baseline"] == "planned" and scenarios["start"] == 1
    for view in scenarios["views"]:
        assert _drawn(view["edges"]) == _expected(networks, view["name"], baseline="planned")
    as_is = _drawn(scenarios["views"][0]["edges"])
    assert as_is["faded"] == _keys(networks["planned"]) - _keys(networks["as-is"]) != set()


def test_one_scenario_and_a_scenario_without_flows_give_valid_pages(networks):
    single = _page_data(scenario_map({"as-is": networks["as-is"]}))[1]
    assert len(single["views"]) == 1
    assert _drawn(single["views"][0]["edges"]) == {"visible": _keys(networks["as-is"]), "dashed": set(), "faded": set()}
    nothing = nx.MultiDiGraph()
    nothing.add_nodes_from(networks["as-is"].nodes(data=True))
    _, scenarios = _page_data(scenario_map({"as-is": networks["as-is"], "no exchanges": nothing}))
    view = scenarios["views"][1]
    assert _drawn(view["edges"])["faded"] == _keys(networks["as-is"]) and view["counts"]["flows"] == 0
    data, scenarios = _page_data(scenario_map({"empty": nx.MultiDiGraph()}))
    assert data["nodes"] == [] and data["edges"] == [] and scenarios["views"][0]["summary"]


def test_bad_arguments_raise_the_packages_error(networks):
    with pytest.raises(InputError, match="at least one scenario"):
        scenario_map({})
    with pytest.raises(InputError, match="not one of the scenarios"):
        scenario_map(networks, baseline="to-be")
    with pytest.raises(InputError, match="layout"):
        scenario_map(networks, layout="circle")


def test_a_very_large_union_is_drawn_by_park_with_a_notice(networks, monkeypatch):
    import viz.map

    monkeypatch.setattr(viz.map, "MAX_NODES", 6)  # 5 firms + 3 boundary nodes: three parks + boundary fit
    html = scenario_map(networks)
    assert "8 nodes are drawn as 6 parks (firms aggregated)" in html
    data, scenarios = _page_data(html)
    assert {node["id"] for node in data["nodes"]} >= {"park:p1", "park:p2"}
    hand = {edge["id"]: edge for edge in scenarios["views"][2]["edges"]}
    assert hand["park:p1>park:p2:waste"]["color"]["opacity"] == REMOVED_OPACITY  # the ash to the cement works
    assert "quantity in as-is: " in hand["park:p1>park:p1:waste"]["title"]  # the gypsum, scaled, inside p1


def test_the_plain_map_has_no_toggle(networks):
    html = build_map(networks["as-is"])
    assert "scenario-toggle" not in html and "var SCENARIOS" not in html


def test_a_hostile_scenario_name_stays_inert(filled):
    html = scenario_map(_networks(filled, hand_name=HOSTILE), title=HOSTILE)
    assert HOSTILE not in html
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html  # inside the JSON
    assert "<title>&lt;img src=x onerror=alert(1)&gt;</title>" in html


# ---------------------------------------------------------------------------------- in the browser

DRAWN_IN_BROWSER = """() => {
  const map = window.symbiosisMap;
  // what the DataSet holds and what the network really drew from it
  const edges = map.edges.get().map(edge => ({id: edge.id, hidden: !!edge.hidden, dashes: edge.dashes,
                                              color: {opacity: edge.color.opacity}}));
  const drawn = Object.values(map.network.body.edges).map(edge => ({id: edge.id, hidden: !!edge.options.hidden,
      dashes: edge.options.dashes, color: {opacity: edge.options.color.opacity}}));
  return {edges: edges, drawn: drawn, scenario: map.scenario,
          summary: document.getElementById("scenario-summary").textContent};
}"""


def test_the_toggle_switches_the_drawn_flows_in_chromium(browser, networks, tmp_path):
    path = tmp_path / "scenarios.html"
    scenario_map(networks, title="Test park: scenarios").save(path)
    page, seen = open_page(browser, path)
    wait_drawn(page)
    labels = page.locator("#scenario-toggle label")
    assert labels.all_inner_texts() == list(networks)
    assert page.locator("#scenario-toggle input[type=radio]:checked").get_attribute("value") == "0"
    _, scenarios = _page_data(path.read_text(encoding="utf-8"))
    states = []
    for index, name in [(1, "planned"), (2, HAND), (0, "as-is")]:
        labels.nth(index).click()
        state = page.evaluate(DRAWN_IN_BROWSER)
        assert state["scenario"] == name
        assert _drawn(state["edges"]) == _expected(networks, name), name
        assert _drawn(state["drawn"]) == _expected(networks, name), name  # the network drew what the data say
        assert state["summary"] == scenarios["views"][index]["summary"]
        states.append(state)
        page.screenshot(path=str(tmp_path / f"scenario-{index}.png"))
    assert len({json.dumps(sorted(map(sorted, _drawn(state["edges"]).values()))) for state in states}) == 3
    # the scaled flow is drawn wider in its scenario, and back again
    scaled = str(_flow_key(networks["as-is"], SCALED_RESOURCE)[2])
    width = "(id) => window.symbiosisMap.network.body.edges[id].options.width"
    labels.nth(2).click()
    wider = page.evaluate(width, scaled)
    labels.nth(0).click()
    assert page.evaluate(width, scaled) < wider
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert [url for url in seen["requests"] if url != path.as_uri()] == []


def test_a_hostile_scenario_name_is_shown_as_text_in_chromium(browser, filled, tmp_path):
    path = tmp_path / "hostile.html"
    scenario_map(_networks(filled, hand_name=HOSTILE), title=HOSTILE).save(path)
    page, seen = open_page(browser, path)
    wait_drawn(page)
    labels = page.locator("#scenario-toggle label")
    assert labels.nth(2).inner_text() == HOSTILE
    labels.nth(2).click()
    assert page.locator("#scenario-summary").inner_text().startswith(HOSTILE + ":")
    assert page.locator("h1").inner_text() == HOSTILE
    assert page.evaluate("() => document.querySelectorAll('img, a').length") == 0
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert [url for url in seen["requests"] if url != path.as_uri()] == []
