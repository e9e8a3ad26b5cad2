import json

import networkx as nx
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.datasets import dataset_files
from symbiosis.errors import InputError
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.loops import find_loops, strongly_connected
from symbiosis.store import open_store


def _edge(G, u, v, resource, currency, quantity, unit):
    G.add_node(u, name=u.upper(), boundary=False)
    G.add_node(v, name=v.upper(), boundary=False)
    G.add_edge(u, v, key=f"{u}>{v}:{resource}", resource=resource, kind=currency, currency=currency,
               quantity=quantity, unit=unit)


@pytest.fixture
def small():
    G = nx.MultiDiGraph()
    _edge(G, "a", "b", "steam", "energy", 100.0, "MWh/yr")
    _edge(G, "b", "a", "condensate_heat", "energy", 30.0, "MWh/yr")
    _edge(G, "b", "c", "slag", "mass", 50.0, "t/yr")
    _edge(G, "c", "a", "lime", "mass", 20.0, "t/yr")
    _edge(G, "a", "b", "ash", "mass", 70.0, "t/yr")
    _edge(G, "c", "d", "water", "water", 5.0, "m3/yr")  # no way back from d: no loop
    G.add_node("boundary:out:export", boundary=True)
    _edge(G, "d", "e", "water", "water", 5.0, "m3/yr")
    G.add_edge("e", "boundary:out:export", currency="water", resource="water", kind="water", quantity=5.0,
               unit="m3/yr")
    G.add_edge("boundary:out:export", "a", currency="water", resource="water", kind="water", quantity=5.0,
               unit="m3/yr")  # a boundary node never closes a loop
    return G


def test_loops_by_currency_with_bottleneck_and_order(small):
    loops = find_loops(small).loops
    assert loops[["currency", "members", "bottleneck"]].values.tolist() == [
        ["mass", "a -> b -> c", 20.0],  # ash 70, slag 50, lime 20
        ["energy", "a -> b", 30.0],  # steam 100, back 30
    ]  # a cycle that closes in one currency is not listed again as mixed
    mass = loops.iloc[0]
    assert mass["names"] == "A -> B -> C" and mass["unit"] == "t/yr" and mass["resources"] == "ash, lime, slag"
    assert "A -> B: ash (70 t/yr)" in mass["links"]
    assert "boundary:out:export" not in " ".join(loops["members"])


def test_mixed_loop_has_no_bottleneck():
    G = nx.MultiDiGraph()
    _edge(G, "p", "r", "steam", "energy", 10.0, "MWh/yr")
    _edge(G, "r", "p", "cooling_water", "water", 700.0, "m3/yr")
    loops = find_loops(G).loops
    assert loops.iloc[0]["currency"] == "mixed" and pd.isna(loops.iloc[0]["bottleneck"])
    assert loops.iloc[0]["resources"] == "cooling_water, steam"


def test_unknown_link_leaves_bottleneck_unknown_and_ranks_last():
    G = nx.MultiDiGraph()
    _edge(G, "a", "b", "x", "mass", None, "t/yr")
    _edge(G, "b", "a", "y", "mass", 3.0, "t/yr")
    _edge(G, "c", "d", "x", "mass", 1.0, "t/yr")
    _edge(G, "d", "c", "y", "mass", 1.0, "t/yr")
    loops = find_loops(G).loops
    assert loops["members"].tolist() == ["c -> d", "a -> b"]
    assert loops.iloc[1]["unknown_links"] == 1 and pd.isna(loops.iloc[1]["bottleneck"])
    assert "quantity unknown" in loops.iloc[1]["links"]


def test_cap_and_length_bound():
    G = nx.MultiDiGraph()
    for u, v in nx.complete_graph(8, create_using=nx.DiGraph).edges():
        _edge(G, f"n{u}", f"n{v}", "w", "water", float(u + v), "m3/yr")
    capped = find_loops(G, max_length=4, limit=50)
    assert capped.capped and len(capped.loops) == 50 and "stopped at 50" in capped.notes[0]
    bounded = find_loops(G, max_length=2, limit=10_000)
    assert not bounded.capped and len(bounded.loops) == 28  # one 2-cycle per pair of 8 nodes
    assert bounded.loops["length"].max() == 2
    with pytest.raises(InputError):
        find_loops(G, max_length=0)


def test_components(small):
    components = strongly_connected(small)
    assert components.to_dict("records") == [{"component": 1, "size": 3, "members": "a, b, c"}]


@pytest.fixture(scope="module")
def kalundborg(tmp_path_factory):
    db = open_store(tmp_path_factory.mktemp("kal") / "kal.db")
    import_files(db, dataset_files("kalundborg"))
    return db


def test_kalundborg_power_station_and_refinery_loop(kalundborg):
    loops = find_loops(load_graph(kalundborg, park="kalundborg", status="existing")).loops
    pair = loops[loops["members"] == "asnaes_ps -> refinery"]
    energy = pair[pair["currency"] == "energy"].iloc[0]
    assert energy["names"] == "Asnæs Power Station (Ørsted) -> Kalundborg Refinery (Equinor)"
    assert energy["resources"] == "refinery_gas, steam"
    # the same two firms also close mixed loops through the utility (water back, heat out)
    assert (loops["currency"] == "mixed").sum() > 0
    water = loops[loops["currency"] == "water"]
    assert "kalundborg_forsyning -> novozymes" in water["members"].tolist()


def test_cli_loops_and_metrics(kalundborg, tmp_path):
    db_file = kalundborg.execute("PRAGMA database_list").fetchone()[2]
    runner = CliRunner()
    result = runner.invoke(cli, ["loops", "--db", db_file, "--park", "kalundborg", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["search"][0]["capped"] is False and data["components"][0]["size"] == 6
    assert any(loop["members"] == "asnaes_ps -> refinery" for loop in data["loops"])
    table = runner.invoke(cli, ["loops", "--db", db_file, "--park", "kalundborg", "--limit", "2", "--max-length", "3"])
    assert table.exit_code == 0 and "Asnæs Power Station (Ørsted) -> Kalundborg Refinery (Equinor)" in table.output
    assert "stopped at 2 loops" in table.output
    metrics = runner.invoke(cli, ["metrics", "--db", db_file, "--park", "kalundborg", "--format", "json"])
    rows = {row["currency"]: row for row in json.loads(metrics.stdout)["metrics"]}
    assert rows["energy"]["cyclicity"] == pytest.approx(1.0) and rows["mass"]["nodes"] > 5
    assert rows["water"]["flows_without_quantity"] > 0 and rows["water"]["throughflow"] == "input"
    shown = runner.invoke(cli, ["metrics", "--db", db_file, "--park", "kalundborg"])
    assert shown.exit_code == 0 and "cyclicity" in shown.output and "FCI" in shown.output


def test_capped_search_lists_the_same_loops_whatever_the_hash_seed():
    # String hashes differ between processes; with a cap, which loops are listed must not.
    import os
    import subprocess
    import sys

    code = (
        "import json, networkx as nx\n"
        "from symbiosis.loops import find_loops\n"
        "G = nx.MultiDiGraph()\n"
        "firms = [f'firm-{n}' for n in range(9)]\n"
        "for u in firms:\n"
        "    for v in firms:\n"
        "        if u != v:\n"
        "            G.add_edge(u, v, key=f'{u}>{v}', resource='steam', kind='energy', currency='energy',\n"
        "                       quantity=1.0, unit='MWh/yr')\n"
        "print(json.dumps(find_loops(G, max_length=4, limit=25).loops['members'].tolist()))\n"
    )
    listed = []
    for seed in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        listed.append(json.loads(done.stdout))
    assert len(listed[0]) == 25
    assert listed[0] == listed[1] == listed[2]
