"""Checking a study against its dataset and base model, before any worker starts.

``resolve_study`` is what ``lagom`` runs for an ablation experiment: it looks the dataset up in
the catalog, checks every feature and layer name, resolves prefix groups to layer names, and
builds each layer-ablated model once, so a mistake fails in the notebook cell that called
``lagom`` with one message listing every problem, instead of in N trials on the workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from maggy.ablation import model_surgery as surgery
from maggy.ablation.model_surgery import AblationError
from maggy.ablation.summary import BASE

if TYPE_CHECKING:
    from maggy.ablation.ablationstudy import AblationStudy
    from maggy.datasets import DatasetEntry

KINDS = ("base", "feature", "layer", "group", "model")


@dataclass(frozen=True)
class AblationTrial:
    """One trial of an ablation: which component it removes.

    ``kind`` is one of KINDS; ``component`` the feature name, layer name, group label
    ('a+b' for a list, 'prefix*' for a prefix) or custom model identifier (None for the base);
    ``layers`` the layers removed (one for a layer, two or more for a group).
    """

    kind: str
    component: str | None = None
    layers: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``'base'`` or ``'KIND:COMPONENT'``: the trial's params value and its key in the result."""
        return BASE if self.kind == BASE else f"{self.kind}:{self.component}"

    @property
    def feature(self) -> str | None:
        return self.component if self.kind == "feature" else None

    def describe(self) -> str:
        if self.kind == BASE:
            return "the base model on every feature"
        if self.kind == "feature":
            return f"without feature {self.component!r}"
        if self.kind == "model":
            return f"custom model {self.component!r}"
        return f"without layer(s) {list(self.layers)}"


@dataclass(frozen=True)
class ResolvedStudy:
    """A study checked against its data and model: everything the trials need, as plain data.

    ``entry`` is None when a custom dataset generator replaces the catalog. ``feature_columns``
    are the dataset's feature columns in order (label excluded; empty if unknown).
    ``adjust_input`` is true when the base model has one flat input as wide as those columns:
    feature-ablated trials then get the model rebuilt one column narrower.
    """

    label_name: str
    features: tuple[str, ...]
    layers: tuple[str, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    custom_models: tuple[str, ...]
    entry: DatasetEntry | None
    feature_columns: tuple[str, ...]
    adjust_input: bool


def resolve_study(study: AblationStudy) -> ResolvedStudy:
    """Check ``study`` and return it resolved; ValueError listing every problem and its fix."""
    from maggy.ablation.ablationstudy import AblationStudy

    if not isinstance(study, AblationStudy):
        raise ValueError(
            "an ablation experiment needs ablation_study=AblationStudy(...) (from maggy.ablation), "
            f"got {type(study).__name__}"
        )
    problems: list[str] = []
    entry, columns = _dataset(study, problems)
    layers = study.model.layers
    has_layer_trials = bool(layers.included_layers or layers.included_groups or layers.included_prefixes)
    base_gen = study.model.base_model_generator
    if base_gen is None:
        problems.append(
            "no base model generator: set one with ablation_study.model.set_base_model_generator(fn), "
            "fn() returning a fresh Keras model"
        )
    model = (
        _call_generator(base_gen, problems)
        if base_gen is not None and (has_layer_trials or columns)
        else None
    )
    groups: list[tuple[str, tuple[str, ...]]] = []
    if has_layer_trials and model is not None:
        groups = _check_layers(study, model, problems)
    width = surgery.flat_input_width(model) if model is not None and surgery.is_keras_model(model) else None
    if entry is not None and width is not None and width != len(columns):
        problems.append(
            f"the base model's input is {width} wide but dataset_function yields {len(columns)} features "
            f"({columns}); give the model keras.Input(shape=({len(columns)},)) or no Input layer"
        )
    if problems:
        raise ValueError("the ablation study cannot run:\n  - " + "\n  - ".join(problems))
    resolved = ResolvedStudy(
        label_name=study.label_name,
        features=tuple(study.features.list_all()),
        layers=tuple(layers.included_layers),
        groups=tuple(groups),
        custom_models=tuple(study.model.custom_model_generators),
        entry=entry,
        feature_columns=tuple(columns),
        adjust_input=entry is not None and width == len(columns),
    )
    if model is not None and base_gen is not None:
        _dry_run(resolved, base_gen)
    return resolved


def _dataset(study: AblationStudy, problems: list[str]) -> tuple[DatasetEntry | None, list[str]]:
    """The catalog entry and feature columns; with a custom generator the catalog is optional."""
    from maggy.datasets import resolve

    name, version, label = study.training_dataset_name, study.training_dataset_version, study.label_name
    try:
        entry = resolve(name, version)
    except ValueError as exc:  # DatasetNotFound, or a name/version the catalog cannot hold
        if study.custom_dataset_generator is None:
            problems.append(str(exc))
        return None, []  # with a custom generator the catalog is optional: nothing to check against
    where = f"dataset {entry.name!r} v{entry.version}"
    if label not in entry.columns:
        problems.append(f"label_name {label!r} is not a column of {where}; columns: {entry.columns}")
        return None, []
    columns = [c for c in entry.columns if c != label]
    missing = [f for f in study.features.list_all() if f not in columns]
    if missing:
        problems.append(f"feature(s) {missing} are not columns of {where}; its features: {columns}")
    if study.custom_dataset_generator is not None:
        return None, []  # checked the names; the data itself comes from the generator
    text = [c for c in [*columns, label] if not entry.is_numeric(c)]
    if text:
        problems.append(
            f"column(s) {text} of {where} are not numeric, and dataset_function feeds a float vector: "
            "encode them as numbers (or drop them) and register a new version, or pass "
            "AblationStudy(..., dataset_generator=fn)"
        )
    return entry, columns


def _call_generator(generator: Any, problems: list[str]) -> Any:
    try:
        model = generator()
    except Exception as exc:
        problems.append(f"the base model generator raised {type(exc).__name__}: {exc}")
        return None
    return model


def _check_layers(study: AblationStudy, model: Any, problems: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Check layer names against the base model; returns the groups as (label, layers)."""
    if not surgery.is_keras_model(model):
        problems.append(
            f"the base model generator returned a {type(model).__name__}; layer ablation needs a Keras model"
        )
        return []
    names = surgery.layer_names(model)
    declared = study.model.layers
    wanted = list(declared.included_layers) + [n for g in declared.included_groups for n in g]
    for name in dict.fromkeys(wanted):
        if name not in names:
            owner = surgery.nested_owner(model, name)
            where = (
                f" (it is inside the nested model {owner!r}; only top-level layers can be removed)"
                if owner
                else ""
            )
            problems.append(f"the base model has no layer {name!r}{where}; its layers: {names}")
    groups = [("+".join(g), tuple(g)) for g in declared.included_groups]
    for prefix in declared.included_prefixes:
        matched = tuple(n for n in names if n.startswith(prefix))
        if not matched:
            problems.append(f"prefix {prefix!r} matches no layer of the base model; its layers: {names}")
        elif len(matched) < 2:
            problems.append(
                f"prefix {prefix!r} matches only layer {matched[0]!r}, and a group needs two or more; "
                f"ablate it with model.layers.include({matched[0]!r})"
            )
        else:
            groups.append((f"{prefix}*", matched))
    return groups


def _dry_run(resolved: ResolvedStudy, base_gen: Any) -> None:
    """Build every layer-ablated model once (and a narrower-input one), so misfits fail now."""
    removals: list[tuple[str, tuple[str, ...]]] = [(f"layer {name!r}", (name,)) for name in resolved.layers]
    removals += [(f"group {label!r}", layers) for label, layers in resolved.groups]
    width = len(resolved.feature_columns) or None
    for what, layers in removals:
        try:
            model = surgery.remove_layers(base_gen(), layers)
        except AblationError as exc:
            raise AblationError(f"cannot ablate {what}: {exc}") from exc
        if width is not None and surgery.input_shapes(model) is None:
            try:
                model.build((None, width))  # no Input layer: try it on the dataset's width
            except Exception as exc:
                raise AblationError(
                    f"cannot ablate {what}: without it the model does not build on the dataset's {width} "
                    f"features ({exc}). A layer can only be removed when the next layer accepts the removed "
                    "layer's input; ablate layers that must go together as a group, or use "
                    "model.add_custom_model_generator(fn, 'name')"
                ) from exc
    if resolved.adjust_input and resolved.features:
        surgery.remove_layers(base_gen(), (), input_width=len(resolved.feature_columns) - 1)
