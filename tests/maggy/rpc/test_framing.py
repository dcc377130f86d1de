"""Frames and message schemas on bytes: no server, no network (a scripted fake socket, socketpair)."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import socket
import struct
from typing import Any

import pytest

from maggy.rpc import messages as m
from maggy.rpc.framing import (
    DEFAULT_MAX_FRAME,
    TAG_LEN,
    AuthenticationError,
    ConnectionClosed,
    FrameError,
    MalformedFrame,
    OversizedFrame,
    check_params,
    decode_payload,
    encode_frame,
    new_secret,
    recv_message,
    send_message,
)

SECRET = bytes(range(32))


def signed(payload: bytes, secret: bytes = SECRET) -> bytes:
    """A frame built by hand, so tests can sign payloads encode_frame refuses to produce."""
    tag = hmac.new(secret, payload, hashlib.sha256).digest()
    return struct.pack(">I", len(tag) + len(payload)) + tag + payload


class ScriptedSocket:
    """Serves fixed bytes at most ``chunk`` per recv, then EOF (or ``then_raise``); records what was asked."""

    def __init__(self, data: bytes, chunk: int = 1 << 20, then_raise: BaseException | None = None) -> None:
        self.data = data
        self.pos = 0
        self.chunk = chunk
        self.then_raise = then_raise
        self.requested: list[int] = []

    def recv(self, n: int) -> bytes:
        self.requested.append(n)
        if self.pos >= len(self.data) and self.then_raise is not None:
            raise self.then_raise
        out = self.data[self.pos : self.pos + min(n, self.chunk)]
        self.pos += len(out)
        return out

    def recv_into(self, buffer: memoryview, nbytes: int = 0) -> int:
        # ``requested`` records the buffer a read may fill: what the receiver has allocated for it.
        out = self.recv(nbytes or len(buffer))
        self.requested[-1] = max(len(buffer), self.requested[-1])
        buffer[: len(out)] = out
        return len(out)


def recv(data: bytes, **kw: Any) -> dict[str, Any]:
    return recv_message(ScriptedSocket(data, **kw), SECRET)  # type: ignore[arg-type]


# --- frames -------------------------------------------------------------------------------------


def test_new_secret_is_32_fresh_random_bytes() -> None:
    a, b = new_secret(), new_secret()
    assert isinstance(a, bytes) and len(a) == 32
    assert a != b


def test_frame_layout_is_length_tag_payload() -> None:
    msg = {"v": 1, "op": "OK", "text": "héllo"}
    frame = encode_frame(SECRET, msg)
    (n,) = struct.unpack(">I", frame[:4])
    assert n == len(frame) - 4
    tag, payload = frame[4 : 4 + TAG_LEN], frame[4 + TAG_LEN :]
    assert hmac.compare_digest(tag, hmac.new(SECRET, payload, hashlib.sha256).digest())
    assert json.loads(payload.decode("utf-8")) == msg
    assert decode_payload(SECRET, frame[4:]) == msg


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_raise_at_encode_time(bad: float) -> None:
    with pytest.raises(ValueError):
        encode_frame(SECRET, {"v": 1, "op": "HB", "points": [[1, bad]]})


def test_encode_rejects_non_dicts_and_unencodable_values() -> None:
    with pytest.raises(TypeError):
        encode_frame(SECRET, [1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_frame(SECRET, {"v": 1, "x": object()})


def test_encode_refuses_frames_over_max_frame() -> None:
    with pytest.raises(OversizedFrame) as info:
        encode_frame(SECRET, {"blob": "x" * 100}, max_frame=64)
    assert info.value.length is not None and info.value.length > 64


def test_wrong_secret_is_rejected() -> None:
    body = encode_frame(new_secret(), {"v": 1, "op": "OK"})[4:]
    with pytest.raises(AuthenticationError):
        decode_payload(SECRET, body)


@pytest.mark.parametrize(
    "index", [0, TAG_LEN - 1, TAG_LEN, -1]
)  # first/last tag byte, first/last payload byte
def test_any_flipped_byte_is_rejected(index: int) -> None:
    body = bytearray(encode_frame(SECRET, {"v": 1, "op": "OK"})[4:])
    body[index] ^= 0x01
    with pytest.raises(AuthenticationError):
        decode_payload(SECRET, bytes(body))


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"v": 1,', "strict JSON"),
        (b"[1, 2]", "not an object"),
        (b'"OK"', "not an object"),
        (b'{"v": 1, "op": "HB", "x": NaN}', "strict JSON"),
        (b'{"x": -Infinity}', "strict JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),
    ],
)
def test_authentic_but_malformed_payloads_are_rejected(payload: bytes, why: str) -> None:
    with pytest.raises(MalformedFrame, match=why) as info:
        decode_payload(SECRET, signed(payload)[4:])
    assert not isinstance(info.value, AuthenticationError)
    assert payload[:8].decode("latin-1") not in str(info.value)  # reasons never quote the payload


def test_body_without_room_for_payload_is_malformed() -> None:
    with pytest.raises(MalformedFrame):
        decode_payload(SECRET, b"\x00" * TAG_LEN)


def test_recv_reassembles_frames_from_one_byte_reads() -> None:
    msgs = [{"v": 1, "op": "OK"}, {"v": 1, "op": "STOP", "trial_id": 3}]
    sock = ScriptedSocket(b"".join(encode_frame(SECRET, x) for x in msgs), chunk=1)
    assert [recv_message(sock, SECRET) for _ in msgs] == msgs  # type: ignore[arg-type]
    with pytest.raises(ConnectionClosed):
        recv_message(sock, SECRET)  # type: ignore[arg-type]


def test_oversized_length_is_rejected_before_reading_the_body() -> None:
    sock = ScriptedSocket(struct.pack(">I", 2**32 - 1) + b"x" * 1000)
    with pytest.raises(OversizedFrame) as info:
        recv_message(sock, SECRET, max_frame=1024)  # type: ignore[arg-type]
    assert info.value.length == 2**32 - 1
    assert sock.pos == 4 and sum(sock.requested) == 4


def test_too_short_length_is_rejected_before_reading_the_body() -> None:
    sock = ScriptedSocket(struct.pack(">I", TAG_LEN) + b"x" * TAG_LEN)
    with pytest.raises(MalformedFrame):
        recv_message(sock, SECRET)  # type: ignore[arg-type]
    assert sock.pos == 4


def test_receive_memory_follows_arrived_bytes_not_the_announced_length() -> None:
    # A peer announcing max_frame but sending 10 bytes must not make us allocate 8 MiB, nor even
    # the 1 MiB that one socket.recv(1 MiB) allocates whatever arrives.
    sock = ScriptedSocket(struct.pack(">I", DEFAULT_MAX_FRAME) + b"x" * 10)
    with pytest.raises(MalformedFrame, match="mid-frame"):
        recv_message(sock, SECRET)  # type: ignore[arg-type]
    assert max(sock.requested) <= 64 * 1024


def test_eof_policy() -> None:
    frame = encode_frame(SECRET, {"v": 1, "op": "OK"})
    with pytest.raises(ConnectionClosed):
        recv(b"")
    with pytest.raises(MalformedFrame, match="mid-frame"):
        recv(frame[:2])  # inside the header
    with pytest.raises(MalformedFrame, match="mid-frame"):
        recv(frame[:4])  # header only
    with pytest.raises(MalformedFrame, match="mid-frame"):
        recv(frame[:-1])  # inside the body


def test_reset_is_reported_as_connection_closed() -> None:
    with pytest.raises(ConnectionClosed):
        recv(b"", then_raise=ConnectionResetError())
    frame = encode_frame(SECRET, {"v": 1, "op": "OK"})
    with pytest.raises(ConnectionClosed):
        recv(frame[:10], then_raise=ConnectionResetError())


def test_all_frame_errors_share_a_base() -> None:
    for cls in (AuthenticationError, OversizedFrame, MalformedFrame, ConnectionClosed, m.ProtocolError):
        assert issubclass(cls, FrameError)
    assert issubclass(m.ProtocolError, MalformedFrame)


def test_send_and_recv_over_a_socketpair() -> None:
    a, b = socket.socketpair()
    with a, b:
        send_message(a, SECRET, {"v": 1, "op": "OK", "big": "y" * 200_000})
        send_message(a, SECRET, {"v": 1, "op": "DONE"})
        assert recv_message(b, SECRET)["big"] == "y" * 200_000
        assert recv_message(b, SECRET) == {"v": 1, "op": "DONE"}
        a.close()
        with pytest.raises(ConnectionClosed):
            recv_message(b, SECRET)


def test_check_params() -> None:
    check_params(new_secret(), DEFAULT_MAX_FRAME)
    for secret, max_frame in [(b"short", 1024), ("x" * 32, 1024), (SECRET, TAG_LEN), (SECRET, 2**32)]:
        with pytest.raises(ValueError):
            check_params(secret, max_frame)  # type: ignore[arg-type]


# --- messages: the schema layer just above frames ---------------------------------------------

EVERY_OP = {
    m.REG: m.reg("w-1", "host-a", 4242, 1, {"partition": 3}),
    m.TRIAL: m.trial(
        7, {"lr": 0.01, "layers": 3, "act": "relu"}, budget=9, queued=m.trial_spec(8, {"lr": 0.1})
    ),
    m.NEXT: m.next_trial(m.trial_spec(9, {"lr": 0.2}, budget=3)),
    m.DONE: m.done(),
    m.FINAL: m.final("w-1", 7, "error", None, "Traceback ...", [(1, 0.5), [2, None]], ["epoch 1"]),
    m.HB: m.hb("w-1", None),
    m.OK: m.ok(),
    m.STOP: m.stop(7),
    m.ERR: m.err("unknown worker w-9"),
}


def test_constructors_cover_every_op_and_survive_the_wire() -> None:
    assert set(EVERY_OP) == set(m.SCHEMAS)
    for op, msg in EVERY_OP.items():
        assert msg["v"] == m.PROTOCOL_VERSION and msg["op"] == op
        assert set(m.SCHEMAS[op]) <= set(msg)
        decoded = decode_payload(SECRET, encode_frame(SECRET, msg)[4:])
        assert m.validate(decoded) == msg


def test_directions_partition_the_ops() -> None:
    assert set(m.SCHEMAS) == m.WORKER_TO_DRIVER | m.DRIVER_TO_WORKER
    assert {m.ERR} == m.WORKER_TO_DRIVER & m.DRIVER_TO_WORKER


def test_extra_fields_are_ignored() -> None:
    msg = dict(m.ok(), later_field=1)
    assert m.validate(msg) is msg


def _bad(**changes: Any) -> dict[str, Any]:
    msg = dict(EVERY_OP[m.FINAL])
    for key, value in changes.items():
        if value is _DROP:
            del msg[key]
        else:
            msg[key] = value
    return msg


_DROP = object()


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        ([], "must be an object"),
        (_bad(v=_DROP), "protocol version"),
        (_bad(v="1"), "protocol version"),
        (_bad(v=True), "protocol version"),
        (_bad(v=1), "version 1 is not supported"),
        (_bad(op=_DROP), "'op'"),
        (_bad(op="HELLO"), "unknown op 'HELLO'"),
        (_bad(op="X" * 1000), "unknown op"),
        (_bad(trial_id=_DROP), "FINAL is missing field 'trial_id'"),
        (_bad(trial_id="7"), "FINAL.trial_id must be an int, got str"),
        (_bad(trial_id=True), "FINAL.trial_id must be an int, got bool"),
        (_bad(status="crashed"), "FINAL.status must be one of"),
        (_bad(metric=math.nan), "FINAL.metric must be a finite number or null"),
        (_bad(metric="0.9"), "FINAL.metric"),
        (_bad(error=3), "FINAL.error"),
        (_bad(points=[[1]]), "FINAL.points"),
        (_bad(points=[[1, "a"]]), "FINAL.points"),
        (_bad(points=[[None, 1.0]]), "FINAL.points"),
        (_bad(points=((1, 2.0),)), "FINAL.points"),  # wire form only: lists
        (_bad(logs=["ok", 3]), "FINAL.logs"),
        (_bad(worker_id=None), "FINAL.worker_id"),
    ],
)
def test_validate_names_the_problem(msg: Any, reason: str) -> None:
    with pytest.raises(m.ProtocolError, match=reason) as info:
        m.validate(msg)
    assert len(str(info.value)) < 200  # peer-chosen strings are truncated


def test_validate_can_restrict_the_direction() -> None:
    assert m.validate(m.hb("w", 1), m.WORKER_TO_DRIVER)["op"] == m.HB
    with pytest.raises(m.ProtocolError, match="direction"):
        m.validate(m.trial(1, {}), m.WORKER_TO_DRIVER)


def test_constructors_reject_bad_values_at_the_sender() -> None:
    with pytest.raises(m.ProtocolError, match="metric"):
        m.final("w", 1, "ok", metric=math.nan)
    with pytest.raises(m.ProtocolError, match="status"):
        m.final("w", 1, "finished")
    with pytest.raises(m.ProtocolError, match="pid"):
        m.reg("w", "h", pid="123")  # type: ignore[arg-type]
    with pytest.raises(m.ProtocolError, match="budget"):
        m.trial(1, {}, budget=math.inf)
    with pytest.raises(m.ProtocolError, match="TRIAL.next"):
        m.trial(1, {}, queued={"trial_id": "2", "params": {}, "budget": None})
    with pytest.raises(m.ProtocolError, match="NEXT.next"):
        m.next_trial({"trial_id": 2, "params": [], "budget": None})


def test_a_trial_without_a_queued_one_says_so_explicitly() -> None:
    assert m.trial(1, {})["next"] is None and m.next_trial(None)["next"] is None
