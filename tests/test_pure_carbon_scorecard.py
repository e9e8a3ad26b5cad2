"""The carbon analyses and the scorecard as loader + pure functions (issue 16, item 1).

``load_carbon_inputs`` and ``load_scorecard_inputs`` read the store; ``exchange_credits_of``,
``carbon_balance_of``, ``absorption_nodes_of``, ``allocate_co2_of`` and ``scorecard_of`` compute from
what they read. On the hand-computed parks of tests/data and on the demo store, the pure functions,
run after the store is closed, give exactly what the functions that take the store give: the carbon
command's way (a graph of the carbon resources), the pipeline's way (every existing flow) and each
function alone.
"""
from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from symbiosis.carbon import (CARBON_PARTS, absorption_nodes, absorption_nodes_of, allocate_co2, allocate_co2_of,
                              carbon_balance, carbon_balance_of, carbon_resources, exchange_credits,
                              exchange_credits_of, load_carbon_inputs)
from symbiosis.co2uses import load_co2_uses
from symbiosis.datasets import DEMO_SETS, dataset_files
from symbiosis.errors import InputError
from symbiosis.factors import load_factors, load_targets
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.scorecard import load_scorecard_inputs, scorecard, scorecard_of
from symbiosis.store import open_store

from .conftest import DATA

FIXTURES = ("carbon", "park_view", "sparse")


def _same(expected, found) -> None:
    """Frames equal in columns, order, dtypes, values, index and notes; allocations part by part."""
    if isinstance(expected, pd.DataFrame):
        assert_frame_equal(found, expected, check_exact=True)
        assert found.attrs == expected.attrs
    elif hasattr(expected, "pairs"):
        _same(expected.pairs, found.pairs)
        _same(expected.summary, found.summary)
        assert found.notes == expected.notes
    else:
        assert found == expected


def _compute(db, factors, park, year):
    """Every result the store-taking functions give, and the inputs the loaders read, for one park."""
    expected, inputs = {}, {}
    # the carbon command: a graph of the carbon resources, credits read once and shared
    G = load_graph(db, park=park, year=year, status="existing", resources=carbon_resources(db))
    credits = exchange_credits(db, G, factors)
    balance = carbon_balance(db, park=park, year=year, factors=factors, G=G, credits=credits)
    expected["cli"] = {"credits": credits, "balance": balance, "nodes": absorption_nodes(balance, G, db),
                       "allocation": allocate_co2(db, park=park, year=year, max_km=50.0, factors=factors,
                                                  balance=balance)}
    inputs["cli"] = load_carbon_inputs(db, park, year=year, G=G)
    # the pipeline: every existing flow
    E = load_graph(db, park=park, year=year, status="existing")
    credits = exchange_credits(db, E, factors)
    balance = carbon_balance(db, park=park, year=year, factors=factors, G=E, credits=credits)
    expected["pipeline"] = {"credits": credits, "balance": balance, "nodes": absorption_nodes(balance, E, db),
                            "allocation": allocate_co2(db, park=park, year=year, factors=factors, balance=balance)}
    inputs["pipeline"] = load_carbon_inputs(db, park, year=year, G=E)
    # each function alone, loading its own graph: the balance counts the exchanges its graph left out
    expected["alone"] = {"balance": carbon_balance(db, park=park, year=year, factors=factors),
                         "allocation": allocate_co2(db, park=park, year=year, factors=factors)}
    inputs["alone"] = load_carbon_inputs(db, park, year=year)
    if park is not None:
        expected["scorecard"] = scorecard(db, park, year=year, factors=factors)
        inputs["scorecard"] = load_scorecard_inputs(db, park, year=year, G=E, carbon=inputs["pipeline"])
        # the carbon command's inputs (a graph of the carbon resources): the firms' figures are reused
        inputs["scorecard, carbon command's inputs"] = load_scorecard_inputs(db, park, year=year, carbon=inputs["cli"])
    return expected, inputs


def _store_results(db, factors) -> list[tuple]:
    """(park, year, expected, inputs) for every park of the store and for all parks at once, then the
    store closed: whatever is computed from the inputs afterwards cannot have read it."""
    parks = [row[0] for row in db.execute("SELECT id FROM parks ORDER BY id")]
    years = [row[0] for row in db.execute("SELECT max(year) FROM emissions")]
    cases = []
    for park in parks + [None]:
        for year in [None] + [year for year in years if year is not None]:
            cases.append((park, year, *_compute(db, factors, park, year)))
    db.conn.close()
    return cases


@pytest.fixture(scope="module", params=FIXTURES + ("demo",))
def closed_store(request, tmp_path_factory):
    """A store's expected results and loaded inputs, the store closed; and its factors."""
    db = open_store(tmp_path_factory.mktemp(request.param) / "store.db")
    if request.param == "demo":
        for name in DEMO_SETS:
            import_files(db, dataset_files(name))
        factors = load_factors()
    else:
        folder = DATA / request.param
        import_files(db, sorted(path for path in folder.glob("*.csv") if path.name != "factors.csv"))
        factors = load_factors(folder / "factors.csv")
    return _store_results(db, factors), factors


def test_pure_carbon_equals_the_store_functions_after_the_store_is_closed(closed_store):
    cases, factors = closed_store
    assert cases
    for _, _, expected, inputs in cases:
        for way in ("cli", "pipeline"):
            carbon = inputs[way]
            credits = exchange_credits_of(carbon, factors=factors)
            balance = carbon_balance_of(carbon, factors=factors, credits=credits)
            _same(expected[way]["credits"], credits)
            _same(expected[way]["balance"], balance)
            _same(expected[way]["nodes"], absorption_nodes_of(carbon, balance))
            allocation = allocate_co2_of(carbon, factors=factors, balance=balance,
                                         max_km=50.0 if way == "cli" else 100.0)
            _same(expected[way]["allocation"], allocation)
        # without credits the balance computes them; without a balance the allocation computes it
        alone = inputs["alone"]
        _same(expected["alone"]["balance"], carbon_balance_of(alone, factors=factors))
        _same(expected["alone"]["allocation"], allocate_co2_of(alone, factors=factors))


def test_pure_scorecard_equals_the_store_function_after_the_store_is_closed(closed_store):
    cases, factors = closed_store
    targets = load_targets()
    scored = [case for case in cases if case[0] is not None]
    assert scored
    for _, _, expected, inputs in scored:
        card = scorecard_of(inputs["scorecard"], targets=targets, factors=factors)
        _same(expected["scorecard"], card)
        assert len(card) == 14  # every indicator has its row
        reused = inputs["scorecard, carbon command's inputs"]
        assert reused.carbon.emissions is inputs["cli"].emissions
        _same(expected["scorecard"], scorecard_of(reused, targets=targets, factors=factors))


def test_pure_functions_leave_their_inputs_as_read(closed_store):
    """The allocation writes open amounts into its offers and demands: into copies, so a second run on
    the same inputs gives the same answer."""
    cases, factors = closed_store
    _, _, expected, inputs = cases[-1]
    carbon = inputs["pipeline"]
    offers = carbon.offers.known.copy()
    for _ in range(2):
        _same(expected["pipeline"]["allocation"], allocate_co2_of(carbon, factors=factors))
    assert_frame_equal(carbon.offers.known, offers)


def test_the_shipped_co2_uses_given_or_not_give_one_balance(closed_store):
    cases, factors = closed_store
    _, _, _, inputs = cases[0]
    uses = load_co2_uses()
    carbon = inputs["pipeline"]
    _same(carbon_balance_of(carbon, factors=factors), carbon_balance_of(carbon, factors=factors, co2_uses=uses))
    _same(allocate_co2_of(carbon, factors=factors), allocate_co2_of(carbon, factors=factors, co2_uses=uses))


def test_inputs_read_without_a_part_say_which(hand):
    db, factors = hand
    with pytest.raises(InputError, match="unknown carbon input 'flows'"):
        load_carbon_inputs(db, "hp", parts=("flows",))
    # a graph of CO2 only leaves every by-product out: their exchanges must be read to list them
    co2_only = load_graph(db, park="hp", status="existing", resources=["co2"])
    emissions_only = load_carbon_inputs(db, "hp", G=co2_only, parts=("emissions",))
    with pytest.raises(InputError, match="'exchanges'"):
        exchange_credits_of(emissions_only, factors=factors)
    with pytest.raises(InputError, match="'exchanges'"):
        carbon_balance_of(emissions_only, factors=factors)
    with pytest.raises(InputError, match="'offers'"):
        allocate_co2_of(emissions_only, factors=factors)
    offers_only = load_carbon_inputs(db, "hp", parts=("offers",))
    assert offers_only.G is None  # the allocation of a given balance needs no graph: none is loaded
    with pytest.raises(InputError, match="needs a graph"):
        carbon_balance_of(offers_only, factors=factors)
    everything = load_carbon_inputs(db, "hp")
    assert everything.parts == frozenset(CARBON_PARTS)
    with pytest.raises(InputError, match="max_km"):
        allocate_co2_of(everything, factors=factors, max_km=0)


def test_scorecard_reuses_carbon_inputs_of_its_park(hand):
    db, factors = hand
    expected, targets = scorecard(db, "hp", factors=factors), load_targets()
    E = load_graph(db, park="hp", status="existing")
    carbon = load_carbon_inputs(db, "hp", G=E)
    inputs = load_scorecard_inputs(db, "hp", carbon=carbon)
    assert inputs.carbon is carbon and inputs.G is E  # the scorecard's own graph: reused whole
    _same(expected, scorecard_of(inputs, targets=targets, factors=factors))
    # a graph of the carbon resources only: the scorecard reads the park's every existing flow itself
    cut = load_carbon_inputs(db, "hp")
    inputs = load_scorecard_inputs(db, "hp", carbon=cut)
    assert inputs.G is not cut.G and inputs.G.graph["resources"] is None and inputs.carbon.G is inputs.G
    assert inputs.carbon.emissions is cut.emissions
    _same(expected, scorecard_of(inputs, targets=targets, factors=factors))
    with pytest.raises(InputError, match="park 'hp'"):
        load_scorecard_inputs(db, "al", carbon=carbon)
    with pytest.raises(InputError, match="min_coverage"):
        scorecard_of(inputs, targets=targets, factors=factors, min_coverage=2.0)
