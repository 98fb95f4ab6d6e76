"""The testkit's games and what they play with, registered through the public hooks: a plugin
of its own (entry point ``testkit_games``), cheap to import; the parts are in ``games``."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.errors import GanzooError
from ganzoo.options import positive
from ganzoo.roles import Role

CYCLE_ROLES = {
    "g_ab": Role("generator", "optim_g", field="b", input="a", summary="A -> B"),
    "g_ba": Role("generator", "optim_g", field="a", input="b", summary="B -> A"),
    "d_a": Role("discriminator", "optim_d", field="a", summary="real A or not"),
    "d_b": Role("discriminator", "optim_d", field="b", summary="real B or not"),
}
PAIRED_ROLES = {
    "generator": Role("generator", "optim_g", field="target", input="source", paired=True,
                      summary="G: a grayscale image -> its colours"),
    "discriminator": Role("discriminator", "optim_d", field=("source", "target"),
                          summary="D: the input beside an output -> real or not"),
}


@dataclass
class CycleOptions:
    cycle_weight: float = 10.0
    pool_size: int = 16  # earlier fakes kept per D; 0: none


@dataclass
class PairedOptions:
    l1_weight: float = 100.0


@dataclass
class NetOptions:
    hidden: int = 8


@dataclass
class SizeOptions:
    size: int = 64

    def __post_init__(self) -> None:
        positive("size", self.size)


def build_cycle(options: CycleOptions):
    """two translators and two Ds on unpaired domains, a pool of fakes per D, a cycle term"""
    from ganzoo_testkit.games import KitCycle

    return KitCycle(options.cycle_weight, options.pool_size)


def build_paired(options: PairedOptions):
    """G translates source to target; D scores the input beside the output; GAN + L1"""
    from ganzoo_testkit.games import KitPaired

    return KitPaired(options.l1_weight)


def images_only(what: str, *shapes) -> None:
    for shape in shapes:
        if len(shape) != 3:
            raise GanzooError(f"{what} takes images (C, H, W), not samples of shape {shape}")


def build_translator(options: NetOptions, image_shape, num_classes, input_shape=None):
    """a tiny image-to-image G: two 3x3 convolutions"""
    from ganzoo_testkit.games import Translator

    images_only("kit_translator", image_shape, input_shape or image_shape)
    return Translator(image_shape, input_shape or image_shape, options.hidden)


def build_patch(options: NetOptions, image_shape, num_classes):
    """a tiny convolutional D averaging its patch logits"""
    from ganzoo_testkit.games import PatchD

    images_only("kit_patch", image_shape)
    return PatchD(image_shape, options.hidden)


def build_two_domains(options: SizeOptions):
    """unpaired 1x8x8 squares (a) and negatives (b)"""
    from ganzoo_testkit.games import TwoDomains

    return TwoDomains(options.size)


def build_gray_colour(options: SizeOptions):
    """paired 1x8x8 luminance (source) and 3x8x8 colour (target) squares"""
    from ganzoo_testkit.games import GrayToColour

    return GrayToColour(options.size)


def _fields(**shapes):
    from ganzoo.interfaces import Field

    return {name: Field(shape) for name, shape in shapes.items()}


@hookimpl
def ganzoo_register_games(register):
    register("kit_cycle", build_cycle, options=CycleOptions, roles=CYCLE_ROLES)
    register("kit_paired", build_paired, options=PairedOptions, roles=PAIRED_ROLES)


@hookimpl
def ganzoo_register_generators(register):
    register("kit_translator", build_translator, options=NetOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("kit_patch", build_patch, options=NetOptions)


@hookimpl
def ganzoo_register_datasets(register):
    register("kit_two_domains", build_two_domains, options=SizeOptions,
             fields=lambda o: _fields(a=(1, 8, 8), b=(1, 8, 8)), sample_shape=lambda o: (1, 8, 8))
    register("kit_gray_colour", build_gray_colour, options=SizeOptions,
             fields=lambda o: _fields(source=(1, 8, 8), target=(3, 8, 8)),
             sample_shape=lambda o: (3, 8, 8))
