"""Driver <-> worker messages: the schema table, ``validate`` and one constructor per op.

Every message is a JSON object with ``"v"`` (the protocol version, an int) and ``"op"`` (a str);
the other fields depend on the op and are listed in :data:`SCHEMAS`. Fields not in the schema are
ignored, so a later version may add optional fields without breaking this one; anything else
(a new op, a changed field) bumps :data:`PROTOCOL_VERSION`. See docs/protocol.md.

There is no handshake: each worker -> driver message names its ``worker_id``.

Constructors validate what they build, so a bad value fails in the sender's own traceback rather
than as a dropped connection on the other side. They copy sequence arguments into lists (a tuple
would be encoded the same, but a received message only ever holds lists, and ``validate`` checks
the wire form).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from maggy.rpc.framing import MalformedFrame

__all__ = [
    "DONE",
    "DRIVER_TO_WORKER",
    "ERR",
    "FINAL",
    "FINAL_STATUSES",
    "HB",
    "NEXT",
    "OK",
    "PROTOCOL_VERSION",
    "REG",
    "SCHEMAS",
    "STOP",
    "TRIAL",
    "WORKER_TO_DRIVER",
    "FieldType",
    "Message",
    "ProtocolError",
    "done",
    "err",
    "final",
    "hb",
    "next_trial",
    "ok",
    "reg",
    "stop",
    "trial",
    "trial_spec",
    "validate",
]

PROTOCOL_VERSION = 2

Message = dict[str, Any]

REG = "REG"
TRIAL = "TRIAL"
DONE = "DONE"
FINAL = "FINAL"
HB = "HB"
NEXT = "NEXT"
OK = "OK"
STOP = "STOP"
ERR = "ERR"

WORKER_TO_DRIVER = frozenset({REG, FINAL, HB, ERR})
"""Ops a driver accepts (the default of ``RpcServer``)."""
DRIVER_TO_WORKER = frozenset({TRIAL, NEXT, DONE, OK, STOP, ERR})
"""Ops a worker accepts as replies (the default of ``RpcClient``)."""

FINAL_STATUSES = ("ok", "error", "early_stopped", "stopped")


class ProtocolError(MalformedFrame):
    """An authentic, well-formed JSON object that is not a valid message: version, op or a field is wrong."""


@dataclass(frozen=True)
class FieldType:
    """A field's type: ``description`` is what error messages say it must be."""

    description: str
    check: Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # bool is an int subclass; True is no trial id


def _is_number(v: Any) -> bool:
    return _is_int(v) or (isinstance(v, float) and math.isfinite(v))


def _is_point(p: Any) -> bool:
    return isinstance(p, list) and len(p) == 2 and _is_number(p[0]) and (p[1] is None or _is_number(p[1]))


STR = FieldType("a str", lambda v: isinstance(v, str))
STR_OR_NULL = FieldType("a str or null", lambda v: v is None or isinstance(v, str))
INT = FieldType("an int", _is_int)
INT_OR_NULL = FieldType("an int or null", lambda v: v is None or _is_int(v))
NUMBER_OR_NULL = FieldType("a finite number or null", lambda v: v is None or _is_number(v))
OBJECT = FieldType("an object", lambda v: isinstance(v, dict))
STRS = FieldType("a list of str", lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v))
POINTS = FieldType(
    "a list of [step, value] pairs (step a finite number, value a finite number or null)",
    lambda v: isinstance(v, list) and all(_is_point(p) for p in v),
)


def _is_trial_spec(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and _is_int(v.get("trial_id"))
        and isinstance(v.get("params"), dict)
        and (v.get("budget") is None or _is_number(v.get("budget")))
    )


QUEUED_TRIAL = FieldType(
    "null or an object with trial_id (an int), params (an object) and budget (a finite number or null)",
    lambda v: v is None or _is_trial_spec(v),
)
STATUS = FieldType(f"one of {', '.join(FINAL_STATUSES)}", lambda v: v in FINAL_STATUSES)

SCHEMAS: Mapping[str, Mapping[str, FieldType]] = MappingProxyType(
    {
        REG: {"worker_id": STR, "host": STR, "pid": INT, "attempt": INT, "info": OBJECT},
        TRIAL: {"trial_id": INT, "params": OBJECT, "budget": NUMBER_OR_NULL, "next": QUEUED_TRIAL},
        NEXT: {"next": QUEUED_TRIAL},
        DONE: {},
        FINAL: {
            "worker_id": STR,
            "trial_id": INT,
            "status": STATUS,
            "metric": NUMBER_OR_NULL,
            "error": STR_OR_NULL,
            "points": POINTS,
            "logs": STRS,
        },
        HB: {"worker_id": STR, "trial_id": INT_OR_NULL, "points": POINTS, "logs": STRS},
        OK: {},
        STOP: {"trial_id": INT},
        ERR: {"reason": STR},
    }
)
"""Required fields of each op and their types (besides ``v`` and ``op``)."""


def _show(value: Any) -> str:
    # Keep peer-chosen strings short in error messages (they end up in logs).
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate(msg: Any, ops: Collection[str] | None = None) -> Message:
    """Check ``msg`` against :data:`SCHEMAS` and return it unchanged.

    ``ops`` restricts which ops are acceptable here (e.g. :data:`WORKER_TO_DRIVER` on the driver);
    ``None`` accepts every known op. Raises :class:`ProtocolError` naming the first problem:
    not an object, wrong or missing version, unknown or unexpected op, missing or wrong-typed field.
    """
    if not isinstance(msg, dict):
        raise ProtocolError(f"a message must be an object, not {type(msg).__name__}")
    version = msg.get("v")
    if not _is_int(version):
        raise ProtocolError("missing or non-integer protocol version 'v'")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"protocol version {_show(version)} is not supported (this side speaks {PROTOCOL_VERSION})"
        )
    op = msg.get("op")
    if not isinstance(op, str):
        raise ProtocolError("missing or non-string 'op'")
    schema = SCHEMAS.get(op)
    if schema is None:
        raise ProtocolError(f"unknown op {_show(op)}")
    if ops is not None and op not in ops:
        raise ProtocolError(f"op {op} is not accepted in this direction")
    for name, ftype in schema.items():
        if name not in msg:
            raise ProtocolError(f"{op} is missing field {name!r}")
        if not ftype.check(msg[name]):
            raise ProtocolError(f"{op}.{name} must be {ftype.description}, got {type(msg[name]).__name__}")
    return msg


def _make(op: str, **fields: Any) -> Message:
    return validate({"v": PROTOCOL_VERSION, "op": op, **fields})


def _points(points: Iterable[Any]) -> list[Any]:
    return [list(p) if isinstance(p, tuple) else p for p in points]


def reg(
    worker_id: str, host: str, pid: int, attempt: int = 0, info: Mapping[str, Any] | None = None
) -> Message:
    """Worker -> driver, first message on the control connection. Reply: TRIAL or DONE (or ERR).

    ``attempt`` counts restarts of the same worker slot (0 for the first start); ``info`` is free-form
    JSON about the worker (e.g. Spark partition id, GPUs).
    """
    return _make(REG, worker_id=worker_id, host=host, pid=pid, attempt=attempt, info=dict(info or {}))


def trial_spec(trial_id: int, params: Mapping[str, Any], budget: float | None = None) -> dict[str, Any]:
    """What a queued trial is on the wire (the ``next`` field of TRIAL and NEXT)."""
    return {"trial_id": trial_id, "params": dict(params), "budget": budget}


def trial(
    trial_id: int,
    params: Mapping[str, Any],
    budget: float | None = None,
    queued: Mapping[str, Any] | None = None,
) -> Message:
    """Driver -> worker: run ``params`` as trial ``trial_id`` (``budget``: e.g. epochs, for ASHA).

    ``queued`` (a :func:`trial_spec`, sent as ``next``) is the trial to start right after this one,
    without waiting for the reply to this one's FINAL.
    """
    return _make(
        TRIAL,
        trial_id=trial_id,
        params=dict(params),
        budget=budget,
        next=dict(queued) if queued is not None else None,
    )


def next_trial(queued: Mapping[str, Any] | None) -> Message:
    """Driver -> worker, the reply to a FINAL sent while the worker runs its queued trial.

    ``queued`` (a :func:`trial_spec`, sent as ``next``) is the trial to start after the running
    one; ``None``: send the running one's FINAL and wait for its reply (TRIAL or DONE).
    """
    return _make(NEXT, next=dict(queued) if queued is not None else None)


def done() -> Message:
    """Driver -> worker: no more trials; the worker closes its connections and exits."""
    return _make(DONE)


def final(
    worker_id: str,
    trial_id: int,
    status: str,
    metric: float | None = None,
    error: str | None = None,
    points: Iterable[Any] = (),
    logs: Iterable[str] = (),
) -> Message:
    """Worker -> driver on the control connection: the trial ended. Reply: the next TRIAL, or DONE;
    NEXT when the worker had a queued trial (it starts that one as soon as this FINAL is sent).

    ``points`` and ``logs`` are what no heartbeat has carried yet. ``error`` is the traceback text
    when ``status`` is ``"error"``. NaN is not allowed on the wire: pass ``None`` instead. The worker
    loop keeps the frame under the limit (``maggy.reporter``: output in budgeted pieces, the error
    clipped visibly); this constructor does not, and ``encode_frame`` refuses an oversized one.
    """
    return _make(
        FINAL,
        worker_id=worker_id,
        trial_id=trial_id,
        status=status,
        metric=metric,
        error=error,
        points=_points(points),
        logs=list(logs),
    )


def hb(worker_id: str, trial_id: int | None, points: Iterable[Any] = (), logs: Iterable[str] = ()) -> Message:
    """Worker -> driver on the heartbeat connection, every hb_interval. Reply: OK or STOP.

    ``trial_id`` is ``None`` while the worker is between trials (and in the empty first HB a worker
    sends as it connects); ``points``/``logs`` are new since the previous heartbeat.
    """
    return _make(HB, worker_id=worker_id, trial_id=trial_id, points=_points(points), logs=list(logs))


def ok() -> Message:
    """Driver -> worker: heartbeat received, carry on."""
    return _make(OK)


def stop(trial_id: int) -> Message:
    """Driver -> worker, as a heartbeat reply: stop trial ``trial_id`` early (ignored if it already ended)."""
    return _make(STOP, trial_id=trial_id)


def err(reason: str) -> Message:
    """Either direction: the request was refused (e.g. unknown worker); the receiver logs ``reason``."""
    return _make(ERR, reason=reason)
