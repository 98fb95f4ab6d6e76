"""CycleGAN (Zhu et al., 2017): unpaired image-to-image translation with cycle consistency.

Two translators, G_ab: A -> B and G_ba: B -> A (ResNet generators), each against a 70x70
PatchGAN D of the domain it makes, on the least-squares GAN objective; a cycle term (lambda =
10) asks G_ba(G_ab(a)) = a and G_ab(G_ba(b)) = b, an identity term (0.5 x lambda) G_ab(b) = b
and G_ba(a) = a; each D sees real images against a pool of the 50 latest fakes, half of them
swapped for older ones. The settings are the paper's and its reference code's (ngf = ndf = 64,
InstanceNorm, reflection padding, weights from N(0, 0.02), D's objective halved, Adam 2e-4
(0.5, 0.999), the lr constant, then decaying linearly to 0 over the second half: the
``delayed_linear`` schedule).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.errors import GanzooError
from ganzoo.options import positive
from ganzoo.roles import Role

CYCLEGAN_ROLES = {
    "g_ab": Role("generator", "optim_g", field="b", input="a",
                 summary="G_ab: an image of domain a -> one of domain b"),
    "g_ba": Role("generator", "optim_g", field="a", input="b",
                 summary="G_ba: an image of domain b -> one of domain a"),
    "d_a": Role("discriminator", "optim_d", field="a",
                summary="D_a: a real image of domain a or not, per patch"),
    "d_b": Role("discriminator", "optim_d", field="b",
                summary="D_b: a real image of domain b or not, per patch"),
}


@dataclass
class CycleGANOptions:
    cycle_weight: float = 10.0  # lambda of both cycle terms, ||G_ba(G_ab(a)) - a||_1 + ...
    identity_weight: float = 0.5  # the identity terms' weight, times lambda; 0: none
    # each G's adversarial term is this times the recipe's G loss: ganzoo's mse is LSGAN's
    # ½(D(G(x)) - 1)², so 2 gives the paper's (D(G(x)) - 1)²
    adversarial_weight: float = 2.0
    # each D's objective is this times the recipe's D loss: mse's ½(D(y) - 1)² + ½D(G(x))²
    # is already the paper's objective divided by 2, so 1 (0.5 for a loss without the ½)
    d_loss_scale: float = 1.0
    pool_size: int = 50  # earlier fakes kept per D (each new one swapped in, p = 1/2); 0: none

    def __post_init__(self) -> None:
        for name in ("cycle_weight", "identity_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be 0 or more (got {getattr(self, name)})")
        positive("adversarial_weight", self.adversarial_weight)
        positive("d_loss_scale", self.d_loss_scale)
        if self.pool_size < 0:
            raise ValueError(f"pool_size: must be 0 or more (got {self.pool_size})")


@dataclass
class ResnetTranslatorOptions:
    ngf: int = 64  # channels of the first layer; 2 x ngf and 4 x ngf after the downsamplings
    n_blocks: int | None = None  # residual blocks; None: 6 up to 128 pixels, 9 above (paper)

    def __post_init__(self) -> None:
        positive("ngf", self.ngf)
        positive("n_blocks", self.n_blocks, allow_none=True)


def build_cyclegan(options: CycleGANOptions):
    """CycleGAN: G_ab and G_ba on unpaired domains a and b, LSGAN + cycle + identity terms,
    a pool of 50 fakes per D"""
    from ganzoo_builtins.cyclegan.game import CycleGAN

    return CycleGAN(options)


def translator_blocks(options: ResnetTranslatorOptions, size: int) -> int:
    """The residual blocks: as given, else the paper's 6 for up to 128 pixels and 9 above."""
    if options.n_blocks is not None:
        return options.n_blocks
    return 6 if size <= 128 else 9


def build_resnet_translator(options: ResnetTranslatorOptions, image_shape, num_classes,
                            input_shape=None):
    """ResNet translator G (CycleGAN): c7s1-64, two stride-2 convs, residual blocks (6 up to
    128 px, 9 above), two transposed convs, c7s1, tanh; InstanceNorm, reflection padding"""
    from ganzoo_builtins.cyclegan.networks import ResnetTranslator

    image_shape, input_shape = tuple(image_shape), tuple(input_shape or image_shape)
    shown = f"{'x'.join(map(str, input_shape))} -> {'x'.join(map(str, image_shape))}"
    if len(image_shape) != 3 or len(input_shape) != 3:
        raise GanzooError(f"generator 'resnet_translator' takes images (C, H, W), not samples "
                          f"({shown})")
    size = image_shape[1:]
    if input_shape[1:] != size or any(side % 4 or side < 8 for side in size):
        raise GanzooError(f"generator 'resnet_translator': input and output must be one size, "
                          f"each side a multiple of 4 and at least 8 (got {shown}); set the "
                          "data's image_size to such a size, e.g. 64, 128 or 256")
    blocks = translator_blocks(options, max(size))
    return ResnetTranslator(ResnetTranslatorOptions(options.ngf, blocks), image_shape,
                            input_shape)


@hookimpl
def ganzoo_register_games(register):
    register("cyclegan", build_cyclegan, options=CycleGANOptions, roles=CYCLEGAN_ROLES)


@hookimpl
def ganzoo_register_generators(register):
    register("resnet_translator", build_resnet_translator, options=ResnetTranslatorOptions)
