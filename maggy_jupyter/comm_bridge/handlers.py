"""Handlers for the frontend's requests on the `maggy` comm, in a table keyed by request type.

Each handler gets the bridge, the comm the request came on and the checked request, and returns
the reply (the bridge adds ``request_id`` and sends it) or sends it itself with :func:`_reply`
when the reply must be ordered against the experiment's batches (snapshots). Handlers raise
:class:`wire.BadRequest` for anything the frontend asked wrongly; the bridge turns every exception
into an ``error`` reply.

Stop requests only call ``handle.stop_trial`` / ``handle.stop_experiment``, which are thread-safe:
they may run on a subshell thread or in the blocking-cell pump while the driver works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from maggy.core.result import best_trial
from maggy.core.summary import ExperimentSummary, first_failed
from maggy.trial import Trial, thin_points
from maggy_jupyter.comm_bridge import wire
from maggy_jupyter.comm_bridge.stream import HISTORY_LIMIT, ExperimentStream, summary_fields

if TYPE_CHECKING:
    from maggy_jupyter.comm_bridge.bridge import Bridge

log = logging.getLogger("maggy")

#: Stored experiments listed when the request gives no ``limit``.
DEFAULT_LIST_LIMIT = 50

Handler = Callable[["Bridge", Any, dict[str, Any]], "dict[str, Any] | None"]


def list_experiments(bridge: Bridge, comm: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Running experiments of this kernel first (newest first), then the store's history; each
    summary's ``kernel`` says whether the experiment ran in this kernel (so a reloaded page's
    status bar still finds the notebook's finished experiment)."""
    limit = data.get("limit", DEFAULT_LIST_LIMIT)
    with bridge.locked():
        live = [stream.summary() for stream in bridge.streams.values()]
    seen = {s["experiment_id"] for s in live}
    for handle in _registry_handles(running_only=True):
        if handle.experiment_id not in seen:
            live.append(_handle_summary(handle))
            seen.add(handle.experiment_id)
    live.sort(key=lambda s: s.get("start") or 0, reverse=True)
    stored: list[dict[str, Any]] = []
    try:
        with _open_store(bridge) as store:
            records = store.list_experiments(limit=limit)
            for record in records:
                if record.experiment_id not in seen:
                    # A failed experiment's first error needs its trials (without their histories).
                    failed = record.status == "FAILED"
                    trials = store.get_trials(record.experiment_id, with_history=False) if failed else None
                    stored.append(_stored_summary(record, trials))
    except Exception as exc:
        # a broken or locked store must not hide the running experiments
        log.warning("maggy: could not read the experiment store for the Experiments panel: %s", exc)
        return wire.message("experiments", experiments=_mark_ours(live), store_error=str(exc))
    return wire.message("experiments", experiments=_mark_ours(live + stored))


def _mark_ours(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set each summary's ``kernel``: true for the experiments this kernel ran (running, or among
    the registry's recent ones)."""
    ours = {handle.experiment_id for handle in _registry_handles()}
    for summary in summaries:
        summary["kernel"] = bool(summary.get("live")) or summary["experiment_id"] in ours
    return summaries


def subscribe(bridge: Bridge, comm: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """Snapshot of one experiment; for a running one, its batches follow on this comm."""
    with bridge.locked():
        stream = _live_stream(bridge, data["experiment_id"])
        if stream is not None:
            bridge.settle(stream)
            bridge.subscribe(comm, stream)
            _reply(bridge, comm, data, stream.snapshot())
            return None
    with _open_store(bridge) as store:
        record = _stored_record(store, data["experiment_id"])
        trials = store.get_trials(record.experiment_id)
    rows = [{**wire.trial_fields(t), "history": _thinned(t.history), "num_logs": len(t.logs)} for t in trials]
    return wire.message("experiment", experiment=_stored_summary(record, trials), trials=rows, seq=0)


def unsubscribe(bridge: Bridge, comm: Any, data: dict[str, Any]) -> dict[str, Any]:
    with bridge.locked():
        bridge.unsubscribe(comm, data["experiment_id"])
    return wire.message("ack", ok=True)


def get_trial(bridge: Bridge, comm: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """One trial's full history and logs (for a running experiment: as of the batch ``seq``)."""
    trial_id = data["trial_id"]
    with bridge.locked():
        stream = _live_stream(bridge, data["experiment_id"])
        if stream is not None:
            bridge.settle(stream)
            reply = stream.trial_message(trial_id)
            if reply is None:
                raise wire.BadRequest(f"experiment {stream.experiment_id} has no trial {trial_id} yet")
            _reply(bridge, comm, data, reply)
            return None
    with _open_store(bridge) as store:
        record = _stored_record(store, data["experiment_id"])
        found = [t for t in store.get_trials(record.experiment_id) if t.trial_id == trial_id]
    if not found:
        raise wire.BadRequest(f"experiment {record.experiment_id} has no trial {trial_id}")
    trial = found[0]
    payload = {**wire.trial_fields(trial), "history": _thinned(trial.history), "logs": trial.logs}
    return wire.message("trial", experiment_id=record.experiment_id, trial=payload, seq=0)


def stop_trial(bridge: Bridge, comm: Any, data: dict[str, Any]) -> dict[str, Any]:
    handle = _live_handle(bridge, data["experiment_id"])
    trial_id = data["trial_id"]
    stopped = bool(handle.stop_trial(trial_id))
    detail = "stop requested" if stopped else f"trial {trial_id} is not running"
    return wire.message("ack", ok=stopped, detail=detail)


def stop_experiment(bridge: Bridge, comm: Any, data: dict[str, Any]) -> dict[str, Any]:
    handle = _live_handle(bridge, data["experiment_id"])
    handle.stop_experiment()
    return wire.message("ack", ok=True, detail="stop requested")


def analysis(bridge: Bridge, comm: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``maggy.visualization.analysis_payload`` of one experiment, for the panel's analysis tab.

    A running experiment's trials are its handle's copies (``handle.trials()``, thread-safe; they
    may be a few events ahead of the batches, which an analysis does not mind); a stored one's are
    read without their histories. Computed with no lock held: the importance alone takes
    0.1-0.5 s at thousands of trials, and the batches of every experiment must keep flowing.
    Subscribes to nothing: the panel asks again when batches say trials ended.
    """
    from maggy.visualization import analysis_payload

    id_or_prefix = data["experiment_id"]
    with bridge.locked():
        stream = _live_stream(bridge, id_or_prefix)
        handle = None if stream is None else stream.handle
    if handle is None:
        handle = _registry_get(id_or_prefix)
    if handle is not None:
        experiment_id, direction, space = handle.experiment_id, handle.direction, handle.searchspace
        trials, live, status = handle.trials(), True, "RUNNING"
    else:
        with _open_store(bridge) as store:
            record = _stored_record(store, id_or_prefix)
            trials = store.get_trials(record.experiment_id, with_history=False)
        experiment_id, direction, space = record.experiment_id, record.direction, record.searchspace
        live, status = False, record.status
    payload = analysis_payload(trials, direction, space)
    return wire.message("analysis", experiment_id=experiment_id, live=live, status=status, analysis=payload)


HANDLERS: dict[str, Handler] = {
    "list": list_experiments,
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "get_trial": get_trial,
    "stop_trial": stop_trial,
    "stop_experiment": stop_experiment,
    "analysis": analysis,
}
assert set(HANDLERS) == set(wire.REQUESTS), "every request type in wire.REQUESTS needs a handler"


# ---- helpers -------------------------------------------------------------------------------------


def _reply(bridge: Bridge, comm: Any, request: dict[str, Any], msg: dict[str, Any]) -> None:
    msg["request_id"] = wire.request_id_of(request)
    bridge.send(comm, msg)


def _live_stream(bridge: Bridge, id_or_prefix: str) -> ExperimentStream | None:
    """(lock held) The streamed experiment with this id, or with this unique id prefix."""
    if id_or_prefix in bridge.streams:
        return bridge.streams[id_or_prefix]
    matches = [s for eid, s in bridge.streams.items() if eid.startswith(id_or_prefix)]
    return matches[0] if len(matches) == 1 else None


def _live_handle(bridge: Bridge, id_or_prefix: str) -> Any:
    with bridge.locked():
        stream = _live_stream(bridge, id_or_prefix)
        if stream is not None:
            return stream.handle
    handle = _registry_get(id_or_prefix)
    if handle is None:
        raise wire.BadRequest(f"experiment {id_or_prefix!r} is not running in this kernel")
    return handle


def _open_store(bridge: Bridge) -> Any:
    if bridge.store_opener is not None:
        return bridge.store_opener()
    from maggy.experiments import open_store

    return open_store()  # writable: closes experiments left RUNNING by a killed kernel (FAILED)


def _stored_record(store: Any, id_or_prefix: str) -> Any:
    from maggy.experiments import ExperimentNotFound

    try:
        record = store.get_experiment(id_or_prefix)
    except ExperimentNotFound as exc:
        raise wire.BadRequest(str(exc)) from None
    return record


def _thinned(history: list[Any]) -> list[Any]:
    """A stored trial's history as a live snapshot sends it: at most about ``HISTORY_LIMIT``
    points, thinned evenly over the steps, the first and latest kept (a stored curve may hold
    millions of points; the chart draws no more, and the whole curve stays in the store)."""
    return thin_points(history, HISTORY_LIMIT)


def _stored_summary(record: Any, trials: Sequence[Trial] | None = None) -> dict[str, Any]:
    """The *summary* of a stored experiment: its result's counts and best (which
    ``maggy.core.result.best_trial`` chose), and, given its ``trials``, the first error of a
    FAILED one (``first_error`` stays null without them)."""
    result = record.result or {}
    best = None
    if result.get("best_id") is not None:
        best = {"trial_id": result["best_id"], "metric": result.get("best_val")}
    elif trials is not None:  # no result (a killed kernel's experiment): the same rule on its trials
        found = best_trial(trials, record.direction)
        best = None if found is None else {"trial_id": found.trial_id, "metric": found.metric}
    failure = result.get("failure") or ("the experiment failed" if record.status == "FAILED" else None)
    first = first_failed(trials) if failure is not None and trials is not None else None
    return wire.json_safe(
        {
            "experiment_id": record.experiment_id,
            "name": record.name,
            "status": record.status,
            "direction": record.direction,
            "num_trials": record.num_trials,
            "start": record.start,
            "end": record.end,
            "live": False,
            "done": result.get("num_trials"),
            "running": None,
            "best": best,
            "failure": failure,
            "warning": None,
            "first_error": None if first is None else {"trial_id": first.trial_id, "text": first.text},
        }
    )


def _handle_summary(handle: Any) -> dict[str, Any]:
    """Summary of a running experiment the bridge does not stream (found through the registry)."""
    progress = ExperimentSummary.from_handle(handle)
    return summary_fields(progress, num_trials=handle.num_trials, start=progress.began(), end=None)


def _registry_handles(running_only: bool = False) -> list[Any]:
    """Handles from ``maggy_jupyter.registry`` (its entries wrap the handle): this kernel's
    running experiments, or with ``running_only`` False every one it remembers, running or
    recently finished. For running ones the bridge streams them all anyway, so this only covers
    a failed attach."""
    try:
        from maggy_jupyter import registry

        entries = registry.running() if running_only else registry.recent()
        return [entry.handle for entry in entries]
    except Exception:
        log.debug("maggy: the experiment registry is not available", exc_info=True)
        return []


def _registry_get(id_or_prefix: str) -> Any:
    """The running experiment's handle from the registry, or None (unknown, ambiguous, finished)."""
    try:
        from maggy_jupyter import registry

        entry = registry.get(id_or_prefix)
    except Exception:
        return None
    return entry.handle if getattr(entry, "running", False) else None
