"""Optimizers: what ``lagom(optimizer=...)`` accepts, and ``get_optimizer`` to resolve it.

Built-in optimizers are named in ``_REGISTRY`` as ``"module:Class"`` strings, imported only when
asked for, so adding one is one line and a heavy one never slows ``import maggy``:

=============  =============================================================================
randomsearch   :class:`RandomSearch` (the default)
gridsearch     :class:`GridSearch`
asha           :class:`Asha`: asynchronous successive halving; the function gets ``budget``
hyperband      :class:`Hyperband`: brackets of ASHA; the function gets ``budget``
tpe            :class:`TPE`: tree-structured Parzen estimator
gp             :class:`GP`: Gaussian-process BO with expected improvement (needs scipy)
=============  =============================================================================

The classes take their settings (and a ``seed``) as constructor arguments, e.g.
``optimizer=Asha(reduction_factor=3, min_budget=1, max_budget=27)``; a name uses the defaults.
``from maggy.optimizer import TPE`` imports that one module on first use.

A custom optimizer subclasses :class:`AbstractOptimizer`; its ``suggest`` returns a params dict,
a :class:`Suggestion` ``(params, budget=...)`` to grant a budget (set ``uses_budget = True``), or
a :class:`Decision`: ``WAIT`` (nothing now) or ``FINISHED`` (no more trials).
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

from maggy.optimizer.base import FINISHED, WAIT, AbstractOptimizer, Decision, Suggestion
from maggy.optimizer.gridsearch import GridSearch
from maggy.optimizer.randomsearch import RandomSearch

__all__ = [
    "AbstractOptimizer",
    "Decision",
    "FINISHED",
    "WAIT",
    "Suggestion",
    "GridSearch",
    "RandomSearch",
    "Asha",
    "Hyperband",
    "TPE",
    "GP",
    "get_optimizer",
]

_REGISTRY: dict[str, str] = {
    "randomsearch": "maggy.optimizer.randomsearch:RandomSearch",
    "gridsearch": "maggy.optimizer.gridsearch:GridSearch",
    "asha": "maggy.optimizer.asha:Asha",
    "hyperband": "maggy.optimizer.hyperband:Hyperband",
    "tpe": "maggy.optimizer.tpe:TPE",
    "gp": "maggy.optimizer.gp:GP",
}

_LAZY_CLASSES = {"Asha": "asha", "Hyperband": "hyperband", "TPE": "tpe", "GP": "gp"}

if TYPE_CHECKING:  # type checkers and IDEs see the lazily imported classes
    from maggy.optimizer.asha import Asha
    from maggy.optimizer.gp import GP
    from maggy.optimizer.hyperband import Hyperband
    from maggy.optimizer.tpe import TPE


def __getattr__(name: str) -> Any:
    if name in _LAZY_CLASSES:
        return _load(_REGISTRY[_LAZY_CLASSES[name]])
    raise AttributeError(f"module 'maggy.optimizer' has no attribute {name!r}")


def _load(target: str) -> type[AbstractOptimizer]:
    module, _, attr = target.partition(":")
    cls: type[AbstractOptimizer] = getattr(importlib.import_module(module), attr)
    return cls


def get_optimizer(spec: Any = None) -> AbstractOptimizer:
    """Resolve ``spec`` into an optimizer instance (not yet set up).

    Accepts None (RandomSearch), a name (a key of ``_REGISTRY``, see the module docstring; case,
    '_', '-' and spaces ignored), an AbstractOptimizer instance (returned as is) or an
    AbstractOptimizer subclass (instantiated with no arguments). Raises ValueError for an unknown name, listing the valid ones,
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
        return _instantiate(_load(_REGISTRY[key]))
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
