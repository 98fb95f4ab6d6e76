"""Building a recipe's components from the registry, with their options checked.

Every build goes through ``build_one``: the section's options are checked against the
component's dataclass, an exception inside a plugin's ``build`` becomes one line naming the
plugin and the component, and what comes back is checked against the kind's base class. A
plugin that wraps another component (a packing discriminator around any other one, say) calls
``build_nested`` from its own ``build``; errors in the inner options then name their whole key
path, e.g. ``discriminator.inner.ndf``.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig

from ganzoo.data import check_batch_size
from ganzoo.engine.runtime import seed_everything
from ganzoo.errors import GanzooError
from ganzoo.interfaces import (
    Augmentation,
    Dataset,
    Discriminator,
    Generator,
    Logger,
    Loss,
    Regularizer,
    Schedule,
)
from ganzoo.kinds import KINDS, base_class
from ganzoo.recipe import PLAYERS, as_dict, component_options, field_names
from ganzoo.registry import Registry

# (registry, key path) of the build under way, for build_nested
_BUILDING: contextvars.ContextVar[tuple[Registry, str] | None] = contextvars.ContextVar(
    "ganzoo_building", default=None)


@dataclass
class RegularizerEntry:
    """A regularizer as the recipe uses it: how much and how often; ``name`` is what its
    penalty is logged as (its component name, numbered when a recipe uses it twice)."""

    name: str
    regularizer: Regularizer
    weight: float = 1.0
    every: int = 1


@dataclass
class Components:
    """What a recipe names, built: the parts of the game the engine plays."""

    generator: Generator
    discriminator: Discriminator
    loss: Loss
    dataset: Dataset
    augmentation: Augmentation | None = None
    regularizers: list[RegularizerEntry] = field(default_factory=list)
    conditional: bool = False
    schedules: dict[str, Schedule] = field(default_factory=dict)  # player -> its schedule
    # make_optimizer('optim_g' | 'optim_d', parameters, fused) -> the player's optimizer
    make_optimizer: Callable[[str, Any, bool], Any] | None = None
    loggers: list[Logger] = field(default_factory=list)  # train.loggers, not yet opened

    @property
    def num_classes(self) -> int | None:
        return self.dataset.num_classes if self.conditional else None


def build_one(registry: Registry, kind: str, config: DictConfig | dict[str, Any], path: str,
              *args: Any) -> Any:
    """Build the ``kind`` that a recipe section (``name`` plus options) at ``path`` names."""
    section = as_dict(config)
    component = registry.get(kind, section.get("name"))
    options = component_options(component, section, path)
    token = _BUILDING.set((registry, path))
    try:
        value = component.build(options, *args)
    except GanzooError:
        raise
    except ImportError as exc:  # an optional package it needs is not installed
        raise GanzooError(f"{path}: {component.where} needs what is not installed: "
                          f"{exc}") from exc
    except Exception as exc:  # a plugin's bug: one line naming it; --debug shows the rest
        first = (str(exc).strip().splitlines() or [""])[0]
        raise GanzooError(f"{path}: {component.where} failed to build: "
                          f"{type(exc).__name__}: {first}") from exc
    finally:
        _BUILDING.reset(token)
    expected = base_class(KINDS[kind])
    if not isinstance(value, expected):
        raise GanzooError(f"{path}.name: {component.where} built a {type(value).__name__}, "
                          f"not a {expected.__module__.split('.')[0]} {expected.__name__}")
    return value


def build_nested(kind: str, config: DictConfig | dict[str, Any], key: str, *args: Any) -> Any:
    """From inside a plugin's ``build``: build the ``kind`` named by the option ``key`` (a
    ``{name: ..., <options>}`` mapping), checked like any recipe section."""
    building = _BUILDING.get()
    if building is None:
        raise RuntimeError("build_nested is for use inside a component's build function")
    registry, path = building
    if not isinstance(as_dict(config).get("name"), str):
        raise GanzooError(f"{path}.{key}.name: missing; name the {kind} to use "
                          f"(see 'ganzoo list {KINDS[kind].plural}')")
    return build_one(registry, kind, config, f"{path}.{key}", *args)


def build_components(recipe: DictConfig, registry: Registry) -> Components:
    """Build the recipe's dataset, networks, loss, augmentation and regularizers.

    Seeds every RNG first (``train.seed``), so that initial weights are reproducible too.
    The dataset comes first: the networks take their sample shape and classes from it.
    """
    seed_everything(int(recipe.train.seed))
    dataset = build_one(registry, "dataset", recipe.data, "data")
    check_batch_size(int(recipe.train.batch_size), len(dataset))  # before any folder is made
    num_classes = conditional_classes(recipe, dataset.num_classes)
    shape = tuple(dataset.image_shape)
    components = Components(
        generator=build_one(registry, "generator", recipe.generator, "generator", shape,
                            num_classes),
        discriminator=build_one(registry, "discriminator", recipe.discriminator,
                                "discriminator", shape, num_classes),
        loss=build_one(registry, "loss", recipe.loss, "loss"),
        dataset=dataset,
        augmentation=(build_one(registry, "augmentation", recipe.augment, "augment")
                      if recipe.augment is not None else None),
        regularizers=build_regularizers(recipe, registry),
        conditional=bool(recipe.conditional),
        schedules={player: build_schedule(registry, recipe, key)
                   for key, player in PLAYERS.items()},
        make_optimizer=functools.partial(build_optimizer, registry, recipe),
        loggers=build_loggers(recipe, registry),
    )
    check_conditioning(components, recipe)
    multiple = components.discriminator.batch_multiple
    if recipe.train.batch_size % multiple:
        raise GanzooError(f"train.batch_size: {recipe.train.batch_size} is not a multiple of "
                          f"{multiple}, the number of samples discriminator "
                          f"{recipe.discriminator.name!r} scores together")
    for key in PLAYERS:  # the optimizers' options are checked before anything trains
        section = optimizer_section(recipe, key, registry)
        component_options(registry.get("optimizer", section["name"]), section, key)
    return components


def conditional_classes(recipe: DictConfig, dataset_classes: int | None) -> int | None:
    """The class count the networks are built for: None unless the recipe is conditional."""
    if not recipe.conditional:
        return None
    if not dataset_classes:
        raise GanzooError(f"conditional: true, but dataset {recipe.data.name!r} has no class "
                          "labels; use a labelled dataset (e.g. image_folder with labels=true) "
                          "or set conditional: false")
    return int(dataset_classes)


def check_conditioning(c: Components, recipe: DictConfig) -> None:
    """A network that reads labels needs a conditional run, and a conditional run needs G to."""
    for section, network in (("generator", c.generator), ("discriminator", c.discriminator)):
        if network.conditional and not c.conditional:
            raise GanzooError(f"{section}.name: {recipe[section].name!r} is conditional (it reads "
                              "class labels); set conditional: true, with a labelled dataset")
    if c.conditional and not c.generator.conditional:
        raise GanzooError(f"conditional: true, but generator {recipe.generator.name!r} ignores "
                          "labels; use a conditional generator or set conditional: false")


def build_regularizers(recipe: DictConfig, registry: Registry) -> list[RegularizerEntry]:
    entries = []
    for i, config in enumerate(recipe.regularizers):
        path = f"regularizers[{i}]"
        section = as_dict(config)
        weight, every = section.pop("weight", 1.0), section.pop("every", 1)
        if not isinstance(weight, int | float) or weight < 0:
            raise GanzooError(f"{path}.weight: must be a number >= 0 (got {weight!r})")
        if not isinstance(every, int) or every < 1:
            raise GanzooError(f"{path}.every: must be a whole number >= 1 (got {every!r})")
        regularizer = build_one(registry, "regularizer", section, path)
        if regularizer.player not in PLAYERS.values():
            raise GanzooError(f"{path}.name: {section['name']!r} names player "
                              f"{regularizer.player!r}; expected 'discriminator' or 'generator'")
        name, taken, n = section["name"], {entry.name for entry in entries}, 1
        while name in taken:  # the same regularizer twice: r1, r1_2, ...
            n += 1
            name = f"{section['name']}_{n}"
        entries.append(RegularizerEntry(name, regularizer, float(weight), every))
    return entries


def build_loggers(recipe: DictConfig, registry: Registry) -> list[Logger]:
    """train.loggers (names or {name, options} mappings); train.tensorboard: true, the older
    spelling, adds tensorboard."""
    entries = [as_dict(e) if not isinstance(e, str) else {"name": e}
               for e in recipe.train.loggers]
    if recipe.train.tensorboard and "tensorboard" not in [e.get("name") for e in entries]:
        entries.append({"name": "tensorboard"})
    return [build_one(registry, "logger", entry, f"train.loggers[{i}]")
            for i, entry in enumerate(entries)]


def optimizer_section(recipe: DictConfig, key: str, registry: Registry) -> dict[str, Any]:
    """optim_g / optim_d without its schedule, with the older train.lr_* / beta* keys filled
    in where the section leaves them unset (they may not disagree with it)."""
    section = as_dict(recipe[key])
    section.pop("schedule", None)
    fields = set(field_names(registry.get("optimizer", section.get("name")).options))
    train = recipe.train
    legacy = {"lr": train.lr_g if key == "optim_g" else train.lr_d}
    if train.beta1 is not None or train.beta2 is not None:
        legacy["betas"] = [0.5 if train.beta1 is None else train.beta1,
                           0.999 if train.beta2 is None else train.beta2]
    for option, value in legacy.items():
        if value is None or option not in fields:
            continue
        if option in section and section[option] != value:
            raise GanzooError(f"{key}.{option}: set to {section[option]!r}, but the older "
                              f"train key says {value!r}; keep only {key}.{option}")
        section[option] = value
    return section


def build_optimizer(registry: Registry, recipe: DictConfig, key: str, params: Any,
                    fused: bool) -> Any:
    """The optimizer of one player (``optim_g`` or ``optim_d``) over ``params``; ``fused``
    (train.fused_adam) is passed on to optimizers that have a ``fused`` option."""
    section = optimizer_section(recipe, key, registry)
    if fused and "fused" in field_names(registry.get("optimizer", section["name"]).options):
        section.setdefault("fused", True)
    return build_one(registry, "optimizer", section, key, list(params))


def schedule_section(recipe: DictConfig, key: str) -> dict[str, Any]:
    return as_dict(recipe[key].get("schedule") or {"name": "constant"})


def build_schedule(registry: Registry, recipe: DictConfig, key: str) -> Any:
    return build_one(registry, "schedule", schedule_section(recipe, key), f"{key}.schedule")
