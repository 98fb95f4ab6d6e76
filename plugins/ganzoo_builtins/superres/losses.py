"""ESRGAN's relativistic average adversarial loss (RaGAN; Jolicoeur-Martineau, 2018).

With C the discriminator's raw output and D_Ra(a, b) = sigmoid(C(a) - E[C(b)]) over the batch:
  L_D = -(E log D_Ra(x_r, x_f) + E log(1 - D_Ra(x_f, x_r))) / 2
  L_G = -(E log(1 - D_Ra(x_r, x_f)) + E log D_Ra(x_f, x_r)) / 2
halved as ESRGAN's reference code averages the two terms (the paper writes their sum). In G's
update both terms have gradients: the real images' through the average of the fakes'.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.interfaces import Loss, StepContext


def more_real(logits: Tensor, others: Tensor) -> Tensor:
    """C(a) - E[C(b)]: the logit that each ``a`` is more realistic than the average ``b``."""
    return logits - others.mean()


class RelativisticAverage(Loss):
    """softplus(-t) = -log sigmoid(t) and softplus(t) = -log(1 - sigmoid(t))."""

    outputs_are_logits = False  # sigmoid(C) alone is no probability here: log raw scores

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor,
                           ctx: StepContext) -> Tensor:
        return (F.softplus(-more_real(real_logits, fake_logits)).mean()
                + F.softplus(more_real(fake_logits, real_logits)).mean()) / 2

    def generator_loss(self, fake_logits: Tensor, ctx: StepContext) -> Tensor:
        real_logits = ctx.real_logits  # D on the true images, in G's update too
        return (F.softplus(more_real(real_logits, fake_logits)).mean()
                + F.softplus(-more_real(fake_logits, real_logits)).mean()) / 2
