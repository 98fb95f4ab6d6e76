"""Captions of MNIST digits from their labels and two measured properties of their ink.

Stroke thickness is the ink's area over its boundary (half the stroke width, in pixels), and
slant the angle of the ink's principal axis from the vertical (positive: the top leans right).
Each is binned into three by the terciles of the split, so every bin holds a third of the
digits. The phrasings fill the digit and its bins into sentences; two phrasings are held out of
training (they reorder and recombine the training words) to measure whether G follows captions
it never saw.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS = ("thin", "regular", "thick")
SLANT = ("left", "upright", "right")
SLANTED = {"left": "backslanted", "upright": "upright", "right": "slanted"}
LEANING = {"left": "leaning left", "upright": "standing upright", "right": "leaning right"}

TRAIN_PHRASINGS = (
    "a {thickness} {slanted} {digit}",
    "the digit {numeral}, written {thickness} and {leaning}",
    "{digit}",
    "a {digit} with a {thickness} stroke",
    "a {thickness} {digit} {leaning}",
    "handwritten {digit}, {thickness} and {slanted}",
)
HELD_OUT_PHRASINGS = (
    "a {slanted} {thickness} {digit}",
    "the digit {numeral} with a {thickness} stroke, {leaning}",
)
PHRASINGS = {"train": TRAIN_PHRASINGS, "held_out": HELD_OUT_PHRASINGS,
             "all": TRAIN_PHRASINGS + HELD_OUT_PHRASINGS}


def caption(phrasing: str, digit: int, thickness: int, slant: int) -> str:
    """One phrasing filled in for a digit (0-9) and its thickness and slant bins (0-2)."""
    return phrasing.format(digit=DIGITS[digit], numeral=digit, thickness=THICKNESS[thickness],
                           slanted=SLANTED[SLANT[slant]], leaning=LEANING[SLANT[slant]])


class Caption(NamedTuple):
    """A caption and what it asks for: the digit, and the thickness and slant bins."""

    text: str
    digit: int
    thickness: int
    slant: int
    phrasing: str

    @property
    def names_thickness(self) -> bool:
        return "{thickness}" in self.phrasing

    @property
    def names_slant(self) -> bool:
        return "{slanted}" in self.phrasing or "{leaning}" in self.phrasing


def every_caption(phrasings: tuple[str, ...]) -> list[Caption]:
    """Every phrasing filled in for every digit and pair of bins, in that order: caption id
    ((p * 10 + digit) * 3 + thickness) * 3 + slant."""
    return [Caption(caption(p, d, t, s), d, t, s, p) for p in phrasings for d in range(10)
            for t in range(3) for s in range(3)]


def measure_ink(images: Tensor) -> tuple[Tensor, Tensor]:
    """(thickness, slant in degrees) of (N, 1, H, W) uint8 digits, measured on their ink."""
    weights = images[:, 0].float() / 255
    ink = weights > 0.5
    padded = torch.nn.functional.pad(ink, (1, 1, 1, 1))
    interior = (ink & padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2]
                & padded[:, 1:-1, 2:])
    boundary = (ink & ~interior).flatten(1).sum(1).clamp(min=1)
    thickness = ink.flatten(1).sum(1) / boundary
    h, w = weights.shape[-2:]
    ys = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    mass = weights.sum((1, 2)).clamp(min=1e-6)
    mx, my = (weights * xs).sum((1, 2)) / mass, (weights * ys).sum((1, 2)) / mass
    dx, dy = xs - mx.view(-1, 1, 1), ys - my.view(-1, 1, 1)
    cxx, cyy = (weights * dx * dx).sum((1, 2)) / mass, (weights * dy * dy).sum((1, 2)) / mass
    cxy = (weights * dx * dy).sum((1, 2)) / mass
    # the principal axis' angle from the downward vertical; y grows downwards, so a top
    # leaning right is a negative angle there
    slant = -0.5 * torch.atan2(2 * cxy, cyy - cxx) * 180 / math.pi
    return thickness, slant


def terciles(values: Tensor) -> Tensor:
    """The two values that cut ``values`` into thirds."""
    return torch.quantile(values.float(), torch.tensor([1 / 3, 2 / 3]))


def bins(values: Tensor, cuts: Tensor) -> Tensor:
    """0, 1 or 2: below the first cut, between, above the second."""
    return torch.bucketize(values.float(), cuts, right=True)
