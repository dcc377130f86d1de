"""Optimizers: what ``lagom(optimizer=...)`` accepts, and ``get_optimizer`` to resolve it.

Built-in optimizers are named in ``_REGISTRY`` as ``"module:Class"`` strings, imported only when
asked for, so adding one (asha, tpe, gp) is one line and a heavy one never slows ``import maggy``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from maggy.optimizer.base import FINISHED, WAIT, AbstractOptimizer
from maggy.optimizer.gridsearch import GridSearch
from maggy.optimizer.randomsearch import RandomSearch

__all__ = ["AbstractOptimizer", "FINISHED", "WAIT", "GridSearch", "RandomSearch", "get_optimizer"]

_REGISTRY: dict[str, str] = {
    "randomsearch": "maggy.optimizer.randomsearch:RandomSearch",
    "gridsearch": "maggy.optimizer.gridsearch:GridSearch",
}


def get_optimizer(spec: Any = None) -> AbstractOptimizer:
    """Resolve ``spec`` into an optimizer instance (not yet set up).

    Accepts None (RandomSearch), a name ('randomsearch', 'gridsearch'; case, '_', '-' and spaces
    ignored), an AbstractOptimizer instance (returned as is) or an AbstractOptimizer subclass
    (instantiated with no arguments). Raises ValueError for an unknown name, listing the valid ones,
    and TypeError for anything else, or for a class that cannot be built without arguments.
    """
    if spec is None:
        return RandomSearch()
    if isinstance(spec, AbstractOptimizer):
        return spec
    if isinstance(spec, str):
        key = "".join(c for c in spec.lower() if c not in "_- ")
        if key not in _REGISTRY:
            raise ValueError(f"unknown optimizer {spec!r}; use one of {', '.join(sorted(_REGISTRY))}")
        module, _, attr = _REGISTRY[key].partition(":")
        cls = getattr(importlib.import_module(module), attr)
        return _instantiate(cls)
    if inspect.isclass(spec) and issubclass(spec, AbstractOptimizer):
        return _instantiate(spec)
    raise TypeError(
        "optimizer must be None, a name (" + ", ".join(repr(n) for n in sorted(_REGISTRY)) + "), an "
        f"AbstractOptimizer instance or an AbstractOptimizer subclass, got {spec!r} ({type(spec).__name__})"
    )


def _instantiate(cls: type[AbstractOptimizer]) -> AbstractOptimizer:
    try:
        return cls()
    except TypeError as exc:  # abstract methods left, or required constructor arguments
        raise TypeError(
            f"cannot create optimizer {cls.__name__}() without arguments ({exc}); "
            f"pass an instance instead, e.g. optimizer={cls.__name__}(...)"
        ) from exc
