"""Shared pieces of the ablation tests: quiet TensorFlow, tiny Keras models, a tiny dataset."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any test imports TensorFlow
