"""Kernel -> browser bytes of the Experiments panel's stream at 1,000 and 10,000 trials.

The Python half of ``bench/panel_scale.mjs``. Feeds ``maggy_jupyter.comm_bridge.stream.ExperimentStream``
(the kernel end of the ``maggy`` comm) the events of an experiment of N finished trials, each
reporting ``--points`` metric points, and prints:

- the bytes of all its batches (what a page that watched the whole run received), batches coalesced
  as the bridge does at 10 a second with ``--workers`` trials running at once, each trial ~2 s;
- the bytes of one snapshot at the end (what a page that subscribes then receives at once).

Bytes are the JSON of the message content as Jupyter's session packs it (``json.dumps`` with its
default separators), without the ~600 bytes of Jupyter message header each comm message adds.
With ``--write DIR`` it also writes ``DIR/snapshot-N.json``, the snapshot the node half folds.

Run: ``.venv/bin/python bench/panel_scale.py [--trials 1000 10000] [--write /tmp/panel-scale]``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from maggy.core import events as ev
from maggy.trial import Trial, TrialState
from maggy_jupyter.comm_bridge.stream import ExperimentStream

EXP = "20260101-000000-bench0"


def _size(msg: dict[str, Any]) -> int:
    return len(json.dumps(msg, ensure_ascii=False, allow_nan=False).encode())


def run(num_trials: int, points: int, workers: int, seed: int = 0) -> tuple[dict[str, Any], dict[str, float]]:
    """Stream an experiment of ``num_trials``; returns its final snapshot and byte figures."""
    rng = random.Random(seed)
    handle = SimpleNamespace(experiment_id=EXP, name="bench", num_trials=num_trials, direction="max")
    stream = ExperimentStream(handle, interval=0.1, now=0.0)
    stream.add(ev.ExperimentStarted(EXP, "bench", num_trials, workers, ("127.0.0.1", 0)), now=0.0)
    trial_seconds = 2.0
    tick = 0.1
    steps_per_tick = max(1, math.ceil(points * tick / trial_seconds))
    batch_bytes = 0
    batches = 0
    started = 0
    running: dict[int, tuple[Trial, int]] = {}  # trial id -> (trial, next step)
    now = 0.0
    while started < num_trials or running:
        while len(running) < workers and started < num_trials:
            params = {
                "learning_rate": 10 ** rng.uniform(-4, -1),
                "dropout_probability": rng.uniform(0, 0.5),
                "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
                "hidden_units": rng.choice([32, 64, 128, 256]),
            }
            trial = Trial(started, params, TrialState.RUNNING, start=now)
            stream.add(ev.TrialStarted(EXP, trial), now=now)
            running[started] = (trial, 0)
            started += 1
        for trial_id, (trial, step) in list(running.items()):
            upto = min(points, step + steps_per_tick)
            stream.add(
                ev.MetricPoints(
                    EXP, trial_id, [[s, 0.5 + 0.4 * (1 - math.exp(-s / 10))] for s in range(step, upto)]
                ),
                now=now,
            )
            if upto >= points:
                done = Trial(
                    trial_id, trial.params, TrialState.FINISHED, metric=0.9, start=trial.start, end=now
                )
                stream.add(ev.TrialFinished(EXP, done), now=now)
                del running[trial_id]
            else:
                running[trial_id] = (trial, upto)
        now += tick
        msg = stream.take(now, force=True)
        if msg is not None:
            batch_bytes += _size(msg)
            batches += 1
    stream.add(ev.ExperimentFinished(EXP, "FINISHED", {"best_val": 0.9}), now=now)
    last = stream.take(now, force=True)
    if last is not None:
        batch_bytes += _size(last)
        batches += 1
    t0 = time.perf_counter()
    snapshot = stream.snapshot()
    snapshot_bytes = _size(snapshot)
    build_ms = (time.perf_counter() - t0) * 1000
    return snapshot, {
        "batches": batches,
        "batch_bytes": batch_bytes,
        "snapshot_bytes": snapshot_bytes,
        "snapshot_build_ms": build_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--points", type=int, default=50, help="metric points per trial")
    parser.add_argument("--workers", type=int, default=8, help="trials running at once")
    parser.add_argument("--write", type=Path, help="write snapshot-N.json here for panel_scale.mjs")
    args = parser.parse_args()
    print(f"kernel -> browser bytes ({args.points} points per trial, {args.workers} trials at once)")
    print(f"{'trials':>7} {'batches':>8} {'all batches':>12} {'per trial':>10} {'snapshot':>10} {'build':>8}")
    for n in args.trials:
        snapshot, f = run(n, args.points, args.workers)
        print(
            f"{n:>7} {f['batches']:>8} {f['batch_bytes'] / 1e6:>10.2f}MB {f['batch_bytes'] / n:>9.0f}B"
            f" {f['snapshot_bytes'] / 1e6:>8.2f}MB {f['snapshot_build_ms']:>6.0f}ms"
        )
        if args.write is not None:
            args.write.mkdir(parents=True, exist_ok=True)
            (args.write / f"snapshot-{n}.json").write_text(json.dumps(snapshot, allow_nan=False))


if __name__ == "__main__":
    main()
