"""The sample pictures of a run: fixed inputs of the primary generator, drawn over training.

A G fed noise is drawn from a fixed z (for a conditional G, one row per class, the same z down
each column); a G with an input translates a fixed batch of the data's input field, each input
shown beside its output (and the truth, where the data has it). Points are drawn over real ones.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn

from ganzoo.interfaces import Dataset, Role, is_image_shape
from ganzoo.pictures import save_image_grid, save_point_cloud

POINTS_IN_PICTURE = 2000
MAX_CLASS_ROWS = 10  # a conditional run's sample grid: one row per class, for the first 10


class SamplePictures:
    """The inputs of every sample picture (fixed for the run) and how a picture is drawn."""

    def __init__(self, G: nn.Module, role: Role, dataset: Dataset, num_samples: int,
                 num_classes: int | None, device: torch.device, seed: int):
        self.role, self.dataset, self.device, self.seed = role, dataset, device, seed
        self.is_image = is_image_shape(tuple(G.image_shape))
        self.truth: Tensor | None = None
        if role.input is not None:
            batch = next(dataset.batches(num_samples, device, seed + 1))
            self.inputs, self.labels = batch[role.input], batch.labels if num_classes else None
            self.truth = batch[role.field] if role.paired else None
            self.columns = 3 if self.truth is not None else 2
        else:
            self.inputs, self.labels, self.columns = fixed_latents(G, num_samples, num_classes,
                                                                   self.is_image, seed + 1)
            self.inputs, self.labels = self.inputs.to(device), (
                self.labels.to(device) if self.labels is not None else None)

    @property
    def count(self) -> int:
        return len(self.inputs)

    @torch.no_grad()
    def draw(self, G: nn.Module) -> Tensor:
        """G's output for the fixed inputs, in eval mode."""
        was_training = G.training
        G.eval()
        fake = G(self.inputs, self.labels).float()
        G.train(was_training)
        return fake

    def save(self, fake: Tensor, path: Path, step: int) -> Tensor:
        """Write the picture of ``fake`` (from ``draw``) to ``path``; the image grid drawn."""
        if not self.is_image:
            real = next(self.dataset.batches(fake.shape[0], self.device, self.seed)).x
            save_point_cloud(real[:, :2], fake[:, :2], path, title=f"step {step}")
            return fake
        if self.role.input is None:
            save_image_grid(fake, path, nrow=self.columns)
            return fake
        shown = [like(self.inputs, fake), fake]
        if self.truth is not None:
            shown.append(self.truth.float())
        grid = torch.stack(shown, dim=1).flatten(0, 1)  # input, output, truth, input, ...
        save_image_grid(grid, path, nrow=self.columns)
        return grid


def fixed_latents(G: nn.Module, n: int, num_classes: int | None, is_image: bool,
                  seed: int) -> tuple[Tensor, Tensor | None, int]:
    """The z (and labels) of every sample picture and its columns, drawn from their own RNG."""
    rng = torch.Generator().manual_seed(seed)
    if not is_image:  # points of every class alike, when conditional
        z = G.sample_latent(POINTS_IN_PICTURE, generator=rng)
        labels = torch.arange(POINTS_IN_PICTURE) % num_classes if num_classes else None
        return z, labels, 1
    if not num_classes:
        return G.sample_latent(n, generator=rng), None, max(1, math.isqrt(n))
    rows = min(num_classes, MAX_CLASS_ROWS)
    columns = max(1, n // rows)
    z = G.sample_latent(columns, generator=rng).repeat(rows, 1)
    return z, torch.arange(rows).repeat_interleave(columns), columns


def like(images: Tensor, reference: Tensor) -> Tensor:
    """``images`` with the channels and size of ``reference``, to show beside it (grayscale
    repeated to colour, small images enlarged by nearest neighbour)."""
    images = images.float()
    if images.shape[1] != reference.shape[1] and images.shape[1] == 1:
        images = images.repeat(1, reference.shape[1], 1, 1)
    if images.shape[-2:] != reference.shape[-2:]:
        images = nn.functional.interpolate(images, size=reference.shape[-2:], mode="nearest")
    return images


