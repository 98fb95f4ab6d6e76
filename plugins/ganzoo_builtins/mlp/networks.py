"""The MLP networks; they work for any image shape and for points such as (2,)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.interfaces import Discriminator, DOutput, Generator, is_image_shape
from ganzoo_builtins.blocks import LabelTerms, conditioning_mode, spectral
from ganzoo_builtins.mlp import MLPDiscriminatorOptions, MLPGeneratorOptions


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al., 2013): a linear map to width x pieces values, each
    unit the largest of its pieces (the LinearMaxout of PacGAN's and ALI's toy-data D)."""

    def __init__(self, width_in: int, width: int, pieces: int, sn: bool = False):
        super().__init__()
        self.width, self.pieces = width, pieces
        self.linear = spectral(nn.Linear(width_in, width * pieces), sn)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(*x.shape[:-1], self.width, self.pieces).amax(dim=-1)


def initialise(net: nn.Module, init: str, slope: float) -> None:
    """He's init for the given leaky slope (kaiming) or N(0, 0.02) (normal) on every linear
    layer, biases zero; default keeps PyTorch's."""
    if init == "default":
        return
    for layer in net.modules():
        if isinstance(layer, nn.Linear):
            weight = (layer.parametrizations.weight.original
                      if nn.utils.parametrize.is_parametrized(layer, "weight") else layer.weight)
            if init == "kaiming":
                nn.init.kaiming_normal_(weight, a=slope, nonlinearity="leaky_relu")
            else:
                nn.init.normal_(weight, 0.0, 0.02)
            nn.init.zeros_(layer.bias)


class MLPGenerator(Generator):
    sampling_options = {
        "truncation": "redraw z's Gaussian entries beyond T standard deviations (BigGAN's "
                      "truncation trick): samples nearer the modes, less varied",
    }

    def __init__(self, options: MLPGeneratorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None = None):
        super().__init__()
        self.latent_categories, self.latent_std = options.latent_categories, options.latent_std
        self.latent_dim = options.latent_dim + options.latent_categories
        self.image_shape = tuple(image_shape)
        self.conditional = conditioning_mode(options.conditioning, num_classes,
                                             "generator") == "concat"
        self.num_classes = num_classes
        act = nn.ReLU if options.activation == "relu" else lambda: nn.LeakyReLU(0.2)
        layers: list[nn.Module] = []
        width = self.latent_dim + (num_classes if self.conditional else 0)
        for hidden in options.hidden_dims:
            layers.append(nn.Linear(width, hidden))
            if options.batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(act())
            width = hidden
        layers.append(nn.Linear(width, math.prod(self.image_shape)))
        output = options.output
        if output == "auto":
            output = "tanh" if is_image_shape(self.image_shape) else "linear"
        if output == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        initialise(self.net, options.init, 0.0 if options.activation == "relu" else 0.2)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.conditional:  # cGAN: the one-hot label joins z
            z = torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(Discriminator):
    """LeakyReLU(0.2) (or maxout) hidden layers and a linear head. Conditioning: the one-hot
    label joins the input (concat), a projection term on the last features, or an auxiliary
    class head."""

    def __init__(self, options: MLPDiscriminatorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None = None):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.mode = conditioning_mode(options.conditioning, num_classes, "discriminator")
        self.conditional, self.num_classes = self.mode != "none", num_classes
        sn = options.spectral_norm
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(self.image_shape) + (num_classes if self.mode == "concat" else 0)
        for hidden in options.hidden_dims:
            if options.activation == "maxout":
                layers.append(Maxout(width, hidden, options.maxout_pieces, sn))
            else:
                layers += [spectral(nn.Linear(width, hidden), sn), nn.LeakyReLU(0.2)]
            if options.dropout:
                layers.append(nn.Dropout(options.dropout))
            width = hidden
        layers.append(spectral(nn.Linear(width, 1), sn))
        self.net = nn.Sequential(*layers)
        if self.mode in ("projection", "acgan"):
            self.label_terms = LabelTerms(width, num_classes, self.mode, sn)
        # maxout is piecewise linear: He's gain for slope 1 (linear), else LeakyReLU's 0.2
        initialise(self.net, options.init, 1.0 if options.activation == "maxout" else 0.2)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor | DOutput:
        if self.mode == "concat":
            x = torch.cat([x.flatten(1), F.one_hot(labels, self.num_classes).to(x.dtype)], 1)
        if self.mode in ("none", "concat"):
            return self.net(x).view(-1)
        features = self.net[:-1](x)
        return self.label_terms(self.net[-1](features).view(-1), features, labels)
