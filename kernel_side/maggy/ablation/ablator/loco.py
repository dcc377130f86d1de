"""LOCO, Leave One Component Out: the base trial, then one trial per component removed."""

from __future__ import annotations

from maggy.ablation.ablator.abstractablator import AbstractAblator
from maggy.ablation.resolve import BASE, AblationTrial, ResolvedStudy


class LOCO(AbstractAblator):
    """Trials, in order: the base (nothing removed), one per included feature, one per included
    layer, one per layer group, one per custom model. Each trial differs from the base in
    exactly one component, so its metric against the base's measures that component.
    """

    def plan_trials(self, study: ResolvedStudy) -> list[AblationTrial]:
        return [
            AblationTrial(BASE),
            *(AblationTrial("feature", name) for name in study.features),
            *(AblationTrial("layer", name, (name,)) for name in study.layers),
            *(AblationTrial("group", label, layers) for label, layers in study.groups),
            *(AblationTrial("model", identifier) for identifier in study.custom_models),
        ]
