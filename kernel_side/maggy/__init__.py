"""maggy: asynchronous hyperparameter optimization and ablation studies.

The public surface is small: ``Searchspace``, the ``experiment`` module (``experiment.lagom``),
``Study`` (ask and tell, for a loop the user drives), ``maggy.optimizer``, ``maggy.callbacks``
and ``maggy.ablation``. Heavy modules load lazily so that ``import maggy`` stays fast and pulls
in no Spark, TensorFlow, IPython or widgets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # let type checkers and IDEs see the lazily loaded names
    from maggy import experiment
    from maggy.searchspace import Searchspace
    from maggy.study import Study

__version__ = "0.1.0"
__all__ = ["Searchspace", "Study", "experiment", "__version__"]

_LAZY_SUBMODULES = {
    "experiment",
    "optimizer",
    "callbacks",
    "ablation",
    "store",
    "earlystop",
    "datasets",
    "visualization",
}


def __getattr__(name: str) -> Any:
    if name == "Searchspace":
        from maggy.searchspace import Searchspace

        return Searchspace
    if name == "Study":
        from maggy.study import Study

        return Study
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"maggy.{name}")
    raise AttributeError(f"module 'maggy' has no attribute {name!r}")
