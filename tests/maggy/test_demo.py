"""`maggy demo`, the README's main job, runs a real experiment that the CLI then lists."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from maggy.demo import cli_command

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


def test_the_follow_up_command_works_as_printed_without_an_activated_venv(tmp_path):
    """The README's command runs `.venv/bin/maggy demo` with the venv not on PATH: the line it
    prints at the end must work when pasted, from where the demo ran."""
    store = str(tmp_path / "demo.db")
    bin_dir = os.path.dirname(sys.executable)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != bin_dir)
    env = dict(os.environ, PATH=path or "/usr/bin:/bin")
    cwd = os.path.dirname(os.path.dirname(bin_dir))  # the directory holding the venv, as in a clone
    demo = subprocess.run(
        [sys.executable, "-m", "maggy.cli", "--store", store, "demo", "--trials", "2", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )
    assert demo.returncode == 0, demo.stderr
    line = next(x for x in demo.stdout.splitlines() if x.startswith("see it again with: "))
    command = line.removeprefix("see it again with: ")
    assert not command.startswith("maggy ")  # `maggy` alone is not on this PATH
    shown = subprocess.run(
        f"{command.replace('experiments', f'--store {store} experiments', 1)}",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "demo-digits-mlp" in shown.stdout


def test_the_follow_up_command_is_plain_maggy_when_path_finds_this_install(monkeypatch):
    monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    expected = "maggy" if os.path.exists(os.path.join(os.path.dirname(sys.executable), "maggy")) else None
    if expected is None:
        pytest.skip("this Python has no maggy script next to it")
    assert cli_command() == "maggy"
