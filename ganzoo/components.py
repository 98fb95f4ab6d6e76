"""Building a recipe's components from the registry, with their options checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Dataset, Discriminator, Generator, Loss
from ganzoo.recipe import COMPONENT_SECTIONS, component_options
from ganzoo.registry import Registry
from ganzoo.runtime import seed_everything


@dataclass
class Components:
    generator: Generator
    discriminator: Discriminator
    loss: Loss
    dataset: Dataset


EXPECTED = {"dataset": Dataset, "generator": Generator, "discriminator": Discriminator,
            "loss": Loss}


def build_one(registry: Registry, section: str, config: DictConfig, *args: Any) -> Any:
    """Build the component a recipe section names, after checking its options."""
    kind = COMPONENT_SECTIONS[section]
    component = registry.get(kind, config.name)
    value = component.build(component_options(component, config, section), *args)
    if not isinstance(value, EXPECTED[kind]):
        raise GanzooError(
            f"{section}.name: {kind} {component.name!r} (plugin {component.plugin!r}) built "
            f"a {type(value).__name__}, not a ganzoo {EXPECTED[kind].__name__}"
        )
    return value


def build_components(recipe: DictConfig, registry: Registry) -> Components:
    """Build the recipe's dataset, generator, discriminator and loss.

    Seeds every RNG first (``train.seed``), so that initial weights are reproducible too.
    The dataset comes first: the networks take their sample shape from it.
    """
    seed_everything(int(recipe.train.seed))
    dataset = build_one(registry, "data", recipe.data)
    shape = tuple(dataset.image_shape)
    return Components(
        generator=build_one(registry, "generator", recipe.generator, shape),
        discriminator=build_one(registry, "discriminator", recipe.discriminator, shape),
        loss=build_one(registry, "loss", recipe.loss),
        dataset=dataset,
    )
