"""Authenticated, length-prefixed JSON frames over a byte stream.

A frame on the wire is::

    +----------------------+------------------------+------------------------------+
    | N: uint32 big-endian | tag: 32 bytes          | payload: N - 32 bytes        |
    |                      | HMAC-SHA256(secret,    | UTF-8 JSON object            |
    |                      |             payload)   | (strict: no NaN / Infinity)  |
    +----------------------+------------------------+------------------------------+

Receiving is ordered so that an unauthenticated peer can make us do as little as possible: the
length is checked against ``max_frame`` before any body byte is read, memory grows only with the
bytes that actually arrive (never with the announced length: reads go through a 64 KiB scratch
buffer into a ``bytearray`` that grows as bytes come), the tag is checked with
``hmac.compare_digest`` before the payload is decoded, and the payload is only ever JSON (never
pickle). No exception message raised here contains payload bytes or the secret, so callers may log
them as they are.

Time limits (the server's, see ``recv_message``): ``deadline`` bounds a whole frame including the
wait for its first byte (an unauthenticated connection's first frame); ``frame_timeout`` bounds a
frame once its first byte has arrived (a started frame must complete; the wait between frames is
unbounded, since a control connection idles for a whole trial). Either expiring raises
:class:`FrameTimeout`.

EOF policy: EOF before the first header byte is a clean end of the conversation and raises
:class:`ConnectionClosed`. EOF anywhere inside a frame raises :class:`MalformedFrame`: the bytes
already read cannot be authenticated, and a well-behaved peer never half-writes a frame unless it
died mid-write, which the server should log. A reset/broken connection (``ConnectionError``) is
reported as :class:`ConnectionClosed`, because for the caller it means the same: the peer is gone.

NaN and infinities are not JSON. ``encode_frame`` raises ``ValueError`` for them and the decoder
rejects them, so the wire stays strict JSON that any language can read. Callers convert NaN to
``None`` (or drop the value) before building a message.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import socket
import struct
import time
from typing import Any, NoReturn

__all__ = [
    "DEFAULT_MAX_FRAME",
    "HEADER",
    "SECRET_LEN",
    "TAG_LEN",
    "AuthenticationError",
    "ConnectionClosed",
    "FrameError",
    "FrameTimeout",
    "MalformedFrame",
    "OversizedFrame",
    "check_params",
    "decode_payload",
    "encode_frame",
    "new_secret",
    "recv_message",
    "send_message",
]

DEFAULT_MAX_FRAME = 8 * 1024 * 1024
"""Largest accepted N (tag + payload), in bytes. A heartbeat or FINAL is a few KiB at most."""

HEADER = struct.Struct(">I")
TAG_LEN = hashlib.sha256().digest_size  # 32
SECRET_LEN = 32

# Size of the scratch buffer each read goes through. socket.recv(n) allocates n bytes whatever
# arrives, so reads go through recv_into this buffer and are appended to a bytearray that grows
# with the bytes actually received: a peer announcing 8 MiB and sending 10 bytes costs ~64 KiB.
_RECV_CHUNK = 64 * 1024


class FrameError(Exception):
    """Base of every error raised while reading or writing a frame.

    ``length`` is the announced frame length N when known (for logs), else ``None``.
    """

    def __init__(self, reason: str, length: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.length = length


class AuthenticationError(FrameError):
    """The frame's HMAC tag does not match its payload under our secret (forged, tampered, or wrong secret)."""


class OversizedFrame(FrameError):
    """The announced length exceeds ``max_frame``; the body was not read."""


class MalformedFrame(FrameError):
    """The frame is truncated, too short, not UTF-8, not strict JSON, or not a JSON object."""


class ConnectionClosed(FrameError):
    """The peer closed (or reset) the connection between frames; no message was lost mid-frame."""


class FrameTimeout(FrameError):
    """A frame did not arrive in time (``deadline`` or ``frame_timeout`` of :func:`recv_message`).

    The stream position is unknown afterwards: close the connection.
    """


def new_secret() -> bytes:
    """Return a fresh 32-byte secret from the OS CSPRNG. One per experiment; never logged."""
    return secrets.token_bytes(SECRET_LEN)


def check_params(secret: bytes, max_frame: int) -> None:
    """Raise ``ValueError`` for a secret or frame limit that would make a channel weak or unusable.

    Endpoints (server, client) call this once at construction; the per-frame functions do not.
    """
    if not isinstance(secret, (bytes, bytearray)) or len(secret) < 16:
        raise ValueError("secret must be at least 16 bytes (use new_secret())")
    if not TAG_LEN < max_frame < 2**32:  # N must fit the 4-byte header
        raise ValueError(f"max_frame must be in ({TAG_LEN}, 2**32), got {max_frame}")


def _tag(secret: bytes, payload: bytes | memoryview) -> bytes:
    return hmac.digest(secret, payload, "sha256")


def encode_frame(secret: bytes, message: dict[str, Any], max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    """Serialize ``message`` into one complete frame (header, tag, payload).

    Raises ``TypeError`` if ``message`` is not a dict or holds a value JSON cannot encode,
    ``ValueError`` if it holds NaN or +-Infinity, and :class:`OversizedFrame` if the frame would
    exceed ``max_frame`` (better to fail at the sender than to be cut off by the receiver).
    """
    if not isinstance(message, dict):
        raise TypeError(f"a message must be a dict, not {type(message).__name__}")
    payload = json.dumps(message, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    length = TAG_LEN + len(payload)
    if length > max_frame:
        raise OversizedFrame(f"message of {length} bytes exceeds max_frame={max_frame}", length)
    return HEADER.pack(length) + _tag(secret, payload) + payload


def _reject_constant(name: str) -> NoReturn:
    # json.loads accepts NaN/Infinity/-Infinity by default; strict JSON does not.
    raise ValueError(f"non-finite number {name} is not allowed")


def decode_payload(secret: bytes, body: bytes | bytearray) -> dict[str, Any]:
    """Authenticate and decode a frame body (tag + payload, i.e. the N bytes after the header).

    The tag is verified in constant time before anything is parsed. Raises
    :class:`AuthenticationError` or :class:`MalformedFrame`; returns the decoded JSON object.
    """
    length = len(body)
    if length <= TAG_LEN:
        raise MalformedFrame(f"frame of {length} bytes is too short for a tag and a payload", length)
    with memoryview(body) as view:  # slices of a view share the body's memory: no 8 MiB copies
        tag, payload = bytes(view[:TAG_LEN]), view[TAG_LEN:]
        if not hmac.compare_digest(tag, _tag(secret, payload)):
            raise AuthenticationError("HMAC verification failed", length)
        try:
            text = str(payload, "utf-8")
        except UnicodeDecodeError:
            raise MalformedFrame("payload is not valid UTF-8", length) from None
        finally:
            payload.release()
    try:
        message = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise MalformedFrame("payload JSON is nested too deeply", length) from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError, and so is _reject_constant's
        raise MalformedFrame(f"payload is not strict JSON ({_short(exc)})", length) from None
    if not isinstance(message, dict):
        raise MalformedFrame(f"payload is a JSON {type(message).__name__}, not an object", length)
    return message


def _short(exc: ValueError) -> str:
    # JSONDecodeError's str() is "msg: line L column C (char P)": positions only, no payload text.
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)


def send_message(
    sock: socket.socket, secret: bytes, message: dict[str, Any], max_frame: int = DEFAULT_MAX_FRAME
) -> None:
    """Encode ``message`` and write the whole frame with one ``sendall``.

    Not thread-safe on its own: concurrent writers on one socket must hold a lock, or frames
    interleave. Raises what :func:`encode_frame` raises (nothing is sent then), and
    :class:`ConnectionClosed` if the peer reset the connection.
    """
    frame = encode_frame(secret, message, max_frame)
    try:
        sock.sendall(frame)
    except ConnectionError as exc:
        raise ConnectionClosed(f"connection lost while sending ({type(exc).__name__})") from exc


class _Reader:
    """Reads exact byte counts from ``sock`` under the time limits of one :func:`recv_message` call."""

    def __init__(self, sock: socket.socket, deadline: float | None, frame_timeout: float | None) -> None:
        self.sock = sock
        self.deadline = deadline
        self.frame_timeout = frame_timeout
        self.timed = deadline is not None or frame_timeout is not None
        self.scratch: memoryview | None = None

    def started(self) -> None:
        """The frame's first byte arrived: from now on it must complete within ``frame_timeout``."""
        if self.frame_timeout is not None:
            limit = time.monotonic() + self.frame_timeout
            self.deadline = limit if self.deadline is None else min(self.deadline, limit)

    @staticmethod
    def _late(got: int, n: int, what: str, length: int | None) -> FrameTimeout:
        return FrameTimeout(f"frame not complete in time ({got} of {n} {what} bytes read)", length)

    def read(self, n: int, what: str, length: int | None, into: bytearray | None = None) -> bytearray:
        """Read exactly ``n`` bytes. EOF before the first byte returns an empty bytearray; after it,
        :class:`MalformedFrame`. Memory grows with the bytes received, never ahead of them."""
        buf = bytearray() if into is None else into
        base = len(buf)
        if self.scratch is None or len(self.scratch) < min(n, _RECV_CHUNK):
            self.scratch = memoryview(bytearray(min(n, _RECV_CHUNK)))
        scratch = self.scratch
        while (got := len(buf) - base) < n:
            if self.timed:
                # The wait for a frame's first byte is unbounded unless a deadline covers it.
                remaining = None if self.deadline is None else self.deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise self._late(got, n, what, length)
                self.sock.settimeout(remaining)
            try:
                k = self.sock.recv_into(scratch, min(n - got, len(scratch)))
            except TimeoutError:
                if not self.timed:
                    raise  # the caller's own socket timeout (RpcClient.request): its business
                raise self._late(got, n, what, length) from None
            if not k:
                if got == 0 and into is None:
                    return buf
                raise MalformedFrame(f"connection closed mid-frame ({got} of {n} {what} bytes read)", length)
            buf += scratch[:k]
        return buf


def recv_message(
    sock: socket.socket,
    secret: bytes,
    max_frame: int = DEFAULT_MAX_FRAME,
    *,
    deadline: float | None = None,
    frame_timeout: float | None = None,
) -> dict[str, Any]:
    """Block until one complete frame has arrived; return its authenticated JSON object.

    Raises :class:`ConnectionClosed` on a clean EOF (or reset) between frames,
    :class:`OversizedFrame` if the announced length exceeds ``max_frame`` (the body is not read, so
    the stream is unusable afterwards: close the connection), :class:`MalformedFrame` or
    :class:`AuthenticationError` as described in the module docstring.

    Time limits: ``deadline`` (a ``time.monotonic()`` value) bounds the whole frame, first byte
    included; ``frame_timeout`` (seconds) bounds it from its first byte on. Either expiring raises
    :class:`FrameTimeout`. With either given, this call owns the socket's timeout (it waits for the
    first byte without one unless ``deadline`` is set, and leaves the socket blocking); with
    neither, the socket's own timeout applies and ``TimeoutError`` propagates. After any timeout
    the stream position is unknown and the connection must be closed.
    The returned dict is not checked against the message schemas; see ``messages.validate``.
    """
    reader = _Reader(sock, deadline, frame_timeout)
    try:
        header = reader.read(1, "header", None)
        if not header:
            raise ConnectionClosed("connection closed by peer")
        reader.started()
        reader.read(HEADER.size - 1, "header", None, into=header)
        (length,) = HEADER.unpack(header)
        if length > max_frame:
            raise OversizedFrame(f"announced frame of {length} bytes exceeds max_frame={max_frame}", length)
        if length <= TAG_LEN:
            raise MalformedFrame(f"frame of {length} bytes is too short for a tag and a payload", length)
        body = reader.read(length, "body", length, into=bytearray())
    except ConnectionError as exc:
        raise ConnectionClosed(f"connection lost ({type(exc).__name__})") from exc
    finally:
        if reader.timed:
            # OSError: closed under us by a concurrent stop(); the read has failed already.
            with contextlib.suppress(OSError):
                sock.settimeout(None)
    return decode_payload(secret, body)
