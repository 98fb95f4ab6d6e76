"""Packing: m samples side by side in the channel (or feature) dimension, one score per pack."""

from __future__ import annotations

from torch import Tensor

from ganzoo.interfaces import Discriminator, as_doutput


def packed_shape(shape: tuple[int, ...], m: int) -> tuple[int, ...]:
    return (shape[0] * m, *shape[1:])


class Packed(Discriminator):
    """Consecutive groups of m samples form a pack; each sample of a pack gets the pack's
    logit, so losses written per sample average over packs as the paper's do."""

    def __init__(self, inner: Discriminator, m: int, image_shape: tuple[int, ...]):
        super().__init__()
        self.inner, self.m, self.image_shape = inner, m, image_shape
        self.batch_multiple = m  # the run checks train.batch_size against it when built

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        packs = x.reshape(x.shape[0] // self.m, *packed_shape(self.image_shape, self.m))
        return as_doutput(self.inner(packs)).logits.repeat_interleave(self.m)
