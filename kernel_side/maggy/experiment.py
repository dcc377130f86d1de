"""``experiment.lagom``: run a hyperparameter optimization (or ablation) experiment.

Flow: validate every argument -> register the experiment in the store -> start the driver (a
background thread serving workers over authenticated TCP) -> start the backend's workers ->
wait -> summarise. Only one experiment runs per process at a time (the spec's RuntimeError).

The arguments are the fields of :class:`maggy.options.LagomOptions` (defined there once);
``run(options)`` and ``run_async(options)`` take a built one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import importlib.util
import inspect
import logging
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast

import numpy as np

from maggy.backends.base import Backend
from maggy.core import validation as check
from maggy.core.continuation import Continued, find_experiment, set_up, stored_optimizer
from maggy.core.driver_core import DriverConfig, DriverCore
from maggy.core.recovery import driver_identity
from maggy.core.run import ExperimentRun
from maggy.earlystop import EarlyStopPolicy, NoStopping, get_policy
from maggy.optimizer import AbstractOptimizer, get_optimizer
from maggy.optimizer.base import BUDGET_ARG
from maggy.options import LagomOptions, with_options_described
from maggy.searchspace import Searchspace
from maggy.store import ExperimentRecord, ExperimentStatus, ExperimentStore, new_experiment_id, open_store

log = logging.getLogger("maggy")

_running = threading.Lock()

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(LagomOptions)}
_DEFAULT_NAME, _DEFAULT_DIRECTION = _DEFAULTS["name"], _DEFAULTS["direction"]


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _takes_options(
    build: Callable[_P, LagomOptions],
) -> Callable[[Callable[[LagomOptions], _R]], Callable[_P, _R]]:
    """Give ``fn(options)`` the arguments of ``build`` (LagomOptions): ``fn(*args, **kwargs)``
    runs ``fn(build(*args, **kwargs))``. Its signature (for ``help()``, ``?`` and IDEs) is
    LagomOptions', and its docstring gets the list of options: lagom's options live in one place."""

    signature = inspect.signature(build)

    def wrap(fn: Callable[[LagomOptions], _R]) -> Callable[_P, _R]:
        @functools.wraps(fn)
        def entry(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:  # so that a wrong argument is reported as lagom's, with the likely intended name
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{fn.__name__}() {exc}{_did_you_mean(kwargs, signature)}") from None
            return fn(build(*args, **kwargs))

        returns = inspect.signature(fn).return_annotation
        entry.__signature__ = signature.replace(return_annotation=returns)  # type: ignore[attr-defined]
        entry.__doc__ = with_options_described(entry.__doc__)
        return entry

    return wrap


def _did_you_mean(kwargs: dict[str, Any], signature: inspect.Signature) -> str:
    unknown = [name for name in kwargs if name not in signature.parameters]
    close = difflib.get_close_matches(unknown[0], signature.parameters, n=1) if unknown else []
    return f"; did you mean {close[0]!r}?" if close else ""


@_takes_options(LagomOptions)
def lagom(options: LagomOptions) -> dict[str, Any]:
    """Launch a maggy experiment and return its result dict (see ``maggy.core.result``).

    Takes the arguments of :class:`maggy.options.LagomOptions` (listed below): the first fourteen
    are the Maggy API's, with its defaults, then keyword-only extras. The training function
    receives its hyperparameters by name, plus ``reporter`` if it declares one; it returns a
    number, or a dict with the number under ``'metric'``.

    Raises RuntimeError if an experiment is already running in this process, ValueError/TypeError
    for bad arguments (before any worker starts), KeyboardInterrupt after stopping cleanly.
    """
    return run(options)


@_takes_options(LagomOptions)
def lagom_async(options: LagomOptions) -> Coroutine[Any, Any, dict[str, Any]]:
    """``await experiment.lagom_async(...)``: ``lagom`` without blocking the event loop.

    Same arguments and result as :func:`lagom`. The arguments are validated at the call, so a
    mistake raises in the cell that made it; the experiment starts when the returned coroutine is
    awaited (an un-awaited one holds nothing). In a notebook, top-level ``await`` keeps the kernel
    responsive while the experiment runs. Cancelling the awaiting task stops it cleanly.
    """
    return run_async(options)


def run(options: LagomOptions) -> dict[str, Any]:
    """Run the experiment that ``options`` describe: ``lagom(*args, **kwargs)`` is
    ``run(LagomOptions(*args, **kwargs))``, for callers that build the options first (``%%lagom``)."""
    return _prepare(options)().execute()


def run_async(options: LagomOptions) -> Coroutine[Any, Any, dict[str, Any]]:
    """``await run_async(options)``: :func:`lagom_async` for built options (checked now)."""
    build = _prepare(options)

    async def execute() -> dict[str, Any]:
        return await build().execute_async()

    return execute()


#: Options recorded in the experiment's config in the store, and given to the driver, as they are.
_DRIVER_OPTIONS = ("hb_interval", "es_interval", "es_min", "max_retries", "trial_timeout")


@dataclass(frozen=True)
class _Plan:
    """What ``_prepare`` derived from the options: the objects the run is assembled from."""

    packed_fn: bytes
    optimizer: AbstractOptimizer
    searchspace: Searchspace
    runner: Backend
    policy: EarlyStopPolicy
    continued: Continued  # how many trials, and what earlier work the run continues


def _prepare(o: LagomOptions) -> Callable[[], ExperimentRun]:
    """Check what the options ``o`` do not check alone; return ``build``, which takes this
    process's experiment slot and returns the run (nothing registered, no workers until it runs)."""
    policy = get_policy(o.es_policy)
    map_fun, searchspace, optimizer = o.map_fun, o.searchspace, o.optimizer
    with _reading(o) as reading:
        resumed = (
            None if reading is None or o.resume is None else find_experiment(reading, o.resume, "resume")
        )
        if resumed is not None and o.direction == _DEFAULT_DIRECTION != resumed.direction:
            # A resume keeps its direction (another is refused), so lagom's default means "as stored".
            o = dataclasses.replace(o, direction=resumed.direction)
        if resumed is not None and o.experiment_type == "optimization":
            # A resume repeats neither the space nor the optimizer unless they change.
            searchspace = (
                searchspace if searchspace is not None else Searchspace(**(resumed.searchspace or {}))
            )
            optimizer = optimizer if optimizer is not None else stored_optimizer(resumed)
        return _plan(o, policy, map_fun, searchspace, optimizer, reading, resumed)


def _plan(
    o: LagomOptions,
    policy: EarlyStopPolicy,
    map_fun: Callable[..., Any],
    searchspace: Any,
    optimizer: Any,
    reading: ExperimentStore | None,
    resumed: ExperimentRecord | None,
) -> Callable[[], ExperimentRun]:
    """``_prepare``'s checks and plan, with the resumed experiment's record (and the store to read
    its trials and the warm-start experiments' from) when ``o`` asks for either."""
    if o.experiment_type == "ablation":
        # An ablation's trials come from the study, not a searchspace: prepare_ablation checks the
        # study against its dataset and base model (before any worker starts), lets the ablator
        # (LOCO) play the optimizer, and wraps training_function(dataset_function, model_function,
        # reporter) so each trial's params ({'ablated': label}) become those two functions. From
        # here on an ablation runs exactly like an optimization.
        from maggy.ablation.prepare import prepare_ablation

        map_fun, searchspace, optimizer = prepare_ablation(
            map_fun, o.ablation_study, o.ablator, searchspace, optimizer
        )
    space = check.check_searchspace(searchspace)
    opt = get_optimizer(optimizer)
    check.check_budget_name(space, opt)
    policy = _policy_for(opt, policy, o.es_policy)
    check.check_signature(map_fun, set(space.names()) | _budget_param(opt))
    runner = _resolve_backend(o.backend, o.num_workers)
    packed_fn = runner.pack(map_fun)
    continued = set_up(
        opt,
        space,
        direction=o.direction,
        experiment_type=o.experiment_type,
        num_trials=o.num_trials,
        rng=np.random.default_rng(o.seed),
        store=reading,
        resumed=resumed,
        warm_start=o.warm_start,
        initial_configs=o.initial_configs,
    )
    _check_something_to_run(continued)
    if continued.planned != continued.num_trials:
        log.info(
            "maggy: %s will run %d trials (num_trials=%d asked)",
            opt.name,
            continued.planned,
            continued.num_trials,
        )
    plan = _Plan(packed_fn, opt, space, runner, policy, continued)
    return lambda: _build(o, plan)


@contextlib.contextmanager
def _reading(o: LagomOptions) -> Iterator[ExperimentStore | None]:
    """The store to read a resumed or warm-start experiment from (None when neither is asked);
    opened for this check only when lagom was given a path, closed afterwards."""
    if o.resume is None and not o.warm_start:
        yield None
    elif isinstance(o.store, ExperimentStore):
        yield o.store
    else:
        with open_store(o.store) as store:
            yield store


def _check_something_to_run(continued: Continued) -> None:
    """A resume must have trials to run: new ones, or earlier ones to run again."""
    earlier = continued.earlier
    if earlier is None or continued.planned - earlier.counted > 0 or earlier.reruns:
        return
    raise ValueError(
        f"resume: experiment {earlier.record.experiment_id} has run {earlier.counted} trials already and "
        f"none is left to run again; pass num_trials greater than {earlier.counted} to run more"
        + (
            ""
            if continued.planned >= continued.num_trials
            else " (its optimizer has no more configurations to try)"
        )
    )


def _build(o: LagomOptions, plan: _Plan) -> ExperimentRun:
    """Take this process's experiment slot and assemble the run."""
    if not _running.acquire(blocking=False):
        raise RuntimeError(
            "An experiment is currently running in this process; wait for it to finish or stop it"
        )
    own_store = not isinstance(o.store, ExperimentStore)
    the_store: ExperimentStore | None = None

    def release() -> None:
        if own_store and the_store is not None:
            the_store.close()
        _running.release()

    try:
        the_store = o.store if isinstance(o.store, ExperimentStore) else open_store(o.store)
        driver_options = {name: getattr(o, name) for name in _DRIVER_OPTIONS}
        config = {
            "hb_interval": o.hb_interval,  # then es_policy: the order `maggy experiments show` prints
            "es_policy": plan.policy.name,
            **driver_options,
            "backend": plan.runner.name,
            "num_trials_asked": plan.continued.num_trials,
            "driver": driver_identity(),  # lets a later look close it if this process dies
        }
        earlier = plan.continued.earlier
        if plan.continued.warm_ids:
            config["warm_start"] = list(plan.continued.warm_ids)
        experiment_id = new_experiment_id() if earlier is None else earlier.record.experiment_id
        core = DriverCore(
            DriverConfig(
                experiment_id=experiment_id, direction=o.direction, es_policy=plan.policy, **driver_options
            ),
            plan.optimizer,
            earlier=earlier,
            initial_configs=o.initial_configs,
        )
        # A resume keeps the experiment's name and description unless new ones are given.
        kept = earlier.record if earlier is not None else None
        record = ExperimentRecord(
            experiment_id=experiment_id,
            name=kept.name if kept is not None and o.name == _DEFAULT_NAME else o.name,
            description=kept.description if kept is not None and not o.description else o.description,
            experiment_type=o.experiment_type,
            searchspace=plan.searchspace.to_dict(),
            optimizer=plan.optimizer.name,
            direction=o.direction,
            num_trials=plan.continued.planned,
            config=config,
            status=ExperimentStatus.RUNNING.value,
            start=time.time() if kept is None else kept.start,
        )
        return ExperimentRun(
            plan.packed_fn,
            core,
            record,
            the_store,
            plan.runner,
            o.progress,
            o.listeners,
            on_close=release,
            resuming=earlier is not None,
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
