"""How well InfoGAN's categorical code captures the digit, two ways.

From G: samples of every category alike, scored by the shipped MNIST classifier; the accuracy
of the best one-to-one map from categories to digits (the metric ``code_accuracy``). From Q:
its category for real test digits against their labels, through the best map, as the paper
measures its 5% error. The best map is the assignment problem, solved exactly here by dynamic
programming over the subsets of the smaller side (scipy is not a dependency).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.interfaces import EvalContext, Metric

DIGITS = 10


def best_one_to_one(counts: list[list[float]]) -> list[tuple[int, int]]:
    """The (row, column) pairs, each row and column used at most once, with the largest total
    of ``counts``: exact, in rows x columns x 2^min(rows, columns) steps."""
    rows, columns = len(counts), len(counts[0]) if counts else 0
    if columns > rows:  # subsets of the smaller side
        flipped = best_one_to_one([list(column) for column in zip(*counts, strict=True)])
        return sorted((r, c) for c, r in flipped)
    if columns > 16:
        raise ValueError(f"best_one_to_one: {rows} x {columns} is too large for an exact search")
    unset = float("-inf")
    best = [unset] * (1 << columns)
    best[0] = 0.0
    chosen = []  # per row: for each set of used columns, the column the row took (-1: none)
    for r in range(rows):
        after, took = best[:], [-1] * len(best)
        for used, value in enumerate(best):
            if value == unset:
                continue
            for c in range(columns):
                bit = 1 << c
                if not used & bit and value + counts[r][c] > after[used | bit]:
                    after[used | bit], took[used | bit] = value + counts[r][c], c
        best = after
        chosen.append(took)
    used = max(range(len(best)), key=best.__getitem__)
    pairs = []
    for r in reversed(range(rows)):
        c = chosen[r][used]
        if c >= 0:
            pairs.append((r, c))
            used ^= 1 << c
    return sorted(pairs)


def matched_accuracy(codes: Tensor, digits: Tensor, categories: int) -> tuple[float, dict]:
    """The share of (code, digit) pairs that the best one-to-one map of codes to digits gets
    right, and that map (code -> digit)."""
    counts = torch.zeros(categories, DIGITS)
    counts.index_put_((codes.long(), digits.long()), torch.ones(len(codes)), accumulate=True)
    pairs = best_one_to_one(counts.tolist())
    right = sum(counts[r, c].item() for r, c in pairs)
    return right / max(len(codes), 1), dict(pairs)


def categorical_size(G: Any, where: str) -> int:
    categorical = (getattr(G, "code_layout", None) or (0, 0))[0]
    if not categorical:
        raise GanzooError(f"{where}: this generator has no categorical code (an InfoGAN "
                          "generator with categorical > 0 has); choose other metrics")
    return categorical


@torch.no_grad()
def code_digit_accuracy(G: Any, classifier: nn.Module, n: int = 10000, seed: int = 0,
                        batch_size: int = 500) -> dict[str, Any]:
    """G's samples, n // K of each category (noise and continuous codes from their prior,
    seeded), classified as digits: the best map's accuracy, the map and the sample count."""
    from ganzoo_builtins.mnist.classifier import classify

    categorical = categorical_size(G, "code_accuracy")
    per = max(1, n // categorical)
    noise, continuous, _ = G.split_latent(G.sample_latent(
        per * categorical, generator=torch.Generator().manual_seed(seed)))
    codes = torch.arange(categorical).repeat_interleave(per)
    z = G.join_latent(noise, continuous, codes)
    device = next(G.parameters()).device
    images = torch.cat([G(z[i:i + batch_size].to(device)).float().cpu()
                        for i in range(0, len(z), batch_size)])
    accuracy, mapping = matched_accuracy(codes, classify(classifier, images), categorical)
    return {"accuracy": accuracy, "map": mapping, "samples": len(codes)}


@torch.no_grad()
def q_digit_accuracy(D: nn.Module, images: Tensor, labels: Tensor,
                     batch_size: int = 500) -> dict[str, Any]:
    """Q's category (argmax) for real images (uint8 or [-1, 1]) against their digit labels,
    through the best one-to-one map: the paper's measure of the categorical code."""
    categorical = D.code_layout[0]
    if not categorical:
        raise GanzooError("this discriminator's Q has no categorical code to classify with")
    D = D.eval()
    device = next(D.parameters()).device
    x = images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()
    codes = torch.cat([D(x[i:i + batch_size].to(device)).extra["code_logits"].argmax(1).cpu()
                       for i in range(0, len(x), batch_size)])
    accuracy, mapping = matched_accuracy(codes, labels, categorical)
    return {"accuracy": accuracy, "map": mapping, "images": len(x)}


def load_discriminator(run_dir: str | Path, registry: Any) -> nn.Module:
    """A run's discriminator role (D with Q) from its newest good checkpoint, in eval mode."""
    from ganzoo.components import build_one
    from ganzoo.engine.checkpoint import CheckpointStore, load_weights, network_weights
    from ganzoo.recipe import compose

    state, path, _ = CheckpointStore(Path(run_dir) / "checkpoints").latest_good()
    recipe = compose(state["recipe"], where=str(path), registry=registry)
    shape = state["roles"]["discriminator"]
    D = build_one(registry, "discriminator", recipe.discriminator, "discriminator",
                  tuple(shape["image_shape"]), shape.get("num_classes"))
    load_weights(D, network_weights(state, "discriminator", use_ema=False), "discriminator",
                 path)
    return D.eval()


class CodeAccuracy(Metric):
    """``code_accuracy``: eval.n samples (n // K of each category) classified as digits by the
    shipped MNIST classifier, through the best one-to-one map of categories to digits."""

    directions = {"code_accuracy": "max"}

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        from ganzoo_builtins.mnist.classifier import digit_classifier

        shape = tuple(ctx.G.image_shape)
        if len(shape) != 3 or shape[0] != 1:
            raise GanzooError(f"eval.metrics: code_accuracy scores digits (1xHxW images) with "
                              f"the MNIST classifier; this generator makes "
                              f"{'x'.join(map(str, shape))} samples")
        classifier = digit_classifier(getattr(ctx.reference, "root", "data"))
        result = code_digit_accuracy(ctx.G, classifier, ctx.options.n, ctx.options.seed)
        mapping = ", ".join(f"{code}->{digit}" for code, digit in result["map"].items())
        ctx.notes.append(f"code_accuracy: {result['samples']} samples, categories -> digits "
                         f"{mapping}")
        ctx.protocol["code_accuracy_samples"] = result["samples"]
        return {"code_accuracy": result["accuracy"]}
