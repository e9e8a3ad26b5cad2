"""The ``symbiosis`` command line: thin click commands over the library.

Each command parses its options, calls one library function, prints a table or writes a file, and
turns the package's own errors into one clear message and a non-zero exit. Progress bars live here,
never in the library, and only on a terminal (``--quiet`` turns them off).
"""
from __future__ import annotations

import os

# Per-park matrices are small and per-park work runs in parallel processes: BLAS threads on top of
# them only fight over the cores (measured: 2 processes, 8.0 s with one BLAS thread, 33 s with two).
# Must be set before numpy loads; a user's own setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import datetime as dt  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import importlib  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import click  # noqa: E402

import symbiosis  # noqa: E402
from symbiosis.datasets import DEMO_SETS, dataset_files
from symbiosis.errors import SymbiosisError
from symbiosis.formats import EXPORT_FORMATS, LIST_FORMATS, STDOUT
from symbiosis.schema import FLOW_STATUSES, TABLES
from symbiosis.settings import (DEFAULT_ATTRIBUTED, DEFAULT_IMBALANCE_THRESHOLD, DEFAULT_LOOP_LIMIT as DEFAULT_LIMIT,
                                MIN_COVERAGE)
from symbiosis.units import KINDS

# The options of every command need only the names above (light modules). The libraries the commands run
# on (pandas, networkx, scipy, pint's registry, pyvis ...) are imported when a command first uses them, so
# that `symbiosis --help` and a mistyped option answer at once. The type checker sees the real imports.
if TYPE_CHECKING:
    import pandas as pd
    from tabulate import tabulate
    from tqdm import tqdm

    from symbiosis.export import check_output, export_graph, export_matches, neutral_frame, write_output
    from symbiosis.factors import load_factors, load_resource_sectors, load_targets
    from symbiosis.graph import load_graph
    from symbiosis.ingest import import_files, parse_column_map, parse_set_values
    from symbiosis.matching import anonymise, load_prices, load_substitutes, load_weights, save_plan
    from symbiosis.pipeline import AnalysisOptions, analyse_park, ran
    from symbiosis.store import default_db_path, open_store, park_ids, schema_version
    from symbiosis.summary import summarise
else:
    class _Lazy:
        """A module, or one name of a module, imported when first used."""

        def __init__(self, module: str, name: str | None = None):
            self._module, self._name = module, name

        def _target(self) -> Any:
            module = importlib.import_module(self._module)
            return module if self._name is None else getattr(module, self._name)

        def __getattr__(self, attribute: str) -> Any:
            return getattr(self._target(), attribute)

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return self._target()(*args, **kwargs)

    pd = _Lazy("pandas")
    tabulate = _Lazy("tabulate", "tabulate")
    tqdm = _Lazy("tqdm", "tqdm")
    _NAMES = {
        "symbiosis.export": ("check_output", "export_graph", "export_matches", "neutral_frame", "write_output"),
        "symbiosis.factors": ("load_factors", "load_resource_sectors", "load_targets"),
        "symbiosis.graph": ("load_graph",),
        "symbiosis.ingest": ("import_files", "parse_column_map", "parse_set_values"),
        "symbiosis.matching": ("anonymise", "load_prices", "load_substitutes", "load_weights", "save_plan"),
        "symbiosis.pipeline": ("AnalysisOptions", "analyse_park", "ran"),
        "symbiosis.store": ("default_db_path", "open_store", "park_ids", "schema_version"),
        "symbiosis.summary": ("summarise",),
    }
    globals().update({name: _Lazy(module, name) for module, names in _NAMES.items() for name in names})

FORMATS = ("table", "csv", "json")

# Output files and partial results (issue 14):
# - Every file a command writes goes through symbiosis.export.write_output: written whole (a temporary
#   file beside it, renamed over it) or not at all, special files (/dev/stdout, a pipe) written directly,
#   `-o -` is standard output for text formats (csv, json, graphml, gexf, html; not xlsx). Any failure is
#   one line naming the path, exit 1. "wrote ..." messages go to stderr, so stdout carries only data.
# - A command that changes the store AND writes a file (match --save -o, import --write-resource-map)
#   checks the output first (format, folder, permissions): a bad -o changes nothing. If the write still
#   fails after the store changed (a disk that fills up), the store change stands and the error says so,
#   with the import id that `symbiosis undo` takes back.

#: years the analyses take (the importer refuses years outside the same range)
YEARS = click.IntRange(1800, 2200)


class FiniteFloat(click.FloatRange):
    """A FloatRange that refuses nan and inf (a nan radius would silently match nothing)."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def _db_option(command):
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False), default=None,
        help="SQLite store (default: $SYMBIOSIS_DB, else ./symbiosis.db).",
    )(command)


def _format_option(command):
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                        help="How to print tables (json: a list of records).")(command)


def _quiet_option(command):
    return click.option("--quiet", "-q", is_flag=True, help="No progress bars or notes.")(command)


def _graph_options(default_status: str | None):
    """--park, --year, --kinds and --status, turned into load_graph's arguments."""

    def decorate(command):
        for option in reversed([
            click.option("--park", default=None, help="Only this park (firms elsewhere become boundary nodes)."),
            click.option("--year", type=YEARS, default=None, help="Only flows of this year (and undated ones)."),
            click.option("--kinds", default=None, help=f"Comma-separated kinds ({', '.join(KINDS)})."),
            click.option("--status", default=default_status, show_default=True,
                         help=f"Comma-separated statuses ({', '.join(FLOW_STATUSES)}); 'all' for every one."),
        ]):
            command = option(command)
        return command

    return decorate


def _samples_options(command):
    """--samples, --seed and --default-quality: figures with a median and a 90 % interval."""
    for option in reversed([
        click.option("--samples", type=click.IntRange(1, 100_000), default=None,
                     help="Draw this many flow sets from the data's uncertainties and give each headline figure's "
                          "median and 90 % interval."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Random seed of --samples (a park draws from it and its id: the same alone or --by-park)."),
        click.option("--default-quality", type=click.Choice(["measured", "calculated", "estimated", "literature"]),
                     default=None, help="With --samples: the quality class of a quantity that states no uncertainty "
                                        "(default: it keeps its value)."),
    ]):
        command = option(command)
    return command


def _fanout_options(command):
    """--by-park and how its parks run: --jobs (local processes), --scheduler (a Dask cluster), --resume, --quiet."""
    for option in reversed([
        click.option("--by-park", is_flag=True, help="Every park (or --park's), one task per park: on this machine's "
                                                      "cores, or on a Dask cluster with --scheduler."),
        click.option("--jobs", type=click.IntRange(1), default=None,
                     help="Local processes for --by-park (default: every core; 1: this process)."),
        click.option("--scheduler", default=None, metavar="ADDRESS",
                     help="With --by-park: a Dask scheduler (tcp://host:8786; default $SYMBIOSIS_SCHEDULER) that runs "
                          "the parks; each park's rows are shipped with its task (pip install 'park-symbiosis[dask]')."),
        click.option("--resume", is_flag=True,
                     help="With --by-park: compute only the parks an interrupted run of the same command, options "
                          "and data has not stored."),
        _quiet_option,
    ]):
        command = option(command)
    return command


def _by_park(db_path, command: str, park: str | None, options, jobs, scheduler, resume, quiet, arguments=None):
    """One per-park run (symbiosis.fanout) with a progress bar over parks; its failures named on stderr after."""
    from symbiosis.fanout import run_by_park

    bar = tqdm(desc=f"{command} by park", unit=" parks", disable=quiet or not sys.stderr.isatty(), leave=False)

    def advance(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    try:
        run = run_by_park(str(db_path or default_db_path()), command, [park] if park else None, options=options,
                          arguments=arguments, jobs=jobs, scheduler=scheduler, resume=resume, progress=advance)
    finally:
        bar.close()
    if run.reused and not quiet:
        click.echo(f"resumed run {run.run_id}: {run.reused} parks stored before, {run.computed} computed now", err=True)
    return run


def _failed(run) -> None:
    """After the tables: the parks that failed, each with its error, and exit code 1."""
    if len(run.failures):
        for park, error in run.failures.itertuples(index=False):
            click.echo(f"failed: park {park}: {error}", err=True)
        click.echo(f"{len(run.failures)} of {run.computed + run.reused} parks failed (their errors above); "
                   "the others' figures are printed", err=True)
        raise click.exceptions.Exit(1)


def _park_rows(run, name: str):
    return run.tables.get(name, pd.DataFrame())


def _output_option(help_text: str, required: bool = True):
    return click.option("-o", "--output", required=required, default=None,
                        type=click.Path(dir_okay=False, allow_dash=True), help=help_text)


def _wrote(path: str, detail: str = "") -> None:
    """Say what was written, on stderr: stdout may be the file itself (-o -, -o /dev/stdout)."""
    shown = "standard output" if path == STDOUT else path
    click.echo(f"wrote {shown}{detail}", err=True)


def _factors_option(command):
    return click.option("--factors", "factors_file", type=click.Path(exists=True, dir_okay=False), default=None,
                        help="Your own factors CSV (key,value rows replace the shipped ones).")(command)


def _intervals(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The --samples table, when there is one."""
    return {} if frame is None else {"intervals (median, 90 % interval)": frame}


def _statuses(status: str | None) -> tuple[str, ...]:
    """--status as a tuple ('all' or none given: every status)."""
    return FLOW_STATUSES if status in (None, "all") else tuple(status.split(","))


def _kinds(kinds: str | None) -> tuple[str, ...] | None:
    return tuple(kinds.split(",")) if kinds else None


def _load(db_path, park, year, kinds, status):
    statuses = None if status in (None, "all") else status.split(",")
    return load_graph(open_store(db_path, create=False), park=park, year=year,
                      kinds=kinds.split(",") if kinds else None, status=statuses)


def _errors_to_click(command):
    """Turn the package's errors into one clear message and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (SymbiosisError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _progress(quiet: bool, description: str):
    """A progress callback and its bar (shown on a terminal only)."""
    bar = tqdm(desc=description, unit=" rows", disable=quiet or not sys.stderr.isatty(), leave=False)

    def advance(rows: int, total_rows: int) -> None:
        if bar.total != total_rows:
            bar.total = total_rows
            bar.refresh()
        bar.update(rows)

    return advance, bar


#: text columns wider than this wrap in table output (long loop lines, firm names)
_WRAP_CHARS = 80


def _echo_frame(frame: pd.DataFrame, fmt: str, title: str | None = None) -> None:
    """Print a table (or write it to the command's workbook, -o FILE.xlsx). A note the analysis attached
    (``frame.attrs["note"]``: why a list is empty or partial) is printed in place of "(none)", or after the
    table; in csv/json it goes to stderr.

    CSV cells are neutralised as in every CSV file the tool writes (formula-like text gets a leading
    apostrophe): standard output is often redirected into a spreadsheet."""
    if _write_workbook({title or "table": frame}):
        return
    note = frame.attrs.get("note")
    if fmt == "json":
        click.echo(frame.to_json(orient="records", force_ascii=False))
    elif fmt == "csv":
        click.echo(neutral_frame(frame).to_csv(index=False), nl=False)
    else:
        if title:
            click.secho(title, bold=True)
        if frame.empty:
            click.echo(f"({_cell(note)})" if note else "(none)")
            return
        numeric = {column: _is_numeric(frame[column]) or frame[column].isna().all() and _has_floats(frame[column])
                   for column in frame.columns}
        shown = frame.astype(object).apply(lambda column: column.map(
            _figure_cell if numeric[column.name] and _has_floats(frame[column.name]) else _cell))
        widths = [_WRAP_CHARS if not numeric[column] and shown[column].str.len().max() > _WRAP_CHARS else None
                  for column in frame.columns]
        align = ["right" if numeric[column] else "left" for column in frame.columns]
        click.echo(tabulate(shown, headers="keys", tablefmt="simple", showindex=False,
                            disable_numparse=True, colalign=align, maxcolwidths=widths))
    if note and (fmt != "table" or not frame.empty):
        click.echo(f"note: {_cell(note)}", err=fmt != "table")


#: columns that hold text (notes, ids, names): an empty one prints blank; any other column whose every
#: value is unknown is a figure nobody could compute, and prints 'unknown'
_TEXT_NAME = re.compile(r"(^|_)(note|notes|reason|warning|name|names|id|ids|file|status|source|extra|members|"
                        r"resources|resource|sectors|park|host_park|undone_at|import_id|new_resources|label|"
                        r"unit|kind|currency|side|scheme|target_status|coverage_text|guesses)$", re.IGNORECASE)


def _has_floats(column: pd.Series) -> bool:
    values = column.dropna()
    if values.empty:
        return not _TEXT_NAME.search(str(column.name))  # every value unknown
    return any(isinstance(value, float) for value in values)


def _figure_cell(value) -> str:
    """A figure: unknown (None) prints as 'unknown', never as a blank that reads like zero."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "unknown"
    return _cell(value)


_CONTROL = {code: f"\\x{code:02x}" for code in list(range(0x00, 0x09)) + list(range(0x0b, 0x20)) + [0x7f]}


def _cell(value) -> str:
    """Readable figures: thousands separated, four significant digits below 1,000, never 1e+06.

    Text from data is shown with control characters spelt out (an ANSI escape in a firm's name must
    not reach the terminal)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value.translate(_CONTROL)
    if isinstance(value, float):
        if not math.isfinite(value):  # never printed as a number: a sum beyond the largest float
            return "unknown (too large)" if math.isinf(value) else "unknown"
        if abs(value) >= 1e15:  # 1.7e+308, not 309 digits
            return f"{value:.4g}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if value != 0 and abs(value) < 1e-4:
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def _is_numeric(column: pd.Series) -> bool:
    values = column.dropna()
    return len(values) > 0 and all(isinstance(value, (int, float)) and not isinstance(value, bool)
                                   for value in values)


def _workbook_option(command):
    """-o/--output FILE.xlsx: the command's tables written to a workbook instead of printed; --table KEY:
    one of its tables alone (a CSV that any tool loads)."""
    command = click.option("--table", "table_key", default=None, metavar="KEY",
                           help="Print only this table (its JSON key, e.g. park_view): one plain table in any "
                                "--format, so --format csv gives a file spreadsheets and pandas load.")(command)
    return click.option("-o", "--output", "workbook", type=click.Path(), default=None,
                        help="Write the tables to this workbook (.xlsx): an 'about' sheet, then a sheet per table "
                             "(every row and column, as --format json gives them); or, to a path ending in '/', "
                             "a folder of CSV files, one per table (KEY.csv) and about.json.")(command)


def _full_tables(fmt: str, workbook: str | None) -> str:
    """With a workbook asked for, the command builds its full tables (as for JSON); its path is checked
    before any work."""
    if workbook is None:
        return fmt
    if not _is_folder(workbook):
        check_output(workbook, None, formats=("xlsx",), what="workbook")
    return "json"


def _is_folder(path: str) -> bool:
    """-o names a folder of CSV files: a path ending in a separator, or an existing folder."""
    return path.endswith(("/", os.sep)) or Path(path).is_dir()


def _write_workbook(frames: dict[str, pd.DataFrame]) -> bool:
    """Write the tables to the workbook the command was asked for (-o); False when none was."""
    context = click.get_current_context()
    workbook = context.params.get("workbook")
    if not workbook:
        return False
    from symbiosis.export import export_tables

    parameters = {name: value for name, value in context.params.items() if value not in (None, (), False)
                  and name not in ("workbook", "fmt")}
    about = {"command": f"symbiosis {context.info_name}",
             "parameters": json.dumps(parameters, default=str, ensure_ascii=False),
             "store": str(context.params.get("db_path") or default_db_path()),
             "written": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             "symbiosis version": symbiosis.__version__}
    if _is_folder(workbook):
        _write_csv_folder(frames, Path(workbook), about)
    else:
        _wrote(str(export_tables(frames, workbook, about=about)))
    return True


def _write_csv_folder(frames: dict[str, pd.DataFrame], folder: Path, about: dict) -> None:
    """One CSV per table (KEY.csv, cells neutralised) and about.json (the command, its parameters, the
    tables' titles and notes), each file written whole or not at all."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(f"cannot make the folder {folder}: {error.strerror or error}") from None
    titles = {json_key(name): name for name in frames}
    for key, name in titles.items():
        write_output(folder / f"{key}.csv", neutral_frame(frames[name]).to_csv(index=False))
    notes = {json_key(name): frame.attrs["note"] for name, frame in frames.items() if frame.attrs.get("note")}
    write_output(folder / "about.json", json.dumps({**about, "tables": titles, "notes": notes}, ensure_ascii=False,
                                                   indent=1))
    _wrote(str(folder), f" ({len(frames)} CSV files and about.json)")


def json_key(title: str) -> str:
    """A table's key in JSON output: the words of its title before any bracket or comma, snake_case.

    Examples
    --------
    >>> json_key("long-haul exchanges (> 50 km)"), json_key("balance, firm view (tCO2e/yr)"), json_key("park CO2 (t)")
    ('long_haul_exchanges', 'balance_firm_view', 'park_co2')
    """
    words = re.split(r"\s*[(\[]", title, maxsplit=1)[0]
    return re.sub(r"[^0-9a-z]+", "_", words.lower()).strip("_") or "table"


def _echo_frames(frames: dict[str, pd.DataFrame], fmt: str) -> None:
    """Several tables: printed one after another, or one JSON object {name: records}; written to the
    command's workbook instead when it was given one (-o FILE.xlsx)."""
    chosen = click.get_current_context().params.get("table_key")
    if chosen:
        keyed = {json_key(name): (name, frame) for name, frame in frames.items()}
        if chosen not in keyed:
            raise click.UsageError(f"--table {chosen!r}: this command's tables are {', '.join(keyed)}")
        frames = {keyed[chosen][0]: keyed[chosen][1]}
        if fmt != "table" and not click.get_current_context().params.get("workbook"):
            frame = frames[keyed[chosen][0]]
            if fmt == "json":
                click.echo(frame.to_json(orient="records", force_ascii=False))
            else:
                click.echo(neutral_frame(frame).to_csv(index=False), nl=False)
            if frame.attrs.get("note"):
                click.echo(f"note: {frame.attrs['note']}", err=True)
            return
    if _write_workbook(frames):
        return
    if fmt == "json":
        # stable snake_case keys (the title's words before any bracket): a title may carry option values
        # ("long-haul exchanges (> 50 km)"), a key never does; the titles travel apart
        keys = {name: json_key(name) for name in frames}
        document: dict[str, Any] = {keys[name]: json.loads(frame.to_json(orient="records", force_ascii=False))
                                    for name, frame in frames.items()}
        document["titles"] = {keys[name]: name for name in frames}
        notes = {keys[name]: frame.attrs["note"] for name, frame in frames.items() if frame.attrs.get("note")}
        if notes:  # why a table is empty or partial travels with it
            document["notes"] = notes
        click.echo(json.dumps(document, ensure_ascii=False))
        return
    for number, (name, frame) in enumerate(frames.items()):
        if fmt == "csv":
            click.echo(f"# {name}")
        elif number:
            click.echo()
        _echo_frame(frame, fmt, title=name)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(symbiosis.__version__, prog_name="symbiosis")
@click.option("--verbose", "-v", count=True, help="Show the library's log (-v warnings, -vv progress notes).")
def cli(verbose):
    """Industrial symbiosis network analyser: load park data, find loops and synergies."""
    # The library logs; the CLI decides what a user sees. Warnings already reach the output tables
    # (e.g. the metrics' warning column), so by default only errors are shown.
    level = {0: logging.ERROR, 1: logging.WARNING}.get(verbose, logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("symbiosis").setLevel(level)
    # One command is one batch job over millions of small objects (edge dicts, link lists) that form no
    # reference cycles: the cyclic collector's passes over them found nothing and took about half of a
    # national loop search (13.7 s -> 7.0 s without them). Reference counting still frees everything;
    # the collector is back on when the command ends (tests run many commands in one process).
    if gc.isenabled():
        gc.disable()
        click.get_current_context().call_on_close(gc.enable)


@cli.command()
@_db_option
@_errors_to_click
def init(db_path):
    """Create an empty store with the resource catalogue (or migrate an old one)."""
    path = Path(db_path) if db_path else default_db_path()
    existed = path.exists()
    db = open_store(path)
    verb = "opened" if existed else "created"
    click.echo(f"{verb} {path} (schema version {schema_version(db)}, "
               f"{db['resources'].count} resources in the catalogue)")


@cli.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE[:TABLE]...")
@click.option("--table", type=click.Choice(list(TABLES)), default=None,
              help="Table for every file without :TABLE (default: a table name in the file's name).")
@click.option("--map", "mappings", multiple=True, metavar="SOURCE_COLUMN=FIELD",
              help="Rename a column of the file to a field (repeatable).")
@click.option("--set", "set_pairs", multiple=True, metavar="FIELD=VALUE",
              help="Give every row this value, e.g. --set park_id=p1 --set year=2005 (repeatable).")
@click.option("--resource-map", "resource_map", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CSV name,code: your resource names -> catalogue codes.")
@click.option("--new-resources", is_flag=True,
              help="Add resource names that match nothing in the catalogue (listed), instead of refusing them.")
@click.option("--write-resource-map", "draft_map", type=click.Path(dir_okay=False), default=None,
              help="Write a draft resource map (each unmatched name, best guess, score) to check and reuse.")
@click.option("--header-row", type=click.IntRange(1), default=None,
              help="Row number of the header (default: found below any title rows).")
@click.option("--decimal", type=click.Choice([".", ","]), default=".", show_default=True,
              help="Decimal mark of the files' numbers; with ',' a point groups thousands (1.234,5).")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--encoding", default=None, help="Text encoding of CSV/JSON files (default UTF-8).")
@_db_option
@_format_option
@_quiet_option
@_errors_to_click
def import_command(files, table, mappings, set_pairs, resource_map, new_resources, draft_map, header_row, decimal,
                   dry_run, encoding, db_path, fmt, quiet):
    """Import CSV, XLSX or JSON FILES into the store, all in one transaction.

    Each file's table comes from FILE:TABLE, --table, or a table name in its file name
    (kalundborg_flows.csv). Resource names are matched to the catalogue by code, name, synonym
    (English, Chinese, German) and EWC code. Quantities are converted to canonical units (t/yr,
    MWh/yr, m3/yr, tCO2e/yr). Any problem in any file is listed with file, row, column and value,
    and nothing is written.
    """
    if draft_map:  # checked before the store is touched (the importer writes it inside the transaction)
        check_output(draft_map, what="draft resource map")
    db = open_store(db_path)
    advance, bar = _progress(quiet, "importing")
    try:
        report = import_files(db, files, table=table, column_map=parse_column_map(mappings),
                              set_values=parse_set_values(set_pairs), resource_map=resource_map,
                              new_resources=new_resources, header_row=header_row, resource_map_draft=draft_map,
                              decimal=decimal,
                              dry_run=dry_run, encoding=encoding, progress=advance)
    finally:
        bar.close()
    _echo_frame(report.to_frame(), fmt, title="dry run: nothing written" if dry_run else None)
    for file_report in report.files:  # warnings whatever the format: they mean data may be lost
        for warning in file_report.warnings:
            click.echo(f"warning: {file_report.file}: {warning}", err=True)
    if report.draft_map:
        click.echo(f"wrote a draft resource map to {report.draft_map}: check it, then pass --resource-map", err=True)
    if not quiet and fmt == "table":
        for file_report in report.files:
            for note in file_report.notes:
                click.echo(f"note: {file_report.file}: {note}", err=True)


@cli.command("history")
@_db_option
@_format_option
@_errors_to_click
def history_command(db_path, fmt):
    """Every import that changed the store: file, table, rows inserted and updated, rows still from it."""
    from symbiosis.history import history

    _echo_frame(history(open_store(db_path, create=False)), fmt, title="imports")


@cli.command()
@click.argument("import_id", type=click.IntRange(1, 2**63 - 1))
@_db_option
@_errors_to_click
def undo(import_id, db_path):
    """Remove one import's rows and restore the rows it replaced (one transaction)."""
    from symbiosis.history import undo_import

    changed = undo_import(open_store(db_path, create=False), import_id)
    parts = [f"removed {count} {table}" for table, count in changed["removed"].items()]
    parts += [f"restored {count} {table}" for table, count in changed["restored"].items()]
    click.echo(f"undid import {import_id}: " + (", ".join(parts) or "nothing left to remove"))


@cli.command()
@click.option("--park", default=None, help="The park whose flows are reconciled (or --by-park: every park).")
@click.option("--currency", "currencies", multiple=True, type=click.Choice(["mass", "energy", "water", "co2"]),
              help="A currency to reconcile (repeatable; default: every currency a firm declares balanced).")
@click.option("--year", type=YEARS, default=None, help="Flows of this year (and undated ones).")
@click.option("--default-quality", type=click.Choice(["measured", "calculated", "estimated", "literature", "exact"]),
              default="estimated", show_default=True,
              help="Quality class of a known quantity that states no uncertainty ('exact': known exactly, never adjusted).")
@click.option("--balanced", type=click.Choice(["declared", "all"]), default="declared", show_default=True,
              help="Balanced firms: those whose 'balanced' column names the currency, or every firm of the park.")
@click.option("--significance", type=FiniteFloat(0, 1, min_open=True, max_open=True), default=0.05, show_default=True,
              help="Significance of the chi-square and measurement tests.")
@click.option("--dry-run", is_flag=True, help="Compute and show; store nothing.")
@_fanout_options
@_workbook_option
@_db_option
@_format_option
@_errors_to_click
def reconcile(park, currencies, year, default_quality, balanced, significance, dry_run, by_park, jobs, scheduler,
              resume, quiet, workbook, table_key, db_path, fmt):
    """Reconcile a park's flows against its firms' balances: unknown flows the balances determine, measured
    ones adjusted by weighted least squares, standard deviations, and tests naming likely gross errors.

    The result is stored as a separate estimates layer (never over the imported data); analyses read it
    with --estimates; 'symbiosis estimates' lists and drops stored reconciliations.
    """
    fmt = _full_tables(fmt, workbook)
    if by_park:
        if dry_run:
            raise click.UsageError("--by-park stores each park's reconciliation: no --dry-run with it")
        run = _by_park(db_path, "reconcile", park, AnalysisOptions(year=year), jobs, scheduler, resume, quiet,
                       arguments={"currencies": list(currencies) or None, "default_quality": default_quality,
                                  "balanced": balanced, "significance": significance})
        summary = _park_rows(run, "reconciliation")
        _echo_frame(summary, fmt, title="reconciliations by park")
        counts = pd.to_numeric(summary["negative"], errors="coerce").fillna(0) if "negative" in summary else None
        negative = summary[counts > 0] if counts is not None else summary.iloc[0:0]
        if len(negative):
            click.echo(f"note: {int(negative['negative'].sum())} flows of {negative['park_id'].nunique()} parks "
                       "reconciled below 0, which no flow can be: the balances contradict the data there (column "
                       "'negative'; each flow's reason says so); --estimates keeps their imported quantities", err=True)
        _failed(run)
        return
    if park is None:
        raise click.UsageError("give --park (or --by-park for every park)")
    from symbiosis.estimates import reconcile_store

    result = reconcile_store(open_store(db_path, create=False), park, currencies=tuple(currencies) or None, year=year,
                             default_quality=default_quality, balanced=balanced, significance=significance,
                             save=not dry_run)
    frames = {"reconciliation": result.summary}
    for currency, table in result.tables.items():
        if fmt == "table":
            table = table[["flow_id", "status", "measured", "measured_sd", "value", "sd", "test_statistic", "suspect",
                           "reason"]]
        frames[f"{currency} flows"] = table
    _echo_frames(frames, fmt)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


@cli.command()
@click.option("--drop", "drop_id", type=click.IntRange(1), default=None, help="Remove this stored reconciliation.")
@_db_option
@_format_option
@_errors_to_click
def estimates(drop_id, db_path, fmt):
    """Stored reconciliations (the estimates layer analyses read with --estimates); --drop removes one."""
    from symbiosis.estimates import drop_reconciliation, list_reconciliations

    db = open_store(db_path, create=False)
    if drop_id is not None:
        removed = drop_reconciliation(db, drop_id)
        click.echo(f"dropped reconciliation {drop_id} ({removed} estimates)", err=True)
    _echo_frame(list_reconciliations(db), fmt, title="reconciliations")


@cli.command()
@click.option("--park", default=None, help="The park (or --by-park: every park, built-in scenarios).")
@click.option("--scenario", "scenario_names", multiple=True, metavar="NAME|FILE",
              help="A scenario (repeatable, in order; the first is the baseline of the changes): as-is, planned, "
                   "plan, a stored scenario's name, or a scenario CSV file. Default: as-is, planned, plan.")
@click.option("--year", type=YEARS, default=None, help="Flows, emissions and energy use of this year.")
@click.option("--estimates", "use_estimates", is_flag=True,
              help="Use the stored reconciliation's estimates where it adjusted or determined a quantity.")
@click.option("--attribute", type=click.IntRange(0), default=DEFAULT_ATTRIBUTED, show_default=True,
              help="Work out the marginal contribution of this many plan synergies, the most valuable first (0: none).")
@_samples_options
@_fanout_options
@_workbook_option
@_db_option
@_format_option
@_errors_to_click
def compare(park, scenario_names, year, use_estimates, attribute, samples, seed, default_quality, by_park, jobs,
            scheduler, resume, quiet, workbook, table_key, db_path, fmt):
    """Scenarios side by side: every headline figure (loops, metrics, carbon, scorecard, co-location,
    matchmaking) per scenario with its change, and each plan synergy's marginal contribution."""
    from symbiosis.compare import compare_scenarios
    from symbiosis.scenarios import load_scenario

    fmt = _full_tables(fmt, workbook)
    options = AnalysisOptions(year=year, estimates=use_estimates, samples=samples, seed=seed,
                              default_quality=default_quality)
    if by_park:
        from symbiosis.scenarios import BUILT_IN

        other = [name for name in scenario_names if name not in BUILT_IN]
        if other:
            raise click.UsageError(f"--by-park compares the built-in scenarios ({', '.join(BUILT_IN)}), not "
                                   f"{', '.join(other)}: a stored scenario or a file is one park's")
        run = _by_park(db_path, "compare", park, options, jobs, scheduler, resume, quiet,
                       arguments={"scenarios": list(scenario_names), "attribute": attribute})
        _echo_frames({"figures": _park_rows(run, "figures"), "contributions": _park_rows(run, "contributions")}, fmt)
        _failed(run)
        return
    if park is None:
        raise click.UsageError("give --park (or --by-park for every park)")
    db = open_store(db_path, create=False)
    scenarios = [scenario for name in (scenario_names or ("as-is", "planned", "plan"))
                 for scenario in load_scenario(db, park, name)]
    result = compare_scenarios(db, park, scenarios, options=options, attribute=attribute)
    figures = result.table if fmt == "table" else result.figures
    contributions = result.contributions
    if fmt == "table" and len(contributions):
        contributions = contributions[["synergy", "source_name", "target_name", "resource_name", "quantity", "unit",
                                       "park_emissions_change_t", "avoided_change_t", "co2_avoided_t", "value_cny",
                                       "fci_change_mass",
                                       "fci_change_energy", "fci_change_water"]]
    _echo_frames({"figures": figures, "contributions": contributions}, fmt)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


@cli.group()
def scenario():
    """Stored scenarios of a park: add them from a CSV file, list them, drop one."""


@scenario.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--park", required=True, help="The park the scenarios change.")
@_db_option
@_errors_to_click
def scenario_add(file, park, db_path):
    """Check a scenario FILE against the store and store its scenarios (all or none)."""
    from symbiosis.scenarios import read_scenario_file, save_scenarios

    db = open_store(db_path, create=False)
    found = read_scenario_file(db, file, park)
    save_scenarios(db, park, found)
    click.echo(f"stored {len(found)} scenario(s) of park {park}: "
               + ", ".join(f"{item.name} ({item.base} + {len(item.changes)} changes)" for item in found), err=True)


@scenario.command("list")
@click.option("--park", default=None, help="Only this park's scenarios.")
@_db_option
@_format_option
@_errors_to_click
def scenario_list(park, db_path, fmt):
    """The stored scenarios (the built-in as-is, planned and plan are always there)."""
    from symbiosis.scenarios import list_scenarios

    _echo_frame(list_scenarios(open_store(db_path, create=False), park), fmt, title="scenarios")


@scenario.command("drop")
@click.argument("name")
@click.option("--park", required=True, help="The park of the scenario.")
@_db_option
@_errors_to_click
def scenario_drop(name, park, db_path):
    """Remove a stored scenario."""
    from symbiosis.scenarios import drop_scenario

    drop_scenario(open_store(db_path, create=False), park, name)
    click.echo(f"dropped scenario {name} of park {park}", err=True)


@cli.group()
def runs():
    """Per-park runs kept in the store (--by-park): list them, drop them."""


@runs.command("list")
@_db_option
@_format_option
@_errors_to_click
def runs_list(db_path, fmt):
    """The stored per-park runs, newest first: parks done and failed, and the room their results take."""
    from symbiosis.fanout import list_runs

    _echo_frame(list_runs(open_store(db_path, create=False)), fmt, title="runs")


@runs.command("drop")
@click.argument("run_ids", metavar="RUN...", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every stored run.")
@_db_option
@_errors_to_click
def runs_drop(run_ids, every, db_path):
    """Remove stored runs and their parks' results (a reconcile run's estimates stay)."""
    from symbiosis.fanout import drop_runs

    if not run_ids and not every:
        raise click.UsageError("name the runs to drop (symbiosis runs list), or --all")
    dropped = drop_runs(open_store(db_path, create=False), run_ids, every=every)
    click.echo(f"dropped {dropped} run(s)", err=True)


@cli.command("datasette-metadata")
@_output_option("Metadata JSON to write ('-': standard output); then: datasette serve STORE -m FILE.")
@_db_option
@_errors_to_click
def datasette_metadata_command(output, db_path):
    """Datasette metadata for the store: table and column descriptions, units, canned queries."""
    from symbiosis.datasette import metadata_text

    store = db_path or default_db_path()
    open_store(store, create=False)  # a store, not any file
    _wrote(write_output(output, metadata_text(store)))


@cli.command()
@_workbook_option
@_db_option
@_format_option
@_errors_to_click
def info(workbook, table_key, db_path, fmt):
    """Counts by table, flows by kind and status with canonical quantities, and parks."""
    fmt = _full_tables(fmt, workbook)
    db = open_store(db_path, create=False)
    _echo_frames(summarise(db), fmt)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default=None,
              help="Output format (default: from the file's suffix).")
@_output_option("Output file; '-' is standard output (give --format).")
@_graph_options(default_status=None)
@_db_option
@_errors_to_click
def export(fmt, output, park, year, kinds, status, db_path):
    """Export the flow network: GraphML or GEXF (Gephi), node-link JSON, or CSV of flows."""
    # a wrong suffix is said before the graph is loaded
    check_output(output, fmt, formats=EXPORT_FORMATS, what="export")
    G = _load(db_path, park, year, kinds, status)
    path = export_graph(G, output, fmt=fmt)
    _wrote(str(path), f" ({G.number_of_nodes()} nodes, {G.number_of_edges()} flows)")


@cli.command()
@_graph_options(default_status="existing")
@click.option("--max-length", type=click.IntRange(1, 12), default=6, show_default=True,
              help="Most firms in a loop.")
@click.option("--limit", type=click.IntRange(1), default=DEFAULT_LIMIT, show_default=True,
              help="Most loops to list (the search stops there).")
@click.option("--estimates", "use_estimates", is_flag=True,
              help="Use the stored reconciliation's estimates where it adjusted or determined a quantity.")
@_workbook_option
@_db_option
@_format_option
@_errors_to_click
def loops(park, year, kinds, status, max_length, limit, use_estimates, workbook, table_key, db_path, fmt):
    """Recycling loops: cycles of firms, ranked by their smallest link, per currency.

    Also lists the strongly connected components that hold them.
    """
    fmt = _full_tables(fmt, workbook)
    options = AnalysisOptions(year=year, status=_statuses(status), kinds=_kinds(kinds), max_length=max_length,
                              loop_limit=limit, estimates=use_estimates)
    analysis = analyse_park(open_store(db_path, create=False), park, analyses=("loops",), options=options)
    search = ran(analysis.loops, "loops")
    summary = pd.DataFrame([{"loops_listed": len(search.loops), "capped": search.capped, "limit": limit,
                             "max_length": max_length}])
    loops_table = search.loops
    if fmt == "table":
        loops_table = loops_table[["rank", "currency", "length", "bottleneck", "unit", "names", "resources"]]
        loops_table = loops_table.rename(columns={"names": "loop"})
    _echo_frames({"components": search.components, "loops": loops_table, "search": summary}, fmt)
    for note in search.notes + ([analysis.estimates_note] if analysis.estimates_note else []):
        click.echo(f"note: {note}", err=True)


@cli.command()
@_graph_options(default_status="existing")
@click.option("--throughflow", type=click.Choice(["input", "output"]), default="input", show_default=True,
              help="Throughflow for TST, APL and FCI: inflows + imports (as enaR), or outflows + exports.")
@click.option("--threshold", type=FiniteFloat(0, 1), default=DEFAULT_IMBALANCE_THRESHOLD, show_default=True,
              help="Firms whose inflow and outflow differ by more than this share are reported.")
@click.option("--min-coverage", type=FiniteFloat(0, 1), default=MIN_COVERAGE, show_default=True,
              help="Flow metrics (TST, FCI, ascendency ...) are withheld below this share of flows with a quantity.")
@click.option("--balance", type=click.Choice(["AVG2", "AVG", "IO", "OI", "I", "O"], case_sensitive=False), default=None,
              help="Balance each currency's flows to steady state first, as enaR's balance() (Allesina & Bondavalli "
                   "2003); every flow needs a quantity.")
@_fanout_options
@click.option("--estimates", "use_estimates", is_flag=True,
              help="Use the stored reconciliation's estimates where it adjusted or determined a quantity.")
@_samples_options
@_workbook_option
@_db_option
@_format_option
@_errors_to_click
def metrics(park, year, kinds, status, throughflow, threshold, min_coverage, balance, by_park, jobs, scheduler, resume,
            quiet, use_estimates, samples, seed, default_quality, workbook, table_key, db_path, fmt):
    """Network metrics per currency: connectance, cyclicity, TST, Finn cycling index, ascendency.

    Each currency's flow metrics stand on the flows with a quantity: 'coverage' says what share that
    is, and below --min-coverage (or with nothing known) they are withheld, with the reason.
    """
    fmt = _full_tables(fmt, workbook)
    options = AnalysisOptions(year=year, status=_statuses(status), kinds=_kinds(kinds), throughflow=throughflow,
                              imbalance_threshold=threshold, min_coverage=min_coverage, estimates=use_estimates,
                              samples=samples, seed=seed, default_quality=default_quality,
                              balance=balance.upper() if balance else None)
    if by_park:
        from symbiosis.metrics import metrics_frame

        run = _by_park(db_path, "metrics", park, options, jobs, scheduler, resume, quiet)
        table = metrics_frame(_park_rows(run, "metrics").to_dict("records"), by_park=True)
        if samples:
            _echo_frames({"metrics by park": table} | _intervals(_park_rows(run, "intervals")), fmt)
        else:
            _echo_frame(table, fmt, title="metrics by park")
        _failed(run)
        return
    analysis = analyse_park(open_store(db_path, create=False), park, analyses=("metrics",), options=options)
    table, balance = ran(analysis.metrics, "metrics"), ran(analysis.imbalance, "metrics")
    if analysis.estimates_note:  # with the figures in JSON and CSV, on stderr with the table
        table.attrs["note"] = analysis.estimates_note
        click.echo(f"note: {analysis.estimates_note}", err=True)
    if fmt == "table":
        shown = table.set_index("currency").T
        notes = shown.loc[["warning", "reason"]]
        shown = shown.drop(index=["warning", "reason"])
        # a withheld or unknown figure says so; topology counts are never unknown
        shown = shown.astype(object).where(shown.notna(), "unknown").reset_index().rename(columns={"index": "metric"})
        _echo_frames({"metrics": shown, f"firms out of balance by more than {threshold:.0%}": balance}
                     | _intervals(analysis.metric_intervals), fmt)
        for kind_of_note, by_currency in notes.iterrows():
            for currency, text in by_currency.items():
                if isinstance(text, str) and text:
                    click.echo(f"{'warning' if kind_of_note == 'warning' else 'withheld'}: {currency}: {text}", err=True)
    else:
        _echo_frames({"metrics": table, "imbalance": balance} | _intervals(analysis.metric_intervals), fmt)


@cli.command()
@click.option("--park", default=None, help="Only this park's firms.")
@click.option("--year", type=YEARS, default=None, help="Emissions and flows of this year (default: latest).")
@click.option("--max-km", type=FiniteFloat(0, min_open=True), default=100.0, show_default=True,
              help="Longest emitter-absorber distance for the allocation.")
@click.option("--top", type=click.IntRange(1), default=20, show_default=True, help="Rows of the per-firm balance.")
@click.option("--estimates", "use_estimates", is_flag=True,
              help="Use the stored reconciliation's estimates where it adjusted or determined a quantity.")
@_samples_options
@_fanout_options
@_factors_option
@_workbook_option
@_db_option
@_format_option
@_errors_to_click
def carbon(park, year, max_km, top, use_estimates, samples, seed, default_quality, by_park, jobs, scheduler, resume,
           quiet, factors_file, workbook, table_key, db_path, fmt):
    """CO2 of the park as one entity (park view, each tonne once), per firm (firm view), absorption nodes
    (stored and utilised CO2), by-product credits along chains, and emitter-absorber allocation.

    With --by-park: each park's park view and CO2 totals, one task per park (locally or on a Dask cluster)."""
    fmt = _full_tables(fmt, workbook)
    options = AnalysisOptions(year=year, max_km=max_km, factors=load_factors(factors_file), estimates=use_estimates,
                              samples=samples, seed=seed, default_quality=default_quality)
    if by_park:
        run = _by_park(db_path, "carbon", park, options, jobs, scheduler, resume, quiet)
        _echo_frames({"park view by park (tCO2e/yr)": _park_rows(run, "park_view"),
                      "park totals by park (tCO2e/yr)": _park_rows(run, "park_totals")}
                     | (_intervals(_park_rows(run, "intervals")) if samples else {}), fmt)
        _failed(run)
        return
    analysis = analyse_park(open_store(db_path, create=False), park, analyses=("carbon", "allocation"), options=options)
    balance, credits, view, nodes = (ran(analysis.balance, "carbon"), ran(analysis.credits, "carbon"),
                                     ran(analysis.inventory, "carbon"), ran(analysis.absorbers, "carbon"))
    allocation = ran(analysis.allocation, "allocation")
    shown = balance if fmt != "table" else balance.head(top)[
        ["id", "name", "emitted_t", "scope2_outside_t", "stored_t", "utilised_t", "avoided_t", "net_t",
         "emitted_source", "avoided_status"]]
    shown.attrs["note"] = balance.attrs.get("note")
    if fmt == "table":  # the largest savings first, unknown ones after; every row with --format csv/json
        listed = len(credits)
        order = pd.to_numeric(credits["avoided_t"], errors="coerce").fillna(-1.0)
        credits = credits.loc[order.sort_values(ascending=False, kind="stable").index[:top],
                              ["supplier", "taker", "resource", "quantity", "unit", "co2_factor", "credited_share",
                               "avoided_t", "saving_status", "note"]]
        if listed > top:
            credits.attrs["note"] = f"{top} of {listed} exchanges shown (--top); --format csv or json lists all"
    _echo_frames({"park view (tCO2e/yr)": view, "balance, firm view (tCO2e/yr)": shown,
                  "by-product exchanges": credits, "absorption nodes": nodes,
                  "allocation (min-cost flow)": allocation.pairs, "park CO2 (tCO2e/yr)": allocation.summary}
                 | _intervals(analysis.carbon_intervals), fmt)
    for note in allocation.notes + ([analysis.estimates_note] if analysis.estimates_note else []):
        click.echo(f"note: {note}", err=True)


@cli.command()
@click.option("--park", default=None, help="Only this park (and exchanges touching it).")
@click.option("--radius-km", type=FiniteFloat(0), default=50.0, show_default=True,
              help="Exchanges longer than this, and clusters spread wider, are listed.")
@click.option("--match-km", type=FiniteFloat(0, min_open=True), default=200.0, show_default=True,
              help="Offer-demand pairs closer than this count as exchange potential.")
@click.option("--weight", type=click.Choice(["tco2e", "tonnes"]), default="tco2e", show_default=True,
              help="Weight of exchange potential for clustering.")
@click.option("--sectors", "sectors_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Your own resource-to-sector CSV.")
@_factors_option
@_workbook_option
@_db_option
@_format_option
@_errors_to_click
def colocate(park, radius_km, match_km, weight, sectors_file, factors_file, workbook, table_key, db_path, fmt):
    """Co-location: long-haul exchanges, spread-out clusters, and streams with no taker in the park."""
    fmt = _full_tables(fmt, workbook)
    options = AnalysisOptions(radius_km=radius_km, match_km=match_km, weight=weight, factors=load_factors(factors_file),
                              sectors=load_resource_sectors(sectors_file))
    analysis = analyse_park(open_store(db_path, create=False), park, analyses=("colocation", "clusters"),
                            options=options)
    haul, groups = ran(analysis.long_haul, "colocation"), ran(analysis.clusters, "clusters")
    missing = ran(analysis.gaps, "colocation")
    if fmt == "table":
        haul = haul[["supplier", "taker", "resource", "quantity", "unit", "distance_km", "host_park",
                     "saved_tkm", "saved_tco2e", "note"]]
        groups = groups[["cluster", "size", "names", "spread_km", "host_park", "saved_tkm", "saved_tco2e"]]
    _echo_frames({f"long-haul exchanges (> {radius_km:g} km)": haul, "clusters": groups,
                  "gaps (no taker or supplier in the park)": missing}, fmt)


@cli.command("scorecard")
@click.option("--park", default=None, help="The park (default: every park).")
@click.option("--year", type=YEARS, default=None, help="Emissions and energy use of this year (default: latest).")
@click.option("--targets", "targets_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Your own targets CSV.")
@click.option("--min-coverage", type=FiniteFloat(0, 1), default=MIN_COVERAGE, show_default=True,
              help="Below this share of what an indicator needs, its verdict is 'insufficient data'.")
@click.option("--estimates", "use_estimates", is_flag=True,
              help="Use the stored reconciliation's estimates where it adjusted or determined a quantity.")
@_samples_options
@_fanout_options
@_factors_option
@_workbook_option
@_db_option
@_format_option
@_errors_to_click
def scorecard_command(park, year, targets_file, min_coverage, use_estimates, samples, seed, default_quality, by_park,
                      jobs, scheduler, resume, quiet, factors_file, workbook, table_key, db_path, fmt):
    """The five pillars of the zero-carbon park standard: indicators, targets, pass/fail, coverage."""
    fmt = _full_tables(fmt, workbook)
    options = AnalysisOptions(year=year, targets=load_targets(targets_file), factors=load_factors(factors_file),
                              min_coverage=min_coverage, estimates=use_estimates, samples=samples, seed=seed,
                              default_quality=default_quality)
    if by_park:
        run = _by_park(db_path, "scorecard", park, options, jobs, scheduler, resume, quiet)
        _echo_frames({"scorecard": _park_rows(run, "scorecard")}
                     | (_intervals(_park_rows(run, "intervals")) if samples else {}), fmt)
        _failed(run)
        return
    db = open_store(db_path, create=False)
    parks = [park] if park else park_ids(db)
    analyses = [analyse_park(db, park_id, analyses=("scorecard",), options=options) for park_id in parks]
    cards = pd.concat([ran(analysis.scorecard, "scorecard") for analysis in analyses],
                      ignore_index=True) if parks else pd.DataFrame()
    for analysis in analyses:
        if analysis.estimates_note:
            click.echo(f"note: {analysis.park}: {analysis.estimates_note}", err=True)
    if fmt == "table" and len(cards):
        cards = cards[["park_id", "pillar", "indicator", "value", "unit", "target", "passed", "coverage",
                       "target_status", "reason"]]
    if not samples:
        _echo_frame(cards, fmt, title="scorecard")
        return
    intervals = pd.concat([ran(analysis.scorecard_intervals, "scorecard").assign(park_id=analysis.park)
                           for analysis in analyses], ignore_index=True)
    intervals.attrs["note"] = ran(analyses[0].scorecard_intervals, "scorecard").attrs.get("note") if analyses else None
    _echo_frames({"scorecard": cards} | _intervals(intervals[["park_id", *intervals.columns[:-1]]]), fmt)


@cli.command("match")
@click.option("--park", default=None, help="Candidates with a side in this park (inside it or across to neighbours).")
@click.option("--all", "all_parks", is_flag=True, help="Every park.")
@click.option("--radius-km", type=FiniteFloat(0, min_open=True), default=50.0, show_default=True,
              help="Longest exchange distance (heat, water and CO2 within their pipe reach).")
@click.option("--top", type=click.IntRange(1), default=20, show_default=True, help="Candidates shown on screen.")
@click.option("--weights", "weights_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TOML or JSON: method = weighted_sum|topsis and [weights] co2_avoided, value, distance, quantity_match.")
@click.option("--substitutes", "substitutes_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Your own substitution table (offered,demanded,ratio).")
@click.option("--prices", "prices_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Your own price table (resource_code,virgin_price_cny,disposal_cost_cny).")
@_factors_option
@_output_option("Write matchmaking lists: .csv, .xlsx (a sheet per firm) or .json.", required=False)
@click.option("--anonymise", "anonymised", is_flag=True, help="Replace firm names and ids with stable codes everywhere.")
@click.option("--save", is_flag=True, help="Store the plan as flows with status 'potential'.")
@_db_option
@_format_option
@_quiet_option
@_errors_to_click
def match_command(park, all_parks, radius_km, top, weights_file, substitutes_file, prices_file, factors_file,
                  output, anonymised, save, db_path, fmt, quiet):
    """Synergy matchmaking: ranked offer-demand candidates, a global plan, and lists per firm."""
    if bool(park) == all_parks:
        raise click.UsageError("give --park P or --all")
    if output == STDOUT:
        raise click.UsageError("match prints its lists on standard output with --format csv or json; "
                               "-o takes a file (.csv, .xlsx or .json)")
    if output:  # before anything is saved: a bad -o must not leave the plan saved and the command failed
        check_output(output, None, formats=LIST_FORMATS, what="list")
    db = open_store(db_path, create=False)
    weights, method = load_weights(weights_file)
    options = AnalysisOptions(match_radius_km=radius_km, weights=weights, method=method,
                              factors=load_factors(factors_file), substitutes=load_substitutes(substitutes_file),
                              prices=load_prices(prices_file))
    result = ran(analyse_park(db, park, analyses=("matching",), options=options).matches, "matching")
    candidates = anonymise(result.candidates) if anonymised else result.candidates
    saved = None
    if save:
        report = save_plan(db, result)
        if report is not None:
            saved = report.files[0]
            if not quiet:
                click.echo(f"saved the plan: {saved.inserted} new and {saved.updated} changed potential "
                           f"flows (import {saved.import_id})", err=True)
    if output:
        about = {"method": method, "weights": weights, "radius_km": radius_km, "park": park or "all",
                 "anonymised": anonymised, "notes": result.notes}
        try:
            path = export_matches(candidates, result.summary, output, about=about)
        except SymbiosisError as error:
            if saved is None:
                raise
            raise click.ClickException(
                f"{error}\nthe plan WAS saved to the store (import {saved.import_id}: {saved.inserted} new, "
                f"{saved.updated} changed potential flows); 'symbiosis undo {saved.import_id}' takes it back") from None
        if not quiet:
            _wrote(str(path))
    shown = candidates
    if fmt == "table":
        shown = candidates.head(top)[["rank", "score", "offer_name", "demand_name", "offered", "demanded", "quantity",
                                      "unit", "distance_km", "co2_avoided_t", "value_cny", "exists", "plan_quantity"]]
        shown = shown.rename(columns={"offer_name": "gives", "demand_name": "takes"})
    _echo_frames({f"candidates ({method}; weights {', '.join(f'{k} {v:.2f}' for k, v in weights.items())})": shown,
                  "plan totals per unit": result.summary}, fmt)


@cli.command("map")
@click.option("--park", default=None, help="Only this park (firms elsewhere that trade with it shown apart).")
@click.option("--layout", type=click.Choice(["force", "geo"]), default="force", show_default=True,
              help="geo: firms at their coordinates, physics off; force: physics layout that stops when settled.")
@click.option("--show", default="loops,absorbers,potential", show_default=True,
              help="Comma-separated: loops, absorbers, potential (or 'none').")
@click.option("--title", default=None, help="Page title (default: the park's name).")
@click.option("--max-nodes", type=click.IntRange(10), default=3000, show_default=True,
              help="Above this many nodes, draw parks (or regions) instead of firms.")
@click.option("--estimates", "use_estimates", is_flag=True,
              help="Draw the stored reconciliation's estimates where it adjusted or determined a quantity (they glow).")
@click.option("--scenario", "scenario_names", multiple=True, metavar="NAME|FILE",
              help="Draw these scenarios with a toggle between them (repeatable; the first is the baseline: added "
                   "flows dashed, removed ones faded): as-is, planned, plan, a stored scenario or a scenario file. "
                   "Needs --park.")
@_output_option("HTML file to write ('-': standard output).")
@_db_option
@_errors_to_click
def map_command(park, layout, show, title, max_nodes, use_estimates, scenario_names, output, db_path):
    """Interactive network map (one offline HTML file): sectors, flows by kind, loops, absorbers."""
    from viz.map import scenario_map, store_map

    shown = tuple(item.strip() for item in show.split(",") if item.strip() and item.strip() != "none")
    unknown = [item for item in shown if item not in ("loops", "absorbers", "potential")]
    if unknown:
        raise click.UsageError(f"--show takes loops, absorbers, potential; not {', '.join(unknown)}")
    check_output(output)  # before minutes of layout work
    db = open_store(db_path, create=False)
    if scenario_names:
        from symbiosis.compare import scenario_networks
        from symbiosis.scenarios import load_scenario

        if not park:
            raise click.UsageError("--scenario needs --park")
        scenarios = [found for name in scenario_names for found in load_scenario(db, park, name)]
        networks = scenario_networks(db, park, scenarios, options=AnalysisOptions(estimates=use_estimates))
        html = scenario_map(networks, title=title, layout=layout)
    else:
        html = store_map(db, park=park, layout=layout, show=shown, title=title, max_nodes=max_nodes,
                         estimates=use_estimates)
    _wrote(write_output(output, html))


@cli.command("report")
@click.option("--park", default=None, help="The park (default: every park, the first 20 in full).")
@click.option("--no-map", is_flag=True, help="Leave out the embedded network map.")
@click.option("--scenario", "scenario_names", multiple=True, metavar="NAME|FILE",
              help="Compare these scenarios in the park's section (repeatable; the first is the baseline): as-is, "
                   "planned, plan, a stored scenario or a scenario file. Needs --park.")
@_output_option("HTML file to write ('-': standard output).")
@_db_option
@_errors_to_click
def report_command(park, no_map, scenario_names, output, db_path):
    """A self-contained HTML report: scorecard, loops, CO2, co-location, synergies, plots and the map."""
    from viz.report import build_report

    check_output(output)
    if scenario_names and not park:
        raise click.UsageError("--scenario needs --park")
    html = build_report(open_store(db_path, create=False), park=park, include_map=not no_map,
                        scenarios=scenario_names or None)
    _wrote(write_output(output, html))


@cli.command()
@click.option("--parks", type=click.IntRange(1), default=2543, show_default=True)
@click.option("--firms", type=click.IntRange(1), default=250_000, show_default=True)
@click.option("--flows", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the CSV files.")
@_format_option
@_errors_to_click
def generate(parks, firms, flows, seed, out_dir, fmt):
    """Write a synthetic national dataset (parks, firms, flows, offers, demands, emissions, energy use) as CSV."""
    from symbiosis.generate import generate_dataset

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    counts = generate_dataset(out_dir, parks=parks, firms=firms, flows=flows, seed=seed)
    _echo_frame(pd.DataFrame(list(counts.items()), columns=["file", "rows"]), fmt, title=f"written to {out_dir}")


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="symbiosis-demo", show_default=True,
              help="Folder for the demo store and outputs.")
@_format_option
@_quiet_option
@_errors_to_click
def demo(out_dir, fmt, quiet):
    """Build OUT/demo.db from the shipped Kalundborg and zero-carbon park data and summarise it.

    Also writes OUT/map.html, OUT/report.html and OUT/matchmaking.xlsx for the zero-carbon demo park.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db_file = out / "demo.db"
    for stale in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
        stale.unlink(missing_ok=True)  # the demo store is rebuilt from the shipped data each time
    db = open_store(db_file)
    for name in DEMO_SETS:
        advance, bar = _progress(quiet, f"importing {name}")
        try:
            report = import_files(db, dataset_files(name), progress=advance)
        finally:
            bar.close()
        if not quiet and fmt == "table":
            click.echo(f"imported {name}: {report.rows} rows from {len(report.files)} files", err=True)
    from viz.map import store_map
    from viz.report import build_report

    # the demo's pages and lists: the zero-carbon demo park, as a park manager would get them
    write_output(out / "map.html", store_map(db, park="zcp"))
    write_output(out / "report.html", build_report(db, park="zcp"))
    matches = ran(analyse_park(db, "zcp", analyses=("matching",)).matches, "matching")
    export_matches(matches.candidates, matches.summary, out / "matchmaking.xlsx",
                   about={"method": matches.method, "weights": matches.weights, "park": "zcp", "notes": matches.notes})
    _echo_frames(summarise(db), fmt)
    if not quiet and fmt == "table":
        click.echo(f"\nstore: {db_file} (schema version {schema_version(db)}); try: symbiosis info --db {db_file}\n"
                   f"pages: {out / 'map.html'}, {out / 'report.html'}; matchmaking list: {out / 'matchmaking.xlsx'}",
                   err=True)


def main() -> None:  # console script entry point
    cli()


if __name__ == "__main__":
    main()
