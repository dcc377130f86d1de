"""``experiment.lagom``: run a hyperparameter optimization (or ablation) experiment.

Flow: validate every argument -> register the experiment in the store -> start the driver (a
background thread serving workers over authenticated TCP) -> start the backend's workers ->
wait -> summarise. Only one experiment runs per process at a time (the spec's RuntimeError).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from maggy.backends.base import Backend
from maggy.core import events as ev
from maggy.core import validation as check
from maggy.core.driver_core import DriverConfig, DriverCore
from maggy.core.recovery import driver_identity
from maggy.core.run import ExperimentRun
from maggy.earlystop import EarlyStopPolicy, NoStopping, get_policy
from maggy.optimizer import AbstractOptimizer, get_optimizer
from maggy.optimizer.base import BUDGET_ARG
from maggy.store import ExperimentRecord, ExperimentStatus, ExperimentStore, new_experiment_id, open_store

log = logging.getLogger("maggy")

_running = threading.Lock()


def lagom(
    map_fun: Callable[..., Any],
    name: str = "no-name",
    experiment_type: str = "optimization",
    hb_interval: float = 1,
    num_trials: int = 1,
    searchspace: Any = None,
    optimizer: Any = None,
    direction: str = "max",
    ablation_study: Any = None,
    ablator: Any = None,
    es_policy: Any = "median",
    es_interval: float = 300,
    es_min: int = 10,
    description: str = "",
    *,
    num_workers: int | None = None,
    trial_timeout: float | None = None,
    max_retries: int = 1,
    seed: Any = None,
    backend: Any = None,
    store: ExperimentStore | str | None = None,
    progress: bool | None = None,
    listeners: Iterable[Callable[[ev.Event], None]] = (),
) -> dict[str, Any]:
    """Launch a maggy experiment and return its result dict (see ``maggy.core.result``).

    The first fourteen arguments are the Maggy API's, with its defaults. Keyword-only extras:
    ``num_workers`` (default min(num_trials, CPU count); on Spark min(num_trials, task slots)),
    ``trial_timeout`` (seconds; a trial running longer is killed and marked ERROR),
    ``max_retries`` (re-runs of a LOST trial, default 1), ``seed`` (int or numpy Generator: same
    seed, same suggestions), ``backend`` (``'local'`` processes, ``'spark'``, a SparkSession, or
    a backend object; default Spark when a SparkSession is active, else local), ``store`` (an
    ExperimentStore or a path; default the user store, see ``maggy.store``), ``progress``
    (terminal progress bar; default on unless in a notebook), ``listeners`` (callables
    receiving every driver event).

    The training function receives its hyperparameters by name, plus ``reporter`` if it declares
    one; it returns a number, or a dict with the number under ``'metric'``.

    Raises RuntimeError if an experiment is already running in this process, ValueError/TypeError
    for bad arguments (before any worker starts), KeyboardInterrupt after stopping cleanly.
    """
    return _prepare(**locals())().execute()


def lagom_async(
    map_fun: Callable[..., Any],
    name: str = "no-name",
    experiment_type: str = "optimization",
    hb_interval: float = 1,
    num_trials: int = 1,
    searchspace: Any = None,
    optimizer: Any = None,
    direction: str = "max",
    ablation_study: Any = None,
    ablator: Any = None,
    es_policy: Any = "median",
    es_interval: float = 300,
    es_min: int = 10,
    description: str = "",
    *,
    num_workers: int | None = None,
    trial_timeout: float | None = None,
    max_retries: int = 1,
    seed: Any = None,
    backend: Any = None,
    store: ExperimentStore | str | None = None,
    progress: bool | None = None,
    listeners: Iterable[Callable[[ev.Event], None]] = (),
) -> Coroutine[Any, Any, dict[str, Any]]:
    """``await experiment.lagom_async(...)``: ``lagom`` without blocking the event loop.

    Same arguments and result as :func:`lagom`. The arguments are validated at the call, so a
    mistake raises in the cell that made it; the experiment starts when the returned coroutine is
    awaited (an un-awaited one holds nothing). In a notebook, top-level ``await`` keeps the kernel
    responsive while the experiment runs. Cancelling the awaiting task stops it cleanly.
    """
    build = _prepare(**locals())

    async def run() -> dict[str, Any]:
        return await build().execute_async()

    return run()


def _prepare(
    map_fun: Callable[..., Any],
    name: str,
    experiment_type: str,
    hb_interval: float,
    num_trials: int,
    searchspace: Any,
    optimizer: Any,
    direction: str,
    ablation_study: Any,
    ablator: Any,
    es_policy: Any,
    es_interval: float,
    es_min: int,
    description: str,
    num_workers: int | None,
    trial_timeout: float | None,
    max_retries: int,
    seed: Any,
    backend: Any,
    store: ExperimentStore | str | None,
    progress: bool | None,
    listeners: Iterable[Callable[[ev.Event], None]],
) -> Callable[[], ExperimentRun]:
    """Validate everything now; return ``build``, which takes this process's experiment slot,
    registers nothing yet and returns the run (no workers until it executes)."""
    check.check_callable(map_fun)
    exp_type = check.check_experiment_type(experiment_type)
    name = check.check_text("name", name)
    description = check.check_text("description", description)
    hb = check.check_hb_interval(hb_interval)
    trials_asked = check.check_positive_int("num_trials", num_trials)
    direction = check.check_direction(direction)
    policy = get_policy(es_policy)
    es_every = check.check_positive_number(
        "es_interval", es_interval, infinite="; to turn early stopping off pass es_policy='none'"
    )
    es_after = check.check_non_negative_int("es_min", es_min)
    retries = check.check_non_negative_int("max_retries", max_retries)
    timeout = (
        None
        if trial_timeout is None
        else check.check_positive_number(
            "trial_timeout", trial_timeout, infinite="; for no time limit pass trial_timeout=None"
        )
    )
    if exp_type == "ablation":
        # An ablation's trials come from the study, not a searchspace: prepare_ablation checks the
        # study against its dataset and base model (before any worker starts), lets the ablator
        # (LOCO) play the optimizer, and wraps training_function(dataset_function, model_function,
        # reporter) so each trial's params ({'ablated': label}) become those two functions. From
        # here on an ablation runs exactly like an optimization.
        from maggy.ablation.prepare import prepare_ablation

        map_fun, searchspace, optimizer = prepare_ablation(
            map_fun, ablation_study, ablator, searchspace, optimizer
        )
    space = check.check_searchspace(searchspace)
    opt = get_optimizer(optimizer)
    check.check_budget_name(space, opt)
    policy = _policy_for(opt, policy, es_policy)
    check.check_signature(map_fun, set(space.names()) | _budget_param(opt))
    runner = _resolve_backend(backend, num_workers)
    packed_fn = runner.pack(map_fun)
    opt.setup(space, trials_asked, direction, np.random.default_rng(seed))
    planned = opt.planned_trials()
    if planned != trials_asked:
        log.info("maggy: %s will run %d trials (num_trials=%d asked)", opt.name, planned, trials_asked)
    settings = _Settings(
        name,
        description,
        exp_type,
        direction,
        hb,
        policy,
        es_every,
        es_after,
        retries,
        timeout,
        trials_asked,
        planned,
    )
    return lambda: _build(packed_fn, opt, space, runner, store, progress, listeners, settings)


@dataclass(frozen=True)
class _Settings:
    """lagom's validated scalar arguments, carried from validation to the build."""

    name: str
    description: str
    exp_type: str
    direction: str
    hb: float
    policy: EarlyStopPolicy
    es_every: float
    es_after: int
    retries: int
    timeout: float | None
    trials_asked: int
    planned: int


def _build(
    packed_fn: bytes,
    opt: Any,
    space: Any,
    runner: Backend,
    store: ExperimentStore | str | None,
    progress: bool | None,
    listeners: Iterable[Callable[[ev.Event], None]],
    v: _Settings,
) -> ExperimentRun:
    """Take this process's experiment slot and assemble the run from validated settings ``v``."""
    if not _running.acquire(blocking=False):
        raise RuntimeError(
            "An experiment is currently running in this process; wait for it to finish or stop it"
        )
    own_store = not isinstance(store, ExperimentStore)
    the_store: ExperimentStore | None = None

    def release() -> None:
        if own_store and the_store is not None:
            the_store.close()
        _running.release()

    try:
        the_store = store if isinstance(store, ExperimentStore) else open_store(store)
        config = {
            "hb_interval": v.hb,
            "es_policy": v.policy.name,
            "es_interval": v.es_every,
            "es_min": v.es_after,
            "max_retries": v.retries,
            "trial_timeout": v.timeout,
            "backend": runner.name,
            "num_trials_asked": v.trials_asked,
            "driver": driver_identity(),  # lets a later look close it if this process dies
        }
        experiment_id = new_experiment_id()
        core = DriverCore(
            DriverConfig(
                experiment_id=experiment_id,
                direction=v.direction,
                hb_interval=v.hb,
                es_policy=v.policy,
                es_interval=v.es_every,
                es_min=v.es_after,
                max_retries=v.retries,
                trial_timeout=v.timeout,
            ),
            opt,
        )
        record = ExperimentRecord(
            experiment_id=experiment_id,
            name=v.name,
            description=v.description,
            experiment_type=v.exp_type,
            searchspace=space.to_dict(),
            optimizer=opt.name,
            direction=v.direction,
            num_trials=v.planned,
            config=config,
            status=ExperimentStatus.RUNNING.value,
            start=time.time(),
        )
        return ExperimentRun(
            packed_fn, core, record, the_store, runner, progress, listeners, on_close=release
        )
    except BaseException:
        release()
        raise


def _policy_for(optimizer: AbstractOptimizer, policy: EarlyStopPolicy, asked: Any) -> EarlyStopPolicy:
    """ASHA and Hyperband stop trials themselves (by rung); a second rule on top would cut trials
    before their rung is judged. The spec's default 'median' is therefore replaced by no stopping
    for them (said in a log line); a policy chosen explicitly otherwise is kept, with a warning."""
    if not optimizer.uses_budget or isinstance(policy, NoStopping):
        return policy
    if isinstance(asked, str) and asked.strip().lower() == "median":
        log.info("maggy: %s does its own early stopping; es_policy='median' is not applied", optimizer.name)
        return NoStopping()
    log.warning(
        "maggy: %s does its own early stopping; es_policy=%r will also stop trials before their rung is "
        "judged (pass es_policy='none' to leave stopping to %s)",
        optimizer.name,
        asked,
        optimizer.name,
    )
    return policy


def _budget_param(optimizer: AbstractOptimizer) -> set[str]:
    """Optimizers that hand out budgets (ASHA, Hyperband) pass ``budget`` to the function too."""
    return {BUDGET_ARG} if optimizer.uses_budget else set()


def _resolve_backend(backend: Any, num_workers: int | None) -> Backend:
    """The backend for ``lagom(backend=...)``.

    None: Spark if a SparkSession is active on this thread, else local processes; ``'local'``;
    ``'spark'`` (the active session); a SparkSession or SparkContext; or a backend object, used
    as is. pyspark is only looked at if the user already imported it: ``import maggy`` and local
    runs never load Spark.
    """
    if backend is None:
        backend = "spark" if _active_spark_session() is not None else "local"
    if isinstance(backend, str):
        if backend == "local":
            from maggy.backends.local import LocalBackend

            return LocalBackend(num_workers)
        if backend == "spark":
            if "pyspark" not in sys.modules and importlib.util.find_spec("pyspark") is None:
                raise ValueError(
                    "backend='spark' needs pyspark: pip install 'maggy-jupyter[spark]', or use backend='local'"
                )
            from maggy.backends.spark import SparkBackend

            return SparkBackend(None, num_workers)
        raise ValueError(
            f"backend must be 'local', 'spark', a SparkSession or a backend object, got {backend!r}"
        )
    if type(backend).__module__.split(".")[0] == "pyspark":  # a session or context the user passes
        from maggy.backends.spark import SparkBackend

        return SparkBackend(backend, num_workers)
    return cast(Backend, backend)


def _active_spark_session() -> Any:
    """The SparkSession active on this thread, if pyspark is already loaded; never imports it."""
    if "pyspark" not in sys.modules:
        return None
    try:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
    except Exception:  # a dead JVM or a broken install: not an active session
        return None
    if session is not None and type(session).__module__.startswith("pyspark.sql.connect"):
        log.warning(
            "maggy: the active SparkSession is a Spark Connect session, which cannot run trial "
            "workers; running them as local processes (pass backend='local' to silence this)"
        )
        return None
    return session
