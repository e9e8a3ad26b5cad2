"""The command and the package in a shell or a notebook: a fast --version, a light import, a quiet library
(issue 18, items 3 and 4)."""
import subprocess
import sys

from click.testing import CliRunner

from cli import cli


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_version_is_answered_before_any_library_loads_and_as_click_says_it():
    from symbiosis._entry import main

    run = _python("import sys; sys.argv = ['symbiosis', '--version']; from symbiosis._entry import main; main(); "
                  "print(sorted(name for name in ('pandas', 'networkx', 'pint', 'numpy') if name in sys.modules))")
    assert run.returncode == 0, run.stderr
    version_line, loaded = run.stdout.splitlines()
    assert loaded == "[]"
    assert version_line == CliRunner().invoke(cli, ["--version"]).output.strip()
    assert callable(main)


def test_import_symbiosis_is_light_and_its_api_loads_on_use():
    run = _python("import sys, symbiosis; light = 'pandas' not in sys.modules; "
                  "db = symbiosis.open_store(':memory:'); G = symbiosis.load_graph(db); "
                  "print(light, G.number_of_nodes(), 'pandas' in sys.modules)")
    assert run.stdout.split() == ["True", "0", "True"], run.stderr


def test_the_library_is_silent_unless_logging_is_configured():
    # a warning the metrics log (a flow without a quantity): nothing on stderr by default ...
    code = ("import networkx as nx; from symbiosis.metrics import network_metrics; G = nx.MultiDiGraph(); "
            "G.add_edge('a', 'b', currency='mass', quantity=None); G.add_edge('b', 'a', currency='mass', quantity=2.0); "
            "network_metrics(G, currencies=('mass',))")
    quiet = _python(code)
    assert quiet.returncode == 0 and quiet.stderr == ""
    # ... and there when the application asks for it
    loud = _python("import logging; logging.basicConfig(level=logging.WARNING); " + code)
    assert "without a quantity" in loud.stderr


def test_import_reads_standard_input_as_one_transaction_named_stdin(tmp_path):
    from symbiosis.store import open_store

    db = str(tmp_path / "s.db")
    parks = "id,name\nu,Uncertain park\n"
    done = CliRunner().invoke(cli, ["import", "--db", db, "--table", "parks", "-"], input=parks)
    assert done.exit_code == 0, done.output
    firms = "id,name,park_id\na,Alpha,u\nb,,u\n"  # row 3 has no name: refused, nothing written
    refused = CliRunner().invoke(cli, ["import", "--db", db, "--", "-:enterprises"], input=firms)
    assert refused.exit_code == 1 and "<stdin>, row 3, column 'name'" in refused.output
    unnamed = CliRunner().invoke(cli, ["import", "--db", db, "-"], input=firms)
    assert unnamed.exit_code == 1 and "--table" in unnamed.output
    store = open_store(db)
    assert store.execute("SELECT count(*) FROM enterprises").fetchone()[0] == 0
    assert store.execute("SELECT file FROM imports WHERE table_name = 'parks'").fetchone()[0] == "<stdin>"


def test_help_loads_no_analysis_library():
    run = _python("import sys\nsys.argv = ['symbiosis', '--help']\nfrom cli import main\ntry:\n    main()\n"
                  "except SystemExit:\n    pass\n"
                  "print(sorted(name for name in ('pandas', 'networkx', 'scipy', 'pint', 'pyvis', 'igraph') "
                  "if name in sys.modules))")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]" and "Commands:" in run.stdout
