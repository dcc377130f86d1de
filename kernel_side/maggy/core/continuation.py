"""Experiments that continue: what a resumed experiment keeps and re-runs, and what warm-starts it.

``lagom(resume="ID")`` continues a stored experiment under the same id; ``lagom(warm_start=[...])``
seeds the optimizer with other experiments' results. Both are read here, before any worker starts
and before anything in the store changes, so a bad request raises and leaves the store as it was.

The rules of a resume (each is tested in ``tests/maggy/core/test_continuation.py``):

* Any ended experiment can be resumed: FAILED (its kernel died; opening the store closed it),
  STOPPED or FINISHED. A RUNNING one, whose driver is alive in another kernel, cannot.
* The direction and the experiment type must stay as they were; an ablation's study too.
* Every earlier trial is kept, with its id, history and logs. LOST trials (a dead worker or kernel)
  and trials cut short because the experiment ended (:func:`maggy.trial.was_cut_short`) are run
  again, as new trials that retry them (``retry_of``), with their params projected onto the new
  search space; a LOST trial that already has a retry is not, nor one outside the new space (a
  new suggestion takes its place).
* Earlier trials count towards ``num_trials``, as they did in the run that made them; the
  experiment runs until it has ``max(num_trials, its earlier num_trials)`` (``planned_trials`` of
  its optimizer) plus the re-runs.
* The search space may change: earlier trials are projected onto the new one
  (:meth:`maggy.searchspace.Searchspace.project`); those inside it feed the optimizer
  (:meth:`maggy.optimizer.AbstractOptimizer.warm_start`), those outside are kept and shown only.
  A trial that lacks a parameter the space gained without a default is inside it, as a partial
  point, for an optimizer whose ``learns_from_partial_trials`` is True (TPE), outside for the others.

Warm start: the ended trials of the experiments named, projected the same way, feed the
optimizer; they are not copied into the new experiment, not re-run and not counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from maggy.core.validation import check_initial_configs_fit
from maggy.optimizer import AbstractOptimizer, get_optimizer
from maggy.searchspace import Searchspace
from maggy.store import ExperimentNotFound, ExperimentRecord, ExperimentStatus, ExperimentStore
from maggy.trial import HISTORY_LIMIT, Trial, TrialState, was_cut_short


@dataclass(frozen=True)
class Earlier:
    """What a resumed experiment brings from its earlier runs.

    ``record``: the stored experiment as read. ``trials``: every earlier trial (terminal, ids as
    stored, history thinned to :data:`~maggy.trial.HISTORY_LIMIT` points, no logs: the store keeps
    them). ``reruns``: PENDING trials to run first, each retrying a LOST or cut-short one.
    ``counted``: earlier trials that count towards ``num_trials`` (those the optimizer suggested,
    not retries; less the cut-short ones outside the new space, whose places new suggestions
    take). ``target``: the ``num_trials`` the experiment asked for last time.
    """

    record: ExperimentRecord
    trials: list[Trial]
    reruns: list[Trial]
    counted: int
    target: int

    @property
    def next_id(self) -> int:
        """The first trial id this run may use."""
        ids = [t.trial_id for t in (*self.trials, *self.reruns)]
        return max(ids) + 1 if ids else 0

    def learned_from(self) -> list[Trial]:
        """The earlier trials the optimizer hears of (``warm_start``): every one but those a retry
        replaced and those cut short that are not run again (outside the new space). The cut-short
        ones among them are those this run runs again: an optimizer counts them as handed out, and
        hears of their result from the re-run."""
        replaced = {t.retry_of for t in self.trials if t.retry_of is not None}
        rerun = {t.retry_of for t in self.reruns}
        return [
            t
            for t in self.trials
            if t.trial_id not in replaced and (t.trial_id in rerun or not was_cut_short(t))
        ]


@dataclass(frozen=True)
class Continued:
    """An optimizer set up for a run that may continue earlier work (see :func:`set_up`)."""

    earlier: Earlier | None  # a resume: the experiment's earlier trials and re-runs
    warm_ids: tuple[str, ...]  # full ids of the warm-start experiments
    num_trials: int  # what the optimizer was set up with (a resume: at least the earlier target)
    planned: int  # the optimizer's planned_trials(), earlier counted trials included

    @property
    def counted(self) -> int:
        """Earlier trials that count towards ``planned``."""
        return 0 if self.earlier is None else self.earlier.counted


def set_up(
    optimizer: AbstractOptimizer,
    space: Searchspace,
    *,
    direction: str,
    experiment_type: str,
    num_trials: int,
    rng: np.random.Generator,
    store: ExperimentStore | None,
    resumed: ExperimentRecord | None = None,
    warm_start: Sequence[str] = (),
    initial_configs: Sequence[Mapping[str, Any]] = (),
) -> Continued:
    """Set ``optimizer`` up for a run (``lagom`` or a ``Study``): check ``initial_configs`` against
    ``space``, read the resumed experiment's and the warm-start experiments' trials from ``store``
    (:func:`load_earlier`, :func:`load_warm_start`), ``setup`` the optimizer and teach it the
    earlier trials inside ``space`` (``warm_start``). Raises ValueError/ExperimentNotFound, saying
    what to change, before anything is written.
    """
    if initial_configs:
        if optimizer.uses_budget:
            raise ValueError(
                f"initial_configs cannot be used with {optimizer.name}, which grants each trial's budget by "
                "its rungs; run them in an experiment of their own and pass it as warm_start=[ID]"
            )
        check_initial_configs_fit(initial_configs, space)
    earlier = None
    if resumed is not None and store is not None:
        earlier = load_earlier(store, resumed, direction, experiment_type, space)
    warm_ids: list[str] = []
    warm: list[Trial] = []
    if warm_start and store is not None:
        exclude = None if earlier is None else earlier.record.experiment_id
        warm_ids, warm = load_warm_start(store, warm_start, direction, exclude)
    target = num_trials if earlier is None else max(num_trials, earlier.target)
    optimizer.setup(space, target, direction, rng)
    learned = projected(
        [*(earlier.learned_from() if earlier else []), *warm], space, optimizer.learns_from_partial_trials
    )
    if learned:
        optimizer.warm_start(learned)
    continued = Continued(earlier, tuple(warm_ids), target, optimizer.planned_trials())
    left = max(continued.planned - continued.counted, 0)
    if len(initial_configs) > left:
        raise ValueError(
            f"initial_configs has {len(initial_configs)} configurations, more than the {left} trials left "
            "to run; raise num_trials or pass fewer"
        )
    return continued


def stored_optimizer(record: ExperimentRecord) -> str:
    """The built-in optimizer a resumed experiment ran with, by name (the default of a resume);
    ValueError when it was a custom one, which must be passed again."""
    try:
        get_optimizer(record.optimizer)
    except ValueError:
        raise ValueError(
            f"resume: experiment {record.experiment_id} ran with the optimizer {record.optimizer!r}, "
            "which is not built in; pass it again as optimizer=..."
        ) from None
    return record.optimizer


def load_earlier(
    store: ExperimentStore,
    record: ExperimentRecord,
    direction: str,
    experiment_type: str,
    searchspace: Searchspace,
) -> Earlier:
    """Read the trials of ``record`` (from :func:`find_experiment`) for a resume, checking it may be
    resumed with this direction, type and search space.

    Raises ValueError, saying what to change, for a running experiment, another direction or
    experiment type, or an ablation whose study changed. Writes nothing.
    """
    eid = record.experiment_id
    ref = eid
    if record.status == ExperimentStatus.RUNNING.value:
        driver = record.config.get("driver") or {}
        where = f" (driver pid {driver.get('pid')} on {driver.get('host')})" if driver else ""
        raise ValueError(
            f"resume={ref!r}: experiment {eid} is still running{where}; stop it there (its stop button, "
            "or interrupt its kernel) or wait for it to end, then resume it"
        )
    if record.direction != direction:
        raise ValueError(
            f"resume={ref!r}: experiment {eid} ran with direction={record.direction!r}; a resumed "
            f"experiment keeps its direction: pass direction={record.direction!r}, or start a new "
            f"experiment (warm_start=[{eid!r}] cannot help either, its metric points the other way)"
        )
    if record.experiment_type != experiment_type:
        raise ValueError(
            f"resume={ref!r}: experiment {eid} is an {record.experiment_type} experiment, not an "
            f"{experiment_type}; pass experiment_type={record.experiment_type!r}"
        )
    if experiment_type == "ablation" and Searchspace(**(record.searchspace or {})) != searchspace:
        raise ValueError(
            f"resume={ref!r}: the ablation study differs from the one experiment {eid} ran "
            f"({_choices(record.searchspace)} then, {_choices(searchspace.to_dict())} now); an "
            "ablation resumes with the same study: undo the change, or start a new experiment"
        )
    histories = store.get_histories(eid, HISTORY_LIMIT)  # bounded: the stored curves may be long
    trials = [
        _as_earlier(t, histories.get(t.trial_id, [])) for t in store.get_trials(eid, with_history=False)
    ]
    retried = {t.retry_of for t in trials if t.retry_of is not None}
    reruns: list[Trial] = []
    dropped = 0  # cut short, but outside the new space: a new suggestion takes each one's place
    next_id = max((t.trial_id for t in trials), default=-1) + 1
    for trial in trials:
        if was_cut_short(trial) and trial.trial_id not in retried:
            point = searchspace.project(trial.params)  # run again as a point of the space it runs in
            if point is None:
                dropped += 1
                continue
            reruns.append(Trial(trial_id=next_id, params=point, budget=trial.budget, retry_of=trial.trial_id))
            next_id += 1
    target = record.config.get("num_trials_asked", record.num_trials)
    return Earlier(
        record=record,
        trials=trials,
        reruns=reruns,
        counted=sum(t.retry_of is None for t in trials) - dropped,
        target=target if isinstance(target, int) else record.num_trials,
    )


def load_warm_start(
    store: ExperimentStore, refs: Sequence[str], direction: str, exclude: str | None = None
) -> tuple[list[str], list[Trial]]:
    """The ids of the experiments ``refs`` name and their ended trials, in id order per experiment.

    ``exclude``: an experiment id the warm start may not name (the one being resumed: its trials
    are already in). Raises ExperimentNotFound or ValueError (another direction) before anything
    is written.
    """
    ids: list[str] = []
    trials: list[Trial] = []
    for ref in refs:
        record = find_experiment(store, ref, "warm_start")
        eid = record.experiment_id
        if record.direction != direction:
            raise ValueError(
                f"warm_start: experiment {eid} ran with direction={record.direction!r}, this one with "
                f"{direction!r}; its results would teach the optimizer the opposite: leave it out"
            )
        if eid == exclude:
            raise ValueError(
                f"warm_start: experiment {eid} is the one being resumed; its trials are used already, leave it out"
            )
        if eid in ids:
            continue
        ids.append(eid)
        trials += [
            replace(t, history=[], logs=[])
            for t in store.get_trials(eid, with_history=False)
            if t.state.is_terminal and not was_cut_short(t)
        ]
    return ids, trials


def projected(trials: Sequence[Trial], searchspace: Searchspace, partial: bool = False) -> list[Trial]:
    """Copies of ``trials`` whose params lie in ``searchspace`` (see ``Searchspace.project``,
    and its ``partial``), with those params projected onto it; the others are left out (kept and
    shown, never learned from)."""
    inside = []
    for trial in trials:
        point = searchspace.project(trial.params, partial)
        if point is not None:
            inside.append(replace(trial, params=point))
    return inside


def find_experiment(store: ExperimentStore, ref: Any, argument: str) -> ExperimentRecord:
    """The experiment ``ref`` (an id or unique prefix) names, for the option ``argument``.

    Raises ValueError for a ``ref`` that is not a non-empty str and
    :class:`~maggy.store.ExperimentNotFound` (whose message suggests close ids) for an unknown or
    ambiguous one, both naming ``argument``.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(f"{argument}: expected an experiment id (or a unique prefix of one), got {ref!r}")
    try:
        return store.get_experiment(ref.strip())
    except ExperimentNotFound as exc:
        raise ExperimentNotFound(f"{argument}={ref!r}: {exc}") from None


def _as_earlier(trial: Trial, history: list[list[float]]) -> Trial:
    """A stored trial (read without history and logs: the store keeps them) as the driver keeps
    it, with ``history`` (bounded) and never PENDING or RUNNING (an experiment that is not
    RUNNING has none; a store written by hand might)."""
    state = trial.state if trial.state.is_terminal else TrialState.LOST
    return replace(trial, history=history, logs=[], state=state)


def _choices(space: dict[str, Any] | None) -> str:
    """An ablation's components, as its searchspace holds them (one CATEGORICAL of labels)."""
    values = [v for spec in (space or {}).values() for v in (spec[1] if len(spec) > 1 else [])]
    return ", ".join(map(str, values)) or "nothing"
