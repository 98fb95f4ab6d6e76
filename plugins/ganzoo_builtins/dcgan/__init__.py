"""DCGAN (Radford et al., 2015): strided convolutions in D, transposed convolutions in G."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive


@dataclass
class DCGANGeneratorOptions:
    latent_dim: int = 100
    ngf: int = 64  # channels of G's last hidden layer; they double towards the input
    upsample: str = "transposed"  # transposed (4/2/1) | nearest (x2 then a 3x3 conv)
    conditioning: str = "none"  # none | concat: a label embedding joins z (cGAN)

    def __post_init__(self) -> None:
        positive("latent_dim", self.latent_dim)
        positive("ngf", self.ngf)
        one_of("upsample", self.upsample, ("transposed", "nearest"))
        one_of("conditioning", self.conditioning, ("none", "concat"))


@dataclass
class DCGANDiscriminatorOptions:
    ndf: int = 64  # channels of D's first layer; they double at each halving
    spectral_norm: bool = False  # SN on every layer (and no BatchNorm), as SNGAN's CNN D
    conditioning: str = "none"  # none | concat (one-hot label planes) | projection | acgan

    def __post_init__(self) -> None:
        positive("ndf", self.ndf)
        one_of("conditioning", self.conditioning, ("none", "concat", "projection", "acgan"))


def build_generator(
        options: DCGANGeneratorOptions, image_shape: tuple[int, ...],
        num_classes: int | None):
    """DCGAN G: z -> 4x4 (7x7 for 28) -> transposed convs doubling the size -> tanh"""
    from ganzoo_builtins.dcgan.networks import DCGANGenerator

    return DCGANGenerator(options, image_shape, num_classes)


def build_discriminator(
        options: DCGANDiscriminatorOptions, image_shape: tuple[int, ...],
        num_classes: int | None):
    """DCGAN D: strided 4/2/1 convs halving the size, BatchNorm, LeakyReLU(0.2) -> one logit"""
    from ganzoo_builtins.dcgan.networks import DCGANDiscriminator

    return DCGANDiscriminator(options, image_shape, num_classes)


@hookimpl
def ganzoo_register_generators(register):
    register("dcgan", build_generator, options=DCGANGeneratorOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("dcgan", build_discriminator, options=DCGANDiscriminatorOptions)
