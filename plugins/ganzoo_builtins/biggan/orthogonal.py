"""BigGAN's orthogonal regularization (Brock et al., 2019, Section 3.1), as a penalty.

The paper's R_beta(W) = beta ||W^T W * (1 - I)||_F^2 pushes the filters of each layer towards
being orthogonal without fixing their norms. BigGAN-PyTorch (``utils.ortho``) applies it by
adding to each weight's gradient, after backward, strength * 2 (W W^T * (1 - I)) W, with W the
weight flattened to (out, fan-in) and the shared class embedding left out (G_ortho = 1e-4).

Here it is a penalty on G's loss instead: P = sum over W of ||W W^T * (1 - I)||_F^2 / 2, whose
gradient is exactly 2 (W W^T * (1 - I)) W (the full square's is twice that). With the recipe's
weight equal to the reference's strength, G's gradient, and so each optimizer step, is the
one the reference code takes; the paper's beta, written on the full square, is half of it.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from ganzoo.interfaces import Regularizer, StepContext


def regularized_weights(network: nn.Module) -> Iterator[tuple[str, Tensor]]:
    """The parameters the penalty reads: those of two or more dimensions (weights, raw under
    spectral norm) whose names do not start with one of ``network.orthogonal_exclude``."""
    exclude = tuple(getattr(network, "orthogonal_exclude", ()))
    for name, parameter in network.named_parameters():
        if parameter.dim() >= 2 and parameter.requires_grad and not name.startswith(exclude):
            yield name, parameter


def off_diagonal_penalty(weight: Tensor) -> Tensor:
    """||W W^T * (1 - I)||_F^2 / 2 for W the weight flattened to (out, fan-in)."""
    w = weight.flatten(1)
    gram = w @ w.t()
    off = gram - torch.diag_embed(torch.diagonal(gram))
    return 0.5 * off.pow(2).sum()


class Orthogonal(Regularizer):
    """Sum over the player's weights of ||W W^T * (1 - I)||_F^2 / 2 (BigGAN's variant)."""

    player = "generator"

    def penalty(self, ctx: StepContext) -> Tensor | None:
        network = ctx.networks[ctx.player]
        terms = [off_diagonal_penalty(w) for _, w in regularized_weights(network)]
        return torch.stack(terms).sum() if terms else None
