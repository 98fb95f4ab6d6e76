"""The InfoGAN game, step by step: the GAN game with the information term in both updates.

min_{G,Q} max_D V(D, G) - lambda L_I(G, Q), where L_I = E[log Q(c | G(z, c))] + H(c) is the
variational lower bound on I(c; G(z, c)). Up to the constant H(c), -L_I is the categorical
code's cross-entropy plus the continuous codes' Gaussian negative log-likelihood, on G's fakes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch.nn.functional as F
from torch import Tensor

from ganzoo.engine.arena import Arena
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Batch, DOutput, Game
from ganzoo_builtins.infogan import INFOGAN_ROLES, InfoGANOptions
from ganzoo_builtins.infogan.networks import gaussian_nll


class InfoGAN(Game):
    """(1) ``n_critic`` updates of D and Q (one network, one optimizer) on a real batch and a
    detached fake batch: the GAN loss plus the information term, which reaches Q and D's body
    but not G; (2) one G update through the frozen D and Q: the GAN loss plus the same term,
    which moves G only. Both as the reference code trains them."""

    roles = INFOGAN_ROLES
    primary = "generator"

    def __init__(self, options: InfoGANOptions):
        self.categorical_weight = options.categorical_weight
        self.continuous_weight = options.continuous_weight

    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        G = players(arena)
        D, D_frozen = arena.scorer("discriminator"), arena.scorer("discriminator", frozen=True)
        loss = arena.loss

        # (1) Update D and Q: real as real, detached fakes as fake, Q reading the fakes' codes.
        for _ in range(arena.n_critic):
            real = arena.next_batch(batches)
            with arena.autocast():
                fake = arena.generate("generator", len(real))
                real_out, fake_out = D(real), D(fake.detach())
                ctx = arena.context(step, "discriminator", real, fake.detach(), D,
                                    real_out, fake_out)
                d_loss = loss.discriminator_loss(real_out.logits, fake_out.logits, ctx)
                d_info = self.information(information_terms(G, fake.z, fake_out))
                d_objective = d_loss + d_info + arena.penalties("discriminator", ctx)
            arena.update("optim_d", d_objective)
            arena.observe(real_out)
        arena.log_scores(real_out, fake_out)

        # (2) Update G through D and Q without updating them; the last fakes are reused, as G
        # has not changed since they were drawn.
        with arena.autocast():
            fake_out = D_frozen(fake)
            ctx = arena.context(step, "generator", real, fake, D_frozen, fake_out=fake_out)
            g_loss = loss.generator_loss(fake_out.logits, ctx)
            terms = information_terms(G, fake.z, fake_out)
            info = self.information(terms)
            g_objective = g_loss + info + arena.penalties("generator", ctx)
        arena.update("optim_g", g_objective)
        arena.log.add("info", info)
        for name, value in terms.items():
            arena.log.add(name, value)
        if "cross_entropy" in terms:  # L_I of the categorical code, in nats: at most log K
            arena.log.add("mi_categorical", math.log(G.code_layout[0]) - terms["cross_entropy"])
        return {"d_loss": d_loss, "g_loss": g_loss}

    def information(self, terms: dict[str, Tensor]) -> Tensor:
        """lambda x -L_I (without H(c)): the term both objectives add (terms: at least one)."""
        weights = {"cross_entropy": self.categorical_weight,
                   "gaussian_nll": self.continuous_weight}
        return sum(weights[name] * value for name, value in terms.items())  # type: ignore


def information_terms(G, z: Tensor, out: DOutput) -> dict[str, Tensor]:
    """Q's negative log-likelihood of the codes that made the fakes, by kind of code (fp32):
    ``cross_entropy`` of the categorical code, ``gaussian_nll`` of the continuous codes."""
    _, continuous, categories = G.split_latent(z)
    terms = {}
    if categories is not None:
        terms["cross_entropy"] = F.cross_entropy(out.extra["code_logits"].float(), categories)
    if continuous.shape[1]:
        log_std = out.extra.get("code_log_std")
        terms["gaussian_nll"] = gaussian_nll(continuous.float(), out.extra["code_mean"].float(),
                                             None if log_std is None else log_std.float())
    return terms


def players(arena: Arena):
    """The generator, once checked: it draws codes, D has a Q head, and they agree on the
    codes (plain attribute reads: no value leaves the device)."""
    G, D = arena.networks["generator"], arena.networks["discriminator"]
    drawn, read = getattr(G, "code_layout", None), getattr(D, "code_layout", None)
    if drawn is None:
        raise GanzooError(f"generator.name: game 'infogan' needs a generator that draws codes "
                          f"(generator 'infogan'), not a {type(G).__name__}")
    if read is None:
        raise GanzooError(f"discriminator.name: game 'infogan' needs a discriminator with a Q "
                          f"head (discriminator 'infogan'), not a {type(D).__name__}")
    if drawn != read:
        key = "categorical" if drawn[0] != read[0] else "continuous"
        raise GanzooError(f"discriminator.{key}: Q reads {read[0]} categories and "
                          f"{read[1]} continuous codes, but the generator draws {drawn[0]} and "
                          f"{drawn[1]}; give discriminator.categorical and .continuous the "
                          "generator's values")
    return G
