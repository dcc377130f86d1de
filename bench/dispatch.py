"""Dispatch overhead of the local backend (issue: engine benchmark). Prints figures; asserts nothing.

(a) 500 no-op trials on 2 workers: trials per second.
(b) 100 trials of 50 ms on 2 workers: wall time against the ideal 100 * 50 ms / 2 = 2.5 s, twice:
    first as this process's first experiment (each worker starts an interpreter and imports
    cloudpickle and maggy: "cold"), then as a later one (workers forked from the fork server the
    first experiment started: "warm", what every experiment after a notebook's first gets).
Reported end to end (the whole lagom call: starting and stopping worker processes, store writes)
and per trial in steady state: for each worker, (its last trial end - its first trial start -
its trials' ideal run time) / its trial count, from the driver's timestamps. That per-trial
overhead is what the dispatch path costs (FINAL -> reply with the next trial -> call map_fun).

Usage: python bench/dispatch.py [--store PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from maggy import Searchspace, experiment
from maggy.backends import forkserver
from maggy.core import events as ev

WORKERS = 2
IDEAL_B = 100 * 0.05 / WORKERS


def noop(i):
    return float(i)


def sleep_50ms(i):
    import time

    time.sleep(0.05)
    return float(i)


class Span:
    """Listener recording, per worker, its first trial start, last trial end and trial count."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.count: dict[str, int] = {}

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.TrialFinished) and event.trial.worker is not None:
            worker, trial = event.trial.worker, event.trial
            self.first.setdefault(worker, trial.start or 0.0)
            self.last[worker] = trial.end or 0.0
            self.count[worker] = self.count.get(worker, 0) + 1

    def overhead_per_trial(self, trial_seconds: float) -> float:
        """Mean over workers of (busy span - ideal run time) / trials: seconds lost per trial."""
        per_worker = [
            (self.last[w] - self.first[w] - self.count[w] * trial_seconds) / self.count[w] for w in self.count
        ]
        return sum(per_worker) / len(per_worker)


def wait_for_fork_server(timeout: float = 20.0) -> None:
    """Until the fork server the first experiment started is ready (a notebook's next cell)."""
    deadline = time.monotonic() + timeout
    while forkserver.enabled() and forkserver.shared_server() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if forkserver.shared_server() is None:
        print("note: no fork server (MAGGY_FORKSERVER=0 or not Linux): 'warm' starts workers afresh too")


def run(fn, trials: int, store: str) -> tuple[float, Span]:
    span = Span()
    space = Searchspace(i=("INTEGER", [0, 10**9]))
    start = time.perf_counter()
    result = experiment.lagom(
        fn,
        num_trials=trials,
        searchspace=space,
        num_workers=WORKERS,
        es_policy="none",
        store=store,
        progress=False,
        listeners=[span],
        name="bench-dispatch",
    )
    wall = time.perf_counter() - start
    assert result["num_trials"] == trials and result["errors"] == 0, result
    return wall, span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="experiment store (default: a temporary file)")
    args = parser.parse_args()
    store = args.store or tempfile.mktemp(suffix=".db")

    wall_cold, span_cold = run(sleep_50ms, 100, store)
    wait_for_fork_server()
    wall_a, span_a = run(noop, 500, store)
    wall_b, span_b = run(sleep_50ms, 100, store)
    print(f"maggy local backend, {WORKERS} workers")
    print("(a) 500 no-op trials")
    print(f"    end to end {wall_a:7.3f} s  {500 / wall_a:8.1f} trials/s")
    print(
        f"    steady state: {span_a.overhead_per_trial(0.0) * 1000:.2f} ms per trial per worker "
        f"= {WORKERS / span_a.overhead_per_trial(0.0):.0f} trials/s"
    )
    for label, wall, span in (("cold: first experiment", wall_cold, span_cold), ("warm", wall_b, span_b)):
        print(f"(b) 100 trials of 50 ms, {label}")
        print(f"    end to end {wall:7.3f} s  vs ideal {IDEAL_B:.3f} s: {100 * (wall / IDEAL_B - 1):+.2f}%")
        over = span.overhead_per_trial(0.05)
        print(
            f"    steady state: overhead {over * 1000:.2f} ms per trial "
            f"({100 * over / 0.05:+.2f}% of a 50 ms trial)"
        )
    print(
        "targets: overhead <= 5 ms per trial; (b) within 5% of ideal. "
        "Reference: Hyperopt SparkTrials ~1200 ms per trial on local[2]."
    )


if __name__ == "__main__":
    main()
