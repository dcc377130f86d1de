"""``maggy.Study``: ask-and-tell, for users who drive their own loop.

::

    study = maggy.Study(searchspace, "tpe", direction="min", seed=0)
    with study:
        for _ in range(50):
            trial = study.ask()            # None: the optimizer has nothing more (a grid used up)
            loss = train(**trial.params)   # anywhere: this process, a thread, a cluster job
            study.tell(trial, loss)
    study.best_trial, study.result()

No workers, no driver thread: ``ask`` calls the optimizer's ``suggest`` and ``tell`` its
``on_trial_finished``, on the caller's thread. The optimizers are lagom's (:func:`get_optimizer`),
and the experiment is an ordinary one in the same store: registered RUNNING when the study is
made (``config["driven_by"] == "study"``), each trial saved when asked (RUNNING) and when told,
so it shows in ``maggy experiments list`` and the Experiments panel as it goes, and
``lagom(map_fun, resume=ID, num_trials=N)`` later continues it on workers; ``Study(resume=ID)``
continues a stored experiment, lagom's or a study's, by the rules of
:mod:`maggy.core.continuation`.

Thread-safety: every method takes one lock, so threads may ask and tell concurrently (several
trials then run at once, as with several workers: TPE and GP keep the pending ones apart).

A study that is never closed stays RUNNING in the store while its process lives; once the process
is gone, the next writable open of the store closes it FAILED, its told trials kept
(:mod:`maggy.core.recovery`).
"""

from __future__ import annotations

import collections
import itertools
import logging
import math
import numbers
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from maggy._rng import SeedLike, as_generator
from maggy.core import validation as check
from maggy.core.continuation import Earlier, find_experiment, set_up, stored_optimizer
from maggy.core.failure import all_failed
from maggy.core.recovery import driver_identity
from maggy.core.result import best_trial, build_result
from maggy.optimizer import AbstractOptimizer, get_optimizer
from maggy.optimizer.base import FINISHED, WAIT, params_and_budget
from maggy.searchspace import Searchspace
from maggy.store import ExperimentRecord, ExperimentStatus, ExperimentStore, new_experiment_id, open_store
from maggy.trial import CUT_SHORT, Trial, TrialState, extend_bounded, transition

log = logging.getLogger("maggy")

#: The ``num_trials`` an optimizer is set up with when the study sets no limit: more trials than
#: anyone runs, so only the user's loop (or a finite space) ends the asks.
UNLIMITED = 10**9

_DEFAULT_NAME = "no-name"

#: The states ``tell(trial, state=...)`` accepts; LOST (a dead worker) is the engine's alone.
_TOLD_STATES = (TrialState.FINISHED, TrialState.ERROR, TrialState.EARLY_STOPPED, TrialState.STOPPED)


class Study:
    """One experiment driven by ask and tell (see the module docstring).

    ``searchspace``, ``optimizer`` (a name, object or class, as for lagom; default random search),
    ``direction`` ('max' or 'min'; default 'max'), ``name``, ``description``, ``seed``,
    ``resume``, ``warm_start`` and ``initial_configs`` mean what they mean for
    :func:`maggy.experiment.lagom`; a resume takes the stored experiment's searchspace, optimizer
    and direction unless given. ``store``: an
    :class:`~maggy.store.ExperimentStore` (used, not closed) or a path (opened here, closed by
    :meth:`close`); default the user's store. ``num_trials``: the most trials to ask for, earlier
    ones of a resumed experiment included (at least what it asked for before); None: no limit
    (an optimizer that derives its schedule from it, ASHA and Hyperband without ``max_budget``,
    needs one).

    Everything is checked before the experiment is registered: a bad argument raises ValueError
    or TypeError (:class:`~maggy.store.ExperimentNotFound` for an unknown ``resume`` or
    ``warm_start`` id) and leaves the store as it was.
    """

    def __init__(
        self,
        searchspace: Searchspace | dict[str, Any] | None = None,
        optimizer: Any = None,
        direction: str | None = None,
        name: str = _DEFAULT_NAME,
        description: str = "",
        seed: SeedLike = None,
        store: ExperimentStore | str | None = None,
        resume: str | None = None,
        warm_start: Iterable[str] | str = (),
        initial_configs: Iterable[Mapping[str, Any]] = (),
        *,
        num_trials: int | None = None,
    ) -> None:
        direction = None if direction is None else check.check_direction(direction)
        name, description = check.check_text("name", name), check.check_text("description", description)
        resume = check.check_experiment_ref("resume", resume)
        warm_refs = check.check_experiment_refs("warm_start", warm_start)
        initial = check.check_initial_configs("initial_configs", initial_configs)
        if num_trials is not None:
            num_trials = check.check_positive_int("num_trials", num_trials)
        rng = as_generator(seed)
        self._own_store = not isinstance(store, ExperimentStore)
        self._store: ExperimentStore = store if isinstance(store, ExperimentStore) else open_store(store)
        try:
            self._prepare(searchspace, optimizer, direction, rng, resume, warm_refs, initial, num_trials)
            self._register(name, description)
        except BaseException:
            if self._own_store:
                self._store.close()
            raise

    # ---- construction ------------------------------------------------------------------------

    def _prepare(
        self,
        searchspace: Any,
        optimizer: Any,
        direction: str | None,
        rng: Any,
        resume: str | None,
        warm_refs: Sequence[str],
        initial: Sequence[dict[str, Any]],
        num_trials: int | None,
    ) -> None:
        """lagom's checks and plan (``maggy.experiment._plan``), for a loop instead of workers."""
        resumed = None if resume is None else find_experiment(self._store, resume, "resume")
        if resumed is not None:
            if resumed.experiment_type != "optimization":
                raise ValueError(
                    f"resume={resume!r}: experiment {resumed.experiment_id} is an {resumed.experiment_type} "
                    "experiment; a Study continues optimization experiments only (use lagom(resume=...))"
                )
            searchspace = (
                searchspace if searchspace is not None else Searchspace(**(resumed.searchspace or {}))
            )
            optimizer = optimizer if optimizer is not None else stored_optimizer(resumed)
            direction = direction if direction is not None else resumed.direction
        direction = direction if direction is not None else "max"
        space = check.check_searchspace(searchspace)
        opt = get_optimizer(optimizer)
        check.check_budget_name(space, opt)
        if opt.uses_budget and num_trials is None and getattr(opt, "max_budget", None) is None:
            raise ValueError(
                f"{opt.name} derives its rung budgets from num_trials: pass Study(num_trials=N), or "
                f"give the optimizer its top budget, e.g. {opt.name}(max_budget=27)"
            )
        continued = set_up(
            opt,
            space,
            direction=direction,
            experiment_type="optimization",
            num_trials=UNLIMITED if num_trials is None else num_trials,
            rng=rng,
            store=self._store,
            resumed=resumed,
            warm_start=warm_refs,
            initial_configs=initial,
        )
        earlier, counted = continued.earlier, continued.counted
        self._planned = continued.planned
        target = continued.num_trials
        # The optimizer, set up and taught the earlier trials: to read (tests, curious users), not to call.
        self.optimizer: AbstractOptimizer = opt
        self.direction = direction
        self.searchspace = space
        self._earlier: Earlier | None = earlier
        self._warm_ids = list(continued.warm_ids)
        self._asked_target = (
            target if num_trials is not None else max(counted, earlier.target if earlier else 0)
        )
        self._trials: dict[int, Trial] = {t.trial_id: t.copy() for t in (earlier.trials if earlier else [])}
        self._reruns = collections.deque(t.copy() for t in (earlier.reruns if earlier else []))
        self._initial = collections.deque(initial)
        self._ids = itertools.count(0 if earlier is None else earlier.next_id)
        self._suggested = counted
        self._exhausted = False
        self._lock = threading.RLock()
        self._closed: dict[str, Any] | None = None  # the result dict, once closed

    def _register(self, name: str, description: str) -> None:
        earlier = self._earlier
        config: dict[str, Any] = {
            "es_policy": "none",
            "num_trials_asked": self._asked_target,
            "driver": driver_identity(),  # lets a later open of the store close it if this process dies
            "driven_by": "study",
        }
        if self._warm_ids:
            config["warm_start"] = list(self._warm_ids)
        kept = None if earlier is None else earlier.record
        shown = self._planned if self._planned < UNLIMITED else self._asked_target
        self._record = ExperimentRecord(
            experiment_id=new_experiment_id() if kept is None else kept.experiment_id,
            name=kept.name if kept is not None and name == _DEFAULT_NAME else name,
            description=kept.description if kept is not None and not description else description,
            experiment_type="optimization",
            searchspace=self.searchspace.to_dict(),
            optimizer=self.optimizer.name,
            direction=self.direction,
            num_trials=shown,
            config=config,
            status=ExperimentStatus.RUNNING.value,
            start=time.time() if kept is None else kept.start,
        )
        if kept is None:
            self._store.create_experiment(self._record)
        else:
            self._store.resume_experiment(self._record)
        self._started = time.time()

    # ---- ask and tell ------------------------------------------------------------------------

    @property
    def experiment_id(self) -> str:
        """The experiment's id in the store (``maggy experiments show ID``, ``lagom(resume=ID)``)."""
        return self._record.experiment_id

    def ask(self) -> Trial | None:
        """The next trial to run: a copy of its :class:`~maggy.trial.Trial`, RUNNING, with
        ``trial_id``, ``params`` and ``budget`` (None unless the optimizer grants one, as ASHA
        does: pass it to your training as its budget, e.g. epochs).

        A resumed experiment's re-runs come first (``retry_of`` names the trial they retry),
        then ``initial_configs``, then the optimizer's suggestions. Returns None when there is
        nothing more to ask: ``num_trials`` reached, or the optimizer FINISHED (a grid or a
        finite space used up); every later call returns None too.

        Raises RuntimeError when the optimizer can suggest nothing until it hears of the trials
        asked for (ASHA on a used-up finite space, waiting for a promotion): tell those first;
        and when the study is closed.
        """
        with self._lock:
            self._check_open()
            trial = self._reruns.popleft() if self._reruns else self._next_suggestion()
            if trial is None:
                return None
            transition(trial, TrialState.RUNNING)
            self._trials[trial.trial_id] = trial
            self._store.save_trial(self.experiment_id, trial)
            return trial.copy()

    def tell(
        self,
        trial: Trial | int,
        value: float | Mapping[str, Any] | None = None,
        *,
        state: TrialState | str | None = None,
        error: str | None = None,
    ) -> None:
        """End the trial ``trial`` (a trial from :meth:`ask`, or its id) with its result.

        ``tell(trial, value)``: FINISHED with ``value``, a finite number (or a dict with it under
        ``'metric'``, as a training function may return). A failed trial: ``tell(trial)`` (no
        value) or ``tell(trial, error="...")``: ERROR. ``state='EARLY_STOPPED'`` (pruned by your
        own rule) or ``'STOPPED'`` end it with ``value``, or without one with its last
        :meth:`report`\\ ed value.

        Raises ValueError for a trial that is not this study's, one told already, a value that is
        not finite (NaN, infinity), or a state or error that contradicts the value; TypeError for
        a value that is not a number. Nothing changes when it raises: tell the trial again.
        """
        with self._lock:
            self._check_open()
            current = self._running(trial, "tell")
            new_state, metric, message = _judge(current, value, state, error)
            current.metric, current.error = metric, message
            self._end(current, new_state)

    def report(self, trial: Trial | int, step: float, value: float) -> None:
        """Add the point (``step``, ``value``) to a running trial's curve (an intermediate result,
        as ``reporter.broadcast`` sends one from a worker); stored at once, shown by every view.

        Raises ValueError for a trial not running, a value that is not finite or a step smaller
        than the trial's last; TypeError for ones that are not numbers.
        """
        with self._lock:
            self._check_open()
            current = self._running(trial, "report")
            point = [_number("report: step", step), _number("report: value", value)]
            if current.history and point[0] < current.history[-1][0]:
                raise ValueError(
                    f"report: steps must not decrease (got {point[0]} after {current.history[-1][0]})"
                )
            extend_bounded(current.history, [point])
            self._store.save_trial_progress(self.experiment_id, current, [point])

    # ---- reading -----------------------------------------------------------------------------

    @property
    def trials(self) -> list[Trial]:
        """Copies of every trial by id: a resumed experiment's earlier ones, then this study's."""
        with self._lock:
            return [self._trials[i].copy() for i in sorted(self._trials)]

    @property
    def best_trial(self) -> Trial | None:
        """A copy of the best trial by maggy's one rule (:func:`maggy.core.result.best_trial`:
        what ``result()["best_id"]``, the CLI and the views name); None while no trial has a metric."""
        with self._lock:
            best = best_trial(self._trials.values(), self.direction)
            return None if best is None else best.copy()

    def result(self) -> dict[str, Any]:
        """The result dict lagom returns (:mod:`maggy.core.result`); ``status`` is RUNNING until
        :meth:`close`, after which this is the dict that close returned and stored."""
        with self._lock:
            if self._closed is not None:
                return dict(self._closed)
            return self._result(ExperimentStatus.RUNNING.value, None)

    # ---- the end -----------------------------------------------------------------------------

    def close(
        self, status: ExperimentStatus | str | None = None, failure: str | None = None
    ) -> dict[str, Any]:
        """End the experiment and return its result dict (stored with it); again: the same dict.

        Trials asked for and not told end STOPPED, cut short (:data:`maggy.trial.CUT_SHORT`), so
        that a resume runs them again. ``status`` (default): STOPPED when there were such trials,
        FAILED when every trial that ended failed (as lagom), else FINISHED; or the terminal
        status given. ``failure``: why a FAILED experiment failed (``result["failure"]``).
        Closes the store when the study opened it.
        """
        with self._lock:
            if self._closed is not None:
                return dict(self._closed)
            final = None if status is None else ExperimentStatus(status)
            if final is ExperimentStatus.RUNNING:
                raise ValueError("close: the status must be FINISHED, STOPPED or FAILED")
            cut = [t for t in self._trials.values() if t.state is TrialState.RUNNING]
            for trial in cut:
                trial.metric = trial.last_value()
                trial.error = f"{CUT_SHORT} (the study was closed before this trial was told)"
                self._end(trial, TrialState.STOPPED)
            if final is None:
                failed = all_failed(self._trials.values())
                if cut:
                    final = ExperimentStatus.STOPPED
                elif failed is not None:
                    final, failure = ExperimentStatus.FAILED, failure or failed
                else:
                    final = ExperimentStatus.FINISHED
            result = self._result(final.value, failure if final is ExperimentStatus.FAILED else None)
            self._store.finish_experiment(self.experiment_id, final, time.time(), result)
            self._closed = result
            if self._own_store:
                self._store.close()
            return dict(result)

    def __enter__(self) -> Study:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close: FINISHED (see :meth:`close`); STOPPED after a KeyboardInterrupt; FAILED when the
        loop raised anything else (the exception goes on). Either way a resume can continue it."""
        if exc is None:
            self.close()
        elif isinstance(exc, KeyboardInterrupt):
            self.close(ExperimentStatus.STOPPED)
        else:
            self.close(
                ExperimentStatus.FAILED, f"the loop driving the study raised {type(exc).__name__}: {exc}"
            )

    def __repr__(self) -> str:
        status = "RUNNING" if self._closed is None else self._closed["status"]
        return f"<maggy.Study {self.experiment_id} {self.optimizer.name} {len(self._trials)} trials {status}>"

    # ---- internals ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed is not None:
            raise RuntimeError(
                f"study {self.experiment_id} is closed; continue it with maggy.Study(resume={self.experiment_id!r})"
            )

    def _next_suggestion(self) -> Trial | None:
        """A new PENDING trial from ``initial_configs`` or the optimizer; None when none will come."""
        if self._exhausted or self._suggested >= self._planned:
            self._exhausted = True
            return None
        suggestion = self._initial.popleft() if self._initial else self.optimizer.suggest()
        if suggestion is WAIT:
            running = sorted(t.trial_id for t in self._trials.values() if t.state is TrialState.RUNNING)
            if running:
                raise RuntimeError(
                    f"{self.optimizer.name} can suggest nothing until it hears how the running trials went: "
                    f"tell() the trials asked for first ({', '.join(map(str, running))})"
                )
            raise RuntimeError(f"{self.optimizer.name}.suggest() returned WAIT with no trial running")
        if suggestion is FINISHED:
            self._exhausted = True
            return None
        params, budget = params_and_budget(self.optimizer, suggestion)
        self._suggested += 1
        return Trial(trial_id=next(self._ids), params=params, budget=budget)

    def _running(self, trial: Trial | int, verb: str) -> Trial:
        trial_id = trial if isinstance(trial, numbers.Integral) else getattr(trial, "trial_id", None)
        if isinstance(trial_id, bool) or not isinstance(trial_id, numbers.Integral):
            raise TypeError(f"{verb}: expected a trial from ask() or its trial_id, got {trial!r}")
        current = self._trials.get(int(trial_id))
        if current is None:
            raise ValueError(f"{verb}: trial {trial_id} is not one of this study's (ask() for a trial first)")
        if current.state is not TrialState.RUNNING:
            if verb == "tell":
                raise ValueError(f"tell: trial {trial_id} was told already (it ended {current.state.value})")
            raise ValueError(f"{verb}: trial {trial_id} is not running (it ended {current.state.value})")
        return current

    def _end(self, trial: Trial, state: TrialState) -> None:
        transition(trial, state)
        self._store.save_trial_progress(self.experiment_id, trial, [])  # its stored curve stays
        try:
            self.optimizer.on_trial_finished(trial.copy())
        except Exception:  # as the driver does: an optimizer bug must not lose the user's result
            log.exception("maggy: %s.on_trial_finished raised", self.optimizer.name)

    def _result(self, status: str, failure: str | None) -> dict[str, Any]:
        return build_result(
            self.experiment_id, list(self._trials.values()), self.direction, time.time() - self._started, status,
            failure=failure,
        )  # fmt: skip


def _judge(
    trial: Trial, value: Any, state: TrialState | str | None, error: str | None
) -> tuple[TrialState, float | None, str | None]:
    """What ``tell`` makes of its arguments: the trial's end state, metric and error."""
    if isinstance(value, Mapping):
        if "metric" not in value:
            raise ValueError(f"tell: a dict value needs the metric under 'metric', got keys {sorted(value)}")
        value = value["metric"]
    metric = None if value is None else _number("tell: value", value)
    if state is None:
        new = TrialState.ERROR if value is None or error is not None else TrialState.FINISHED
    else:
        new = _told_state(state)
    if new is TrialState.FINISHED and (metric is None or error is not None):
        raise ValueError("tell: a FINISHED trial needs a value and no error")
    if new is TrialState.ERROR:
        if metric is not None:
            raise ValueError(
                "tell: a failed trial has no value; pass state='EARLY_STOPPED' to end one early with a value"
            )
        return new, trial.last_value(), error or "the trial failed (told with no value)"
    if new is not TrialState.FINISHED and metric is None:
        metric = trial.last_value()
    return new, metric, error


def _told_state(state: TrialState | str) -> TrialState:
    name = state.value if isinstance(state, TrialState) else str(state).upper()
    for told in _TOLD_STATES:
        if told.value == name:
            return told
    allowed = ", ".join(repr(s.value) for s in _TOLD_STATES)
    raise ValueError(f"tell: state must be one of {allowed}, got {state!r}")


def _number(what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(
            f"{what} must be a finite number, got {number}; for a failed trial call "
            "tell(trial, error='...') (or tell(trial) with no value)"
        )
    return number
