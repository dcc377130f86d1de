"""kernel_pump without a kernel: which messages run, what goes back, in which order, and when.

Wire messages are real (jupyter_client Session with a key, so signatures and the duplicate-
signature check are live; frames as zmq.Frame, as the kernel receives them with copy=False).
The two kernel-version sources are exercised on the same structures the kernels use: a
tornado Queue (ipykernel 6) and a ZMQStream over an inproc PAIR socket (ipykernel 7).
The same logic in a real kernel: test_frontend_kernel.py.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import threading
import time
import types
import uuid
from typing import Any

import pytest
import zmq
from jupyter_client.session import Session
from tornado.queues import Queue
from zmq.eventloop.zmqstream import ZMQStream

from maggy_jupyter import kernel_pump
from maggy_jupyter.kernel_pump import COMM_TYPES, CommPump, QueueSource, StreamSource, _DeferSigint

CELL = {"header": {"msg_id": "the-cell"}}


def wire(session: Session, msg_type: str, content: dict[str, Any]) -> list[zmq.Frame]:
    """A shell message as the kernel's stream hands it over: identities, DELIM, signed parts."""
    parts = session.serialize(session.msg(msg_type, content), ident=[b"frontend"])
    return [zmq.Frame(p) for p in parts]


def msg_type_of(session: Session, frames: list[zmq.Frame]) -> str:
    _, rest = session.feed_identities(frames, copy=False)
    return str(session.deserialize(rest, content=False, copy=False)["header"]["msg_type"])


class FakeKernel:
    """The kernel attributes the pump uses: session, comm manager, shell handlers, parents."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.comm_manager = types.SimpleNamespace(comms={"known": object()}, targets={"maggy": object()})
        self.shell_handlers = {t: self._handler(t) for t in COMM_TYPES}
        self._parent: dict[str, Any] = CELL
        self._parent_ident = {"shell": b"cell-ident"}
        self.ran: list[tuple[str, dict[str, Any], bool, Any]] = []  # type, content, parent was it, stream
        self.fail_with: BaseException | None = None

    def _handler(self, msg_type: str) -> Any:
        def handle(stream: Any, idents: list[bytes], msg: dict[str, Any]) -> None:
            is_parent = self._parent is msg and self._parent_ident["shell"] == idents
            self.ran.append((msg_type, msg["content"], is_parent, stream))
            if self.fail_with is not None:
                raise self.fail_with

        return handle

    def get_parent(self, channel: str) -> dict[str, Any]:
        return self._parent

    def set_parent(self, ident: Any, parent: dict[str, Any], channel: str = "shell") -> None:
        self._parent, self._parent_ident["shell"] = parent, ident


class ListSource:
    """A source whose pending items are a list; given-back items are recorded in order."""

    reply_stream = "reply-stream"

    def __init__(self) -> None:
        self.pending: list[Any] = []
        self.given_back: list[Any] = []
        self.on_take: Any = None

    def take(self) -> list[Any]:
        if self.on_take is not None:
            self.on_take()
        got, self.pending = self.pending, []
        return got

    def frames(self, item: Any) -> Any:
        return item

    def replay(self, items: list[Any]) -> None:
        self.given_back.extend(items)


@pytest.fixture
def session() -> Session:
    return Session(key=b"a-secret", username="test")


@pytest.fixture
def kernel(session: Session) -> FakeKernel:
    return FakeKernel(session)


def test_comm_messages_for_live_comms_run_and_everything_else_goes_back_in_order(
    session: Session, kernel: FakeKernel
) -> None:
    source = ListSource()
    m = {
        "exec1": wire(session, "execute_request", {"code": "1"}),
        "click": wire(session, "comm_msg", {"comm_id": "known", "data": {"stop": 3}}),
        "exec2": wire(session, "execute_request", {"code": "2"}),
        "early": wire(session, "comm_msg", {"comm_id": "not-open-yet", "data": {}}),
        "open": wire(session, "comm_open", {"comm_id": "new", "target_name": "maggy", "data": {}}),
        "open_unknown": wire(session, "comm_open", {"comm_id": "x", "target_name": "later", "data": {}}),
        "close": wire(session, "comm_close", {"comm_id": "known", "data": {}}),
        "info": wire(session, "kernel_info_request", {}),
    }
    source.pending = list(m.values())
    pump = CommPump(kernel, source)

    assert pump.step() == 3
    assert [(t, c.get("comm_id")) for t, c, _, _ in kernel.ran] == [
        ("comm_msg", "known"),
        ("comm_open", "new"),
        ("comm_close", "known"),
    ]
    assert kernel.ran[0][1]["data"] == {"stop": 3}
    assert all(is_parent for _, _, is_parent, _ in kernel.ran)  # each ran under its own parent
    assert all(stream == "reply-stream" for *_, stream in kernel.ran)
    assert kernel.get_parent("shell") is CELL and kernel._parent_ident["shell"] == b"cell-ident"
    assert [x for x in source.given_back] == [
        m["exec1"],
        m["exec2"],
        m["early"],
        m["open_unknown"],
        m["info"],
    ]


def test_each_message_is_deserialized_in_full_once_so_the_kernel_can_still_read_what_goes_back(
    session: Session, kernel: FakeKernel
) -> None:
    source = ListSource()
    ran, back = (
        wire(session, "comm_msg", {"comm_id": "known", "data": {}}),
        wire(session, "execute_request", {}),
    )
    source.pending = [ran, back]
    CommPump(kernel, source).step()
    # What went back was only peeked: the kernel's own full deserialize still accepts it...
    _, rest = session.feed_identities(source.given_back[0], copy=False)
    assert session.deserialize(rest, content=True, copy=False)["header"]["msg_type"] == "execute_request"
    # ...while the message that ran had its signature recorded (the kernel would reject a replay).
    _, rest = session.feed_identities(ran, copy=False)
    with pytest.raises(ValueError, match="Duplicate Signature"):
        session.deserialize(rest, content=True, copy=False)


def test_a_failing_comm_handler_is_logged_and_the_cell_parent_restored(
    session: Session, kernel: FakeKernel, caplog: pytest.LogCaptureFixture
) -> None:
    source = ListSource()
    source.pending = [wire(session, "comm_msg", {"comm_id": "known", "data": {"n": n}}) for n in (1, 2)]
    kernel.fail_with = RuntimeError("handler bug")
    with caplog.at_level(logging.ERROR, logger="maggy"):
        assert CommPump(kernel, source).step() == 2  # the second still ran
    assert [c["data"]["n"] for _, c, _, _ in kernel.ran] == [1, 2]
    assert "comm handler failed" in caplog.text
    assert kernel.get_parent("shell") is CELL


def test_keyboard_interrupt_in_a_handler_propagates_with_nothing_lost(
    session: Session, kernel: FakeKernel
) -> None:
    source = ListSource()
    click = wire(session, "comm_msg", {"comm_id": "known", "data": {}})
    queued = wire(session, "execute_request", {"code": "queued"})
    source.pending = [click, queued]
    kernel.fail_with = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        CommPump(kernel, source).step()
    assert source.given_back == [queued]  # given back before any handler ran
    assert kernel.get_parent("shell") is CELL


@pytest.fixture
def int_handler() -> Any:
    """SIGINT raising KeyboardInterrupt (as ipykernel sets it while a cell runs), restored after."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def test_sigint_while_messages_move_is_delivered_after_they_are_all_back(
    session: Session, kernel: FakeKernel, int_handler: None
) -> None:
    source = ListSource()
    click = wire(session, "comm_msg", {"comm_id": "known", "data": {}})
    queued = wire(session, "execute_request", {})
    source.pending = [queued, click]
    # The interrupt button, pressed while the pump takes messages (Python runs the handler before
    # the next bytecode, so inside the pump's deferral; were it delivered later, the click would run).
    source.on_take = lambda: os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        CommPump(kernel, source).step()
    assert source.given_back == [queued, click]  # all of it, in order, the click included
    assert kernel.ran == []  # nothing ran once the interrupt was pending
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_defer_sigint_holds_the_signal_to_the_end_of_the_block(int_handler: None) -> None:
    reached_end = False
    with pytest.raises(KeyboardInterrupt), _DeferSigint() as held:
        os.kill(os.getpid(), signal.SIGINT)
        _until(lambda: held.pending)
        reached_end = True
    assert reached_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with _DeferSigint() as quiet:  # no signal: nothing raised
        pass
    assert not quiet.pending


# ---- the ipykernel 6 source: msg_queue (tornado Queue) fed by shell_stream -------------------


class Kernel6(FakeKernel):
    """FakeKernel plus ipykernel 6's msg_queue / shell_stream / dispatch_shell."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.msg_queue: Queue[Any] = Queue()
        self.socket: list[list[zmq.Frame]] = []  # arrived, not yet flushed onto the queue
        self.shell_stream = types.SimpleNamespace(flush=self._flush)
        self._index = itertools.count()

    async def dispatch_shell(self, msg: Any) -> None:  # never called here; identity matters
        raise AssertionError

    def advance_eventloop(self) -> None:
        raise AssertionError

    def schedule_dispatch(self, dispatch: Any, *args: Any) -> None:
        self.msg_queue.put_nowait((next(self._index), dispatch, args))

    def _flush(self, flag: int) -> None:
        assert flag == zmq.POLLIN
        while self.socket:
            self.schedule_dispatch(self.dispatch_shell, self.socket.pop(0))

    def queued(self) -> list[Any]:
        items = [self.msg_queue.get_nowait() for _ in range(self.msg_queue.qsize())]
        for item in items:
            self.msg_queue.put_nowait(item)
        return items


def test_ipykernel6_queue_keeps_its_order_across_steps(session: Session) -> None:
    kernel = Kernel6(session)
    exec1, exec2 = wire(session, "execute_request", {"n": 1}), wire(session, "execute_request", {"n": 2})
    early = wire(session, "comm_msg", {"comm_id": "opened-later", "data": {}})
    kernel.schedule_dispatch(kernel.dispatch_shell, exec1)  # read before the cell blocked
    kernel.schedule_dispatch(kernel.advance_eventloop)  # not a shell message (%gui)
    kernel.socket = [wire(session, "comm_msg", {"comm_id": "known", "data": {}}), early, exec2]
    pump = CommPump(kernel, QueueSource(kernel))

    assert pump.step() == 1
    order = [(i, d.__name__, args) for i, d, args in kernel.queued()]
    assert order == [
        (0, "dispatch_shell", (exec1,)),
        (1, "advance_eventloop", ()),
        (3, "dispatch_shell", (early,)),
        (4, "dispatch_shell", (exec2,)),
    ]
    assert pump.step() == 0 and kernel.queued() == [(i, getattr(kernel, n), a) for i, n, a in order]

    # Once its comm exists (say a handler opened it), the waiting comm_msg runs on the next step.
    kernel.comm_manager.comms["opened-later"] = object()
    assert pump.step() == 1 and kernel.ran[-1][1]["comm_id"] == "opened-later"
    assert [args for _, _, args in kernel.queued()] == [(exec1,), (), (exec2,)]


# ---- the ipykernel 7 source: a ZMQStream on the main shell's inproc PAIR socket --------------


def test_ipykernel7_stream_gives_messages_back_ahead_of_later_ones() -> None:
    async def scenario() -> list[bytes]:
        ctx = zmq.Context()
        address = f"inproc://pump-test-{uuid.uuid4().hex}"
        sender, receiver = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
        sender.bind(address)
        receiver.connect(address)
        handled: list[bytes] = []

        async def kernel_callback(frames: list[zmq.Frame]) -> None:  # like shell_main: a coroutine
            handled.append(frames[0].bytes)

        stream = ZMQStream(receiver)
        stream.on_recv(kernel_callback, copy=False)
        source = StreamSource(stream, asyncio.get_running_loop(), reply_stream=None)

        # The "cell" blocks the loop from here on: only the pump reads the socket.
        for n in range(3):
            sender.send(b"early-%d" % n)
        taken: list[Any] = []
        deadline = time.monotonic() + 5
        while len(taken) < 3 and time.monotonic() < deadline:
            taken += source.take()
        assert [f[0].bytes for f in taken] == [b"early-0", b"early-1", b"early-2"]
        assert stream._recv_callback is kernel_callback  # restored after each take
        source.replay(taken)
        sender.send(b"later")  # arrives while the cell still runs; read by the stream afterwards

        # The "cell" returns: the loop runs the given-back messages first, then the later one.
        deadline = time.monotonic() + 5
        while len(handled) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        stream.close()
        sender.close()
        ctx.term()
        return handled

    assert asyncio.run(scenario()) == [b"early-0", b"early-1", b"early-2", b"later"]


# ---- the wait loop and its fallbacks ---------------------------------------------------------


def _set_later(seconds: float) -> threading.Event:
    done = threading.Event()
    threading.Timer(seconds, done.set).start()
    return done


def test_outside_a_kernel_the_wait_is_plain() -> None:
    assert kernel_pump.open_pump() is None
    done = _set_later(0.05)
    kernel_pump.serve_comms_until(done)
    assert done.is_set() and not kernel_pump.is_pumping()


def test_no_pump_off_the_main_thread(kernel: FakeKernel) -> None:
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(kernel_pump.open_pump(kernel)))
    worker.start()
    worker.join()
    assert got == [None]


def test_unknown_kernels_and_versions_get_no_pump(
    kernel: FakeKernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipykernel

    assert kernel_pump.open_pump(kernel) is None  # not an ipykernel kernel class

    lookalike = type("IPythonKernel", (Kernel6,), {"__module__": "ipykernel.ipkernel"})(kernel.session)
    monkeypatch.setattr(ipykernel, "version_info", (8, 0, 0))
    assert kernel_pump.open_pump(lookalike) is None  # a major version whose internals we do not know
    monkeypatch.setattr(ipykernel, "version_info", (6, 31, 0))
    lookalike.shell_stream = types.SimpleNamespace()  # not a ZMQStream: not the 6.x we know
    assert kernel_pump.open_pump(lookalike) is None


def test_a_failing_pump_falls_back_to_the_plain_wait(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seen_pumping: list[bool] = []

    class Broken:
        def step(self) -> int:
            seen_pumping.append(kernel_pump.is_pumping())
            raise RuntimeError("internals changed")

    monkeypatch.setattr(kernel_pump, "open_pump", lambda: Broken())
    done = _set_later(0.2)
    with caplog.at_level(logging.ERROR, logger="maggy"):
        kernel_pump.serve_comms_until(done)
    assert done.is_set()
    assert seen_pumping == [True]  # tried once, then gave up
    assert "waiting plainly" in caplog.text and not kernel_pump.is_pumping()


def test_the_wait_loop_steps_until_done(monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[float] = []

    class Counting:
        def step(self) -> int:
            steps.append(time.monotonic())
            return 0

    monkeypatch.setattr(kernel_pump, "open_pump", lambda: Counting())
    done = _set_later(0.3)
    kernel_pump.serve_comms_until(done, poll=0.01)
    assert len(steps) >= 5  # ~30 expected; a loaded machine still manages a handful
    assert max(b - a for a, b in itertools.pairwise(steps)) < 0.25
