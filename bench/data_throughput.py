"""Images/s delivered to a training loop: ganzoo's loaders against torchvision + DataLoader.

    python bench/data_throughput.py [--data-root ../shared/data] [--device auto] [--batches 300]

For MNIST and CIFAR-10 it times, in one run and on the same files:
- ganzoo: the dataset plugin's ``batches()``, i.e. uint8 images held on the device, batches
  drawn by index and scaled to [-1, 1] there;
- reference: a torchvision Dataset with ToTensor + Normalize, DataLoader(num_workers=2,
  shuffle=True), each batch moved to the device, as the usual training scripts do.
Both deliver float batches in [-1, 1] on the device; the clock stops after a device sync.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_common_args, device_name, pick, sync, versions  # noqa: E402
from reference_dcgan import reference_cifar  # noqa: E402


def images_per_second(batches: Iterator[torch.Tensor], n: int, device: torch.device,
                      warmup: int = 10) -> float:
    for _ in range(warmup):
        next(batches)
    sync(device)
    start = time.perf_counter()
    seen = 0
    for _ in range(n):
        seen += next(batches).shape[0]
    sync(device)
    return seen / (time.perf_counter() - start)


def reference_batches(dataset, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=2,
                        drop_last=True, persistent_workers=True,
                        pin_memory=device.type == "cuda")
    while True:
        for images, _ in loader:
            yield images.to(device, non_blocking=True)


def reference_mnist(root: Path):
    import torchvision.transforms as T
    from torchvision.datasets import MNIST

    return MNIST(str(root), train=True, download=False,
                 transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]))


def cases(data_root: Path):
    """(name, ganzoo dataset options, reference dataset factory) for the data present."""
    mnist = data_root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    if mnist.is_file():
        yield "MNIST 1x28x28", "mnist", {"root": str(data_root)}, lambda: reference_mnist(data_root)
    else:
        print(f"skipping MNIST: {mnist} not found")
    for folder in (data_root / "cifar10" / "cifar-10-batches-py",
                   data_root / "cifar10" / "cifar-10-batches-py-subset"):
        if (folder / "data_batch_1").is_file():
            yield (f"CIFAR-10 3x32x32 ({folder.name})", "cifar10",
                   {"root": str(folder), "verify": folder.name == "cifar-10-batches-py"},
                   lambda folder=folder: reference_cifar(folder))
            break
    else:
        print(f"skipping CIFAR-10: no batches under {data_root / 'cifar10'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=300, help="timed batches per loader")
    args = parser.parse_args()
    device = pick(args.device)

    from rich.console import Console
    from rich.table import Table

    from ganzoo.plugins import load_registry

    registry = load_registry()
    table = Table(title=f"data throughput, batch {args.batch_size}, {args.batches} batches, "
                        f"on {device_name(device)}", title_justify="left")
    for column in ("dataset", "ganzoo img/s", "reference img/s", "ratio"):
        table.add_column(column, justify="right" if column != "dataset" else "left")
    for name, plugin, options, make_reference in cases(args.data_root):
        component = registry.get("dataset", plugin)
        ours = component.build(component.options(**options))
        images = (batch.x for batch in ours.batches(args.batch_size, device, 0))
        ganzoo_rate = images_per_second(images, args.batches, device)
        reference_rate = images_per_second(
            reference_batches(make_reference(), args.batch_size, device), args.batches, device)
        table.add_row(name, f"{ganzoo_rate:,.0f}", f"{reference_rate:,.0f}",
                      f"{ganzoo_rate / reference_rate:.1f}x")
    Console().print(table)
    print(versions())


if __name__ == "__main__":
    main()
