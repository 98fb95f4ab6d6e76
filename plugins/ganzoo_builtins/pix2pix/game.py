"""The pix2pix game, step by step: (1) D on real pairs against translated ones, (2) G."""

from __future__ import annotations

from collections.abc import Iterator

from torch import Tensor

from ganzoo.engine.arena import Arena
from ganzoo.interfaces import Batch, Game
from ganzoo_builtins.pix2pix import PIX2PIX_ROLES, Pix2PixOptions


class Pix2Pix(Game):
    """min_G max_D E[log D(x, y)] + E[log(1 - D(x, G(x)))] + lambda E||y - G(x)||_1, with the
    recipe's loss as the GAN term (the paper's is the non-saturating one)."""

    roles = PIX2PIX_ROLES
    primary = "generator"

    def __init__(self, options: Pix2PixOptions):
        self.l1_weight, self.d_loss_scale = options.l1_weight, options.d_loss_scale

    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        D, D_frozen = arena.scorer("discriminator"), arena.scorer("discriminator", frozen=True)
        real = arena.next_batch(batches)  # source and its true target
        with arena.autocast():
            fake = arena.generate("generator", inputs=real)  # source and G(source)

        # (1) Update D: (source, target) as real, (source, G(source)) detached as fake.
        with arena.autocast():
            real_out, fake_out = D(real), D(fake.detach())
            ctx = arena.context(step, "discriminator", real, fake.detach(), D, real_out,
                                fake_out)
            d_loss = arena.loss.discriminator_loss(real_out.logits, fake_out.logits, ctx)
            d_objective = self.d_loss_scale * d_loss + arena.penalties("discriminator", ctx)
        arena.update("optim_d", d_objective)
        arena.observe(real_out)
        arena.log_scores(real_out, fake_out)

        # (2) Update G through the frozen D: fool it, and stay near the true target.
        with arena.autocast():
            ctx = arena.context(step, "generator", real, fake, D_frozen)
            gan = arena.loss.generator_loss(ctx.fake_logits, ctx)
            l1 = (fake["target"].float() - real["target"].float()).abs().mean()
            g_objective = gan + self.l1_weight * l1 + arena.penalties("generator", ctx)
        arena.update("optim_g", g_objective)
        arena.log.add("l1", l1)
        arena.log.add("g_gan", gan)
        return {"d_loss": d_loss, "g_loss": g_objective}
