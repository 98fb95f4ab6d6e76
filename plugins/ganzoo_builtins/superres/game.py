"""The super-resolution game, step by step: G enlarges the small image, D tells its output from
the true full-size image, and G's loss is a pixel content loss plus a small adversarial term.

The first ``pretrain_steps`` train G on the content loss alone (SRGAN's SRResNet, ESRGAN's
PSNR-oriented RRDBNet, each paper's initialization of its GAN); D waits. Then SRGAN updates D
and G in that order, as GAN papers do; ESRGAN updates G, then D on the same (detached) output,
as its reference code does.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch import Tensor

from ganzoo.engine.arena import Arena
from ganzoo.interfaces import Batch, Game
from ganzoo_builtins.superres import SR_ROLES, SRGANOptions


def content_loss(kind: str, fake: Tensor, real: Tensor) -> Tensor:
    """Pixel distance of G's output to the truth: MSE on [-1, 1], as SRGAN measures it, or L1
    on [0, 1] (half the L1 on [-1, 1]), as ESRGAN's code measures it."""
    if kind == "mse":
        return (fake.float() - real.float()).pow(2).mean()
    return (fake.float() - real.float()).abs().mean() / 2


class SuperResolution(Game):
    """min_G content_weight x content(G(x_LR), x_HR) + adversarial_weight x L_G, with the
    recipe's loss as the adversarial objective of both players (SRGAN: non-saturating;
    ESRGAN: the relativistic average one, loss 'ragan')."""

    roles = SR_ROLES
    primary = "generator"

    def __init__(self, options: SRGANOptions, g_first: bool):
        self.content, self.pretrain_steps = options.content, options.pretrain_steps
        self.content_weight = options.content_weight
        self.adversarial_weight = options.adversarial_weight
        self.g_first = g_first

    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        real = arena.next_batch(batches)  # source (small) and its true target (full size)
        with arena.autocast():
            fake = arena.generate("generator", inputs=real)  # source and G(source)
        if step <= self.pretrain_steps:
            return self.pretrain(arena, real, fake)
        if self.g_first:
            g_loss = self.update_generator(arena, real, fake, step)
            d_loss = self.update_discriminator(arena, real, fake, step)
        else:
            d_loss = self.update_discriminator(arena, real, fake, step)
            g_loss = self.update_generator(arena, real, fake, step)
        return {"d_loss": d_loss, "g_loss": g_loss}

    def pretrain(self, arena: Arena, real: Batch, fake: Batch) -> dict[str, Tensor]:
        """G alone on the content loss (weight 1: the papers' MSE- or L1-only training)."""
        with arena.autocast():
            content = content_loss(self.content, fake["target"], real["target"])
        arena.update("optim_g", content)
        arena.log.add("content", content)
        return {"g_loss": content}

    def update_discriminator(self, arena: Arena, real: Batch, fake: Batch, step: int) -> Tensor:
        """D: the true images as real, G's outputs (detached) as fake."""
        D = arena.scorer("discriminator")
        with arena.autocast():
            real_out, fake_out = D(real), D(fake.detach())
            ctx = arena.context(step, "discriminator", real, fake.detach(), D, real_out,
                                fake_out)
            d_loss = arena.loss.discriminator_loss(real_out.logits, fake_out.logits, ctx)
            d_objective = d_loss + arena.penalties("discriminator", ctx)
        arena.update("optim_d", d_objective)
        arena.observe(real_out)
        arena.log_scores(real_out, fake_out)
        return d_loss

    def update_generator(self, arena: Arena, real: Batch, fake: Batch, step: int) -> Tensor:
        """G through the frozen D: near the truth in pixels, and taken for real."""
        D_frozen = arena.scorer("discriminator", frozen=True)
        with arena.autocast():
            ctx = arena.context(step, "generator", real, fake, D_frozen)
            gan = arena.loss.generator_loss(ctx.fake_logits, ctx)
            content = content_loss(self.content, fake["target"], real["target"])
            g_objective = (self.content_weight * content + self.adversarial_weight * gan
                           + arena.penalties("generator", ctx))
        arena.update("optim_g", g_objective)
        arena.log.add("content", content)
        arena.log.add("g_gan", gan)
        return g_objective
