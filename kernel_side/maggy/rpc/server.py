"""The driver's TCP server: one accept thread, one daemon thread per connection.

Workers are few (one control and one heartbeat connection each), so a thread per connection is the
simplest design that lets a handler block, e.g. FINAL waiting until the optimizer has a next trial.

Limits on peers that have not proven they hold the secret (a connection is *authenticated* once
its first frame passed the HMAC check and the schema): at most ``max_unauthenticated`` of them at
a time (an extra one waits in the listen backlog for up to half a second, then is closed with a
WARNING); their first frame must arrive whole within ``auth_timeout`` seconds of the accept and be
at most ``max_first_frame`` bytes (a worker opens with a small REG or an empty HB). On every
connection a frame whose first byte arrived must complete within ``frame_timeout`` seconds; the
wait between frames of an authenticated connection is unbounded (a control connection is idle
for a whole trial). So a stray local process costs at most ``max_unauthenticated`` threads and
``max_unauthenticated * max_first_frame`` bytes, for a few seconds each.

Threading contract:
- ``handler(msg, conn)`` runs on the connection's thread; calls for one connection are sequential,
  calls for different connections run concurrently, so shared driver state needs the driver's lock.
- ``on_disconnect(conn, reason)`` runs exactly once per accepted connection, on its thread or on
  the thread calling ``stop()`` (for a handler still blocked when stop's timeout ran out).
- A frame that fails authentication, size, decoding or validation closes that connection only,
  with a WARNING on the ``maggy.rpc`` logger naming peer, reason and frame length (never the bytes,
  never the secret). A handler exception is logged and answered with ERR; the connection stays up.
"""

from __future__ import annotations

import contextlib
import logging
import math
import selectors
import socket
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from maggy._threads import join_if_started
from maggy.rpc.framing import (
    DEFAULT_MAX_FRAME,
    ConnectionClosed,
    FrameError,
    check_params,
    encode_frame,
    recv_message,
)
from maggy.rpc.messages import WORKER_TO_DRIVER, Message, err, validate

__all__ = ["Connection", "DisconnectCallback", "Handler", "RpcServer", "route"]

logger = logging.getLogger("maggy.rpc")

Handler = Callable[[Message, "Connection"], "Message | None"]
DisconnectCallback = Callable[["Connection", str], None]

STOPPED = "server stopped"
_MAX_ERR_REASON = 500

DEFAULT_MAX_UNAUTHENTICATED = 32
DEFAULT_AUTH_TIMEOUT = 5.0
DEFAULT_FRAME_TIMEOUT = 10.0
DEFAULT_MAX_FIRST_FRAME = 256 * 1024

# How long the accept thread waits for an unauthenticated slot before it closes the newcomer:
# real workers authenticate within milliseconds of connecting, so a burst of them only waits.
_ADMIT_WAIT = 0.5
# At most one "refused" WARNING per this many seconds (a flood must not flood the log).
_REFUSAL_LOG_EVERY = 5.0


class Connection:
    """One accepted connection, as the handler sees it.

    ``state`` belongs to the handler (e.g. ``state["worker_id"]`` after REG); the server never
    reads it. ``conn_id`` is unique within one server.
    """

    def __init__(self, conn_id: int, peer: Any, sock: socket.socket) -> None:
        self.conn_id = conn_id
        self.peer: tuple[Any, ...] = tuple(peer) if isinstance(peer, tuple) else (peer,)
        self.state: dict[str, Any] = {}
        self.authenticated = False  # set (by the server) once a frame passed the HMAC and the schema
        self.accepted_at = time.monotonic()
        self._sock = sock
        # Serializes close() against stop()'s shutdown(): a shutdown racing a close could hit a
        # reused file descriptor belonging to some other socket.
        self._sock_lock = threading.Lock()
        self._finished = False
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Connection(conn_id={self.conn_id}, peer={self.peer!r})"

    def _shutdown(self) -> None:
        # Wakes a thread blocked in recv (it reads EOF); unlike close(), safe while another thread uses it.
        # OSError: already closed, or the peer reset it first.
        with self._sock_lock, contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def _close(self) -> None:
        with self._sock_lock:
            self._sock.close()


def route(table: Mapping[str, Handler]) -> Handler:
    """Return a handler dispatching on ``msg["op"]`` through ``table``; ops without an entry get ERR."""
    handlers = dict(table)

    def dispatch(msg: Message, conn: Connection) -> Message | None:
        handler = handlers.get(msg["op"])
        if handler is None:
            return err(f"no handler for op {msg['op']}")
        return handler(msg, conn)

    return dispatch


class RpcServer:
    """Authenticated request/reply server for worker -> driver messages.

    ``host`` is bound exactly as given (``127.0.0.1`` by default; pass ``spark.driver.host`` for a
    cluster; a wildcard only if the caller asks for one). ``port=0`` picks a free port; read it
    from :attr:`address` after :meth:`start`. ``ops`` is the set of ops accepted from peers.
    ``max_unauthenticated``, ``auth_timeout``, ``max_first_frame`` and ``frame_timeout`` bound
    what a peer costs before and while it sends frames (see the module docstring).
    """

    def __init__(
        self,
        secret: bytes,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        max_frame: int = DEFAULT_MAX_FRAME,
        on_disconnect: DisconnectCallback | None = None,
        name: str = "maggy-rpc",
        ops: Collection[str] = WORKER_TO_DRIVER,
        max_unauthenticated: int = DEFAULT_MAX_UNAUTHENTICATED,
        auth_timeout: float = DEFAULT_AUTH_TIMEOUT,
        frame_timeout: float = DEFAULT_FRAME_TIMEOUT,
        max_first_frame: int = DEFAULT_MAX_FIRST_FRAME,
    ) -> None:
        check_params(secret, max_frame)
        if isinstance(max_unauthenticated, bool) or not isinstance(max_unauthenticated, int):
            raise TypeError(f"max_unauthenticated must be an int, got {type(max_unauthenticated).__name__}")
        if max_unauthenticated < 1:
            raise ValueError(f"max_unauthenticated must be at least 1, got {max_unauthenticated}")
        for what, seconds in (("auth_timeout", auth_timeout), ("frame_timeout", frame_timeout)):
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < 86400:
                raise ValueError(f"{what} must be a number of seconds in (0, 86400), got {seconds!r}")
        if (
            isinstance(max_first_frame, bool)
            or not isinstance(max_first_frame, int)
            or max_first_frame <= 1024
        ):
            raise ValueError(f"max_first_frame must be an int over 1024 bytes, got {max_first_frame!r}")
        self._max_unauthenticated = max_unauthenticated
        self._auth_timeout = float(auth_timeout)
        self._frame_timeout = float(frame_timeout)
        self._max_first_frame = min(max_first_frame, max_frame)
        self._secret = bytes(secret)
        self._handler = handler
        self._host = host
        self._port = port
        self._max_frame = max_frame
        self._on_disconnect = on_disconnect
        self._name = name
        self._ops = frozenset(ops)
        self._lock = threading.Lock()  # guards _conns, _next_id, _unauthenticated, the stopping check
        self._slot_free = threading.Condition(self._lock)  # notified when _unauthenticated drops
        self._unauthenticated = 0  # admitted connections that have not authenticated yet
        self._refused = 0  # refused connections not yet reported in a WARNING (accept thread only)
        self._refusal_logged_at = -math.inf
        self._conns: dict[int, Connection] = {}
        self._next_id = 0
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._address: tuple[str, int] | None = None

    def __enter__(self) -> RpcServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)``; valid after :meth:`start` (and still readable after :meth:`stop`)."""
        if self._address is None:
            raise RuntimeError("server not started")
        return self._address

    def start(self) -> None:
        """Bind, listen and start accepting. Raises ``OSError`` if the address cannot be bound."""
        if self._listener is not None or self._stopping.is_set():
            raise RuntimeError("an RpcServer can be started once")
        family = socket.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM)[0][0]
        self._listener = socket.create_server((self._host, self._port), family=family, backlog=64)
        self._listener.setblocking(False)
        host, port = self._listener.getsockname()[:2]
        self._address = (host, port)
        # The accept thread waits on the listener and on this pair, so stop() can wake it portably.
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"{self._name}-accept", daemon=True
        )
        self._accept_thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection; join threads for at most ``timeout`` seconds.

        Connection threads blocked in recv wake at once. A handler that is still blocked after the
        timeout is abandoned (daemon thread, socket closed) and its ``on_disconnect`` is called here.
        Idempotent.
        """
        with self._lock:
            if self._stopping.is_set() or self._listener is None:
                self._stopping.set()
                return
            self._stopping.set()
            self._slot_free.notify_all()  # the accept thread may be waiting for a slot
            conns = list(self._conns.values())
        deadline = time.monotonic() + timeout
        if self._wake_w is not None:  # None: a Ctrl-C cut start() short before the pair existed
            self._wake_w.send(b"x")
        join_if_started(self._accept_thread, timeout)
        for sock in (self._listener, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        for conn in conns:
            conn._shutdown()
        for conn in conns:
            if conn._thread is not None:
                conn._thread.join(max(0.0, deadline - time.monotonic()))
        for conn in conns:
            if conn._thread is not None and conn._thread.is_alive():
                logger.warning(
                    "%s: handler for connection %d still busy after stop(); abandoning it",
                    self._name,
                    conn.conn_id,
                )
                conn._close()
                self._finish(conn, STOPPED)

    # -- threads ---------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake_r is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                events = selector.select()
                if any(key.fileobj is self._wake_r for key, _ in events):
                    return
                with self._slot_free:
                    # Leave newcomers in the listen backlog while the unauthenticated slots are full.
                    self._slot_free.wait_for(
                        lambda: self._unauthenticated < self._max_unauthenticated or self._stopping.is_set(),
                        _ADMIT_WAIT,
                    )
                try:
                    sock, peer = self._listener.accept()
                except BlockingIOError:
                    continue  # the peer gave up between select() and accept()
                except OSError as exc:
                    if self._stopping.is_set():
                        return
                    # e.g. out of file descriptors: back off instead of spinning on a readable listener.
                    logger.warning("%s: accept failed: %s", self._name, exc)
                    self._stopping.wait(0.1)
                    continue
                self._admit(sock, peer)

    def _admit(self, sock: socket.socket, peer: Any) -> None:
        sock.setblocking(True)  # accepted sockets may inherit the listener's non-blocking mode
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self._stopping.is_set():
                sock.close()
                return
            refused = self._unauthenticated >= self._max_unauthenticated
            if not refused:
                conn = Connection(self._next_id, peer, sock)
                self._next_id += 1
                self._conns[conn.conn_id] = conn
                self._unauthenticated += 1
                conn._thread = threading.Thread(
                    target=self._serve, args=(conn,), name=f"{self._name}-conn-{conn.conn_id}", daemon=True
                )
                # Started under the lock so that stop() never sees (and joins) a thread not yet started.
                conn._thread.start()
        if refused:
            sock.close()
            self._log_refusal(peer)
            return
        logger.debug("%s: connection %d from %s", self._name, conn.conn_id, conn.peer)

    def _serve(self, conn: Connection) -> None:
        reason = STOPPED
        try:
            reason = self._serve_loop(conn)
        except Exception:
            logger.exception("%s: connection %d failed", self._name, conn.conn_id)
            reason = "internal server error"
        finally:
            conn._close()
            self._finish(conn, reason)

    def _log_refusal(self, peer: Any) -> None:
        """WARNING about refused connections, at most one per _REFUSAL_LOG_EVERY seconds (accept thread)."""
        self._refused += 1
        now = time.monotonic()
        if now - self._refusal_logged_at < _REFUSAL_LOG_EVERY:
            return
        logger.warning(
            "%s: refused %d connection(s), the latest from %s: %d connections have not authenticated yet "
            "(max_unauthenticated=%d); a stray or hostile local process may be connecting",
            self._name,
            self._refused,
            peer,
            self._max_unauthenticated,
            self._max_unauthenticated,
        )
        self._refused, self._refusal_logged_at = 0, now

    def _authenticated(self, conn: Connection) -> None:
        with self._lock:
            if not conn.authenticated:
                conn.authenticated = True
                self._unauthenticated -= 1
                self._slot_free.notify()

    def _serve_loop(self, conn: Connection) -> str:
        """Serve one connection until it ends; return why it ended (the ``on_disconnect`` reason)."""
        while True:
            try:
                if conn.authenticated:
                    raw = recv_message(
                        conn._sock, self._secret, self._max_frame, frame_timeout=self._frame_timeout
                    )
                else:
                    raw = recv_message(
                        conn._sock,
                        self._secret,
                        self._max_first_frame,
                        deadline=conn.accepted_at + self._auth_timeout,
                        frame_timeout=self._frame_timeout,
                    )
                msg = validate(raw, self._ops)
                if not conn.authenticated:  # only this thread sets it before the connection ends
                    self._authenticated(conn)
            except ConnectionClosed as exc:
                return STOPPED if self._stopping.is_set() else exc.reason
            except FrameError as exc:
                if self._stopping.is_set():
                    return STOPPED  # our own shutdown cut a frame short
                logger.warning(
                    "%s: dropping %s connection %d from %s: %s: %s (frame length %s)",
                    self._name,
                    "authenticated" if conn.authenticated else "unauthenticated",
                    conn.conn_id,
                    conn.peer,
                    type(exc).__name__,
                    exc.reason,
                    exc.length,
                )
                return f"{type(exc).__name__}: {exc.reason}"
            except OSError as exc:
                return STOPPED if self._stopping.is_set() else f"socket error: {exc}"
            frame = self._reply_frame(msg, conn)
            if frame is None:
                continue
            try:
                conn._sock.sendall(frame)
            except OSError as exc:
                return STOPPED if self._stopping.is_set() else f"socket error while replying: {exc}"

    def _reply_frame(self, msg: Message, conn: Connection) -> bytes | None:
        """Run the handler; return the encoded reply, an encoded ERR if it failed, or None for no reply."""
        try:
            reply = self._handler(msg, conn)
            if reply is None:
                return None
            return encode_frame(self._secret, validate(reply), self._max_frame)
        except Exception as exc:
            # A driver bug must not take the worker's connection (or the server) down with it.
            logger.exception(
                "%s: handler failed on %s from connection %d", self._name, msg["op"], conn.conn_id
            )
            reason = f"handler failed on {msg['op']}: {type(exc).__name__}: {exc}"[:_MAX_ERR_REASON]
            return encode_frame(self._secret, err(reason), self._max_frame)

    def _finish(self, conn: Connection, reason: str) -> None:
        with self._lock:
            if conn._finished:
                return
            conn._finished = True
            self._conns.pop(conn.conn_id, None)
            if not conn.authenticated:
                conn.authenticated = True  # its slot is free again
                self._unauthenticated -= 1
                self._slot_free.notify()
        logger.debug("%s: connection %d from %s ended: %s", self._name, conn.conn_id, conn.peer, reason)
        if self._on_disconnect is not None:
            try:
                self._on_disconnect(conn, reason)
            except Exception:
                logger.exception("%s: on_disconnect failed for connection %d", self._name, conn.conn_id)
