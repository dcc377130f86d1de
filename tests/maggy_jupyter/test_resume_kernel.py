"""An experiment whose kernel was killed, continued in a new kernel (``resume``), with REAL kernels.

Kernel A runs a 12-trial experiment (two workers, each trial sleeping 0.6 s) into a store in the
test's MAGGY_HOME; once the store shows at least four trials FINISHED and one RUNNING, A's process
is killed with SIGKILL and its orphaned workers too (they lost their driver; the test does not
rely on them noticing). Kernel B then continues the experiment with ``lagom(train, resume=ID)``,
or with ``%%lagom --resume ID``, neither naming the search space: the stored one is used.

What a resume must give (``maggy.core.continuation``): the same experiment id, ending FINISHED;
every trial that had FINISHED kept exactly once, as it was (id, params, metric); each trial that
was running when A died ended LOST and was run again once, by a trial whose ``retry_of`` names it;
at least ``num_trials`` trials FINISHED. The store is only read while A runs, as a
``maggy experiments`` command in another terminal would. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from kernel_helpers import Kernel, marked_workers, running_kernel

from maggy.store import StoreError, open_store
from maggy.trial import TrialState

NUM_TRIALS = 12

TRAIN = textwrap.dedent(
    """
    import time

    def train(x, y):
        time.sleep(0.6)
        return -((x - 3) ** 2) - (y - 1) ** 2
    """
)

SETUP = "import json\nfrom maggy import Searchspace, experiment\n" + TRAIN

START = f"""
experiment.lagom(train, searchspace=Searchspace(x=("DOUBLE", [0, 6]), y=("INTEGER", [-2, 4])),
                 num_trials={NUM_TRIALS}, num_workers=2, name="continued", es_policy="none",
                 hb_interval=0.2, progress=False, seed=5, store=STORE)
"""

SHOW = 'print("RESULT", json.dumps({"experiment_id": r["experiment_id"], "status": r["status"]}))'


def _read(db: Path) -> tuple[Any, list[Any]] | None:
    """(record, trials) of the store's only experiment, read-only; None while there is none yet."""
    try:
        with open_store(db, read_only=True) as store:
            experiments = store.list_experiments()
            if not experiments:
                return None
            eid = experiments[0].experiment_id
            return store.get_experiment(eid), store.get_trials(eid)
    except (StoreError, sqlite3.OperationalError):  # not created yet, or being written this instant
        return None


def _count(trials: list[Any], state: TrialState) -> int:
    return sum(t.state is state for t in trials)


def _kill_mid_experiment(k: Kernel, db: Path) -> None:
    """Start the experiment in kernel A; once 4 trials FINISHED and one RUNNING, kill -9 A and its workers."""
    k.execute(f"STORE = {str(db)!r}\n{START}")  # never answers: the kernel dies while it runs

    def far_enough() -> bool:
        read = _read(db)
        if read is None:
            return False
        return _count(read[1], TrialState.FINISHED) >= 4 and _count(read[1], TrialState.RUNNING) >= 1

    k.wait_for("4 trials FINISHED and one RUNNING in the store", far_enough, timeout=30)
    process = k.km.provisioner.process  # type: ignore[union-attr]  # the local provisioner's Popen
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)  # reaped: a zombie would still look alive to the next kernel
    deadline = time.monotonic() + 10
    while workers := marked_workers(k.marker):
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert time.monotonic() < deadline, f"kernel A's workers {workers} outlived SIGKILL"
        time.sleep(0.05)


@pytest.mark.kernel
@pytest.mark.integration
@pytest.mark.timeout(150)
@pytest.mark.parametrize("how", ["lagom", "magic"])
def test_an_experiment_whose_kernel_was_killed_continues_in_a_new_kernel(how: str, tmp_path: Path) -> None:
    home = tmp_path / "maggy_home"
    home.mkdir()
    db = home / "experiments.db"

    with running_kernel(sys.executable, home) as a:
        a.run(SETUP)
        _kill_mid_experiment(a, db)

    read = _read(db)
    assert read is not None
    before, trials_before = read
    assert before.status == "RUNNING"  # nothing closed it: its driver was killed
    eid = before.experiment_id
    finished = {t.trial_id: t for t in trials_before if t.state is TrialState.FINISHED}
    running = {t.trial_id: t for t in trials_before if t.state is TrialState.RUNNING}
    assert len(finished) >= 4 and running

    with running_kernel(sys.executable, home) as b:
        b.run(SETUP)
        ref = eid[:17]  # a unique prefix is enough
        if how == "lagom":
            cell = (
                f"r = experiment.lagom(train, resume={ref!r}, num_workers=2, es_policy='none', "
                f"progress=False, store={str(db)!r})\n{SHOW}"
            )
        else:
            b.run("%load_ext maggy_jupyter")
            cell = (
                f"%%lagom --resume {ref} --num-workers 2 --es-policy none --no-progress --store {db} "
                f"--out r\n{TRAIN}"
            )
        out = b.run(cell, timeout=60)
        if how == "magic":
            out = b.run(SHOW)
    result = json.loads(next(x for x in out.splitlines() if x.startswith("RESULT "))[len("RESULT ") :])
    assert result == {"experiment_id": eid, "status": "FINISHED"}

    with open_store(db, read_only=True) as store:
        record, trials = store.get_experiment(eid), store.get_trials(eid)
    assert record.status == "FINISHED" and record.name == "continued"  # kept: neither call renamed it
    assert len({t.trial_id for t in trials}) == len(trials)
    by_id = {t.trial_id: t for t in trials}
    for tid, old in finished.items():  # kept once, as it was
        assert (by_id[tid].state, by_id[tid].params, by_id[tid].metric) == (
            TrialState.FINISHED,
            old.params,
            old.metric,
        )
    for tid, old in running.items():  # ended LOST, run again once with the same params
        assert by_id[tid].state is TrialState.LOST, by_id[tid]
        retries = [t for t in trials if t.retry_of == tid]
        assert len(retries) == 1 and retries[0].state is TrialState.FINISHED, retries
        assert retries[0].params == old.params
    assert all(t.state in (TrialState.FINISHED, TrialState.LOST) for t in trials), trials
    assert _count(trials, TrialState.FINISHED) >= NUM_TRIALS
