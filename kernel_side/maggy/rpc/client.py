"""The worker's side: a blocking request/reply client over one TCP connection.

A worker opens two: the control connection (REG, FINAL; replies carry trials) and the heartbeat
connection (HB every hb_interval; replies OK/STOP), so a trial's heartbeats never wait behind a
FINAL that the driver holds until it has a next trial.

Any error that leaves the stream position unknown (a frame error, a timeout, a reset) closes the
client; later calls raise :class:`ConnectionClosed`. There is no reconnect: a worker that loses its
driver exits.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Collection

from maggy.rpc.framing import (
    DEFAULT_MAX_FRAME,
    ConnectionClosed,
    FrameError,
    check_params,
    encode_frame,
    recv_message,
)
from maggy.rpc.messages import DRIVER_TO_WORKER, Message, validate

__all__ = ["RpcClient"]

_CLOSE_WAIT = 5.0  # how long close() waits for an in-flight request to notice the shutdown


class RpcClient:
    """Connect to ``address`` (the driver's ``RpcServer.address``) and talk frames signed with ``secret``.

    Raises ``OSError`` (e.g. ``ConnectionRefusedError``, ``TimeoutError``) if the connection cannot
    be made within ``connect_timeout`` seconds. Replies are validated against ``ops``.
    Thread-safe: ``request`` and ``send`` are serialized by one lock, ``close`` may be called from
    any thread and wakes a request blocked on the reply.
    """

    def __init__(
        self,
        address: tuple[str, int],
        secret: bytes,
        connect_timeout: float = 10.0,
        max_frame: int = DEFAULT_MAX_FRAME,
        ops: Collection[str] = DRIVER_TO_WORKER,
    ) -> None:
        check_params(secret, max_frame)
        self._secret = bytes(secret)
        self._max_frame = max_frame
        self._ops = frozenset(ops)
        self._sock = socket.create_connection(address, timeout=connect_timeout)
        self._sock.settimeout(None)  # a FINAL's reply may legitimately wait for a free trial
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._io_lock = threading.Lock()  # one request/reply exchange at a time
        self._sock_lock = threading.Lock()  # shutdown() vs close(): never held across blocking I/O
        self._closed = False

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def request(self, message: Message, timeout: float | None = None) -> Message:
        """Send ``message`` and block until the driver's reply; return the validated reply.

        ``timeout`` (seconds, ``None`` = wait forever) bounds each wait on the socket; on expiry the
        client is closed and ``TimeoutError`` raised, because a late reply would otherwise be read
        as the answer to the next request. An ERR reply is returned, not raised.
        Raises: ``ValueError``/``TypeError``/``ProtocolError``/``OversizedFrame`` for an invalid
        ``message`` (nothing sent, client stays open); ``ConnectionClosed`` if the driver went away
        or the client is closed; another ``FrameError`` for a bad reply.
        """
        reply = self._exchange(self._encode(message), timeout, want_reply=True)
        assert reply is not None
        return reply

    def send(self, message: Message) -> None:
        """Send ``message`` without waiting for its reply. Raises as :meth:`request` does.

        A message the driver answers (a FINAL sent ahead, see the worker loop) must have its reply
        read with :meth:`receive` before the next :meth:`request`: replies come in request order.
        """
        self._exchange(self._encode(message), None, want_reply=False)

    def receive(self, timeout: float | None = None) -> Message:
        """Block until the next reply (to a message sent with :meth:`send`); return it validated.

        Raises as :meth:`request` does.
        """
        reply = self._exchange(None, timeout, want_reply=True)
        assert reply is not None
        return reply

    def close(self) -> None:
        """Close the connection; idempotent. A request blocked in another thread raises ConnectionClosed."""
        self._closed = True
        # shutdown() wakes a blocked recv without freeing the fd; OSError: already closed or reset.
        with self._sock_lock, contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        # Free the fd only once no request is inside a socket call, so it cannot be reused under it.
        acquired = self._io_lock.acquire(timeout=_CLOSE_WAIT)
        try:
            self._close_held()
        finally:
            if acquired:
                self._io_lock.release()

    def _exchange(self, frame: bytes | None, timeout: float | None, want_reply: bool) -> Message | None:
        with self._io_lock:
            if self._closed:
                raise ConnectionClosed("client is closed")
            try:
                self._sock.settimeout(timeout)
                if frame is not None:
                    self._sock.sendall(frame)
                if not want_reply:
                    return None
                return validate(recv_message(self._sock, self._secret, self._max_frame), self._ops)
            except (FrameError, TimeoutError):
                self._close_held()
                raise
            except OSError as exc:  # reset, broken pipe, or closed under us: the driver is gone
                self._close_held()
                raise ConnectionClosed(f"connection lost ({type(exc).__name__})") from exc
            except BaseException:  # e.g. KeyboardInterrupt mid-exchange: the stream position is unknown
                self._close_held()
                raise

    def _encode(self, message: Message) -> bytes:
        return encode_frame(self._secret, validate(message), self._max_frame)

    def _close_held(self) -> None:
        self._closed = True
        with self._sock_lock:
            self._sock.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"RpcClient({state})"
