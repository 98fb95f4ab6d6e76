"""The ResNet GAN of SNGAN and WGAN-GP (Miyato et al., 2018, Appendix B; Gulrajani et al., 2017):
pre-activation residual up-blocks with BatchNorm in G; residual down-blocks with an optimized
first block, ReLU, global sum pooling and a linear head in D. Options add spectral norm, a
SAGAN self-attention block and class conditioning.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive

SIZES = (32, 64, 128)


@dataclass
class ResNetGeneratorOptions:
    latent_dim: int = 128
    ngf: int = 256  # channels: constant at 32x32 (SNGAN CIFAR), halving per block from 64 up
    conditioning: str = "none"  # none | cbn (class-conditional BatchNorm) | concat (embed y to z)
    attention: int = 0  # SAGAN self-attention after the block that reaches this size; 0: off
    spectral_norm: bool = False  # SN in G too, as SAGAN does

    def __post_init__(self) -> None:
        positive("latent_dim", self.latent_dim)
        positive("ngf", self.ngf)
        one_of("conditioning", self.conditioning, ("none", "cbn", "concat"))
        if self.attention < 0:
            raise ValueError(f"attention: a resolution, or 0 for none (got {self.attention})")


@dataclass
class ResNetDiscriminatorOptions:
    ndf: int = 128  # channels: constant at 32x32 (SNGAN CIFAR), doubling up to ndf from 64 up
    spectral_norm: bool = True  # SNGAN; false for WGAN-GP
    conditioning: str = "none"  # none | projection | acgan | concat
    attention: int = 0  # SAGAN self-attention after the block that reaches this size; 0: off

    def __post_init__(self) -> None:
        positive("ndf", self.ndf)
        one_of("conditioning", self.conditioning, ("none", "projection", "acgan", "concat"))
        if self.attention < 0:
            raise ValueError(f"attention: a resolution, or 0 for none (got {self.attention})")


def build_generator(options: ResNetGeneratorOptions, image_shape: tuple[int, ...],
                    num_classes: int | None):
    """ResNet G (SNGAN): z -> 4x4 -> residual up-blocks (BN, ReLU, 2x, conv) -> tanh"""
    from ganzoo_builtins.resnet.networks import ResNetGenerator

    return ResNetGenerator(options, image_shape, num_classes)


def build_discriminator(options: ResNetDiscriminatorOptions, image_shape: tuple[int, ...],
                        num_classes: int | None):
    """ResNet D (SNGAN): residual down-blocks, ReLU, global sum pooling, linear; SN by default"""
    from ganzoo_builtins.resnet.networks import ResNetDiscriminator

    return ResNetDiscriminator(options, image_shape, num_classes)


@hookimpl
def ganzoo_register_generators(register):
    register("resnet", build_generator, options=ResNetGeneratorOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("resnet", build_discriminator, options=ResNetDiscriminatorOptions)
