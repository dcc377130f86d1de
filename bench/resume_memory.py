"""What a resume costs the driver: time and memory to continue an experiment with long curves.

A store is filled with one STOPPED experiment of ``--trials`` FINISHED trials of ``--points``
points each (written as the driver writes them: appended chunks) and ``--lines`` log lines each;
then ``lagom(resume=ID, num_trials=trials + 2)`` runs two more trials on one local worker. The
driver (this process) is measured around the resume: resident memory before, its peak (VmHWM,
reset before the resume where Linux allows it), and the wall time of the whole lagom call. The
driver keeps at most 2,048 points of each earlier trial and none of its log lines, so the peak
should not grow with the stored curves' length.

Figures on the development machine (2 shared cores), driver RSS before -> peak, and the wall
time of the resume (the "before" checkout: a05ac06, run with PYTHONPATH=<it>/kernel_side):
                                        100 x 10,000 points     20 trials x 200,000 log lines
    before (earlier trials read whole,
    histories and logs, then thinned):  51 -> 218 MB, 1.26 s    51 -> 344 MB, 0.39 s
    after (histories thinned a chunk at
    a time as the store reads them):    51 -> 77 MB, 1.01 s     52 -> 56 MB, 0.11 s

Usage: python bench/resume_memory.py [--trials 100] [--points 10000] [--lines 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def quick(x: float) -> float:
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--points", type=int, default=10_000, help="points per trial")
    parser.add_argument("--lines", type=int, default=0, help="log lines per trial")
    args = parser.parse_args()

    from maggy import Searchspace, experiment
    from maggy.store import open_store
    from maggy.testing.store_conformance import make_record
    from maggy.trial import Trial, TrialState

    db = Path(tempfile.mkdtemp(prefix="maggy-bench-")) / "store.db"
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]))
    record = make_record(
        searchspace=space.to_dict(),
        optimizer="TPE",
        num_trials=args.trials,
        config={"num_trials_asked": args.trials},
    )
    t0 = time.perf_counter()
    with open_store(db) as store:
        store.create_experiment(record)
        for i in range(args.trials):
            trial = Trial(i, {"x": i / args.trials}, state=TrialState.FINISHED, metric=float(i))
            store.save_trial(record.experiment_id, trial)
            for start in range(0, args.points, 2_000):  # as the driver appends them, a beat at a time
                points = [[s, s * 1e-4] for s in range(start, min(start + 2_000, args.points))]
                store.save_trial_progress(record.experiment_id, trial, points)
            if args.lines:
                store.save_trial_progress(
                    record.experiment_id, trial, [], [f"line {n}" for n in range(args.lines)]
                )
        store.finish_experiment(record.experiment_id, "STOPPED", time.time(), None)
    print(
        f"store: {args.trials} trials x {args.points} points, {args.lines} log lines each, "
        f"written in {time.perf_counter() - t0:.1f} s ({db.stat().st_size / 2**20:.0f} MB)"
    )

    before = rss_mb()
    try:  # reset the high-water mark so that VmHWM is the resume's peak (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        print("(VmHWM not resettable here: the peak includes writing the store)")
    t0 = time.perf_counter()
    result = experiment.lagom(
        quick,
        resume=record.experiment_id,
        num_trials=args.trials + 2,
        store=str(db),
        progress=False,
        num_workers=1,
        es_policy="none",
    )
    elapsed = time.perf_counter() - t0
    print(
        f"resume to {args.trials + 2} trials: {result['status']} in {elapsed:.2f} s; driver RSS "
        f"{before:.0f} -> peak {rss_mb('VmHWM'):.0f} -> {rss_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
