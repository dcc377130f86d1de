"""Removing layers from a Keras model: the model is rebuilt without them, with fresh weights.

The rule: a layer can be removed when it takes a single tensor, and the layer that consumed its
output accepts its input instead. A Dense layer takes any width, so Dense chains can lose any
layer; a Conv2D after a removed Reshape cannot, and the error names both layers and the shape.
Layers that must go together are ablated as a group. Layers taking several tensors (Add,
Concatenate) cannot be bypassed; ablate those with a custom model generator.

Works on Keras 3 Sequential and functional models (chains and graphs, layers shared or not);
subclassed models hide their graph and are refused. Layers are cloned from their configs, so
names stay as declared and a compiled base model's compile settings carry over.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import Any


class AblationError(ValueError):
    """A component cannot be ablated as declared; the message says why and what to do."""


def _keras() -> Any:
    import keras  # lazily: only ablation trials and their validation need it

    return keras


def is_keras_model(obj: Any) -> bool:
    keras = sys.modules.get("keras")  # a Keras model means Keras is loaded: never import it to ask
    return keras is not None and isinstance(obj, keras.Model)


def _is_input_layer(layer: Any) -> bool:
    return isinstance(layer, _keras().layers.InputLayer)


def layer_names(model: Any) -> list[str]:
    """Names of the model's top-level layers, input layers left out (they cannot be removed)."""
    return [layer.name for layer in model.layers if not _is_input_layer(layer)]


def nested_owner(model: Any, name: str) -> str | None:
    """Name of the top-level sub-model holding a layer called ``name`` (any depth), else None."""
    for layer in model.layers:
        inner = getattr(layer, "layers", None)
        if inner is not None and (name in {sub.name for sub in inner} or nested_owner(layer, name)):
            return str(layer.name)
    return None


def input_shapes(model: Any) -> list[tuple[Any, ...]] | None:
    """The model's input shapes (batch dimension first), or None if it has no defined input."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # an unbuilt Sequential has none yet
        return None
    return [tuple(t.shape) for t in inputs] if inputs else None


def flat_input_width(model: Any) -> int | None:
    """The width of a single ``(batch, width)`` input, else None."""
    shapes = input_shapes(model)
    if shapes and len(shapes) == 1 and len(shapes[0]) == 2 and shapes[0][1] is not None:
        return int(shapes[0][1])
    return None


def remove_layers(model: Any, names: Collection[str], input_width: int | None = None) -> Any:
    """A new, untrained model like ``model`` without the layers ``names``.

    ``input_width``: give the rebuilt model a ``(batch, input_width)`` input instead of its own
    (a feature was ablated from a flat input). Raises AblationError naming the layer and what to
    change when a layer is unknown, cannot be bypassed, or no longer fits its new input.
    """
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise AblationError(
            f"the model generator returned a {type(model).__name__}, not a Keras model; return a "
            "keras.Sequential or a functional keras.Model"
        )
    removed = set(names)
    unknown = sorted(removed - set(layer_names(model)))
    if unknown:
        raise AblationError(
            f"model {model.name!r} has no layer(s) {unknown}; its layers: {layer_names(model)}"
        )
    if isinstance(model, keras.Sequential):
        return _rebuild_sequential(model, removed, input_width)
    from keras.src.models.functional import Functional  # the class keras.Model(inputs, outputs) builds

    if isinstance(model, Functional):
        return _rebuild_functional(model, removed, input_width)
    raise AblationError(
        f"model {model.name!r} is a subclassed {type(model).__name__}: its layers are wired in Python code "
        "maggy cannot see, so none can be removed; build it with keras.Sequential or the functional API, "
        "or ablate variants with model.add_custom_model_generator(fn, 'name')"
    )


def _clone(layer: Any) -> Any:
    try:
        return type(layer).from_config(layer.get_config())
    except Exception as exc:
        raise AblationError(
            f"layer {layer.name!r} ({type(layer).__name__}) cannot be re-created from its config ({exc}); "
            "give the layer class a complete get_config(), or ablate with a custom model generator"
        ) from exc


def _misfit(layer: Any, removed: set[str], shape: Any, exc: Exception) -> AblationError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return AblationError(
        f"after removing {sorted(removed)}, layer {layer.name!r} ({type(layer).__name__}) receives input "
        f"of shape {shape} it cannot take: {first}. A layer can only be removed when the next layer "
        "accepts the removed layer's input; ablate the layers that must go together as a group "
        "(model.layers.include_groups([...])) or use model.add_custom_model_generator(fn, 'name')"
    )


def _rebuild_sequential(model: Any, removed: set[str], input_width: int | None) -> Any:
    keras = _keras()
    new = keras.Sequential(name=model.name)
    shapes = input_shapes(model)
    current: Any = None  # the shape the next layer receives, when the input is known
    if shapes is not None or input_width is not None:
        shape = (input_width,) if input_width is not None else shapes[0][1:]  # type: ignore[index]
        dtype = model.inputs[0].dtype if shapes is not None else "float32"
        new.add(keras.Input(shape=shape, dtype=dtype))
        current = (None, *shape)
    for layer in model.layers:
        if _is_input_layer(layer) or layer.name in removed:
            continue
        clone = _clone(layer)
        try:
            new.add(clone)  # with a known input, add() builds, so a misfit fails here
        except Exception as exc:
            raise _misfit(layer, removed, current, exc) from exc
        if current is not None:
            current = tuple(new.outputs[0].shape)
    _carry_compile(model, new)
    return new


def _rebuild_functional(model: Any, removed: set[str], input_width: int | None) -> Any:
    keras = _keras()

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if layer.name in removed:
            if len(args) != 1 or isinstance(args[0], (list, tuple, dict)):
                raise AblationError(
                    f"layer {layer.name!r} ({type(layer).__name__}) takes several inputs, so there is no "
                    "single tensor to pass on in its place; it cannot be removed: ablate this variant with "
                    "model.add_custom_model_generator(fn, 'name')"
                )
            return args[0]  # bypass: the layer's consumers get its input
        try:
            return layer(*args, **kwargs)
        except Exception as exc:
            shapes = [tuple(a.shape) for a in keras.tree.flatten(args) if hasattr(a, "shape")]
            raise _misfit(layer, removed, shapes[0] if len(shapes) == 1 else shapes, exc) from exc

    inputs = None
    if input_width is not None:
        inputs = keras.tree.map_structure(
            lambda t: keras.Input(batch_shape=(t.shape[0], input_width), dtype=t.dtype, name=t.name),
            model.input,
        )
    try:
        return keras.models.clone_model(
            model, input_tensors=inputs, clone_function=_clone, call_function=call
        )
    except AblationError:
        raise
    except Exception as exc:  # e.g. an output that now is an input: report it rather than Keras' words
        raise AblationError(f"cannot rebuild model {model.name!r} without {sorted(removed)}: {exc}") from exc


def _carry_compile(old: Any, new: Any) -> None:
    if getattr(old, "compiled", False):
        new.compile_from_config(old.get_compile_config())
