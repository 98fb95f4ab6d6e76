"""The hooks a ganzoo plugin may implement: one per kind of component (see ``ganzoo.kinds``).

Each hook receives ``register`` (by that name) and calls it once per component; it returns
nothing. ``register(name, build, options=OptionsDataclass, summary="one line")``: ``build`` is
called with an instance of ``options`` (built from the recipe section and checked against the
dataclass), then the kind's build arguments, and returns the component. Its signature is checked
when the plugin loads. Keep plugin modules cheap to import: import torch inside ``build``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ganzoo.registry import Register

hookspec = pluggy.HookspecMarker("ganzoo")


@hookspec
def ganzoo_register_games(register: Register) -> None:
    """Register games, which own a run's networks by role and play its steps:
    ``build(options)`` returns a Game.

    Pass ``roles=TheGame.roles`` too (role name -> ``ganzoo.interfaces.Role``): the recipe has
    one section per role, and ``ganzoo show`` and the recipe checks read them without building.
    """


@hookspec
def ganzoo_register_generators(register: Register) -> None:
    """Register generators: ``build(options, image_shape, num_classes)`` returns a Generator.

    ``num_classes`` is None for an unconditional run, the dataset's class count otherwise. A
    generator with an input (an image in place of z) takes ``input_shape`` as a keyword too:
    ``build(options, image_shape, num_classes, input_shape=(C, H, W))``.
    """


@hookspec
def ganzoo_register_discriminators(register: Register) -> None:
    """Register discriminators: ``build(options, image_shape, num_classes)`` returns a
    Discriminator."""


@hookspec
def ganzoo_register_text_encoders(register: Register) -> None:
    """Register text encoders, the networks a game's role of kind ``text_encoder`` is built
    with: ``build(options, caption_shape, vocabulary)`` returns a TextEncoder.

    ``caption_shape`` is the shape (L,) of the caption field the role reads (tokens, 0 the
    padding), ``vocabulary`` the words of its tokens 1, 2, ... as the dataset gives them.
    """


@hookspec
def ganzoo_register_losses(register: Register) -> None:
    """Register losses: ``build(options)`` returns a Loss."""


@hookspec
def ganzoo_register_datasets(register: Register) -> None:
    """Register datasets: ``build(options)`` returns a Dataset.

    Pass ``sample_shape=lambda options: (C, H, W)`` (and ``num_classes=lambda options: K`` for
    labelled data) too, so that ``ganzoo show`` can size the networks without loading the data;
    a dataset whose batches hold other fields than ``x`` and ``labels`` (pairs, two domains)
    passes ``fields=lambda options: {name: Field(shape, dtype), ...}`` instead.
    """


@hookspec
def ganzoo_register_augmentations(register: Register) -> None:
    """Register augmentations of D's inputs: ``build(options)`` returns an Augmentation."""


@hookspec
def ganzoo_register_regularizers(register: Register) -> None:
    """Register regularizers and constraints: ``build(options)`` returns a Regularizer."""


@hookspec
def ganzoo_register_optimizers(register: Register) -> None:
    """Register optimizers: ``build(options, params)`` returns a ``torch.optim.Optimizer``
    over ``params`` (one player's parameters)."""


@hookspec
def ganzoo_register_schedules(register: Register) -> None:
    """Register schedules (of learning rates, penalty weights, beta2, the EMA's half-life):
    ``build(options)`` returns a Schedule."""


@hookspec
def ganzoo_register_metrics(register: Register) -> None:
    """Register evaluation metrics: ``build(options)`` returns a Metric."""


@hookspec
def ganzoo_register_feature_extractors(register: Register) -> None:
    """Register feature extractors for FID/KID/PR: ``build(options)`` returns a
    FeatureExtractor."""


@hookspec
def ganzoo_register_loggers(register: Register) -> None:
    """Register loggers, which receive a run's metrics, samples and evaluations (train.loggers):
    ``build(options)`` returns a Logger."""


@hookspec
def ganzoo_recipe_folders() -> list:
    """Return the folders of recipe files (``*.yaml``) the plugin ships: ``ganzoo recipes``
    lists them, and ``ganzoo run NAME`` finds ``NAME.yaml`` there when no file NAME exists. The
    first line of a recipe's leading comment is its summary."""
