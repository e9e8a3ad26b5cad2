"""Issue 20: one fan-out for every per-park run (symbiosis.fanout): in this process, on the local pool, on a
real Dask cluster (a scheduler and workers started as processes on 127.0.0.1), with per-park errors, per-park
seeds, and resume after an interrupted run.

The cluster tests need dask.distributed (the test extra has it); without it they are skipped, except under
CI, where they must run.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from symbiosis.fanout import FanOutError, run_by_park
from symbiosis.generate import generate_dataset
from symbiosis.ingest import import_files
from symbiosis.pipeline import AnalysisOptions
from symbiosis.sampling import park_seed
from symbiosis.store import open_store

REPO = Path(__file__).resolve().parent.parent
FILES = ("parks.csv", "enterprises.csv", "flows.csv", "offers.csv", "demands.csv", "emissions.csv",
         "energy_use.csv", "offsets.csv")


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Path:
    """A small generated national store: 24 parks, 1,200 firms, 6,000 flows (seed 5)."""
    folder = tmp_path_factory.mktemp("national")
    generate_dataset(folder, parks=24, firms=1200, flows=6000, seed=5)
    db_path = folder / "national.db"
    db = open_store(db_path)
    import_files(db, [folder / name for name in FILES])
    db.conn.close()  # the last connection: SQLite folds the write-ahead log into the file, which is then copied
    return db_path


@pytest.fixture
def store(national, tmp_path) -> Path:
    """A fresh copy of the national store for a test that records runs in it."""
    path = tmp_path / "national.db"
    shutil.copy(national, path)
    return path


def _json(*arguments: str) -> dict | list:
    result = CliRunner().invoke(cli, [*arguments, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_this_process_and_the_local_pool_give_the_same_tables(store):
    alone = run_by_park(store, "carbon", jobs=1, record=False)
    pooled = run_by_park(store, "carbon", jobs=2, record=False)
    assert alone.computed == pooled.computed == 24 and alone.failures.empty
    for name in ("park_view", "park_totals"):
        assert alone.tables[name].to_dict("records") == pooled.tables[name].to_dict("records")


def test_a_recorded_run_is_stored_once_per_park_and_resume_reuses_it(store):
    first = run_by_park(store, "metrics", jobs=2)
    db = open_store(store)
    assert db.execute("SELECT count(*), count(DISTINCT park_id) FROM park_results WHERE run_id = ?",
                      [first.run_id]).fetchone() == (24, 24)
    again = run_by_park(store, "metrics", jobs=2, resume=True)
    assert (again.run_id, again.reused, again.computed) == (first.run_id, 24, 0)
    assert again.tables["metrics"].to_dict("records") == first.tables["metrics"].to_dict("records")
    with pytest.raises(FanOutError, match="no earlier scorecard run"):
        run_by_park(store, "scorecard", resume=True)


def test_stored_runs_are_listed_and_dropped_with_their_results(store):
    first = run_by_park(store, "metrics", jobs=1)
    second = run_by_park(store, "carbon", jobs=1)
    listed = _json("runs", "list", "--db", str(store))
    assert [(row["run"], row["command"], row["parks"], row["done"], row["failed"]) for row in listed] == [
        (second.run_id, "carbon", 24, 24, 0), (first.run_id, "metrics", 24, 24, 0)]
    assert all(row["finished_at"] and row["result_kib"] > 0 for row in listed)
    result = CliRunner().invoke(cli, ["runs", "drop", str(first.run_id), "--db", str(store)])
    assert result.exit_code == 0 and "dropped 1 run(s)" in result.stderr
    db = open_store(store)
    assert db.execute("SELECT count(*) FROM park_results WHERE run_id = ?", [first.run_id]).fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM park_results WHERE run_id = ?", [second.run_id]).fetchone() == (24,)
    missing = CliRunner().invoke(cli, ["runs", "drop", "999", "--db", str(store)])
    assert missing.exit_code == 1 and "no run 999" in missing.output
    assert CliRunner().invoke(cli, ["runs", "drop", "--db", str(store)]).exit_code == 2
    assert CliRunner().invoke(cli, ["runs", "drop", "--all", "--db", str(store)]).exit_code == 0
    assert _json("runs", "list", "--db", str(store)) == []


def test_a_park_that_fails_is_named_and_the_others_go_on(store, monkeypatch):
    """One park's analysis raising (here made to) is recorded with its error; the others' figures are printed and
    the command exits 1."""
    import symbiosis.fanout as fanout

    victim = open_store(store).execute("SELECT id FROM parks ORDER BY id LIMIT 1 OFFSET 3").fetchone()[0]
    metrics = fanout.PARK_COMMANDS["metrics"]

    def breaks_on_one_park(db, park, options):
        if park == victim:
            raise ValueError("a figure the analysis cannot read")
        return metrics(db, park, options)

    monkeypatch.setitem(fanout.PARK_COMMANDS, "metrics", breaks_on_one_park)
    result = CliRunner().invoke(cli, ["metrics", "--by-park", "--jobs", "1", "--db", str(store), "--format", "json"])
    assert result.exit_code == 1
    assert f"failed: park {victim}: ValueError: a figure the analysis cannot read" in result.stderr
    assert "1 of 24 parks failed" in result.stderr
    rows = json.loads(result.stdout)
    assert len({row["park_id"] for row in rows}) == 23 and victim not in {row["park_id"] for row in rows}
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT status, error FROM park_results WHERE park_id = ?", [victim]).fetchone() == (
            "failed", "ValueError: a figure the analysis cannot read")
    # resuming computes the failed park again (and only it)
    monkeypatch.setitem(fanout.PARK_COMMANDS, "metrics", metrics)
    resumed = CliRunner().invoke(cli, ["metrics", "--by-park", "--jobs", "1", "--resume", "--db", str(store),
                                       "--format", "json"])
    assert resumed.exit_code == 0 and "23 parks stored before, 1 computed now" in resumed.stderr
    assert len({row["park_id"] for row in json.loads(resumed.stdout)}) == 24


def test_samples_draw_per_park_seeds_whatever_the_number_of_processes(store):
    options = AnalysisOptions(samples=20, seed=11, default_quality="estimated")
    one = run_by_park(store, "metrics", jobs=1, options=options, record=False)
    two = run_by_park(store, "metrics", jobs=2, options=options, record=False)
    assert one.tables["intervals"].to_dict("records") == two.tables["intervals"].to_dict("records")
    intervals = one.tables["intervals"]
    assert intervals["low"].notna().any() and set(intervals["park_id"]) == set(one.tables["metrics"]["park_id"])
    # a park's draws depend on its own seed only: the same park alone gives the same intervals
    park = intervals["park_id"].iloc[0]
    alone = run_by_park(store, "metrics", [park], jobs=1, options=options, record=False).tables["intervals"]
    assert alone.to_dict("records") == intervals[intervals["park_id"] == park].to_dict("records")
    assert park_seed(11, park) != park_seed(11, "another park")
    # and the park asked on its own (metrics --park) draws the same: one seed per park, whichever command
    single = _json("metrics", "--park", park, "--samples", "20", "--seed", "11", "--default-quality", "estimated",
                   "--db", str(store))
    by_park = {row["figure"]: (row["median"], row["low"], row["high"])
               for row in intervals[intervals["park_id"] == park].to_dict("records")}
    alone_figures = {row["figure"]: (row["median"], row["low"], row["high"]) for row in single["intervals"]}
    assert by_park and alone_figures.keys() == by_park.keys()
    for figure, numbers in by_park.items():  # the command prints 10 decimals
        assert alone_figures[figure] == pytest.approx(numbers, rel=1e-9, abs=1e-9, nan_ok=True), figure


def test_scheduler_without_dask_says_how_to_install_it(store, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    result = CliRunner().invoke(cli, ["metrics", "--by-park", "--scheduler", "tcp://127.0.0.1:1", "--db", str(store)])
    assert result.exit_code == 1
    assert "pip install 'park-symbiosis[dask]'" in result.output and "Traceback" not in result.output
    # everything else works without it
    assert CliRunner().invoke(cli, ["metrics", "--by-park", "--jobs", "1", "--db", str(store)]).exit_code == 0


# ---------------------------------------------------------------------------------------------------
# a real cluster: a scheduler and two workers, each its own process on 127.0.0.1


def _dask_or_skip():
    try:
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("dask.distributed is not installed (pip install -e '.[test]')")


def _worker(scheduler_file: Path, name: str, log: Path, *preload: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file), "--nthreads",
         "1", "--no-nanny", "--no-dashboard", "--name", name, "--host", "127.0.0.1", *preload],
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture
def cluster(tmp_path):
    """A Dask scheduler and two workers as separate processes on 127.0.0.1 (killed afterwards): the scheduler
    and the first worker started as the README says (``--preload symbiosis.fanout``), the second without."""
    _dask_or_skip()
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--dashboard-address", ":0", "--scheduler-file", str(scheduler_file), "--preload", "symbiosis.fanout"],
        stdout=(tmp_path / "scheduler.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    processes = [scheduler]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists():
        assert time.monotonic() < deadline and scheduler.poll() is None, (tmp_path / "scheduler.log").read_text()
        time.sleep(0.1)
    workers = [_worker(scheduler_file, "w1", tmp_path / "w1.log", "--preload", "symbiosis.fanout"),
               _worker(scheduler_file, "w2", tmp_path / "w2.log")]
    processes += workers
    address = json.loads(scheduler_file.read_text())["address"]
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    try:
        yield address, workers
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _loaded(module: str) -> bool:
    return module in sys.modules


def test_a_preloaded_worker_has_the_analyses_before_its_first_task(cluster):
    """``--preload symbiosis.fanout``: a worker imports the analyses and finds its BLAS libraries at start
    (dask_setup); the scheduler, which unpickles every task, imports the fan-out (and with it the options'
    class) but no analysis; a worker started without it has none of them until a task comes."""
    from distributed import Client

    address, _ = cluster
    with Client(address, timeout="30s") as client:
        names = {info["name"]: worker for worker, info in client.scheduler_info(n_workers=-1)["workers"].items()}
        assert client.run(_loaded, "symbiosis.metrics", workers=[names["w1"]]) == {names["w1"]: True}
        assert client.run(_loaded, "symbiosis.metrics", workers=[names["w2"]]) == {names["w2"]: False}
        assert client.run_on_scheduler(_loaded, "symbiosis.pipeline")
        assert not client.run_on_scheduler(_loaded, "symbiosis.metrics")


def test_metrics_and_carbon_by_park_on_a_cluster_equal_the_local_run(cluster, store):
    address, _ = cluster
    for command, tables in (("metrics", None), ("carbon", ("park_view_by_park", "park_totals_by_park")),
                            ("compare", ("figures", "contributions"))):
        extra = ["--attribute", "3"] if command == "compare" else []
        local = _json(command, "--by-park", "--jobs", "2", *extra, "--db", str(store))
        remote = _json(command, "--by-park", "--scheduler", address, *extra, "--db", str(store))
        assert remote == local, command
        if tables:
            assert all(len(remote[name]) > 0 for name in tables)


def test_samples_on_one_worker_and_on_two_are_the_same(cluster, store):
    address, workers = cluster
    arguments = ["metrics", "--by-park", "--samples", "15", "--seed", "4", "--default-quality", "estimated",
                 "--scheduler", address, "--db", str(store)]
    two = _json(*arguments)
    os.killpg(workers[1].pid, signal.SIGKILL)
    workers[1].wait(timeout=30)
    one = _json(*arguments)
    assert one == two and len(two["intervals"]) > 0
    assert one == _json("metrics", "--by-park", "--samples", "15", "--seed", "4", "--default-quality", "estimated",
                        "--jobs", "1", "--db", str(store))


def test_a_worker_killed_mid_run_changes_nothing(cluster, store):
    """Dask runs the dead worker's tasks again on the other; the figures equal an undisturbed local run's."""
    from distributed import Client

    address, workers = cluster
    arguments = ["carbon", "--by-park", "--samples", "20", "--default-quality", "estimated", "--db", str(store),
                 "--format", "json"]
    reference = _json(*arguments[:-2], "--jobs", "1")
    run = subprocess.Popen([sys.executable, "-m", "cli", *arguments, "--scheduler", address], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    with Client(address, timeout="30s") as watcher:
        names = {worker: info["name"] for worker, info in watcher.scheduler_info()["workers"].items()}
        deadline = time.monotonic() + 120
        while killed is None and run.poll() is None and time.monotonic() < deadline:
            busy = [names.get(worker) for worker, tasks in watcher.processing().items() if tasks]
            if busy and busy[0] in ("w1", "w2"):
                killed = workers[int(busy[0][1]) - 1]
                os.killpg(killed.pid, signal.SIGKILL)
            time.sleep(0.02)
    assert killed is not None, "no task was seen running"
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert json.loads(out) == reference


# ---------------------------------------------------------------------------------------------------
# interrupted runs


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_run_resumes_and_the_store_holds_each_park_once(store, how):
    arguments = ["scorecard", "--by-park", "--jobs", "1", "--samples", "8", "--default-quality", "estimated",
                 "--db", str(store)]
    reference = _json(*arguments)
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM park_results")
        db.execute("DELETE FROM runs")
    run = subprocess.Popen([sys.executable, "-m", "cli", *arguments, "--format", "json"], cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = sqlite3.connect(store, timeout=30)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        if db.execute("SELECT count(*) FROM park_results").fetchone()[0]:
            break  # a batch is stored: interrupt now
        time.sleep(0.02)
    assert run.poll() is None, "the run ended before it could be interrupted"
    run.send_signal(how)
    run.wait(timeout=60)
    assert run.returncode != 0
    stored = db.execute("SELECT count(*) FROM park_results").fetchone()[0]
    assert 0 < stored < 24
    db.close()
    resumed = CliRunner().invoke(cli, [*arguments, "--resume", "--format", "json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout) == reference
    assert f"{stored} parks stored before" in resumed.stderr
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        run_id = db.execute("SELECT max(id) FROM runs").fetchone()[0]
        assert db.execute("SELECT count(*), count(DISTINCT park_id) FROM park_results WHERE run_id = ?",
                          [run_id]).fetchone() == (24, 24)


def test_compare_by_park_gives_each_parks_figures_as_compare_does_for_one(store):
    document = _json("compare", "--by-park", "--jobs", "2", "--attribute", "0", "--db", str(store))
    parks = {row["park_id"] for row in document["figures"]}
    assert len(parks) == 24
    park = sorted(parks)[5]
    alone = _json("compare", "--park", park, "--attribute", "0", "--db", str(store))
    mine = [{key: value for key, value in row.items() if key != "park_id"} for row in document["figures"]
            if row["park_id"] == park]
    assert mine == alone["figures"]
    result = CliRunner().invoke(cli, ["compare", "--by-park", "--scenario", "my-file.csv", "--db", str(store)])
    assert result.exit_code == 2 and "built-in scenarios" in result.output


def test_one_copier_copies_every_park_as_park_copy_does(store):
    """What a cluster worker gets for each park (one ParkCopier for the run) is what park_copy makes of the
    park alone, table by table in row order, from a store on disk and from an in-memory store (whose rows go
    through Python); and the analyses on the copy give the store's figures."""
    from sqlite_utils import Database

    from symbiosis.fanout import park_result
    from symbiosis.scenarios import ParkCopier, park_copy

    def rows(db) -> dict:
        return {table: db.execute(f"SELECT * FROM [{table}] ORDER BY rowid").fetchall()
                for table in db.table_names() if table != "imports"}

    db = open_store(store)
    in_memory = open_store(":memory:")
    db.conn.backup(in_memory.conn)
    parks = [park for (park,) in db.execute("SELECT id FROM parks ORDER BY id")]
    for source in (db, in_memory):
        copier = ParkCopier(source)
        for park in parks:
            shipped = sqlite3.connect(":memory:")
            shipped.deserialize(copier.payload(park))
            alone = rows(park_copy(source, park))
            assert rows(Database(shipped)) == alone, park
            assert alone["enterprises"] and alone["flows"], park
    first = run_by_park(store, "carbon", parks[:3], jobs=1, record=False)
    for park in parks[:3]:
        copy = sqlite3.connect(":memory:")
        copy.deserialize(ParkCopier(db).payload(park))
        result = park_result("carbon", Database(copy), park, AnalysisOptions())
        assert result["tables"]["park_totals"] == first.tables["park_totals"][
            first.tables["park_totals"]["park_id"] == park].to_dict("records"), park


def test_a_shipped_park_holds_what_its_matchmaking_reads(store):
    """A cluster worker gets the park's rows and, for compare, the offers and demands of the firms within the
    matching radius: the plan (and every figure) on the shipped rows equals the plan on the store, for parks
    whose plan reaches into a neighbouring park (here: the second park's firms moved 5 km from the first's)."""
    from symbiosis.compare import compare_scenarios
    from symbiosis.fanout import park_payload
    from symbiosis.scenarios import built_in

    db = open_store(store)
    parks = [park for (park,) in db.execute("SELECT id FROM parks ORDER BY id")]
    centres = {park: db.execute("SELECT avg(lat), avg(lon) FROM enterprises WHERE park_id = ?", [park]).fetchone()
               for park in parks}
    with db.conn:  # every park's firms moved next to the first park's (a few km apart): neighbours everywhere
        for number, park in enumerate(parks[1:], start=1):
            db.execute("UPDATE enterprises SET lat = lat - ? + ?, lon = lon - ? + ? WHERE park_id = ?",
                       [centres[park][0], centres[parks[0]][0] + 0.01 * number, centres[park][1], centres[parks[0]][1],
                        park])
    crossing = parks
    checked = 0
    for park in crossing:
        on_store = compare_scenarios(db, park, [built_in("plan")], attribute=0, jobs=1)
        shipped = sqlite3.connect(":memory:")
        shipped.deserialize(park_payload(db, park, neighbours_km=AnalysisOptions().match_radius_km))
        from sqlite_utils import Database

        on_copy = compare_scenarios(Database(shipped), park, [built_in("plan")], attribute=0, jobs=1)
        assert on_copy.figures.to_dict("records") == on_store.figures.to_dict("records"), park
        plan = on_store.networks["plan"]
        outside = [key for u, v, key in plan.edges(keys=True) if str(key).startswith("match:")
                   and plan.nodes[u].get("park_id") != plan.nodes[v].get("park_id")]
        checked += bool(outside)
        if checked >= 2:
            break
    assert checked >= 1, "no park's plan reached a neighbouring park: the check proved nothing"


def test_reconcile_by_park_stores_each_parks_reconciliation_as_reconcile_does(store, tmp_path):
    alone_path = tmp_path / "alone.db"
    shutil.copy(store, alone_path)
    document = _json("reconcile", "--by-park", "--balanced", "all", "--jobs", "2", "--db", str(store))
    parks = sorted({row["park_id"] for row in document})
    assert len(parks) == 24 and all(row["reconciliation"] for row in document)
    park = parks[7]
    _json("reconcile", "--park", park, "--balanced", "all", "--db", str(alone_path))
    query = ("SELECT r.currency, e.flow_id, e.status, e.value, e.sd FROM estimates e JOIN reconciliations r "
             "ON r.id = e.reconciliation_id WHERE r.park_id = ? ORDER BY r.currency, e.flow_id")
    with sqlite3.connect(store) as db, sqlite3.connect(alone_path) as alone:
        assert db.execute(query, [park]).fetchall() == alone.execute(query, [park]).fetchall()
        assert db.execute("SELECT count(DISTINCT park_id) FROM reconciliations").fetchone()[0] == 24
    # the estimates are read by the other commands as any reconciliation's
    metrics = _json("metrics", "--park", park, "--estimates", "--db", str(store))
    assert metrics["metrics"]
