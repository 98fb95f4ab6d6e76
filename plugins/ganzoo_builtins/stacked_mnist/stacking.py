"""Building Stacked MNIST and counting its modes with the digit classifier."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ganzoo.data import InMemoryDataset, resize_uint8
from ganzoo_builtins.mnist import MNISTOptions
from ganzoo_builtins.mnist.loader import load_mnist
from ganzoo_builtins.stacked_mnist import StackedMNISTOptions


def load_stacked_mnist(options: StackedMNISTOptions) -> StackedMNIST:
    mnist = load_mnist(MNISTOptions(root=options.root, split=options.split))
    rng = torch.Generator().manual_seed(options.seed)
    picks = torch.randint(len(mnist), (options.size, 3), generator=rng)
    images = mnist.samples[:, 0][picks]  # (size, 3, 28, 28): one digit per channel
    labels = mnist.labels[picks]
    if options.image_size != 28:
        images = resize_uint8(images, options.image_size)
    mode = labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2]
    return StackedMNIST(images, labels=mode, num_classes=1000,
                        source=f"stacked MNIST {options.split} in '{options.root}'",
                        root=Path(options.root).expanduser(), hflip=options.hflip)


class StackedMNIST(InMemoryDataset):
    def __init__(self, *args, root: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self.root = root

    def mode_coverage(self, samples: Tensor) -> dict[str, float]:
        """Modes (of 1,000) with at least one sample, as the VEEGAN and PacGAN papers count
        them, and the KL of the mode histogram to uniform."""
        from ganzoo.modes import coverage_from_assignments
        from ganzoo_builtins.mnist.classifier import classify, digit_classifier

        net = digit_classifier(self.root)
        digits = [classify(net, samples[:, c:c + 1]) for c in range(3)]
        modes = digits[0] * 100 + digits[1] * 10 + digits[2]
        result = coverage_from_assignments(modes, 1000, len(samples), min_count=1)
        return {"modes_covered": result["modes_covered"], "modes_total": 1000,
                "kl_to_uniform": result["reverse_kl"], "covered_if_at_least": 1}
