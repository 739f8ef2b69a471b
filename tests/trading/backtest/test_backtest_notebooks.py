"""The notebooks in notebooks/: stored without outputs, in step with their generator, and
executed top to bottom with a 2-day window.

These run in the normal test run (and so in CI): on the sample prices where
../shared/data is missing, on the real data where it is present. The three backtest
notebooks also run with parameters injected after their ``parameters`` cell as papermill
does (files, zones, dates, output folder) and must write into that folder.
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


PARAMETERISED = {
    "01_quickstart_backtest.ipynb": {"ZONES": ["DE_LU"], "written": "report.html"},
    "02_market_comparison.ipynb": {"ZONES": ["DE_LU", "NL"], "written": "report.html"},
    "03_duration_sweep.ipynb": {"ZONES": None, "written": "days_by_scenario.csv"},
}
"""Each backtest notebook's zones parameter and a file it must write to OUTPUT_DIR."""


def test_the_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart_backtest.ipynb",
        "02_market_comparison.ipynb",
        "03_duration_sweep.ipynb",
        "04_custom_constraints.ipynb",
    ]


@pytest.mark.parametrize("name", sorted(PARAMETERISED))
def test_notebook_has_one_parameters_cell_naming_files_zones_dates_and_output(name):
    notebook = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    (cell,) = tagged
    assert cell.cell_type == "code"
    for parameter in ("PRICES", "IMBALANCE_PRICES", "ZONES", "START", "END", "OUTPUT_DIR"):
        assert f"\n{parameter} = None" in "\n" + cell.source, parameter
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert first_code is cell  # papermill injects after it: it must come before any use


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


def inject_parameters(notebook: nbformat.NotebookNode, values: dict) -> None:
    """Insert a cell assigning `values` right after the ``parameters`` cell (tagged
    ``injected-parameters``), as papermill does."""
    index = next(
        i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])
    )
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(index + 1, cell)


def _execute(notebook: nbformat.NotebookNode, kernel: str) -> None:
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=kernel,
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


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.name not in PARAMETERISED], ids=lambda p: p.name
)
def test_notebook_runs_top_to_bottom(path, venv_kernel):
    _execute(nbformat.read(path, as_version=4), venv_kernel)


@pytest.mark.parametrize("name", sorted(PARAMETERISED))
def test_notebook_runs_with_parameters_into_its_output_folder(name, venv_kernel, tmp_path):
    """The sample prices, two days, the notebook's zones and an output folder given."""
    from trading.samples import sample_prices_dir

    notebook = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    samples = sample_prices_dir()
    out = tmp_path / "out"
    inject_parameters(
        notebook,
        {
            "PRICES": str(samples / "day_ahead.csv"),
            "ZONES": PARAMETERISED[name]["ZONES"],
            "START": "2026-06-13",
            "END": "2026-06-14",
            "MARKETS": ["day_ahead"],
            "OUTPUT_DIR": str(out),
        },
    )
    _execute(notebook, venv_kernel)
    assert (out / PARAMETERISED[name]["written"]).is_file()
    printed = "".join(
        o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "2026-06-13 to 2026-06-14" in printed
    assert f"output: {out}" in printed
