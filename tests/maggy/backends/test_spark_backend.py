"""lagom() on a real local[2] Spark session: one job per experiment, errors as values, stopping.

Every experiment runs real Spark tasks serving a real driver over TCP and writes a real SQLite
store; assertions look at the result, the store and Spark's own status tracker.
"""

from __future__ import annotations

import _thread
import subprocess
import sys
import threading
import time

import pytest

from maggy import Searchspace, experiment
from maggy.backends.spark import SparkBackend
from maggy.core import events as ev
from maggy.core import run as run_module
from maggy.frontend import ExperimentHandle, plain_wait
from maggy.store import open_store
from maggy.trial import TrialState

pytestmark = [
    pytest.mark.spark,
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def run(fn, tmp_path, **kwargs):
    kwargs.setdefault("progress", False)
    store_path = str(tmp_path / "store.db")
    result = experiment.lagom(fn, store=store_path, **kwargs)
    store = open_store(store_path)
    return result, store.get_experiment(result["experiment_id"]), store.get_trials(result["experiment_id"])


def group_jobs(spark, backend):
    tracker = spark.sparkContext.statusTracker()
    return [tracker.getJobInfo(j) for j in tracker.getJobIdsForGroup(backend.job_group)]


def process_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # killed, not yet reaped
    except OSError:
        return True


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


# ---- backend selection, before any session exists ---------------------------------------------


def test_without_a_session_backend_none_is_local_and_spark_says_what_to_do():
    pytest.importorskip("pyspark")
    from maggy.experiment import _resolve_backend

    assert _resolve_backend(None, None).name == "local"
    with pytest.raises(ValueError, match="needs an active SparkSession.*backend='local'"):
        _resolve_backend("spark", None)
    with pytest.raises(ValueError, match="backend must be 'local', 'spark', a SparkSession"):
        _resolve_backend("yarn", None)


def test_choosing_the_backend_never_imports_pyspark():
    code = (
        "import sys; from maggy.experiment import _resolve_backend; "
        "print(_resolve_backend(None, None).name, 'pyspark' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["local", "False"]


# ---- end to end --------------------------------------------------------------------------------


def toy(x, y):
    return -((x - 3) ** 2) - (y - 1) ** 2


TOY_SPACE = Searchspace(x=("DOUBLE", [0, 6]), y=("INTEGER", [-2, 4]))


def test_an_active_session_runs_the_experiment_as_one_spark_job(spark_local, tmp_path, monkeypatch):
    chosen = []
    resolve = experiment._resolve_backend
    monkeypatch.setattr(experiment, "_resolve_backend", lambda *a: chosen.append(resolve(*a)) or chosen[-1])
    started = []
    result, record, trials = run(
        toy,
        tmp_path,
        num_trials=20,
        searchspace=TOY_SPACE,
        seed=7,
        hb_interval=0.2,
        listeners=[lambda e: started.append(e) if isinstance(e, ev.ExperimentStarted) else None],
    )
    (backend,) = chosen
    assert isinstance(backend, SparkBackend) and record.config["backend"] == "spark"
    assert result["num_trials"] == 20 and result["errors"] == 0 and record.status == "FINISHED"
    assert result["best_val"] > -2.5
    assert abs(result["best_config"]["x"] - 3) < 1.6 and abs(result["best_config"]["y"] - 1) <= 1
    assert all(t.state is TrialState.FINISHED for t in trials)
    assert {t.worker for t in trials} <= {"spark-0", "spark-1"}
    assert all(t.info["backend"] == "spark" and t.info["executor_id"] == "driver" for t in trials)
    assert all(f"spark-{t.info['partition']}" == t.worker and t.info["gpus"] == [] for t in trials)
    assert started[0].num_workers == 2
    assert started[0].driver_address[0] == "127.0.0.1"  # spark.driver.host (localhost), not a wildcard
    jobs = group_jobs(spark_local, backend)
    assert len(jobs) == 1 and jobs[0].status == "SUCCEEDED"  # no job per trial
    assert sorted(s["worker_id"] for s in backend.summaries) == ["spark-0", "spark-1"]
    assert sum(s["trials"] for s in backend.summaries) == 20


def flaky(x):
    print("starting", x)
    if x == 1:
        raise ValueError("x must not be 1")
    if x == 2:
        return float("nan")
    if x == 3:
        import sys

        sys.exit(3)  # even SystemExit is the trial's error, not the task's
    return float(x)


def test_trial_errors_are_trial_states_not_spark_task_failures(spark_local, tmp_path):
    backend = SparkBackend(spark_local)
    space = Searchspace(x=("DISCRETE", [0, 1, 2, 3, 4]))
    result, record, trials = run(
        flaky, tmp_path, num_trials=5, searchspace=space, optimizer="gridsearch", backend=backend
    )
    by_x = {t.params["x"]: t for t in trials}
    assert result["errors"] == 3 and record.status == "FINISHED" and result["best_val"] == 4.0
    assert by_x[1].state is TrialState.ERROR and "ValueError: x must not be 1" in by_x[1].error
    assert by_x[2].state is TrialState.ERROR and "nan" in by_x[2].error
    assert by_x[3].state is TrialState.ERROR and "SystemExit" in by_x[3].error
    assert all(t.info["attempt"] == 0 for t in trials)
    # print() on the executor reached the store through the heartbeat/FINAL path
    assert all(f"starting {x}" in by_x[x].logs for x in by_x)
    assert [s["attempt"] for s in backend.summaries] == [0, 0]
    assert all(s["error"] is None for s in backend.summaries)
    (job,) = group_jobs(spark_local, backend)
    tracker = spark_local.sparkContext.statusTracker()
    stages = [tracker.getStageInfo(s) for s in job.stageIds]
    assert job.status == "SUCCEEDED" and all(s.numFailedTasks == 0 for s in stages if s is not None)


# ---- stopping ----------------------------------------------------------------------------------


def silent_sleeper(seconds):
    import time

    time.sleep(seconds)
    return float(seconds)


def test_keyboard_interrupt_cancels_the_job_group_promptly(spark_local, tmp_path):
    backend = SparkBackend(spark_local)
    running: set[int] = set()

    def interrupt_when_both_run(event):
        if isinstance(event, ev.TrialStarted):
            running.add(event.trial.trial_id)
            if len(running) == 2:  # both tasks are inside a 60 s trial: only a cancel ends them
                threading.Timer(0.5, _thread.interrupt_main).start()

    space = Searchspace(seconds=("DISCRETE", [60, 61, 62]))
    store_path = str(tmp_path / "store.db")
    with pytest.raises(KeyboardInterrupt):
        experiment.lagom(
            silent_sleeper,
            num_trials=3,
            searchspace=space,
            optimizer="gridsearch",
            backend=backend,
            hb_interval=0.2,
            store=store_path,
            progress=False,
            listeners=[interrupt_when_both_run],
        )
    interrupted = time.time()
    store = open_store(store_path)
    record = store.list_experiments()[0]
    trials = store.get_trials(record.experiment_id)
    assert record.status == "STOPPED"
    assert [t.state for t in trials] == [TrialState.STOPPED, TrialState.STOPPED]
    (job,) = group_jobs(spark_local, backend)
    assert job.status == "FAILED"  # cancelled, not left running
    assert not backend._thread.is_alive()
    assert spark_local.sparkContext.statusTracker().getActiveStageIds() == []
    pids = [t.info["pid"] for t in trials]
    assert wait_until(lambda: all(process_gone(p) for p in pids), timeout=10), "python workers left running"
    assert time.time() - interrupted < 12


class StoppingFrontend:
    """Stops the whole experiment from another thread once two trials run, as a stop button would."""

    def __init__(self) -> None:
        self.handle: ExperimentHandle | None = None
        self.stopped_at: float | None = None
        self.started = 0

    def active(self) -> bool:
        return True

    def attach(self, handle: ExperimentHandle) -> None:
        self.handle = handle
        handle.subscribe(self.on_event)

    def on_event(self, event) -> None:
        if isinstance(event, ev.TrialStarted):
            self.started += 1
        if isinstance(event, ev.TrialStarted) and self.started == 2:
            self.stopped_at = time.time()
            threading.Thread(target=self.handle.stop_experiment).start()

    def wait(self, done: threading.Event) -> None:
        plain_wait(done)


def test_a_stop_request_ends_trials_that_never_report_by_killing_their_tasks(
    spark_local, tmp_path, monkeypatch
):
    frontend = StoppingFrontend()
    monkeypatch.setattr(run_module, "discover", lambda: [frontend])
    backend = SparkBackend(spark_local)
    space = Searchspace(seconds=("DISCRETE", [60, 61, 62, 63]))
    result, record, trials = run(
        silent_sleeper,
        tmp_path,
        num_trials=4,
        searchspace=space,
        optimizer="gridsearch",
        backend=backend,
        hb_interval=0.2,
    )
    assert time.time() - frontend.stopped_at < 15  # the 2 s grace, then the tasks are killed
    assert record.status == "STOPPED" and result["status"] == "STOPPED"
    assert [t.state for t in trials] == [TrialState.STOPPED, TrialState.STOPPED]  # the others never started
    assert group_jobs(spark_local, backend)[0].status in ("FAILED", "SUCCEEDED")
    assert spark_local.sparkContext.statusTracker().getActiveStageIds() == []


def test_a_trial_over_its_timeout_is_an_error_and_spark_reschedules_its_task(spark_local, tmp_path):
    backend = SparkBackend(spark_local, num_workers=1)
    space = Searchspace(seconds=("DISCRETE", [120, 0.1, 0.2]))
    started = time.time()
    result, record, trials = run(
        silent_sleeper,
        tmp_path,
        num_trials=3,
        searchspace=space,
        optimizer="gridsearch",
        backend=backend,
        trial_timeout=2,
        hb_interval=0.2,
    )
    hung, *rest = trials
    assert hung.state is TrialState.ERROR and "trial_timeout" in hung.error
    assert [t.state for t in rest] == [TrialState.FINISHED, TrialState.FINISHED]
    # the killed task attempt was replaced by a new attempt of the same worker
    assert hung.info["attempt"] == 0 and {t.info["attempt"] for t in rest} == {1}
    assert {t.worker for t in trials} == {"spark-0"}
    assert [s["attempt"] for s in backend.summaries] == [1] and record.status == "FINISHED"
    assert result["best_val"] == 0.2 and time.time() - started < 40


def always_dies(x):
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def test_a_spark_job_that_fails_fails_the_experiment_saying_what_to_change(spark_local, tmp_path):
    store_path = str(tmp_path / "store.db")
    with pytest.raises(RuntimeError, match=r"Spark job running the trial workers failed.*local\[N,F\]"):
        experiment.lagom(
            always_dies,
            num_trials=2,
            searchspace=Searchspace(x=("DISCRETE", [1, 2])),
            optimizer="gridsearch",
            backend=spark_local,
            store=store_path,
            progress=False,
        )
    record = open_store(store_path).list_experiments()[0]
    assert record.status == "FAILED"
    assert spark_local.sparkContext.statusTracker().getActiveStageIds() == []


def test_a_reused_python_worker_that_loaded_cuda_for_other_gpus_is_flagged(monkeypatch):
    from maggy.backends import spark_task

    monkeypatch.setattr(spark_task, "_exported_gpus", None)
    for name in spark_task._CUDA_FRAMEWORKS:  # other tests may have imported one
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert spark_task._stale_cuda_warning(["0"]) is None  # first task in this process
    assert spark_task._stale_cuda_warning(["1"]) is None  # no CUDA framework loaded: env still works
    monkeypatch.setitem(sys.modules, "torch", object())
    assert spark_task._stale_cuda_warning(["1"]) is None  # same GPUs as before
    warning = spark_task._stale_cuda_warning(["0"])
    assert "GPU(s) ['1']" in warning and "torch" in warning and "spark.python.worker.reuse=false" in warning


def test_driver_host_comes_from_the_argument_then_the_environment_then_spark(spark_local, monkeypatch):
    monkeypatch.delenv("MAGGY_DRIVER_HOST", raising=False)
    assert SparkBackend(spark_local).driver_host() == spark_local.sparkContext.getConf().get(
        "spark.driver.host"
    )
    monkeypatch.setenv("MAGGY_DRIVER_HOST", "127.0.0.2")
    assert SparkBackend(spark_local).driver_host() == "127.0.0.2"
    assert SparkBackend(spark_local, driver_host="127.0.0.3").driver_host() == "127.0.0.3"
    assert SparkBackend(spark_local.sparkContext).worker_count(100) == 2  # local[2]: two task slots
    assert SparkBackend(spark_local, num_workers=1).worker_count(100) == 1
    assert SparkBackend(spark_local).worker_count(1) == 1
    with pytest.raises(ValueError, match="num_workers must be a positive int"):
        SparkBackend(spark_local, num_workers=0)
