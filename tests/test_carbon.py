"""Carbon balance, absorption nodes and allocation on a small park computed by hand
(tests/data/carbon; the road-freight factor is set to 0.0001 t/tkm in its factors.csv)."""
import pytest

from symbiosis.carbon import absorption_nodes, allocate_co2, carbon_balance, greedy_allocation
from symbiosis.graph import load_graph


def test_balance_by_hand(hand):
    db, factors = hand
    balance = carbon_balance(db, park="hp", factors=factors).set_index("id")
    # power station: reports 1000; passes 300 to capture and 700 to air; keeps nothing
    assert balance.loc["pow", ["emitted_t", "absorbed_t", "co2_sent_t", "co2_to_air_t"]].tolist() == [1000, 0, 300, 700]
    # capture unit: receives 300, sends 200 + 80 on and vents 20: absorbs nothing itself
    assert balance.loc["cap", "absorbed_t"] == 0 and balance.loc["cap", "captured_t"] == 300
    # greenhouse keeps its 200 t but reports no emissions: emitted is missing, not zero
    assert balance.loc["gh", "absorbed_t"] == 200
    assert balance.loc["gh", "emitted_t"] is None or balance.isna().loc["gh", "emitted_t"]
    assert balance.isna().loc["gh", "net_t"]
    # methanol keeps 80 of CO2; emits 50 + 10. The fixture gives no sector, so its use is unclassified:
    # utilised (back in the air soon), never stored, and its net takes nothing off for it
    assert balance.loc["meoh", ["emitted_t", "absorbed_t", "stored_t", "utilised_t", "net_t"]].tolist() == \
        [60, 80, 0, 80, 60]
    assert balance.loc["meoh", "co2_use"] == "unclassified"
    # capture and storage on site: 100 captured and no CO2 leaves: stored for good
    assert balance.loc["stor", ["absorbed_t", "stored_t", "utilised_t"]].tolist() == [100, 100, 0]
    # the capture unit vents 20 of the CO2 it received: released again, not kept
    assert balance.loc["cap", "vented_t"] == 20
    # cement receives 1000 t fly ash: 1000 x 0.5 = 500 avoided, minus 1000 t x 100 km x 0.0001 = 10
    assert balance.loc["cem", ["avoided_gross_t", "transport_t", "avoided_t"]].tolist() == pytest.approx([500, 10, 490])
    assert balance.loc["cem", "net_t"] == pytest.approx(800 - 490)
    assert balance["emitted_t"].sum() == 1980 and balance["absorbed_t"].sum() == 380


def test_absorption_nodes_rank_and_share(hand):
    db, factors = hand
    balance = carbon_balance(db, park="hp", factors=factors)
    nodes = absorption_nodes(balance, load_graph(db, park="hp", status="existing"), db)
    # stored first (stor 100), then utilised (gh 200, meoh 80), then by-product savings (cem 490)
    assert nodes["id"].tolist() == ["stor", "gh", "meoh", "cem"]
    assert nodes["utilised_rank"].tolist() == [None, 1, 2, None]
    # the park view: scope 1 once 1000 + 50 + 800 + 100 (the capture unit's 20 t are the power station's
    # CO2 vented again) - 100 stored + 10 scope 2 of methanol = 1,860 t
    assert nodes.iloc[0]["stored_share_of_park_emissions"] == pytest.approx(100 / 1860)
    assert nodes["carbon_pagerank"].notna().sum() >= 3


def test_allocation_beats_nearest_first(hand):
    db, factors = hand
    allocation = allocate_co2(db, park="al", max_km=7, factors=factors)
    pairs = {(row.emitter_id, row.absorber_id): row.tonnes for row in allocation.pairs.itertuples()}
    # e1-a1 is the nearest pair (1.1 km); taking it first strands e2, whose only reachable absorber is a1
    # (e2-a2 is 8.3 km, beyond 7). The min-cost flow sends e1 to a2 and e2 to a1: 200 t instead of 100.
    assert pairs == {("e1", "a2"): 100.0, ("e2", "a1"): 100.0}
    summary = allocation.summary.iloc[0]
    assert summary["allocated_t"] == 200 and summary["allocated_greedy_t"] == 100
    assert allocation.pairs["tkm"].sum() == pytest.approx(100 * 5.5597 + 100 * 1.6679, rel=1e-3)


def test_greedy_rule_itself():
    taken = greedy_allocation([100, 100], [100, 100], [(0, 0, 1.1), (1, 0, 1.7), (0, 1, 5.6)])
    assert taken == [((0, 0, 1.1), 100.0)]


def test_allocation_counts_existing_absorption_and_open_demand(hand):
    db, factors = hand
    summary = allocate_co2(db, park="hp", factors=factors).summary.iloc[0]
    # the greenhouse demands 200 and already receives 200: nothing open, nothing offered in this park
    assert summary["demand_open_t"] == 0 and summary["allocated_t"] == 0
    # park view: 1,860 t (see test_absorption_nodes_rank_and_share); 100 t stored on site, 280 t utilised
    assert summary["emitted_t"] == 1860
    assert summary["stored_existing_t"] == 100 and summary["utilised_existing_t"] == 280
    assert summary["absorbable_share"] == pytest.approx(100 / 1860)
    assert summary["unabsorbed_t"] == pytest.approx(1760)


def test_large_allocations_take_the_lp_path_with_the_same_answer(monkeypatch):
    from symbiosis import carbon

    supply, demand = [100, 100], [100, 100]
    candidates = [(0, 0, 1.1), (1, 0, 1.7), (0, 1, 5.6)]
    small = dict(((e, a), t) for (e, a, _), t in carbon._min_cost_flow(supply, demand, candidates))
    monkeypatch.setattr(carbon, "NETWORKX_LIMIT", 0)
    large = dict(((e, a), t) for (e, a, _), t in carbon._min_cost_flow(supply, demand, candidates))
    assert small == large == {(0, 1): 100.0, (1, 0): 100.0}
