"""Relativistic average GAN losses (Jolicoeur-Martineau, 2018) as a ganzoo plugin.

With C the critic's raw output and the averages taken over the batch:
  RaSGAN:  L_D = -log sigma(C(x) - E C(G(z))) - log(1 - sigma(C(G(z)) - E C(x)))
           L_G = -log sigma(C(G(z)) - E C(x)) - log(1 - sigma(C(x) - E C(G(z))))
  RaLSGAN: L_D = (C(x) - E C(G(z)) - 1)^2 + (C(G(z)) - E C(x) + 1)^2
           L_G = (C(G(z)) - E C(x) - 1)^2 + (C(x) - E C(G(z)) + 1)^2
"""

from __future__ import annotations

from ganzoo import hookimpl


def build_rasgan(options: None):
    """relativistic average standard GAN (RaSGAN): is real data more realistic than the
    average fake?"""
    from ganzoo_relativistic.losses import RelativisticAverage

    return RelativisticAverage()


def build_ralsgan(options: None):
    """relativistic average least squares (RaLSGAN)"""
    from ganzoo_relativistic.losses import RelativisticAverageLeastSquares

    return RelativisticAverageLeastSquares()


@hookimpl
def ganzoo_register_losses(register):
    register("rasgan", build_rasgan)
    register("ralsgan", build_ralsgan)
