"""The comm bridge between a kernel's maggy experiments and the JupyterLab Experiments panel.

Two ways a `maggy` comm comes to exist (protocol: docs/protocol.md, "Kernel <-> frontend"):

* :func:`attach` (called by ``maggy_jupyter.frontend`` for every ``lagom`` in a kernel) opens a comm
  from the kernel for that experiment and streams its events over it, coalesced to at most ten
  messages a second, until the experiment ends;
* the panel opens a comm to target ``maggy`` itself to list experiments (running and stored),
  fetch a trial, subscribe to a running experiment (e.g. after a page reload) or stop things.
  The target is registered when this module is first imported in a kernel, and again by every
  :func:`attach` (a restarted kernel is a new process, which imports it anew).

Importing this module outside a kernel registers nothing and costs little.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from maggy_jupyter.comm_bridge.bridge import DEFAULT_INTERVAL, Bridge
from maggy_jupyter.comm_bridge.wire import PROTOCOL_VERSION, TARGET

__all__ = [
    "DEFAULT_INTERVAL",
    "PROTOCOL_VERSION",
    "TARGET",
    "Bridge",
    "attach",
    "get_bridge",
    "register_target",
]

log = logging.getLogger("maggy")

_bridge: Bridge | None = None
_bridge_lock = threading.Lock()
_registered_with: Any = None  # the comm manager our target is registered with


def get_bridge() -> Bridge:
    """This kernel's one bridge (created on first use)."""
    global _bridge
    with _bridge_lock:
        if _bridge is None:
            import comm

            _bridge = Bridge(comm.create_comm)
        return _bridge


def attach(handle: Any) -> None:
    """Stream ``handle``'s experiment to the Experiments panel (idempotent per experiment).

    Called from the thread that runs ``lagom``, before the workers start. Never raises: a
    failing bridge must not stop the experiment.
    """
    try:
        register_target()
        get_bridge().attach(handle)
    except Exception:
        log.exception("maggy: the Experiments panel bridge failed to attach; the experiment runs without it")


def register_target() -> bool:
    """Register comm target ``maggy`` with this kernel's comm manager; False outside a kernel."""
    global _registered_with
    if not _in_kernel():
        return False
    import comm

    manager = comm.get_comm_manager()
    if manager is not _registered_with:
        manager.register_target(TARGET, get_bridge().on_comm_open)
        _registered_with = manager
    return True


def _in_kernel() -> bool:
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


try:
    register_target()
except Exception:  # pragma: no cover - a kernel without a usable comm manager
    log.exception("maggy: could not register the `maggy` comm target")
