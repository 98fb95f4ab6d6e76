"""StyleGAN2 (Karras, Laine, Aittala, Hellsten, Lehtinen & Aila, CVPR 2020, "Analyzing and
Improving the Image Quality of StyleGAN"), config F written from the paper in plain PyTorch.

G: z (pixel-normalized) -> an 8-layer mapping MLP (lr multiplier 0.01) -> w, one w per layer
(two w's with a crossover point in training: style mixing, probability 0.9); a learned 4x4
constant, then per resolution an upsampling (bilinear, the [1, 3, 3, 1] filter) modulated 3x3
conv and a modulated 3x3 conv, each with weight demodulation, per-pixel noise scaled by learned
per-channel strengths, bias and leaky ReLU 0.2; toRGB outputs (modulated 1x1, no
demodulation) summed through the resolutions (the skip architecture). Equalized learning rate
everywhere. The mean w is tracked (an EMA, decay 0.995) for the truncation trick.
D: the residual architecture: fromRGB once, residual down-blocks (two 3x3 convs, the second
after a [1, 3, 3, 1] blur-and-subsample, a 1x1 skip, the sum over sqrt(2)), the minibatch
standard deviation (groups of 4, 1 feature), a 3x3 conv, a fully connected layer and the logit.

Widths: ``ngf`` / ``ndf`` (512 in the paper) at every resolution up to ``full_width_up_to``,
halving with each doubling above (config E and StyleGAN2-ADA's settings below 512 px: 32;
config F: 64). ``path_length`` is the paper's path length regularizer of G.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive


def _check_width(full_width_up_to: int) -> None:
    if full_width_up_to < 4 or full_width_up_to & (full_width_up_to - 1):
        raise ValueError(f"full_width_up_to: a power of two from 4 up, the resolution above "
                         f"which the widths halve (got {full_width_up_to!r})")


@dataclass
class StyleGAN2GeneratorOptions:
    latent_dim: int = 512  # the length of z and of w
    ngf: int = 512  # the widest layers' channels
    full_width_up_to: int = 32  # widths halve per doubling above this resolution
    mapping_layers: int = 8  # the mapping MLP's depth (StyleGAN2-ADA's CIFAR/auto configs: 2)
    mapping_lr: float = 0.01  # learning-rate multiplier of the mapping MLP
    style_mixing: float = 0.9  # probability that a training sample mixes two w's
    w_avg_decay: float = 0.995  # EMA decay of the tracked mean w (truncation's centre)
    output: str = "tanh"  # tanh (into [-1, 1], as ganzoo's images) | linear (the paper's)

    def __post_init__(self) -> None:
        positive("latent_dim", self.latent_dim)
        positive("ngf", self.ngf)
        _check_width(self.full_width_up_to)
        positive("mapping_layers", self.mapping_layers)
        positive("mapping_lr", self.mapping_lr)
        if not 0 <= self.style_mixing <= 1:
            raise ValueError(f"style_mixing: a probability in [0, 1] (got {self.style_mixing!r})")
        if not 0 <= self.w_avg_decay < 1:
            raise ValueError(f"w_avg_decay: an EMA decay in [0, 1) (got {self.w_avg_decay!r})")
        one_of("output", self.output, ("tanh", "linear"))


@dataclass
class StyleGAN2DiscriminatorOptions:
    ndf: int = 512  # the widest layers' channels
    full_width_up_to: int = 32  # widths halve per doubling above this resolution
    mbstd_group: int = 4  # minibatch standard deviation: samples per group (StyleGAN2-ADA
    # CIFAR: 32); a batch it does not divide uses its largest divisor below
    mbstd_features: int = 1  # feature maps the statistic is computed over separately

    def __post_init__(self) -> None:
        positive("ndf", self.ndf)
        _check_width(self.full_width_up_to)
        positive("mbstd_group", self.mbstd_group)
        positive("mbstd_features", self.mbstd_features)
        if self.ndf % self.mbstd_features:
            raise ValueError(f"mbstd_features: must divide ndf ({self.ndf}); got "
                             f"{self.mbstd_features}")


@dataclass
class PathLengthOptions:
    decay: float = 0.01  # of the running mean a of |J^T y|
    batch_shrink: int = 2  # the penalty's batch is the training batch over this

    def __post_init__(self) -> None:
        if not 0 < self.decay <= 1 or math.isnan(self.decay):
            raise ValueError(f"decay: an EMA rate in (0, 1] (got {self.decay!r})")
        positive("batch_shrink", self.batch_shrink)


def build_generator(options: StyleGAN2GeneratorOptions, image_shape: tuple[int, ...],
                    num_classes: int | None):
    """StyleGAN2 G (config F): mapping MLP -> w; constant 4x4, modulated/demodulated convs,
    noise, skip toRGB outputs; style mixing, truncation toward the mean w"""
    from ganzoo_builtins.stylegan2.networks import StyleGAN2Generator

    return StyleGAN2Generator(options, image_shape)


def build_discriminator(options: StyleGAN2DiscriminatorOptions, image_shape: tuple[int, ...],
                        num_classes: int | None):
    """StyleGAN2 D: residual down-blocks, minibatch stddev, conv, fc, logit; equalized lr"""
    from ganzoo_builtins.stylegan2.networks import StyleGAN2Discriminator

    return StyleGAN2Discriminator(options, image_shape)


def build_path_length(options: PathLengthOptions):
    """path length (StyleGAN2, Karras et al., 2020): E[(|J_w^T y| - a)^2], y ~ N(0, I)/sqrt(HW),
    a the running mean; for a G that returns its w's (stylegan2); weight 2, every 4"""
    from ganzoo_builtins.stylegan2.path_length import PathLength

    return PathLength(options.decay, options.batch_shrink)


@hookimpl
def ganzoo_register_generators(register):
    register("stylegan2", build_generator, options=StyleGAN2GeneratorOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("stylegan2", build_discriminator, options=StyleGAN2DiscriminatorOptions)


@hookimpl
def ganzoo_register_regularizers(register):
    register("path_length", build_path_length, options=PathLengthOptions)
