"""Datasette on a store: metadata with descriptions and units, and canned queries (issue 18, item 7).

A real Datasette server is started on 127.0.0.1 (the optional `datasette` extra) and its pages are read."""
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

from cli import cli


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, attempts: int = 100) -> str:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode("utf-8")
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"Datasette did not answer {url}")


def test_datasette_serves_the_store_with_its_metadata_and_queries(demo_db, tmp_path):
    pytest.importorskip("datasette")
    metadata = tmp_path / "metadata.json"
    result = CliRunner().invoke(cli, ["datasette-metadata", "--db", str(demo_db), "-o", str(metadata)])
    assert result.exit_code == 0, result.output
    document = json.loads(metadata.read_text(encoding="utf-8"))
    tables = document["databases"]["demo"]["tables"]
    assert "unknown, not 0" in tables["flows"]["description"]
    assert tables["emissions"]["units"]["scope1_t"] == "t"
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "datasette", "serve", str(demo_db), "-m", str(metadata),
                               "-h", "127.0.0.1", "-p", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        page = _get(f"http://127.0.0.1:{port}/demo/flows")
        assert "Quantity per year in the canonical unit" in page  # the column description, shown
        named = json.loads(_get(f"http://127.0.0.1:{port}/demo/flows_named.json?_shape=array"))
        assert len(named) == open_count(demo_db) and {"supplier", "taker", "unit"} <= set(named[0])
        parks = json.loads(_get(f"http://127.0.0.1:{port}/demo/park_summary.json?_shape=array"))
        assert {park["id"] for park in parks} >= {"zcp", "kalundborg"}
    finally:
        server.terminate()
        server.wait(timeout=20)


def open_count(path) -> int:
    from symbiosis.store import open_store

    return open_store(path).execute("SELECT count(*) FROM flows").fetchone()[0]
