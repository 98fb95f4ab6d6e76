"""The built-in game: G fed noise against one D, as the GAN papers since 2014 play it."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.roles import Role

#: the roles of the adversarial game
ADVERSARIAL_ROLES = {
    "generator": Role("generator", "optim_g", "x", summary="G: z (and labels) -> a sample"),
    "discriminator": Role("discriminator", "optim_d", "x",
                          summary="D: a sample (and its label) -> the logit that it is real"),
}


def build_adversarial(options: None):
    """G fed noise against one D: train.n_critic D updates, then one G update through D"""
    from ganzoo_builtins.games.adversarial import Adversarial

    return Adversarial()


@hookimpl
def ganzoo_register_games(register):
    register("adversarial", build_adversarial, roles=ADVERSARIAL_ROLES)
