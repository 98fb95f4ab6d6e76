"""The BEGAN game, step by step: (1) D on real and detached fake images, weighted by k_t;
(2) G through the frozen D; (3) k_t moves towards the equilibrium, and M measures it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from ganzoo.engine.arena import Arena
from ganzoo.engine.distributed import mean_across_ranks
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Batch, DOutput, Game, Loss
from ganzoo_builtins.began import BEGAN_ROLES, BEGANOptions


class BEGANObjectives(Loss):
    """What the recipe's ``loss: {name: began}`` stands for: BEGAN's objectives on D's
    reconstruction errors, which the game ``began`` writes itself, as they need its k_t."""

    outputs_are_logits = False

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor, ctx) -> Tensor:
        raise GanzooError(NOT_HERE)

    def generator_loss(self, fake_logits: Tensor, ctx) -> Tensor:
        raise GanzooError(NOT_HERE)


NOT_HERE = ("loss.name: loss 'began' is played by game 'began' only (it needs the game's k_t); "
            "set game.name: began, or name another loss")


def error(out: DOutput) -> Tensor:
    """L(v) = |v - D(v)|, the pixel mean, over the batch: BEGAN's D returns it per sample."""
    if "error" not in out.extra:
        raise GanzooError("discriminator.name: game 'began' needs an auto-encoder D that "
                          "returns its reconstruction error (extra['error']), such as 'began'")
    return out.extra["error"].float().mean()


class BEGAN(Game):
    """L_D = L(x) - k_t L(G(z_D)), L_G = L(G(z_G)),
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1), k_0 = 0; the convergence
    measure M = L(x) + |gamma L(x) - L(G(z_G))|. One D update, then one G update (on a fresh
    z_G, through the updated D); k_t is the game's state, checkpointed with the run."""

    roles = BEGAN_ROLES
    primary = "generator"

    def __init__(self, options: BEGANOptions):
        self.gamma, self.lambda_k = options.gamma, options.lambda_k
        self.k: Tensor | float = 0.0  # stays on the device: reading it back would sync

    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        if not isinstance(arena.loss, BEGANObjectives):
            raise GanzooError(f"loss.name: game 'began' plays BEGAN's own objectives, which "
                              f"need its k_t, not those of {type(arena.loss).__name__}; set "
                              "loss.name: began")
        D, D_frozen = arena.scorer("discriminator"), arena.scorer("discriminator", frozen=True)
        k = torch.as_tensor(self.k, dtype=torch.float32, device=arena.device)
        real = arena.next_batch(batches)

        # (1) Update D: reconstruct the real batch, fail to reconstruct G(z_D) by k_t.
        with arena.autocast():
            fake = arena.generate("generator", len(real)).detach()  # z_D
            real_out, fake_out = D(real), D(fake)
            real_error, fake_error = error(real_out), error(fake_out)
            ctx = arena.context(step, "discriminator", real, fake, D, real_out, fake_out)
            d_loss = real_error - k * fake_error
            d_objective = d_loss + arena.penalties("discriminator", ctx)
        arena.update("optim_d", d_objective)

        # (2) Update G through the frozen D: be reconstructed well.
        with arena.autocast():
            fake = arena.generate("generator", len(real))  # z_G
            ctx = arena.context(step, "generator", real, fake, D_frozen)
            g_loss = error(ctx.fake_out)
            g_objective = g_loss + arena.penalties("generator", ctx)
        arena.update("optim_g", g_objective)

        # (3) The proportional control of k_t, and the convergence measure.
        with torch.no_grad():
            balance = self.gamma * real_error - g_loss
            # k follows every rank's batch alike, so that all ranks (and a resume) hold one k
            self.k = (k + self.lambda_k * mean_across_ranks(balance)).clamp(0.0, 1.0)
            arena.log.add("M", real_error + balance.abs())
        arena.log.add("k_t", k)
        arena.log.add("l_real", real_error)
        arena.log.add("l_fake", fake_error)
        return {"d_loss": d_loss, "g_loss": g_loss}

    def state_dict(self) -> dict[str, Any]:
        return {"k": self.k}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.k = state.get("k", 0.0)
