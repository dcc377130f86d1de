"""Entry point of a local worker process: ``python -m maggy.worker``.

The local backend writes one cloudpickled bootstrap dict to this process's stdin (the backend's
own channel: the secret and the user's function never travel over the RPC wire) and closes it.

A local worker leads a session of its own (the backend starts it so, or the fork server does), so
its process group holds whatever its trials started and left in it. Before it exits, whether it
was answered DONE or lost its driver, it kills the rest of that group: no trial's child outlives
its worker, even where the backend no longer runs to do it (the kernel exited or was killed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys


def main() -> int:
    # Ctrl-C belongs to the driver, which stops workers itself; a worker must not die mid-frame.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import cloudpickle

    boot = cloudpickle.loads(sys.stdin.buffer.read())
    for entry in reversed(boot["sys_path"]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    map_fun = cloudpickle.loads(boot["map_fun"])
    from maggy.worker.loop import run_worker

    def driver_lost() -> None:
        end_own_group()
        os._exit(3)

    try:
        run_worker(
            tuple(boot["address"]),
            boot["secret"],
            map_fun,
            boot["worker_id"],
            boot["hb_interval"],
            attempt=boot.get("attempt", 0),
            info={"backend": "local"},
            on_driver_lost=driver_lost,
        )
    finally:
        end_own_group()
    return 0


def end_own_group() -> None:
    """Kill every other process of this process's group, if this process leads it (Linux).

    Each one is pinned by a pidfd, then checked to be in the group still, then signalled through
    the pidfd: a pid recycled meanwhile is never signalled. Elsewhere (no /proc) this does nothing:
    the backend kills the group when it reaps this process.
    """
    me = os.getpid()
    if os.getpgid(0) != me or not os.path.isdir("/proc") or not hasattr(os, "pidfd_open"):
        return
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        if _group_of(pid) != me:
            continue
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # gone meanwhile
            continue
        try:
            if _group_of(pid) == me:  # still the process we looked at, and still in our group
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        finally:
            os.close(pidfd)


def _group_of(pid: int) -> int | None:
    """Process ``pid``'s process group id from /proc (None if it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[2])
    except (OSError, IndexError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
