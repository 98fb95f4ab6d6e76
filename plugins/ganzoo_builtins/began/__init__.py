"""BEGAN (Berthelot et al., 2017, "Boundary Equilibrium GANs"): D is an auto-encoder.

D's loss on a sample is its L1 reconstruction error L(v) = |v - D(v)|; D reconstructs real
images and fails on G's, G makes images D reconstructs well, and a proportional controller
k_t keeps the two in the equilibrium E[L(G(z))] = gamma E[L(x)], gamma being the diversity
ratio. M = L(x) + |gamma L(x) - L(G(z))| measures convergence. The settings are the paper's and
its reference code's: 3x3 convolutions with ELUs, filters growing linearly in the encoder,
nearest upsampling, an 8x8 base, n = 64, h = z = 64 with z ~ U(-1, 1), gamma 0.5,
lambda_k 0.001, k_0 = 0, Adam lr 1e-4 with betas (0.5, 0.999), batch 16, the rate halved
every 100,000 steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.errors import GanzooError
from ganzoo.options import positive
from ganzoo.roles import Role

BEGAN_ROLES = {
    "generator": Role("generator", "optim_g", "x",
                      summary="G: z ~ U(-1, 1) -> an image (the decoder's architecture)"),
    "discriminator": Role("discriminator", "optim_d", "x",
                          summary="D: an auto-encoder; its L1 reconstruction error scores"),
}


@dataclass
class BEGANOptions:
    gamma: float = 0.5  # the diversity ratio E[L(G(z))] / E[L(x)] the equilibrium keeps
    lambda_k: float = 0.001  # the proportional gain of k_t

    def __post_init__(self) -> None:
        if not 0 < self.gamma <= 1:
            raise ValueError(f"gamma: must be in (0, 1] (got {self.gamma!r})")
        if not 0 <= self.lambda_k <= 1:
            raise ValueError(f"lambda_k: must be in [0, 1] (got {self.lambda_k!r})")


@dataclass
class BEGANGeneratorOptions:
    latent_dim: int = 64  # N_z
    ngf: int = 64  # the paper's n: the filters of every decoder convolution
    skip: bool = False  # h0 upsampled to each scale joins it (the paper's skip connections)

    def __post_init__(self) -> None:
        positive("latent_dim", self.latent_dim)
        positive("ngf", self.ngf)


@dataclass
class BEGANDiscriminatorOptions:
    ndf: int = 64  # the paper's n: k*n filters at the encoder's k-th scale, n in its decoder
    hidden_dim: int = 64  # N_h, the embedding h between encoder and decoder
    skip: bool = False  # skip connections in D's decoder, as in G

    def __post_init__(self) -> None:
        positive("ndf", self.ndf)
        positive("hidden_dim", self.hidden_dim)


@dataclass
class HalvingOptions:
    every: int = 100000  # steps between two halvings (the reference code's lr_update_step)
    factor: float = 0.5  # what each period multiplies the rate by

    def __post_init__(self) -> None:
        positive("every", self.every)
        if not 0 < self.factor <= 1:
            raise ValueError(f"factor: must be in (0, 1] (got {self.factor!r})")


def image_size(image_shape, who: str) -> int:
    """The side of a square image of 8 x 2^k pixels, or one line saying what fits."""
    shape = tuple(image_shape)
    size = shape[-1] if len(shape) == 3 and shape[1] == shape[2] else 0
    if size < 8 or size & (size - 1):
        raise GanzooError(f"{who}: BEGAN's networks take square images of 8 x 2^k pixels "
                          f"(8, 16, 32, 64, 128, ...), not samples of shape {shape}; set "
                          "data.image_size to one of them")
    return size


def build_began(options: BEGANOptions):
    """BEGAN: an auto-encoder D; L_D = L(x) - k_t L(G(z)), L_G = L(G(z)), k_t held at the
    equilibrium gamma = L(G(z)) / L(x); logs M and k_t"""
    from ganzoo_builtins.began.game import BEGAN

    return BEGAN(options)


def build_generator(options: BEGANGeneratorOptions, image_shape, num_classes):
    """BEGAN G: z ~ U(-1, 1) -> FC to 8x8xn -> (two 3x3 convs + ELU, nearest x2) per scale"""
    from ganzoo_builtins.began.networks import BEGANGenerator

    image_size(image_shape, "generator 'began'")
    return BEGANGenerator(options, tuple(image_shape))


def build_discriminator(options: BEGANDiscriminatorOptions, image_shape, num_classes):
    """BEGAN D: an auto-encoder (3x3 conv encoder, FC to h, G's decoder); scores by its L1
    reconstruction error"""
    from ganzoo_builtins.began.networks import BEGANDiscriminator

    image_size(image_shape, "discriminator 'began'")
    return BEGANDiscriminator(options, tuple(image_shape))


def build_objectives(options: None):
    """BEGAN's objectives on D's reconstruction errors, for game began (which holds k_t)"""
    from ganzoo_builtins.began.game import BEGANObjectives

    return BEGANObjectives()


def build_halving(options: HalvingOptions):
    """halving: the lr times factor (0.5) every `every` steps, as BEGAN's reference code"""
    from ganzoo_builtins.began.schedule import Halving

    return Halving(options.every, options.factor)


@hookimpl
def ganzoo_register_games(register):
    register("began", build_began, options=BEGANOptions, roles=BEGAN_ROLES)


@hookimpl
def ganzoo_register_generators(register):
    register("began", build_generator, options=BEGANGeneratorOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("began", build_discriminator, options=BEGANDiscriminatorOptions)


@hookimpl
def ganzoo_register_losses(register):
    register("began", build_objectives)


@hookimpl
def ganzoo_register_schedules(register):
    register("halving", build_halving, options=HalvingOptions)
