"""How well a text-to-image run on captioned MNIST follows its captions: for each caption, G's
images are read back by the digit classifier (is it the digit asked for?) and by the ink
measures the captions were made from (are thickness and slant in the bins asked for?)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ganzoo.interfaces import Generator, TextEncoder
from ganzoo_builtins.text2image.captions import Caption


def to_digits(images: Tensor) -> Tensor:
    """G's [-1, 1] images as uint8 1x28x28 digits, as the ink measures read MNIST's."""
    x = images.float()
    if x.shape[-1] != 28:
        x = nn.functional.interpolate(x, size=(28, 28), mode="bilinear", antialias=True,
                                      align_corners=False)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@torch.no_grad()
def caption_following(G: Generator, encoder: TextEncoder, classifier: nn.Module,
                      captions: Sequence[Caption], per_caption: int,
                      cuts: tuple[Tensor, Tensor], seed: int = 1) -> dict[str, float]:
    """Shares of G's images (``per_caption`` for each caption) whose digit is the caption's,
    and whose thickness and slant bins are (among the captions that name them)."""
    from ganzoo.sampling import generate
    from ganzoo_builtins.mnist.classifier import classify
    from ganzoo_builtins.text2image.captions import bins, measure_ink

    n = len(captions) * per_caption
    images = generate(G, n, seed, labels=encoder.embed_captions([c.text for c in captions], n))
    asked = [captions[i % len(captions)] for i in range(n)]  # sample i draws caption i % len
    thickness, slant = measure_ink(to_digits(images))
    digit_hits = classify(classifier, images) == torch.tensor([c.digit for c in asked])
    thickness_hits = bins(thickness, cuts[0]) == torch.tensor([c.thickness for c in asked])
    slant_hits = bins(slant, cuts[1]) == torch.tensor([c.slant for c in asked])
    names_thickness = torch.tensor([c.names_thickness for c in asked])
    names_slant = torch.tensor([c.names_slant for c in asked])
    return {"digit": digit_hits.float().mean().item(),
            "thickness": thickness_hits[names_thickness].float().mean().item(),
            "slant": slant_hits[names_slant].float().mean().item(), "images": n}


def mnist_cuts(root: str | Path) -> tuple[Tensor, Tensor]:
    """The terciles of thickness and slant on MNIST's train split, which binned the captions."""
    from ganzoo_builtins.mnist.classifier import load_split
    from ganzoo_builtins.text2image.captions import measure_ink, terciles

    images, _ = load_split(Path(root), "train")
    thickness, slant = measure_ink(images)
    return terciles(thickness), terciles(slant)
