"""Using a trained generator: load it from a run or a checkpoint, write samples, walk z."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganzoo.checkpoint import CheckpointStore, load_checkpoint
from ganzoo.components import build_one
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Generator, is_image_shape
from ganzoo.recipe import compose
from ganzoo.registry import Registry
from ganzoo.runtime import pick_device, seed_everything


def load_generator(target: str | Path, registry: Registry, use_ema: bool = True,
                   device: str = "auto") -> tuple[Generator, dict[str, Any], Path]:
    """G from a run folder (its newest good checkpoint) or a checkpoint file, in eval mode.

    The EMA weights are used when the run kept them, unless ``use_ema`` is false.
    """
    path = Path(target)
    if path.is_dir():
        state, path, _ = CheckpointStore(path / "checkpoints").latest_good()
    else:
        state = load_checkpoint(path)
    if "recipe" not in state or "image_shape" not in state:
        raise GanzooError(f"'{path}' is not a ganzoo checkpoint (no recipe or image shape).")
    recipe = compose(state["recipe"], where=str(path))
    seed_everything(0)
    G = build_one(registry, "generator", recipe.generator, tuple(state["image_shape"]))
    ema = state.get("ema") if use_ema else None
    G.load_state_dict(ema if ema is not None else state["generator"])
    return G.to(pick_device(device)).eval(), state, path


@torch.no_grad()
def generate(G: Generator, n: int, seed: int = 0, batch_size: int = 256) -> Tensor:
    """n samples from G on the CPU, from a seeded z."""
    device = next(G.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    z = G.sample_latent(n, generator=rng)
    return torch.cat([G(z[i:i + batch_size].to(device)).float().cpu()
                      for i in range(0, n, batch_size)])


def to_uint8(images: Tensor) -> Tensor:
    """[-1, 1] float (N, C, H, W) -> uint8 (N, C, H, W), the inverse of the datasets' scaling."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def write_samples(samples: Tensor, out: Path) -> str:
    """One .npz (images uint8 NHWC, or points float32) or a folder of PNG files."""
    import numpy as np

    images = is_image_shape(tuple(samples.shape[1:]))
    if out.suffix == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        if images:  # (N, H, W, C): the layout image tools expect
            np.savez_compressed(out, images=to_uint8(samples).permute(0, 2, 3, 1).numpy())
        else:
            np.savez_compressed(out, points=samples.numpy().astype(np.float32))
        return f"{len(samples)} {'images' if images else 'points'} in {out}"
    if not images:
        raise GanzooError(f"--out {out}: this generator makes points, not images; "
                          "write them to a .npz file")
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    pixels = to_uint8(samples).permute(0, 2, 3, 1).numpy()
    for i, array in enumerate(pixels):
        Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(
            out / f"{i:06d}.png")
    return f"{len(samples)} PNG files in {out}"


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation: stays where a Gaussian latent has its mass, unlike a line."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


@torch.no_grad()
def interpolation_grid(G: Generator, rows: int, steps: int, seed: int = 0) -> Tensor:
    """rows x steps images: each row walks from one random z to another."""
    if not is_image_shape(tuple(G.image_shape)):
        raise GanzooError("interpolate draws image grids; this generator makes points")
    rng = torch.Generator().manual_seed(seed)
    ends = G.sample_latent(2 * rows, generator=rng).view(rows, 2, G.latent_dim)
    t = torch.linspace(0, 1, steps).view(1, steps, 1)
    z = slerp(ends[:, :1], ends[:, 1:], t).reshape(rows * steps, G.latent_dim)
    device = next(G.parameters()).device
    return G(z.to(device)).float().cpu()
