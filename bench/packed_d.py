"""Can a packed discriminator see the 25-Gaussian grid? D alone, against fixed fakes.

    python bench/packed_d.py [--steps 2000] [--packs 1,2,4] [--seed 0]

pacgan_grid's D stays at chance in training (its loss sits at 2 ln 2). This separates D from
the game: the recipe's D (``pacgan`` around its ``mlp``; m = 1 is the plain ``mlp``) is trained
alone, with the recipe's optimizer, on the recipe's data, to tell real grid points from a fixed
fake distribution that covers the square and has found no mode (uniform on [-5, 5]^2), for a
number of steps. A D that can see the modes drives its loss (real + fake binary cross-entropy,
1.386 at chance) down; one that cannot stays near 1.386. Same batch of 256 points in every
case: packs of m hold 256 / m scores. Printed: the loss (mean of the last 100 steps) at the
given steps, and the held-out accuracy on 10,240 fresh points per side.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import device_name, versions  # noqa: E402

import ganzoo  # noqa: E402

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "pacgan_grid.yaml"
BATCH = 256
CHECKPOINTS = (250, 500, 1000, 2000, 4000, 8000)


def recipe_section(name: str) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(RECIPE)[name], resolve=True)


def packed_discriminator(m: int) -> torch.nn.Module:
    """The recipe's D with packs of m (m = 1: its inner D alone)."""
    inner = recipe_section("discriminator")["inner"]
    if m == 1:
        return ganzoo.build("discriminator", inner.pop("name"), image_shape=(2,), **inner)
    return ganzoo.build("discriminator", "pacgan", m=m, inner=inner, image_shape=(2,))


def fake_points(n: int, rng: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 2, generator=rng) * 10 - 5


def train_alone(m: int, steps: int, seed: int) -> dict[str, float]:
    """D trained on the recipe's data (drawn by its dataset) against uniform fakes, with the
    recipe's optim_d (schedule aside); its loss at CHECKPOINTS and held-out accuracy."""
    torch.manual_seed(seed)
    D = packed_discriminator(m)
    optim = recipe_section("optim_d")
    optim.pop("schedule", None)
    opt = ganzoo.build("optimizer", optim.pop("name"), params=D.parameters(), **optim)
    data = recipe_section("data")
    data = ganzoo.build("dataset", data.pop("name"), **data)
    reals = data.batches(BATCH, torch.device("cpu"), seed)
    rng = torch.Generator().manual_seed(seed + 1)
    losses, row, start = [], {}, time.perf_counter()
    for step in range(1, steps + 1):
        real, fake = D(next(reals).x), D(fake_points(BATCH, rng))
        loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step in CHECKPOINTS or step == steps:
            row[f"loss@{step}"] = sum(losses[-100:]) / len(losses[-100:])
    with torch.no_grad():  # a pack is scored once; its m samples share the score
        n = 10_240
        held_out = next(data.batches(n, torch.device("cpu"), seed + 1)).x
        right = (D(held_out) > 0).float().mean() + (D(fake_points(n, rng)) < 0).float().mean()
    row["accuracy"] = float(right / 2)
    row["seconds"] = time.perf_counter() - start
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--packs", default="1,2,4", help="pack sizes m, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    rows = {m: train_alone(m, args.steps, args.seed) for m in map(int, args.packs.split(","))}
    columns = list(next(iter(rows.values())))
    table = Table(title=f"D alone against uniform fakes, batch {BATCH}, {args.steps} steps "
                        "(chance: loss 1.386, accuracy 0.5)")
    table.add_column("m")
    for column in columns:
        table.add_column(column, justify="right")
    for m, row in rows.items():
        table.add_row(str(m), *(f"{row[c]:.3f}" if c != "seconds" else f"{row[c]:.0f}"
                               for c in columns))
    console = Console(width=120)
    console.print(table)
    console.print(f"{device_name(torch.device('cpu'))}; {versions()}")


if __name__ == "__main__":
    main()
