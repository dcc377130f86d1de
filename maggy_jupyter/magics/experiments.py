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
from types import ModuleType
from typing import Any

from IPython.core.error import UsageError

from maggy import experiments, render


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


def list_experiments(limit: int | None = 20) -> str:
    """A table of the newest experiments in the store, newest first; ``*`` marks this kernel's.

    ``limit`` None or 0 lists all. Experiments of this kernel that the store does not have (none,
    normally: they are registered before their workers start) are listed first.
    """
    mine = _kernel_entries(kernel_registry())
    if limit is not None and limit < 0:
        raise UsageError(f"%maggy list --limit N: N is how many to list (0: all), not {limit}")
    listing = experiments.list_experiments(limit or None)  # never creates a store
    columns = [c for c in render.LIST_COLUMNS if c != "TYPE"]
    rows = [
        ["*" if e.record.experiment_id in mine else "", *render.listing_row(e.record, e.summary, columns)]
        for e in listing.experiments
    ]
    stored = {e.record.experiment_id for e in listing.experiments}
    unstored = [
        [
            "*",
            e.experiment_id,
            render.clip(e.name, render.NAME_WIDTH),
            getattr(e, "status", "RUNNING"),
            "?",
            "-",
            "-",
        ]
        for e in mine.values()
    ]
    rows = [row for row in unstored if row[1] not in stored] + rows
    if not rows:
        return f"no experiments yet (store: {listing.path})"
    headers = ["", *columns]
    if not any(row[0] for row in rows):  # no mark to show: drop the column
        headers, rows = headers[1:], [row[1:] for row in rows]
    text = render.table(headers, rows)
    if len(headers) == 7:
        text += "\n* started in this kernel"
    if listing.more:
        text += f"\n(newest {limit} shown; %maggy list --limit 0 shows all)"
    return text


def show_experiment(experiment_id: str) -> str:
    """One experiment (``experiment_id`` or a unique prefix) as ``maggy experiments show`` shows it,
    less the JSON lines (searchspace, config, result): its fields, then a table of its trials."""
    try:
        found = experiments.get_experiment(experiment_id, with_history=False)
    except experiments.NoStore as exc:
        raise UsageError(f"no experiments yet (store: {exc.path})") from None
    except experiments.ExperimentNotFound as exc:
        raise UsageError(str(exc)) from None
    return render.experiment_text(found.record, found.trials, full=False)


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
    try:
        rec = experiments.get_experiment(experiment_id, with_history=False).record
    except experiments.NoStore:
        return f"no experiment {experiment_id!r} in this kernel, and no experiment store yet"
    except experiments.ExperimentNotFound as exc:
        return f"no experiment {experiment_id!r} in this kernel; in the store: {exc}"
    if rec.status == "RUNNING":
        return (
            f"experiment {rec.experiment_id} ({rec.name}) was not started in this kernel; "
            "stop it from the notebook or process that runs it"
        )
    return f"experiment {rec.experiment_id} ({rec.name}) is not running (status {rec.status})"
