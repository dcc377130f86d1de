"""Early stopping: pure policies over trial histories, resolved from ``lagom(es_policy=...)``."""

from __future__ import annotations

import inspect
from typing import Any

from maggy.earlystop.base import EarlyStopPolicy, NoStopping, check_due
from maggy.earlystop.median import MedianStoppingRule
from maggy.earlystop.percentile import PercentileStoppingRule

__all__ = [
    "EarlyStopPolicy",
    "MedianStoppingRule",
    "NoStopping",
    "PercentileStoppingRule",
    "check_due",
    "get_policy",
]

_REGISTRY: dict[str, type[EarlyStopPolicy]] = {
    "median": MedianStoppingRule,
    "none": NoStopping,
    "percentile": PercentileStoppingRule,  # 25th: keep the top quarter; instances take any percentile
}


def get_policy(spec: Any = "median") -> EarlyStopPolicy:
    """Resolve ``spec`` into a policy instance.

    Accepts a name ('median', 'none', 'percentile' (the 25th); case-insensitive), None (same as
    'none'), an EarlyStopPolicy instance (returned as is) or an EarlyStopPolicy subclass
    (instantiated with no arguments).
    Raises ValueError for an unknown name, listing the valid ones, and TypeError for anything else.
    """
    if spec is None:
        return NoStopping()
    if isinstance(spec, EarlyStopPolicy):
        return spec
    if isinstance(spec, str):
        cls = _REGISTRY.get(spec.strip().lower())
        if cls is None:
            raise ValueError(
                f"unknown es_policy {spec!r}; use one of {', '.join(repr(n) for n in _REGISTRY)}"
            )
        return cls()
    if inspect.isclass(spec) and issubclass(spec, EarlyStopPolicy):
        return spec()
    raise TypeError(
        "es_policy must be a name (" + ", ".join(repr(n) for n in _REGISTRY) + "), None, an EarlyStopPolicy "
        f"instance or an EarlyStopPolicy subclass, got {spec!r} ({type(spec).__name__})"
    )
