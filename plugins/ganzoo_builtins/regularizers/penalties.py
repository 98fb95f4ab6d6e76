"""The penalties, written on D as the step runs it (``ctx.score``: augmentation included)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganzoo.interfaces import Regularizer, StepContext


def input_gradient(ctx: StepContext, x: Tensor, labels: Tensor | None) -> Tensor:
    """d(sum of D's logits)/dx at x, kept in the graph so that the penalty can be trained on."""
    x = x.detach().requires_grad_(True)
    logits = ctx.score(x, labels).logits
    (gradient,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return gradient.flatten(1)


class GradientPenalty(Regularizer):
    """E[(||grad_x D(x_hat)||_2 - target)^2], x_hat = t x + (1 - t) G(z), t ~ U(0, 1) per
    sample. For a conditional D the real sample's label goes with each interpolate."""

    player = "discriminator"

    def __init__(self, target: float = 1.0):
        self.target = target

    def penalty(self, ctx: StepContext) -> Tensor:
        real, fake = ctx.real_x, ctx.fake_x.detach()
        t = torch.rand(real.shape[0], *[1] * (real.dim() - 1), device=real.device)
        between = t * real + (1 - t) * fake.to(real.dtype)
        norms = input_gradient(ctx, between, ctx.real.labels).norm(dim=1)
        return ((norms - self.target) ** 2).mean()


class R1(Regularizer):
    """E[||grad_x D(x)||^2] / 2 on real samples; the recipe's weight is the paper's gamma."""

    player = "discriminator"

    def penalty(self, ctx: StepContext) -> Tensor:
        return 0.5 * input_gradient(ctx, ctx.real_x, ctx.real.labels).pow(2).sum(1).mean()


class R2(Regularizer):
    """E[||grad_x D(x)||^2] / 2 on fake samples (detached from G): R1's twin, which R3GAN
    (Huang et al., 2024) adds so that D is smooth around G's samples too; weight is gamma."""

    player = "discriminator"

    def penalty(self, ctx: StepContext) -> Tensor:
        fake = ctx.fake_x.detach()
        return 0.5 * input_gradient(ctx, fake, ctx.fake.labels).pow(2).sum(1).mean()


class WeightClip(Regularizer):
    """Clamps every parameter of D into [-clip, clip] after each of D's updates."""

    player = "discriminator"

    def __init__(self, clip: float):
        self.clip = clip

    def after_update(self, network: nn.Module) -> None:
        for parameter in network.parameters():
            parameter.clamp_(-self.clip, self.clip)
