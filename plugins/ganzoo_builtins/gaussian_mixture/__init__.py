"""2-D mixtures of Gaussians: the classic toy data for seeing mode collapse, no download needed."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive


@dataclass
class GaussianMixtureOptions:
    layout: str = "grid"  # grid: 5x5 modes at {-4,-2,0,2,4}^2 | ring: 8 modes on a circle
    std: float | None = None  # per-mode standard deviation; default 0.05 (grid), 0.02 (ring)
    radius: float = 2.0  # ring radius
    spacing: float = 2.0  # distance between neighbouring grid modes
    size: int = 100_000  # samples per epoch; batches are drawn fresh from the mixture

    def __post_init__(self) -> None:
        one_of("layout", self.layout, ("grid", "ring"))
        positive("std", self.std, allow_none=True)
        positive("radius", self.radius)
        positive("spacing", self.spacing)
        positive("size", self.size)


def build(options: GaussianMixtureOptions):
    """2-D points from a 5x5 grid (25 modes) or a ring of 8 Gaussians, drawn on the device"""
    from ganzoo_builtins.gaussian_mixture.mixture import GaussianMixture

    return GaussianMixture(options)


@hookimpl
def ganzoo_register_datasets(register):
    register("gaussian_mixture", build, options=GaussianMixtureOptions,
             sample_shape=lambda o: (2,),
             num_classes=lambda o: 25 if o.layout == "grid" else 8,
             licence="synthetic points drawn by ganzoo: no terms attached")
