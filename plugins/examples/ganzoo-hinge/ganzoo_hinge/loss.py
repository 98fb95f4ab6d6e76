"""The hinge loss itself: imported only when a recipe uses it."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.interfaces import Loss


class Hinge(Loss):
    """Hinge loss on D's raw output l: L_D = relu(m - l_real) + relu(m + l_fake), L_G = -l_fake."""

    outputs_are_logits = False  # D is a critic here: log its raw scores, not sigmoid means

    def __init__(self, margin: float = 1.0):
        self.margin = margin

    def discriminator_loss(self, real_logits, fake_logits, ctx) -> Tensor:
        return F.relu(self.margin - real_logits).mean() + F.relu(self.margin + fake_logits).mean()

    def generator_loss(self, fake_logits, ctx) -> Tensor:
        return -fake_logits.mean()
