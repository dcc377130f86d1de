"""The browser tests of the Experiments panel (ui-tests/: node's test runner, playwright-core, headless
Chromium, a real JupyterLab or Notebook 7 server and kernel) as part of the pytest suite, so the README's
test command runs them.

Outside CI a machine without Chromium, Node or the npm packages skips them (saying what is missing);
in CI (``CI`` set) that is a failure, because CI is where they must run. Screenshots: test-artifacts/ui/.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


def _missing(notebook7: bool = False) -> list[str]:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    missing = []
    if not Path(chromium).exists():
        missing.append(f"Chromium at {chromium} (apt-get install -y chromium)")
    if shutil.which("node") is None:
        missing.append("node (Node.js 20)")
    if not (REPO / "node_modules" / "playwright-core").is_dir():
        missing.append("node_modules/playwright-core (jlpm install)")
    if not (REPO / "maggy_jupyter" / "labextension" / "package.json").is_file():
        missing.append("the built labextension (jlpm build, or pip install -e .)")
    if notebook7 and not _has_notebook7():
        missing.append("notebook>=7 in this Python (pip install 'notebook>=7', part of the test extra)")
    return missing


def _has_notebook7() -> bool:
    try:
        major = importlib.metadata.version("notebook").split(".")[0]
    except importlib.metadata.PackageNotFoundError:
        return False
    return major.isdigit() and int(major) >= 7


def _run_node_test(script: str, notebook7: bool = False) -> None:
    missing = _missing(notebook7)
    if missing:
        message = "browser tests need: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1")
    proc = subprocess.run(
        ["node", "--test", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-12000:]
    assert "# pass 1" in out and "# fail 0" in out, out[-12000:]


def test_experiments_panel_in_a_real_browser() -> None:
    _run_node_test("ui-tests/experiments.test.mjs")


def test_experiments_panel_in_notebook7() -> None:
    """The same panel in Notebook 7 (`jupyter notebook`): opened from View > Left Sidebar."""
    _run_node_test("ui-tests/notebook7.test.mjs", notebook7=True)


def test_resumed_experiment_in_a_real_browser() -> None:
    """A cell runs 3 trials, the next resumes the experiment with num_trials=5: the panel keeps one
    entry for the id, greys the 3 earlier trials (``maggy-mod-earlier``, titled "from an earlier
    run") and not the 2 new ones, and the second cell's live view says ``resumed: 3 earlier``."""
    _run_node_test("ui-tests/resume.test.mjs")


def test_status_bar_follows_the_active_notebook_in_a_real_browser() -> None:
    """Two notebooks, an experiment runs in a.ipynb: the status bar shows it while a is active
    (running, then its best) and nothing while the fresh b.ipynb is, although b's panel lists and
    selects a's experiment from the store."""
    _run_node_test("ui-tests/status.test.mjs")


def test_live_view_in_a_cell_in_a_real_browser() -> None:
    """A cell runs 4 trials on 2 workers: "elapsed" ticks (also before any metric), two running
    trials are drawn in their panel palette colours, the stop button in trial X's own row stops X
    only and leaves the row once X ended, the sort toggle reads "ascending"/"descending" as the rows
    follow, the range label counts the rows shown, no cell is cut, the end reads a green
    "Experiment finished", and a worker's fd-2 line sits in a collapsed "worker output" accordion."""
    _run_node_test("ui-tests/liveview.test.mjs")


def test_analysis_tab_in_a_real_browser() -> None:
    """The panel's analysis tab: every plot of a 12-trial run, live, importance ranking, hover."""
    _run_node_test("ui-tests/analysis.test.mjs")
