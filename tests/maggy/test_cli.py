"""The ``maggy`` command, run through ``main(argv)`` against a store filled through the store API."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from maggy.cli import main
from maggy.store import ExperimentRecord, ExperimentStatus, open_store
from maggy.trial import Trial, TrialState

TRACEBACK = (
    'Traceback (most recent call last):\n  File "train.py", line 3, in train\nValueError: loss exploded\n'
)


@dataclass
class Populated:
    path: Path
    mnist: str  # finished, direction max
    cifar: str  # running, direction min, newest


def _record(eid: str, name: str, direction: str, start: float, num_trials: int) -> ExperimentRecord:
    return ExperimentRecord(
        experiment_id=eid,
        name=name,
        description=f"{name} sweep",
        experiment_type="optimization",
        searchspace={"lr": ["DOUBLE", [0.001, 0.1]]},
        optimizer="randomsearch",
        direction=direction,
        num_trials=num_trials,
        config={"hb_interval": 1},
        status=ExperimentStatus.RUNNING.value,
        start=start,
    )


@pytest.fixture
def populated(tmp_path: Path) -> Populated:
    path = tmp_path / "experiments.db"
    mnist, cifar = "20260101-100000-aaaaaa", "20260102-100000-bbbbbb"
    with open_store(path) as s:
        s.create_experiment(_record(mnist, "mnist", "max", 1_700_000_000.0, 4))
        s.save_trial(
            mnist,
            Trial(
                0,
                {"lr": 0.01, "units": 64, "bn": True},
                TrialState.FINISHED,
                0.9,
                [[0, 0.5], [1, 0.7], [2, 0.9]],
                ["epoch 0 done", "epoch 1 done"],
                None,
                "w1",
                1_700_000_010.0,
                1_700_000_070.0,
            ),
        )
        s.save_trial(
            mnist,
            Trial(
                1,
                {"lr": 0.05, "units": 32},
                TrialState.ERROR,
                None,
                [[0, math.nan]],
                [],
                TRACEBACK,
                "w2",
                1_700_000_020.0,
                1_700_000_025.0,
            ),
        )
        # Early-stopped with a better last value: must not count as the best trial.
        s.save_trial(
            mnist,
            Trial(
                2,
                {"lr": 0.02, "units": 16},
                TrialState.EARLY_STOPPED,
                0.95,
                [[0, 0.95]],
                start=1_700_000_030.0,
                end=1_700_000_031.0,
            ),
        )
        s.finish_experiment(mnist, ExperimentStatus.FINISHED, 1_700_000_100.0, {"best_val": 0.9})
        s.create_experiment(_record(cifar, "cifar", "min", 1_700_100_000.0, 3))
        s.save_trial(
            cifar, Trial(0, {"lr": 0.1}, TrialState.FINISHED, 0.3, start=1_700_100_001.0, end=1_700_100_002.0)
        )
        s.save_trial(
            cifar, Trial(1, {"lr": 0.2}, TrialState.FINISHED, 0.1, start=1_700_100_001.0, end=1_700_100_003.0)
        )
        s.save_trial(cifar, Trial(2, {"lr": 0.3}, TrialState.RUNNING, start=1_700_100_004.0))
    return Populated(path, mnist, cifar)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("maggy: error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in err


# -- list ------------------------------------------------------------------------------------


def test_list_shows_newest_first_with_progress_and_best(
    populated: Populated, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--store", str(populated.path), "experiments", "list")
    assert code == 0 and err == ""
    header, first, second = out.splitlines()
    assert header.split() == ["ID", "NAME", "TYPE", "STATUS", "TRIALS", "BEST", "STARTED"]
    assert first.split()[:6] == [populated.cifar, "cifar", "optimization", "RUNNING", "2/3", "0.1"]
    assert second.split()[:6] == [populated.mnist, "mnist", "optimization", "FINISHED", "3/4", "0.9"]


def test_list_limit_and_store_after_the_action(
    populated: Populated, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "experiments", "list", "--limit", "1", "--store", str(populated.path))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[1].startswith(populated.cifar) and populated.mnist not in out
    assert "--limit 0 shows all" in lines[2]
    code, out, _ = run(capsys, "--store", str(populated.path), "experiments", "list", "--limit", "0")
    assert code == 0 and populated.mnist in out and "shows all" not in out


def test_list_without_a_store_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "none.db"
    code, out, _ = run(capsys, "--store", str(path), "experiments", "list")
    assert code == 0 and "no experiments yet" in out
    assert not path.exists()


def test_list_uses_maggy_home(
    populated: Populated, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAGGY_HOME", str(populated.path.parent))
    code, out, _ = run(capsys, "experiments", "list")
    assert code == 0 and populated.mnist in out and populated.cifar in out


# -- show ------------------------------------------------------------------------------------


def test_show_by_prefix(populated: Populated, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--store", str(populated.path), "experiments", "show", "20260101")
    assert code == 0 and err == ""
    assert f"experiment   {populated.mnist}" in out
    assert "status       FINISHED" in out
    assert "3/4 done (1 finished, 1 error, 1 early stopped)" in out
    assert "best         0.9 (trial 0: lr=0.01, units=64, bn=True)" in out
    assert "\nresult\n  best_val  0.9\n" in out and "duration     1m40s" in out
    assert "\nsearchspace\n  lr  DOUBLE [0.001, 0.1]\n" in out and "\nconfig\n  hb_interval  1\n" in out
    assert not any(c in out for c in '{}"')  # no JSON: that is what export is for
    table = out[out.index("TRIAL") :].splitlines()
    assert table[0].split() == ["TRIAL", "STATE", "METRIC", "DURATION", "PARAMS"]
    assert table[1].split() == ["0", "FINISHED", "0.9", "1m00s", "lr=0.01,", "units=64,", "bn=True"]
    assert table[2].split()[:4] == ["1", "ERROR", "-", "5.0s"]
    assert table[3].split()[:4] == ["2", "EARLY_STOPPED", "0.95", "1.0s"]


def test_show_one_trial_in_full(populated: Populated, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--store", str(populated.path), "experiments", "show", populated.mnist, "--trial", "0"
    )
    assert code == 0
    assert "history   3 points, steps 0..2; last 0.9, min 0.5 (step 0), max 0.9 (step 2)" in out
    assert "logs (2 lines):\n  epoch 0 done\n  epoch 1 done" in out
    code, out, _ = run(
        capsys, "--store", str(populated.path), "experiments", "show", populated.mnist, "--trial", "1"
    )
    assert code == 0 and "state     ERROR" in out and "logs: none" in out
    assert "error:\n  Traceback (most recent call last):" in out and "  ValueError: loss exploded" in out


def test_show_unknown_trial(populated: Populated, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "--store", str(populated.path), "experiments", "show", populated.mnist, "--trial", "7"
    )
    assert_one_line_error(code, out, err, "no trial 7", "trials: 0, 1, 2")


@pytest.mark.parametrize("action", ["show", "export"])
def test_unknown_and_ambiguous_ids(
    populated: Populated, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    assert_one_line_error(
        *run(capsys, "--store", str(populated.path), "experiments", action, "zzz"), "maggy experiments list"
    )
    assert_one_line_error(
        *run(capsys, "--store", str(populated.path), "experiments", action, "2026"),
        populated.mnist,
        populated.cifar,
    )


@pytest.mark.parametrize("action", ["show", "export"])
def test_missing_store_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str) -> None:
    assert_one_line_error(
        *run(capsys, "--store", str(tmp_path / "no.db"), "experiments", action, "x"), "no experiment store"
    )


# -- export ----------------------------------------------------------------------------------


def test_export_json_round_trips(populated: Populated, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--store", str(populated.path), "experiments", "export", populated.mnist, "--format", "json"
    )
    assert code == 0
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    with open_store(populated.path) as s:
        assert ExperimentRecord.from_dict(doc["experiment"]) == s.get_experiment(populated.mnist)
        trials = s.get_trials(populated.mnist)
    got = [Trial.from_dict(t) for t in doc["trials"]]
    assert [t.trial_id for t in got] == [0, 1, 2]
    assert got[0] == trials[0] and got[2] == trials[2]
    assert got[1].history == [[0, None]] and got[1].error == TRACEBACK  # NaN exported as null


def test_export_json_to_file(
    populated: Populated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.json"
    code, out, err = run(
        capsys, "--store", str(populated.path), "experiments", "export", populated.cifar, "-o", str(target)
    )
    assert code == 0 and out == "" and "3 trials" in err
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["experiment"]["name"] == "cifar" and len(doc["trials"]) == 3


def test_export_csv(populated: Populated, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--store", str(populated.path), "experiments", "export", populated.mnist, "--format", "csv"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "trial_id",
        "state",
        "metric",
        "start",
        "end",
        "duration",
        "param_lr",
        "param_units",
        "param_bn",
    ]
    assert [r["state"] for r in rows] == ["FINISHED", "ERROR", "EARLY_STOPPED"]
    assert rows[0]["metric"] == "0.9" and rows[1]["metric"] == ""
    # ISO 8601 in UTC, which spreadsheets and pandas read as times (before: 1700000010.0)
    assert (rows[0]["start"], rows[0]["end"]) == ("2023-11-14T22:13:30Z", "2023-11-14T22:14:30Z")
    assert float(rows[0]["duration"]) == 60.0
    assert (rows[0]["param_lr"], rows[0]["param_units"], rows[0]["param_bn"]) == ("0.01", "64", "True")
    assert rows[1]["param_bn"] == ""  # a param this trial did not have


def test_export_bad_format(populated: Populated, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "--store", str(populated.path), "experiments", "export", populated.mnist, "--format", "xml"
    )
    assert_one_line_error(code, out, err, "invalid choice: 'xml'")


# -- usage and demo --------------------------------------------------------------------------


def test_help_and_missing_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "experiments" in out and "demo" in out
    code, _, err = run(capsys)
    assert code == 2 and "usage: maggy" in err
    code, _, err = run(capsys, "experiments")
    assert code == 2 and "usage: maggy experiments" in err


def test_demo_is_dispatched_with_its_arguments(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        calls.append(argv)
        return 3

    fake = types.ModuleType("maggy.demo")
    fake.main = fake_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "maggy.demo", fake)
    assert main(["demo", "--help", "--trials", "4"]) == 3
    assert main(["--store", "/x.db", "demo"]) == 3
    assert calls == [["--help", "--trials", "4"], ["--store", "/x.db"]]


def test_demo_missing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "maggy.demo", None)  # makes `import maggy.demo` fail
    assert_one_line_error(*run(capsys, "demo"), "demo is not available")


# -- as a real process -----------------------------------------------------------------------


def test_python_m_maggy_cli(populated: Populated) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "maggy.cli", "experiments", "list", "--store", str(populated.path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert populated.mnist in proc.stdout and populated.cifar in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "maggy.cli", "--store", str(populated.path), "experiments", "show", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def _on_read_only_filesystem(directory: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with ``directory`` on a read-only filesystem: a read-only bind mount in a
    private mount namespace (``unshare``; root or user namespaces), else, for a user that is not
    root, a directory and files without write permission."""
    import os
    import shutil

    if shutil.which("unshare") is not None:
        probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
            return subprocess.run(
                ["unshare", "-rm", "sh", "-c", script, str(directory), *argv],
                capture_output=True,
                text=True,
                timeout=60,
            )
    if os.geteuid() == 0:
        pytest.skip("no way to make a read-only filesystem here (unshare unavailable, running as root)")
    for p in directory.iterdir():
        p.chmod(0o444)
    directory.chmod(0o555)
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)
    finally:
        directory.chmod(0o755)


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_list_show_and_export_read_a_store_on_a_read_only_filesystem(populated: Populated) -> None:
    cli = [sys.executable, "-m", "maggy.cli", "--store", str(populated.path), "experiments"]
    before = {p.name: p.read_bytes() for p in populated.path.parent.iterdir()}
    proc = _on_read_only_filesystem(populated.path.parent, [*cli, "list"])
    assert proc.returncode == 0, proc.stderr
    assert populated.mnist in proc.stdout and populated.cifar in proc.stdout
    proc = _on_read_only_filesystem(populated.path.parent, [*cli, "show", "2026010", "--trial", "0"][:-2])
    assert proc.returncode == 2 and "several experiments" in proc.stderr  # a real answer, from the store
    proc = _on_read_only_filesystem(populated.path.parent, [*cli, "show", populated.mnist, "--trial", "0"])
    assert proc.returncode == 0 and "3 points" in proc.stdout, proc.stderr
    proc = _on_read_only_filesystem(populated.path.parent, [*cli, "export", populated.mnist])
    assert proc.returncode == 0, proc.stderr
    assert [t["trial_id"] for t in json.loads(proc.stdout)["trials"]] == [0, 1, 2]
    assert {p.name: p.read_bytes() for p in populated.path.parent.iterdir()} == before


def test_import_is_light() -> None:
    code = "import sys, maggy.cli; heavy = {'maggy.store', 'sqlite3', 'numpy', 'csv'} & set(sys.modules); print(sorted(heavy))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- an experiment whose trials all failed ---------------------------------------------------

WORKER_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/x/maggy/worker/loop.py", line 112, in _run_trial\n'
    "    result = call_training_function(map_fun, params, reporter)\n"
    '  File "<dynamic-code>", line 3, in train\n'
    "ValueError: loss exploded\n"
)


def _all_failed_store(tmp_path: Path) -> tuple[Path, str]:
    path, eid = tmp_path / "experiments.db", "20260103-100000-cccccc"
    failure = "all 2 trials failed; first error (trial 0): ValueError: loss exploded"
    with open_store(path) as s:
        s.create_experiment(_record(eid, "broken", "max", 1_700_200_000.0, 2))
        for i in range(2):
            s.save_trial(eid, Trial(i, {"lr": 0.1}, TrialState.ERROR, error=WORKER_TRACEBACK, end=1.0 + i))
        s.finish_experiment(eid, "FAILED", 1_700_200_010.0, {"status": "FAILED", "failure": failure})
    return path, eid


def test_show_of_a_failed_experiment_says_why_with_the_users_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, eid = _all_failed_store(tmp_path)
    code, out, _ = run(capsys, "--store", str(path), "experiments", "show", eid)
    assert code == 0
    assert "status       FAILED\n" in out
    assert "failure      all 2 trials failed; first error (trial 0): ValueError: loss exploded\n" in out
    assert '      File "<dynamic-code>", line 3, in train\n    ValueError: loss exploded' in out
    assert "maggy/worker" not in out


def test_failed_status_is_red_on_a_terminal_and_plain_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = _all_failed_store(tmp_path)
    code, out, _ = run(capsys, "--store", str(path), "experiments", "list")
    assert code == 0 and "FAILED" in out and "\x1b[" not in out  # captured: not a terminal
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = run(capsys, "--store", str(path), "experiments", "list")
    header, row = out.splitlines()[:2]
    assert "\x1b[31mFAILED\x1b[0m" in row
    # the colour codes take no room: the columns after STATUS still line up with the header
    assert row.replace("\x1b[31m", "").replace("\x1b[0m", "").index("2/2") == header.index("TRIALS")


# -- experiments left RUNNING by a driver that died ------------------------------------------


def _abandoned(path: Path) -> str:
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    eid = "20260104-100000-dddddd"
    with open_store(path) as s:
        rec = _record(eid, "killed", "max", 1_700_300_000.0, 2)
        rec.config = {"driver": {"host": socket.gethostname(), "pid": dead.pid}}
        s.create_experiment(rec)
        s.save_trial(eid, Trial(0, {"lr": 0.1}, TrialState.RUNNING, start=1_700_300_001.0))
    return eid


def test_list_and_show_close_an_experiment_of_a_dead_driver(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "experiments.db"
    eid = _abandoned(path)
    code, out, _ = run(capsys, "--store", str(path), "experiments", "list")
    assert code == 0 and out.splitlines()[1].split()[3] == "FAILED"
    code, out, _ = run(capsys, "--store", str(path), "experiments", "show", eid)
    assert code == 0 and "status       FAILED" in out and "0      LOST" in out


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_on_a_read_only_filesystem_an_abandoned_experiment_shows_running_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "store" / "experiments.db"
    path.parent.mkdir()
    eid = _abandoned(path)
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    cli = [sys.executable, "-m", "maggy.cli", "--store", str(path), "experiments"]
    proc = _on_read_only_filesystem(path.parent, [*cli, "list"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1].split()[3] == "RUNNING"
    assert f"maggy: note: {eid} left RUNNING by a driver that is gone; not closed as FAILED" in proc.stderr
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before


def test_a_negative_limit_is_a_usage_error(populated: Populated, capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(
        *run(capsys, "--store", str(populated.path), "experiments", "list", "--limit", "-1"),
        "--limit",
        "0 or more",
    )
