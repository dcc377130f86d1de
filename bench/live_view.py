"""Live view under load (issue 4, "Live view"). Prints figures; asserts nothing.

Feeds a ``LiveView`` synthetic driver events for 200 trials x 1,000 steps as fast as one thread
can publish them (the driver's dispatcher thread, played by this script), ``--concurrency``
trials running at a time; every 5th trial is early-stopped at 30 %, every 37th raises at 10 %,
every trial logs a line per 100 steps. The widgets talk to a recording dummy comm, so what
would reach the browser is counted, not sent.

Figures: events absorbed per second, redraws (total and per second of feeding), messages and
bytes sent to the frontend (building the view, while feeding, and the final redraw), redraw time
(max and mean) and memory (RSS growth while feeding; the metric arrays the view keeps).

Usage: python bench/live_view.py [--trials 200] [--steps 1000] [--concurrency 16]
                                 [--points-per-event 1] [--interval 0.1]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterator
from dataclasses import replace

from maggy.core import events as ev
from maggy.trial import Trial, TrialState
from maggy_jupyter.live_view.testing import recording_comms

EXP = "bench"


class Handle:
    """The ``ExperimentHandle`` surface the view uses; the bench publishes events itself."""

    experiment_id = EXP
    name = "live-view-bench"
    direction = "max"
    searchspace: dict[str, object] = {}

    def __init__(self, num_trials: int) -> None:
        self.num_trials = num_trials

    def subscribe(self, listener: object) -> object:
        return lambda: None

    def stop_trial(self, trial_id: int) -> bool:
        return False

    def stop_experiment(self) -> None:
        pass

    def trials(self) -> list[Trial]:
        return []


def events(trials: int, steps: int, concurrency: int, per_event: int) -> Iterator[ev.Event]:
    """A plausible event stream: trials start as slots free up, heartbeat in turn, then end."""
    yield ev.ExperimentStarted(EXP, "live-view-bench", trials, concurrency, ("127.0.0.1", 0))
    next_id, running = 0, {}

    def start(trial_id: int) -> ev.Event:
        trial = Trial(trial_id, {"lr": 10 ** -(1 + trial_id % 4), "units": 16 * (1 + trial_id % 8)})
        trial.state, trial.start, trial.worker = (
            TrialState.RUNNING,
            time.time(),
            f"local-{trial_id % concurrency}",
        )
        running[trial_id] = (trial, 0)
        return ev.TrialStarted(EXP, replace(trial))  # events carry snapshots

    while next_id < min(trials, concurrency):
        yield start(next_id)
        next_id += 1
    while running:
        for trial_id in list(running):
            trial, step = running[trial_id]
            end = steps
            if trial_id % 37 == 36:
                end = steps // 10
            elif trial_id % 5 == 4:
                end = int(steps * 0.3)
            upto = min(end, step + per_event)
            quality = 1 + trial_id % 13
            yield ev.MetricPoints(
                EXP, trial_id, [[s, quality * (1 - 1 / (s + 2))] for s in range(step, upto)]
            )
            if upto // 100 > step // 100:
                yield ev.TrialLog(EXP, trial_id, [f"step {upto}: loss {1 / (upto + 1):.5f}"])
            running[trial_id] = (trial, upto)
            if upto < end:
                continue
            trial.end = time.time()
            if end == steps:
                trial.state, trial.metric = TrialState.FINISHED, float(quality * (1 - 1 / (end + 1)))
            elif trial_id % 37 == 36:
                trial.state, trial.error = (
                    TrialState.ERROR,
                    "Traceback (most recent call last):\nValueError: bench",
                )
            else:
                trial.state, trial.metric = TrialState.EARLY_STOPPED, float(quality * (1 - 1 / (end + 1)))
            del running[trial_id]
            yield ev.TrialFinished(EXP, replace(trial))
            if next_id < trials:
                yield start(next_id)
                next_id += 1


def rss_mb() -> float:
    """Current resident memory (Linux), so the pre-built event list cancels out of differences."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--points-per-event", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--rate", type=float, default=50_000, help="events/s to feed; 0: as fast as possible")
    args = parser.parse_args()

    stream = list(events(args.trials, args.steps, args.concurrency, args.points_per_event))
    n_events = len(stream)
    finished = ev.ExperimentFinished(EXP, "FINISHED", {})
    from maggy_jupyter.live_view import LiveView  # ipywidgets, bqplot (and pandas) load here, not below

    rss0 = rss_mb()
    with recording_comms(keep=False) as recorder:
        view = LiveView(Handle(args.trials), interval=args.interval)
        built = (recorder.messages, recorder.nbytes)
        recorder.clear()
        started = time.perf_counter()
        for i, event in enumerate(stream):
            view.on_event(event)
            if args.rate and i % 500 == 499:
                ahead = (i + 1) / args.rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
        fed = time.perf_counter() - started
        live = (recorder.messages, recorder.nbytes, view.redraws)
        recorder.clear()
        view.on_event(finished)
        final = (recorder.messages, recorder.nbytes)
        summary = view.state.summary(time.time())
        kept = sum(len(r.series) * 16 for r in view.state.trials.values())
        grown = rss_mb() - rss0

    redraws_live = live[2] - 1  # the first redraw was the build's
    print(
        f"events: {n_events:,} ({args.trials} trials x {args.steps} steps, {args.concurrency} running, "
        f"{args.points_per_event} point(s) per metric event)"
    )
    pace = f"paced at {args.rate:,.0f}/s" if args.rate else "unpaced"
    print(f"absorbed: {n_events / fed:,.0f} events/s ({pace}; {fed:.2f} s of feeding)")
    print(f"redraws while feeding: {redraws_live} ({redraws_live / fed:.1f}/s, interval {args.interval:g} s)")
    print(
        f"redraw time: max {view.redraw_seconds_max * 1e3:.1f} ms wall "
        f"({view.redraw_cpu_seconds_max * 1e3:.1f} ms CPU), mean {view.redraw_seconds_total / max(1, view.redraws) * 1e3:.1f} ms over {view.redraws} redraws"
    )
    print(
        f"to the frontend: build {built[0]} msgs / {built[1] / 1e3:.0f} kB; feeding {live[0]:,} msgs / "
        f"{live[1] / 1e6:.2f} MB ({live[1] / 1e3 / fed:.0f} kB/s); final redraw {final[0]} msgs / {final[1] / 1e3:.0f} kB"
    )
    print(f"widgets: {len(view.chart.lines)} lines, {len(view.controls.slots)} stop buttons")
    print(f"memory: RSS +{grown:.0f} MB; metric arrays kept {kept / 1e6:.1f} MB")
    print(
        f"final: {summary.done}/{summary.total} done, {summary.finished} finished, "
        f"{summary.early_stopped} early-stopped, {summary.errors} errors; best trial {summary.best_id}"
    )


if __name__ == "__main__":
    main()
