"""Using a generator with an input: read images, check them against G, translate them.

    ganzoo translate RUN --input photo.png|a_folder/|images.npz --out out.npz [--role g_ba]

Inputs are image files (PNG, JPEG, ...), a folder of them, or a .npz holding ``images``
(uint8 N x H x W x C, as ``ganzoo sample`` writes them) or float ``images`` in [-1, 1]. They
must already have G's input shape: a wrong channel count or size is refused, naming it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Generator

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def read_inputs(path: str | Path, where: str = "--input") -> Tensor:
    """Images from a file, a folder or an .npz, as float (N, C, H, W) in [-1, 1]."""
    path = Path(path)
    if path.suffix == ".npz":
        return read_npz(path, where)
    files = (sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
             if path.is_dir() else [path])
    if not files or not files[0].is_file():
        raise GanzooError(f"{where} {path}: no image file there; pass an image, a folder of "
                          "images or a .npz of images")
    return torch.stack([read_image(p, where) for p in files])


def read_image(path: Path, where: str) -> Tensor:
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            pixels = np.asarray(img.convert("L" if img.mode in ("L", "I", "1") else "RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise GanzooError(f"{where} {path}: cannot be read as an image ({exc})") from None
    tensor = torch.from_numpy(pixels.copy())
    tensor = tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1)
    return tensor.float() / 127.5 - 1


def read_npz(path: Path, where: str) -> Tensor:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            if "images" not in data:
                raise GanzooError(f"{where} {path}: no 'images' array in it (it has "
                                  f"{', '.join(data.files) or 'none'})")
            images = data["images"]
    except (OSError, ValueError) as exc:
        raise GanzooError(f"{where} {path}: cannot be read as a .npz ({exc})") from None
    if images.ndim != 4:
        raise GanzooError(f"{where} {path}: 'images' is {images.shape}; expected N x H x W x C")
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2)
    return tensor.float() / 127.5 - 1 if images.dtype == np.uint8 else tensor.float()


def check_input(G: Generator, images: Tensor, where: str = "--input") -> None:
    """Refuse what G cannot take, in one line naming the shape it expects."""
    if not G.input_shape:
        raise GanzooError(f"{where}: this generator takes noise, not images; use 'ganzoo "
                          "sample' (or run.sample) for it")
    expected = tuple(G.input_shape)
    got = tuple(images.shape[1:])
    if got != expected:
        shape = "x".join(map(str, expected))
        raise GanzooError(f"{where}: the images are {'x'.join(map(str, got))} (C x H x W), but "
                          f"this generator takes {shape}; convert them to {expected[0]} "
                          f"channel(s) of {expected[1]}x{expected[2]} first")


@torch.no_grad()
def translate(G: Generator, images: Tensor, batch_size: int = 64,
              labels: Tensor | None = None, where: str = "--input") -> Tensor:
    """G's outputs for ``images`` (float in [-1, 1]), on the CPU."""
    check_input(G, images, where)
    device = next(G.parameters()).device
    out = []
    for i in range(0, len(images), batch_size):
        y = labels[i:i + batch_size].to(device) if labels is not None else None
        out.append(G(images[i:i + batch_size].to(device), y).float().cpu())
    return torch.cat(out)
