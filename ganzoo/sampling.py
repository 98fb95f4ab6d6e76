"""Using a trained generator: load it from a run or a checkpoint, write samples, walk z, and
traverse a latent code of a generator that has codes.

A generator with latent codes (InfoGAN's) names them in ``latent_codes`` (one line each, in the
order ``--code K`` counts them) and builds a traversal's latents in ``traverse_code(code, z,
steps)``: from z (rows, latent_dim), rows x columns latents, row r keeping z[r]'s other parts
and walking code ``code`` along its columns, with the number of columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from ganzoo.components import build_one
from ganzoo.console import warn
from ganzoo.engine.checkpoint import (
    CheckpointStore,
    load_checkpoint,
    load_weights,
    network_weights,
)
from ganzoo.engine.runtime import pick_device, seed_everything
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Generator, is_image_shape
from ganzoo.recipe import compose, game_sections
from ganzoo.registry import Registry


def load_generator(target: str | Path, registry: Registry, use_ema: bool = True,
                   device: str = "auto", role: str | None = None,
                   ) -> tuple[Generator, dict[str, Any], Path]:
    """A generator role's network (the game's primary one unless ``role`` names another)
    from a run folder (its newest good checkpoint) or a checkpoint file, in eval mode.

    The EMA weights are used when the run kept them, unless ``use_ema`` is false.
    """
    path = Path(target)
    if path.is_dir():
        state, path, problems = CheckpointStore(path / "checkpoints").latest_good()
        for problem in problems:  # never a silent fall-back to an older checkpoint
            warn(f"{problem} Using the older {path.name} instead.")
    else:
        state = load_checkpoint(path)
    if "recipe" not in state or "roles" not in state:
        raise GanzooError(f"'{path}' is not a ganzoo checkpoint (no recipe or roles).")
    recipe = compose(state["recipe"], where=str(path), registry=registry)
    role = role or state.get("primary", "generator")
    generators = game_sections(recipe.game.name, registry).of_kind("generator")
    if role not in generators:
        raise GanzooError(f"--role: {role!r} is not a generator of this run; its generators "
                          f"are {', '.join(generators)}")
    seed_everything(0)
    G = build_role_network(registry, recipe, role, state["roles"][role])
    load_weights(G, network_weights(state, role, use_ema), role, path)
    return G.to(pick_device(device, where="--device")).eval(), state, path


def build_role_network(registry: Registry, recipe: Any, role: str,
                       shape: dict[str, Any]) -> Generator:
    """A role's network built from the recipe for the shapes a checkpoint recorded."""
    extra = {"input_shape": tuple(shape["input_shape"])} if shape.get("input_shape") else {}
    return build_one(registry, "generator", recipe[role], role, tuple(shape["image_shape"]),
                     shape.get("num_classes"), **extra)


def check_fits_in_memory(n: int, shape: tuple[int, ...], what: str) -> None:
    """Refuse, before allocating, n float32 samples that the machine's memory cannot hold."""
    import math

    needed = n * math.prod(shape) * 4
    available = available_memory()
    if available is not None and needed > available:
        raise GanzooError(f"{what}: {n} samples of shape {'x'.join(map(str, shape))} need "
                          f"{needed / 1e9:,.1f} GB of memory, more than the "
                          f"{available / 1e9:,.1f} GB available; ask for fewer (several runs "
                          "with different --seed give more)")


def available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def class_labels(G: Generator, n: int, which: str | int | None) -> Tensor | None:
    """Labels for n samples of G: None for an unconditional G; class K; or 'all' (and None),
    every class equally often (0, 1, ..., K-1, 0, 1, ...)."""
    if not G.conditional:
        if which is not None:
            raise GanzooError("--class: this generator is not conditional; leave --class out")
        return None
    if which in (None, "all"):
        return torch.arange(n) % G.num_classes
    try:
        k = int(which)
    except ValueError:
        k = -1
    if not 0 <= k < G.num_classes:
        raise GanzooError(f"--class: expected 'all' or a class from 0 to {G.num_classes - 1} "
                          f"(got {which!r})")
    return torch.full((n,), k, dtype=torch.long)


@torch.no_grad()
def generate(G: Generator, n: int, seed: int = 0, batch_size: int = 256,
             labels: Tensor | None = None) -> Tensor:
    """n samples from G on the CPU, from a seeded z (and the given labels, when conditional)."""
    check_takes_noise(G)
    device = next(G.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    z = G.sample_latent(n, generator=rng)
    out = []
    for i in range(0, n, batch_size):
        y = labels[i:i + batch_size].to(device) if labels is not None else None
        out.append(G(z[i:i + batch_size].to(device), y).float().cpu())
    return torch.cat(out)


def check_takes_noise(G: Generator) -> None:
    """Sampling from z needs a G fed noise; one with an input translates images instead."""
    if G.input_shape:
        shape = "x".join(map(str, G.input_shape))
        raise GanzooError(f"this generator takes images of shape {shape} in place of z: use "
                          "'ganzoo translate RUN --input ...' (or run.translate) for it")


def to_uint8(images: Tensor) -> Tensor:
    """[-1, 1] float (N, C, H, W) -> uint8 (N, C, H, W), the inverse of the datasets' scaling."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def write_samples(samples: Tensor, out: Path, labels: Tensor | None = None) -> str:
    """One .npz (images uint8 NHWC, or points float32, and labels where given) or a folder of
    PNG files (named with their class where given). A place that cannot be written is one
    line naming it."""
    try:
        return _write_samples(samples, out, labels)
    except OSError as exc:
        raise GanzooError(f"--out {out}: cannot write there ({exc.strerror or exc}); choose a "
                          "writable place") from None


def _write_samples(samples: Tensor, out: Path, labels: Tensor | None) -> str:
    import numpy as np

    images = is_image_shape(tuple(samples.shape[1:]))
    if out.suffix == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        extra = {"labels": labels.numpy()} if labels is not None else {}
        if images:  # (N, H, W, C): the layout image tools expect
            np.savez_compressed(out, images=to_uint8(samples).permute(0, 2, 3, 1).numpy(),
                                **extra)
        else:
            np.savez_compressed(out, points=samples.numpy().astype(np.float32), **extra)
        return f"{len(samples)} {'images' if images else 'points'} in {out}"
    if not images:
        raise GanzooError(f"--out {out}: this generator makes points, not images; "
                          "write them to a .npz file")
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    pixels = to_uint8(samples).permute(0, 2, 3, 1).numpy()
    # a conditional G's samples go into one sub-folder per class, named by the class's number
    # padded so that sorted names follow the numbers: image_folder labels=true reads them back
    width = len(str(int(labels.max()))) if labels is not None else 0
    for i, array in enumerate(pixels):
        folder = out / f"{int(labels[i]):0{width}d}" if labels is not None else out
        folder.mkdir(exist_ok=True)
        Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(
            folder / f"{i:06d}.png")
    where = " (one sub-folder per class)" if labels is not None else ""
    return f"{len(samples)} PNG files in {out}{where}"


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation: stays where a Gaussian latent has its mass, unlike a line."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


@torch.no_grad()
def interpolation_grid(G: Generator, rows: int, steps: int, seed: int = 0,
                       which: str | int | None = None) -> Tensor:
    """rows x steps images: each row walks from one random z to another (for a conditional G,
    within class ``which``, or with row r in class r mod K by default)."""
    if not is_image_shape(tuple(G.image_shape)):
        raise GanzooError("interpolate draws image grids; this generator makes points")
    check_takes_noise(G)
    rng = torch.Generator().manual_seed(seed)
    ends = G.sample_latent(2 * rows, generator=rng).view(rows, 2, G.latent_dim)
    t = torch.linspace(0, 1, steps).view(1, steps, 1)
    z = slerp(ends[:, :1], ends[:, 1:], t).reshape(rows * steps, G.latent_dim)
    device = next(G.parameters()).device
    labels = None
    if G.conditional:
        per_row = class_labels(G, rows, which)
        labels = per_row.repeat_interleave(steps).to(device)
    elif which is not None:
        class_labels(G, rows, which)  # says why --class does not apply
    return G(z.to(device), labels).float().cpu()


@runtime_checkable
class CodedGenerator(Protocol):
    """What a generator with latent codes gives beside Generator's interface (module doc)."""

    latent_codes: Sequence[str]

    def traverse_code(self, code: int, z: Tensor, steps: int) -> tuple[Tensor, int]: ...


def latent_codes(G: Generator) -> Sequence[str]:
    """The codes of G (none for a generator without them)."""
    return G.latent_codes if isinstance(G, CodedGenerator) else ()


@torch.no_grad()
def code_traversal(G: Generator, code: int, rows: int, steps: int, seed: int = 0,
                   which: str | int | None = None) -> tuple[Tensor, int]:
    """A traversal of code ``code`` (0-based): rows x columns images (row after row) and the
    number of columns. Each row keeps one draw of z from ``seed`` and walks the code along the
    columns, as G's ``traverse_code`` says (for InfoGAN: every category of a categorical code,
    ``steps`` values from -2 to 2 of a continuous one); a conditional G's rows are in class
    ``which``, or row r in class r mod K."""
    codes = latent_codes(G)
    if not codes:
        raise GanzooError("--code: this generator has no latent codes to traverse (it "
                          "declares no latent_codes); leave --code out for a walk from z to z")
    if not 0 <= code < len(codes):
        listed = "; ".join(f"{k}: {what}" for k, what in enumerate(codes))
        raise GanzooError(f"--code: expected a code from 0 to {len(codes) - 1} ({listed}) "
                          f"(got {code})")
    if not is_image_shape(tuple(G.image_shape)):
        raise GanzooError("interpolate draws image grids; this generator makes points")
    z = G.sample_latent(rows, generator=torch.Generator().manual_seed(seed))
    walked, columns = G.traverse_code(code, z, steps)
    device = next(G.parameters()).device
    labels = class_labels(G, rows, which)
    if labels is not None:
        labels = labels.repeat_interleave(columns).to(device)
    return G(walked.to(device), labels).float().cpu(), columns
