"""Pictures people would rather look at than read: sample grids and point clouds."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from torch import Tensor


def save_image_grid(images: Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """Save images in [-1, 1] of shape (N, C, H, W) as one PNG grid."""
    from torchvision.utils import save_image

    nrow = nrow or max(1, int(math.sqrt(images.shape[0])))
    save_image(images.detach().float().cpu(), str(path), nrow=nrow, normalize=True,
               value_range=(-1, 1), padding=2)
    return Path(path)


def pyplot() -> Any:
    """matplotlib.pyplot, drawing off-screen (Agg), except under IPython, where a notebook's
    inline backend stays in force so that figures show."""
    import sys

    import matplotlib

    if "IPython" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_point_cloud(real: Tensor, fake: Tensor, path: str | Path, title: str = "") -> Path:
    """Scatter real and generated 2-D points on one picture."""
    plt = pyplot()
    real, fake = real.detach().float().cpu().numpy(), fake.detach().float().cpu().numpy()
    fig, ax = plt.subplots(figsize=(5, 5.4), dpi=100)
    ax.scatter(real[:, 0], real[:, 1], s=3, alpha=0.35, c="tab:blue", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=3, alpha=0.5, c="tab:orange", label="generated")
    # The same frame at every step, from the real data's extent, so pictures compare.
    low, high = real.min(axis=0), real.max(axis=0)
    margin = 0.25 * (high - low).max()
    ax.set_xlim(low[0] - margin, high[0] + margin)
    ax.set_ylim(low[1] - margin, high[1] + margin)
    ax.set_aspect("equal")
    fig.legend(loc="lower center", ncol=2, markerscale=4, frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
