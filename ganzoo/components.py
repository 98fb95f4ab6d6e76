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
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig
from torch import nn

from ganzoo.data import check_batch_size
from ganzoo.engine.runtime import seed_everything
from ganzoo.errors import GanzooError
from ganzoo.interfaces import (
    Augmentation,
    Dataset,
    Field,
    Game,
    Logger,
    Loss,
    Regularizer,
    Role,
    Schedule,
    is_image_shape,
)
from ganzoo.kinds import KINDS, base_class
from ganzoo.recipe import as_dict, component_options, field_names
from ganzoo.registry import Registry
from ganzoo.roles import optimizer_groups, roles_of_kind

# (registry, key path) of the build under way, for build_nested
_BUILDING: contextvars.ContextVar[tuple[Registry, str] | None] = contextvars.ContextVar(
    "ganzoo_building", default=None)


@dataclass
class RegularizerEntry:
    """A regularizer as the recipe uses it: on which role, how much and how often; ``name`` is
    what its penalty is logged as (its component name, numbered when a recipe uses it twice)."""

    name: str
    regularizer: Regularizer
    weight: float = 1.0
    every: int = 1
    role: str = ""  # the role whose objective it joins; '' means regularizer.player
    schedule: Schedule | None = None  # the weight's factor over the run (R3GAN's gamma decay)
    total_steps: int = 0  # the run's train.steps, for the schedule

    def __post_init__(self) -> None:
        self.role = self.role or self.regularizer.player

    def weight_at(self, step: int) -> float:
        """The weight at ``step``: ``weight``, times the schedule's factor where one is set."""
        if self.schedule is None:
            return self.weight
        return self.weight * self.schedule.factor(step, self.total_steps)


@dataclass(frozen=True)
class NetworkShape:
    """What one role's network was built for: the sample shape it makes or scores (a text
    encoder: its caption field's), the input image it takes (a generator with an input), the
    class count (None: unconditional) and a text encoder's vocabulary."""

    image_shape: tuple[int, ...]
    input_shape: tuple[int, ...] | None = None
    num_classes: int | None = None
    vocabulary: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        shape = {"image_shape": list(self.image_shape), "num_classes": self.num_classes,
                 "input_shape": list(self.input_shape) if self.input_shape else None}
        return shape if self.vocabulary is None else {**shape,
                                                      "vocabulary": list(self.vocabulary)}

    def build_args(self, kind: str) -> tuple[Any, ...]:
        """What a network of ``kind`` is built with after its options."""
        if kind == "text_encoder":
            return self.image_shape, self.vocabulary
        return self.image_shape, self.num_classes


@dataclass
class Components:
    """What a recipe names, built: the game, its networks by role, and the parts it plays with."""

    game: Game
    networks: dict[str, nn.Module]  # role -> its network
    shapes: dict[str, NetworkShape]  # role -> what its network was built for
    loss: Loss
    dataset: Dataset
    augmentation: Augmentation | None = None
    regularizers: list[RegularizerEntry] = field(default_factory=list)
    conditional: bool = False
    schedules: dict[str, Schedule] = field(default_factory=dict)  # optimizer section -> schedule
    beta2_schedules: dict[str, Schedule] = field(default_factory=dict)  # ... -> Adam's beta2's
    ema_schedule: Schedule | None = None  # train.ema_schedule: a factor of the EMA's half-life
    # make_optimizer(optimizer section, parameters, fused) -> that section's optimizer
    make_optimizer: Callable[[str, Any, bool], Any] | None = None
    loggers: list[Logger] = field(default_factory=list)  # train.loggers, not yet opened

    @property
    def num_classes(self) -> int | None:
        return self.dataset.num_classes if self.conditional else None

    @property
    def optimizers(self) -> dict[str, list[str]]:
        """Optimizer section -> the roles it updates, in the game's order."""
        return optimizer_groups(self.game.roles)

    def roles_of_kind(self, kind: str) -> list[str]:
        return roles_of_kind(self.game.roles, kind)


def build_one(registry: Registry, kind: str, config: DictConfig | dict[str, Any], path: str,
              *args: Any, **kwargs: Any) -> Any:
    """Build the ``kind`` that a recipe section (``name`` plus options) at ``path`` names."""
    section = as_dict(config)
    component = registry.get(kind, section.get("name"))
    options = component_options(component, section, path)
    token = _BUILDING.set((registry, path))
    try:
        value = component.build(options, *args, **kwargs)
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
    """Build the recipe's dataset, game, networks by role, loss, augmentation and regularizers.

    Seeds every RNG first (``train.seed``), so that initial weights are reproducible too.
    The dataset comes first: the networks take their shapes and classes from its fields, and
    a field the game needs but the data lacks is refused here, before anything trains.
    """
    seed_everything(int(recipe.train.seed))
    dataset = build_one(registry, "dataset", recipe.data, "data")
    check_batch_size(int(recipe.train.batch_size), len(dataset))  # before any folder is made
    num_classes = conditional_classes(recipe, dataset.num_classes)
    game = build_game(registry, recipe)
    fields = dataset.fields
    check_fields(game, fields, recipe)
    shapes = {role: network_shape(role, spec, fields, num_classes)
              for role, spec in game.roles.items()}
    networks = {role: build_network(registry, recipe, role, spec, shapes[role])
                for role, spec in game.roles.items()}
    components = Components(
        game=game, networks=networks, shapes=shapes,
        loss=build_one(registry, "loss", recipe.loss, "loss"),
        dataset=dataset,
        augmentation=(build_one(registry, "augmentation", recipe.augment, "augment")
                      if recipe.augment is not None else None),
        regularizers=build_regularizers(recipe, registry, list(game.roles)),
        conditional=bool(recipe.conditional),
        loggers=build_loggers(recipe, registry),
    )
    components.schedules = {key: build_schedule(registry, recipe, key)
                            for key in components.optimizers}
    for key, schedule in components.schedules.items():
        if schedule.warmup >= recipe.train.steps:
            raise GanzooError(f"{key}.schedule.warmup: {schedule.warmup} steps of warm-up in a "
                              f"run of {recipe.train.steps} (train.steps): the learning rate "
                              "would never reach its value; lower the warm-up")
    components.beta2_schedules = {key: schedule for key in components.optimizers
                                  if (schedule := beta2_schedule(registry, recipe, key))}
    components.ema_schedule = optional_schedule(registry, recipe.train.ema_schedule, recipe,
                                                "train.ema_schedule")
    if components.ema_schedule is not None and recipe.train.ema_decay == 0:
        raise GanzooError("train.ema_schedule: set, but train.ema_decay is 0 (no EMA to "
                          "schedule); set train.ema_decay or remove the schedule")
    components.make_optimizer = functools.partial(build_optimizer, registry, recipe)
    check_conditioning(components, recipe)
    check_augmentation(components, recipe)
    check_regularizers(components, recipe)
    for role in components.roles_of_kind("discriminator"):
        multiple = networks[role].batch_multiple
        if recipe.train.batch_size % multiple:
            raise GanzooError(f"train.batch_size: {recipe.train.batch_size} is not a multiple "
                              f"of {multiple}, the number of samples {role} "
                              f"{recipe[role].name!r} scores together")
    for key in components.optimizers:  # their options are checked before anything trains
        section = optimizer_section(recipe, key, registry)
        component_options(registry.get("optimizer", section["name"]), section, key)
    return components


def check_augmentation(components: Components, recipe: DictConfig) -> None:
    """An augmentation of images is refused on data that are not images."""
    augmentation = components.augmentation
    shape = tuple(components.shapes[components.game.primary].image_shape)
    if augmentation is not None and augmentation.images_only and not is_image_shape(shape):
        raise GanzooError(f"augment.name: {recipe.augment.name!r} transforms images, but "
                          f"dataset {recipe.data.name!r} gives samples of shape {shape}; "
                          "remove the augment section")


def check_regularizers(components: Components, recipe: DictConfig) -> None:
    """A regularizer that transforms images is refused on a role whose samples are not."""
    for i, entry in enumerate(components.regularizers):
        shape = tuple(components.shapes[entry.role].image_shape)
        if entry.regularizer.images_only and not is_image_shape(shape):
            raise GanzooError(f"regularizers[{i}].name: {recipe.regularizers[i].name!r} "
                              f"transforms images, but dataset {recipe.data.name!r} gives "
                              f"samples of shape {shape}; remove it from regularizers")


def build_game(registry: Registry, recipe: DictConfig) -> Game:
    """The recipe's game, whose roles must be those it was registered with (the recipe's
    sections were checked against those)."""
    game = build_one(registry, "game", recipe.game, "game")
    registered = registry.get("game", recipe.game.name).roles
    if dict(game.roles) != dict(registered):
        raise GanzooError(f"game.name: game {recipe.game.name!r} built roles "
                          f"{', '.join(game.roles)}, not the {', '.join(registered)} it was "
                          "registered with; register it with roles=TheGame.roles")
    return game


def check_fields(game: Game, fields: dict[str, Field], recipe: DictConfig) -> None:
    """Every field the game needs is one the dataset's batches hold."""
    for name, why in game.needs(bool(recipe.conditional)).items():
        if name not in fields:
            raise GanzooError(f"data.name: game {recipe.game.name!r} needs the data field "
                              f"{name!r} ({why}), but dataset {recipe.data.name!r} gives "
                              f"{', '.join(fields) or 'none'}; use a dataset with that field "
                              "(see 'ganzoo list datasets') or another game")


def network_shape(role: str, spec: Role, fields: dict[str, Field],
                  num_classes: int | None) -> NetworkShape:
    """The shapes a role's network is built for, from the data fields it makes or scores."""
    names = (spec.field,) if isinstance(spec.field, str) else tuple(spec.field)
    shapes = [tuple(fields[name].shape) for name in names]
    shape = shapes[0]
    if len(shapes) > 1:  # fields side by side on the channels: the rest must agree
        if any(s[1:] != shape[1:] for s in shapes):
            sizes = ", ".join("x".join(map(str, s)) for s in shapes)
            raise GanzooError(f"{role}: the fields {', '.join(names)} it scores side by side "
                              f"differ in size ({sizes})")
        shape = (sum(s[0] for s in shapes), *shape[1:])
    input_shape = tuple(fields[spec.input].shape) if spec.input else None
    if spec.kind == "text_encoder":
        return NetworkShape(shape, vocabulary=caption_vocabulary(role, names[0], fields))
    return NetworkShape(shape, input_shape, num_classes)


def caption_vocabulary(role: str, name: str, fields: dict[str, Field]) -> tuple[str, ...]:
    """The words of a caption field's tokens, which a text encoder is built for."""
    field = fields[name]
    vocabulary = getattr(field, "vocabulary", None)
    if field.dtype != "int64" or len(field.shape) != 1 or not vocabulary:
        raise GanzooError(f"{role}: a text encoder reads captions as tokens, but data field "
                          f"{name!r} is {field.describe()} without a vocabulary; use a dataset "
                          "of captions (see 'ganzoo list datasets')")
    return tuple(vocabulary)


def build_network(registry: Registry, recipe: DictConfig, role: str, spec: Role,
                  shape: NetworkShape) -> nn.Module:
    """The network of one role; a generator with an input is given ``input_shape`` too."""
    section = recipe[role]
    kwargs = {}
    if shape.input_shape is not None:
        component = registry.get(spec.kind, section.name)
        if not takes_keyword(component.build, "input_shape"):
            raise GanzooError(f"{role}.name: {component.where} takes no input image, but role "
                              f"{role!r} of game {recipe.game.name!r} makes field "
                              f"{spec.field!r} from field {spec.input!r}; use a generator whose "
                              "build takes input_shape (see 'ganzoo list generators')")
        kwargs["input_shape"] = shape.input_shape
    network = build_one(registry, spec.kind, section, role, *shape.build_args(spec.kind),
                        **kwargs)
    made_input = getattr(network, "input_shape", None)
    if spec.kind == "generator" and (tuple(made_input) if made_input else None) != \
            shape.input_shape:
        wanted = ("noise" if shape.input_shape is None
                  else f"images of shape {'x'.join(map(str, shape.input_shape))}")
        raise GanzooError(f"{role}.name: generator {section.name!r} takes "
                          f"{'noise' if not made_input else 'x'.join(map(str, made_input))}, "
                          f"but role {role!r} of game {recipe.game.name!r} feeds it {wanted}")
    return network


def takes_keyword(function: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


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
    """A network that reads labels needs a conditional run, and a conditional run needs its
    generators to read them."""
    for role, network in c.networks.items():
        if network.conditional and not c.conditional:
            raise GanzooError(f"{role}.name: {recipe[role].name!r} is conditional (it reads "
                              "class labels); set conditional: true, with a labelled dataset")
    for role in c.roles_of_kind("generator"):
        if c.conditional and not c.networks[role].conditional:
            raise GanzooError(f"conditional: true, but {role} {recipe[role].name!r} ignores "
                              "labels; use a conditional generator or set conditional: false")


def build_regularizers(recipe: DictConfig, registry: Registry,
                       roles: list[str]) -> list[RegularizerEntry]:
    entries = []
    for i, config in enumerate(recipe.regularizers):
        path = f"regularizers[{i}]"
        section = as_dict(config)
        weight, every = section.pop("weight", 1.0), section.pop("every", 1)
        role, schedule = section.pop("role", None), section.pop("schedule", None)
        if (not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0
                or not math.isfinite(weight)):
            raise GanzooError(f"{path}.weight: must be a finite number >= 0 (got {weight!r})")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise GanzooError(f"{path}.every: must be a whole number >= 1 (got {every!r})")
        regularizer = build_one(registry, "regularizer", section, path)
        role = role or regularizer.player
        if role not in roles:
            raise GanzooError(f"{path}.role: {role!r} is not a role of game "
                              f"{recipe.game.name!r}; set role: to one of {', '.join(roles)}")
        name, taken, n = section["name"], {entry.name for entry in entries}, 1
        while name in taken:  # the same regularizer twice: r1, r1_2, ...
            n += 1
            name = f"{section['name']}_{n}"
        entries.append(RegularizerEntry(name, regularizer, float(weight), every, role,
                                        optional_schedule(registry, schedule, recipe,
                                                          f"{path}.schedule"),
                                        recipe.train.steps))
    return entries


def optional_schedule(registry: Registry, section: Any, recipe: DictConfig,
                      path: str) -> Schedule | None:
    """The schedule at ``path`` (a regularizer's weight, Adam's beta2, the EMA's half-life), or
    None where unset: a name or a ``{name, ...}`` mapping."""
    if section is None:
        return None
    if isinstance(section, str):
        section = {"name": section}
    if isinstance(section, DictConfig):
        section = as_dict(section)
    if not isinstance(section, dict):
        raise GanzooError(f"{path}: a schedule such as {{name: cosine, final: 0.1}} "
                          f"(got {section!r}); see ganzoo list schedules")
    schedule = build_one(registry, "schedule", section, path)
    if schedule.warmup >= recipe.train.steps:
        raise GanzooError(f"{path}.warmup: {schedule.warmup} steps of warm-up in a run "
                          f"of {recipe.train.steps} (train.steps); lower the warm-up")
    return schedule


def beta2_schedule(registry: Registry, recipe: DictConfig, key: str) -> Schedule | None:
    """``optim_g.beta2_schedule``: a factor of 1 - beta2, Adam's second-moment horizon
    (R3GAN's beta2 0.9 -> 0.99 is {name: cosine, final: 0.1}); only for optimizers with betas."""
    section = as_dict(recipe[key]).get("beta2_schedule")
    if section is None:
        return None
    name = as_dict(recipe[key]).get("name")
    if "betas" not in field_names(registry.get("optimizer", name).options):
        raise GanzooError(f"{key}.beta2_schedule: optimizer {name!r} has no betas to schedule; "
                          "remove it or use adam")
    return optional_schedule(registry, section, recipe, f"{key}.beta2_schedule")


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
    section.pop("beta2_schedule", None)
    fields = set(field_names(registry.get("optimizer", section.get("name")).options))
    train = recipe.train
    legacy = {"lr": {"optim_g": train.lr_g, "optim_d": train.lr_d}.get(key)}
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
