"""The adversarial game, step by step as the reference DCGAN script writes it."""

from __future__ import annotations

from collections.abc import Iterator

from torch import Tensor

from ganzoo.engine.arena import Arena
from ganzoo.interfaces import Batch, Game
from ganzoo_builtins.games import ADVERSARIAL_ROLES


class Adversarial(Game):
    """(1) ``n_critic`` D updates on a real batch and a detached fake batch each; (2) one G
    update through D, with D frozen (gradients flow through it, only G's weights move)."""

    roles = ADVERSARIAL_ROLES
    primary = "generator"

    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        D, D_frozen, loss = arena.scorer("discriminator"), arena.scorer("discriminator",
                                                                         frozen=True), arena.loss

        # (1) Update D: real batches scored as real, detached fake batches as fake.
        for _ in range(arena.n_critic):
            real = arena.next_batch(batches)
            with arena.autocast():
                fake = arena.generate("generator", len(real))
                real_out, fake_out = D(real), D(fake.detach())
                ctx = arena.context(step, "discriminator", real, fake.detach(), D,
                                    real_out, fake_out)
                d_loss = loss.discriminator_loss(real_out.logits, fake_out.logits, ctx)
                d_objective = d_loss + arena.penalties("discriminator", ctx)
            arena.update("optim_d", d_objective)
            arena.observe(real_out)
        arena.log_scores(real_out, fake_out)

        # (2) Update G through D without updating D. The last fake batch is reused: G has
        # not changed since it was drawn.
        with arena.autocast():
            fake_out = D_frozen(fake)
            # All the fakes, or those a regularizer keeps (top-k: the k D finds most real).
            fake, fake_out = arena.select("generator", step, fake, fake_out)
            ctx = arena.context(step, "generator", real, fake, D_frozen, fake_out=fake_out)
            g_loss = loss.generator_loss(fake_out.logits, ctx)
            g_objective = g_loss + arena.penalties("generator", ctx)
        arena.update("optim_g", g_objective)
        return {"d_loss": d_loss, "g_loss": g_loss}
