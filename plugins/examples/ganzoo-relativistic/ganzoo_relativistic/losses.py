"""The relativistic average losses themselves: imported only when a recipe uses them."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.interfaces import Loss, StepContext


def relative(logits: Tensor, others: Tensor) -> Tensor:
    """C(x) - E[C(y)]: how much more realistic each sample looks than the other kind on average."""
    return logits - others.mean()


class RelativisticAverage(Loss):
    """RaSGAN. softplus(-t) = -log sigma(t) and softplus(t) = -log(1 - sigma(t))."""

    outputs_are_logits = False  # C is a critic: sigma(C) alone is no probability here

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor,
                           ctx: StepContext) -> Tensor:
        return (F.softplus(-relative(real_logits, fake_logits)).mean()
                + F.softplus(relative(fake_logits, real_logits)).mean())

    def generator_loss(self, fake_logits: Tensor, ctx: StepContext) -> Tensor:
        real_logits = ctx.real_logits  # D's outputs on real data, in G's update too
        return (F.softplus(-relative(fake_logits, real_logits)).mean()
                + F.softplus(relative(real_logits, fake_logits)).mean())


class RelativisticAverageLeastSquares(Loss):
    """RaLSGAN: least squares on the relative outputs, targets +1 and -1."""

    outputs_are_logits = False

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor,
                           ctx: StepContext) -> Tensor:
        return (((relative(real_logits, fake_logits) - 1) ** 2).mean()
                + ((relative(fake_logits, real_logits) + 1) ** 2).mean())

    def generator_loss(self, fake_logits: Tensor, ctx: StepContext) -> Tensor:
        real_logits = ctx.real_logits
        return (((relative(fake_logits, real_logits) - 1) ** 2).mean()
                + ((relative(real_logits, fake_logits) + 1) ** 2).mean())
