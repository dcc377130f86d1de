"""Entry point of a local worker process: ``python -m maggy.worker``.

The local backend writes one cloudpickled bootstrap dict to this process's stdin (the backend's
own channel: the secret and the user's function never travel over the RPC wire) and closes it.
"""

from __future__ import annotations

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

    run_worker(
        tuple(boot["address"]),
        boot["secret"],
        map_fun,
        boot["worker_id"],
        boot["hb_interval"],
        attempt=boot.get("attempt", 0),
        info={"backend": "local"},
        on_driver_lost=lambda: os._exit(3),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
