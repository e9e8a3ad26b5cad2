"""The wheel, not only the editable install: built, installed apart, and run from another folder."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out)], check=True, capture_output=True)
    (built,) = out.glob("park_symbiosis-*.whl")  # the distribution name; the import name is symbiosis
    return built


def test_wheel_carries_datasets_as_package_data_not_as_a_datasets_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "symbiosis/_datasets/catalogue/resources.csv" in names
    assert any(name.startswith("symbiosis/_datasets/kalundborg/") for name in names)
    assert not any(name.startswith("datasets/") for name in names)
    assert "cli.py" in names and "viz/__init__.py" in names
    assert not any(name.startswith("tests/") for name in names)
    assert "symbiosis/py.typed" in names  # type hints are part of the interface (PEP 561)
    assert any(name.endswith(".dist-info/licenses/LICENSE") or name.endswith(".dist-info/LICENSE") for name in names)


def test_installed_wheel_runs_demo_from_another_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import json, cli, symbiosis; from click.testing import CliRunner; "
            "r = CliRunner().invoke(cli.cli, ['demo', '--out', 'out', '--format', 'json', '--quiet']); "
            "print(json.dumps({'exit': r.exit_code, 'file': symbiosis.__file__, 'out': r.output}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["file"].startswith(str(target))  # the wheel's copy ran, not the checkout
    assert report["exit"] == 0, report["out"]
    tables = {record["table"]: record["rows"] for record in json.loads(report["out"])["tables"]}
    assert tables["resources"] > 50 and tables["enterprises"] > 0
    assert (elsewhere / "out" / "demo.db").exists()
