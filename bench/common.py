"""Shared by the benchmarks: the data folder, the device, and the table they print."""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent


def default_data_root() -> Path:
    return Path(os.environ.get("GANZOO_DATA_ROOT") or REPO.parent / "shared" / "data")


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", type=Path, default=default_data_root(),
                        help="folder with MNIST/raw and cifar10/ (default: $GANZOO_DATA_ROOT "
                             "or ../shared/data)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")


def pick(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def versions() -> str:
    import torchvision

    import ganzoo

    return (f"ganzoo {ganzoo.__version__}, torch {torch.__version__}, "
            f"torchvision {torchvision.__version__}, Python {platform.python_version()}")
