"""Loading a folder of images."""

from __future__ import annotations

from pathlib import Path

import torch

from ganzoo.data import image_dataset
from ganzoo.errors import GanzooError
from ganzoo.imagefiles import IMAGE_EXTENSIONS, find_images
from ganzoo_builtins.image_folder import ImageFolderOptions


def load_image_folder(options: ImageFolderOptions):
    root = Path(options.root).expanduser()
    files = image_files(root)
    labels, classes = None, None
    if options.labels:
        classes = sorted({f.relative_to(root).parts[0] for f in files
                          if len(f.relative_to(root).parts) > 1})
        if not classes:
            raise GanzooError(f"data.labels: '{root}' has no class sub-folders; put each "
                              "class in its own folder or set data.labels=false")
        index = {name: i for i, name in enumerate(classes)}
        files = [f for f in files if len(f.relative_to(root).parts) > 1]
        labels = torch.tensor([index[f.relative_to(root).parts[0]] for f in files])
    return image_dataset(
        files, options.image_size, options.channels, in_memory=options.in_memory,
        cache_key={"loader": "image_folder", "root": str(root.resolve()),
                   "labels": options.labels},
        name="image_folder", source=f"'{root}'", labels=labels,
        num_classes=len(classes) if classes else None, workers=options.workers,
        hflip=options.hflip,
    )


def image_files(root: Path) -> list[Path]:
    """The images under ``root``, or a one-line error saying why there are none."""
    if not root.exists():
        raise GanzooError(f"data.root: folder '{root}' does not exist")
    if not root.is_dir():
        raise GanzooError(f"data.root: '{root}' is a file; point it at a folder of images")
    files = find_images(root)
    if not files:
        kinds = " ".join(IMAGE_EXTENSIONS)
        raise GanzooError(f"data.root: no images found in '{root}' (searched recursively for "
                          f"{kinds}). Check the path, or unpack the archive first.")
    return files
