"""Any folder of images, for users' own data: recursive, common formats, optional class labels."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive


@dataclass
class ImageFolderOptions:
    root: str = "data/images"  # searched recursively for .jpg .png .bmp .webp ...
    image_size: int = 64  # resize the short side, then centre-crop
    channels: int = 3  # 3: RGB, 1: grayscale
    labels: bool = False  # use the first-level sub-folders as class labels
    in_memory: str = "auto"  # auto (when it fits in 1 GiB) | true | false (stream from disk)
    workers: int = 2  # DataLoader workers when streaming
    hflip: bool = False  # mirror each training image left-right with probability 1/2

    def __post_init__(self) -> None:
        positive("image_size", self.image_size)
        one_of("channels", self.channels, (1, 3))
        one_of("in_memory", str(self.in_memory).lower(), ("auto", "true", "false"))
        self.in_memory = str(self.in_memory).lower()


def build(options: ImageFolderOptions):
    """Every image under a folder (recursive), resized and centre-cropped; cached or streamed"""
    from ganzoo_builtins.image_folder.loader import load_image_folder

    return load_image_folder(options)


@hookimpl
def ganzoo_register_datasets(register):
    register("image_folder", build, options=ImageFolderOptions,
             sample_shape=lambda o: (o.channels, o.image_size, o.image_size),
             licence="your own images: state their licence here before sharing the model")
