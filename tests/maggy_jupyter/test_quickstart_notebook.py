"""examples/quickstart.ipynb executed headless in a real kernel (nbclient), plus --async in a kernel.

The kernel is the dev venv's python3 with MAGGY_HOME pointing at the test's own directory, so the
notebook's experiments land in a fresh store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def _execute(nb: nbformat.NotebookNode, home: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run every cell; nbclient raises CellExecutionError on the first cell that fails."""
    client = NotebookClient(
        nb, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": str(home)}}
    )
    env = {**os.environ, "MAGGY_HOME": str(home / "maggy_home"), "PYTHONNOUSERSITE": "1"}
    client.execute(env=env)
    return nb


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.outputs:
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _probe(expression: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(f"import json\nprint('PROBE', json.dumps({expression}))")


def _probed(cell: nbformat.NotebookNode) -> object:
    line = next(line for line in _text(cell).splitlines() if line.startswith("PROBE "))
    return json.loads(line[len("PROBE ") :])


def test_quickstart_notebook_runs_and_finds_a_good_model(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit the example without outputs"
    )
    nb.cells.append(_probe('{k: _lagom[k] for k in ("best_val", "num_trials", "errors", "status")}'))
    _execute(nb, tmp_path)

    result = _probed(nb.cells[-1])
    assert result["status"] == "FINISHED" and result["num_trials"] == 12 and result["errors"] == 0
    assert 0.85 <= result["best_val"] <= 1.0  # SGD on digits: a decent configuration reaches 0.9+
    lagom_cell = next(c for c in nb.cells if c.source.startswith("%%lagom"))
    assert "FINISHED, 12 trials" in _text(lagom_cell) and "best 0." in _text(lagom_cell)
    listing = _text(next(c for c in nb.cells if c.source.startswith("%maggy list")))
    assert "digits-sgd" in listing and "12/12" in listing
    assert not any(out.output_type == "error" for c in nb.cells for out in c.get("outputs", []))


def test_async_experiment_runs_in_the_background_and_stops_from_the_next_cell(tmp_path):
    cells = [
        "%load_ext maggy_jupyter",
        "%%searchspace sp\nx: DOUBLE [0, 1]",
        "%%lagom --searchspace sp --num-trials 4 --num-workers 2 --hb-interval 0.2 --async --out slow\n"
        "def sleepy(x, reporter):\n"
        "    import time\n"
        "    for step in range(600):  # 30 s unless stopped\n"
        "        reporter.broadcast(x, step=step)\n"
        "        time.sleep(0.05)\n"
        "    return x",
        # Top-level await: the kernel's event loop, and so the experiment, runs while this cell waits.
        "background = _\n"
        "import asyncio\n"
        "from maggy_jupyter import registry\n"
        "def trials_running():\n"
        "    return [t for e in registry.running() for t in e.handle.trials() if t.state.value == 'RUNNING']\n"
        "for _i in range(300):\n"
        "    if trials_running():\n"
        "        break\n"
        "    await asyncio.sleep(0.1)\n"
        "print('running:', len(registry.running()), bool(trials_running()))",
        "%maggy stop",
        "result = await background\nawait asyncio.sleep(0)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.cells.append(
        _probe("{'status': result['status'], 'slow': slow['status'], 'stopped': result['stopped']}")
    )
    _execute(nb, tmp_path, timeout=60)

    assert "running in the background" in _text(nb.cells[2])
    assert "running: 1 True" in _text(nb.cells[3])
    assert "stopping experiment" in _text(nb.cells[4]) and "(sleepy)" in _text(nb.cells[4])
    probed = _probed(nb.cells[-1])
    assert (
        probed == {"status": "STOPPED", "slow": "STOPPED", "stopped": probed["stopped"]}
        and probed["stopped"] >= 1
    )
