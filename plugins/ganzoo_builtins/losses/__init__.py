"""The losses of the GAN game, all written on D's logits l (D = sigmoid(l))."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import positive


def build_minimax(options: None):
    """minimax (saturating): L_D = -log D(x) - log(1 - D(G(z))), L_G = log(1 - D(G(z)))"""
    from ganzoo_builtins.losses.objectives import Minimax

    return Minimax()


def build_nonsaturating(options: None):
    """non-saturating: L_D = -log D(x) - log(1 - D(G(z))), L_G = -log D(G(z))"""
    from ganzoo_builtins.losses.objectives import NonSaturating

    return NonSaturating()


def build_mse(options: None):
    """least squares (LSGAN): L_D = ½(D(x) - 1)² + ½D(G(z))², L_G = ½(D(G(z)) - 1)², D linear"""
    from ganzoo_builtins.losses.objectives import LeastSquares

    return LeastSquares()


@dataclass
class HingeOptions:
    margin: float = 1.0  # D's hinge: max(0, margin - D(x)) + max(0, margin + D(G(z)))

    def __post_init__(self) -> None:
        positive("margin", self.margin)


def build_hinge(options: HingeOptions):
    """hinge (SNGAN, SAGAN): L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))],
    L_G = -E[D(G(z))]"""
    from ganzoo_builtins.losses.objectives import Hinge

    return Hinge(options.margin)


def build_wasserstein(options: None):
    """Wasserstein (WGAN critic): L_D = E[D(G(z))] - E[D(x)], L_G = -E[D(G(z))]; needs a
    Lipschitz D (weight_clip or gradient_penalty)"""
    from ganzoo_builtins.losses.objectives import Wasserstein

    return Wasserstein()


@dataclass
class ACGANOptions:
    aux_weight: float = 1.0  # weight of the class cross-entropy terms

    def __post_init__(self) -> None:
        if self.aux_weight < 0:
            raise ValueError(f"aux_weight: must be >= 0 (got {self.aux_weight!r})")


def build_acgan(options: ACGANOptions):
    """ACGAN (Odena et al., 2017): non-saturating + class cross-entropy on D's auxiliary head,
    for real and fake in D's update and for fakes in G's"""
    from ganzoo_builtins.losses.objectives import AuxiliaryClassifier

    return AuxiliaryClassifier(options.aux_weight)


def build_rpgan(options: None):
    """relativistic pairing (RpGAN; Jolicoeur-Martineau, 2019; R3GAN, Huang et al., 2024):
    L_D = E[softplus(-(D(x) - D(G(z))))], L_G = E[softplus(-(D(G(z)) - D(x)))], each real
    paired with one fake; with r1 and r2 (weight gamma), R3GAN's loss"""
    from ganzoo_builtins.losses.objectives import RelativisticPairing

    return RelativisticPairing()


@hookimpl
def ganzoo_register_losses(register):
    register("minimax", build_minimax)
    register("nonsaturating", build_nonsaturating)
    register("mse", build_mse)
    register("hinge", build_hinge, options=HingeOptions)
    register("wasserstein", build_wasserstein)
    register("acgan", build_acgan, options=ACGANOptions)
    register("rpgan", build_rpgan)
