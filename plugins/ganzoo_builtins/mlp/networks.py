"""The MLP networks; they work for any image shape and for points such as (2,)."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganzoo.interfaces import Discriminator, Generator, is_image_shape
from ganzoo_builtins.mlp import MLPDiscriminatorOptions, MLPGeneratorOptions


class MLPGenerator(Generator):
    def __init__(self, options: MLPGeneratorOptions, image_shape: tuple[int, ...]):
        super().__init__()
        self.latent_dim = options.latent_dim
        self.image_shape = tuple(image_shape)
        act = nn.ReLU if options.activation == "relu" else lambda: nn.LeakyReLU(0.2)
        layers: list[nn.Module] = []
        width = options.latent_dim
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

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(Discriminator):
    def __init__(self, options: MLPDiscriminatorOptions, image_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape = tuple(image_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(self.image_shape)
        for hidden in options.hidden_dims:
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            if options.dropout:
                layers.append(nn.Dropout(options.dropout))
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).view(-1)
