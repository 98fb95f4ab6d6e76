"""ganzoo-testkit: one member of every kind, through the public hooks only.

This module stays cheap to import; the parts themselves (torch) are in ``parts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganzoo import hookimpl
from ganzoo.options import positive


@dataclass
class CMLPOptions:
    latent_dim: int = 8
    hidden: int = 32
    embed_dim: int = 8  # the label embedding concatenated to z


@dataclass
class CProjOptions:
    hidden: int = 32
    aux_head: bool = True  # also return class logits, ACGAN-style, as an extra output


@dataclass
class PackOptions:
    m: int = 2  # samples per pack
    inner: dict[str, Any] = field(default_factory=lambda: {"name": "mlp"})  # the packed D

    def __post_init__(self) -> None:
        positive("m", self.m)


@dataclass
class RaSGANOptions:
    aux_weight: float = 1.0  # weight of the class cross-entropy where D has a class head


@dataclass
class FlipOptions:
    p: float = 0.0  # starting probability
    target: float = 0.6  # the wanted mean sign of D on reals
    rate: float = 0.01  # how fast p moves per step


@dataclass
class R1Options:
    gamma: float = 10.0  # R1 = gamma/2 * E ||grad_x D(x)||^2 on reals


@dataclass
class ClipOptions:
    clip: float = 0.01


@dataclass
class SGDOptions:
    lr: float = 0.01
    momentum: float = 0.9


@dataclass
class HalvingOptions:
    every: int = 10  # halve the learning rate every this many steps


def build_cmlp(options: CMLPOptions, image_shape, num_classes):
    """conditional MLP G: [z, embed(y)] -> sample"""
    from ganzoo_testkit.parts import ConditionalMLP

    return ConditionalMLP(options, tuple(image_shape), num_classes)


def build_cproj(options: CProjOptions, image_shape, num_classes):
    """conditional MLP D: projection term plus an auxiliary class head"""
    from ganzoo_testkit.parts import ProjectionMLP

    return ProjectionMLP(options, tuple(image_shape), num_classes)


def build_pack(options: PackOptions, image_shape, num_classes):
    """PacGAN-style packing around any other discriminator (options.inner)"""
    from ganzoo.components import build_nested
    from ganzoo_testkit.parts import Packed, packed_shape

    inner = build_nested("discriminator", options.inner, "inner",
                         packed_shape(tuple(image_shape), options.m), num_classes)
    return Packed(inner, options.m, tuple(image_shape))


def build_rasgan(options: RaSGANOptions):
    """relativistic average standard GAN (Jolicoeur-Martineau, 2018)"""
    from ganzoo_testkit.parts import RaSGAN

    return RaSGAN(options.aux_weight)


def build_flip(options: FlipOptions):
    """adaptive random flip of D's inputs; p follows the sign of D on reals"""
    from ganzoo_testkit.parts import AdaptiveFlip

    return AdaptiveFlip(options.p, options.target, options.rate)


def build_r1(options: R1Options):
    """R1 gradient penalty on reals"""
    from ganzoo_testkit.parts import R1

    return R1(options.gamma)


def build_clip(options: ClipOptions):
    """weight clipping of D after each update"""
    from ganzoo_testkit.parts import Clip

    return Clip(options.clip)


def build_sgd(options: SGDOptions, params):
    """SGD with momentum"""
    import torch

    return torch.optim.SGD(params, lr=options.lr, momentum=options.momentum)


def build_halving(options: HalvingOptions):
    """halve the learning rate every N steps"""
    from ganzoo_testkit.parts import Halving

    return Halving(options.every)


@dataclass
class RecorderOptions:
    file: str = "kit_recorder.jsonl"  # in the run folder


def build_recorder(options: RecorderOptions):
    """writes every call it receives, as JSON lines, into a file of the run folder"""
    from ganzoo_testkit.parts import Recorder

    return Recorder(options.file)


def build_brightness(options: None):
    """mean brightness of samples (higher is better, for tests of eval.best)"""
    from ganzoo_testkit.parts import Brightness

    return Brightness()


@hookimpl
def ganzoo_register_generators(register):
    register("kit_cmlp", build_cmlp, options=CMLPOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("kit_cproj", build_cproj, options=CProjOptions)
    register("kit_pack", build_pack, options=PackOptions)


@hookimpl
def ganzoo_register_losses(register):
    register("kit_rasgan", build_rasgan, options=RaSGANOptions)


@hookimpl
def ganzoo_register_augmentations(register):
    register("kit_flip", build_flip, options=FlipOptions)


@hookimpl
def ganzoo_register_regularizers(register):
    register("kit_r1", build_r1, options=R1Options)
    register("kit_clip", build_clip, options=ClipOptions)


@hookimpl
def ganzoo_register_optimizers(register):
    register("kit_sgd", build_sgd, options=SGDOptions)


@hookimpl
def ganzoo_register_schedules(register):
    register("kit_halving", build_halving, options=HalvingOptions)


@hookimpl
def ganzoo_register_metrics(register):
    register("kit_brightness", build_brightness)


@hookimpl
def ganzoo_register_loggers(register):
    register("kit_recorder", build_recorder, options=RecorderOptions)
