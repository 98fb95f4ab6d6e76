"""pix2pix (Isola et al., 2017): paired image-to-image translation with a conditional GAN.

G is a U-Net whose only noise is dropout; D is a PatchGAN that scores overlapping patches of
the input beside the output; G's loss is the GAN term plus 100 x L1 to the true output. The
settings are the paper's and its reference code's (ngf = ndf = 64, dropout 0.5 in the first
three decoder blocks, 4x4 convolutions, BatchNorm, weights from N(0, 0.02), D's loss halved).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.errors import GanzooError
from ganzoo.options import one_of, positive
from ganzoo.roles import Role

PIX2PIX_ROLES = {
    "generator": Role("generator", "optim_g", field="target", input="source", paired=True,
                      summary="G: the input image -> its translation (a U-Net)"),
    "discriminator": Role("discriminator", "optim_d", field=("source", "target"),
                          summary="D: the input beside an output -> real or not, per patch"),
}


@dataclass
class Pix2PixOptions:
    l1_weight: float = 100.0  # lambda of E||y - G(x)||_1 in G's loss
    d_loss_scale: float = 0.5  # D's objective is halved, slowing D relative to G

    def __post_init__(self) -> None:
        if self.l1_weight < 0:
            raise ValueError(f"l1_weight: must be 0 or more (got {self.l1_weight})")
        positive("d_loss_scale", self.d_loss_scale)


@dataclass
class UNetOptions:
    ngf: int = 64  # channels of the outermost encoder block; they double down to 8 x ngf
    dropout: float = 0.5  # in the three innermost decoder blocks: pix2pix's only noise

    def __post_init__(self) -> None:
        positive("ngf", self.ngf)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: must be in [0, 1) (got {self.dropout})")


@dataclass
class PatchGANOptions:
    ndf: int = 64  # channels of the first layer; they double to 8 x ndf
    n_layers: int = 3  # strided blocks: 3 gives the 70x70 PatchGAN
    norm: str = "batch"  # batch (pix2pix) | instance (CycleGAN: no affine, convs keep biases)

    def __post_init__(self) -> None:
        positive("ndf", self.ndf)
        positive("n_layers", self.n_layers)
        one_of("norm", self.norm, ("batch", "instance"))


def build_pix2pix(options: Pix2PixOptions):
    """pix2pix: G translates source to target, D scores them side by side; GAN + 100 x L1"""
    from ganzoo_builtins.pix2pix.game import Pix2Pix

    return Pix2Pix(options)


def square_images(what: str, *shapes: tuple[int, ...]) -> None:
    for shape in shapes:
        if len(shape) != 3 or shape[1] != shape[2]:
            raise GanzooError(f"{what} takes square images (C, H, H), not samples of shape "
                              f"{tuple(shape)}")


def build_unet(options: UNetOptions, image_shape, num_classes, input_shape=None):
    """U-Net G: 4x4 stride-2 convs down to 1x1, skip connections, dropout as its noise"""
    from ganzoo_builtins.pix2pix.networks import UNetGenerator

    input_shape = tuple(input_shape or image_shape)
    square_images("generator 'unet'", image_shape, input_shape)
    size = image_shape[-1]
    if input_shape[1:] != tuple(image_shape[1:]) or size < 4 or size & (size - 1):
        raise GanzooError(f"generator 'unet': input and output must be one power-of-2 size "
                          f"of at least 4 (got {'x'.join(map(str, input_shape))} -> "
                          f"{'x'.join(map(str, image_shape))})")
    return UNetGenerator(options, tuple(image_shape), input_shape)


def build_patchgan(options: PatchGANOptions, image_shape, num_classes):
    """PatchGAN D: a logit per overlapping patch (70x70 with 3 layers), averaged per image"""
    from ganzoo_builtins.pix2pix.networks import PatchGANDiscriminator

    square_images("discriminator 'patchgan'", image_shape)
    if image_shape[-1] < 2 ** options.n_layers * 4:
        raise GanzooError(f"discriminator 'patchgan': {options.n_layers} layers need images "
                          f"of at least {2 ** options.n_layers * 4} pixels (got "
                          f"{image_shape[-1]}); lower n_layers")
    return PatchGANDiscriminator(options, tuple(image_shape))


@hookimpl
def ganzoo_register_games(register):
    register("pix2pix", build_pix2pix, options=Pix2PixOptions, roles=PIX2PIX_ROLES)


@hookimpl
def ganzoo_register_generators(register):
    register("unet", build_unet, options=UNetOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("patchgan", build_patchgan, options=PatchGANOptions)
