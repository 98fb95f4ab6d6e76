"""Helpers for dataset plugins: an in-memory dataset whose batches are drawn on the device."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Dataset


class InMemoryDataset(Dataset):
    """Samples held as one tensor, moved to the training device once.

    uint8 images (N, C, H, W) are scaled to [-1, 1] on the device, batch by batch; float
    samples are returned as they are. Each epoch is a fresh permutation drawn on the device,
    so no DataLoader and no host round trip sits in the training loop.
    """

    def __init__(self, samples: Tensor, num_classes: int | None = None, source: str = ""):
        self.samples = samples
        self.image_shape = tuple(samples.shape[1:])
        self.num_classes = num_classes
        self.source = source

    def __len__(self) -> int:
        return self.samples.shape[0]

    @property
    def description(self) -> str:
        where = f" from {self.source}" if self.source else ""
        return (f"{len(self)} samples of shape {self.image_shape}{where}, "
                "held in device memory, batches drawn on the device")

    def batches(self, batch_size: int, device: torch.device, seed: int) -> Iterator[Tensor]:
        data = self.samples.to(device)
        rng = torch.Generator(device=device).manual_seed(seed)
        n = data.shape[0]
        if batch_size > n:
            raise GanzooError(
                f"train.batch_size: {batch_size} is larger than the dataset ({n} samples)"
            )
        while True:
            order = torch.randperm(n, device=device, generator=rng)
            for start in range(0, n - batch_size + 1, batch_size):  # drop the ragged tail
                yield scale_images(data[order[start:start + batch_size]])


def scale_images(batch: Tensor) -> Tensor:
    """uint8 in [0, 255] -> float in [-1, 1]; float input is returned unchanged."""
    if batch.dtype == torch.uint8:
        return batch.float().div_(127.5).sub_(1.0)
    return batch
