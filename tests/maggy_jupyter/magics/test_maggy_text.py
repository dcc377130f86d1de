"""``%maggy list|show`` render through maggy's one renderer: the same text as ``maggy experiments``."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from maggy.cli import main
from maggy.store import ExperimentRecord, open_store
from maggy.trial import Trial, TrialState
from maggy_jupyter.magics import experiments as magic

WORKER_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/x/maggy/worker/loop.py", line 112, in _run_trial\n'
    "    result = call_training_function(map_fun, params, reporter)\n"
    '  File "<dynamic-code>", line 3, in train\n'
    "ValueError: loss exploded\n"
)


def _record(eid: str, status: str = "FINISHED", config: dict | None = None) -> ExperimentRecord:
    return ExperimentRecord(
        eid,
        "sweep",
        "",
        "optimization",
        None,
        "randomsearch",
        "max",
        3,
        config or {},
        status,
        1_700_000_000.0,
    )


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_show_of_a_failed_experiment_says_why_as_the_cli_does(capsys: pytest.CaptureFixture[str]) -> None:
    eid = "20260103-100000-cccccc"
    failure = "all 2 trials failed; first error (trial 0): ValueError: loss exploded"
    with open_store() as s:
        s.create_experiment(_record(eid, "RUNNING"))
        for i in range(2):
            s.save_trial(eid, Trial(i, {"lr": 0.1}, TrialState.ERROR, error=WORKER_TRACEBACK, end=1.0 + i))
        s.finish_experiment(eid, "FAILED", 1_700_000_010.0, {"status": "FAILED", "failure": failure})
    shown = magic.show_experiment(eid[:10])
    assert f"failure      {failure}\n" in shown
    assert '      File "<dynamic-code>", line 3, in train\n    ValueError: loss exploded' in shown
    assert "maggy/worker" not in shown
    # the notebook shows what the command line shows, less its sections (searchspace, config, result)
    cli = _cli(capsys, "experiments", "show", eid).rstrip("\n").split("\n\n")
    sections = [block for block in cli if block.split("\n")[0] in ("searchspace", "config", "result")]
    assert len(sections) == 1 and sections[0].startswith("result\n  status   FAILED\n  failure  all 2 trials")
    assert shown == "\n\n".join(block for block in cli if block not in sections)


def test_list_shows_the_same_numbers_as_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    eid = "20260104-100000-dddddd"
    with open_store() as s:
        s.create_experiment(_record(eid))
        s.save_trial(eid, Trial(0, {"lr": 0.123456789}, TrialState.FINISHED, metric=0.123456789, end=2.0))
    listed = magic.list_experiments().splitlines()
    cli = _cli(capsys, "experiments", "list").splitlines()
    assert listed[1].split() == [c for i, c in enumerate(cli[1].split()) if i != 2]  # all but TYPE
    assert "0.123457 (max)" in listed[1]


def test_an_experiment_of_a_dead_driver_is_listed_and_shown_as_failed() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    eid = "20260105-100000-eeeeee"
    with open_store() as s:
        s.create_experiment(
            _record(eid, "RUNNING", {"driver": {"host": socket.gethostname(), "pid": dead.pid}})
        )
        s.save_trial(eid, Trial(0, {"lr": 1}, TrialState.RUNNING, start=1_700_000_001.0))
    listed = magic.list_experiments()
    assert eid in listed and "RUNNING" not in listed and "FAILED" in listed
    shown = magic.show_experiment(eid)
    assert "status       FAILED" in shown and "0      LOST" in shown


def test_a_negative_limit_is_a_usage_error_not_an_empty_listing() -> None:
    from IPython.core.error import UsageError

    with open_store() as s:
        s.create_experiment(_record("20260106-100000-ffffff"))
    with pytest.raises(UsageError, match="--limit N: N is how many to list"):
        magic.list_experiments(-1)
