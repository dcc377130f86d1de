"""Ctrl-C at every stage of lagom, on real processes: the experiment always ends cleanly.

Each case runs lagom in a child Python process that sends itself a real SIGINT at a known point:
while trials run, while the workers are being shut down, while the final status is written to
the store, while the end is announced to listeners, or twice (a second Ctrl-C while the first
one's stop is in progress). Whatever the point, the child must end with ``ExperimentInterrupted``
(a KeyboardInterrupt) carrying the result dict, and the store must hold the same final state:
STOPPED when trials were still running, the experiment's own status when all had ended; never
RUNNING, never a trial left RUNNING, never a worker process left behind.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from worker_processes import worker_pids

from maggy.store import open_store
from maggy.trial import TrialState

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from maggy import Searchspace, experiment
    from maggy.backends import local
    from maggy.core import events as ev
    from maggy.store import sqlite

    point, store_path = sys.argv[1], sys.argv[2]
    finished = []

    def interrupt():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)  # the handler runs here, inside whatever maggy code called us

    def quick(i):
        return float(i)

    def slow(i, reporter):
        import time
        if i < 2:
            return float(i)
        for step in range(1000):
            reporter.broadcast(float(i), step=step)
            time.sleep(0.05)
        return float(i)

    def medium(i):
        import time
        time.sleep(0.3)
        return float(i)

    def listener(event):
        if isinstance(event, ev.TrialFinished):
            finished.append(event.trial.trial_id)
            if "running" in point and len(finished) == 2:
                os.kill(os.getpid(), signal.SIGINT)  # from the dispatcher thread, as a terminal would
        elif isinstance(event, ev.ExperimentFinished) and point == "announce":
            interrupt()

    def patch(cls, name):
        original = getattr(cls, name)

        def patched(*args, **kwargs):
            interrupt()
            return original(*args, **kwargs)

        setattr(cls, name, patched)

    if point in ("shutdown", "running+shutdown"):
        patch(local.LocalBackend, "shutdown")
    if point == "store":
        patch(sqlite.SQLiteStore, "finish_experiment")
    if point.startswith("thread:"):  # just before the named thread starts: it never runs
        import threading
        original_start = threading.Thread.start

        def start(thread):
            if thread.name.startswith("maggy-") and thread.name.endswith(point[len("thread:"):]):
                interrupt()
            return original_start(thread)

        threading.Thread.start = start

    fn = slow if "running" in point else medium if point == "random" else quick
    print("STARTING", flush=True)
    try:
        result = experiment.lagom(fn, num_trials=6, searchspace=Searchspace(i=("DISCRETE", [0, 1, 2, 3, 4, 5])),
                                  optimizer="gridsearch", num_workers=2, hb_interval=0.1, store=store_path,
                                  progress=False, listeners=[listener])
    except KeyboardInterrupt as exc:
        print("OUTCOME", json.dumps({"type": type(exc).__name__, "message": str(exc),
                                     "result": getattr(exc, "result", None)}), flush=True)
        sys.exit(42)
    print("OUTCOME", json.dumps({"type": None, "message": "", "result": result}), flush=True)
    """
)


def _run(point: str, tmp_path: Path, signal_after: float | None = None) -> tuple[dict, str]:
    """Run SCRIPT at ``point``; (its outcome, the marker its workers carry). ``signal_after``:
    also send SIGINT from outside after that many seconds (the 'random' point)."""
    store_path = str(tmp_path / "store.db")
    marker = f"MAGGY_TEST_MARKER_{os.getpid()}_{time.time_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, point, store_path],
        env=dict(os.environ, **{marker: "1"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "STARTING\n"  # lagom is being called
    if signal_after is not None:
        time.sleep(signal_after)
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    line = next((x for x in out.splitlines() if x.startswith("OUTCOME ")), None)
    assert line is not None, f"no outcome (exit {proc.returncode}):\n{out}\n{err}"
    outcome = json.loads(line[len("OUTCOME ") :])
    if outcome["type"] is not None:  # (a signal after lagom returned may end the interpreter anyhow)
        assert proc.returncode == 42, err
    return outcome, marker


def _check_store(tmp_path: Path, outcome: dict, status: str) -> list:
    store = open_store(str(tmp_path / "store.db"))
    record = store.list_experiments()[0]
    trials = store.get_trials(record.experiment_id)
    assert record.status == status, f"the store says {record.status}, expected {status}"
    assert record.end is not None and record.result is not None
    assert outcome["result"]["experiment_id"] == record.experiment_id
    assert outcome["result"]["status"] == status
    for key in ("num_trials", "best_val", "stopped", "errors", "metric_list"):
        assert record.result[key] == outcome["result"][key], key
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.PENDING)]
    return trials


def _no_workers_left(marker: str) -> None:
    deadline = time.time() + 10
    while worker_pids(f"{marker}=1".encode()) and time.time() < deadline:
        time.sleep(0.1)
    assert worker_pids(f"{marker}=1".encode()) == []


@pytest.mark.timeout(90)
@pytest.mark.parametrize("point", ["running", "running+shutdown"])
def test_an_interrupt_while_trials_run_stops_the_experiment(tmp_path: Path, point: str) -> None:
    outcome, marker = _run(point, tmp_path)
    assert outcome["type"] == "ExperimentInterrupted"
    trials = _check_store(tmp_path, outcome, "STOPPED")
    assert [t.state for t in trials[:2]] == [TrialState.FINISHED, TrialState.FINISHED]
    kept = outcome["result"]["num_trials"]
    assert f"stopped by interrupt, {kept}/6 trials kept" in outcome["message"]
    _no_workers_left(marker)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("point", ["shutdown", "store", "announce"])
def test_an_interrupt_while_lagom_finishes_keeps_the_finished_experiment(tmp_path: Path, point: str) -> None:
    # Every trial had ended: the experiment is FINISHED in the store and in the result, and the
    # interrupt still reaches the caller (after the end was written), carrying that result.
    outcome, marker = _run(point, tmp_path)
    assert outcome["type"] == "ExperimentInterrupted", outcome
    trials = _check_store(tmp_path, outcome, "FINISHED")
    assert [t.state for t in trials] == [TrialState.FINISHED] * 6
    assert outcome["result"]["best_val"] == 5.0
    assert "finished as the interrupt came, 6/6 trials" in outcome["message"]
    _no_workers_left(marker)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("thread", ["accept", "dispatcher", "local-monitor"])
def test_an_interrupt_just_before_a_driver_thread_starts_stops_the_experiment(
    tmp_path: Path, thread: str
) -> None:
    # A Ctrl-C between creating one of the driver's threads and starting it: the shutdown must not
    # wait for (or trip over) a thread that never ran. CI once met this at random.
    outcome, marker = _run(f"thread:{thread}", tmp_path)
    assert outcome["type"] == "ExperimentInterrupted", outcome
    _check_store(tmp_path, outcome, "STOPPED")
    assert outcome["result"]["num_trials"] == 0
    _no_workers_left(marker)


@pytest.mark.timeout(240)
def test_interrupts_at_random_times_never_leave_the_experiment_running(tmp_path: Path) -> None:
    # Six 0.3 s trials on two workers take ~1-1.5 s: SIGINTs spread over 0-2 s land while the
    # workers start, while trials run, while lagom finishes, and after it returned.
    rng = random.Random(12)
    seen = set()
    for n in range(8):
        run_dir = tmp_path / f"run{n}"
        run_dir.mkdir()
        outcome, marker = _run("random", run_dir, signal_after=rng.uniform(0.0, 2.0))
        if outcome["result"] is None:
            # The SIGINT came while lagom still checked its arguments (a loaded machine): a plain
            # KeyboardInterrupt, and nothing was registered or started.
            assert outcome["type"] == "KeyboardInterrupt", outcome
            assert open_store(str(run_dir / "store.db")).list_experiments() == []
            _no_workers_left(marker)
            seen.add("BEFORE")
            continue
        status = outcome["result"]["status"]
        assert status in ("STOPPED", "FINISHED"), outcome
        assert outcome["type"] == ("ExperimentInterrupted" if status == "STOPPED" else outcome["type"])
        _check_store(run_dir, outcome, status)
        _no_workers_left(marker)
        seen.add(status)
    assert {"STOPPED", "FINISHED"} <= seen, "the interrupts all fell in the same phase"
