"""MNIST handwritten digits, read with torchvision from the standard IDX files."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive


@dataclass
class MNISTOptions:
    root: str = "data"  # the folder that holds MNIST/raw/ (torchvision's layout)
    split: str = "train"  # train (60,000 images) | test (10,000)
    download: bool = False
    image_size: int = 28  # 28 is native; 32 or 64 resize once at load time
    hflip: bool = False  # mirror each training image left-right with probability 1/2

    def __post_init__(self) -> None:
        one_of("split", self.split, ("train", "test"))
        positive("image_size", self.image_size)


def build(options: MNISTOptions):
    """MNIST digits, 1x28x28 (resizable), held in device memory"""
    from ganzoo_builtins.mnist.loader import load_mnist

    return load_mnist(options)


MNIST_TERMS = "MNIST by Yann LeCun and Corinna Cortes, CC BY-SA 3.0"


@hookimpl
def ganzoo_register_datasets(register):
    register("mnist", build, options=MNISTOptions,
             sample_shape=lambda o: (1, o.image_size, o.image_size),
             num_classes=lambda o: 10, licence=MNIST_TERMS)
