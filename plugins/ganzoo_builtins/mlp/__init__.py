"""The vanilla GAN of Goodfellow et al. (2014): fully connected G and D."""

from __future__ import annotations

from dataclasses import dataclass, field

from ganzoo import hookimpl
from ganzoo.options import one_of, positive, positive_list

#: weight initialisations of the MLP networks
INITS = ("default", "kaiming", "normal")


@dataclass
class MLPGeneratorOptions:
    latent_dim: int = 100
    hidden_dims: list[int] = field(default_factory=lambda: [256, 512, 1024])
    activation: str = "relu"  # relu | leaky_relu
    batch_norm: bool = False
    conditioning: str = "none"  # none | concat: a label embedding joins z (cGAN, Mirza 2014)
    output: str = "auto"  # auto: tanh for images, linear for points | tanh | linear
    # ClusterGAN's prior (Mukherjee et al., 2019): a one-hot code of this many categories joins
    # z, whose Gaussian part has std latent_std. 0: z ~ N(0, I) alone.
    latent_categories: int = 0
    latent_std: float = 1.0
    # default: PyTorch's | kaiming: He et al. (2015), normal with the ReLU gain, zero biases.
    # Without BatchNorm, PyTorch's default shrinks the signal layer by layer; He's keeps it.
    # normal: weights N(0, 0.02), zero biases (PacGAN's and ALI's toy-data networks).
    init: str = "default"

    def __post_init__(self) -> None:
        positive("latent_dim", self.latent_dim)
        one_of("init", self.init, INITS)
        if self.latent_categories < 0:
            raise ValueError(f"latent_categories: must be 0 (none) or more "
                             f"(got {self.latent_categories!r})")
        positive("latent_std", self.latent_std)
        positive_list("hidden_dims", self.hidden_dims)
        one_of("activation", self.activation, ("relu", "leaky_relu"))
        one_of("output", self.output, ("auto", "tanh", "linear"))
        one_of("conditioning", self.conditioning, ("none", "concat"))


@dataclass
class MLPDiscriminatorOptions:
    hidden_dims: list[int] = field(default_factory=lambda: [512, 256])
    dropout: float = 0.0
    conditioning: str = "none"  # none | concat (one-hot label joins x) | projection | acgan
    spectral_norm: bool = False
    # leaky_relu: LeakyReLU(0.2) | maxout: each hidden unit the max of maxout_pieces linear
    # pieces (Goodfellow et al., 2013), as PacGAN's and ALI's toy-data discriminators
    activation: str = "leaky_relu"
    maxout_pieces: int = 5  # linear pieces per maxout unit
    init: str = "default"  # default: PyTorch's | kaiming | normal: N(0, 0.02), zero biases

    def __post_init__(self) -> None:
        positive_list("hidden_dims", self.hidden_dims)
        one_of("activation", self.activation, ("leaky_relu", "maxout"))
        positive("maxout_pieces", self.maxout_pieces)
        one_of("init", self.init, INITS)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: must be in [0, 1) (got {self.dropout!r})")
        one_of("conditioning", self.conditioning, ("none", "concat", "projection", "acgan"))


def build_generator(
        options: MLPGeneratorOptions, image_shape: tuple[int, ...],
        num_classes: int | None):
    """Fully connected G: z -> hidden layers -> tanh image (linear output for points)."""
    from ganzoo_builtins.mlp.networks import MLPGenerator

    return MLPGenerator(options, image_shape, num_classes)


def build_discriminator(
        options: MLPDiscriminatorOptions, image_shape: tuple[int, ...],
        num_classes: int | None):
    """Fully connected D: flattened sample -> LeakyReLU(0.2) (or maxout) hidden layers -> one
    logit."""
    from ganzoo_builtins.mlp.networks import MLPDiscriminator

    return MLPDiscriminator(options, image_shape, num_classes)


@hookimpl
def ganzoo_register_generators(register):
    register("mlp", build_generator, options=MLPGeneratorOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("mlp", build_discriminator, options=MLPDiscriminatorOptions)
