"""Single-image super-resolution: SRGAN (Ledig et al., 2017) and ESRGAN (Wang et al., 2018).

G enlarges the small image of a pair (``source``, e.g. ``data: degraded`` with ``degradation:
downscale``) to the full-size ``target``; D scores full-size images alone, real or enlarged.
G's loss is a pixel content loss plus a small adversarial term: SRGAN-MSE's MSE + 1e-3 x the
non-saturating term (SRResNet G, VGG-style D), ESRGAN's L1 + 5e-3 x the relativistic average
term (RRDBNet G without BatchNorm, its VGG-style D, loss ``ragan``). No pretrained VGG-19 can
be had offline, so neither game has the papers' perceptual (VGG feature) loss: SRGAN is its
paper's SRGAN-MSE variant, and ESRGAN's L1 takes the perceptual term's weight (1) in its place.
``pretrain_steps`` first train G on the content loss alone, as both papers initialize their GAN.
The scale is the ratio of the output's size to the input's: a power of 2.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.errors import GanzooError
from ganzoo.options import one_of, positive
from ganzoo.roles import Role

SR_ROLES = {
    "generator": Role("generator", "optim_g", field="target", input="source", paired=True,
                      summary="G: the small image -> it enlarged to the full size"),
    "discriminator": Role("discriminator", "optim_d", field="target",
                          summary="D: a full-size image -> the logit that it is the true one"),
}


@dataclass
class SRGANOptions:
    content: str = "mse"  # mse (on [-1, 1], SRGAN-MSE) | l1 (on [0, 1], ESRGAN)
    content_weight: float = 1.0  # of the content loss in G's objective
    adversarial_weight: float = 1e-3  # of the adversarial term: SRGAN's 10^-3
    # steps of G on the content loss alone before the GAN starts (SRGAN initializes with a
    # trained SRResNet, ESRGAN with its PSNR-oriented model); D is not updated during them
    pretrain_steps: int = 0

    def __post_init__(self) -> None:
        one_of("content", self.content, ("mse", "l1"))
        for name in ("content_weight", "adversarial_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be 0 or more (got {getattr(self, name)})")
        if self.pretrain_steps < 0:
            raise ValueError(f"pretrain_steps: must be 0 or more (got {self.pretrain_steps})")


@dataclass
class ESRGANOptions(SRGANOptions):
    content: str = "l1"
    # the paper: perceptual (VGG-19) 1 + L1 0.01; with no VGG-19 offline, L1 takes weight 1
    content_weight: float = 1.0
    adversarial_weight: float = 5e-3  # the paper's lambda


@dataclass
class SRResNetOptions:
    ngf: int = 64  # filters of every conv of the trunk
    n_blocks: int = 16  # residual blocks (the paper's B = 16)

    def __post_init__(self) -> None:
        positive("ngf", self.ngf)
        positive("n_blocks", self.n_blocks)


@dataclass
class RRDBNetOptions:
    ngf: int = 64  # filters of the trunk
    n_blocks: int = 23  # residual-in-residual dense blocks (the paper's 23)
    growth: int = 32  # filters each conv of a dense block adds
    beta: float = 0.2  # the residual scaling

    def __post_init__(self) -> None:
        positive("ngf", self.ngf)
        positive("n_blocks", self.n_blocks)
        positive("growth", self.growth)
        if not 0 < self.beta <= 1:
            raise ValueError(f"beta: must be in (0, 1] (got {self.beta})")


@dataclass
class SRGANDiscriminatorOptions:
    ndf: int = 64  # filters of the first pair of convs; they double to 8 x ndf
    hidden: int = 1024  # units of the first dense layer

    def __post_init__(self) -> None:
        positive("ndf", self.ndf)
        positive("hidden", self.hidden)


@dataclass
class ESRGANDiscriminatorOptions(SRGANDiscriminatorOptions):
    hidden: int = 100  # the reference code's


def build_srgan(options: SRGANOptions):
    """SRGAN-MSE: G enlarges source to target; G's loss MSE + 1e-3 x adversarial; D then G"""
    from ganzoo_builtins.superres.game import SuperResolution

    return SuperResolution(options, g_first=False)


def build_esrgan(options: ESRGANOptions):
    """ESRGAN: L1 + 5e-3 x adversarial (use loss 'ragan'); G then D, as its reference code"""
    from ganzoo_builtins.superres.game import SuperResolution

    return SuperResolution(options, g_first=True)


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def check_scale(who: str, image_shape, input_shape) -> None:
    """An input image, enlarged to the output's size by a power of 2 on both sides."""
    if input_shape is None:
        raise GanzooError(f"{who}: enlarges a small image, so it needs a game whose generator "
                          "has an input, such as srgan or esrgan")
    image_shape, input_shape = tuple(image_shape), tuple(input_shape)
    if len(image_shape) != 3 or len(input_shape) != 3:
        raise GanzooError(f"{who}: takes images (C, H, W), not samples of shape "
                          f"{input_shape} -> {image_shape}")
    ratios = {out / small for out, small in zip(image_shape[1:], input_shape[1:], strict=True)}
    scale = ratios.pop() if len(ratios) == 1 else None
    if scale is None or scale < 1 or not scale.is_integer() or int(scale) & (int(scale) - 1):
        raise GanzooError(f"{who}: the output {shape_text(image_shape[1:])} must be the input "
                          f"{shape_text(input_shape[1:])} enlarged by a power of 2 (x2, x4, "
                          "x8) on both sides; set data.factor to a power of 2")


def build_srresnet(options: SRResNetOptions, image_shape, num_classes, input_shape=None):
    """SRResNet (SRGAN's G): 16 residual blocks with BN and PReLU, pixel shuffle x2 per octave"""
    from ganzoo_builtins.superres.networks import SRResNet

    check_scale("generator 'srresnet'", image_shape, input_shape)
    return SRResNet(options, tuple(image_shape), tuple(input_shape))


def build_rrdbnet(options: RRDBNetOptions, image_shape, num_classes, input_shape=None):
    """RRDBNet (ESRGAN's G): 23 residual-in-residual dense blocks, no BN, nearest x2 + conv"""
    from ganzoo_builtins.superres.networks import RRDBNet

    check_scale("generator 'rrdbnet'", image_shape, input_shape)
    return RRDBNet(options, tuple(image_shape), tuple(input_shape))


def square_size(who: str, image_shape) -> int:
    shape = tuple(image_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise GanzooError(f"{who}: takes square images (C, H, H), not samples of shape {shape}")
    return shape[-1]


def build_srgan_vgg(options: SRGANDiscriminatorOptions, image_shape, num_classes):
    """SRGAN's D: 8 3x3 convs 64 -> 512 (stride 1, 2 alternating), BN, LeakyReLU, dense 1024"""
    from ganzoo_builtins.superres.networks import VGGStyleDiscriminator

    if square_size("discriminator 'srgan_vgg'", image_shape) < 16:
        raise GanzooError(f"discriminator 'srgan_vgg': halves the image 4 times, so it needs "
                          f"images of at least 16 pixels (got {image_shape[-1]})")
    return VGGStyleDiscriminator(tuple(image_shape), options.ndf, pairs=4, down_kernel=3,
                                 hidden=options.hidden)


def build_esrgan_vgg(options: ESRGANDiscriminatorOptions, image_shape, num_classes):
    """ESRGAN's D: 3x3 and 4x4 stride-2 conv pairs down to 4x4, BN, LeakyReLU, dense 100"""
    from ganzoo_builtins.superres.networks import VGGStyleDiscriminator

    size = square_size("discriminator 'esrgan_vgg'", image_shape)
    pairs = (size // 4).bit_length() - 1
    if size % 4 or size // 4 != 2 ** pairs or pairs < 1:
        raise GanzooError(f"discriminator 'esrgan_vgg': halves the image down to 4x4, so it "
                          f"needs 4 x a power of 2 pixels (8, 16, ..., 64, 128; got {size})")
    return VGGStyleDiscriminator(tuple(image_shape), options.ndf, pairs=pairs, down_kernel=4,
                                 hidden=options.hidden)


def build_ragan(options: None):
    """relativistic average (ESRGAN's RaGAN): is the real image more realistic than the
    average fake, and the fake less than the average real? Both terms halved"""
    from ganzoo_builtins.superres.losses import RelativisticAverage

    return RelativisticAverage()


@hookimpl
def ganzoo_register_games(register):
    register("srgan", build_srgan, options=SRGANOptions, roles=SR_ROLES)
    register("esrgan", build_esrgan, options=ESRGANOptions, roles=SR_ROLES)


@hookimpl
def ganzoo_register_generators(register):
    register("srresnet", build_srresnet, options=SRResNetOptions)
    register("rrdbnet", build_rrdbnet, options=RRDBNetOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("srgan_vgg", build_srgan_vgg, options=SRGANDiscriminatorOptions)
    register("esrgan_vgg", build_esrgan_vgg, options=ESRGANDiscriminatorOptions)


@hookimpl
def ganzoo_register_losses(register):
    register("ragan", build_ragan)
