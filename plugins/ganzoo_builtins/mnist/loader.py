"""Loading MNIST's IDX files into one uint8 tensor, with errors that say where to put them."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from ganzoo.data import InMemoryDataset, resize_uint8
from ganzoo.errors import GanzooError
from ganzoo_builtins.mnist import MNISTOptions

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def load_mnist(options: MNISTOptions) -> InMemoryDataset:
    root = Path(options.root).expanduser()
    if not options.download:
        check_layout(root, options.split)
    from torchvision.datasets import MNIST

    try:
        mnist = MNIST(str(root), train=options.split == "train", download=options.download)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise GanzooError(
            f"data: could not load MNIST into '{root}' ({first}). Put the IDX files in "
            f"'{root / 'MNIST' / 'raw'}' and set data.download=false."
        ) from None
    images = mnist.data.unsqueeze(1)  # (N, 1, 28, 28) uint8
    if options.image_size != images.shape[-1]:
        images = resize_uint8(images, options.image_size)
    return MNISTDataset(images, labels=mnist.targets, num_classes=10,
                        source=f"MNIST {options.split} in '{root}'", root=root,
                        hflip=options.hflip)


class MNISTDataset(InMemoryDataset):
    """MNIST digits; generated digits are scored by a classifier for class coverage."""

    def __init__(self, *args, root: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self.root = root

    def mode_coverage(self, samples: Tensor) -> dict[str, float]:
        """Digit classes covered and the KL of the class histogram to uniform."""
        from ganzoo.modes import coverage_from_assignments
        from ganzoo_builtins.mnist.classifier import classify, digit_classifier

        labels = classify(digit_classifier(self.root), samples)
        result = coverage_from_assignments(labels, 10, len(samples))
        return {"digit_classes_covered": result["modes_covered"], "digit_classes_total": 10,
                "kl_to_uniform": result["reverse_kl"],
                "covered_if_at_least": result["covered_if_at_least"]}


def check_layout(root: Path, split: str) -> None:
    """Fail with one line naming the folder, the files expected and the option to set, or the
    file that is cut short."""
    expected = FILES[split]
    raw = root / "MNIST" / "raw"
    if all((raw / name).is_file() for name in expected):
        for name in expected:
            check_idx_file(raw / name)
        return
    names = ", ".join(expected)
    for candidate in (root.parent, root.parent.parent, *sorted(root.glob("*"))):
        found = all((candidate / "MNIST" / "raw" / n).is_file() for n in expected)
        if candidate.is_dir() and found:
            raise GanzooError(
                f"data.root: MNIST files not found under '{root}', but they are under "
                f"'{candidate}'. Set data.root={candidate}"
            )
    if not root.exists():
        where = f"data.root: folder '{root}' does not exist"
    else:
        where = f"data.root: MNIST files not found in '{raw}'"
    raise GanzooError(
        f"{where} (expected {names}). Set data.root to the folder that holds MNIST/raw/, "
        "or data.download=true where the network allows."
    )


def check_idx_file(path: Path) -> None:
    """An IDX file's size must match its header: images 16 + n*28*28 bytes, labels 8 + n."""
    import struct

    data_size = path.stat().st_size
    with open(path, "rb") as f:
        header = f.read(16)
    expected = None
    if len(header) >= 8:
        magic, n = struct.unpack(">II", header[:8])
        expected = {2051: 16 + n * 28 * 28, 2049: 8 + n}.get(magic)
    if expected is None or expected != data_size:
        wanted = f"; its header says {expected:,}" if expected is not None else ""
        raise GanzooError(f"data.root: '{path}' is cut short or not an MNIST IDX file "
                          f"({data_size:,} bytes{wanted}); copy or download it again")
