"""The losses of the GAN game, all written on D's logits l (D = sigmoid(l))."""

from __future__ import annotations

from ganzoo import hookimpl


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


@hookimpl
def ganzoo_register_losses(register):
    register("minimax", build_minimax)
    register("nonsaturating", build_nonsaturating)
    register("mse", build_mse)
