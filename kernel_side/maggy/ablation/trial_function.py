"""The worker-side adapter: one trial's params in, the user's training function called.

``lagom`` wraps ``training_function(dataset_function, model_function, reporter)`` in an
``AblationTrialFunction`` and ships it to the workers like any training function (cloudpickled
with the study's generators and the resolved dataset entry inside). Per trial the worker calls it
with ``ablated=<label>`` and ``reporter``; it builds the two functions for that trial and calls
the user's function, whose return value (a number or ``{'metric': ...}``) passes through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maggy.ablation.resolve import AblationTrial, ResolvedStudy
from maggy.worker.invoke import call_training_function

#: The arguments an ablation training function receives (plus ``reporter`` if it declares it).
TRAINING_ARGS = ("dataset_function", "model_function")


class AblationTrialFunction:
    """Callable as ``fn(ablated, reporter=None)``; see the module docstring."""

    def __init__(
        self,
        training_function: Callable[..., Any],
        study: ResolvedStudy,
        plan: list[AblationTrial],
        base_model_generator: Callable[[], Any] | None,
        custom_model_generators: dict[str, Callable[[], Any]],
        dataset_generator: Callable[..., Any] | None,
    ) -> None:
        self.training_function = training_function
        self.study = study
        self.trials = {t.label: t for t in plan}
        self.base_model_generator = base_model_generator
        self.custom_model_generators = dict(custom_model_generators)
        self.dataset_generator = dataset_generator
        # For messages that name the training function (lagom's signature check, tracebacks).
        self.__name__ = getattr(training_function, "__name__", "training_function")

    def __call__(self, ablated: str, reporter: Any = None) -> Any:
        trial = self.trials.get(ablated)
        if trial is None:
            raise ValueError(f"unknown ablation trial {ablated!r}; this study has {sorted(self.trials)}")
        if reporter is not None:
            reporter.log(f"maggy ablation trial {trial.label}: {trial.describe()}")
        functions = {
            "dataset_function": self.dataset_function(trial),
            "model_function": self.model_function(trial),
        }
        return call_training_function(self.training_function, functions, reporter)

    def dataset_function(self, trial: AblationTrial) -> Callable[[int, int], Any]:
        """``dataset_function(epochs, batch_size)`` for ``trial``: the data without its feature."""
        generator, study, feature = self.dataset_generator, self.study, trial.feature

        def dataset_function(epochs: int, batch_size: int) -> Any:
            """A tf.data.Dataset of (features, label) batches, shuffled, repeated ``epochs`` times."""
            if generator is not None:
                return generator(ablated_feature=feature, epochs=epochs, batch_size=batch_size)
            from maggy.datasets._tf import make_tf_dataset

            assert study.entry is not None  # resolve_study guarantees one without a generator
            features = [c for c in study.feature_columns if c != feature]
            return make_tf_dataset(study.entry, features, study.label_name, epochs, batch_size)

        return dataset_function

    def model_function(self, trial: AblationTrial) -> Callable[[], Any]:
        """``model_function()`` for ``trial``: a fresh model without its layer(s)."""
        base, study = self.base_model_generator, self.study
        custom = self.custom_model_generators.get(trial.component or "") if trial.kind == "model" else None

        def model_function() -> Any:
            """A fresh, untrained Keras model for this trial."""
            if custom is not None:
                return custom()
            assert base is not None  # resolve_study refuses a study without one
            model = base()
            if trial.layers or (trial.feature is not None and study.adjust_input):
                from maggy.ablation.model_surgery import remove_layers

                width = (
                    len(study.feature_columns) - 1
                    if trial.feature is not None and study.adjust_input
                    else None
                )
                model = remove_layers(model, trial.layers, input_width=width)
            return model

        return model_function
