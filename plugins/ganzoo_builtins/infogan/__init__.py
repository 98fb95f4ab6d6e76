"""InfoGAN (Chen et al., 2016): a GAN whose G also maximizes the mutual information between
some of its inputs, the codes, and its samples, through a recognition network Q.

G takes 62 noise dimensions, a categorical code of 10 and two continuous codes Uniform(-1, 1);
Q shares D's body and returns the codes' posterior: softmax logits for the categorical code
and, for the continuous ones, the means of a factored Gaussian (fixed unit variance, as the
reference code's MNIST set-up; ``continuous_std: learned`` adds a log-std per code, as the
paper's text). The game adds lambda x the information term (the categorical code's
cross-entropy, the continuous codes' Gaussian negative log-likelihood, on G's fakes) to both
D's and G's objectives: Q trains with D's optimizer, as in the reference code. The networks
are those of the paper's MNIST appendix; weights from N(0, 0.02), BatchNorm gamma N(1, 0.02).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.errors import GanzooError
from ganzoo.options import one_of, positive
from ganzoo.roles import Role

INFOGAN_ROLES = {
    "generator": Role("generator", "optim_g", "x",
                      summary="G: noise and codes -> a sample"),
    "discriminator": Role("discriminator", "optim_d", "x",
                          summary="D with Q on its body: a sample -> the logit that it is real "
                                  "and the codes' posterior"),
}


def check_codes(categorical: int, continuous: int) -> None:
    """At least one code; a categorical code has 2 categories or more (0: none)."""
    if categorical < 0 or categorical == 1:
        raise ValueError(f"categorical: must be 0 (no categorical code) or at least 2 "
                         f"categories (got {categorical})")
    if continuous < 0:
        raise ValueError(f"continuous: must be 0 or more continuous codes (got {continuous})")
    if not categorical and not continuous:
        raise ValueError("categorical: InfoGAN needs at least one code (got categorical 0 and "
                         "continuous 0); set categorical (e.g. 10) or continuous (e.g. 2)")


@dataclass
class InfoGANOptions:
    categorical_weight: float = 1.0  # lambda of the categorical code's term
    continuous_weight: float = 1.0  # lambda of the continuous codes' term (reference code: 1)

    def __post_init__(self) -> None:
        for name in ("categorical_weight", "continuous_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be 0 or more (got {getattr(self, name)})")


@dataclass
class InfoGANGeneratorOptions:
    noise_dim: int = 62  # incompressible noise, Uniform(-1, 1) as the reference code draws it
    categorical: int = 10  # categories of the one categorical code; 0: none
    continuous: int = 2  # continuous codes, each Uniform(-1, 1)

    def __post_init__(self) -> None:
        positive("noise_dim", self.noise_dim)
        check_codes(self.categorical, self.continuous)


@dataclass
class InfoGANDiscriminatorOptions:
    categorical: int = 10  # the generator's code sizes: Q's head is sized for them
    continuous: int = 2
    continuous_std: str = "fixed"  # fixed (unit, the reference's MNIST) | learned (exp of Q)

    def __post_init__(self) -> None:
        check_codes(self.categorical, self.continuous)
        one_of("continuous_std", self.continuous_std, ("fixed", "learned"))


def build_infogan(options: InfoGANOptions):
    """InfoGAN: the GAN game plus lambda x Q's code likelihood on G's fakes, for D/Q and G"""
    from ganzoo_builtins.infogan.game import InfoGAN

    return InfoGAN(options)


def square_divisible_by_4(what: str, image_shape: tuple[int, ...]) -> None:
    if len(image_shape) != 3 or image_shape[1] != image_shape[2] or image_shape[1] % 4:
        raise GanzooError(f"{what} takes square images whose size is a multiple of 4 (MNIST's "
                          f"28), not samples of shape {'x'.join(map(str, image_shape))}")


def build_generator(options: InfoGANGeneratorOptions, image_shape, num_classes):
    """InfoGAN G (MNIST): FC 1024, FC (H/4)^2 x 128, two 4x4 up-convs (64, then C), tanh"""
    from ganzoo_builtins.infogan.networks import InfoGANGenerator

    square_divisible_by_4("generator 'infogan'", tuple(image_shape))
    return InfoGANGenerator(options, tuple(image_shape))


def build_discriminator(options: InfoGANDiscriminatorOptions, image_shape, num_classes):
    """InfoGAN D and Q (MNIST): 4x4 convs 64 and 128, FC 1024 -> a logit; Q: FC 128 -> codes"""
    from ganzoo_builtins.infogan.networks import InfoGANDiscriminator

    square_divisible_by_4("discriminator 'infogan'", tuple(image_shape))
    return InfoGANDiscriminator(options, tuple(image_shape))


def build_code_accuracy(options: None):
    """InfoGAN on digits: accuracy of the best one-to-one map of G's categories to digits"""
    from ganzoo_builtins.infogan.measures import CodeAccuracy

    return CodeAccuracy()


@hookimpl
def ganzoo_register_games(register):
    register("infogan", build_infogan, options=InfoGANOptions, roles=INFOGAN_ROLES)


@hookimpl
def ganzoo_register_generators(register):
    register("infogan", build_generator, options=InfoGANGeneratorOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("infogan", build_discriminator, options=InfoGANDiscriminatorOptions)


@hookimpl
def ganzoo_register_metrics(register):
    register("code_accuracy", build_code_accuracy)
