"""What the model-based optimizers need to know about the past: pending suggestions and losses.

The driver does not tell an optimizer which trial a suggestion became; it reports finished trials,
whose ``params`` are the suggestion's params (a Suggestion's budget is in ``trial.budget``). ``Pending``
matches them back by value. Two identical pending suggestions are interchangeable, so the
multiset needs no trial ids.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from maggy.optimizer._encoding import Encoder, config_key
from maggy.searchspace import Searchspace
from maggy.trial import Trial, TrialState


class Pending:
    """A multiset of suggestions handed out and not yet reported back, each with a tag.

    ``add(params, tag, extra)`` when suggesting; ``pop(params, extra)`` when the trial comes back
    returns the tag (or None for a trial this optimizer did not suggest). ``extra`` is anything
    else that distinguishes two suggestions of the same params (ASHA: the budget).
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, Hashable], list[tuple[dict[str, Any], Any]]] = {}
        self._count = 0

    def add(self, params: dict[str, Any], tag: Any = None, extra: Hashable = None) -> None:
        self._items.setdefault((config_key(params), extra), []).append((dict(params), tag))
        self._count += 1

    def pop(self, params: dict[str, Any], extra: Hashable = None) -> Any:
        key = (config_key(params), extra)
        entries = self._items.get(key)
        if not entries:
            return None
        _, tag = entries.pop(0)
        if not entries:
            del self._items[key]
        self._count -= 1
        return tag

    def configs(self) -> list[dict[str, Any]]:
        """The pending params dicts (copies), oldest first within equal configurations."""
        return [dict(p) for entries in self._items.values() for p, _ in entries]

    def __len__(self) -> int:
        return self._count


class Observations:
    """Finished trials as the models see them, encoded once on arrival, with direction-aware losses.

    ``add(trial)`` from ``on_trial_finished``; ``losses()`` then gives the usable ones. loss is the
    metric for direction 'min' and -metric for 'max' (lower is better). Kept:
    - FINISHED with a finite metric, as is;
    - EARLY_STOPPED with a finite (partial: its last broadcast) metric, as
      ``max(partial loss, median FINISHED loss)``: a stopping rule ended it for looking worse than
      its peers, and a partial curve flatters neither a loss nor an accuracy reliably, so it never
      counts better than the median finished trial (as its own partial value while none finished).
    Dropped: STOPPED (the user's stop button, or the whole experiment stopping, says nothing about
    quality), ERROR and LOST (no comparable value), and params that are not in the search space.
    """

    def __init__(self, encoder: Encoder, direction: str, partial: bool = False) -> None:
        """``partial``: keep trials that lack some parameters (encoded NaN / -1, see
        ``Encoder.encode``), for a model that copes with them (TPE); else such trials are dropped."""
        self._encoder = encoder
        self._partial = partial
        self._sign = -1.0 if direction == "max" else 1.0
        self.params: list[dict[str, Any]] = []
        self._u: list[np.ndarray] = []
        self._cats: list[np.ndarray] = []
        self._loss: list[float] = []
        self._finished: list[bool] = []

    def add(self, trial: Trial) -> None:
        usable = (TrialState.FINISHED, TrialState.EARLY_STOPPED)
        if trial.state not in usable or trial.metric is None or not math.isfinite(trial.metric):
            return
        try:
            u, cats = self._encoder.encode([trial.params], missing=self._partial)
        except (KeyError, ValueError):  # a trial of some other search space: nothing to learn
            return
        self.params.append(dict(trial.params))
        self._u.append(u[0])
        self._cats.append(cats[0])
        self._loss.append(self._sign * float(trial.metric))
        self._finished.append(trial.state is TrialState.FINISHED)

    def losses(self) -> np.ndarray:
        """The loss of each kept trial, in arrival order (EARLY_STOPPED ones floored, see class doc)."""
        loss = np.array(self._loss)
        finished = np.array(self._finished, dtype=bool)
        if finished.any() and not finished.all():
            loss[~finished] = np.maximum(loss[~finished], statistics.median(loss[finished].tolist()))
        return loss

    def rows(self, index: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The encoded ``(U, C)`` of the kept trials at ``index`` (see :class:`Encoder`)."""
        d, c = len(self._encoder.numeric), len(self._encoder.categorical)
        u = np.array([self._u[i] for i in index], dtype=float).reshape(len(index), d)
        return u, np.array([self._cats[i] for i in index], dtype=int).reshape(len(index), c)

    def __len__(self) -> int:
        return len(self._loss)


def draw_new(
    searchspace: Searchspace, rng: np.random.Generator, seen: set[str], tries: int = 100
) -> dict[str, Any]:
    """A random configuration (uniform; log-uniform for scale 'log') whose key is not in ``seen``.

    Up to ``tries`` draws; after that the last one, repeat or not (only a nearly used-up finite
    space gets there, and the optimizers cap their trials at the space's size).
    """
    params = searchspace.parameters()
    for _ in range(tries):
        config = {p.name: p.sample(rng) for p in params}
        if config_key(config) not in seen:
            break
    return config


def space_size(searchspace: Searchspace) -> int | None:
    """Number of distinct configurations, or None when a DOUBLE makes it a continuum."""
    cards = [p.cardinality for p in searchspace.parameters()]
    return None if None in cards else math.prod(c for c in cards if c is not None)
