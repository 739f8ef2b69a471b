"""The notebooks in notebooks/: stored without outputs, in step with their generator, and
executed top to bottom with a 2-day window.

These run in the normal test run (and so in CI): on the sample prices where
../shared/data is missing, on the real data where it is present.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300
KERNEL = "python3"


def test_the_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart_backtest.ipynb",
        "02_market_comparison.ipynb",
        "03_duration_sweep.ipynb",
        "04_custom_constraints.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; regenerate with make_notebooks.py"


def test_notebooks_match_their_generator(tmp_path):
    generator = runpy.run_path(str(NOTEBOOKS_DIR / "make_notebooks.py"))
    for written in generator["write"](tmp_path):
        stored = NOTEBOOKS_DIR / written.name
        assert json.loads(written.read_text()) == json.loads(stored.read_text()), (
            f"{stored.name} differs from make_notebooks.py: edit the script and regenerate"
        )


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch):
    """A ``python3`` kernel spec that runs this interpreter with a 2-day window.

    ``JUPYTER_PATH`` is searched before the user's and the system's kernel folders, so the
    notebooks run on the test's own Python (the project's venv), whatever else is installed.
    """
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (vpp-engine tests)",
                "language": "python",
                "env": {"VPP_NOTEBOOK_DAYS": "2", "MPLBACKEND": "Agg"},
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("VPP_NOTEBOOK_DAYS", "2")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, venv_kernel):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=venv_kernel,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.execute()  # raises CellExecutionError naming the cell and the traceback
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
