"""CIFAR-10 (Krizhevsky, 2009), read from the "python version" pickles by ganzoo's own loader."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive


@dataclass
class CIFAR10Options:
    root: str = "data"  # the folder holding cifar-10-batches-py/ (or that folder itself)
    split: str = "train"  # train (50,000 images) | test (10,000)
    download: bool = False  # fetch with torchvision where the network allows
    verify: bool = True  # check the published MD5s; false for subsets or re-encoded copies
    image_size: int = 32  # 32 is native; other sizes resize once at load time
    hflip: bool = False  # mirror each training image left-right with probability 1/2

    def __post_init__(self) -> None:
        one_of("split", self.split, ("train", "test"))
        positive("image_size", self.image_size)


def build(options: CIFAR10Options):
    """CIFAR-10, 3x32x32 with labels, checksums verified, held in device memory"""
    from ganzoo_builtins.cifar10.loader import load_cifar10

    return load_cifar10(options)


@hookimpl
def ganzoo_register_datasets(register):
    register("cifar10", build, options=CIFAR10Options,
             sample_shape=lambda o: (3, o.image_size, o.image_size),
             num_classes=lambda o: 10,
             licence="CIFAR-10 (Krizhevsky, 2009) has no formal licence; cite the technical "
                     "report, Learning Multiple Layers of Features from Tiny Images")
