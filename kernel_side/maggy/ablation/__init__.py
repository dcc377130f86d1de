"""Ablation studies: declare what to remove, and let ``lagom`` measure what each part is worth.

``AblationStudy`` declares the features, layers, layer groups and custom models; the LOCO
ablator (``ablator='loco'``) turns it into trials, each leaving one component out; the training
function gets ``dataset_function(epochs, batch_size)`` and ``model_function()`` for its trial.
See ``maggy.ablation.summary`` for what the result dict adds. Nothing here imports TensorFlow
until a model or dataset is built.
"""

from __future__ import annotations

from maggy.ablation.ablationstudy import AblationStudy, Features, Layers, Model
from maggy.ablation.ablator import LOCO, AbstractAblator
from maggy.ablation.model_surgery import AblationError

__all__ = ["LOCO", "AblationError", "AblationStudy", "AbstractAblator", "Features", "Layers", "Model"]
