"""The LeCam regularizer (Tseng et al., 2021, "Regularizing Generative Adversarial Networks
under Limited Data"), written from the paper; the one-sided form, the EMA's decay (0.99) and its
start (1000 steps) are those of the authors' BigGAN code."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ganzoo.engine.distributed import mean_across_ranks
from ganzoo.interfaces import Regularizer, StepContext


class LeCam(Regularizer):
    """E[(D(x) - alpha_F)^2] + E[(D(G(z)) - alpha_R)^2] on D's logits, alpha_R and alpha_F
    exponential moving averages of D's mean logit on real and on fake batches. One-sided (the
    authors' code): only D(x) above alpha_F and D(G(z)) below alpha_R are pulled back.

    Through step ``start`` the anchors are the last batch's means and no penalty is added;
    after it they are EMAs with ``decay``, updated (on the device) at every D update before
    the penalty reads them. Under several processes each batch mean is that of every rank's
    batch together, as one process would see the whole batch: every rank holds the same
    anchors, and the checkpoint (rank 0's) resumes them all exactly."""

    player = "discriminator"

    def __init__(self, decay: float, start: int, one_sided: bool):
        self.decay, self.start, self.one_sided = decay, start, one_sided
        self.alpha_real: Tensor | None = None
        self.alpha_fake: Tensor | None = None

    def observe(self, real_mean: Tensor, fake_mean: Tensor, step: int) -> None:
        """One EMA step of each anchor (none of memory through step ``start``)."""
        if self.alpha_real is None or self.alpha_fake is None or step <= self.start:
            self.alpha_real, self.alpha_fake = real_mean, fake_mean
            return
        keep = self.decay
        self.alpha_real = keep * self.alpha_real.to(real_mean) + (1 - keep) * real_mean
        self.alpha_fake = keep * self.alpha_fake.to(fake_mean) + (1 - keep) * fake_mean

    def penalty(self, ctx: StepContext) -> Tensor | None:
        real, fake = ctx.real_logits, ctx.fake_logits
        self.observe(mean_across_ranks(real.mean()), mean_across_ranks(fake.mean()), ctx.step)
        assert self.alpha_real is not None and self.alpha_fake is not None
        ctx.log("lecam_alpha_real", self.alpha_real)
        ctx.log("lecam_alpha_fake", self.alpha_fake)
        if ctx.step <= self.start:
            return None
        above, below = real - self.alpha_fake, self.alpha_real - fake
        if self.one_sided:
            above, below = above.clamp(min=0), below.clamp(min=0)
        return above.pow(2).mean() + below.pow(2).mean()

    def state_dict(self) -> dict[str, Any]:
        if self.alpha_real is None or self.alpha_fake is None:
            return {}
        return {"alpha_real": self.alpha_real.detach().cpu(),
                "alpha_fake": self.alpha_fake.detach().cpu()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            self.alpha_real = state["alpha_real"].clone()
            self.alpha_fake = state["alpha_fake"].clone()

