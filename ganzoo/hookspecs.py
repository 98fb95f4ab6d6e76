"""The hooks a ganzoo plugin may implement.

Each hook receives a ``register`` object and calls it once per component; it returns nothing.
``register(name, build, options=OptionsDataclass, summary="one line")``: ``build`` is called
with an instance of ``options`` (built from the recipe section and checked against the
dataclass) and returns the component. Keep plugin modules cheap to import: import torch and
the component's classes inside ``build``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ganzoo.registry import Register

hookspec = pluggy.HookspecMarker("ganzoo")


@hookspec
def ganzoo_register_generators(register: Register) -> None:
    """Register generators; ``build(options, image_shape)`` returns a ganzoo Generator."""


@hookspec
def ganzoo_register_discriminators(register: Register) -> None:
    """Register discriminators; ``build(options, image_shape)`` returns a ganzoo Discriminator."""


@hookspec
def ganzoo_register_losses(register: Register) -> None:
    """Register losses; ``build(options)`` returns a ganzoo Loss."""


@hookspec
def ganzoo_register_datasets(register: Register) -> None:
    """Register datasets; ``build(options)`` returns a ganzoo Dataset.

    Pass ``sample_shape=lambda options: (C, H, W)`` too, so that ``ganzoo show`` can size the
    networks without loading the data.
    """


@hookspec
def ganzoo_register_feature_extractors(register: Register) -> None:
    """Register feature extractors for FID/KID/PR; ``build(options)`` returns a ganzoo
    FeatureExtractor."""
