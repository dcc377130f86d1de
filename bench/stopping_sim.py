"""Early-stopping efficiency for bench/optimizers.py: a simulation, no workers.

A synthetic noisy learning-curve generator (``curve``): the final accuracy of a configuration
depends on lr (log scale), width (log integer), dropout and the optimizer; a larger lr converges
faster, so early ranks mislead somewhat. Each seed draws random configurations and trains them
step by step (one step = one ``curve`` sample) under: no stopping; the median rule (checked after
every step once 5 trials have ended, i.e. es_min=5 and no interval); the percentile rule at 25
(same schedule); ASHA and Hyperband (eta 3,
budget = steps, 1..81, each run from scratch as a promoted trial would be). Reported per method:
total steps consumed and the noise-free final accuracy of the configuration the method picks
(no stopping / median: best observed full run; ASHA / Hyperband: best observed at the highest rung
reached).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from maggy.earlystop import EarlyStopPolicy, MedianStoppingRule, PercentileStoppingRule
from maggy.optimizer import Asha, Hyperband, RandomSearch
from maggy.searchspace import Searchspace
from maggy.trial import Trial, TrialState

CURVE_SPACE = Searchspace(
    lr=("DOUBLE", [1e-4, 1.0], "log"),
    width=("INTEGER", [16, 512], "log"),
    dropout=("DOUBLE", [0.0, 0.8]),
    opt=("CATEGORICAL", ["adam", "sgd", "rmsprop"]),
)
MAX_STEPS = 81
CURVE_NOISE = 0.01


def final(c: dict[str, Any]) -> float:
    """The accuracy a configuration converges to (noise-free), in (0, 1)."""
    lr_fit = math.exp(-(((math.log10(c["lr"]) + 2.5) / 1.0) ** 2))  # best near lr = 3e-3
    width_fit = 1 - 0.25 * abs(math.log2(c["width"] / 128)) / 3
    drop_fit = 1 - 0.5 * (c["dropout"] - 0.3) ** 2
    opt_fit = {"adam": 1.0, "rmsprop": 0.97, "sgd": 0.9}[c["opt"]]
    return 0.5 + 0.45 * lr_fit * width_fit * drop_fit * opt_fit


def curve(c: dict[str, Any], step: int, rng: np.random.Generator) -> float:
    """Noisy accuracy after ``step`` steps: larger lr learns faster, so early ranks mislead a bit."""
    tau = 3 + 25 * (1 - min(1.0, math.log10(c["lr"] / 1e-4) / 4))  # lr 1e-4: tau 28; lr 1: tau 3
    return 0.5 + (final(c) - 0.5) * (1 - math.exp(-step / tau)) + CURVE_NOISE * float(rng.standard_normal())


def _train(
    c: dict[str, Any], steps: int, rng: np.random.Generator, stop: Callable[[list], bool]
) -> tuple[list, bool]:
    history: list[list[float]] = []
    for s in range(1, steps + 1):
        history.append([s, curve(c, s, rng)])
        if stop(history):
            return history, True
    return history, False


def report(seeds: int, n_configs: int = 40) -> None:
    print(f"\n(2) early stopping, synthetic learning curves (max {MAX_STEPS} steps, noise sd {CURVE_NOISE}),")
    print(f"    median over {seeds} seeds; best = noise-free final accuracy of the configuration each picks")
    print(f"{'method':<34}{'total steps':>12}{'vs none':>9}{'best final':>12}{'[q1, q3]':>18}")
    rows: dict[str, list[tuple[int, float]]] = {}
    for seed in range(seeds):
        for name, result in _stopping_runs(seed, n_configs).items():
            rows.setdefault(name, []).append(result)
    base = np.median([s for s, _ in rows["no stopping"]])
    for name, res in rows.items():
        steps = float(np.median([s for s, _ in res]))
        q1, med, q3 = np.percentile([b for _, b in res], [25, 50, 75])
        print(f"{name:<34}{steps:>12.0f}{base / steps:>8.1f}x{med:>12.4f}  [{q1:.4f}, {q3:.4f}]")
    # Same seed, same 40 configurations: how much worse is the stopping rule's pick, on average?
    for name in ("median rule (es_min=5)", "percentile rule 25 (es_min=5)"):
        diff = [b - n for (_, b), (_, n) in zip(rows[name], rows["no stopping"], strict=True)]
        print(
            f"{name}: pick vs no stopping, same seed: mean {np.mean(diff):+.4f} (curve noise sd {CURVE_NOISE})"
        )


def _stopping_runs(seed: int, n_configs: int) -> dict[str, tuple[int, float]]:
    out = {
        "no stopping": _random_run(seed, n_configs, None),
        "median rule (es_min=5)": _random_run(seed, n_configs, MedianStoppingRule()),
        "percentile rule 25 (es_min=5)": _random_run(seed, n_configs, PercentileStoppingRule(25)),
    }
    for name, cls, runs in (
        ("asha, num_trials=60", Asha, 60),
        ("asha, num_trials=180", Asha, 180),
        ("hyperband, num_trials=180", Hyperband, 180),
    ):
        opt = cls(reduction_factor=3, min_budget=1, max_budget=MAX_STEPS, seed=seed)
        out[name] = _budgeted(opt, seed, runs)
    return out


def _random_run(seed: int, n_configs: int, rule: EarlyStopPolicy | None) -> tuple[int, float]:
    """Random configurations trained to MAX_STEPS unless ``rule`` stops them; its pick: best full run."""
    opt = RandomSearch(seed=seed)
    opt.setup(CURVE_SPACE, n_configs, "max", np.random.default_rng(seed))
    rng = np.random.default_rng(1000 + seed)
    ended: list[Trial] = []
    steps, best = 0, (-math.inf, 0.0)  # (observed final value, true final value)
    for i in range(n_configs):
        c = opt.suggest()
        assert isinstance(c, dict)
        running = Trial(i, c, state=TrialState.RUNNING)

        def stop(history: list, running: Trial = running) -> bool:
            running.history = history
            return rule is not None and len(ended) >= 5 and rule.should_stop(running, ended, "max")

        history, stopped = _train(c, MAX_STEPS, rng, stop)
        steps += len(history)
        state = TrialState.EARLY_STOPPED if stopped else TrialState.FINISHED
        ended.append(Trial(i, c, state=state, history=history, metric=history[-1][1]))
        if not stopped:
            best = max(best, (history[-1][1], final(c)))
    return steps, best[1]


def _budgeted(opt: Asha, seed: int, runs: int) -> tuple[int, float]:
    """Run ASHA/Hyperband (budget = steps) for ``runs`` trial runs; its pick is the best at the top rung reached."""
    opt.setup(CURVE_SPACE, runs, "max", np.random.default_rng(seed))
    rng = np.random.default_rng(1000 + seed)
    steps, best = 0, (-1.0, -math.inf, 0.0)  # (rung budget, observed value, true final value)
    for i in range(runs):
        c = opt.suggest()
        assert isinstance(c, dict), c  # one worker: never WAIT, and FINISHED only after `runs`
        params = dict(c)
        budget = params.pop("budget")
        history, _ = _train(params, budget, rng, lambda h: False)
        steps += budget
        opt.on_trial_finished(
            Trial(i, params, state=TrialState.FINISHED, metric=history[-1][1], budget=budget)
        )
        best = max(best, (budget, history[-1][1], final(params)))
    return steps, best[2]
