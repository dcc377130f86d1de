"""``maggy demo``: a real small experiment on the local backend.

A one-hidden-layer neural network written in numpy classifies scikit-learn's bundled handwritten
digits (1,797 8x8 images, no download). 24 trials of random search over learning rate, hidden
units, L2 penalty, batch size and activation run on local worker processes; each trial reports
validation accuracy per epoch, and the median rule stops trials that fall behind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from maggy.searchspace import Searchspace

#: Epochs per trial: long enough (about a second) for the median rule to act while trials run.
EPOCHS = 400


def train_digits(lr: float, hidden: int, l2: float, batch_size: int, activation: str, reporter: Any) -> float:
    """Train a numpy MLP on the digits data; broadcasts validation accuracy each epoch; returns it."""
    import numpy as np
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    x, y = x[order] / 16.0, y[order]
    split = int(0.8 * len(x))
    x_train, y_train, x_val, y_val = x[:split], y[:split], x[split:], y[split:]
    n_in, n_out = x.shape[1], 10
    w1 = rng.normal(0, np.sqrt(2.0 / n_in), (n_in, hidden))
    b1 = np.zeros(hidden)
    w2 = rng.normal(0, np.sqrt(2.0 / hidden), (hidden, n_out))
    b2 = np.zeros(n_out)
    act, dact = _activation(activation)

    def forward(batch: Any) -> tuple[Any, Any]:
        h = act(batch @ w1 + b1)
        logits = h @ w2 + b2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return h, p / p.sum(axis=1, keepdims=True)

    accuracy = 0.0
    for epoch in range(EPOCHS):
        perm = rng.permutation(len(x_train))
        for start in range(0, len(perm), batch_size):
            idx = perm[start : start + batch_size]
            xb, yb = x_train[idx], y_train[idx]
            h, p = forward(xb)
            grad = p
            grad[np.arange(len(yb)), yb] -= 1
            grad /= len(yb)
            gw2 = h.T @ grad + l2 * w2
            gh = (grad @ w2.T) * dact(h)
            gw1 = xb.T @ gh + l2 * w1
            w2 -= lr * gw2
            b2 -= lr * grad.sum(axis=0)
            w1 -= lr * gw1
            b1 -= lr * gh.sum(axis=0)
        accuracy = float((forward(x_val)[1].argmax(axis=1) == y_val).mean())
        reporter.broadcast(accuracy, step=epoch)
    reporter.log(f"final validation accuracy {accuracy:.4f}")
    return accuracy


def _activation(name: str) -> tuple[Any, Any]:
    import numpy as np

    if name == "relu":
        return (lambda z: np.maximum(z, 0.0)), (lambda h: (h > 0).astype(h.dtype))
    return np.tanh, (lambda h: 1.0 - h * h)


def searchspace() -> Searchspace:
    return Searchspace(
        lr=("DISCRETE", [0.0005, 0.001, 0.005, 0.02, 0.1, 0.3]),
        hidden=("INTEGER", [16, 128]),
        l2=("DOUBLE", [0.0, 0.01]),
        batch_size=("DISCRETE", [16, 32, 64, 128]),
        activation=("CATEGORICAL", ["relu", "tanh"]),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the demo experiment; prints the best configuration. Returns a process exit code."""
    parser = argparse.ArgumentParser(
        prog="maggy demo", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--trials", type=int, default=24, help="number of trials (default 24)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the search")
    parser.add_argument("--store", default=None, help="experiment store path (default: the user store)")
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print(
            "maggy demo needs scikit-learn for its dataset: pip install 'maggy-jupyter[demo]'",
            file=sys.stderr,
        )
        return 2
    from maggy import experiment

    result = experiment.lagom(
        train_digits,
        name="demo-digits-mlp",
        num_trials=args.trials,
        searchspace=searchspace(),
        direction="max",
        es_policy="median",
        es_interval=0.5,
        es_min=4,
        hb_interval=0.25,
        description="numpy MLP on scikit-learn's digits; random search with median early stopping",
        num_workers=args.workers,
        seed=args.seed,
        store=args.store,
    )
    print()
    print(
        f"experiment {result['experiment_id']}: {result['num_trials']} trials in {result['duration']:.1f} s, "
        f"{result['early_stopped']} early-stopped, {result['errors']} errors"
    )
    print(f"best validation accuracy {result['best_val']:.4f} (trial {result['best_id']})")
    print("best config:", ", ".join(f"{k}={_fmt(v)}" for k, v in result["best_config"].items()))
    print(f"see it again with: {cli_command()} experiments show {result['experiment_id']}")
    return 0


def cli_command() -> str:
    """How the user can run this install's ``maggy`` command from here: ``maggy`` when that name
    finds this install on PATH (an activated venv, a global install), else the script's path
    (``.venv/bin/maggy`` when run from the clone the README's command installed into)."""
    script = Path(sys.prefix) / ("Scripts" if os.name == "nt" else "bin") / "maggy"
    found = shutil.which("maggy")
    if not script.exists() or (found is not None and Path(found).resolve() == script.resolve()):
        return "maggy"
    relative = os.path.relpath(script)
    return relative if not relative.startswith("..") else str(script)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
