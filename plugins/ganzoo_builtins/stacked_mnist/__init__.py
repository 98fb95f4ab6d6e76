"""Stacked MNIST (VEEGAN, PacGAN): three MNIST digits as the R, G and B channels, 1,000 modes."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive
from ganzoo_builtins.mnist import MNIST_TERMS


@dataclass
class StackedMNISTOptions:
    root: str = "data"  # the folder that holds MNIST/raw/
    split: str = "train"  # which MNIST split the digits are drawn from
    size: int = 60000  # how many stacked images (drawn once, with a fixed seed)
    image_size: int = 28  # 28, or 32 / 64 for DCGAN-style networks
    seed: int = 0  # which digit triples are stacked
    hflip: bool = False  # mirror each training image left-right with probability 1/2

    def __post_init__(self) -> None:
        one_of("split", self.split, ("train", "test"))
        positive("size", self.size)
        positive("image_size", self.image_size)


def build(options: StackedMNISTOptions):
    """Three MNIST digits stacked as RGB: 1,000 modes, for counting mode collapse"""
    from ganzoo_builtins.stacked_mnist.stacking import load_stacked_mnist

    return load_stacked_mnist(options)


@hookimpl
def ganzoo_register_datasets(register):
    register("stacked_mnist", build, options=StackedMNISTOptions,
             sample_shape=lambda o: (3, o.image_size, o.image_size),
             num_classes=lambda o: 1000, licence=MNIST_TERMS)
