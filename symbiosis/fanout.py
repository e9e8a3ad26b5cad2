"""One fan-out for every per-park run: in this process, on a local process pool, or on a Dask cluster.

Parks are independent, so a national run (every park's metrics, carbon figures or scorecard, with or without
``--samples``) is one task per park. :func:`run_by_park` runs them

- in this process (``jobs=1``),
- on a local process pool (``jobs=N``, the default: every core), each worker opening the store itself, or
- on a Dask cluster (``scheduler="tcp://host:8786"``, or ``$SYMBIOSIS_SCHEDULER``): this process, the client,
  reads each park's inputs from the store as a small in-memory store of the park's rows
  (:func:`symbiosis.scenarios.park_copy`, serialised) and ships it with the task, so workers need no access
  to the store and no shared file system; they need the same ``symbiosis`` installed.

Every task runs the same function (:func:`park_result`) on the park's rows, so the figures are the same
whatever runs them. Results stream back as they are done, and the client writes them to the store (tables
``runs`` and ``park_results``), a batch at a time, each batch one transaction: a killed worker loses only
its task (Dask runs it again elsewhere), an interrupted client loses at most the batch not yet written, and
``resume=True`` computes only the parks a run with the same command, options and data has not stored. A
park whose analysis fails is recorded with its error, and the others go on.

With ``samples``, each park draws from its own seed, derived from the run's seed and the park's id
(:func:`symbiosis.sampling.park_seed`), so the figures do not depend on the number of workers or the order of
the parks, and equal the park's own (``--park``).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlite_utils

from .errors import InputError, SymbiosisError, UnknownIdError
from .pipeline import AnalysisOptions, analyse_park

__all__ = ["PARK_COMMANDS", "SCHEDULER_ENV", "ParkRun", "dask_setup", "drop_runs", "list_runs", "park_payload",
           "park_result", "run_by_park"]

log = logging.getLogger(__name__)

#: the environment variable naming the Dask scheduler when ``--scheduler`` is not given
SCHEDULER_ENV = "SYMBIOSIS_SCHEDULER"
#: results written to the store at a time (each batch one transaction), or what has come in after _FLUSH_S
_BATCH = 25
_FLUSH_S = 1.0
#: tasks in flight on a cluster at a time, per worker thread: the client ships each park's rows with its task,
#: and keeping a window open (not all 2,543 parks at once) bounds the client's memory
_WINDOW_PER_THREAD = 4


class FanOutError(SymbiosisError, RuntimeError):
    """A per-park run that cannot start or go on (no Dask, an unreachable scheduler, a resume that does not fit)."""


def _metrics(db: sqlite_utils.Database, park: str, options: AnalysisOptions) -> dict[str, list[dict]]:
    analysis = analyse_park(db, park, analyses=("metrics",), options=options)
    tables = {"metrics": [{"park_id": park, **row} for row in analysis.metric_rows or []]}
    if analysis.metric_intervals is not None:
        tables["intervals"] = _records(analysis.metric_intervals, park)
    return tables


def _carbon(db: sqlite_utils.Database, park: str, options: AnalysisOptions) -> dict[str, list[dict]]:
    from .carbon import park_totals

    analysis = analyse_park(db, park, analyses=("carbon",), options=options)
    tables = {"park_view": _records(analysis.inventory, park),
              "park_totals": _records(park_totals(analysis.balance) if analysis.balance is not None else None, park)}
    if analysis.carbon_intervals is not None:
        tables["intervals"] = _records(analysis.carbon_intervals, park)
    return tables


def _scorecard(db: sqlite_utils.Database, park: str, options: AnalysisOptions) -> dict[str, list[dict]]:
    analysis = analyse_park(db, park, analyses=("scorecard",), options=options)
    tables = {"scorecard": _records(analysis.scorecard, park)}
    if analysis.scorecard_intervals is not None:
        tables["intervals"] = _records(analysis.scorecard_intervals, park)
    return tables


def _compare(db: sqlite_utils.Database, park: str, options: AnalysisOptions, *, scenarios: Sequence[str] = (),
             attribute: int = 0) -> dict[str, list[dict]]:
    from .compare import compare_scenarios
    from .scenarios import built_in

    comparison = compare_scenarios(db, park, [built_in(name) for name in scenarios or ("as-is", "planned", "plan")],
                                   options=options, attribute=attribute, jobs=1)
    return {"figures": _records(comparison.figures, park), "contributions": _records(comparison.contributions, park)}


def _reconcile(db: sqlite_utils.Database, park: str, options: AnalysisOptions, *,
               currencies: Sequence[str] | None = None, default_quality: str | None = "estimated",
               balanced: str = "declared", significance: float = 0.05) -> dict[str, list[dict]]:
    """A park's reconciliation, computed where the task runs and stored by the client (:func:`_save_reconciled`)."""
    from .estimates import reconcile_store

    result = reconcile_store(db, park, currencies=tuple(currencies) if currencies else None, year=options.year,
                             default_quality=default_quality, balanced=balanced, significance=significance,
                             save=False)
    tables = {"reconciliation": _records(result.summary, park)}
    for currency, table in result.tables.items():
        tables[f"{currency} flows"] = _records(table, park)
        tables[f"{currency} attrs"] = [{key: _plain(value) for key, value in table.attrs.items()}]
    tables["settings"] = [{"default_quality": default_quality, "balanced": balanced, "significance": significance}]
    return tables


def _save_reconciled(db: sqlite_utils.Database, park: str, tables: dict[str, list[dict]], year: int | None) -> None:
    """The client's part of a reconcile task: each currency's table stored as a reconciliation of the park
    (:func:`symbiosis.estimates.save_reconciliation`), its id set in the summary rows."""
    from .estimates import save_reconciliation

    settings = tables["settings"][0]
    for row in tables["reconciliation"]:
        currency = row["currency"]
        table = pd.DataFrame(tables[f"{currency} flows"]).drop(columns="park_id")
        table.attrs.update(tables[f"{currency} attrs"][0])
        row["reconciliation"] = save_reconciliation(db, park, table, year=year, settings=settings)


#: what a per-park run computes for one park: command -> function(store, park, options, **arguments) -> {table: rows}
PARK_COMMANDS: dict[str, Callable[..., dict[str, list[dict]]]] = {
    "metrics": _metrics, "carbon": _carbon, "scorecard": _scorecard, "compare": _compare, "reconcile": _reconcile}
#: what the client does with a park's result before it is stored (a reconciliation is kept as estimates)
_CLIENT_STEPS: dict[str, Callable[[sqlite_utils.Database, str, dict[str, list[dict]], int | None], None]] = {
    "reconcile": _save_reconciled}


def _plain(value: Any) -> Any:
    """A cell as JSON keeps it: numpy numbers as Python's, NaN as None (unknown)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame | None, park: str) -> list[dict]:
    if frame is None:
        return []
    rows = frame.to_dict("records")
    return [{"park_id": park, **{key: _plain(value) for key, value in row.items() if key != "park_id"}}
            for row in rows]


def park_result(command: str, db: sqlite_utils.Database, park: str, options: AnalysisOptions,
                arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """One park's task: the command's tables for the park, or the error that stopped it (never raised, so
    that one park's failure is recorded and the run goes on).

    Returns
    -------
    dict
        ``{"tables": {name: rows}, "seconds": float}`` or ``{"error": str, "seconds": float}``.
    """
    started = time.perf_counter()
    try:
        tables = PARK_COMMANDS[command](db, park, options, **(arguments or {}))
        return {"tables": tables, "seconds": time.perf_counter() - started}
    except Exception as error:  # noqa: BLE001 -- every failure of one park is that park's result, with its message
        log.warning("park %s: %s", park, error)
        return {"error": f"{type(error).__name__}: {error}", "seconds": time.perf_counter() - started}


def park_payload(db: sqlite_utils.Database, park: str, *, neighbours_km: float | None = None) -> bytes:
    """A park's inputs as shipped to a cluster worker: its rows (:func:`symbiosis.scenarios.park_copy`; with
    ``neighbours_km``, also the offers and demands its matchmaking reads) as the bytes of an in-memory SQLite
    database. A run copies its parks with one :class:`symbiosis.scenarios.ParkCopier`."""
    from .scenarios import ParkCopier

    return ParkCopier(db).payload(park, neighbours_km=neighbours_km)


#: commands whose task reads more than the park's own rows: compare makes the park's matchmaking plan, which
#: reads the offers and demands of the firms within the matching radius
_NEIGHBOURS = {"compare": lambda options: options.match_radius_km}


def _shipped(command: str, payload: bytes, park: str, options: AnalysisOptions,
             arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """A cluster worker's task: the park's shipped rows opened in memory, then :func:`park_result`."""
    import sqlite3

    connection = sqlite3.connect(":memory:")
    connection.deserialize(payload)
    # one BLAS thread, as the symbiosis command runs: a worker started without OPENBLAS_NUM_THREADS=1 would
    # otherwise sum in another order (figures differing in the last digits) and oversubscribe its cores
    try:
        with _blas_controller().limit(limits=1):
            return park_result(command, sqlite_utils.Database(connection), park, options, arguments)
    finally:
        connection.close()


def dask_setup(server: Any = None) -> None:
    """A Dask server's start with ``--preload symbiosis.fanout``.

    On a worker (``dask worker ADDRESS --preload symbiosis.fanout``) the analyses are imported and the BLAS
    libraries found before the first park comes, rather than inside its task (a second or more, once per
    worker). On the scheduler (``dask scheduler --preload symbiosis.fanout``) importing this module is all:
    Dask's scheduler unpickles each task it is sent, so it imports symbiosis, on the first task unless
    preloaded.
    """
    from distributed import Worker

    if server is not None and not isinstance(server, Worker):
        return
    from . import carbon, compare, estimates, metrics, scorecard  # noqa: F401 -- imported for what they load

    _blas_controller()


@functools.cache
def _blas_controller():
    """The worker process's thread-pool controller, found once (finding the loaded BLAS libraries costs
    milliseconds a task; limiting them through it, microseconds)."""
    import scipy.linalg  # noqa: F401 -- scipy's own BLAS is loaded with it: loaded first, it is found too
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


#: a local pool worker's store, opened once by the worker (:func:`_open_worker_store`)
_WORKER_STORE: sqlite_utils.Database | None = None


def _open_worker_store(db_path: str) -> None:
    """A local pool worker's start: the store opened once for all its parks."""
    from .store import open_store

    global _WORKER_STORE
    _WORKER_STORE = open_store(db_path, create=False)


def _from_store(command: str, park: str, options: AnalysisOptions,
                arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """A local pool worker's task: one park, read from the store by the worker itself."""
    if _WORKER_STORE is None:
        raise FanOutError("a pool worker without its store")
    return park_result(command, _WORKER_STORE, park, options, arguments)


@dataclass
class ParkRun:
    """What :func:`run_by_park` did.

    Attributes
    ----------
    run_id : int or None
        The run's id in the store's ``runs`` table (None when not recorded).
    tables : dict of str to DataFrame
        Every park's rows of each table of the command, in park order (a resumed run's stored parks included).
    failures : DataFrame
        ``park_id, error``: the parks whose analysis failed.
    computed, reused : int
        Parks computed now; parks taken from an interrupted run's stored results.
    seconds : dict
        ``park -> seconds`` the analysis took where it ran (to weigh the fan-out's overhead).
    arrived : dict
        ``park -> seconds`` from the start of the run until its result came in (parks computed now).
    """

    run_id: int | None
    tables: dict[str, pd.DataFrame]
    failures: pd.DataFrame
    computed: int
    reused: int
    seconds: dict[str, float] = field(default_factory=dict)
    arrived: dict[str, float] = field(default_factory=dict)


def _fingerprint(command: str, parks: Sequence[str], options: AnalysisOptions, arguments: dict[str, Any],
                 db: sqlite_utils.Database) -> str:
    """What makes two runs the same run: the command, the parks, every option and the store's data (its
    imports and reconciliations as they stand)."""
    def plain(value: Any) -> Any:
        if isinstance(value, pd.DataFrame):
            return hashlib.sha256(value.to_csv(index=False).encode()).hexdigest()
        return value

    chosen = {name: plain(value) for name, value in dataclasses.asdict(options).items()}
    # the data as it stands; a reconcile run's own reconciliations (stored as it goes) are not its input
    data = db.execute("SELECT (SELECT max(id) FROM imports), (SELECT count(*) FROM imports WHERE undone_at IS NULL)"
                      + (", (SELECT max(id) FROM reconciliations)" if command != "reconcile" else "")).fetchone()
    text = json.dumps({"command": command, "parks": list(parks), "options": chosen, "arguments": arguments,
                       "data": list(data)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _start_run(db: sqlite_utils.Database, command: str, parks: Sequence[str], options: AnalysisOptions,
               arguments: dict[str, Any], resume: bool) -> tuple[int, set[str]]:
    fingerprint = _fingerprint(command, parks, options, arguments, db)
    if resume:
        found = db.execute("SELECT id FROM runs WHERE fingerprint = ? ORDER BY id DESC LIMIT 1",
                           [fingerprint]).fetchone()
        if found is None:
            raise FanOutError(f"--resume: no earlier {command} run with these parks, options and data to resume "
                              "(run it without --resume)")
        done = {row[0] for row in db.execute("SELECT park_id FROM park_results WHERE run_id = ? AND status = 'done'",
                                             [found[0]])}
        with db.conn:
            db.execute("UPDATE runs SET finished_at = NULL WHERE id = ?", [found[0]])
        return found[0], done
    with db.conn:
        cursor = db.execute("INSERT INTO runs (command, fingerprint, options, parks) VALUES (?, ?, ?, ?)",
                            [command, fingerprint, json.dumps({"seed": options.seed, "samples": options.samples,
                                                               "year": options.year}), len(parks)])
    return int(cursor.lastrowid or 0), set()


def _write(db: sqlite_utils.Database, run_id: int, batch: list[tuple[str, dict]], command: str,
           year: int | None) -> None:
    """A batch of parks' results in one transaction (a park's result replaces an earlier failure of it), with
    the command's client step for each park in it (a reconciliation stored as estimates): a park's step and its
    result are stored together or not at all."""
    from .store import transaction

    step = _CLIENT_STEPS.get(command)
    with transaction(db):
        if step is not None:
            for park, result in batch:
                if "tables" not in result:
                    continue
                try:
                    with transaction(db):  # a savepoint: a park whose step fails leaves nothing of it
                        step(db, park, result["tables"], year)
                except SymbiosisError as error:
                    del result["tables"]
                    result["error"] = f"{type(error).__name__}: {error}"
        db.conn.executemany(
            "INSERT OR REPLACE INTO park_results (run_id, park_id, status, result, error, seconds) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, park, "failed" if "error" in result else "done",
              json.dumps(result["tables"], allow_nan=False) if "tables" in result else None, result.get("error"),
              result.get("seconds")) for park, result in batch])


def _dask_client(scheduler: str):
    try:
        from distributed import Client
    except ImportError:
        raise FanOutError("--scheduler needs Dask: pip install 'park-symbiosis[dask]' (dask.distributed), on this "
                          "machine and on every worker") from None
    try:
        return Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise FanOutError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None


def _on_cluster(command: str, db: sqlite_utils.Database, parks: list[str], options: AnalysisOptions,
                scheduler: str, arguments: dict[str, Any]) -> Iterable[tuple[str, dict]]:
    """Each park's result from a Dask cluster, as they come, shipping each park's rows with its task.

    A window of tasks is kept in flight (:data:`_WINDOW_PER_THREAD` per worker thread, counted again as
    workers join or leave) and refilled when half of it is done, in one submission: the scheduler's cost per
    task is then about half of one submission per task. Dask runs a task again when its worker dies
    (``retries`` more for a lost connection)."""
    client = _dask_client(scheduler)  # first: it says how to install Dask when it is missing
    from distributed import as_completed

    from .scenarios import ParkCopier

    copier = ParkCopier(db)
    neighbours_km = _NEIGHBOURS[command](options) if command in _NEIGHBOURS else None
    remaining = list(reversed(parks))  # popped from the end: the first park first
    futures: dict[Any, str] = {}
    counted = [0.0, 0]  # when the workers' threads were last counted, and the window then

    def window() -> int:
        if time.monotonic() - counted[0] > 1.0:
            counted[:] = [time.monotonic(), max(1, sum(client.nthreads().values())) * _WINDOW_PER_THREAD]
        return int(counted[1])

    def submit(count: int) -> list:
        batch = [remaining.pop() for _ in range(min(count, len(remaining)))]
        if not batch:
            return []
        run = f"{os.getpid()}-{time.monotonic_ns()}"
        submitted = client.map(_shipped, [command] * len(batch),
                               [copier.payload(park, neighbours_km=neighbours_km) for park in batch], batch,
                               [options] * len(batch), [arguments] * len(batch), pure=False, retries=3,
                               key=[f"symbiosis-{command}-{park}-{run}" for park in batch])
        futures.update(zip(submitted, batch))
        return submitted

    try:
        done = as_completed(submit(window()))
        for future in done:
            park = futures.pop(future)
            yield park, future.result()
            size = window()
            if remaining and len(futures) <= size // 2:
                done.update(submit(size - len(futures)))
    finally:
        client.close()


def _on_pool(command: str, db_path: str, parks: list[str], options: AnalysisOptions, jobs: int,
             arguments: dict[str, Any]) -> Iterable[tuple[str, dict]]:
    """Each park's result from a local process pool, as they come: a task per park (a worker takes the next
    park when it is done, so the cores stay busy to the end), each worker reading the store it opened."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=jobs, initializer=_open_worker_store, initargs=(db_path,)) as pool:
        futures = {pool.submit(_from_store, command, park, options, arguments): park for park in parks}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def run_by_park(db_path: str | os.PathLike, command: str, parks: Sequence[str] | None = None, *,
                options: AnalysisOptions | None = None, arguments: dict[str, Any] | None = None,
                jobs: int | None = None, scheduler: str | None = None, resume: bool = False, record: bool = True,
                progress: Callable[[int, int], None] | None = None) -> ParkRun:
    """Run one command on every park (or the given ones): in this process, on a local pool or on a Dask cluster.

    Parameters
    ----------
    db_path : path-like
        The store's file.
    command : {'metrics', 'carbon', 'scorecard', 'compare', 'reconcile'}
        What each park's task computes (:data:`PARK_COMMANDS`); ``reconcile`` stores each park's
        reconciliation (as ``symbiosis reconcile`` does), written by this process.
    parks : sequence of str, optional
        Park ids (default: every park, in id order).
    options : AnalysisOptions, optional
        The analyses' options (``samples`` and ``seed``: each park draws from
        :func:`symbiosis.sampling.park_seed`).
    arguments : dict, optional
        The command's own (``compare``: ``scenarios`` built-in names, ``attribute``; ``reconcile``:
        ``currencies``, ``default_quality``, ``balanced``, ``significance``).
    jobs : int, optional
        Local processes (default: every core; 1 runs in this process). Ignored with a scheduler.
    scheduler : str, optional
        A Dask scheduler's address (default ``$SYMBIOSIS_SCHEDULER``; none: local).
    resume : bool
        Compute only the parks the latest run with the same command, parks, options and data has not stored.
    record : bool
        Keep the results in the store (``runs``, ``park_results``), which makes ``resume`` possible.
    progress : callable, optional
        ``progress(parks done, parks in all)`` after each park.

    Returns
    -------
    ParkRun

    Raises
    ------
    FanOutError
        No Dask for a scheduler, an unreachable scheduler, or nothing to resume.
    UnknownIdError
        A park not in the store.
    """
    from .store import open_store, park_ids

    started = time.perf_counter()
    if command not in PARK_COMMANDS:
        raise InputError(f"unknown per-park command {command!r}; expected {', '.join(PARK_COMMANDS)}")
    options = options or AnalysisOptions()
    arguments = dict(arguments or {})
    if command in _CLIENT_STEPS and not record:
        raise InputError(f"a {command} run stores its results: record it")
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    db = open_store(db_path, create=False)
    known = park_ids(db)
    parks = list(known if parks is None else parks)
    missing = sorted(set(parks) - set(known))
    if missing:
        raise UnknownIdError(f"no park {', '.join(map(repr, missing[:5]))} in the store")
    if resume and not record:
        raise InputError("resume needs the run recorded in the store")
    run_id, stored = _start_run(db, command, parks, options, arguments, resume) if record else (None, set())
    todo = [park for park in parks if park not in stored]
    if scheduler or (jobs or os.cpu_count() or 1) > 1:
        todo = _largest_first(db, todo)
    results: dict[str, dict] = {}
    arrived: dict[str, float] = {}
    if scheduler:
        source: Iterable[tuple[str, dict]] = _on_cluster(command, db, todo, options, scheduler, arguments)
    elif (jobs or os.cpu_count() or 1) > 1 and len(todo) > 1:
        source = _on_pool(command, str(db_path), todo, options, jobs or os.cpu_count() or 1, arguments)
    else:
        source = ((park, park_result(command, db, park, options, arguments)) for park in todo)
    batch: list[tuple[str, dict]] = []
    done = len(stored)
    written = time.monotonic()
    for park, result in source:
        arrived[park] = time.perf_counter() - started
        results[park] = result
        batch.append((park, result))
        done += 1
        if run_id is not None and (len(batch) >= _BATCH or time.monotonic() - written >= _FLUSH_S):
            _write(db, run_id, batch, command, options.year)
            batch, written = [], time.monotonic()
        if progress:
            progress(done, len(parks))
    if run_id is not None:
        _write(db, run_id, batch, command, options.year)
        with db.conn:
            db.execute("UPDATE runs SET finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?", [run_id])
        for park, text, error, seconds in db.execute(
                "SELECT park_id, result, error, seconds FROM park_results WHERE run_id = ?", [run_id]):
            if park in stored:
                results[park] = {"tables": json.loads(text), "seconds": seconds} if text else {"error": error}
    return dataclasses.replace(_assemble(run_id, parks, results, computed=len(todo), reused=len(stored)),
                               arrived=arrived)


def list_runs(db: sqlite_utils.Database) -> pd.DataFrame:
    """The per-park runs kept in the store (newest first): what each computed, how far it got and the room its
    results take.

    Returns
    -------
    DataFrame
        ``run, command, parks, done, failed, samples, seed, started_at, finished_at, result_kib``;
        ``finished_at`` is empty for a run that was interrupted (``--resume`` completes it) or is running.
    """
    rows = db.execute(
        "SELECT r.id, r.command, r.parks, sum(p.status = 'done'), sum(p.status = 'failed'), r.options, r.started_at, "
        "r.finished_at, coalesce(sum(length(p.result)), 0) FROM runs r LEFT JOIN park_results p ON p.run_id = r.id "
        "GROUP BY r.id ORDER BY r.id DESC").fetchall()
    records = []
    for run, command, parks, done, failed, options, started, finished, size in rows:
        chosen = json.loads(options or "{}")
        records.append({"run": run, "command": command, "parks": parks, "done": done or 0, "failed": failed or 0,
                        "samples": chosen.get("samples"), "seed": chosen.get("seed"), "started_at": started,
                        "finished_at": finished, "result_kib": round(size / 1024, 1)})
    return pd.DataFrame(records, columns=["run", "command", "parks", "done", "failed", "samples", "seed",
                                          "started_at", "finished_at", "result_kib"])


def drop_runs(db: sqlite_utils.Database, runs: Sequence[int] = (), *, every: bool = False) -> int:
    """Remove stored per-park runs and their parks' results (not what a reconcile run stored as estimates:
    those are the store's reconciliations, kept until replaced).

    Parameters
    ----------
    runs : sequence of int
        Run ids (:func:`list_runs`).
    every : bool
        All of them.

    Returns
    -------
    int
        The runs removed.

    Raises
    ------
    UnknownIdError
        A run id not in the store.
    """
    from .store import transaction

    known = {row[0] for row in db.execute("SELECT id FROM runs")}
    chosen = sorted(known) if every else sorted(set(runs))
    missing = [run for run in chosen if run not in known]
    if missing:
        raise UnknownIdError(f"no run {', '.join(map(str, missing[:5]))} in the store (symbiosis runs list)")
    with transaction(db):
        listed = json.dumps(chosen)
        db.execute("DELETE FROM park_results WHERE run_id IN (SELECT value FROM json_each(?))", [listed])
        db.execute("DELETE FROM runs WHERE id IN (SELECT value FROM json_each(?))", [listed])
    return len(chosen)


def _largest_first(db: sqlite_utils.Database, parks: list[str]) -> list[str]:
    """The parks, the largest first (by the flows touching their firms; ties in the given order).

    Several workers finish together only if the long tasks start first: a national run's largest parks take
    tens of times a median park's time, and one of them started last keeps the other workers idle until it
    ends (longest processing time first). The results do not depend on the order.
    """
    size: dict[str, int] = {}
    for side in ("source_id", "target_id"):
        for park, flows in db.execute(f"SELECT e.park_id, count(*) FROM enterprises e JOIN flows f ON f.{side} = e.id "
                                      "GROUP BY e.park_id"):
            size[park] = size.get(park, 0) + flows
    return sorted(parks, key=lambda park: -size.get(park, 0))


def _assemble(run_id: int | None, parks: list[str], results: dict[str, dict], *, computed: int,
              reused: int) -> ParkRun:
    rows: dict[str, list[dict]] = {}
    failures = []
    for park in parks:
        result = results.get(park, {"error": "no result"})
        if "error" in result:
            failures.append({"park_id": park, "error": result["error"]})
            continue
        for name, table in result["tables"].items():
            rows.setdefault(name, []).extend(table)
    tables = {}
    for name, table in rows.items():
        frame = pd.DataFrame(table)
        tables[name] = frame.astype(object).where(frame.notna(), None)
    seconds = {park: float(result["seconds"]) for park, result in results.items() if result.get("seconds") is not None}
    return ParkRun(run_id=run_id, tables=tables, failures=pd.DataFrame(failures, columns=["park_id", "error"]),
                   computed=computed, reused=reused, seconds=seconds)
