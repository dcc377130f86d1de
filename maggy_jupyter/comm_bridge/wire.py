"""The `maggy` comm's message shapes (version 1): builders, JSON-safe conversion, request checks.

Everything that crosses the comm goes through :func:`message`, so every payload carries ``"v"``
and ``"type"`` and holds only strict JSON (jupyter_client refuses NaN and infinities, and would
raise inside the kernel's IOPub send rather than here). The spec is docs/protocol.md, section
"Kernel <-> frontend"; change both together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from maggy.core.failure import user_traceback

PROTOCOL_VERSION = 1
TARGET = "maggy"

#: Request types the frontend may send, with their required fields and the types those must have.
REQUESTS: dict[str, dict[str, type]] = {
    "list": {},
    "subscribe": {"experiment_id": str},
    "unsubscribe": {"experiment_id": str},
    "get_trial": {"experiment_id": str, "trial_id": int},
    "stop_trial": {"experiment_id": str, "trial_id": int},
    "stop_experiment": {"experiment_id": str},
    "analysis": {"experiment_id": str},
}

#: Trial fields sent for every trial (history and logs travel separately: they are the bulky part).
TRIAL_FIELDS = (
    "trial_id",
    "params",
    "state",
    "metric",
    "start",
    "end",
    "error",
    "worker",
    "retry_of",
    "budget",
)


class BadRequest(ValueError):
    """A request the bridge refuses; its message is sent back to the frontend as ``reason``."""


def message(kind: str, **fields: Any) -> dict[str, Any]:
    """A versioned, JSON-safe payload of type ``kind``."""
    return {"v": PROTOCOL_VERSION, "type": kind, **{k: json_safe(v) for k, v in fields.items()}}


def error(reason: str, request_id: Any = None) -> dict[str, Any]:
    return message("error", request_id=_request_id_or_none(request_id), reason=reason)


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON: non-finite floats become None, numpy scalars plain numbers,
    tuples lists, anything else unknown its ``repr`` (a param object must not break the stream)."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalar (numpy itself is not imported here)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return json_safe(item())
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value  # str-valued enums such as TrialState
    return repr(value)


def trial_fields(trial: Any) -> dict[str, Any]:
    """The small per-trial record (no history, no logs) from a :class:`maggy.trial.Trial`; its
    ``error`` without maggy's own worker frames (the user's code is what to read; the store keeps
    the whole traceback)."""
    out = {name: getattr(trial, name, None) for name in TRIAL_FIELDS}
    state = out["state"]
    out["state"] = getattr(state, "value", state)
    error = out.get("error")
    if isinstance(error, str):
        out["error"] = user_traceback(error)
    return json_safe(out)


def parse_request(data: Any) -> tuple[str, dict[str, Any]]:
    """Check one request; returns ``(type, data)`` or raises :class:`BadRequest` saying what is wrong."""
    if not isinstance(data, dict):
        raise BadRequest(f"a request must be a JSON object, got {type(data).__name__}")
    version = data.get("v")
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        raise BadRequest(f"unsupported protocol version {version!r}; this kernel speaks v{PROTOCOL_VERSION}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise BadRequest("a request needs a string 'type'")
    if kind not in REQUESTS:
        raise BadRequest(f"unknown request type {kind!r}; known: {', '.join(sorted(REQUESTS))}")
    for name, expected in REQUESTS[kind].items():
        value = data.get(name)
        # bool is an int subclass, but a trial id of `true` is a frontend bug worth reporting
        if not isinstance(value, expected) or isinstance(value, bool):
            raise BadRequest(f"{kind!r} needs {name!r} of type {expected.__name__}, got {value!r}")
    limit = data.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise BadRequest(f"'limit' must be a non-negative int, got {limit!r}")
    return kind, data


def _request_id_or_none(request_id: Any) -> Any:
    # echoed back only if it is something the frontend can match on
    return request_id if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None


def request_id_of(data: Any) -> Any:
    return _request_id_or_none(data.get("request_id")) if isinstance(data, dict) else None
