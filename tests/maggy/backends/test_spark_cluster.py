"""lagom() on local-cluster[1,2,1024]: a separate executor JVM with two fake GPUs, one per task.

What only a real executor shows: GPU addresses from Spark's resource scheduling reach the trial's
environment and its record, and a Python worker that dies mid-trial is retried by Spark (the
driver marks its trial LOST and re-runs it on the retried task).
"""

from __future__ import annotations

import pytest

from maggy import Searchspace, experiment
from maggy.backends.spark import SparkBackend
from maggy.store import open_store
from maggy.trial import TrialState

pytestmark = [
    pytest.mark.spark,
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def run(fn, tmp_path, **kwargs):
    kwargs.setdefault("progress", False)
    kwargs.setdefault("hb_interval", 0.2)
    store_path = str(tmp_path / "store.db")
    result = experiment.lagom(fn, store=store_path, **kwargs)
    store = open_store(store_path)
    return result, store.get_experiment(result["experiment_id"]), store.get_trials(result["experiment_id"])


def show_gpus(i):
    import os
    import time

    print(f"CVD={os.environ.get('CUDA_VISIBLE_DEVICES')} ORDER={os.environ.get('CUDA_DEVICE_ORDER')}")
    time.sleep(0.6)  # long enough that the two tasks' trials overlap
    return float(i)


def test_each_task_sees_only_its_gpus_and_the_trial_records_them(spark_gpu_cluster, tmp_path):
    backend = SparkBackend(spark_gpu_cluster)
    assert backend.worker_count(10) == 2  # 1 executor x 2 GPUs / 1 GPU per task
    space = Searchspace(i=("DISCRETE", [0, 1, 2, 3, 4, 5]))
    result, record, trials = run(
        show_gpus, tmp_path, num_trials=6, searchspace=space, optimizer="gridsearch", backend=backend
    )
    assert record.status == "FINISHED" and result["errors"] == 0
    for t in trials:
        assert t.info["gpus"] in (["0"], ["1"])
        assert f"CVD={t.info['gpus'][0]} ORDER=PCI_BUS_ID" in t.logs  # what the trial itself saw
        assert t.info["executor_id"] == "0" and t.info["host"]  # a real executor, not the driver
    gpus_by_worker = {t.worker: tuple(t.info["gpus"]) for t in trials}
    assert len(gpus_by_worker) == 2 and len(set(gpus_by_worker.values())) == 2
    a, b = (next(t for t in trials if t.info["gpus"] == [g]) for g in ("0", "1"))
    assert a.start < b.end and b.start < a.end  # the two GPUs' trials ran at the same time


def dies_once(x, marker_dir):
    import os
    import signal

    marker = os.path.join(marker_dir, f"died-{x}")
    if x == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)  # the Python worker dies mid-trial: a Spark task failure
    return float(x)


def test_a_killed_python_worker_is_retried_by_spark_and_its_trial_by_the_driver(spark_gpu_cluster, tmp_path):
    backend = SparkBackend(spark_gpu_cluster)
    space = Searchspace(x=("DISCRETE", [0, 1, 2, 3]), marker_dir=("CATEGORICAL", [str(tmp_path)]))
    result, record, trials = run(
        dies_once, tmp_path, num_trials=4, searchspace=space, optimizer="gridsearch", backend=backend
    )
    lost = [t for t in trials if t.state is TrialState.LOST]
    assert len(lost) == 1 and lost[0].params["x"] == 1
    retry = next(t for t in trials if t.retry_of == lost[0].trial_id)
    assert retry.state is TrialState.FINISHED and retry.metric == 1.0
    assert result["lost"] == 1 and result["best_val"] == 3.0 and record.status == "FINISHED"
    # Spark retried the dead task: the same worker id registered again as attempt 1
    dead_worker = lost[0].worker
    assert lost[0].info["attempt"] == 0
    assert {(s["worker_id"], s["attempt"]) for s in backend.summaries} >= {(dead_worker, 1)}
    assert all(s["error"] is None for s in backend.summaries)
