"""Augmentations of D's inputs: DiffAugment (Zhao et al., 2020), an adaptive variant whose
strength p follows D's overfitting, by the heuristic of ADA (Karras et al., 2020), ADA's own
pipeline of geometric and color transforms (adaptive, fixed or on a schedule), and x-flips.

All are differentiable and applied to real and fake batches alike, in both players' updates,
so G learns through them. Written from the papers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganzoo import hookimpl
from ganzoo.options import one_of, positive

POLICIES = ("color", "translation", "cutout")
ADA_BGC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness",
           "contrast", "lumaflip", "hue", "saturation")  # = ada.BGC, without importing torch


@dataclass
class DiffAugmentOptions:
    policy: list[str] = field(default_factory=lambda: ["color", "translation", "cutout"])
    translation: float = 0.125  # largest shift, as a fraction of the image size
    cutout: float = 0.5  # side of the square cut out, as a fraction of the image size

    def __post_init__(self) -> None:
        for name in self.policy:
            one_of("policy", name, POLICIES)
        for name in ("translation", "cutout"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}: must be in [0, 1] (got {getattr(self, name)!r})")


@dataclass
class AdaptiveOptions(DiffAugmentOptions):
    target: float = 0.6  # the wanted E[sign(D(x))] on reals; above it D overfits and p rises
    interval: int = 4  # steps between adjustments of p
    speed: int = 500_000  # images for p to go from 0 to 1 at the most (ADA's 500k)
    p: float = 0.0  # where p starts

    def __post_init__(self) -> None:
        super().__post_init__()
        positive("interval", self.interval)
        positive("speed", self.speed)
        if not -1 <= self.target <= 1:  # NaN fails it too
            raise ValueError(f"target: E[sign(D(x))] lies in [-1, 1] (got {self.target!r})")
        if not 0 <= self.p <= 1:
            raise ValueError(f"p: must be in [0, 1] (got {self.p!r})")


@dataclass
class ADAOptions:
    # the transforms: ADA's 'bgc' set (pixel blitting, geometric, color), applied in its order;
    # cutout (not in bgc) may join, as in R3GAN's pipeline
    pipeline: list[str] = field(default_factory=lambda: list(ADA_BGC))
    color_scale: float = 1.0  # the color transforms' probability is color_scale x p (R3GAN: 0.5)
    p: float = 0.0  # the probability of each transform: where it starts, or its fixed value
    target: float | None = 0.6  # ADA's E[sign(D(x))] on reals to hold; null: p is not tuned
    interval: int = 4  # D updates between adjustments of p
    speed: int = 500_000  # images for p to go from 0 to 1 at the most
    # p times this schedule's factor at each step (target: null); R3GAN's p rises from 0 to
    # 0.55: {p: 0.55, target: null, schedule: {name: cosine, initial: 0, final: 1}}
    schedule: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        for name in self.pipeline:
            one_of("pipeline", name, (*ADA_BGC, "cutout"))
        if not 0 <= self.color_scale <= 1:
            raise ValueError(f"color_scale: must be in [0, 1] (got {self.color_scale!r})")
        positive("interval", self.interval)
        positive("speed", self.speed)
        if not 0 <= self.p <= 1:
            raise ValueError(f"p: must be in [0, 1] (got {self.p!r})")
        if self.target is not None and not -1 <= self.target <= 1:
            raise ValueError(f"target: E[sign(D(x))] lies in [-1, 1] (got {self.target!r})")
        if self.schedule is not None and self.target is not None:
            raise ValueError("schedule: p follows either a schedule or D's outputs (target); "
                             "set target: null to follow the schedule")


@dataclass
class XFlipOptions:
    p: float = 0.5  # the probability that each image is mirrored

    def __post_init__(self) -> None:
        if not 0 <= self.p <= 1:  # NaN fails it too
            raise ValueError(f"p: a probability, in [0, 1] (got {self.p!r})")


def build_diffaugment(options: DiffAugmentOptions):
    """DiffAugment (Zhao et al., 2020): color, translation and cutout on every input of D"""
    from ganzoo_builtins.augment.transforms import DiffAugment

    return DiffAugment(options.policy, options.translation, options.cutout)


def build_adaptive(options: AdaptiveOptions):
    """adaptive DiffAugment: each sample augmented with probability p, tuned from
    E[sign(D(x))] on reals (the ADA heuristic); p is logged and checkpointed"""
    from ganzoo_builtins.augment.transforms import AdaptiveAugment

    return AdaptiveAugment(options.policy, options.translation, options.cutout,
                           target=options.target, interval=options.interval,
                           speed=options.speed, p=options.p)


def build_ada(options: ADAOptions):
    """ADA's pipeline (Karras et al., 2020): flips, 90-degree turns, shifts, scalings, rotations
    and color changes, each with probability p, tuned from E[sign(D(x))] on reals, fixed or
    on a schedule; p is logged and checkpointed"""
    from ganzoo.components import build_nested
    from ganzoo_builtins.augment.ada import ADA

    schedule = (build_nested("schedule", options.schedule, "schedule")
                if options.schedule is not None else None)
    return ADA(options.pipeline, p=options.p, target=options.target, interval=options.interval,
               speed=options.speed, color_scale=options.color_scale, schedule=schedule)


def build_xflip(options: XFlipOptions):
    """x-flips: each input of D, real or fake, mirrored left to right with probability p (ADA's
    xflip at a fixed p; unlike a mirrored dataset, G's samples are flipped too)"""
    from ganzoo_builtins.augment.transforms import XFlip

    return XFlip(options.p)


@hookimpl
def ganzoo_register_augmentations(register):
    register("diffaugment", build_diffaugment, options=DiffAugmentOptions)
    register("adaptive", build_adaptive, options=AdaptiveOptions)
    register("xflip", build_xflip, options=XFlipOptions)
    register("ada", build_ada, options=ADAOptions)
