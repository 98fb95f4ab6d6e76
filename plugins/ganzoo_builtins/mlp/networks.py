"""The MLP networks; they work for any image shape and for points such as (2,)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.interfaces import Discriminator, DOutput, Generator, is_image_shape
from ganzoo_builtins.blocks import LabelTerms, conditioning_mode, spectral
from ganzoo_builtins.mlp import MLPDiscriminatorOptions, MLPGeneratorOptions


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
        if options.init == "kaiming":
            slope = 0.0 if options.activation == "relu" else 0.2
            for layer in self.net:
                if isinstance(layer, nn.Linear):
                    nn.init.kaiming_normal_(layer.weight, a=slope, nonlinearity="leaky_relu")
                    nn.init.zeros_(layer.bias)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.conditional:  # cGAN: the one-hot label joins z
            z = torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(Discriminator):
    """LeakyReLU(0.2) hidden layers and a linear head. Conditioning: the one-hot label joins
    the input (concat), a projection term on the last features, or an auxiliary class head."""

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
            layers += [spectral(nn.Linear(width, hidden), sn), nn.LeakyReLU(0.2)]
            if options.dropout:
                layers.append(nn.Dropout(options.dropout))
            width = hidden
        layers.append(spectral(nn.Linear(width, 1), sn))
        self.net = nn.Sequential(*layers)
        if self.mode in ("projection", "acgan"):
            self.label_terms = LabelTerms(width, num_classes, self.mode, sn)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor | DOutput:
        if self.mode == "concat":
            x = torch.cat([x.flatten(1), F.one_hot(labels, self.num_classes).to(x.dtype)], 1)
        if self.mode in ("none", "concat"):
            return self.net(x).view(-1)
        features = self.net[:-1](x)
        return self.label_terms(self.net[-1](features).view(-1), features, labels)
