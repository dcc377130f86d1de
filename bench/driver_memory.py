"""The driver's memory with long curves and logs (issue 12, item 10). Prints figures; asserts nothing.

One lagom run on local workers: 100 trials of 10,000 points each (1,000,000 points), every point
a ``reporter.broadcast``; with ``--lines N`` each trial also prints N lines of 86 characters. The driver (this process) is measured: its resident memory (VmRSS)
before the run, its peak during the run (VmHWM, the kernel's high-water mark, reset before the
run where Linux allows it, else sampled every 20 ms), and after. Then the store is read back to
check that it holds every point. The target: the driver under 150 MB RSS.

``--views`` also feeds every event to the live view's state and the comm bridge's stream (the
two in-kernel listeners of a notebook), to show that they stay bounded too.

``--baseline DIR`` first runs this same script against another checkout's ``kernel_side`` (e.g.
``git worktree add /tmp/base <commit>``) in a subprocess, for a before/after figure.

Figures on the development machine (2 shared cores), 1,000,000 points over 100 trials, driver
RSS before -> peak -> after the run:
    before the fix (every point kept by the driver, the store writer and the comm mirror, and
    the dispatcher's backlog unbounded):      46 -> 390 -> 335 MB; --views 47 -> 512 -> 463 MB
    after (bounded histories, points appended to the store, backpressure on the event queue):
                                              46 -> 104 -> 100 MB; --views 47 -> 127 -> 127 MB
The "after" figure stays near the peak because the allocator keeps freed memory for reuse.

Long logs, ``--trials 20 --points 100 --lines 200000`` (4,000,000 lines, 344 MB of text):
    before (every line kept by the driver, a running trial's whole log rewritten to the store
    every 2 s):                               39 -> 830 -> 750 MB in 28.6 s
    after (a 1,000-line tail per trial in the driver, lines appended to the store):
                                              40 -> 238 -> 154 MB in 21.3 s
The peak left is transient: heartbeat frames of up to 8 MiB being decoded, and lines waiting
for the store writer (the event queue holds back points, not lines). ``--views`` adds the comm
stream's mirror, which still keeps every line (with --lines 50000: 139 -> 245 MB after).

Usage: python bench/driver_memory.py [--trials 100] [--points 10000] [--lines 0] [--views] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def long_curve(i, points, lines, reporter):
    for step in range(int(points)):
        reporter.broadcast(1.0 - 1.0 / (step + 1 + i), step=step)
    for line in range(int(lines)):
        print(f"trial {i:4d} line {line:8d}: " + "x" * 60)  # 86 characters
    return float(i)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--points", type=int, default=10_000, help="points per trial")
    parser.add_argument("--lines", type=int, default=0, help="log lines (86 characters) per trial")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--views", action="store_true", help="also feed the live view and comm stream")
    parser.add_argument("--baseline", metavar="DIR", help="first run this script against DIR/kernel_side")
    args = parser.parse_args()
    if args.baseline:
        argv = [a for a in sys.argv[1:] if a != args.baseline and a != "--baseline"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([f"{args.baseline}/kernel_side", args.baseline]))
        print(f"== baseline: {args.baseline}", flush=True)
        subprocess.run([sys.executable, __file__, *argv], env=env, check=False)
        print("== this checkout", flush=True)

    from maggy import Searchspace, experiment
    from maggy.store import open_store

    listeners = []
    if args.views:
        from maggy_jupyter.comm_bridge.stream import ExperimentStream
        from maggy_jupyter.live_view.state import ExperimentState

        views: dict = {}

        def fold(event) -> None:
            if "state" not in views:
                views["state"] = ExperimentState(event.experiment_id)
                handle = type(
                    "H",
                    (),
                    {"experiment_id": event.experiment_id, "name": "", "num_trials": 0, "direction": "max"},
                )()
                views["stream"] = ExperimentStream(handle, interval=0.1, now=0.0)
            views["state"].apply(event, time.time())
            views["stream"].add(event)
            views["stream"].take(time.monotonic())  # as the flusher does: pending batches go out

        listeners.append(fold)

    store_path = Path(tempfile.mkdtemp(prefix="maggy-bench-")) / "store.db"
    total = args.trials * args.points
    before = rss_mb()
    try:  # reset the high-water mark so that VmHWM is this run's peak (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
        resettable = True
    except OSError:
        resettable = False
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    result = experiment.lagom(
        long_curve,
        searchspace=Searchspace(
            i=("DISCRETE", list(range(args.trials))),
            points=("DISCRETE", [args.points]),
            lines=("DISCRETE", [args.lines]),
        ),
        optimizer="gridsearch",
        num_trials=args.trials,
        num_workers=args.workers,
        es_policy="none",
        store=str(store_path),
        progress=False,
        listeners=listeners,
    )
    elapsed = time.perf_counter() - t0
    done.set()
    sampler.join()
    hwm = rss_mb("VmHWM") if resettable else peak[0]
    after = rss_mb()
    try:
        store = open_store(store_path, read_only=True)
    except TypeError:  # a baseline from before read-only opening
        store = open_store(store_path)
    with store:
        trials = store.get_trials(result["experiment_id"])
        stored = sum(len(t.history) for t in trials)
        stored_lines = sum(len(t.logs) for t in trials)
    print(
        f"{args.trials} trials x {args.points} points = {total:,} points in {elapsed:.1f} s"
        f"{' (with live view + comm stream)' if args.views else ''}"
    )
    print(f"driver RSS: before {before:.0f} MB, peak {max(hwm, peak[0]):.0f} MB, after {after:.0f} MB")
    print(
        f"store holds {stored:,} of {total:,} points, {stored_lines:,} of {args.trials * args.lines:,} log lines; "
        f"result: {result['num_trials']} trials, {result['status']}"
    )


if __name__ == "__main__":
    main()
