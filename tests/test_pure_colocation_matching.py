"""Co-location and matchmaking as a loader and pure functions (issue 16, item 1).

The pure functions (``long_haul_of``, ``clusters_of``, ``gaps_of``, ``find_candidates_of``, ``match_of``)
must give what the db-first ones give, on every fixture park and on the whole store, and must never
touch a store: they take no ``db``, and they run after the store their inputs came from is closed.
"""
from __future__ import annotations

import copy
import inspect
import sqlite3
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from symbiosis.co2uses import load_co2_uses
from symbiosis.colocation import (COLOCATION_PARTS, ColocationInputs, clusters, clusters_of, gaps, gaps_of,
                                  load_colocation_inputs, long_haul, long_haul_of)
from symbiosis.errors import InputError, UnknownIdError
from symbiosis.factors import load_factors, load_resource_sectors
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.matching import (MatchingInputs, find_candidates, find_candidates_of, load_matching_inputs,
                                load_prices, load_substitutes, match, match_of)
from symbiosis.store import open_store

from .conftest import DATA

#: fixture folder -> files to import (in order) and its own factors, substitutes and prices (None: shipped)
FIXTURES = {
    "carbon": (["parks", "enterprises", "resources", "flows", "offers", "demands", "emissions", "energy_use",
                "offsets"], "factors.csv", None, None),
    "sparse_match": (["parks", "enterprises", "flows", "offers", "demands"], "factors.csv", "substitutes.csv",
                     "prices.csv"),
    "matching": (["parks", "enterprises", "resources", "offers", "demands"], "factors.csv", "substitutes.csv",
                 "prices.csv"),
    "matching_existing": (["parks", "enterprises", "offers", "demands", "flows"], None, None, None),
    "good": (["parks", "enterprises", "flows"], None, None, None),
}
PURE_FUNCTIONS = (long_haul_of, clusters_of, gaps_of, find_candidates_of, match_of)


def _open_fixture(name: str, path: Path):
    """The fixture's store at ``path`` and its tables: factors, substitutes, prices, sectors, CO2 uses."""
    names, factors, substitutes, prices = FIXTURES[name]
    folder = DATA / name
    db = open_store(path)
    files = [folder / f"{table}.csv" for table in names]
    if name == "matching":  # the hand park's planned link (see tests/test_matching.py)
        files.append(DATA / "matching_existing" / "hand_planned_flows.csv")
    import_files(db, files)
    tables = {"factors": load_factors(folder / factors if factors else None),
              "substitutes": load_substitutes(folder / substitutes if substitutes else None),
              "prices": load_prices(folder / prices if prices else None),
              "sectors": load_resource_sectors(), "co2_uses": load_co2_uses()}
    return db, tables


@pytest.fixture(scope="module", params=sorted(FIXTURES))
def fixture_store(request, tmp_path_factory):
    db, tables = _open_fixture(request.param, tmp_path_factory.mktemp(request.param) / "store.db")
    parks = [None] + [park for (park,) in db.execute("SELECT id FROM parks ORDER BY id")]
    return db, tables, parks


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns, order, dtypes, values, index and notes."""
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.attrs == expected.attrs


def assert_same_matches(got, expected) -> None:
    assert_same(got.candidates, expected.candidates)
    assert_same(got.summary, expected.summary)
    assert_same(got.plan, expected.plan)
    assert (got.weights, got.method, got.notes) == (expected.weights, expected.method, expected.notes)


def test_colocation_pure_equals_db_first(fixture_store):
    db, tables, parks = fixture_store
    factors = tables["factors"]
    for park in parks:
        inputs = load_colocation_inputs(db, park)
        for radius_km in (50.0, 5.0):
            assert_same(long_haul_of(inputs, radius_km=radius_km, factors=factors),
                        long_haul(db, park=park, radius_km=radius_km, factors=factors))
        for weight in ("tco2e", "tonnes"):
            assert_same(clusters_of(inputs, radius_km=10.0, match_km=100.0, weight=weight, factors=factors),
                        clusters(db, park=park, radius_km=10.0, match_km=100.0, weight=weight, factors=factors))
        assert_same(gaps_of(inputs, sectors=tables["sectors"]), gaps(db, park=park, sectors=tables["sectors"]))


def test_matching_pure_equals_db_first(fixture_store):
    db, tables, parks = fixture_store
    shipped = {name: tables[name] for name in ("factors", "substitutes", "prices")}
    for park in parks:
        for radius_km in (50.0, 8.0):
            inputs = load_matching_inputs(db, park, radius_km=radius_km)
            assert_same(find_candidates_of(inputs, co2_uses=tables["co2_uses"], **shipped),
                        find_candidates(db, park=park, radius_km=radius_km, **shipped))
            for method in ("weighted_sum", "topsis"):
                assert_same_matches(match_of(inputs, method=method, co2_uses=tables["co2_uses"], **shipped),
                                    match(db, park=park, radius_km=radius_km, method=method, **shipped))
        inputs = load_matching_inputs(db, park)
        assert_same(find_candidates_of(inputs, max_offers=1, co2_uses=tables["co2_uses"], **shipped),
                    find_candidates(db, park=park, max_offers=1, **shipped))


@pytest.mark.parametrize("name, park", [("carbon", "hp"), ("carbon", None), ("sparse_match", "talk"),
                                        ("matching", "mp"), ("matching_existing", None)])
def test_pure_functions_run_after_the_store_is_closed(tmp_path, name, park):
    db, tables = _open_fixture(name, tmp_path / "store.db")
    factors, sectors = tables["factors"], tables["sectors"]
    shipped = {name: tables[name] for name in ("factors", "substitutes", "prices")}
    expected = {"long_haul": long_haul(db, park=park, factors=factors),
                "clusters": clusters(db, park=park, radius_km=10.0, factors=factors),
                "gaps": gaps(db, park=park, sectors=sectors),
                "candidates": find_candidates(db, park=park, **shipped),
                "match": match(db, park=park, **shipped)}
    colocation_inputs = load_colocation_inputs(db, park)
    matching_inputs = load_matching_inputs(db, park)
    db.close()
    with pytest.raises(sqlite3.ProgrammingError):  # the store is closed: any query would fail
        db.execute("SELECT 1")
    assert_same(long_haul_of(colocation_inputs, factors=factors), expected["long_haul"])
    assert_same(clusters_of(colocation_inputs, radius_km=10.0, factors=factors), expected["clusters"])
    assert_same(gaps_of(colocation_inputs, sectors=sectors), expected["gaps"])
    assert_same(find_candidates_of(matching_inputs, co2_uses=tables["co2_uses"], **shipped), expected["candidates"])
    assert_same_matches(match_of(matching_inputs, co2_uses=tables["co2_uses"], **shipped), expected["match"])


@pytest.mark.parametrize("function", PURE_FUNCTIONS, ids=lambda function: function.__name__)
def test_pure_functions_take_inputs_and_keyword_options(function):
    parameters = inspect.signature(function).parameters
    first, *options = parameters.values()
    assert "db" not in parameters
    assert first.name == "inputs" and first.annotation in ("ColocationInputs", "MatchingInputs")
    assert all(option.kind is inspect.Parameter.KEYWORD_ONLY for option in options)
    # the shipped tables are the caller's to load: none has a default that would read a file
    for table in ("factors", "substitutes", "prices", "co2_uses", "sectors"):
        if table in parameters:
            assert parameters[table].default is inspect.Parameter.empty, table


def _snapshot(inputs) -> dict:
    """Deep copies of the inputs' fields, to tell whether a pure function changed them."""
    return {name: copy.deepcopy(value) for name, value in vars(inputs).items()}


def _assert_unchanged(inputs, before: dict) -> None:
    for name, value in vars(inputs).items():
        if isinstance(value, pd.DataFrame):
            assert_same(value, before[name])
        elif isinstance(value, nx.MultiDiGraph):
            assert nx.utils.edges_equal(value.edges(keys=True, data=True), before[name].edges(keys=True, data=True))
            assert dict(value.nodes(data=True)) == dict(before[name].nodes(data=True))
        else:
            assert value == before[name], name


def test_pure_functions_leave_their_inputs_as_they_were(tmp_path):
    db, tables = _open_fixture("sparse_match", tmp_path / "store.db")
    factors, sectors = tables["factors"], tables["sectors"]
    shipped = {name: tables[name] for name in ("factors", "substitutes", "prices")}
    colocation_inputs, matching_inputs = load_colocation_inputs(db), load_matching_inputs(db)
    before = (_snapshot(colocation_inputs), _snapshot(matching_inputs))
    first = (long_haul_of(colocation_inputs, factors=factors), clusters_of(colocation_inputs, factors=factors),
             gaps_of(colocation_inputs, sectors=sectors),
             find_candidates_of(matching_inputs, co2_uses=tables["co2_uses"], **shipped))
    matches = match_of(matching_inputs, co2_uses=tables["co2_uses"], **shipped)
    _assert_unchanged(colocation_inputs, before[0])
    _assert_unchanged(matching_inputs, before[1])
    again = (long_haul_of(colocation_inputs, factors=factors), clusters_of(colocation_inputs, factors=factors),
             gaps_of(colocation_inputs, sectors=sectors),
             find_candidates_of(matching_inputs, co2_uses=tables["co2_uses"], **shipped))
    for got, expected in zip(again, first):
        assert_same(got, expected)
    assert_same_matches(match_of(matching_inputs, co2_uses=tables["co2_uses"], **shipped), matches)
    assert len(first[3]) > 0 and len(first[0]) > 0  # the comparison stood on candidates and long hauls


def test_colocation_loader_reads_the_parts_asked_for(tmp_path):
    db, tables = _open_fixture("carbon", tmp_path / "store.db")
    G = load_graph(db, park="hp", status=["existing", "potential"])
    given = load_colocation_inputs(db, "hp", G=G, parts=("long_haul",))
    assert isinstance(given, ColocationInputs) and given.G is G  # the caller's graph, not loaded again
    assert given.parts == frozenset({"long_haul"}) and given.gap_offers is None and given.enterprises is None
    only_gaps = load_colocation_inputs(db, "hp", parts=("gaps",))
    assert only_gaps.G is None and only_gaps.centres is None  # gaps need no graph
    with pytest.raises(InputError, match="read with 'long_haul'"):
        long_haul_of(only_gaps, factors=tables["factors"])
    with pytest.raises(InputError, match="read with 'clusters'"):
        clusters_of(given, factors=tables["factors"])
    with pytest.raises(InputError, match="read with 'gaps'"):
        gaps_of(given, sectors=tables["sectors"])
    with pytest.raises(InputError, match="unknown co-location input 'loops'"):
        load_colocation_inputs(db, "hp", parts=("loops",))
    assert set(load_colocation_inputs(db, "hp").parts) == set(COLOCATION_PARTS)
    # like gaps(), a gaps-only read of a park that is not there finds nothing rather than failing
    assert gaps_of(load_colocation_inputs(db, "nowhere", parts=("gaps",)), sectors=tables["sectors"]).empty
    with pytest.raises(UnknownIdError):
        load_colocation_inputs(db, "nowhere")
    with pytest.raises(InputError, match="radius_km must not be negative"):
        long_haul_of(given, radius_km=-1.0, factors=tables["factors"])


def test_matching_loader_reads_within_its_radius(tmp_path):
    db, tables = _open_fixture("matching", tmp_path / "store.db")
    shipped = {name: tables[name] for name in ("factors", "substitutes", "prices")}
    inputs = load_matching_inputs(db, "mp", radius_km=8.0)
    assert isinstance(inputs, MatchingInputs) and inputs.radius_km == 8.0
    # the radius the inputs were read for is the one matched within (o2-d2 and o3-d1 lie 15.6 km apart)
    candidates = find_candidates_of(inputs, co2_uses=tables["co2_uses"], **shipped)
    pairs = set(zip(candidates["offer_firm"], candidates["demand_firm"]))
    assert pairs == {("o1", "d1"), ("o2", "d1"), ("o1", "d2"), ("o3", "d2")}
    with pytest.raises(UnknownIdError):
        load_matching_inputs(db, "nowhere")
    for radius_km in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(InputError, match="radius_km must be a positive finite number"):
            load_matching_inputs(db, "mp", radius_km=radius_km)
