"""The optimizer interface: ask/tell on plain data, no sockets, no threads.

The driver calls, from one thread and never concurrently:
  1. ``setup(searchspace, num_trials, direction, rng)`` once before the first suggestion;
  2. ``suggest()`` whenever a worker is free: it returns a params dict, a :class:`Suggestion`
     (params plus a budget, for optimizers that grant one), or a :class:`Decision`: ``WAIT``
     (nothing now; the driver asks again after the next trial finishes) or ``FINISHED`` (no more
     trials will come);
  3. ``on_trial_finished(trial)`` with the finished :class:`maggy.trial.Trial` (any terminal state).

The driver stops asking after ``planned_trials()`` suggestions, so a simple optimizer never has
to count. Retries of LOST trials are re-queued by the driver without asking the optimizer.

A params dict is only params: a key named ``budget`` is a hyperparameter like any other. A budget
travels beside the params, as ``Suggestion(params, budget=...)``, and reaches the training function
as its ``budget`` argument. A suggestion the wire cannot carry to a worker (NaN or infinity, a value
JSON cannot encode, a non-str name) becomes that trial's ERROR, naming the parameter; the
optimizer sees it in ``on_trial_finished`` like any other failed trial.
"""

from __future__ import annotations

import abc
import enum
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from maggy.trial import was_cut_short

if TYPE_CHECKING:
    from maggy.searchspace import Searchspace
    from maggy.trial import Trial


class Decision(enum.Enum):
    """What ``suggest`` returns when it has no trial to hand out: ``WAIT`` or ``FINISHED``.

    ``WAIT``: nothing now; the driver asks again after the next trial finishes. ``FINISHED``: no
    more trials will come. Compare by identity (``suggestion is WAIT``).
    """

    WAIT = "WAIT"
    FINISHED = "FINISHED"

    def __repr__(self) -> str:
        return self.value


WAIT: Final = Decision.WAIT
FINISHED: Final = Decision.FINISHED

#: The argument name under which the training function receives a suggestion's budget.
BUDGET_ARG: Final = "budget"

_REPORTER_ARG = "reporter"  # maggy.worker.invoke.REPORTER_ARG (not imported: the worker package is heavier)

#: Largest JSON encoding of one trial's params (bytes). A TRIAL message can carry two trials (the
#: running one and one handed out ahead) and must stay well inside the 8 MiB frame limit.
MAX_PARAMS_BYTES: Final = 1 << 20


@dataclass(frozen=True)
class Suggestion:
    """One trial to run: ``params`` (hyperparameter name -> value) and, optionally, a ``budget``.

    ``budget`` (e.g. epochs; ASHA's and Hyperband's rung budgets) is passed to the training
    function as its ``budget`` argument, beside the params, never inside them. ``suggest`` may
    return a plain dict instead, which means params without a budget. ``params`` is copied into
    a new dict, so later changes to the caller's dict do not reach the trial.

    Raises TypeError when ``params`` is not a mapping or ``budget`` is neither None nor a number.
    """

    params: dict[str, Any]
    budget: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.params, Mapping):
            raise TypeError(
                f"Suggestion params must be a dict of hyperparameter values, got {type(self.params).__name__}"
            )
        budget = self.budget
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, numbers.Real)):
            raise TypeError(f"Suggestion budget must be a number or None, got {budget!r}")
        object.__setattr__(self, "params", dict(self.params))


def params_and_budget(optimizer: AbstractOptimizer, suggestion: Any) -> tuple[dict[str, Any], float | None]:
    """What ``optimizer.suggest()`` returned (neither WAIT nor FINISHED) as plain params and budget.

    Raises TypeError, saying what to change, for anything but a params dict or a
    :class:`Suggestion`, for a budget from an optimizer whose ``uses_budget`` is False, and for a
    dict with a ``budget`` key from one whose ``uses_budget`` is True (the convention before
    Suggestion: the budget would silently become a hyperparameter and the rungs be lost).
    """
    name = optimizer.name
    if isinstance(suggestion, Suggestion):
        if suggestion.budget is not None and not optimizer.uses_budget:
            # lagom checked the training function for `budget` only if uses_budget says so.
            raise TypeError(
                f"{name}.suggest() granted a budget, but {name}.uses_budget is False: set the class "
                "attribute uses_budget = True"
            )
        return plain_params(suggestion.params), plain_value(suggestion.budget)
    if isinstance(suggestion, dict):
        if optimizer.uses_budget and BUDGET_ARG in suggestion:
            raise TypeError(
                f"{name}.suggest() returned a params dict with a 'budget' key; a dict holds params only: "
                "return maggy.optimizer.Suggestion(params, budget=...)"
            )
        return plain_params(suggestion), None
    raise TypeError(
        f"{name}.suggest() returned {suggestion!r}; expected a params dict, a maggy.optimizer.Suggestion, "
        "WAIT or FINISHED"
    )


def wire_problem(params: Mapping[Any, Any], budget: Any = None) -> str | None:
    """Why ``params``/``budget`` cannot travel to a worker (a sentence naming the culprit), or None.

    The driver calls this on every new suggestion before handing it out: trials travel as strict
    JSON (no NaN or infinity), and the worker calls the training function with ``**params``, so
    names must be str. Top-level numpy scalars count as their Python values (the driver converts
    them, see :func:`plain_params` and :func:`plain_value`).
    """
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, numbers.Real) or not math.isfinite(budget):
            return f"its budget {budget!r} is not a finite number"
        if BUDGET_ARG in params:
            return (
                f"it has a parameter named {BUDGET_ARG!r} and also a budget, which the training function "
                f"receives as {BUDGET_ARG!r}; rename the hyperparameter"
            )
    size = 0
    for name, value in params.items():
        if not isinstance(name, str):
            return f"parameter name {name!r} is a {type(name).__name__}, not a str"
        if name == _REPORTER_ARG:
            return "it has a parameter named 'reporter', the name under which maggy passes the reporter"
        if isinstance(value, float) and not math.isfinite(value):
            return f"parameter {name!r} is {value!r}, not a finite number (JSON cannot carry NaN or infinity)"
        try:
            size += len(json.dumps(value, allow_nan=False))
        except ValueError as exc:  # NaN or infinity inside a list, or a reference cycle
            return f"parameter {name!r} = {_short(value)} cannot be sent to a worker ({exc})"
        except (TypeError, RecursionError) as exc:
            return (
                f"parameter {name!r} = {_short(value)} ({type(value).__name__}) cannot be sent to a worker "
                f"({type(exc).__name__}: {exc}); use str, int, float, bool, None or lists of them"
            )
        if size > MAX_PARAMS_BYTES:
            return (
                f"its params take over {MAX_PARAMS_BYTES} bytes as JSON (parameter {name!r} reached the "
                "limit); pass large data by a path or a dataset name instead"
            )
    return None


def plain_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with top-level numpy scalars as the Python values they hold."""
    return {name: plain_value(value) for name, value in params.items()}


def plain_value(value: Any) -> Any:
    """``value``, or the Python value a numpy scalar holds (``np.int64(3)`` -> ``3``)."""
    return value.item() if isinstance(value, np.generic) else value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class AbstractOptimizer(abc.ABC):
    """Base class for optimizers; subclass it and pass an instance as ``lagom(optimizer=...)``.

    Attributes available after ``setup``: ``searchspace``, ``num_trials``, ``direction`` ('max' or
    'min'), ``rng`` (a ``numpy.random.Generator``; use it for every random choice so a seed
    reproduces the run), ``trials`` (finished trials seen so far, in finish order).
    """

    searchspace: Searchspace
    num_trials: int
    direction: str
    rng: np.random.Generator

    #: False when ``suggest`` never depends on finished trials (random, grid, ablation): the driver
    #: may then draw a worker's next trial while its current one still runs and hand it over ahead,
    #: so short trials follow each other without a round trip to the driver. Keep True (the safe
    #: default) for anything that learns from results: a suggestion made ahead misses one result.
    #: A subclass of an optimizer that sets False, whose ``suggest`` reads results, sets it back.
    uses_results: bool = True

    #: True when ``suggest`` grants budgets (returns :class:`Suggestion` with ``budget`` set), as
    #: ASHA and Hyperband do: lagom then checks that the training function takes ``budget``,
    #: refuses a hyperparameter named ``budget`` (it would clash) and skips its default median
    #: early stopping (such an optimizer stops trials by its own rule).
    uses_budget: bool = False

    #: True when ``warm_start`` may be given trials whose params lack parameters the search space
    #: gained without a default (a resume or warm start across a changed space): such a trial
    #: says something about the parameters it has (TPE's kernels then stay wide on the others).
    #: False (the default): those trials are not passed; every trial has every parameter.
    learns_from_partial_trials: bool = False

    def setup(
        self, searchspace: Searchspace, num_trials: int, direction: str, rng: np.random.Generator
    ) -> None:
        self.searchspace = searchspace
        self.num_trials = num_trials
        self.direction = direction
        self.rng = rng
        self.trials: list[Trial] = []
        self.initialize()

    def initialize(self) -> None:  # noqa: B027 - optional hook
        """Hook run at the end of ``setup``; override to precompute (e.g. a grid)."""

    @abc.abstractmethod
    def suggest(self) -> dict[str, Any] | Suggestion | Decision:
        """Return the next params dict (or :class:`Suggestion`, to grant a budget), ``WAIT`` or ``FINISHED``."""

    def on_trial_finished(self, trial: Trial) -> None:
        """Called with each finished trial; the default records it in ``self.trials``."""
        self.trials.append(trial)

    def warm_start(self, trials: Sequence[Trial]) -> None:
        """Learn from earlier trials, once, after ``setup`` and before the first ``suggest``.

        ``trials``: terminal trials that ran before this run (a resumed experiment's own earlier
        trials, and those of the experiments named in ``lagom(warm_start=...)``), in the order they
        ran, with their params projected onto this search space
        (:meth:`maggy.searchspace.Searchspace.project`; trials outside it are not passed) and their
        ``budget`` as granted then. They were not suggested by this object. Those cut short
        (:func:`maggy.trial.was_cut_short`: LOST, or STOPPED when the experiment ended) are being
        run again by this run, with the same params and budget: count them as handed out; their
        result comes to ``on_trial_finished`` like any other.

        The default hands every other one to ``on_trial_finished``, which is right for an
        optimizer that learns from results alone; one that keeps its own bookkeeping of what it
        handed out (no repeats, grid points, rungs, pending trials) overrides this to rebuild it.
        ``planned_trials()`` is read after this call.
        """
        for trial in trials:
            if not was_cut_short(trial):
                self.on_trial_finished(trial)

    def planned_trials(self) -> int:
        """How many trials this optimizer will run; defaults to the ``num_trials`` asked for."""
        return self.num_trials

    @property
    def name(self) -> str:
        return type(self).__name__
