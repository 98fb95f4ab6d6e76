"""Regularizers and constraints of D: the WGAN-GP gradient penalty, R1, WGAN's weight clipping.

In a recipe: ``regularizers: [{name: gradient_penalty, weight: 10}]``; ``weight`` multiplies
the penalty (the papers' lambda or gamma/2 folded in as documented below) and ``every`` makes it
lazy (StyleGAN2 applies R1 every 16 steps).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import positive


@dataclass
class GradientPenaltyOptions:
    target: float = 1.0  # the gradient norm the penalty pulls towards (WGAN-GP: 1)

    def __post_init__(self) -> None:
        if not self.target >= 0 or self.target == float("inf"):  # NaN fails the first test
            raise ValueError(f"target: a gradient norm, a finite number >= 0 (got "
                             f"{self.target!r})")


@dataclass
class ClipOptions:
    clip: float = 0.01  # WGAN's c: every weight of D is kept in [-c, c]

    def __post_init__(self) -> None:
        positive("clip", self.clip)


def build_gradient_penalty(options: GradientPenaltyOptions):
    """WGAN-GP (Gulrajani et al., 2017): E[(||grad D(x_hat)|| - 1)^2] on real/fake
    interpolates; use weight 10"""
    from ganzoo_builtins.regularizers.penalties import GradientPenalty

    return GradientPenalty(options.target)


def build_r1(options: None):
    """R1 (Mescheder et al., 2018): E[||grad D(x)||^2] / 2 on reals; weight is gamma"""
    from ganzoo_builtins.regularizers.penalties import R1

    return R1()


def build_weight_clip(options: ClipOptions):
    """weight clipping (WGAN, Arjovsky et al., 2017): D's weights into [-c, c] after each
    D update"""
    from ganzoo_builtins.regularizers.penalties import WeightClip

    return WeightClip(options.clip)


@hookimpl
def ganzoo_register_regularizers(register):
    register("gradient_penalty", build_gradient_penalty, options=GradientPenaltyOptions)
    register("r1", build_r1)
    register("weight_clip", build_weight_clip, options=ClipOptions)
