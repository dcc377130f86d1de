"""`maggy demo`, the README's main job, runs a real experiment that the CLI then lists."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_early_stops_and_is_listed(tmp_path):
    store = str(tmp_path / "demo.db")
    demo = subprocess.run(
        [sys.executable, "-m", "maggy.cli", "--store", store, "demo", "--trials", "12", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    assert "best validation accuracy" in demo.stdout and "best config: lr=" in demo.stdout
    assert "12/12" in demo.stderr  # the terminal progress bar reached the end
    listing = subprocess.run(
        [sys.executable, "-m", "maggy.cli", "--store", store, "experiments", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "demo-digits-mlp" in listing.stdout and "FINISHED" in listing.stdout
