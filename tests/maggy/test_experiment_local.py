"""lagom() end to end on real local worker processes.

Every test runs a real experiment (real processes, real sockets, a real SQLite store) and checks
both the returned dict and what the store kept.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from worker_processes import worker_pids

from maggy import Searchspace, experiment
from maggy.cli import main as cli_main
from maggy.core import events as ev
from maggy.optimizer import GridSearch
from maggy.store import open_store
from maggy.trial import TrialState

pytestmark = pytest.mark.integration


def run(fn, tmp_path, **kwargs):
    kwargs.setdefault("progress", False)
    kwargs.setdefault("num_workers", 2)
    store_path = str(tmp_path / "store.db")
    result = experiment.lagom(fn, store=store_path, **kwargs)
    store = open_store(store_path)
    return result, store.get_experiment(result["experiment_id"]), store.get_trials(result["experiment_id"])


def toy(x, y):
    return -((x - 3) ** 2) - (y - 1) ** 2


TOY_SPACE = Searchspace(x=("DOUBLE", [0, 6]), y=("INTEGER", [-2, 4]))


def test_random_search_finds_the_optimum_region_and_records_everything(tmp_path):
    result, record, trials = run(toy, tmp_path, num_trials=20, searchspace=TOY_SPACE, seed=7, name="toy")
    assert result["num_trials"] == 20 and len(result["metric_list"]) == 20
    assert result["best_val"] == max(result["metric_list"]) and result["worst_val"] == min(
        result["metric_list"]
    )
    assert result["best_val"] > -2.5
    assert abs(result["best_config"]["x"] - 3) < 1.6 and abs(result["best_config"]["y"] - 1) <= 1
    assert result["avg"] == pytest.approx(sum(result["metric_list"]) / 20)
    assert result["errors"] == result["early_stopped"] == 0
    assert record.status == "FINISHED" and record.name == "toy" and record.end is not None
    assert len(trials) == 20 and all(t.state is TrialState.FINISHED for t in trials)
    assert {t.worker for t in trials} <= {"local-0", "local-1"}


def test_min_direction_picks_the_smallest(tmp_path):
    result, record, _ = run(
        lambda x, y: -toy(x, y), tmp_path, num_trials=8, searchspace=TOY_SPACE, direction="min"
    )
    assert result["best_val"] == min(result["metric_list"]) and result["worst_val"] == max(
        result["metric_list"]
    )
    assert record.direction == "min"


def test_same_seed_same_configs(tmp_path):
    a = run(toy, tmp_path / "a", num_trials=5, searchspace=TOY_SPACE, seed=3, num_workers=1)[2]
    b = run(toy, tmp_path / "b", num_trials=5, searchspace=TOY_SPACE, seed=3, num_workers=1)[2]
    assert [t.params for t in a] == [t.params for t in b]


def curve(quality, reporter):
    """Short good trials; a long trial that stays bad (quality 0) unless stopped."""
    import time

    steps = 5 if quality else 400
    for step in range(steps):
        reporter.broadcast(float(quality), step=step)
        time.sleep(0.02)
    return float(quality)


def test_median_rule_stops_a_deliberately_bad_trial(tmp_path):
    space = Searchspace(quality=("DISCRETE", [1, 2, 3, 0]))
    started = time.time()
    result, _, trials = run(
        curve,
        tmp_path,
        num_trials=4,
        searchspace=space,
        optimizer=GridSearch(),
        hb_interval=0.1,
        es_interval=0.2,
        es_min=2,
    )
    bad = next(t for t in trials if t.params["quality"] == 0)
    assert bad.state is TrialState.EARLY_STOPPED
    assert result["early_stopped"] == 1
    assert bad.metric == 0.0 and 0 < len(bad.history) < 400  # its history up to the stop is kept
    assert time.time() - started < 8  # the full bad trial would take 8 s


def flaky(x, reporter):
    print("starting", x)
    reporter.log(f"x is {x}")
    if x == 1:
        raise ValueError("x must not be 1")
    if x == 2:
        return float("nan")
    if x == 3:
        return "not a number"
    return float(x)


def test_raising_nan_and_non_numeric_trials_are_errors_and_the_rest_goes_on(tmp_path):
    space = Searchspace(x=("DISCRETE", [0, 1, 2, 3, 4]))
    result, record, trials = run(flaky, tmp_path, num_trials=5, searchspace=space, optimizer="gridsearch")
    by_x = {t.params["x"]: t for t in trials}
    assert result["errors"] == 3 and record.status == "FINISHED"
    assert by_x[1].state is TrialState.ERROR and "ValueError: x must not be 1" in by_x[1].error
    assert "Traceback" in by_x[1].error
    assert by_x[2].state is TrialState.ERROR and "nan" in by_x[2].error
    assert by_x[3].state is TrialState.ERROR and "'not a number' (str)" in by_x[3].error
    assert by_x[4].state is TrialState.FINISHED and result["best_val"] == 4.0
    assert "starting 4" in by_x[4].logs and "x is 4" in by_x[4].logs  # print() and reporter.log kept


def dies_once(x, marker_dir):
    import os
    import signal

    marker = os.path.join(marker_dir, f"died-{x}")
    if x == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return float(x)


def test_a_killed_worker_loses_its_trial_which_is_retried_on_a_replacement(tmp_path):
    space = Searchspace(x=("DISCRETE", [0, 1, 2, 3]), marker_dir=("CATEGORICAL", [str(tmp_path)]))
    started = time.time()
    result, record, trials = run(dies_once, tmp_path, num_trials=4, searchspace=space, optimizer="gridsearch")
    lost = [t for t in trials if t.state is TrialState.LOST]
    assert len(lost) == 1 and lost[0].params["x"] == 1 and "connection closed" in lost[0].error
    retry = next(t for t in trials if t.retry_of == lost[0].trial_id)
    assert retry.state is TrialState.FINISHED and retry.metric == 1.0
    assert result["lost"] == 1 and result["best_val"] == 3.0 and record.status == "FINISHED"
    assert time.time() - started < 20


def sleepy(seconds):
    import time

    time.sleep(seconds)
    return float(seconds)


def test_a_hanging_trial_is_ended_by_trial_timeout(tmp_path):
    space = Searchspace(seconds=("DISCRETE", [0, 120, 0.1]))
    started = time.time()
    result, _, trials = run(
        sleepy, tmp_path, num_trials=3, searchspace=space, optimizer="gridsearch", trial_timeout=2
    )
    hung = next(t for t in trials if t.params["seconds"] == 120)
    assert hung.state is TrialState.ERROR and "trial_timeout" in hung.error
    assert result["errors"] == 1 and result["best_val"] == 0.1
    assert time.time() - started < 20


def test_forged_and_oversized_frames_are_rejected_while_the_experiment_completes(tmp_path, caplog):
    attacks: list[str] = []

    def attacker(event):
        if not isinstance(event, ev.ExperimentStarted):
            return

        def attack():
            host, port = event.driver_address
            with socket.create_connection((host, port)) as s:  # a frame under a wrong secret
                payload = b'{"v": 1, "op": "REG"}'
                s.sendall(struct.pack(">I", 32 + len(payload)) + b"\0" * 32 + payload)
                attacks.append("forged:" + ("closed" if s.recv(1) == b"" else "answered"))
            with socket.create_connection((host, port)) as s:  # a length header far over the limit
                s.sendall(struct.pack(">I", 2**31))
                attacks.append("oversized:" + ("closed" if s.recv(1) == b"" else "answered"))

        threading.Thread(target=attack, daemon=True).start()

    space = Searchspace(seconds=("DISCRETE", [0.3, 0.29, 0.31, 0.32]))
    result, record, _ = run(
        sleepy, tmp_path, num_trials=4, searchspace=space, optimizer="gridsearch", listeners=[attacker]
    )
    assert sorted(attacks) == ["forged:closed", "oversized:closed"]
    assert result["num_trials"] == 4 and result["errors"] == 0 and record.status == "FINISHED"


def test_a_second_experiment_in_the_same_process_is_a_runtime_error(tmp_path):
    space = Searchspace(seconds=("DISCRETE", [1.0]))
    box: dict = {}
    t = threading.Thread(target=lambda: box.update(r=run(sleepy, tmp_path, num_trials=1, searchspace=space)))
    t.start()
    time.sleep(0.3)
    with pytest.raises(RuntimeError, match="An experiment is currently running"):
        experiment.lagom(sleepy, searchspace=space, store=str(tmp_path / "other.db"), progress=False)
    t.join(20)
    assert box["r"][0]["best_val"] == 1.0


INTERRUPT_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from maggy import Searchspace, experiment

    def train(i, reporter):
        import time
        if i < 2:
            return float(i)
        for step in range(1000):
            reporter.broadcast(float(i), step=step)
            time.sleep(0.05)
        return float(i)

    try:
        experiment.lagom(train, num_trials=6, searchspace=Searchspace(i=("DISCRETE", [0, 1, 2, 3, 4, 5])),
                         optimizer="gridsearch", num_workers=2, hb_interval=0.1, store=sys.argv[1], progress=False)
    except KeyboardInterrupt:
        sys.exit(42)
    """
)


def _worker_pids_with(marker: str) -> list[int]:
    return worker_pids(f"{marker}=1".encode())


def _wait_for_two_finished_and_one_running(store) -> None:
    """Until INTERRUPT_SCRIPT's experiment has trials 0 and 1 FINISHED and one RUNNING (30 s)."""
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            exps = store.list_experiments()
            trials = store.get_trials(exps[0].experiment_id) if exps else []
        except Exception:
            trials = []
        if sum(t.state is TrialState.FINISHED for t in trials) >= 2 and any(
            t.state is TrialState.RUNNING for t in trials
        ):
            break
        time.sleep(0.1)
    time.sleep(0.5)  # let the running trials send a few heartbeats


def test_a_killed_driver_leaves_no_experiment_running_and_loses_nothing_finished(tmp_path, capsys):
    # kill -9 of the notebook kernel: no finally block runs. The workers notice the lost driver
    # and exit; the next look at the store (the CLI, or a new lagom) closes the experiment.
    store_path = str(tmp_path / "store.db")
    marker = f"MAGGY_TEST_MARKER_{os.getpid()}_{time.time_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPT_SCRIPT, store_path], env=dict(os.environ, **{marker: "1"})
    )
    store = open_store(store_path)
    _wait_for_two_finished_and_one_running(store)
    deadline = time.time() + 10  # until a running trial's progress was saved (every 2 s)
    while time.time() < deadline and not any(
        t.state is TrialState.RUNNING and t.history
        for t in store.get_trials(store.list_experiments()[0].experiment_id)
    ):
        time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=10)
    exp_id = store.list_experiments()[0].experiment_id
    assert store.get_experiment(exp_id).status == "RUNNING"  # as the killed driver left it

    assert cli_main(["experiments", "list", "--store", store_path]) == 0
    assert "FAILED" in capsys.readouterr().out
    exp = store.get_experiment(exp_id)
    trials = store.get_trials(exp_id)
    assert exp.status == "FAILED" and exp.end is not None and exp.end >= exp.start
    assert [t.state for t in trials[:2]] == [TrialState.FINISHED, TrialState.FINISHED]
    lost = [t for t in trials if t.state is TrialState.LOST]
    assert lost and all(t.history and "driver process" in (t.error or "") for t in lost)
    assert exp.result is not None and exp.result["best_val"] == 1.0 and exp.result["lost"] == len(lost)
    deadline = time.time() + 10
    while _worker_pids_with(marker) and time.time() < deadline:
        time.sleep(0.1)
    assert _worker_pids_with(marker) == []  # the workers left on their own


def test_keyboard_interrupt_stops_workers_and_keeps_what_finished(tmp_path):
    store_path = str(tmp_path / "store.db")
    marker = f"MAGGY_TEST_MARKER_{os.getpid()}_{time.time_ns()}"
    env = dict(os.environ, **{marker: "1"})
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPT_SCRIPT, store_path], env=env)
    store = open_store(store_path)
    _wait_for_two_finished_and_one_running(store)
    assert len(_worker_pids_with(marker)) == 2
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 42
    exp = store.list_experiments()[0]
    trials = store.get_trials(exp.experiment_id)
    assert exp.status == "STOPPED"
    assert [t.state for t in trials[:2]] == [TrialState.FINISHED, TrialState.FINISHED]
    stopped = [t for t in trials if t.state is TrialState.STOPPED]
    assert stopped and all(t.history for t in stopped)  # histories streamed so far are kept
    assert not any(t.state is TrialState.RUNNING for t in trials)
    deadline = time.time() + 5
    while _worker_pids_with(marker) and time.time() < deadline:
        time.sleep(0.1)
    assert _worker_pids_with(marker) == []  # no orphan worker processes


def test_workers_that_cannot_start_fail_the_experiment_with_a_clear_error(tmp_path, monkeypatch):
    # A function pickled by reference to a module the workers cannot import: each worker dies
    # before it registers; after three such starts in a row the experiment fails instead of looping.
    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "vanishing_module.py").write_text("def train(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(module_dir))
    import vanishing_module

    (module_dir / "vanishing_module.py").unlink()
    started = time.time()
    # The error quotes what the last worker wrote (its traceback), not "see above".
    with pytest.raises(RuntimeError, match=r"exit before reaching the driver(.|\n)*vanishing_module"):
        experiment.lagom(
            vanishing_module.train,
            num_trials=2,
            searchspace=Searchspace(x=("DOUBLE", [0, 1])),
            store=str(tmp_path / "s.db"),
            progress=False,
            num_workers=1,
        )
    assert time.time() - started < 30
    record = open_store(str(tmp_path / "s.db")).list_experiments()[0]
    assert record.status == "FAILED"


def test_workers_that_start_after_the_last_trial_leave_quietly(tmp_path):
    # Two instant trials on two workers: one worker often runs both before the other registers.
    # The late one must still get DONE (the driver serves until its workers have left), not a
    # refused connection printing a traceback into the user's terminal or notebook.
    code = textwrap.dedent(
        """
        import sys
        from maggy import Searchspace, experiment

        def f(i):
            return float(i)

        for _ in range(25):
            experiment.lagom(f, num_trials=2, searchspace=Searchspace(i=("INTEGER", [0, 9])),
                             num_workers=2, store=sys.argv[1], progress=False)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "s.db")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


def always_fails(x):
    def check(value):
        raise ValueError(f"no good: {value}")

    check(x)


def test_an_experiment_whose_trials_all_fail_ends_failed_with_its_first_error(tmp_path):
    space = Searchspace(x=("DISCRETE", [1, 2, 3, 4]))
    result, record, trials = run(
        always_fails, tmp_path, num_trials=4, searchspace=space, optimizer="gridsearch"
    )
    assert result["status"] == "FAILED" == record.status  # not FINISHED with an empty chart
    assert result["errors"] == 4 and result["best_val"] is None
    first = min(trials, key=lambda t: (t.end, t.trial_id))
    assert result["failure"] == (
        f"all 4 trials failed; first error (trial {first.trial_id}): ValueError: no good: {first.params['x']}"
    )
    assert record.result is not None and record.result["failure"] == result["failure"]


def fails_or_reports(x, reporter):
    import time

    if x == 0:
        raise ValueError("the first trial fails")
    for step in range(600):
        reporter.broadcast(float(step), step=step)
        time.sleep(0.05)
    return 1.0


def test_stopping_an_experiment_before_any_trial_succeeded_is_stopped_not_failed(tmp_path, monkeypatch):
    from maggy.core import run as run_module

    class StopAfterFirstError:
        def attach(self, handle):
            self.handle = handle
            handle.subscribe(self.on_event)

        def on_event(self, event):
            if isinstance(event, ev.TrialFinished) and event.trial.state is TrialState.ERROR:
                threading.Thread(target=self.handle.stop_experiment).start()

    monkeypatch.setattr(run_module, "discover", lambda: [StopAfterFirstError()])
    space = Searchspace(x=("DISCRETE", [0, 1]))
    result, record, trials = run(
        fails_or_reports, tmp_path, num_trials=2, searchspace=space, optimizer="gridsearch", hb_interval=0.1
    )
    assert [t.state for t in trials] == [TrialState.ERROR, TrialState.STOPPED]
    assert result["status"] == "STOPPED" == record.status and result["failure"] is None


def test_one_trial_that_succeeds_keeps_the_experiment_finished(tmp_path):
    space = Searchspace(x=("DISCRETE", [0, 1, 2, 3, 4]))
    result, record, _ = run(flaky, tmp_path, num_trials=5, searchspace=space, optimizer="gridsearch")
    assert result["status"] == "FINISHED" == record.status and result["failure"] is None
