"""``%maggy list | show | stop``: the experiments of this kernel and of the experiment store, as text.

The store (``maggy.store``) has every experiment, of every process, that used it; the kernel's
registry (``maggy_jupyter.registry``: ``running()``, ``recent()``, ``get(id_or_prefix)``) has entries
(``experiment_id``, ``name``, ``handle``) for the experiments started in this kernel, which are the only ones that can be stopped from
here. The registry is looked up on each call, so this works (without marking or stopping) before it
exists and picks it up once it does.

Each function returns the text to print; user mistakes raise ``UsageError``.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from IPython.core.error import UsageError

from maggy.cli import progress_text
from maggy.core.recovery import close_abandoned
from maggy.store import ExperimentNotFound, ExperimentRecord, default_store_path, open_store
from maggy.trial import Trial, TrialState


def kernel_registry() -> ModuleType | None:
    """The registry module of this kernel's experiments, or None where it is not installed."""
    try:
        # import_module (not `from maggy_jupyter import registry`) so tests can swap sys.modules' entry.
        return importlib.import_module("maggy_jupyter.registry")
    except ImportError:
        return None


def _kernel_entries(registry: ModuleType | None) -> dict[str, Any]:
    """This kernel's experiments by id (registry entries: ``experiment_id``, ``name``, ...)."""
    if registry is None:
        return {}
    return {e.experiment_id: e for e in [*registry.recent(), *registry.running()]}


def _fmt_num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _fmt_time(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def _best(trials: Sequence[Trial], direction: str) -> Trial | None:
    done = [t for t in trials if t.state is TrialState.FINISHED and t.metric is not None]
    if not done:
        return None
    pick = min if direction == "min" else max
    return pick(done, key=lambda t: t.metric or 0.0)


def _params(params: dict[str, Any], width: int | None = 60) -> str:
    text = ", ".join(f"{k}={_fmt_num(v) if isinstance(v, float) else v}" for k, v in params.items())
    return text if width is None else _clip(text, width)


def list_experiments(limit: int | None = 20) -> str:
    """A table of the newest experiments in the store, newest first; ``*`` marks this kernel's.

    ``limit`` None or 0 lists all. Experiments of this kernel that the store does not have (none,
    normally: they are registered before their workers start) are listed first.
    """
    mine = _kernel_entries(kernel_registry())
    path = default_store_path()
    records: list[ExperimentRecord] = []
    rows = []
    more = False
    if path.exists():  # reading must not create an empty store
        with open_store(path) as store:
            records = store.list_experiments(limit + 1 if limit else None)
            more = limit is not None and 0 < limit < len(records)
            close_abandoned(store, records[: limit or None])  # left RUNNING by a killed kernel
            for rec in records[: limit or None]:
                summary = store.trial_summary(rec.experiment_id, rec.direction)  # no histories read
                best = summary.best_metric
                rows.append(
                    [
                        "*" if rec.experiment_id in mine else "",
                        rec.experiment_id,
                        _clip(rec.name, 24),
                        rec.status,
                        progress_text(rec, summary.done, summary.total),
                        "-" if best is None else f"{_fmt_num(best)} ({rec.direction})",
                        _fmt_time(rec.start),
                    ]
                )
    stored = {rec.experiment_id for rec in records}
    unstored = [
        ["*", e.experiment_id, _clip(e.name, 24), getattr(e, "status", "RUNNING"), "?", "-", "-"]
        for e in mine.values()
    ]
    rows = [row for row in unstored if row[1] not in stored] + rows
    if not rows:
        return f"no experiments yet (store: {path})"
    headers = ["", "ID", "NAME", "STATUS", "TRIALS", "BEST", "STARTED"]
    if not any(row[0] for row in rows):  # no mark to show: drop the column
        headers, rows = headers[1:], [row[1:] for row in rows]
    text = _table(headers, rows)
    if len(headers) == 7:
        text += "\n* started in this kernel"
    if more:
        text += f"\n(newest {limit} shown; %maggy list --limit 0 shows all)"
    return text


def show_experiment(experiment_id: str) -> str:
    """One experiment (``experiment_id`` or a unique prefix): its record, then a table of its trials."""
    path = default_store_path()
    if not path.exists():
        raise UsageError(f"no experiments yet (store: {path})")
    try:
        with open_store(path) as store:
            rec = store.get_experiment(experiment_id)
            close_abandoned(store, [rec])
            trials = store.get_trials(rec.experiment_id)
    except ExperimentNotFound as exc:
        raise UsageError(str(exc)) from None
    best = _best(trials, rec.direction)
    fields = [
        ("experiment", rec.experiment_id),
        ("name", rec.name),
        ("description", rec.description),
        ("status", rec.status),
        ("optimizer", f"{rec.optimizer} ({rec.direction})"),
        ("trials", f"{sum(t.state.is_terminal for t in trials)}/{max(rec.num_trials, len(trials))} done"),
        (
            "best",
            None
            if best is None
            else f"{_fmt_num(best.metric)} (trial {best.trial_id}: {_params(best.params, None)})",
        ),
        ("started", _fmt_time(rec.start)),
        ("ended", None if rec.end is None else _fmt_time(rec.end)),
    ]
    shown = [(k, v) for k, v in fields if v]
    width = max(len(k) for k, _ in shown)
    text = "\n".join(f"{k.ljust(width)}  {v}" for k, v in shown)
    if trials:
        rows = [
            [
                str(t.trial_id),
                t.state.value,
                _fmt_num(t.metric),
                "-" if t.duration is None else f"{t.duration:.1f}s",
                t.worker or "-",
                _params(t.params),
            ]
            for t in trials
        ]
        text += "\n\n" + _table(["TRIAL", "STATE", "METRIC", "DURATION", "WORKER", "PARAMS"], rows)
    return text


def stop_experiment(experiment_id: str | None) -> str:
    """Stop a running experiment of this kernel (the only one, when ``experiment_id`` is None).

    Registry entries carry the ``ExperimentHandle`` as ``.handle`` (or are handles themselves);
    ``handle.stop_experiment()`` starts no new trial and asks the running ones to stop.
    """
    registry = kernel_registry()
    if registry is None:
        return "cannot stop from here: this installation has no experiment registry (maggy_jupyter.registry)"
    running = {e.experiment_id: e for e in registry.running()}
    if experiment_id is None:
        if len(running) != 1:
            listed = ", ".join(f"{i} ({e.name})" for i, e in running.items())
            return (
                f"{len(running)} experiments are running in this kernel: {listed}; say which: %maggy stop ID"
                if running
                else "no experiment is running in this kernel"
            )
        entry = next(iter(running.values()))
    else:
        try:
            entry = registry.get(experiment_id)
        except LookupError:
            entry = None
        if entry is None or entry.experiment_id not in running:
            return _not_running(experiment_id, entry)
    getattr(entry, "handle", entry).stop_experiment()
    return (
        f"stopping experiment {entry.experiment_id} ({entry.name}): no new trials start, "
        "running trials are asked to stop"
    )


def _not_running(experiment_id: str, entry: Any) -> str:
    if entry is not None:
        return f"experiment {entry.experiment_id} ({entry.name}) is not running any more"
    path = default_store_path()
    if not path.exists():
        return f"no experiment {experiment_id!r} in this kernel, and no experiment store yet"
    try:
        with open_store(path) as store:
            rec = store.get_experiment(experiment_id)
    except ExperimentNotFound as exc:
        return f"no experiment {experiment_id!r} in this kernel; in the store: {exc}"
    if rec.status == "RUNNING":
        return (
            f"experiment {rec.experiment_id} ({rec.name}) was not started in this kernel; "
            "stop it from the notebook or process that runs it"
        )
    return f"experiment {rec.experiment_id} ({rec.name}) is not running (status {rec.status})"
