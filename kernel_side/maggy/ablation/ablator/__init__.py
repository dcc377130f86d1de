"""Ablators turn an ablation study into trials; ``get_ablator`` resolves ``lagom(ablator=...)``."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from maggy.ablation.ablator.abstractablator import PARAM, AbstractAblator
from maggy.ablation.ablator.loco import LOCO

if TYPE_CHECKING:
    from maggy.ablation.ablationstudy import AblationStudy

__all__ = ["LOCO", "PARAM", "AbstractAblator", "get_ablator"]

_BUILTIN: dict[str, type[AbstractAblator]] = {"loco": LOCO}


def get_ablator(spec: Any, study: AblationStudy) -> AbstractAblator:
    """None or 'loco' (any case): LOCO; an AbstractAblator instance (used as is) or subclass
    (built with the study). ValueError/TypeError naming the choices otherwise.
    """
    if spec is None:
        return LOCO(study)
    if isinstance(spec, str):
        cls = _BUILTIN.get(spec.strip().lower())
        if cls is None:
            raise ValueError(f"unknown ablator {spec!r}; use one of {sorted(_BUILTIN)} or an AbstractAblator")
        return cls(study)
    if isinstance(spec, AbstractAblator):
        if spec.ablation_study is None:
            spec.ablation_study = study
        return spec
    if inspect.isclass(spec) and issubclass(spec, AbstractAblator):
        return spec(study)
    raise TypeError(
        f"ablator must be 'loco', an AbstractAblator instance or subclass, got {spec!r} ({type(spec).__name__})"
    )
