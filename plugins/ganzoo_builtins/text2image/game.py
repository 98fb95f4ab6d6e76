"""GAN-CLS with GAN-INT (Reed et al., 2016), step by step.

(1) D and the text encoder T, on D's objective: a real image with its own caption is real; the
same image with another image's caption (the batch's captions shifted by one) and G's image
for the caption are fake, the two fake terms weighted 1 - cls_weight and cls_weight (halves:
averaged, as the paper). (2) G, through D: fool it on the caption's embedding and, GAN-INT, on
embeddings between two captions' (beta t1 + (1 - beta) t2), which have no real image and so no
real term. T learns only from D's objective; G reads its embeddings detached.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from ganzoo.engine.arena import Arena
from ganzoo.interfaces import Batch, Game, as_doutput
from ganzoo_builtins.text2image import GAN_CLS_ROLES, GanClsOptions


class GanCls(Game):
    """min_G max_D E[log D(x, t)] + E[log(1 - D(x, t'))] / 2 + E[log(1 - D(G(z, t), t))] / 2,
    G also on interpolated t, with the recipe's loss for each term (the paper's: the
    non-saturating one)."""

    roles = GAN_CLS_ROLES
    primary = "generator"

    def __init__(self, options: GanClsOptions):
        self.cls_weight, self.interp_weight = options.cls_weight, options.interp_weight
        self.beta = options.interp_beta

    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        G, T = arena.calls["generator"], arena.calls["text_encoder"]
        D, D_frozen = arena.calls["discriminator"], arena.frozen_calls["discriminator"]
        see = arena.augmentation or (lambda x: x)
        scorer = arena.scorer("discriminator")
        real = arena.next_batch(batches)
        n = len(real)
        with arena.autocast():
            text = T(real.caption).float()  # with T's graph: T learns from D's objective
            given = text.detach()
            z = arena.networks["generator"].sample_latent(n, arena.device, arena.latent_rng)
            fake = Batch(x=G(z, given), z=z)

        # (1) D and T: (image, its caption) real; (image, another's caption) and (G's image,
        # the caption) fake, averaged with cls_weight.
        with arena.autocast():
            real_out = as_doutput(D(see(real.x), text))
            wrong_out = as_doutput(D(see(real.x), text.roll(1, 0)))
            fake_out = as_doutput(D(see(fake.x.detach()), text))
            ctx = arena.context(step, "discriminator", real, fake.detach(), scorer, real_out,
                                fake_out)
            wrong_ctx = arena.context(step, "discriminator", real, real, scorer, real_out,
                                      wrong_out)
            d_loss = ((1 - self.cls_weight) * arena.loss.discriminator_loss(
                real_out.logits, fake_out.logits, ctx) + self.cls_weight
                * arena.loss.discriminator_loss(real_out.logits, wrong_out.logits, wrong_ctx))
            d_objective = d_loss + arena.penalties("discriminator", ctx)
        arena.update("optim_d", d_objective)
        arena.observe(real_out)
        arena.log_scores(real_out, fake_out)
        wrong = wrong_out.logits.detach()
        if arena.loss.outputs_are_logits:
            arena.log.add("d_mismatched", torch.sigmoid(wrong))  # D(x, t'), beside D(x)
        else:
            arena.log.add("score_mismatched", wrong)

        # (2) G through the frozen D, on the captions and on points between two of them.
        with arena.autocast():
            g_out = as_doutput(D_frozen(see(fake.x), given))
            frozen = arena.scorer("discriminator", frozen=True)
            ctx = arena.context(step, "generator", real, fake, frozen, fake_out=g_out)
            g_cls = arena.loss.generator_loss(g_out.logits, ctx)
            g_objective = g_cls + arena.penalties("generator", ctx)
            if self.interp_weight:
                between = self.beta * given + (1 - self.beta) * given.roll(1, 0)
                z_int = arena.networks["generator"].sample_latent(n, arena.device,
                                                                  arena.latent_rng)
                fake_int = Batch(x=G(z_int, between), z=z_int)
                int_out = as_doutput(D_frozen(see(fake_int.x), between))
                int_ctx = arena.context(step, "generator", real, fake_int, frozen,
                                        fake_out=int_out)
                g_int = arena.loss.generator_loss(int_out.logits, int_ctx)
                g_objective = g_objective + self.interp_weight * g_int
                arena.log.add("g_int", g_int)
        arena.update("optim_g", g_objective)
        arena.log.add("g_cls", g_cls)
        return {"d_loss": d_loss, "g_loss": g_objective}
