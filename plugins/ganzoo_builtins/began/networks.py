"""BEGAN's networks, as the paper's Figure 1 and its reference code give them.

Decoder (G, and the second half of D): a fully connected layer from the input (z, or D's
embedding h) to an 8x8 tensor of n channels, h0; then one block per scale, 8, 16, ... up to the
image size, of two 3x3 convolutions with n filters, each followed by an ELU, with a nearest
neighbour upsampling (x2) between blocks; a last 3x3 convolution to the image's channels, with
no activation. With ``skip``, h0 upsampled to each scale joins the upsampled tensor on the
channels (the paper's skip connections).

Encoder (D's first half): a 3x3 convolution with n filters, then one block per scale, from the
image size down to 8x8, of two 3x3 convolutions with k*n filters at the k-th scale (the filters
grow linearly), each followed by an ELU, and between blocks a 3x3 convolution of stride 2 (the
subsampling); a fully connected layer to h. Neither fully connected layer has a non-linearity.
Weights are Xavier-uniform and biases zero, as the reference code's layers initialize.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.interfaces import Discriminator, DOutput, Generator

BASE = 8  # the decoder starts, and the encoder ends, at 8x8


def scales(size: int) -> int:
    """How many scales an image of ``size`` pixels passes: 4 at 64 (64, 32, 16, 8)."""
    return int(math.log2(size // BASE)) + 1


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d | nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


def conv_elu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.ELU()]


class Decoder(nn.Module):
    """(N, in_dim) -> (N, channels, size, size): G, and the decoder of D."""

    def __init__(self, in_dim: int, n: int, channels: int, size: int, skip: bool):
        super().__init__()
        self.n, self.skip = n, skip
        self.fc = nn.Linear(in_dim, BASE * BASE * n)
        widths = [n] + [2 * n if skip else n] * (scales(size) - 1)  # each block's input
        self.blocks = nn.ModuleList(nn.Sequential(*conv_elu(c_in, n), *conv_elu(n, n))
                                    for c_in in widths)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.out = nn.Conv2d(n, channels, 3, 1, 1)

    def forward(self, h: Tensor) -> Tensor:
        h0 = self.fc(h).view(-1, self.n, BASE, BASE)
        x = self.blocks[0](h0)
        for block in self.blocks[1:]:
            x = self.upsample(x)
            if self.skip:
                x = torch.cat([x, F.interpolate(h0, size=x.shape[-2:], mode="nearest")], dim=1)
            x = block(x)
        return self.out(x)


class Encoder(nn.Module):
    """(N, channels, size, size) -> h of (N, hidden_dim)."""

    def __init__(self, channels: int, n: int, size: int, hidden_dim: int):
        super().__init__()
        count = scales(size)
        layers: list[nn.Module] = conv_elu(channels, n)
        width = n
        for k in range(1, count + 1):
            layers += [*conv_elu(width, k * n), *conv_elu(k * n, k * n)]
            width = k * n
            if k < count:
                layers += conv_elu(width, width, stride=2)  # the subsampling
        self.net = nn.Sequential(*layers)
        self.fc = nn.Linear(BASE * BASE * width, hidden_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.net(x).flatten(1))


class BEGANGenerator(Generator):
    """G: z ~ U(-1, 1) of ``latent_dim`` dimensions, as the paper samples it -> the decoder.
    Its output is linear (no tanh), as the reference code's; pictures clamp it to [-1, 1]."""

    def __init__(self, options, image_shape: tuple[int, ...]):
        super().__init__()
        self.latent_dim, self.image_shape = options.latent_dim, tuple(image_shape)
        self.decoder = Decoder(options.latent_dim, options.ngf, image_shape[0], image_shape[-1],
                               options.skip)
        self.apply(init_weights)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.decoder(z)

    def sample_latent(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None) -> Tensor:
        return torch.rand(n, self.latent_dim, device=device, generator=generator) * 2 - 1

    def prior_from_normal(self, z: Tensor) -> Tensor:
        """N(0, I) onto U(-1, 1) through the normal CDF: 2 Phi(z) - 1."""
        return 2 * torch.special.ndtr(z) - 1

    def latent_description(self) -> str:
        return f"z ~ U(-1, 1) of {self.latent_dim} dimensions"


class BEGANDiscriminator(Discriminator):
    """D: an auto-encoder. It returns the per-sample reconstruction error
    L(v) = mean |v - D(v)| as ``extra['error']`` (N,) and the reconstruction as
    ``extra['reconstruction']``; its logits are -L(v), so that, as for any D, higher means
    more like the real data."""

    def __init__(self, options, image_shape: tuple[int, ...]):
        super().__init__()
        channels, size = image_shape[0], image_shape[-1]
        self.image_shape = tuple(image_shape)
        self.encoder = Encoder(channels, options.ndf, size, options.hidden_dim)
        self.decoder = Decoder(options.hidden_dim, options.ndf, channels, size, options.skip)
        self.apply(init_weights)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> DOutput:
        reconstruction = self.decoder(self.encoder(x))
        error = (x.float() - reconstruction.float()).abs().flatten(1).mean(dim=1)
        return DOutput(-error, {"error": error, "reconstruction": reconstruction})
