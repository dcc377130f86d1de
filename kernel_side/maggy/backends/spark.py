"""The Spark backend: one Spark job per experiment, one long-lived worker loop per task slot.

``start`` submits ``sc.parallelize(range(n), n).mapPartitions(run_task).collect()`` from a thread
of its own, under a job group of its own (``interruptOnCancel=True``). Each task runs
:func:`maggy.worker.run_worker` for as many trials as the driver pushes to it: no Spark job per
trial, no stage barrier. ``collect`` brings back one summary per task (errors as values).

- Reaching the driver: the driver binds :meth:`SparkBackend.driver_host`: the ``driver_host``
  argument, else ``MAGGY_DRIVER_HOST``, else Spark's own ``spark.driver.host`` (the address
  executors already use to reach this driver). Never a wildcard unless the user sets one; the
  tasks are then told ``spark.driver.host``.
- The secret and the training function travel inside the task closure (Spark's channel), never
  as a job property or description, and never over the RPC wire.
- Executors need nothing installed but pyspark: the driver's own maggy package (pure Python,
  stdlib-only on the worker side) is zipped once per process and added to the SparkContext with
  ``addPyFile``, ahead of any maggy an executor may have, so driver and workers always speak the
  same protocol; the training function is pickled with pyspark's bundled cloudpickle, so the
  executors need no cloudpickle either. Only what the training function itself imports must be
  on the executors.
- GPUs: see :mod:`maggy.backends.spark_task` (CUDA_VISIBLE_DEVICES from ``TaskContext.resources``).
- Stopping: :meth:`shutdown` cancels the job group (Spark interrupts the tasks and kills their
  Python workers) and returns once the job has ended.
- Killing one worker (trial timeout, hung worker): ``SparkContext.killTaskAttempt`` on the task
  attempt the worker registered with. Spark kills that task's Python worker and reschedules the
  task (a kill does not count towards ``spark.task.maxFailures``); the new attempt registers
  under the same worker id and goes on with the next trial.
- Lost workers: a task whose Python worker or executor dies is retried by Spark (up to
  ``spark.task.maxFailures``; a ``local[N]`` master never retries, ``local[N,F]`` does). The
  driver marks the trial LOST when the connection drops (or when the retry registers) and
  applies ``max_retries``. If the whole job fails, the experiment fails with Spark's reason.

pyspark is imported inside functions only: importing this module costs nothing.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maggy.backends.base import Supervision, pack_training_function
from maggy.backends.spark_task import run_task

log = logging.getLogger("maggy")

#: Environment variable naming the address the driver binds (and executors connect to).
DRIVER_HOST_ENV = "MAGGY_DRIVER_HOST"

_WILDCARDS = frozenset({"", "0.0.0.0", "::"})

#: Seconds ``shutdown(graceful=True)`` lets the tasks leave after DONE before cancelling the job.
_GRACEFUL_EXIT = 15.0
#: Seconds ``shutdown`` waits for the job to end once its group is cancelled.
_CANCEL_WAIT = 10.0
#: Seconds to wait, after every task returned, for the driver to see the experiment end.
_DONE_RACE = 1.0
#: Characters of Spark's failure text kept in the experiment's failure message.
_MAX_REASON = 3000


class SparkBackend:
    """Runs the worker loop in Spark tasks; see the module docstring.

    ``spark``: a SparkSession or SparkContext; None takes the session active on the calling
    thread (ValueError if there is none). ``num_workers``: how many tasks (default: the task
    slots Spark reports, see :meth:`worker_count`). ``driver_host``: the address the driver
    binds and executors connect to (default ``MAGGY_DRIVER_HOST``, else ``spark.driver.host``).

    Thread-safety: ``start`` and ``shutdown`` are called by the experiment's thread,
    ``kill_worker`` by the driver's dispatcher thread; the submitting thread is the backend's own.
    """

    name = "spark"

    def __init__(
        self, spark: Any = None, num_workers: int | None = None, driver_host: str | None = None
    ) -> None:
        if num_workers is not None and (
            isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1
        ):
            raise ValueError(f"num_workers must be a positive int or None, got {num_workers!r}")
        if driver_host is not None and (not isinstance(driver_host, str) or not driver_host.strip()):
            raise ValueError(f"driver_host must be a non-empty string or None, got {driver_host!r}")
        self.requested_workers = num_workers
        self._sc = spark_context(spark)
        self._driver_host = driver_host
        #: The Spark job group of this experiment's job (cancel it to stop every task).
        self.job_group = f"maggy-{uuid.uuid4().hex[:16]}"
        #: One summary per task once the job completed (see spark_task.run_task); None before.
        self.summaries: list[dict[str, Any]] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._supervision: Supervision | None = None

    # ---- Backend protocol ----------------------------------------------------------------------

    def driver_host(self) -> str:
        """``driver_host`` argument, else ``$MAGGY_DRIVER_HOST``, else ``spark.driver.host``."""
        if self._driver_host:
            return self._driver_host.strip()
        from_env = os.environ.get(DRIVER_HOST_ENV, "").strip()
        if from_env:
            return from_env
        return self._spark_driver_host()

    def worker_count(self, num_trials: int) -> int:
        """Tasks to run: ``num_workers`` if given, else the task slots Spark reports; at most num_trials.

        Task slots: ``defaultParallelism`` (the executors' cores) / ``spark.task.cpus``, and with
        GPU scheduling at most executors x (executor GPUs / task GPUs). A ``num_workers`` above
        the slots is kept (with a note): the extra tasks start when Spark has room, which with
        dynamic allocation is how Spark is asked for more executors.
        """
        slots = task_slots(self._sc)
        if self.requested_workers is None:
            return max(1, min(slots, num_trials))
        wanted = min(self.requested_workers, num_trials)
        if wanted > slots:
            log.info(
                "maggy: num_workers=%d but Spark reports %d task slots now; the other tasks start "
                "when slots free up or executors are added",
                wanted,
                slots,
            )
        return max(1, wanted)

    def pack(self, map_fun: Callable[..., Any]) -> bytes:
        """Pickle ``map_fun`` with pyspark's cloudpickle, which every executor has (notebook
        functions and closures work); ValueError if it cannot be."""
        from pyspark import cloudpickle as spark_cloudpickle

        return pack_training_function(map_fun, "Spark executors", spark_cloudpickle.dumps)

    def start(
        self,
        address: tuple[str, int],
        secret: bytes,
        packed_fn: bytes,
        hb_interval: float,
        num_workers: int,
        supervision: Supervision,
    ) -> None:
        """Submit the experiment's one Spark job (``num_workers`` tasks) and return at once."""
        from pyspark import InheritableThread

        host, port = address
        if host in _WILDCARDS:  # the user bound a wildcard: tell the tasks an address they can reach
            host = self._spark_driver_host()
        boot = {
            "address": [host, port],
            "secret": secret,
            "map_fun": packed_fn,
            "hb_interval": hb_interval,
            "sys_path": [p for p in sys.path if p],
            "local_mode": self._sc.master.startswith("local[") or self._sc.master == "local",
        }
        self._supervision = supervision
        ship_maggy(self._sc)
        description = f"maggy: {num_workers} trial workers for the driver at {host}:{port}"
        # InheritableThread: the job keeps the caller's Spark local properties (e.g. a scheduler
        # pool set in the notebook); the job group set inside it is this thread's alone.
        self._thread = InheritableThread(
            self._run_job,
            args=(functools.partial(run_task, boot), num_workers, description, supervision),
            name="maggy-spark-job",
            daemon=True,
        )
        self._thread.start()

    def kill_worker(self, worker_id: str) -> None:
        """Kill the worker's current task attempt; Spark reschedules the task (see module docstring).

        Never raises (it runs on the driver's dispatcher thread): a task already gone is a no-op.
        """
        info = self._supervision.worker_info(worker_id) if self._supervision is not None else {}
        task_id = info.get("task_attempt_id")
        if task_id is None:
            log.warning("maggy: cannot kill worker %s: no Spark task attempt known for it", worker_id)
            return
        try:
            killed = self._sc._jsc.sc().killTaskAttempt(
                int(task_id), True, f"maggy: killing worker {worker_id}"
            )
        except Exception:
            log.exception("maggy: killing the Spark task of worker %s failed", worker_id)
            return
        if killed:
            log.info(
                "maggy: killed Spark task attempt %s (worker %s); Spark reschedules it", task_id, worker_id
            )

    def shutdown(self, graceful: bool = True) -> None:
        """End the job: with ``graceful`` let the tasks leave after DONE first, then cancel the group.

        Returns once the job has ended (or after a bounded wait); Spark kills the Python worker of
        every cancelled task (within ``spark.python.task.killTimeout``).
        """
        self._stopping.set()
        thread = self._thread
        if thread is None:
            return
        if graceful:
            thread.join(_GRACEFUL_EXIT)
        if thread.is_alive():
            try:
                self._sc.cancelJobGroup(self.job_group)
            except Exception:
                log.exception("maggy: cancelling Spark job group %s failed", self.job_group)
            thread.join(_CANCEL_WAIT)
            if thread.is_alive():
                log.warning("maggy: Spark job group %s did not end within %g s", self.job_group, _CANCEL_WAIT)

    # ---- internals -----------------------------------------------------------------------------

    def _run_job(
        self, task: Callable[..., Any], num_workers: int, description: str, supervision: Supervision
    ) -> None:
        """The submitting thread: run the job; report a job that ends while the experiment runs."""
        sc = self._sc
        try:
            sc.setJobGroup(self.job_group, description, interruptOnCancel=True)
            summaries = sc.parallelize(range(num_workers), num_workers).mapPartitions(task).collect()
        except Exception as exc:
            if not self._stopping.is_set() and supervision.is_running():
                supervision.fail(self._job_failure(exc))
            return
        self.summaries = summaries
        deadline = time.monotonic() + _DONE_RACE
        while supervision.is_running() and not self._stopping.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        if supervision.is_running() and not self._stopping.is_set():
            errors = [s["error"] for s in summaries if s.get("error")]
            supervision.fail(_tasks_ended_message(errors, conf_get(sc, "spark.driver.host")))

    def _job_failure(self, exc: BaseException) -> str:
        java = getattr(exc, "java_exception", None)
        reason = str(java.getMessage()) if java is not None else f"{type(exc).__name__}: {exc}"
        reason = reason[:_MAX_REASON]
        hints = []
        if "No module named 'maggy'" in reason:
            hints.append("the maggy archive did not reach the executors; install maggy-jupyter on them")
        master = self._sc.master
        if master.startswith("local[") and "," not in master:
            hints.append(f"master {master} never retries a failed task; use local[N,F] to allow F-1 retries")
        hint = f" ({'; '.join(hints)})" if hints else ""
        return f"the Spark job running the trial workers failed{hint}: {reason}"

    def _spark_driver_host(self) -> str:
        host = conf_get(self._sc, "spark.driver.host")
        if not host:
            raise ValueError(
                f"spark.driver.host is not set; set {DRIVER_HOST_ENV} or SparkBackend(driver_host=...) to "
                "an address of this machine that the executors can reach"
            )
        return str(host)


#: SparkContexts that already have this process's maggy archive (added once per context).
_shipped_to: weakref.WeakSet[Any] = weakref.WeakSet()


def ship_maggy(sc: Any) -> None:
    """Add this process's maggy package to ``sc`` (``addPyFile``), once per SparkContext."""
    if sc in _shipped_to:
        return
    sc.addPyFile(maggy_archive())
    _shipped_to.add(sc)


@functools.cache
def maggy_archive() -> str:
    """Path of a zip of the imported maggy package's ``.py`` files, built once per process.

    Named after the package's content hash, so a changed maggy (an editable install) is never
    confused with an archive Spark already distributed under the same name.
    """
    import hashlib
    import tempfile
    import zipfile

    import maggy

    package = Path(maggy.__file__).parent
    sources = sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in sources:
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    target = Path(tempfile.mkdtemp(prefix="maggy-ship-")) / f"maggy-{digest.hexdigest()[:12]}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sources:
            archive.write(path, Path("maggy") / path.relative_to(package))
    return str(target)


def spark_context(spark: Any = None) -> Any:
    """The SparkContext of ``spark`` (a SparkSession or SparkContext), or of the active session.

    Raises ValueError, saying what to do, when there is none or it cannot run tasks (Spark Connect).
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if spark is None:
        spark = SparkSession.getActiveSession()
        if spark is None:
            raise ValueError(
                "backend='spark' needs an active SparkSession: create one first "
                "(SparkSession.builder.getOrCreate()), pass it as backend=spark, or use backend='local'"
            )
    if isinstance(spark, SparkContext):
        return spark
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        raise ValueError(
            "a Spark Connect session cannot run maggy's trial workers (they need the SparkContext "
            "and RDD API of a classic session); use a classic SparkSession or backend='local'"
        )
    if isinstance(spark, SparkSession):
        return spark.sparkContext
    raise ValueError(f"backend must be a SparkSession or SparkContext, got a {type(spark).__name__}")


def task_slots(sc: Any) -> int:
    """How many tasks Spark can run at once now: cores / ``spark.task.cpus``, capped by GPUs."""
    task_cpus = max(1, int(conf_get(sc, "spark.task.cpus") or 1))
    slots = max(1, sc.defaultParallelism // task_cpus)
    task_gpus = float(conf_get(sc, "spark.task.resource.gpu.amount") or 0)
    executor_gpus = float(conf_get(sc, "spark.executor.resource.gpu.amount") or 0)
    if task_gpus > 0 and executor_gpus > 0:
        # Executor infos include the driver's; in local mode the driver is the only executor.
        executors = len(sc._jsc.sc().statusTracker().getExecutorInfos()) - 1
        if executors > 0:
            per_executor = int(executor_gpus / task_gpus + 1e-9)  # fractional amounts share a GPU
            slots = min(slots, max(1, executors * per_executor))
    return slots


def conf_get(sc: Any, key: str) -> str | None:
    """One Spark setting, or None: one JVM call (``sc.getConf()`` copies the whole conf, ~60 ms)."""
    value = sc._jsc.sc().conf().getOption(key)
    return str(value.get()) if value.isDefined() else None


def _tasks_ended_message(errors: list[str], spark_driver_host: str | None) -> str:
    if not errors:
        return "every Spark task ended while trials were still due (the job finished early)"
    first = errors[0].strip().splitlines()
    text = "\n".join(first[-6:])
    hint = ""
    if any(name in errors[0] for name in ("ConnectionRefusedError", "TimeoutError", "timed out", "No route")):
        hint = (
            f" The executors could not reach the driver: set {DRIVER_HOST_ENV} or "
            f"SparkBackend(driver_host=...) to an address of this machine they can reach "
            f"(spark.driver.host is {spark_driver_host!r})."
        )
    return f"{len(errors)} Spark task(s) could not serve trials; the first error:\n{text}{hint}"
