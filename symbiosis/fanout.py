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
(:func:`park_seed`), so the figures do not depend on the number of workers or the order of the parks.
"""
from __future__ import annotations

import dataclasses
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

__all__ = ["PARK_COMMANDS", "SCHEDULER_ENV", "ParkRun", "park_payload", "park_result", "park_seed", "run_by_park"]

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


def park_seed(seed: int, park: str) -> int:
    """The seed of one park's draws: the run's seed and the park's id, hashed (SHA-256), so that a park draws
    the same samples whatever worker runs it and whichever parks run beside it.

    Examples
    --------
    >>> park_seed(1, "P0001") == park_seed(1, "P0001") != park_seed(2, "P0001")
    True
    """
    digest = hashlib.sha256(f"{seed}:{park}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**63)


def _options_for(options: AnalysisOptions, park: str) -> AnalysisOptions:
    return dataclasses.replace(options, seed=park_seed(options.seed, park)) if options.samples else options


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
        tables = PARK_COMMANDS[command](db, park, _options_for(options, park), **(arguments or {}))
        return {"tables": tables, "seconds": time.perf_counter() - started}
    except Exception as error:  # noqa: BLE001 -- every failure of one park is that park's result, with its message
        log.warning("park %s: %s", park, error)
        return {"error": f"{type(error).__name__}: {error}", "seconds": time.perf_counter() - started}


def park_payload(db: sqlite_utils.Database, park: str, *, neighbours_km: float | None = None) -> bytes:
    """A park's inputs as shipped to a cluster worker: its rows (:func:`symbiosis.scenarios.park_copy`; with
    ``neighbours_km``, also the offers and demands its matchmaking reads) as the bytes of an in-memory SQLite
    database."""
    from .scenarios import park_copy

    return park_copy(db, park, neighbours_km=neighbours_km).conn.serialize()


#: commands whose task reads more than the park's own rows: compare makes the park's matchmaking plan, which
#: reads the offers and demands of the firms within the matching radius
_NEIGHBOURS = {"compare": lambda options: options.match_radius_km}


def _shipped(command: str, payload: bytes, park: str, options: AnalysisOptions,
             arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """A cluster worker's task: the park's shipped rows opened in memory, then :func:`park_result`."""
    import sqlite3

    from threadpoolctl import threadpool_limits

    connection = sqlite3.connect(":memory:")
    connection.deserialize(payload)
    # one BLAS thread, as the symbiosis command runs: a worker started without OPENBLAS_NUM_THREADS=1 would
    # otherwise sum in another order (figures differing in the last digits) and oversubscribe its cores
    try:
        with threadpool_limits(limits=1):
            return park_result(command, sqlite_utils.Database(connection), park, options, arguments)
    finally:
        connection.close()


def _from_store(command: str, db_path: str, parks: list[str], options: AnalysisOptions,
                arguments: dict[str, Any] | None = None) -> list[tuple[str, dict]]:
    """A local worker's task: some parks, read from the store by the worker itself."""
    from .store import open_store

    db = open_store(db_path, create=False)
    try:
        return [(park, park_result(command, db, park, options, arguments)) for park in parks]
    finally:
        db.conn.close()


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
    """

    run_id: int | None
    tables: dict[str, pd.DataFrame]
    failures: pd.DataFrame
    computed: int
    reused: int
    seconds: dict[str, float] = field(default_factory=dict)


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
    """Each park's result from a Dask cluster, as they come, shipping each park's rows with its task; a window
    of tasks in flight. Dask runs a task again when its worker dies (``retries`` more for a lost connection)."""
    client = _dask_client(scheduler)  # first: it says how to install Dask when it is missing
    from distributed import as_completed

    try:
        threads = max(1, sum(client.nthreads().values()))
        window = threads * _WINDOW_PER_THREAD
        remaining = list(parks)
        futures = {}

        def submit(park: str):
            payload = park_payload(db, park, neighbours_km=_NEIGHBOURS[command](options) if command in _NEIGHBOURS
                                   else None)
            future = client.submit(_shipped, command, payload, park, options, arguments, pure=False, retries=3,
                                   key=f"symbiosis-{command}-{park}-{os.getpid()}-{time.monotonic_ns()}")
            futures[future] = park
            return future

        while remaining and len(futures) < window:
            submit(remaining.pop(0))
        done = as_completed(list(futures))
        for future in done:
            park = futures.pop(future)
            yield park, future.result()
            if remaining:
                done.add(submit(remaining.pop(0)))
    finally:
        client.close()


def _on_pool(command: str, db_path: str, parks: list[str], options: AnalysisOptions, jobs: int,
             arguments: dict[str, Any]) -> Iterable[tuple[str, dict]]:
    """Each park's result from a local process pool, chunk by chunk as they come (workers read the store)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    size = max(1, min(_BATCH, len(parks) // (jobs * 8) or 1))  # small chunks keep every core busy
    chunks = [parks[start:start + size] for start in range(0, len(parks), size)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_from_store, command, db_path, chunk, options, arguments) for chunk in chunks]
        try:
            for future in as_completed(futures):
                yield from future.result()
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
        The analyses' options (``samples`` and ``seed``: each park draws from :func:`park_seed`).
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
    results: dict[str, dict] = {}
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
    return _assemble(run_id, parks, results, computed=len(todo), reused=len(stored))


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
