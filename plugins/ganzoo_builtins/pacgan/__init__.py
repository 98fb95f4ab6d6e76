"""PacGAN (Lin et al., 2018): D scores packs of m samples, which penalizes mode collapse. A
discriminator that wraps any other: ``{name: pacgan, m: 4, inner: {name: mlp, ...}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganzoo import hookimpl
from ganzoo.options import positive


@dataclass
class PacGANOptions:
    m: int = 2  # samples per pack (the paper uses 2 to 4)
    inner: dict[str, Any] = field(default_factory=lambda: {"name": "mlp"})  # the packed D

    def __post_init__(self) -> None:
        positive("m", self.m)


def build(options: PacGANOptions, image_shape: tuple[int, ...], num_classes: int | None):
    """PacGAN: an inner D scores packs of m samples (stacked channels); batch divisible by m"""
    from ganzoo.components import build_nested
    from ganzoo_builtins.pacgan.packing import Packed, packed_shape

    inner = build_nested("discriminator", options.inner, "inner",
                         packed_shape(tuple(image_shape), options.m), None)
    return Packed(inner, options.m, tuple(image_shape))


@hookimpl
def ganzoo_register_discriminators(register):
    register("pacgan", build, options=PacGANOptions)
