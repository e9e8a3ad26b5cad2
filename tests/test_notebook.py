"""The example notebook runs from top to bottom in a real kernel and the map shows inline (issue 18, item 4)."""
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parent.parent / "examples" / "tour.ipynb"


def test_the_tour_notebook_runs_and_displays_the_map_in_a_frame(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    html = [output["data"]["text/html"] for output in outputs if "text/html" in output.get("data", {})]
    assert any(text.startswith("<iframe srcdoc=") for text in html)  # the map, in a frame of its own
    assert any("FCI" in text for text in html)  # the metrics table
    streams = "".join(output.get("text", "") for output in outputs if output.get("output_type") == "stream")
    assert "WARNING" not in streams and "Traceback" not in streams  # a quiet library in a notebook
