"""Round trip with generated data: files -> store -> graph -> export -> read back, nothing lost."""
import json
import string
import tempfile
from pathlib import Path

import networkx as nx
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbiosis.export import export_graph
from symbiosis.graph import load_graph
from symbiosis.ingest import import_files
from symbiosis.store import open_store

ids = st.text(alphabet=string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=8)
names = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")), min_size=1,
                max_size=20).map(str.strip).filter(bool)
UNITS = {"t/yr": 1.0, "kt/yr": 1000.0, "kt": 1000.0, "Mt": 1e6, "kg/d": 0.36525}


@st.composite
def parks_and_flows(draw):
    firms = draw(st.lists(ids, min_size=2, max_size=8, unique=True))
    firm_names = draw(st.lists(names, min_size=len(firms), max_size=len(firms)))
    n_flows = draw(st.integers(1, 15))
    flows = []
    for _ in range(n_flows):
        source = draw(st.sampled_from(firms + [""]))
        target = draw(st.sampled_from([firm for firm in firms if firm != source] + ([""] if source else [])))
        flows.append({
            "source_id": source, "target_id": target,
            "resource_code": draw(st.sampled_from(["fly_ash", "fgd_gypsum", "scrap_steel", "wastewater_sludge"])),
            "quantity": draw(st.one_of(st.none(), st.floats(0, 1e7, allow_nan=False).map(lambda x: round(x, 3)))),
            "unit": draw(st.sampled_from(sorted(UNITS))),
            "year": draw(st.sampled_from([2020, 2021, 2022, 2023])),
        })
    frame = pd.DataFrame(flows).drop_duplicates(["source_id", "target_id", "resource_code", "year"])
    return firms, firm_names, frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parks_and_flows())
def test_file_store_graph_export_round_trip(data):
    firms, firm_names, flows = data
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        pd.DataFrame({"id": firms, "name": firm_names}).to_csv(folder / "enterprises.csv", index=False)
        flows.to_csv(folder / "flows.csv", index=False)
        db = open_store(folder / "store.db")
        import_files(db, [folder / "enterprises.csv", folder / "flows.csv"])
        G = load_graph(db)
        assert G.number_of_edges() == len(flows)
        for firm, name in zip(firms, firm_names):
            assert G.nodes[firm]["name"] == name
        expected = {}
        for row in flows.itertuples():
            key = f"{row.source_id}>{row.target_id}:{row.resource_code}:{row.year}"
            expected[key] = None if pd.isna(row.quantity) else row.quantity * UNITS[row.unit]
        got = {key: data["quantity"] for *_, key, data in G.edges(keys=True, data=True)}
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert (got[key] is None) if value is None else abs(got[key] - value) <= 1e-9 * max(1.0, value)

        export_graph(G, folder / "g.json")
        back = nx.node_link_graph(json.loads((folder / "g.json").read_text(encoding="utf-8")), edges="edges")
        assert {k: d["quantity"] for *_, k, d in back.edges(keys=True, data=True)} == got
        export_graph(G, folder / "g.graphml")
        assert nx.read_graphml(folder / "g.graphml", force_multigraph=True).number_of_edges() == len(flows)
        # and importing the same files again changes nothing
        report = import_files(db, [folder / "enterprises.csv", folder / "flows.csv"])
        assert all(file.inserted == file.updated == 0 for file in report.files)
        db.conn.close()
