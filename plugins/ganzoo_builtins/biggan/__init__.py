"""BigGAN (Brock et al., 2019, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis") at CIFAR-10's 32x32: the ResNet G and D of SNGAN/SAGAN widened to 256 channels, with
a class embedding shared by every conditional BatchNorm of G, a hierarchical latent (z cut into
one chunk for the first linear layer and one per block, each block's BatchNorm gains and biases
a linear function of [shared embedding, its chunk]), spectral norm in G and D, orthogonal
initialisation and a projection D; and BigGAN's orthogonal regularization of G's weights.

Settings follow the paper and the authors' BigGAN-PyTorch (its ``BigGAN.py`` 32x32 arch and
``scripts/launch_cifar_ema.sh``): G_ch = D_ch = 64, that is 4 x 64 = 256 channels at every
stage; dim_z 128; no attention in the CIFAR script (``--G_attn 0 --D_attn 0``). BatchNorm's
epsilon is 1e-4 as in the paper's released TF-Hub models (BigGAN-PyTorch's default is 1e-5).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive

INITS = ("ortho", "N02", "xavier")


@dataclass
class BigGANGeneratorOptions:
    latent_dim: int = 128  # dim_z of BigGAN-PyTorch's CIFAR script
    ngf: int = 256  # channels at every stage: 4 x G_ch (G_ch = 64 for CIFAR)
    shared_dim: int = 128  # the class embedding that every block's cBN reads (shared_dim)
    hierarchical: bool = True  # z in chunks: one for the first linear, one per block (hier)
    attention: int = 0  # BigGAN's self-attention after the block reaching this size; 0: off
    spectral_norm: bool = True  # G_param SN
    init: str = "ortho"  # ortho (the paper) | N02 (the CIFAR script) | xavier
    bn_eps: float = 1e-4  # the paper's released models; BigGAN-PyTorch defaults to 1e-5

    def __post_init__(self) -> None:
        positive("latent_dim", self.latent_dim)
        positive("ngf", self.ngf)
        positive("shared_dim", self.shared_dim)
        positive("bn_eps", self.bn_eps)
        one_of("init", self.init, INITS)
        if self.attention < 0:
            raise ValueError(f"attention: a resolution, or 0 for none (got {self.attention})")
        if self.hierarchical and self.latent_dim < 4:
            raise ValueError(f"latent_dim: a hierarchical z needs at least one entry per chunk "
                             f"(4 at 32x32: the first linear and 3 blocks), got "
                             f"{self.latent_dim}; or set hierarchical: false")


@dataclass
class BigGANDiscriminatorOptions:
    ndf: int = 256  # channels at every stage: 4 x D_ch (D_ch = 64 for CIFAR)
    attention: int = 0  # self-attention after the block reaching this size; 0: off
    spectral_norm: bool = True  # D_param SN
    init: str = "ortho"  # ortho (the paper) | N02 (the CIFAR script) | xavier

    def __post_init__(self) -> None:
        positive("ndf", self.ndf)
        one_of("init", self.init, INITS)
        if self.attention < 0:
            raise ValueError(f"attention: a resolution, or 0 for none (got {self.attention})")


def build_generator(options: BigGANGeneratorOptions, image_shape: tuple[int, ...],
                    num_classes: int | None):
    """BigGAN G (Brock et al., 2019) at 32x32: shared class embedding, hierarchical z,
    residual up-blocks with cBN from [embedding, z chunk], SN, orthogonal init"""
    from ganzoo_builtins.biggan.networks import BigGANGenerator

    return BigGANGenerator(options, image_shape, num_classes)


def build_discriminator(options: BigGANDiscriminatorOptions, image_shape: tuple[int, ...],
                        num_classes: int | None):
    """BigGAN D (Brock et al., 2019) at 32x32: residual down-blocks, SN, sum pooling,
    projection of the class embedding"""
    from ganzoo_builtins.biggan.networks import BigGANDiscriminator

    return BigGANDiscriminator(options, image_shape, num_classes)


def build_orthogonal(options: None):
    """BigGAN's orthogonal regularization (Brock et al., 2019): sum over G's weights W,
    flattened to (out, fan-in), of ||W W^T * (1 - I)||_F^2 / 2, the shared class embedding
    left out; weight is the reference code's G_ortho (1e-4)"""
    from ganzoo_builtins.biggan.orthogonal import Orthogonal

    return Orthogonal()


@hookimpl
def ganzoo_register_generators(register):
    register("biggan", build_generator, options=BigGANGeneratorOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("biggan", build_discriminator, options=BigGANDiscriminatorOptions)


@hookimpl
def ganzoo_register_regularizers(register):
    register("orthogonal", build_orthogonal)
