"""``AblationStudy``: what an ablation experiment removes, declared in the notebook.

Everything that can be checked without the data or the model is checked when declared (types,
empty names, a feature equal to the label, a group of fewer than two layers, duplicate model
identifiers); the rest (features in the dataset, layer names in the base model, prefixes that
match) is checked by ``lagom`` before any worker starts, see ``maggy.ablation.resolve``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

#: Keyword arguments AblationStudy accepts beyond the Maggy API's three.
_KWARGS = ("dataset_generator",)


def _names(what: str, args: Iterable[Any]) -> list[str]:
    """Flatten ``'a', 'b'`` or ``['a', 'b']`` (or a mix) into a list of non-empty strings."""
    out: list[str] = []
    for arg in args:
        items = list(arg) if isinstance(arg, (list, tuple, set, frozenset)) else [arg]
        for item in items:
            if not isinstance(item, str) or not item:
                raise ValueError(
                    f"{what} must be given as non-empty strings (several, or a list), got {item!r}"
                )
            if item not in out:
                out.append(item)
    return out


def _check_generator(what: str, fn: Any, required: tuple[str, ...] = ()) -> Callable[..., Any]:
    """``fn`` must be callable with the keyword arguments ``required`` and nothing else."""
    if not callable(fn):
        raise TypeError(f"{what} must be a function, got {type(fn).__name__}")
    try:
        inspect.signature(fn).bind(**dict.fromkeys(required))
    except TypeError as exc:
        usage = f"take the arguments ({', '.join(required)})" if required else "take no arguments"
        raise ValueError(f"{what} must {usage}: {exc}") from exc
    except ValueError:  # builtins without a signature: let the call decide
        pass
    return fn


class Features:
    """The dataset features to ablate, one trial each. ``include`` and ``exclude`` take names."""

    def __init__(self, label_name: str) -> None:
        self._label = label_name
        self._included: list[str] = []

    def include(self, *features: str | Iterable[str]) -> None:
        """Ablate each named feature in a trial of its own: ``include('pclass', 'fare')`` or a list."""
        for name in _names("features", features):
            if name == self._label:
                raise ValueError(
                    f"{name!r} is the label (label_name); include the features to remove, not the label"
                )
            if name not in self._included:
                self._included.append(name)

    def exclude(self, *features: str | Iterable[str]) -> None:
        """Undo ``include`` for the named features; naming one never included is an error."""
        for name in _names("features", features):
            if name not in self._included:
                raise ValueError(f"feature {name!r} is not included (included: {self._included})")
            self._included.remove(name)

    def list_all(self) -> list[str]:
        """The included features, in the order they were included."""
        return list(self._included)

    @property
    def included_features(self) -> list[str]:
        return list(self._included)


class Layers:
    """The model layers to ablate: single layers, and groups removed together."""

    def __init__(self) -> None:
        self._included: list[str] = []
        self._groups: list[tuple[str, ...]] = []
        self._prefixes: list[str] = []

    def include(self, *layers: str | Iterable[str]) -> None:
        """Ablate each named layer in a trial of its own (names as given with ``name=`` in Keras)."""
        for name in _names("layer names", layers):
            if name not in self._included:
                self._included.append(name)

    def exclude(self, *layers: str | Iterable[str]) -> None:
        """Undo ``include`` for the named layers; naming one never included is an error."""
        for name in _names("layer names", layers):
            if name not in self._included:
                raise ValueError(f"layer {name!r} is not included (included: {self._included})")
            self._included.remove(name)

    def include_groups(self, *groups: Iterable[str], prefix: str | None = None) -> None:
        """Ablate layers together in one trial: each positional argument is a list of two or more
        layer names; ``prefix='my_dense'`` groups every layer whose name starts with it.
        """
        if not groups and prefix is None:
            raise ValueError("include_groups needs a list of layer names, or prefix='...'")
        for group in self._parse_groups(groups):
            if not any(set(g) == set(group) for g in self._groups):  # same layers, any order: once
                self._groups.append(group)
        if prefix is not None:
            prefix = self._check_prefix(prefix)
            if prefix not in self._prefixes:
                self._prefixes.append(prefix)

    def exclude_groups(self, *groups: Iterable[str], prefix: str | None = None) -> None:
        """Undo ``include_groups`` for these groups (same layers, any order) or this prefix."""
        for group in self._parse_groups(groups):
            match = [g for g in self._groups if set(g) == set(group)]
            if not match:
                raise ValueError(
                    f"no included group of layers {list(group)} (groups: {self.list_all_groups()})"
                )
            self._groups.remove(match[0])
        if prefix is not None:
            if prefix not in self._prefixes:
                raise ValueError(f"prefix {prefix!r} is not included (prefixes: {self._prefixes})")
            self._prefixes.remove(prefix)

    def list_all(self) -> list[str]:
        """The single layers included, in order."""
        return list(self._included)

    def list_all_groups(self) -> list[list[str] | str]:
        """The groups: lists of layer names, then prefixes as 'prefix*'."""
        return [list(g) for g in self._groups] + [f"{p}*" for p in self._prefixes]

    @property
    def included_layers(self) -> list[str]:
        return list(self._included)

    @property
    def included_groups(self) -> list[tuple[str, ...]]:
        return list(self._groups)

    @property
    def included_prefixes(self) -> list[str]:
        return list(self._prefixes)

    @staticmethod
    def _parse_groups(groups: Iterable[Any]) -> list[tuple[str, ...]]:
        out = []
        for group in groups:
            if isinstance(group, str) or not isinstance(group, (list, tuple, set, frozenset)):
                raise ValueError(
                    f"a layer group is a list of layer names, got {group!r}; for one layer use "
                    "layers.include(name), for a prefix use include_groups(prefix=...)"
                )
            names = _names("layer names", [group])
            if len(names) < 2:
                raise ValueError(
                    f"a layer group needs at least two different layers, got {list(group)!r}; "
                    "ablate a single layer with layers.include(name)"
                )
            out.append(tuple(names))
        return out

    @staticmethod
    def _check_prefix(prefix: Any) -> str:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        return prefix


class Model:
    """The base model generator, the layers to ablate, and custom models to compare."""

    def __init__(self) -> None:
        self.layers = Layers()
        self.base_model_generator: Callable[[], Any] | None = None
        self._custom: dict[str, Callable[[], Any]] = {}

    def set_base_model_generator(self, base_model_generator: Callable[[], Any]) -> None:
        """The function (no arguments) returning a fresh Keras model: Sequential or functional."""
        self.base_model_generator = _check_generator("the base model generator", base_model_generator)

    def add_custom_model_generator(
        self, custom_model_generator: Callable[[], Any], model_identifier: str
    ) -> None:
        """Run one trial with the model ``custom_model_generator()`` (no arguments) instead of the
        base model; ``model_identifier`` names it in the results (``'model:<identifier>'``).
        """
        if not isinstance(model_identifier, str) or not model_identifier:
            raise ValueError(f"model_identifier must be a non-empty string, got {model_identifier!r}")
        if model_identifier in self._custom:
            raise ValueError(
                f"a custom model named {model_identifier!r} is already added; pick another identifier "
                "or remove_custom_model_generator it first"
            )
        self._custom[model_identifier] = _check_generator("a custom model generator", custom_model_generator)

    def remove_custom_model_generator(self, model_identifier: str) -> None:
        """Undo ``add_custom_model_generator`` for ``model_identifier``."""
        if model_identifier not in self._custom:
            raise ValueError(f"no custom model {model_identifier!r} (added: {list(self._custom)})")
        del self._custom[model_identifier]

    @property
    def custom_model_generators(self) -> dict[str, Callable[[], Any]]:
        """``{identifier: generator}`` in the order added."""
        return dict(self._custom)


class AblationStudy:
    """Entry point of an ablation study; pass it to ``experiment.lagom(experiment_type='ablation',
    ablation_study=..., ablator='loco')``.

    ``training_dataset_name`` and ``training_dataset_version`` (None: the latest) name a dataset
    in ``maggy.datasets``; ``label_name`` is its label column. Keyword argument
    ``dataset_generator``: a function ``(ablated_feature, epochs, batch_size) -> tf.data.Dataset``
    used instead of the catalog (``ablated_feature`` is None in trials that keep every feature).

    The training function is ``training_function(dataset_function, model_function, reporter)``
    (``reporter`` optional). ``dataset_function(epochs, batch_size)`` returns a tf.data.Dataset
    of ``(features, label)`` batches: features a float32 vector of every column but the label
    (and the trial's ablated feature), in dataset order; shuffled, and repeated ``epochs`` times
    like the Maggy API's, so either pass ``steps_per_epoch`` to ``fit`` or ask for ``epochs=1``
    and ``fit(..., epochs=N)``. ``model_function()`` returns a fresh Keras model without the
    trial's layers (see ``maggy.ablation.model_surgery`` for what can be removed).
    """

    def __init__(
        self,
        training_dataset_name: str,
        training_dataset_version: int | None = None,
        label_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(training_dataset_name, str) or not training_dataset_name:
            raise ValueError(
                f"training_dataset_name must be a non-empty string, got {training_dataset_name!r}"
            )
        if training_dataset_version is not None and (
            isinstance(training_dataset_version, bool)
            or not isinstance(training_dataset_version, int)
            or training_dataset_version < 1
        ):
            raise ValueError(
                f"training_dataset_version must be an int >= 1, or None for the latest, got {training_dataset_version!r}"
            )
        if not isinstance(label_name, str) or not label_name:
            raise ValueError(
                f"label_name must name the label column, e.g. AblationStudy({training_dataset_name!r}, "
                f"label_name='survived'); got {label_name!r}"
            )
        unknown = sorted(set(kwargs) - set(_KWARGS))
        if unknown:
            raise TypeError(
                f"AblationStudy got unknown keyword argument(s) {unknown}; it accepts {list(_KWARGS)}"
            )
        self.training_dataset_name = training_dataset_name
        self.training_dataset_version = training_dataset_version
        self.label_name = label_name
        self.features = Features(label_name)
        self.model = Model()
        self.custom_dataset_generator: Callable[..., Any] | None = None
        if kwargs.get("dataset_generator") is not None:
            self.set_dataset_generator(kwargs["dataset_generator"])

    def set_dataset_generator(self, dataset_generator: Callable[..., Any] | None) -> None:
        """Use ``dataset_generator(ablated_feature, epochs, batch_size)`` instead of the catalog
        (None: back to the catalog). It must return the dataset without ``ablated_feature``.
        """
        if dataset_generator is not None:
            dataset_generator = _check_generator(
                "the dataset generator", dataset_generator, ("ablated_feature", "epochs", "batch_size")
            )
        self.custom_dataset_generator = dataset_generator

    def to_dict(self) -> dict[str, Any]:
        """The study as plain data (JSON-ready): the dataset, label, and every included component."""
        base = self.model.base_model_generator
        return {
            "training_dataset_name": self.training_dataset_name,
            "training_dataset_version": self.training_dataset_version,
            "label_name": self.label_name,
            "included_features": self.features.list_all(),
            "included_layers": self.model.layers.list_all(),
            "included_groups": self.model.layers.list_all_groups(),
            "custom_models": list(self.model.custom_model_generators),
            "base_model_generator": getattr(base, "__name__", repr(base)) if base is not None else None,
            "custom_dataset_generator": self.custom_dataset_generator is not None,
        }

    def __repr__(self) -> str:
        d = self.to_dict()
        parts = ", ".join(
            f"{k}={d[k]!r}" for k in ("included_features", "included_layers", "included_groups")
        )
        return f"AblationStudy({self.training_dataset_name!r}, {self.training_dataset_version!r}, {self.label_name!r}; {parts})"
