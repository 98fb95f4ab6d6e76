"""Sampling from a mixture of equally weighted isotropic 2-D Gaussians."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor

from ganzoo.interfaces import Batch, Dataset
from ganzoo_builtins.gaussian_mixture import GaussianMixtureOptions

DEFAULT_STD = {"grid": 0.05, "ring": 0.02}


def mixture_modes(layout: str, radius: float = 2.0, spacing: float = 2.0) -> Tensor:
    """The mode centres: (25, 2) for the grid, (8, 2) for the ring."""
    if layout == "grid":
        axis = (torch.arange(5, dtype=torch.float32) - 2) * spacing
        return torch.cartesian_prod(axis, axis)
    angles = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)


class GaussianMixture(Dataset):
    """Fresh points on every batch: the data distribution itself, not a fixed sample of it.
    Each point's label is the mode it was drawn from."""

    image_shape = (2,)

    def __init__(self, options: GaussianMixtureOptions):
        self.layout = options.layout
        self.modes = mixture_modes(options.layout, options.radius, options.spacing)
        self.std = options.std if options.std is not None else DEFAULT_STD[options.layout]
        self.size = options.size
        self.num_classes = self.modes.shape[0]

    def __len__(self) -> int:
        return self.size

    @property
    def description(self) -> str:
        return (f"{self.layout} of {self.num_classes} Gaussians (std {self.std}), "
                "points drawn on the device")

    def mode_coverage(self, samples: Tensor) -> dict[str, float]:
        """Modes covered, share of samples within 3 std of a mode, reverse KL over modes."""
        from ganzoo.modes import mixture_coverage

        return mixture_coverage(samples, self.modes, self.std)

    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        modes = self.modes.to(device)
        rng = torch.Generator(device=device)
        index = start
        while True:
            rng.manual_seed(seed * 1_000_003 + index)  # batch k depends on (seed, k) only
            which = torch.randint(len(modes), (batch_size,), device=device, generator=rng)
            noise = torch.randn(batch_size, 2, device=device, generator=rng)
            yield Batch(modes[which] + self.std * noise, which)
            index += 1
