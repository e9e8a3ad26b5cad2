"""Every shipped output of one source tree, snapshotted; two snapshots compared (the bar of issue 16).

    python benchmarks/compare_outputs.py snapshot OUT_DIR [--national-quick [--store PATH]] [--jobs N] [--root TREE]
    python benchmarks/compare_outputs.py compare DIR_A DIR_B [--rtol R] [--atol A] [--max-diffs N] [--brief]

Before and after a change (the old tree as a second git worktree; a commit older than this script gets it with
``--root``, or by copying the script into the worktree's ``benchmarks/``)::

    git worktree add /tmp/old HEAD
    python benchmarks/compare_outputs.py snapshot /tmp/snap_old --root /tmp/old
    python benchmarks/compare_outputs.py snapshot /tmp/snap_new
    python benchmarks/compare_outputs.py compare /tmp/snap_old /tmp/snap_new
    git worktree remove --force /tmp/old

Which code runs
---------------
``snapshot`` runs the code of one source tree, the repository root (by default this script's parent's parent,
or ``--root``): every step is ``python -c "import cli; cli.main()" ARGS`` with that root as the working folder
and first on ``PYTHONPATH``, so ``cli``, ``symbiosis`` and ``viz`` come from that tree even when the virtual
env's editable install points at another checkout. Before any step a child process prints where it imported
``cli``, ``symbiosis`` and ``viz`` from; a module from outside the tree stops the snapshot. The shipped
datasets are found by the tree's own ``symbiosis.datasets`` (its ``datasets/`` folder). The snapshot itself
(store dumps, workbook cells, normalisation) is done by this script with the standard library and openpyxl,
so that both sides of a comparison are written the same way.

What a snapshot holds (paths relative to OUT_DIR)
-------------------------------------------------
- ``demo/demo-command.json``: ``symbiosis demo --format json`` (the store's summary); ``demo/demo-command/``:
  the demo's ``map.html`` and ``report.html`` and ``matchmaking.xlsx`` as one CSV per sheet
  (``matchmaking.xlsx.<sheet>.csv``, cell values only; ``matchmaking.xlsx.sheets.txt`` lists their order).
- ``<set>/store/``: the store table by table as CSV, rows sorted, and ``schema.sql`` (user_version and the
  schema's SQL), for ``demo`` (the demo's store), ``kalundborg`` (datasets/kalundborg imported in one
  command, as tests/test_datasets.py does) and ``foreign`` (tests/data/foreign imported with the commands of
  its README, read from the tree's README as tests/test_foreign.py does). Their import reports:
  ``kalundborg/import.json``, ``foreign/import-N.json``.
- ``<set>/<command>@<scope>.<json|csv>``: every analysis command in ``--format json`` and ``--format csv``
  (info, loops, metrics, carbon, colocate, scorecard, match; ``metrics-by-park``; ``export`` to CSV and
  node-link JSON), for each park of the set (demo: zcp; kalundborg: kalundborg; foreign: lubei, handelo) and
  for no park (``@all``; ``match --all``), plus ``map-geo@<scope>.html`` (``map --layout geo``) and
  ``report@<scope>.html``. What a command printed on stderr (notes, warnings) is kept beside its output as
  ``<output>.stderr.txt``; a command that failed leaves ``<output>.error.txt`` (exit code and stderr) instead.
- with ``--national-quick``: ``national/`` holds the outputs of the quick national run of
  ``benchmarks/run_all.py --quick`` (254 parks, 25,000 firms, 100,000 flows, seed 1, built the same way):
  ``info``, ``loops`` (capped at 1,000 of up to 6 firms, the command's defaults), ``metrics-by-park``,
  ``carbon``, ``colocate``, ``match@all``, ``scorecard`` as JSON, the national ``map.html`` and
  ``report.html`` (``--no-map``, as run_all), the per-park commands on the largest park (``*@largest.json``;
  its id in ``largest-park.txt``), and ``store-digest.csv`` (rows and SHA-256 of the sorted dump of each
  table: the national store is too large to keep whole). ``--store PATH`` reuses the store at PATH, or builds
  it there if PATH does not exist yet, so that a second snapshot need not build it again (a store from
  ``run_all.py --quick --keep DIR`` is ``DIR/national.db``); a reused store was imported by whichever code
  built it, so only the analyses are then compared.
- ``snapshot.json``: the tree, its commit and uncommitted files, where the modules came from, every step's
  command and seconds. ``compare`` prints it but does not compare it (times differ on every run).

What is left out or normalised, and why
---------------------------------------
- Store columns skipped (``SKIPPED_COLUMNS``): ``imports.imported_at`` and ``imports.undone_at``, the clock
  time at which each import ran (or was undone): they differ on every run and say nothing about the code.
- Paths (``Normaliser``): an absolute path into shipped datasets (``DATASETS_PATH``, ``.../datasets/`` or
  ``.../_datasets/``) becomes ``<DATASETS>/``, the tree's root ``<ROOT>``, the snapshot's working folder
  ``<WORK>``, OUT_DIR ``<OUT>``, the national store's folder ``<NATIONAL_DIR>``, the Python installation
  ``<PYTHON>`` (also with slashes escaped, as pandas writes JSON): ``imports.file`` and the "wrote ..." notes
  carry absolute paths, a worktree lives elsewhere than the main checkout, and a reused national store holds
  the paths of the tree that built it.
- Regexes (``VOLATILE_PATTERNS``), applied to every text output but not to the store dumps:
  ``\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?( ?UTC|Z)?`` -> ``<TIME>`` (the report's
  "generated 2026-12-02 12:42 UTC": a date with a clock time; the data hold years and dates, never clock
  times; it also masks the fixed build date in vis-network's header), and
  ``symbiosis v?\\d+\\.\\d+\\.\\d+\\S*`` -> ``symbiosis <VERSION>`` (the package's version, should a page print
  it: a version bump is not a change of output).
- The workbook's styles, column widths and document properties (its file carries its own creation time):
  only the cells are compared.
- Timings and peak memory of the national run: in ``snapshot.json`` only.

How ``compare`` compares
------------------------
Files are matched by their path under each folder; same bytes: ``identical``. Otherwise JSON files are compared
as data (keys as a set, lists item by item; a difference is printed with its path, such as
``$["park view"][3].value_t``), CSV files table by table (a ``# title`` line starts a table, its next row is
the header): columns only on one side are said once, then rows are paired by their first cell where it is a
key on both sides (rows on one side only and a change of row order are reported) or else by position, and
cells compared by column name; other files line by line (the differing lines, cut to a window around the first
differing character; "white space only" said). Numbers in JSON and CSV are compared exactly (``1`` equals
``1.0``; nan equals nan) unless ``--rtol``/``--atol`` are given (then as ``math.isclose``); in HTML and text
they are compared as text. A JSON or CSV file whose text differs but whose data do not is ``same data`` and
counts as identical. The same difference at many places (one path with any list index, the same columns of
other rows, the same changed line) is printed once with how many more there are, and at most ``--max-diffs``
kinds per file. Exit code 1 if any file differs or is on one side only. ``PYTHONHASHSEED`` is not fixed: an
output that changes from run to run shows up as a difference, as it should.
"""
from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import io
import itertools
import json
import math
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SKIPPED_COLUMNS", "VOLATILE_PATTERNS", "DATASETS_PATH", "SNAPSHOT_INFO", "Normaliser", "Step", "dump_store",
           "store_digest", "workbook_to_csv", "snapshot", "Tolerance", "CsvSection", "csv_sections", "json_differences",
           "csv_differences", "text_differences", "grouped", "compare_files", "compare_dirs", "main"]

DEFAULT_ROOT = Path(__file__).resolve().parent.parent
#: the file of a snapshot that describes it; printed by ``compare``, never compared
SNAPSHOT_INFO = "snapshot.json"
#: columns of the store left out of its dump: clock times of the run, not results of the code
SKIPPED_COLUMNS = {"imports": ("imported_at", "undone_at")}
#: (pattern, replacement) applied to every text output: parts that change with the clock or the version
VOLATILE_PATTERNS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?UTC|Z)?"), "<TIME>"),
    (re.compile(r"symbiosis v?\d+\.\d+\.\d+\S*"), "symbiosis <VERSION>"),
)
#: an absolute path into the shipped datasets (``datasets/`` of a tree, ``_datasets/`` of an installed package): where
#: the data lay, not what the code made of it (a national store reused from another tree holds that tree's paths)
DATASETS_PATH = (re.compile(r"(?<![^\s\"',;=(\[])/(?:[^\s\"',;<>]*/)?_?datasets/"), "<DATASETS>/")
#: how a NULL is written in a store dump (an empty cell is an empty string)
NULL = "\\N"
#: parks of each small set: each analysis runs for each of them and for no park
SCOPES = {"demo": ("zcp",), "kalundborg": ("kalundborg",), "foreign": ("lubei", "handelo")}
#: analysis commands taking --park and --format (match without a park needs --all)
PARK_COMMANDS = ("loops", "metrics", "carbon", "colocate", "scorecard", "match")
#: the quick national size and seed of benchmarks/run_all.py --quick
NATIONAL_QUICK = {"parks": 254, "firms": 25_000, "flows": 100_000, "seed": 1}


# ---------------------------------------------------------------------------------------------- snapshot


@dataclass
class Normaliser:
    """Turns a text output into its comparable form: known paths to placeholders, volatile parts masked.

    Parameters
    ----------
    paths
        (absolute path, placeholder) pairs; longer paths are replaced first.
    """

    paths: list[tuple[str, str]]

    def text(self, value: str, volatile: bool = True) -> str:
        """``value`` with paths replaced and, if ``volatile``, the ``VOLATILE_PATTERNS`` masked."""
        value = DATASETS_PATH[0].sub(DATASETS_PATH[1], value)
        for path, placeholder in sorted(self.paths, key=lambda pair: -len(pair[0])):
            # also as pandas' JSON writes it, with every slash escaped
            value = value.replace(path, placeholder).replace(path.replace("/", "\\/"), placeholder)
        if volatile:
            for pattern, replacement in VOLATILE_PATTERNS:
                value = pattern.sub(replacement, value)
        return value

    def copy_text(self, source: Path, destination: Path) -> None:
        """Write ``source``'s normalised text to ``destination`` (bytes as they are if not UTF-8)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        raw = source.read_bytes()
        try:
            destination.write_text(self.text(raw.decode("utf-8")), encoding="utf-8")
        except UnicodeDecodeError:
            destination.write_bytes(raw)


@dataclass
class Step:
    """One ``symbiosis`` command of a snapshot and where its output goes.

    Parameters
    ----------
    output
        Path under OUT_DIR of what the command prints (``writes`` is None) or writes (the file ``writes``,
        converted by ``convert`` or copied as normalised text).
    args
        The command's arguments (without ``symbiosis``).
    writes
        The file the command writes (under the working folder), if its output is a file.
    convert
        Turns ``writes`` into the snapshot's files: ``convert(written, destination_without_suffix)``.
    """

    output: str
    args: list[str]
    writes: Path | None = None
    convert: Callable[[Path, Path], None] | None = None
    seconds: float = field(default=0.0, init=False)
    exit_code: int = field(default=0, init=False)


def _child_env(root: Path) -> dict[str, str]:
    """The environment of every step: the tree's root first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + [part for part in [env.get("PYTHONPATH")] if part])
    return env


def check_modules(root: Path) -> dict[str, str]:
    """Where a step's process imports ``cli``, ``symbiosis`` and ``viz`` from; stops unless all are in ``root``.

    Raises
    ------
    SystemExit
        If any of them comes from outside the tree (the snapshot would describe other code).
    """
    code = ("import json, cli, symbiosis, viz\n"
            "print(json.dumps({name: module.__file__ for name, module in "
            "(('cli', cli), ('symbiosis', symbiosis), ('viz', viz))}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=_child_env(root), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cannot import the tree's modules from {root}:\n{done.stderr[-2000:]}")
    files = json.loads(done.stdout.strip().splitlines()[-1])
    outside = {name: path for name, path in files.items() if not Path(path).resolve().is_relative_to(root)}
    if outside:
        raise SystemExit(f"modules imported from outside {root}: {outside}")
    return files


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def _format_cell(value: object, normaliser: Normaliser) -> str:
    """One stored value as text: exact for numbers (repr), NULL as ``\\N``, paths normalised."""
    if value is None:
        return NULL
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str):
        return normaliser.text(value, volatile=False)
    return str(value)


def _table_rows(conn: sqlite3.Connection, table: str, normaliser: Normaliser) -> tuple[list[str], list[list[str]]]:
    """A table's kept columns and its rows as sorted text."""
    columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
    kept = [column for column in columns if column not in SKIPPED_COLUMNS.get(table, ())]
    quoted = ", ".join(f'"{column}"' for column in kept)
    rows = [[_format_cell(value, normaliser) for value in row] for row in conn.execute(f'SELECT {quoted} FROM "{table}"')]
    rows.sort()
    return kept, rows


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


def dump_store(db: Path, destination: Path, normaliser: Normaliser) -> None:
    """Write the store table by table as sorted CSV (``SKIPPED_COLUMNS`` left out) and its schema.

    Parameters
    ----------
    db
        The SQLite store (opened read-only).
    destination
        Folder for ``<table>.csv`` and ``schema.sql``.
    normaliser
        Replaces paths (``imports.file``) by placeholders.
    """
    destination.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
        lines = [f"-- user_version {version}"] + [f"-- {kind} {name}\n{sql};" for kind, name, sql in schema]
        (destination / "schema.sql").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for table in _tables(conn):
            columns, rows = _table_rows(conn, table, normaliser)
            with open(destination / f"{table}.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(columns)
                writer.writerows(rows)
    finally:
        conn.close()


def store_digest(db: Path, destination: Path, normaliser: Normaliser) -> None:
    """Write one CSV row per table: its row count and the SHA-256 of its sorted dump (as ``dump_store``)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        lines = [("table", "rows", "sha256")]
        for table in _tables(conn):
            columns, rows = _table_rows(conn, table, normaliser)
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows([columns, *rows])
            lines.append((table, str(len(rows)), hashlib.sha256(buffer.getvalue().encode("utf-8")).hexdigest()))
    finally:
        conn.close()
    destination.parent.mkdir(parents=True, exist_ok=True)
    with open(destination, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(lines)


def _safe_name(name: str, used: set[str]) -> str:
    """A file-name-safe form of a sheet name, unique among ``used``."""
    base = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("_") or "sheet"
    candidate = base
    for number in itertools.count(2):
        if candidate not in used:
            break
        candidate = f"{base}_{number}"
    used.add(candidate)
    return candidate


def workbook_to_csv(workbook: Path, stem: Path, normaliser: Normaliser) -> None:
    """Write each sheet's cell values as ``<stem>.<sheet>.csv`` and the sheet order as ``<stem>.sheets.txt``."""
    from openpyxl import load_workbook

    book = load_workbook(workbook, read_only=True, data_only=True)
    used: set[str] = set()
    order = []
    stem.parent.mkdir(parents=True, exist_ok=True)
    for sheet in book.worksheets:
        name = _safe_name(sheet.title, used)
        order.append(f"{name}\t{sheet.title}")
        with open(f"{stem}.{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            for row in sheet.iter_rows(values_only=True):
                writer.writerow([NULL if value is None else normaliser.text(repr(value) if isinstance(value, float)
                                                                            else str(value)) for value in row])
    book.close()
    Path(f"{stem}.sheets.txt").write_text("\n".join(order) + "\n", encoding="utf-8")


class Snapshotter:
    """Runs the steps of one snapshot in the tree ``root``, writing into ``out`` (working files in ``work``)."""

    def __init__(self, root: Path, out: Path, work: Path, normaliser: Normaliser) -> None:
        self.root, self.out, self.work, self.normaliser = root, out, work, normaliser
        self.env = _child_env(root)
        self.steps: list[Step] = []

    def run(self, step: Step) -> Step:
        """Run one step, then save its normalised output (or its error) under OUT_DIR."""
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "import cli; cli.main()", *step.args], cwd=self.root,
                              env=self.env, capture_output=True)
        step.seconds, step.exit_code = time.perf_counter() - started, done.returncode
        self.steps.append(step)
        target = self.out / step.output
        target.parent.mkdir(parents=True, exist_ok=True)
        stderr = self.normaliser.text(done.stderr.decode("utf-8", errors="replace"))
        if done.returncode != 0:
            Path(f"{target}.error.txt").write_text(f"exit code {done.returncode}\n{stderr}", encoding="utf-8")
            return step
        if stderr.strip():
            Path(f"{target}.stderr.txt").write_text(stderr, encoding="utf-8")
        if step.writes is None:
            target.write_text(self.normaliser.text(done.stdout.decode("utf-8", errors="replace")), encoding="utf-8")
        elif step.convert is not None:
            step.convert(step.writes, target)
        else:
            self.normaliser.copy_text(step.writes, target)
        return step

    def run_chain(self, chain: list[Step | Callable[[], None]]) -> None:
        """Run steps (and Python actions between them) one after another, up to the first failed step."""
        for item in chain:
            if isinstance(item, Step):
                if self.run(item).exit_code:
                    return  # its .error.txt says why; what follows needs its result
            else:
                item()

    def file_step(self, output: str, args: list[str], convert: Callable[[Path, Path], None] | None = None) -> Step:
        """A step whose output is the file ``-o`` it writes (kept under the working folder first)."""
        written = self.work / output
        written.parent.mkdir(parents=True, exist_ok=True)
        return Step(output, [*args, "-o", str(written)], writes=written, convert=convert)


def _park_args(park: str | None, command: str) -> list[str]:
    if park is not None:
        return ["--park", park]
    return ["--all"] if command == "match" else []


def analysis_steps(snap: Snapshotter, name: str, db: Path, parks: tuple[str, ...]) -> list[Step]:
    """Every analysis command on one store, in JSON and CSV, for each park and for no park."""
    steps = []
    store = ["--db", str(db)]
    for fmt in ("json", "csv"):
        steps.append(Step(f"{name}/info.{fmt}", ["info", *store, "--format", fmt]))
        steps.append(Step(f"{name}/metrics-by-park.{fmt}", ["metrics", "--by-park", *store, "--format", fmt]))
        for park in (None, *parks):
            scope = park or "all"
            for command in PARK_COMMANDS:
                steps.append(Step(f"{name}/{command}@{scope}.{fmt}",
                                  [command, *_park_args(park, command), *store, "--format", fmt]))
            steps.append(snap.file_step(f"{name}/export@{scope}.{fmt}",
                                        ["export", *_park_args(park, "export"), "--format", fmt, *store]))
    for park in (None, *parks):
        scope = park or "all"
        steps.append(snap.file_step(f"{name}/map-geo@{scope}.html",
                                    ["map", "--layout", "geo", *_park_args(park, "map"), *store]))
        steps.append(snap.file_step(f"{name}/report@{scope}.html", ["report", *_park_args(park, "report"), *store]))
    return steps


def foreign_import_commands(root: Path, db: Path) -> list[list[str]]:
    """The ``symbiosis import`` commands of the tree's tests/data/foreign/README.md, on ``db``."""
    text = (root / "tests" / "data" / "foreign" / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("symbiosis import"):
                args = shlex.split(line)[1:]
                commands.append([str(db) if arg == "foreign.db" else arg for arg in args])
    if not commands:
        raise SystemExit("no import command found in tests/data/foreign/README.md")
    return commands


def build_chains(snap: Snapshotter) -> tuple[list[list], dict[str, Path]]:
    """The steps that build the demo, Kalundborg and foreign stores (one chain each) and the stores."""
    out, work, normaliser = snap.out, snap.work, snap.normaliser
    demo_dir = work / "demo-out"
    demo = [
        Step("demo/demo-command.json", ["demo", "--out", str(demo_dir), "--format", "json", "--quiet"]),
        lambda: dump_store(demo_dir / "demo.db", out / "demo" / "store", normaliser),
        lambda: [normaliser.copy_text(demo_dir / page, out / "demo" / "demo-command" / page)
                 for page in ("map.html", "report.html") if (demo_dir / page).is_file()],
        lambda: (demo_dir / "matchmaking.xlsx").is_file() and workbook_to_csv(
            demo_dir / "matchmaking.xlsx", out / "demo" / "demo-command" / "matchmaking.xlsx", normaliser),
    ]
    kalundborg_db = work / "kalundborg.db"
    files = sorted(path.relative_to(snap.root).as_posix() for path in (snap.root / "datasets" / "kalundborg").glob("*.csv"))
    kalundborg = [
        Step("kalundborg/import.json", ["import", *files, "--db", str(kalundborg_db), "--format", "json", "--quiet"]),
        lambda: dump_store(kalundborg_db, out / "kalundborg" / "store", normaliser),
    ]
    foreign_db = work / "foreign.db"
    foreign: list = [Step(f"foreign/import-{number}.json", [*args, "--format", "json", "--quiet"])
                     for number, args in enumerate(foreign_import_commands(snap.root, foreign_db), start=1)]
    foreign.append(lambda: dump_store(foreign_db, out / "foreign" / "store", normaliser))
    stores = {"demo": demo_dir / "demo.db", "kalundborg": kalundborg_db, "foreign": foreign_db}
    return [demo, kalundborg, foreign], stores


def national_build(snap: Snapshotter, store: Path) -> list[Step]:
    """The steps of run_all.py --quick that build the national store (generate, then three imports)."""
    data = store.parent / (store.stem + "-data")
    quiet = ["--db", str(store), "--quiet", "--format", "json"]
    size = [f"--{key}={value}" for key, value in NATIONAL_QUICK.items()]
    steps = [Step("national-build/generate.json", ["generate", *size, "--out", str(data), "--format", "json"]),
             Step("national-build/import-parks-firms.json",
                  ["import", str(data / "parks.csv"), str(data / "enterprises.csv"), *quiet]),
             Step("national-build/import-flows.json", ["import", str(data / "flows.csv"), *quiet])]
    rest = [f"{data}/{name}" for name in ("demands.csv", "emissions.csv", "energy_use.csv", "offers.csv")]
    steps.append(Step("national-build/import-rest.json", ["import", *rest, *quiet]))
    return steps


def largest_park(db: Path) -> str:
    """The park with the most firms (ties: the first id), as run_all.py picks it."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT park_id FROM enterprises WHERE park_id IS NOT NULL GROUP BY park_id "
                           "ORDER BY count(*) DESC, park_id LIMIT 1").fetchone()
    finally:
        conn.close()
    if row is None:
        raise SystemExit(f"{db}: no park with firms")
    return row[0]


def national_steps(snap: Snapshotter, db: Path) -> list[Step]:
    """The national figures: the commands run_all.py runs, in JSON, and the per-park ones on the largest park."""
    store = ["--db", str(db)]
    park = largest_park(db)
    (snap.out / "national").mkdir(parents=True, exist_ok=True)
    (snap.out / "national" / "largest-park.txt").write_text(park + "\n", encoding="utf-8")
    steps = [Step(f"national/{name}.json", [*args, *store, "--format", "json"]) for name, args in (
        ("info", ["info"]), ("loops", ["loops"]), ("metrics-by-park", ["metrics", "--by-park"]), ("carbon", ["carbon"]),
        ("colocate", ["colocate"]), ("match@all", ["match", "--all"]), ("scorecard", ["scorecard"]))]
    steps.append(snap.file_step("national/map.html", ["map", *store]))
    steps.append(snap.file_step("national/report.html", ["report", "--no-map", *store]))
    steps += [Step(f"national/{command}@largest.json", [command, "--park", park, *store, "--format", "json"])
              for command in PARK_COMMANDS]
    return steps


def _in_parallel(jobs: int, calls: list[Callable[[], object]]) -> None:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()  # an exception in a step stops the snapshot here


def _national(snap: Snapshotter, store: Path | None, jobs: int) -> dict:
    """Build (or reuse) the quick national store and snapshot its figures; what was done, for snapshot.json."""
    about: dict = {}
    store = store.resolve() if store is not None else None
    if store is not None and store.exists():
        about["store"] = f"reused {store}"
    else:
        store = store or snap.work / "national" / "national.db"
        store.parent.mkdir(parents=True, exist_ok=True)
        about["store"] = f"built {store}"
        build_started = time.perf_counter()
        snap.run_chain(national_build(snap, store))
        about["build_seconds"] = round(time.perf_counter() - build_started, 2)
        failed = [step.output for step in snap.steps if step.output.startswith("national-build") and step.exit_code]
        if failed:
            raise SystemExit(f"the national store could not be built: see {failed} under {snap.out}")
        # the build's own printout (counts, import reports) goes to snapshot.json: with a reused store it is absent
        for path in sorted((snap.out / "national-build").glob("*")):
            about[path.name] = path.read_text(encoding="utf-8")
        shutil.rmtree(snap.out / "national-build")
    # the store's folder holds the generated CSV files too (imports.file): <NATIONAL_DIR> wherever it lies
    snap.normaliser.paths.append((str(store.parent), "<NATIONAL_DIR>"))
    analyse_started = time.perf_counter()
    store_digest(store, snap.out / "national" / "store-digest.csv", snap.normaliser)
    _in_parallel(jobs, [lambda step=step: snap.run(step) for step in national_steps(snap, store)])
    about["analysis_seconds"] = round(time.perf_counter() - analyse_started, 2)
    return about


def snapshot(root: Path, out: Path, national_quick: bool = False, store: Path | None = None, jobs: int = 2) -> dict:
    """Write every shipped output of the tree ``root`` into ``out`` (see the module's docstring).

    Parameters
    ----------
    root
        The repository root whose code runs.
    out
        The snapshot folder (emptied first if it holds an earlier snapshot).
    national_quick
        Also build (or reuse ``store``) the quick national store and snapshot its figures.
    store
        The quick national store to reuse, or where to build it.
    jobs
        Commands run at the same time.

    Returns
    -------
    dict
        What ``snapshot.json`` holds.
    """
    started = time.perf_counter()
    root, out = root.resolve(), out.resolve()
    if out.exists():
        if any(out.iterdir()) and not (out / SNAPSHOT_INFO).is_file():
            raise SystemExit(f"{out} is not empty and holds no snapshot: give a new or empty folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    modules = check_modules(root)
    work = Path(tempfile.mkdtemp(prefix="symbiosis-compare-"))
    normaliser = Normaliser([(str(root), "<ROOT>"), (str(work), "<WORK>"), (str(out), "<OUT>"),
                             (sys.prefix, "<PYTHON>"), (sys.base_prefix, "<PYTHON>")])
    snap = Snapshotter(root, out, work, normaliser)
    info: dict = {"root": str(root), "commit": _git(root, "rev-parse", "HEAD"),
                  "uncommitted": _git(root, "status", "--porcelain").splitlines(), "modules": modules,
                  "python": sys.version.split()[0], "environment": {key: value for key, value in os.environ.items()
                                                                     if key.startswith("SYMBIOSIS_")}}
    try:
        chains, stores = build_chains(snap)
        _in_parallel(jobs, [lambda chain=chain: snap.run_chain(chain) for chain in chains])
        # a set whose store could not be built has only its .error.txt (commands would create an empty store)
        info["sets_not_built"] = [name for name, db in stores.items() if not db.is_file()]
        steps = [step for name, db in stores.items() if db.is_file()
                 for step in analysis_steps(snap, name, db, SCOPES[name])]
        _in_parallel(jobs, [lambda step=step: snap.run(step) for step in steps])
        info["small_sets_seconds"] = round(time.perf_counter() - started, 2)
        if national_quick:
            info["national"] = _national(snap, store, jobs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    info["seconds"] = round(time.perf_counter() - started, 2)
    info["failed"] = [step.output for step in snap.steps if step.exit_code]
    info["steps"] = [{"output": step.output, "args": [normaliser.text(arg, volatile=False) for arg in step.args],
                      "seconds": round(step.seconds, 3), "exit_code": step.exit_code} for step in snap.steps]
    (out / SNAPSHOT_INFO).write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return info


# ----------------------------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Tolerance:
    """How close two numbers must be: exact when both are 0 (``1`` equals ``1.0``; nan equals nan)."""

    rtol: float = 0.0
    atol: float = 0.0

    def equal(self, a: float, b: float) -> bool:
        """Whether ``a`` and ``b`` count as the same number."""
        if a == b or (math.isnan(a) and math.isnan(b)):
            return True
        return (self.rtol > 0 or self.atol > 0) and math.isclose(a, b, rel_tol=self.rtol, abs_tol=self.atol)


def _short(value: object, width: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_path(path: str, key: object) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_]\w*", str(key)) else f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def json_differences(a: object, b: object, tolerance: Tolerance, path: str = "$") -> Iterator[tuple[str, str]]:
    """Each place where two JSON values differ, as (path, ``path: a != b``), in document order.

    Keys are compared as a set (their order is not data); list items position by position.
    """
    if _is_number(a) and _is_number(b):
        if not tolerance.equal(float(a), float(b)):
            yield path, f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(key for key in b if key not in a)]:
            where = _json_path(path, key)
            if key not in b:
                yield where, f"{where}: only in A ({_short(a[key])})"
            elif key not in a:
                yield where, f"{where}: only in B ({_short(b[key])})"
            else:
                yield from json_differences(a[key], b[key], tolerance, where)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield path + "#length", f"{path}: {len(a)} items != {len(b)} items"
        for index, (item_a, item_b) in enumerate(zip(a, b)):
            yield from json_differences(item_a, item_b, tolerance, f"{path}[{index}]")
    elif type(a) is not type(b) or a != b:
        yield path, f"{path}: {_short(a)} != {_short(b)}"


def _cells_equal(a: str, b: str, tolerance: Tolerance) -> bool:
    if a == b:
        return True
    try:
        return tolerance.equal(float(a), float(b))
    except ValueError:
        return False


@dataclass
class CsvSection:
    """One table of a CSV output: its ``# title`` line (if any), its header and its rows (with line numbers)."""

    title: str
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def csv_sections(rows: list[list[str]]) -> list[CsvSection]:
    """The tables of a CSV text: a ``# title`` line starts one (its next row is the header); blank rows end none."""
    sections: list[CsvSection] = []
    title, current = "", None
    for number, row in enumerate(rows, start=1):
        if not any(cell.strip() for cell in row):
            continue
        if row[0].startswith("# "):
            title, current = ",".join(row)[2:], None
        elif current is None:
            current = CsvSection(title, row)
            sections.append(current)
        else:
            current.rows.append((number, row))
    return sections


def _column_pairs(header_a: list[str], header_b: list[str], width: int) -> list[tuple[str, int, int]]:
    """(name, index in A, index in B) of the columns to compare: by position if the headers are the same,
    else the columns named on both sides (first of a repeated name)."""
    if header_a == header_b:
        return [(header_a[index] if index < len(header_a) and header_a[index] not in ("", NULL) else f"column {index + 1}",
                 index, index) for index in range(width)]
    return [(name, header_a.index(name), header_b.index(name)) for name in dict.fromkeys(header_a) if name in header_b]


def _header_difference(header_a: list[str], header_b: list[str]) -> str:
    only_a = [name for name in header_a if name not in header_b]
    only_b = [name for name in header_b if name not in header_a]
    parts = ([f"columns only in A: {', '.join(only_a)}"] if only_a else []) + (
        [f"columns only in B: {', '.join(only_b)}"] if only_b else [])
    return "; ".join(parts) or f"column order: {_short(','.join(header_a))} != {_short(','.join(header_b))}"


def _row_difference(pairs: list[tuple[str, int, int]], row_a: list[str], row_b: list[str],
                    tolerance: Tolerance) -> tuple[list[str], list[str]]:
    """The names of the differing cells of two rows and how they differ."""
    names, cells = [], []
    for name, index_a, index_b in pairs:
        cell_a = row_a[index_a] if index_a < len(row_a) else "<none>"
        cell_b = row_b[index_b] if index_b < len(row_b) else "<none>"
        if not _cells_equal(cell_a, cell_b, tolerance):
            names.append(name)
            cells.append(f"{name}: {_short(cell_a)} != {_short(cell_b)}")
    return names, cells


def _aligned_rows(section_a: CsvSection, section_b: CsvSection, label: str) -> Iterator[tuple]:
    """Pairs of rows to compare: by their first cell where it is a key on both sides (then rows on one side
    only and a change of order are reported), else by position. Yields (row A, row B) or a difference."""
    keys_a = [row[0] for _, row in section_a.rows]
    keys_b = [row[0] for _, row in section_b.rows]
    keyed = (section_a.header[:1] == section_b.header[:1] and len(set(keys_a)) == len(keys_a)
             and len(set(keys_b)) == len(keys_b))
    if not keyed:
        yield from itertools.zip_longest(section_a.rows, section_b.rows)
        return
    by_key_b = dict(zip(keys_b, section_b.rows))
    by_key_a = dict(zip(keys_a, section_a.rows))
    common_a = [key for key in keys_a if key in by_key_b]
    common_b = [key for key in keys_b if key in by_key_a]
    if common_a != common_b:
        first = next(index for index, (x, y) in enumerate(zip(common_a, common_b)) if x != y)
        yield (f"{label}order", f"{label}row order differs: from row {by_key_a[common_a[first]][0]}, "
                                f"{_short(common_a[first])} in A where B has {_short(common_b[first])}")
    for key, row in zip(keys_a, section_a.rows):
        yield row, by_key_b.get(key)
    for key, row in zip(keys_b, section_b.rows):
        if key not in by_key_a:
            yield None, row


def _section_differences(section_a: CsvSection, section_b: CsvSection, tolerance: Tolerance) -> Iterator[tuple[str, str]]:
    label = f"[{section_a.title}] " if section_a.title else ""
    if section_a.header != section_b.header:
        yield f"{label}header", f"{label}header: {_header_difference(section_a.header, section_b.header)}"
    width = max([len(row) for _, row in section_a.rows + section_b.rows] + [len(section_a.header)])
    pairs = _column_pairs(section_a.header, section_b.header, width)
    for item in _aligned_rows(section_a, section_b, label):
        if isinstance(item[0], str):  # a difference of order
            yield item
            continue
        row_a, row_b = item
        if row_a is None or row_b is None:
            number, cells = row_a or row_b
            side = "A" if row_b is None else "B"
            yield (f"{label}only in {side}",
                   f"{label}row {number} ({cells[0]}): only in {side}: {_short(','.join(cells), 120)}")
            continue
        names, cells = _row_difference(pairs, row_a[1], row_b[1], tolerance)
        if cells:
            more = f"; and {len(cells) - 4} more cells" if len(cells) > 4 else ""
            yield (f"{label}cells {','.join(names)}",
                   f"{label}row {row_a[0]} ({row_a[1][0]}): " + "; ".join(cells[:4]) + more)


def csv_differences(rows_a: list[list[str]], rows_b: list[list[str]], tolerance: Tolerance) -> Iterator[tuple[str, str]]:
    """Each difference of two CSV texts, table by table: sections, headers, rows (with line number and first
    cell) and cells (with their column's name), as (kind of difference, description)."""
    sections = itertools.zip_longest(csv_sections(rows_a), csv_sections(rows_b))
    for number, (section_a, section_b) in enumerate(sections, start=1):
        if section_a is None or section_b is None:
            only = section_a or section_b
            side = "A" if section_b is None else "B"
            yield f"section {number}", f"table {number} [{only.title}] only in {side} ({len(only.rows)} rows)"
        elif section_a.title != section_b.title:
            yield f"section {number}", f"table {number}: title {section_a.title!r} != {section_b.title!r}"
        else:
            yield from _section_differences(section_a, section_b, tolerance)


def grouped(differences: Iterator[tuple[str, str]], limit: int) -> list[str]:
    """The first ``limit`` kinds of difference, each shown once with how many more of its kind there are
    (the same JSON path with any list index, the same CSV columns of other rows)."""
    groups: dict[str, list] = {}
    for kind, description in differences:
        group = groups.setdefault(re.sub(r"\[\d+\]", "[*]", kind), [description, 0])
        group[1] += 1
    lines = [description + (f"  (and {count - 1} more like it)" if count > 1 else "")
             for description, count in itertools.islice(groups.values(), limit)]
    if len(groups) > limit:
        lines.append(f"... and {len(groups) - limit} more kinds of difference")
    return lines


def _window(line_a: str, line_b: str, width: int = 140) -> tuple[str, str]:
    """The two lines cut to ``width`` characters around their first differing character."""
    first = next((index for index, (x, y) in enumerate(zip(line_a, line_b)) if x != y), min(len(line_a), len(line_b)))
    start = max(0, first - width // 3)

    def cut(line: str) -> str:
        piece = line[start:start + width]
        return ("..." if start else "") + piece + ("..." if start + width < len(line) else "")
    return cut(line_a), cut(line_b)


def _line_range(start: int, end: int) -> str:
    """Lines start+1..end, said as a person would (an empty range is the place after line ``start``)."""
    if start == end:
        return f"after line {start}"
    return f"line {end}" if end == start + 1 else f"lines {start + 1}-{end}"


def text_differences(text_a: str, text_b: str) -> Iterator[tuple[str, str]]:
    """Each run of differing lines of two texts, with its line numbers and the first differing line pair."""
    lines_a, lines_b = text_a.splitlines(), text_b.splitlines()
    matcher = difflib.SequenceMatcher(None, lines_a, lines_b, autojunk=False)
    for number, (tag, a_start, a_end, b_start, b_end) in enumerate(matcher.get_opcodes()):
        if tag == "equal":
            continue
        first_a = lines_a[a_start] if a_start < a_end else ""
        first_b = lines_b[b_start] if b_start < b_end else ""
        shown_a, shown_b = _window(first_a, first_b)
        blank = "".join(lines_a[a_start:a_end]).strip() == "".join(lines_b[b_start:b_end]).strip()
        # the same change at many places (a line added to every park's section) is one kind of difference
        kind = f"{tag}|{first_a.strip()[:200]}|{first_b.strip()[:200]}" if blank or a_end - a_start < 3 else str(number)
        yield (kind, f"{_line_range(a_start, a_end)} of A, {_line_range(b_start, b_end)} of B ({tag}"
                     f"{', white space only' if blank else ''}):\n        A: {shown_a}\n        B: {shown_b}")
    if lines_a == lines_b and text_a != text_b:
        yield "endings", "the texts differ only in line endings or a final newline"


def compare_files(path_a: Path, path_b: Path, tolerance: Tolerance, max_diffs: int = 5) -> tuple[str, list[str]]:
    """Whether two snapshot files are the same, and their first ``max_diffs`` kinds of difference.

    JSON as data, CSV table by table and cell by cell, anything else line by line; numbers in JSON and CSV
    within ``tolerance``.

    Returns
    -------
    tuple[str, list[str]]
        ``identical`` (same bytes), ``same data`` (JSON or CSV whose text differs but not their data: key order,
        ``1`` and ``1.0``, numbers within the tolerance) or ``differs``; and the differences.
    """
    raw_a, raw_b = path_a.read_bytes(), path_b.read_bytes()
    if raw_a == raw_b:
        return "identical", []
    try:
        text_a, text_b = raw_a.decode("utf-8"), raw_b.decode("utf-8")
    except UnicodeDecodeError:
        return "differs", [f"binary files differ ({len(raw_a)} and {len(raw_b)} bytes)"]
    differences: Iterator[tuple[str, str]]
    if path_a.suffix == ".json":
        try:
            differences = json_differences(json.loads(text_a), json.loads(text_b), tolerance)
        except json.JSONDecodeError:
            differences = text_differences(text_a, text_b)  # e.g. an error message instead of JSON
    elif path_a.suffix == ".csv":
        differences = csv_differences(list(csv.reader(io.StringIO(text_a))), list(csv.reader(io.StringIO(text_b))),
                                      tolerance)
    else:
        differences = text_differences(text_a, text_b)
    found = grouped(differences, max_diffs)
    return ("differs" if found else "same data"), found


def _files(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()} - {SNAPSHOT_INFO}


def _describe(folder: Path, label: str) -> None:
    info_file = folder / SNAPSHOT_INFO
    if not info_file.is_file():
        print(f"{label}: {folder} (no {SNAPSHOT_INFO})")
        return
    info = json.loads(info_file.read_text(encoding="utf-8"))
    national = info.get("national", {})
    print(f"{label}: {folder}: tree {info.get('root')} at {info.get('commit', '')[:10]}, "
          f"{len(info.get('uncommitted', []))} uncommitted files, snapshot {info.get('seconds')} s"
          + (f" (national: {national.get('store', '')})" if national else "")
          + (f"; FAILED steps: {info['failed']}" if info.get("failed") else ""))


def compare_dirs(dir_a: Path, dir_b: Path, tolerance: Tolerance, max_diffs: int = 5, brief: bool = False) -> int:
    """Print, per file, identical / differs (with its first differences) / on one side only, then a total.

    Returns
    -------
    int
        0 if every file is on both sides and the same, else 1.
    """
    for folder in (dir_a, dir_b):
        if not folder.is_dir():
            raise SystemExit(f"{folder}: no such folder")
    _describe(dir_a, "A")
    _describe(dir_b, "B")
    files_a, files_b = _files(dir_a), _files(dir_b)
    counts = {"identical": 0, "differ": 0, "only in A": 0, "only in B": 0}
    for relative in sorted(files_a | files_b):
        if relative not in files_b or relative not in files_a:
            side = "only in A" if relative not in files_b else "only in B"
            counts[side] += 1
            print(f"{side.upper():<10} {relative}")
            continue
        status, differences = compare_files(dir_a / relative, dir_b / relative, tolerance, max_diffs)
        if differences:
            counts["differ"] += 1
            print(f"{'DIFFERS':<10} {relative}")
            for line in differences:
                print(f"    {line}")
        else:
            counts["identical"] += 1
            if not brief or status != "identical":
                print(f"{status:<10} {relative}")
    total = sum(counts.values())
    print(f"total: {total} files: {counts['identical']} identical, {counts['differ']} differ, "
          f"{counts['only in A']} only in A, {counts['only in B']} only in B")
    return 0 if counts["identical"] == total else 1


# ---------------------------------------------------------------------------------------------- command


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module's docstring); returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot", help="write every shipped output of a source tree into OUT_DIR")
    snap.add_argument("out_dir", type=Path)
    snap.add_argument("--national-quick", action="store_true", help="also the quick national run's figures")
    snap.add_argument("--store", type=Path, default=None,
                      help="quick national store to reuse (built there if it does not exist)")
    snap.add_argument("--jobs", type=int, default=2, help="commands at the same time (default 2)")
    snap.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                      help=f"the source tree whose code runs (default: this script's tree, {DEFAULT_ROOT})")
    cmp = commands.add_parser("compare", help="compare two snapshots; exit code 1 if anything differs")
    cmp.add_argument("dir_a", type=Path)
    cmp.add_argument("dir_b", type=Path)
    cmp.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for numbers in JSON and CSV")
    cmp.add_argument("--atol", type=float, default=0.0, help="absolute tolerance for numbers in JSON and CSV")
    cmp.add_argument("--max-diffs", type=int, default=5, help="differences shown per file")
    cmp.add_argument("--brief", action="store_true", help="leave out the identical files")
    args = parser.parse_args(argv)
    if args.command == "compare":
        return compare_dirs(args.dir_a, args.dir_b, Tolerance(args.rtol, args.atol), args.max_diffs, args.brief)
    if args.store is not None and not args.national_quick:
        parser.error("--store needs --national-quick")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    info = snapshot(args.root, args.out_dir, args.national_quick, args.store, args.jobs)
    print(f"snapshot of {info['root']} ({info['commit'][:10]}, {len(info['uncommitted'])} uncommitted files) "
          f"in {args.out_dir}: {len(info['steps'])} commands, {info['seconds']:.1f} s"
          + (f"; failed: {', '.join(info['failed'])}" if info["failed"] else ""))
    print(f"code from: {info['modules']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
