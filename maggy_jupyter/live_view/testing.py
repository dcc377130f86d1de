"""A recording comm for widget tests and the benchmark: every widget message, no browser.

``recording_comms()`` swaps ``comm.create_comm`` (which ipywidgets 8 calls, through
``ipywidgets.comm``, for every widget it opens) for a factory of ``RecordingComm``, the way
ipywidgets' own tests do, and restores it afterwards. ``RecordingComm.receive`` delivers a
message as the browser would (e.g. a button click).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_ids = itertools.count()


@dataclass
class Sent:
    comm_id: str
    kind: str  # "open" or "msg"
    data: dict[str, Any]
    buffers: list[Any]

    @property
    def nbytes(self) -> int:
        """JSON text plus binary buffers: what the kernel would put on the wire (near enough)."""
        return len(json.dumps(self.data, default=str)) + sum(memoryview(b).nbytes for b in self.buffers)


@dataclass
class Recorder:
    """Every message of every comm opened while recording, in order.

    With ``keep=False`` only the counts are kept (a benchmark must not hold every buffer sent).
    """

    keep: bool = True
    sent: list[Sent] = field(default_factory=list)
    comms: dict[str, RecordingComm] = field(default_factory=dict)
    messages: int = 0
    nbytes: int = 0

    def record(self, sent: Sent) -> None:
        self.messages += 1
        self.nbytes += sent.nbytes
        if self.keep:
            self.sent.append(sent)

    def updates(self, comm_id: str) -> list[dict[str, Any]]:
        """The state dicts of the ``update`` messages sent to one widget."""
        return [
            s.data["state"]
            for s in self.sent
            if s.comm_id == comm_id and s.kind == "msg" and s.data.get("method") == "update"
        ]

    def clear(self) -> None:
        self.sent.clear()
        self.messages = self.nbytes = 0


class RecordingComm:
    """Quacks like ``comm.base_comm.BaseComm`` for ipywidgets' ``Widget``."""

    kernel = "recording"  # ipywidgets sends only when a comm has a (truthy) kernel

    def __init__(self, recorder: Recorder, data: Any = None, buffers: Any = None, **kwargs: Any) -> None:
        self.comm_id = kwargs.get("comm_id") or f"rec-{next(_ids)}"
        self.recorder = recorder
        self.handler: Any = None
        self.closed = False
        recorder.comms[self.comm_id] = self
        recorder.record(Sent(self.comm_id, "open", dict(data or {}), list(buffers or [])))

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, callback: Any) -> None:
        self.handler = callback

    def on_close(self, callback: Any) -> None:
        pass

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.recorder.record(Sent(self.comm_id, "msg", dict(data or {}), list(buffers or [])))

    def close(self, *args: Any, **kwargs: Any) -> None:
        self.closed = True

    def receive(self, data: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """Deliver a message from the "browser" to the widget (as the kernel's comm handler would)."""
        self.handler({"content": {"comm_id": self.comm_id, "data": data}, "buffers": buffers or []})


@contextlib.contextmanager
def recording_comms(keep: bool = True) -> Iterator[Recorder]:
    """Record the comms of every widget created inside; widgets created here are closed on exit."""
    import comm
    from ipywidgets.widgets import widget as widget_module

    recorder = Recorder(keep=keep)
    before = set(widget_module._instances)
    original = comm.create_comm
    comm.create_comm = lambda *args, **kwargs: RecordingComm(recorder, *args, **kwargs)  # type: ignore[assignment]
    try:
        yield recorder
    finally:
        comm.create_comm = original
        for model_id in set(widget_module._instances) - before:
            widget = widget_module._instances.get(model_id)
            if widget is not None:
                widget.close()
