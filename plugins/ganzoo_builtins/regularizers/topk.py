"""Top-k training of G (Sinha et al., 2020, "Top-k Training of GANs: Improving GAN Performance
by Throwing Away Bad Samples"), written from the paper; gamma, nu and the decay per epoch are
those of the authors' code."""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.interfaces import Regularizer


class TopK(Regularizer):
    """G's loss uses only the k fakes D scores most real, k = int(max(gamma^e, nu) x B) of a
    batch of B (at least 1), e the epoch: ``(step - 1) x B // epoch_images``, the images G has
    made in its updates so far over the epoch's size. It adds no penalty; the game applies
    ``select`` to G's fakes before G's loss (``arena.select``), which logs k."""

    player = "generator"

    def __init__(self, gamma: float, nu: float, epoch_images: int):
        self.gamma, self.nu, self.epoch_images = gamma, nu, epoch_images

    def k(self, batch: int, step: int) -> int:
        epoch = (step - 1) * batch // self.epoch_images
        return max(1, int(max(self.gamma**epoch, self.nu) * batch))

    def select(self, fake_logits: Tensor, step: int) -> Tensor:
        scores = fake_logits.flatten(1).mean(1) if fake_logits.dim() > 1 else fake_logits
        k = self.k(scores.shape[0], step)
        if k >= scores.shape[0]:
            return torch.arange(scores.shape[0], device=scores.device)
        return torch.topk(scores.detach(), k).indices
