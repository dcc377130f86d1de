"""What one Spark task runs on an executor: the worker loop, for as many trials as the driver hands out.

The driver side (:mod:`maggy.backends.spark`) submits ``partial(run_task, boot)`` to
``mapPartitions``; Spark pickles that closure, so the bootstrap dict (driver address, the
experiment's secret, the cloudpickled training function) reaches the executors only through
Spark's own task channel, never through a job property, the RPC wire or a log line.

Contract of :func:`run_task`:
- worker_id is ``spark-<partition id>``: stable across Spark's retries of that task, so a retried
  task re-registers under the same id (the driver then marks the previous attempt's trial LOST)
  with ``attempt = TaskContext.attemptNumber()``;
- the GPUs Spark assigned to the task are exported as CUDA_VISIBLE_DEVICES (with
  CUDA_DEVICE_ORDER=PCI_BUS_ID) before any trial code runs, and restored afterwards, because
  Spark reuses Python worker processes across tasks;
- it never raises for a trial's or the worker loop's error: it yields one summary dict per task
  (``error`` holds the traceback text), so an error costs no Spark task retry. Only a dying
  Python worker (killed, crashed, out of memory) fails the task, and Spark then retries it.

Imported on executors only; it imports pyspark inside the function, like every maggy module.
"""

from __future__ import annotations

import os
import pickle
import socket
import sys
import traceback
from collections.abc import Iterable, Iterator
from typing import Any

#: Environment variables a task sets for its trials, restored when the task ends.
_GPU_VARS = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")

#: How many parent processes to look through for the executor JVM (worker <- daemon <- JVM).
_MAX_ANCESTORS = 4

#: Frameworks that read CUDA_VISIBLE_DEVICES once, when they first touch CUDA.
_CUDA_FRAMEWORKS = ("torch", "tensorflow", "jax", "cupy")

#: GPUs an earlier task exported in this (reused) Python worker process.
_exported_gpus: list[str] | None = None


def run_task(boot: dict[str, Any], _partition: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Run the worker loop as worker ``spark-<partition>``; yield one summary of this task.

    ``boot`` holds ``address`` ([host, port]), ``secret`` (bytes), ``map_fun`` (pickled with
    pyspark's cloudpickle), ``hb_interval`` (seconds), ``sys_path`` (the driver's, appended where
    missing so functions pickled by reference to the driver's modules import here too; see
    :func:`_driver_paths`) and ``local_mode`` (Spark's
    master is ``local[...]``: the executor is the driver JVM). The summary: ``worker_id``,
    ``attempt``, ``trials`` (how many ran), ``error`` (traceback text or None) and ``info``.
    """
    from pyspark import TaskContext

    ctx = TaskContext.get()
    assert ctx is not None, "run_task runs inside a Spark task"
    partition, attempt = ctx.partitionId(), ctx.attemptNumber()
    worker_id = f"spark-{partition}"
    gpus = _task_gpus(ctx)
    info: dict[str, Any] = {
        "backend": "spark",
        "partition": partition,
        "attempt": attempt,
        "stage_id": ctx.stageId(),
        # What the driver passes to killTaskAttempt for a trial timeout or a hung worker.
        "task_attempt_id": ctx.taskAttemptId(),
        "executor_id": "driver" if boot.get("local_mode") else _executor_id(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "gpus": gpus,
    }
    summary: dict[str, Any] = {
        "worker_id": worker_id,
        "attempt": attempt,
        "trials": 0,
        "error": None,
        "info": info,
    }
    stale = _stale_cuda_warning(gpus)
    if stale:
        info["warning"] = stale
    saved_env = {var: os.environ.get(var) for var in _GPU_VARS}
    saved_path = list(sys.path)
    try:
        if gpus:
            # Spark's addresses come from the discovery script (nvidia-smi indices, PCI bus order);
            # CUDA enumerates fastest-first unless told otherwise, so pin the order to match.
            os.environ["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
            os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        sys.path.extend(_driver_paths(boot.get("sys_path", [])))
        from maggy.worker.loop import run_worker

        map_fun = pickle.loads(boot["map_fun"])  # pyspark's cloudpickle wrote it: no cloudpickle needed
        summary["trials"] = run_worker(
            (boot["address"][0], int(boot["address"][1])),
            boot["secret"],
            map_fun,
            worker_id,
            boot["hb_interval"],
            attempt=attempt,
            info=info,
            # The driver is gone (its kernel died, or the link broke): end this Python worker
            # rather than let an orphaned trial run on; the job is being cancelled anyway.
            on_driver_lost=lambda: os._exit(3),
        )
    except Exception:  # a value, not a task failure: retrying would fail the same way
        summary["error"] = traceback.format_exc()
    finally:
        for var, value in saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        sys.path[:] = saved_path
    yield summary


def _driver_paths(paths: list[str]) -> list[str]:
    """The driver's sys.path entries worth adding on an executor: not already there, and not an
    installation directory (site-/dist-packages, the standard library's). Those belong to the
    driver's interpreter: on a shared machine another interpreter could import binary modules
    built for it, and on a cluster they do not exist anyway."""
    install_dirs = ("site-packages", "dist-packages", f"python{sys.version_info[0]}.{sys.version_info[1]}")
    return [
        p
        for p in paths
        if p
        and p not in sys.path
        and not any(part in install_dirs for part in p.replace("\\", "/").split("/"))
    ]


def _task_gpus(ctx: Any) -> list[str]:
    """The GPU addresses Spark assigned to this task (``spark.task.resource.gpu.amount``), or []."""
    try:
        gpu = ctx.resources().get("gpu")
    except Exception:  # resources() needs Spark >= 3.0; no GPU scheduling then
        return []
    return [str(a) for a in gpu.addresses] if gpu is not None else []


def _stale_cuda_warning(gpus: list[str]) -> str | None:
    """A warning if this reused Python worker may still be bound to another task's GPUs."""
    global _exported_gpus
    previous, _exported_gpus = _exported_gpus, (gpus or _exported_gpus)
    loaded = [name for name in _CUDA_FRAMEWORKS if name in sys.modules]
    if not gpus or previous is None or previous == gpus or not loaded:
        return None
    return (
        f"this Python worker ran an earlier task on GPU(s) {previous} and has {', '.join(loaded)} loaded, "
        f"which may still use those instead of {gpus}; set spark.python.worker.reuse=false"
    )


def _executor_id() -> str | None:
    """Best effort: the executor JVM's ``--executor-id`` (standalone, YARN, Kubernetes), else None.

    PySpark tells a Python task nothing about its executor, so look at the JVM that started this
    Python worker (a few parents up); Kubernetes also sets SPARK_EXECUTOR_ID.
    """
    pid = os.getpid()
    for _ in range(_MAX_ANCESTORS):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            if b"--executor-id" in args:
                i = args.index(b"--executor-id")
                if i + 1 < len(args):
                    return args[i + 1].decode(errors="replace")
            with open(f"/proc/{pid}/stat", "rb") as f:
                pid = int(f.read().rsplit(b")", 1)[1].split()[1])  # field 4, after "(comm)"
        except (OSError, ValueError, IndexError):
            break
        if pid <= 1:
            break
    return os.environ.get("SPARK_EXECUTOR_ID")
