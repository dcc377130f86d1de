"""Driver <-> worker RPC: authenticated JSON frames over TCP (spec: docs/protocol.md).

Modules: ``framing`` (bytes on the wire, HMAC, limits), ``messages`` (ops, schemas, constructors),
``server`` (the driver's threaded server), ``client`` (the worker's blocking client). Only stdlib.
"""

from __future__ import annotations

from maggy.rpc import messages
from maggy.rpc.client import RpcClient
from maggy.rpc.framing import (
    DEFAULT_MAX_FRAME,
    AuthenticationError,
    ConnectionClosed,
    FrameError,
    MalformedFrame,
    OversizedFrame,
    new_secret,
)
from maggy.rpc.messages import PROTOCOL_VERSION, ProtocolError
from maggy.rpc.server import Connection, RpcServer, route

__all__ = [
    "DEFAULT_MAX_FRAME",
    "PROTOCOL_VERSION",
    "AuthenticationError",
    "Connection",
    "ConnectionClosed",
    "FrameError",
    "MalformedFrame",
    "OversizedFrame",
    "ProtocolError",
    "RpcClient",
    "RpcServer",
    "messages",
    "new_secret",
    "route",
]
