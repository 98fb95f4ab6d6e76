"""R3GAN (Huang, Gokaslan, Kuleshov & Tompkin, NeurIPS 2024, "The GAN is dead; long live the
GAN! A Modern GAN Baseline"), the paper's final configuration (config E): a plain ResNet G and D
of ConvNeXt-style inverted bottlenecks (1x1 conv widening by ``expansion``, a grouped 3x3 conv
of ``group_size`` channels per group, 1x1 conv back), leaky ReLU 0.2 with a learned bias, no
normalization anywhere, fix-up initialization (each branch's last conv starts at zero, the others
scaled by L^(-1/4) for L blocks), bilinear resampling with the [1, 3, 3, 1] low-pass filter, 1x1
transition convs where the width changes, a learned 4x4 basis modulated by z at G's start and a
depthwise 4x4 conv with a linear head at D's end. No mapping network, styles, noise inputs or
minibatch standard deviation. Trained with the ``rpgan`` loss and R1 + R2 (``r1``, ``r2``).

Widths: ``ngf`` / ``ndf`` at every stage up to 32x32, halving per doubling above (the reference
presets: CIFAR-10 768 at 4 to 32 pixels; FFHQ-256 768, 768, 768, 768, 384, 192, 96); the grouped
conv has 16 channels per group at every stage (cardinality 96 for 768 x 2 channels).
Conditioning (optional): G concatenates an embedding of the class to z, D projects its last
features onto an embedding of the class, as the reference's conditional CIFAR-10 model does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive


def _check_body(blocks: int, expansion: int, group_size: int) -> None:
    positive("blocks", blocks)
    positive("expansion", expansion)
    positive("group_size", group_size)


@dataclass
class R3GANGeneratorOptions:
    latent_dim: int = 64  # the reference's CIFAR-10 noise dimension
    ngf: int = 768  # width of every stage up to 32x32, halving per doubling above
    blocks: int = 2  # residual blocks per stage (every preset: 2)
    expansion: int = 2  # inverted bottleneck: the 3x3 conv is expansion x wider
    group_size: int = 16  # channels per group of the 3x3 conv (16 in every preset)
    conditioning: str = "none"  # none | concat (a class embedding of latent_dim joins z)
    output: str = "tanh"  # tanh (into [-1, 1], as ganzoo's images) | linear (the paper's)

    def __post_init__(self) -> None:
        positive("latent_dim", self.latent_dim)
        positive("ngf", self.ngf)
        _check_body(self.blocks, self.expansion, self.group_size)
        one_of("conditioning", self.conditioning, ("none", "concat"))
        one_of("output", self.output, ("tanh", "linear"))


@dataclass
class R3GANDiscriminatorOptions:
    ndf: int = 768  # width of every stage up to 32x32, halving per doubling above
    blocks: int = 2  # residual blocks per stage
    expansion: int = 2
    group_size: int = 16
    conditioning: str = "none"  # none | projection (onto a class embedding of ndf)

    def __post_init__(self) -> None:
        positive("ndf", self.ndf)
        _check_body(self.blocks, self.expansion, self.group_size)
        one_of("conditioning", self.conditioning, ("none", "projection"))


def build_generator(options: R3GANGeneratorOptions, image_shape: tuple[int, ...],
                    num_classes: int | None):
    """R3GAN G (Huang et al., 2024): z -> learned 4x4 basis -> stages of grouped inverted
    bottlenecks with bilinear 2x upsampling, no normalization -> 1x1 conv"""
    from ganzoo_builtins.r3gan.networks import R3GANGenerator

    return R3GANGenerator(options, image_shape, num_classes)


def build_discriminator(options: R3GANDiscriminatorOptions, image_shape: tuple[int, ...],
                        num_classes: int | None):
    """R3GAN D (Huang et al., 2024): 1x1 conv -> stages of grouped inverted bottlenecks with
    low-pass 2x downsampling -> depthwise 4x4 conv and a linear logit"""
    from ganzoo_builtins.r3gan.networks import R3GANDiscriminator

    return R3GANDiscriminator(options, image_shape, num_classes)


@hookimpl
def ganzoo_register_generators(register):
    register("r3gan", build_generator, options=R3GANGeneratorOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("r3gan", build_discriminator, options=R3GANDiscriminatorOptions)
