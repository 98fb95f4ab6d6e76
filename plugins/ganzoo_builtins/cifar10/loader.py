"""Reading CIFAR-10's pickles safely: checksums first, and an unpickler that builds only arrays."""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import numpy as np
import torch

from ganzoo.data import InMemoryDataset, resize_uint8
from ganzoo.errors import GanzooError
from ganzoo_builtins.cifar10 import CIFAR10Options

FOLDER = "cifar-10-batches-py"
# The published MD5s of the original files (the same torchvision checks).
MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
SPLITS = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def load_cifar10(options: CIFAR10Options) -> InMemoryDataset:
    root = Path(options.root).expanduser()
    if options.download and find_batches(root) is None:
        download(root)
    folder = find_batches(root)
    if folder is None:
        raise GanzooError(layout_error(root))
    images, labels = [], []
    for name in SPLITS[options.split]:
        path = folder / name
        if not path.is_file():
            raise GanzooError(f"data.root: '{folder}' has no '{name}' (expected "
                              f"{', '.join(SPLITS[options.split])})")
        if options.verify:
            verify(path, MD5[name])
        batch = read_batch(path)
        images.append(batch["data"])
        labels.append(batch["labels"])
    pixels = torch.from_numpy(np.concatenate(images)).view(-1, 3, 32, 32)
    if options.image_size != 32:
        pixels = resize_uint8(pixels, options.image_size)
    return InMemoryDataset(pixels, labels=torch.from_numpy(np.concatenate(labels)),
                           num_classes=10, source=f"CIFAR-10 {options.split} in '{folder}'",
                           hflip=options.hflip)


def find_batches(root: Path) -> Path | None:
    """``root/cifar-10-batches-py``, or ``root`` itself when it holds the batch files."""
    for folder in (root / FOLDER, root):
        if (folder / "batches.meta").is_file() or (folder / "data_batch_1").is_file():
            return folder
    return None


def layout_error(root: Path) -> str:
    """Say what is missing, and where the batches are if they are near."""
    if not root.exists():
        return (f"data.root: folder '{root}' does not exist. Set data.root to the folder "
                f"holding {FOLDER}/, or data.download=true where the network allows.")
    for candidate in sorted(root.glob("*/")) + sorted(root.glob("*/*/")):
        if (candidate / "data_batch_1").is_file() or (candidate / "test_batch").is_file():
            return (f"data.root: no CIFAR-10 batches directly in '{root}', but '{candidate}' "
                    f"holds them. Set data.root={candidate}")
    return (f"data.root: CIFAR-10 not found in '{root}' (expected {FOLDER}/ with data_batch_1.."
            f"5, test_batch, batches.meta). Set data.root, or data.download=true.")


def verify(path: Path, expected: str) -> None:
    digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
    if digest != expected:
        raise GanzooError(
            f"data: checksum mismatch for '{path}' (md5 {digest}, expected {expected}). "
            "For a subset or a re-encoded copy, set data.verify=false."
        )


class _ArraysOnly(pickle.Unpickler):
    """Builds numpy arrays and plain containers, and refuses anything else in the file."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}  # how numpy's pickles rebuild raw bytes

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_batch(path: Path) -> dict[str, np.ndarray]:
    """One CIFAR batch: data (N, 3072) uint8 and labels (N,) int64."""
    try:
        raw = _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="bytes").load()
        data = np.asarray(raw[b"data"], dtype=np.uint8).reshape(-1, 3072)
        labels = np.asarray(raw[b"labels"], dtype=np.int64)
        if len(labels) != len(data):
            raise ValueError(f"{len(data)} images but {len(labels)} labels")
    except Exception as exc:
        raise GanzooError(
            f"data: '{path}' is truncated or not a CIFAR-10 batch ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'}). Replace the file."
        ) from None
    return {"data": data, "labels": labels}


def download(root: Path) -> None:
    from torchvision.datasets import CIFAR10

    try:
        CIFAR10(str(root), download=True)
    except Exception as exc:
        raise GanzooError(f"data.download: downloading CIFAR-10 into '{root}' failed "
                          f"({type(exc).__name__}). Put {FOLDER}/ there and set "
                          "data.download=false.") from None
