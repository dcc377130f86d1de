"""examples/ablation_titanic.ipynb executed headless in a real kernel (nbclient).

The kernel is the dev venv's python3 with MAGGY_HOME pointing at the test's own directory, so the
notebook's dataset and experiment land in a fresh catalog and store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = [pytest.mark.tf, pytest.mark.integration, pytest.mark.kernel, pytest.mark.timeout(900)]

NOTEBOOK = Path(__file__).resolve().parents[3] / "examples" / "ablation_titanic.ipynb"


def _text(cell) -> str:
    return "".join(out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in cell.outputs)


def test_the_titanic_walkthrough_runs_headless(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit the example without outputs"
    )
    keys = ("status", "num_trials", "errors", "base_val", "deltas", "most_important")
    nb.cells.append(
        nbformat.v4.new_code_cell(
            f"import json\nprint('PROBE', json.dumps({{k: result[k] for k in {keys}}}))"
        )
    )
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    )
    env = {
        **os.environ,
        "MAGGY_HOME": str(tmp_path / "maggy_home"),
        "PYTHONNOUSERSITE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    client.execute(env=env)  # raises CellExecutionError on the first failing cell

    assert not any(out.output_type == "error" for c in nb.cells for out in c.get("outputs", []))
    probe = next(line for line in _text(nb.cells[-1]).splitlines() if line.startswith("PROBE "))
    result = json.loads(probe[len("PROBE ") :])
    assert result["status"] == "FINISHED" and result["num_trials"] == 7 and result["errors"] == 0
    assert set(result["deltas"]) == {
        "feature:pclass",
        "feature:fare",
        "layer:my_dense_two",
        "layer:my_dense_three",
        "group:my_dense_two+my_dense_four",
        "group:my_dense*",
    }
    assert 0.5 < result["base_val"] <= 1.0
    assert (tmp_path / "maggy_home" / "datasets" / "titanic_train_dataset" / "v1" / "dataset.json").is_file()
    table = _text(nb.cells[-2])
    assert "most important:" in table and "group:my_dense*" in table
