"""RpcServer and RpcClient over real sockets on 127.0.0.1."""

from __future__ import annotations

import collections
import hashlib
import hmac
import logging
import math
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from maggy.rpc import (
    ConnectionClosed,
    ProtocolError,
    RpcClient,
    RpcServer,
    new_secret,
    route,
)
from maggy.rpc import messages as m
from maggy.rpc.framing import encode_frame, recv_message
from maggy.rpc.server import Connection

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

WAIT = 10.0  # generous upper bound for events that normally take microseconds


class Recorder:
    """Handler and on_disconnect callback that record what the server did, with events to wait on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[int, dict[str, Any]]] = []
        self.disconnects: collections.Counter[int] = collections.Counter()
        self.reasons: dict[int, str] = {}
        self.disconnected = threading.Condition(self.lock)
        self.entered = threading.Event()  # set when a blocking handler starts waiting
        self.release = threading.Event()  # a blocking handler waits for this

    def handle(self, msg: dict[str, Any], conn: Connection) -> dict[str, Any] | None:
        with self.lock:
            self.received.append((conn.conn_id, msg))
        op = msg["op"]
        if op == m.REG:
            conn.state["worker_id"] = msg["worker_id"]
            return m.trial(1, {"lr": 0.1}, budget=None)
        if op == m.FINAL:
            return m.done() if msg["trial_id"] >= 2 else m.trial(msg["trial_id"] + 1, {"lr": 0.2})
        if op == m.HB:
            if msg["worker_id"] == "block":
                self.entered.set()
                self.release.wait()
            if msg["worker_id"] == "boom":
                raise RuntimeError("driver bug")
            if msg["worker_id"] == "bad-reply":
                return {"v": 2, "op": m.FINAL}  # missing fields: the server must not send it
            if msg["worker_id"] == "wrong-direction":
                return m.reg("x", "h", 1)
            if msg["trial_id"] is not None and msg["trial_id"] < 0:
                return m.stop(-msg["trial_id"])
            # Echo which connection served us and what it remembers, for the state tests.
            return (
                m.err(f"{conn.conn_id}:{conn.state.get('worker_id')}") if msg["logs"] == ["who"] else m.ok()
            )
        return None  # ERR from a worker: logged by the driver, no reply

    def on_disconnect(self, conn: Connection, reason: str) -> None:
        with self.disconnected:
            self.disconnects[conn.conn_id] += 1
            self.reasons[conn.conn_id] = reason
            self.disconnected.notify_all()

    def wait_disconnects(self, n: int) -> None:
        with self.disconnected:
            assert self.disconnected.wait_for(lambda: len(self.disconnects) >= n, WAIT)


@pytest.fixture
def secret() -> bytes:
    return new_secret()


@pytest.fixture
def rec() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.release.set()  # never leave a handler thread blocked behind a failed test


@pytest.fixture
def server(secret: bytes, rec: Recorder) -> Iterator[RpcServer]:
    srv = RpcServer(secret, rec.handle, on_disconnect=rec.on_disconnect, max_frame=64 * 1024)
    with srv:
        yield srv
        rec.release.set()  # let a blocked handler finish so stop() need not wait out its timeout


def raw_connect(server: RpcServer) -> socket.socket:
    sock = socket.create_connection(server.address, timeout=WAIT)
    return sock


def assert_closed_by_server(sock: socket.socket) -> None:
    """The server dropped us: the next read is EOF (or a reset), never a reply."""
    try:
        data = sock.recv(1)
    except ConnectionResetError:
        return
    assert data == b""


# --- happy paths -------------------------------------------------------------------------------


def test_binds_exactly_the_given_host(server: RpcServer) -> None:
    host, port = server.address
    assert host == "127.0.0.1" and port > 0


@pytest.mark.parametrize(
    ("request_msg", "reply"),
    [
        (m.reg("w-1", "host-a", 123, 0, {"gpus": []}), m.trial(1, {"lr": 0.1})),
        (m.final("w-1", 1, "ok", 0.93, None, [[1, 0.5], [2, 0.93]], ["done"]), m.trial(2, {"lr": 0.2})),
        (m.final("w-1", 2, "early_stopped", None, None), m.done()),
        (m.hb("w-1", 2, [[3, 0.7]], ["epoch 3"]), m.ok()),
        (m.hb("w-1", -5), m.stop(5)),
        (m.hb("w-1", None, logs=["who"]), m.err("0:None")),
    ],
)
def test_round_trip_of_every_op(
    server: RpcServer, secret: bytes, rec: Recorder, request_msg: dict[str, Any], reply: dict[str, Any]
) -> None:
    with RpcClient(server.address, secret) as client:
        assert client.request(request_msg) == reply
    assert rec.received == [(0, request_msg)]


def test_one_way_err_from_a_worker_reaches_the_handler(
    server: RpcServer, secret: bytes, rec: Recorder
) -> None:
    with RpcClient(server.address, secret) as client:
        client.send(m.err("cannot import map_fun"))
        assert client.request(m.hb("w", None)) == m.ok()  # replies are in order, so the ERR arrived first
    assert [msg for _, msg in rec.received] == [m.err("cannot import map_fun"), m.hb("w", None)]


def test_connection_state_is_per_connection(server: RpcServer, secret: bytes) -> None:
    with RpcClient(server.address, secret) as control, RpcClient(server.address, secret) as heartbeat:
        control.request(m.reg("w-7", "h", 1))
        assert control.request(m.hb("w-7", None, logs=["who"])) == m.err("0:w-7")
        assert heartbeat.request(m.hb("w-7", None, logs=["who"])) == m.err("1:None")


def test_peer_is_the_clients_address(server: RpcServer, secret: bytes) -> None:
    peers: list[tuple[Any, ...]] = []

    def handler(msg: dict[str, Any], conn: Connection) -> dict[str, Any]:
        peers.append(conn.peer)
        return m.ok()

    with RpcServer(secret, handler) as srv, RpcClient(srv.address, secret) as client:
        client.request(m.hb("w", None))
        assert peers == [client._sock.getsockname()]


def test_route_dispatches_by_op_and_refuses_the_rest(secret: bytes) -> None:
    handler = route({m.HB: lambda msg, conn: m.stop(msg["trial_id"])})
    with RpcServer(secret, handler) as srv, RpcClient(srv.address, secret) as client:
        assert client.request(m.hb("w", 4)) == m.stop(4)
        assert client.request(m.reg("w", "h", 1)) == m.err("no handler for op REG")


def test_one_client_is_safe_to_share_between_threads(server: RpcServer, secret: bytes) -> None:
    errors: list[BaseException] = []

    def worker(k: int, client: RpcClient) -> None:
        try:
            for i in range(1, 51):
                tid = k * 1000 + i
                assert client.request(m.hb("w", -tid)) == m.stop(tid)
        except BaseException as exc:
            errors.append(exc)

    with RpcClient(server.address, secret) as client:
        threads = [threading.Thread(target=worker, args=(k, client)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
    assert errors == []


# --- hostile or broken peers -------------------------------------------------------------------


def test_forged_frame_drops_only_that_connection_and_logs_no_secret(
    server: RpcServer, secret: bytes, rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="maggy.rpc")
    forger_secret = new_secret()
    marker = "PAYLOAD-MARKER-42"
    with RpcClient(server.address, secret) as good:
        # The good client's request is in flight (its handler blocked) while the forgery arrives.
        result: list[dict[str, Any]] = []
        inflight = threading.Thread(target=lambda: result.append(good.request(m.hb("block", None))))
        inflight.start()
        assert rec.entered.wait(WAIT)

        forger = RpcClient(server.address, forger_secret)
        with pytest.raises(ConnectionClosed):
            forger.request(m.hb(marker, None))
        tampered = bytearray(encode_frame(secret, m.hb(marker, None)))
        tampered[-3] ^= 0x20
        with raw_connect(server) as sock:
            sock.sendall(tampered)
            assert_closed_by_server(sock)

        rec.release.set()
        inflight.join(WAIT)
        assert result == [m.ok()]
        with RpcClient(server.address, secret) as late:
            assert late.request(m.hb("w", None)) == m.ok()
        assert good.request(m.hb("w", None)) == m.ok()

    assert all(msg["worker_id"] != marker for _, msg in rec.received)  # the handler never saw a forgery
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "AuthenticationError" in r.getMessage()
    ]
    assert len(warnings) == 2
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for s in (secret, forger_secret):
        assert s.hex() not in text and s.hex().upper() not in text
        assert repr(s)[2:-1] not in text and s.decode("latin-1") not in text
    assert marker not in text  # nor the payload
    assert "127.0.0.1" in warnings[0].getMessage()  # but the peer is named


def test_oversized_header_is_rejected_without_waiting_for_the_body(
    server: RpcServer, rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    with raw_connect(server) as sock:
        sock.sendall(struct.pack(">I", 64 * 1024 + 1))  # no body follows: a server reading it would hang here
        assert_closed_by_server(sock)
    rec.wait_disconnects(1)
    assert "OversizedFrame" in rec.reasons[0]
    assert "frame length 65537" in caplog.text
    assert rec.received == []


def test_client_frames_over_the_servers_limit_are_refused(
    server: RpcServer, secret: bytes, rec: Recorder
) -> None:
    with RpcClient(server.address, secret, max_frame=1024 * 1024) as client:
        with pytest.raises(ConnectionClosed):
            client.request(m.hb("w", None, logs=["x" * 100_000]))
        assert client.closed
    assert rec.received == []


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b'{"v": 1, "op": ', "MalformedFrame"),
        (b"[1, 2, 3]", "MalformedFrame"),
        (
            b'{"v": 1, "op": "HB", "worker_id": "w", "trial_id": NaN, "points": [], "logs": []}',
            "MalformedFrame",
        ),
        (b'{"v": 2, "op": "HELLO"}', "unknown op"),
        (b'{"v": 1, "op": "OK"}', "version 1"),
        (b'{"op": "OK"}', "protocol version"),
        (b'{"v": 2, "op": "HB", "worker_id": "w", "points": [], "logs": []}', "missing field 'trial_id'"),
        (b'{"v": 2, "op": "TRIAL", "trial_id": 1, "params": {}, "budget": null, "next": null}', "direction"),
    ],
)
def test_invalid_but_authentic_frames_close_the_connection(
    server: RpcServer,
    secret: bytes,
    rec: Recorder,
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
    why: str,
) -> None:
    tag = hmac.new(secret, payload, hashlib.sha256).digest()  # encode_frame would refuse these payloads
    with raw_connect(server) as sock:
        sock.sendall(struct.pack(">I", len(tag) + len(payload)) + tag + payload)
        assert_closed_by_server(sock)
    rec.wait_disconnects(1)
    assert why in rec.reasons[0]
    assert rec.received == []
    assert any(r.levelno == logging.WARNING and why in r.getMessage() for r in caplog.records)


def test_handler_exception_becomes_err_and_the_connection_survives(
    server: RpcServer, secret: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with RpcClient(server.address, secret) as client:
        reply = client.request(m.hb("boom", None))
        assert reply["op"] == m.ERR and "RuntimeError: driver bug" in reply["reason"]
        assert client.request(m.hb("bad-reply", None))["op"] == m.ERR  # an invalid reply is never sent
        assert client.request(m.hb("w", None)) == m.ok()
    failures = [r for r in caplog.records if r.exc_info is not None]
    assert len(failures) == 2 and "driver bug" in str(failures[0].exc_info[1])  # type: ignore[index]


def test_client_rejects_a_reply_in_the_wrong_direction(server: RpcServer, secret: bytes) -> None:
    with RpcClient(server.address, secret) as client:
        with pytest.raises(ProtocolError, match="direction"):
            client.request(m.hb("wrong-direction", None))
        assert client.closed
        with pytest.raises(ConnectionClosed):
            client.request(m.hb("w", None))


def test_nan_raises_at_encode_time_and_nothing_is_sent(
    server: RpcServer, secret: bytes, rec: Recorder
) -> None:
    with RpcClient(server.address, secret) as client:
        with pytest.raises(ValueError):
            client.request(m.reg("w", "h", 1, 0, {"score": math.nan}))  # info is free-form: json catches it
        with pytest.raises(ProtocolError):
            client.request(
                {**m.final("w", 1, "ok"), "metric": math.nan}
            )  # typed field: the schema catches it
        assert not client.closed
        assert client.request(m.hb("w", None)) == m.ok()
    assert [msg["op"] for _, msg in rec.received] == [m.HB]


# --- lifecycle ---------------------------------------------------------------------------------


def test_on_disconnect_once_per_connection_including_server_stop(secret: bytes, rec: Recorder) -> None:
    srv = RpcServer(secret, rec.handle, on_disconnect=rec.on_disconnect)
    srv.start()
    early = RpcClient(srv.address, secret)
    early.request(m.reg("w-1", "h", 1))
    early.close()
    rec.wait_disconnects(1)
    assert rec.reasons[0] == "connection closed by peer"

    idle = [RpcClient(srv.address, secret) for _ in range(3)]
    for c in idle:
        c.request(m.hb("w", None))  # each connection is accepted and served before stop
    srv.stop()
    srv.stop()  # idempotent
    rec.wait_disconnects(4)
    assert dict(rec.disconnects) == {0: 1, 1: 1, 2: 1, 3: 1}
    assert all(rec.reasons[i] == "server stopped" for i in (1, 2, 3))
    for c in idle:
        with pytest.raises(ConnectionClosed):
            c.request(m.hb("w", None))


def test_stop_unblocks_connections_waiting_in_recv(secret: bytes, rec: Recorder) -> None:
    srv = RpcServer(secret, rec.handle, on_disconnect=rec.on_disconnect)
    srv.start()
    clients = [RpcClient(srv.address, secret) for _ in range(5)]
    for c in clients:
        c.request(m.hb("w", None))  # now every connection thread sits in recv
    started = time.monotonic()
    srv.stop(timeout=WAIT)
    assert time.monotonic() - started < 2.0  # far below the timeout: nobody waited it out
    assert len(rec.disconnects) == 5
    assert not [t for t in threading.enumerate() if t.name.startswith("maggy-rpc")]
    for c in clients:
        c.close()


def test_stop_abandons_a_blocked_handler_after_its_timeout(secret: bytes, rec: Recorder) -> None:
    srv = RpcServer(secret, rec.handle, on_disconnect=rec.on_disconnect)
    srv.start()
    client = RpcClient(srv.address, secret)
    outcome: list[BaseException] = []

    def blocked_request() -> None:
        try:
            client.request(m.hb("block", None))
        except BaseException as exc:
            outcome.append(exc)

    t = threading.Thread(target=blocked_request)
    t.start()
    assert rec.entered.wait(WAIT)
    started = time.monotonic()
    srv.stop(timeout=0.2)
    assert time.monotonic() - started < 2.0
    assert rec.disconnects == {0: 1} and rec.reasons[0] == "server stopped"
    t.join(WAIT)
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionClosed)  # the shutdown reached the worker

    (conn_thread,) = [th for th in threading.enumerate() if th.name == "maggy-rpc-conn-0"]
    rec.release.set()  # the abandoned handler finally returns; on_disconnect must not run again
    conn_thread.join(WAIT)
    assert not conn_thread.is_alive()
    assert rec.disconnects == {0: 1}


def test_client_close_wakes_a_request_blocked_in_another_thread(
    server: RpcServer, secret: bytes, rec: Recorder
) -> None:
    client = RpcClient(server.address, secret)
    outcome: list[BaseException] = []
    t = threading.Thread(target=lambda: outcome.extend(_raises(client.request, m.hb("block", None))))
    t.start()
    assert rec.entered.wait(WAIT)
    client.close()
    t.join(WAIT)
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionClosed)
    assert client.closed


def _raises(fn: Any, *args: Any) -> list[BaseException]:
    try:
        fn(*args)
    except BaseException as exc:
        return [exc]
    return []


def test_request_timeout_closes_the_client(server: RpcServer, secret: bytes, rec: Recorder) -> None:
    with RpcClient(server.address, secret) as client:
        with pytest.raises(TimeoutError):
            client.request(m.hb("block", None), timeout=0.05)
        assert client.closed  # a late reply must never be taken for the next request's


def test_client_sees_the_driver_go_away(secret: bytes, rec: Recorder) -> None:
    srv = RpcServer(secret, rec.handle)
    srv.start()
    address = srv.address
    client = RpcClient(address, secret)
    srv.stop()
    with pytest.raises(ConnectionClosed):
        client.request(m.hb("w", None))
    with pytest.raises(OSError):
        RpcClient(address, secret, connect_timeout=1.0)


def test_server_reply_is_a_signed_frame_on_the_raw_socket(server: RpcServer, secret: bytes) -> None:
    with raw_connect(server) as sock:
        sock.sendall(encode_frame(secret, m.hb("w", -3)))
        assert recv_message(sock, secret) == m.stop(3)


def test_weak_secrets_and_bad_limits_are_refused(rec: Recorder) -> None:
    with pytest.raises(ValueError):
        RpcServer(b"short", rec.handle)
    with pytest.raises(ValueError):
        RpcServer(new_secret(), rec.handle, max_frame=10)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_unauthenticated": 0},
        {"max_unauthenticated": 2.5},
        {"auth_timeout": 0},
        {"auth_timeout": math.inf},
        {"frame_timeout": -1},
        {"frame_timeout": True},
        {"max_first_frame": 8},
    ],
)
def test_bad_connection_limits_are_refused(rec: Recorder, kwargs: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        RpcServer(new_secret(), rec.handle, **kwargs)


# --- peers that have not authenticated (yet) ---------------------------------------------------------


def _alive_conn_threads() -> int:
    return len([t for t in threading.enumerate() if t.name.startswith("capped-conn-")])


def test_unauthenticated_connections_are_capped_and_extra_ones_closed_with_one_warning(
    secret: bytes, rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="maggy.rpc")
    with RpcServer(secret, rec.handle, max_unauthenticated=4, auth_timeout=30, name="capped") as srv:
        silent = [raw_connect(srv) for _ in range(4)]
        deadline = time.monotonic() + WAIT
        while _alive_conn_threads() < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        extra = [raw_connect(srv) for _ in range(5)]
        for sock in extra:  # each waits half a second for a slot, then is closed unserved
            assert_closed_by_server(sock)
        assert _alive_conn_threads() == 4  # no thread for the refused ones
        refusals = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refusals) == 1 and "max_unauthenticated=4" in refusals[0].getMessage()
        # Authenticated connections do not count: a worker's two connections are welcome as ever.
        for sock in silent:
            sock.close()
        with RpcClient(srv.address, secret) as a, RpcClient(srv.address, secret) as b:
            assert a.request(m.hb("w", None)) == m.ok() and b.request(m.hb("w", None)) == m.ok()
            more = [raw_connect(srv) for _ in range(4)]  # 4 unauthenticated again, besides a and b
            assert a.request(m.hb("w", None)) == m.ok()
            for sock in more:
                sock.close()
        for sock in extra:
            sock.close()


def test_a_worker_arriving_while_the_slots_are_full_waits_for_one_instead_of_failing(
    secret: bytes, rec: Recorder
) -> None:
    with RpcServer(secret, rec.handle, max_unauthenticated=2, auth_timeout=30, name="capped") as srv:
        silent = [raw_connect(srv) for _ in range(2)]
        deadline = time.monotonic() + WAIT
        while _alive_conn_threads() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        threading.Timer(0.2, silent[0].close).start()  # a slot frees within the admission wait
        with RpcClient(srv.address, secret) as client:
            assert client.request(m.reg("w-1", "h", 1)) == m.trial(1, {"lr": 0.1})
        silent[1].close()


def test_a_silent_or_stalled_unauthenticated_connection_is_dropped_after_auth_timeout(
    secret: bytes, rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    with RpcServer(secret, rec.handle, on_disconnect=rec.on_disconnect, auth_timeout=0.5) as srv:
        started = time.monotonic()
        with raw_connect(srv) as silent, raw_connect(srv) as stalled:
            stalled.sendall(struct.pack(">I", 1000) + b"x" * 10)  # a started frame that never completes
            assert_closed_by_server(silent)
            assert_closed_by_server(stalled)
        assert 0.4 < time.monotonic() - started < 3.0
        rec.wait_disconnects(2)
        assert all("FrameTimeout" in reason for reason in rec.reasons.values())
        assert "unauthenticated" in caplog.text


def test_an_idle_authenticated_connection_never_times_out_but_a_stalled_frame_does(
    secret: bytes, rec: Recorder
) -> None:
    with RpcServer(
        secret, rec.handle, on_disconnect=rec.on_disconnect, auth_timeout=0.3, frame_timeout=0.3
    ) as srv:
        with RpcClient(srv.address, secret) as control:
            assert control.request(m.reg("w-1", "h", 1)) == m.trial(1, {"lr": 0.1})
            time.sleep(1.0)  # a control connection is idle for a whole trial
            assert control.request(m.final("w-1", 1, "ok", 1.0)) == m.trial(2, {"lr": 0.2})
        with raw_connect(srv) as sock:
            sock.sendall(encode_frame(secret, m.hb("w", None)))
            assert recv_message(sock, secret) == m.ok()
            frame = encode_frame(secret, m.hb("w", None))
            sock.sendall(frame[:-5])  # authenticated, then a frame that stops short
            started = time.monotonic()
            assert_closed_by_server(sock)
            assert time.monotonic() - started < 3.0
        rec.wait_disconnects(2)
        assert "FrameTimeout" in rec.reasons[1]


def test_the_first_frame_is_small_later_ones_may_use_max_frame(secret: bytes, rec: Recorder) -> None:
    big = m.hb("w", None, logs=["x" * 100_000])
    with RpcServer(secret, rec.handle, max_frame=1024 * 1024, max_first_frame=16 * 1024) as srv:
        with RpcClient(srv.address, secret) as client:
            assert client.request(m.hb("w", None)) == m.ok()
            assert client.request(big) == m.ok()
        with RpcClient(srv.address, secret) as stranger, pytest.raises(ConnectionClosed):
            stranger.request(big)
