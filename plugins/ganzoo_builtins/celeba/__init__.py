"""CelebA aligned faces (Liu et al., 2015), prepared as DCGAN did: resize, then centre-crop."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive


@dataclass
class CelebAOptions:
    root: str = "data/celeba"  # the folder holding img_align_celeba/ (and the partition file)
    # train | valid | test (by list_eval_partition.txt, or without it by the image numbers the
    # official partition follows: 1-162770, 162771-182637, 182638-202599) | all
    split: str = "train"
    image_size: int = 64  # resize the short side, then centre-crop
    in_memory: str = "auto"  # auto (when it fits in 1 GiB) | true | false (stream from disk)
    workers: int = 2  # DataLoader workers when streaming
    hflip: bool = False  # mirror each training image left-right with probability 1/2

    def __post_init__(self) -> None:
        one_of("split", self.split, ("train", "valid", "test", "all"))
        positive("image_size", self.image_size)
        one_of("in_memory", str(self.in_memory).lower(), ("auto", "true", "false"))
        self.in_memory = str(self.in_memory).lower()


def build(options: CelebAOptions):
    """CelebA faces from img_align_celeba/, 3x64x64 by default; cached or streamed"""
    from ganzoo_builtins.celeba.loader import load_celeba

    return load_celeba(options)


@hookimpl
def ganzoo_register_datasets(register):
    register("celeba", build, options=CelebAOptions,
             sample_shape=lambda o: (3, o.image_size, o.image_size),
             licence="CelebA (Liu et al., 2015): for non-commercial research purposes only, "
                     "by its agreement; the copyright of the images stays with their owners")
