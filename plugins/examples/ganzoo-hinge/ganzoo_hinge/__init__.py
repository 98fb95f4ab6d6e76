"""The hinge loss as a ganzoo plugin.

L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]; L_G = -E[D(G(z))], on D's raw output.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl


@dataclass
class HingeOptions:
    margin: float = 1.0  # the hinge's margin for D: max(0, margin -+ D)


def build_hinge(options: HingeOptions):
    """hinge: L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], L_G = -E[D(G(z))]"""
    from ganzoo_hinge.loss import Hinge

    return Hinge(margin=options.margin)


@hookimpl
def ganzoo_register_losses(register):
    register("hinge", build_hinge, options=HingeOptions)
