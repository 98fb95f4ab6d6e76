"""The super-resolution networks, as SRGAN's paper and ESRGAN's reference code give them.

SRResNet (Ledig et al., 2017, figure 4): a 9x9 conv of 64 filters and PReLU; B residual blocks
of conv-BN-PReLU-conv-BN (3x3, 64 filters) with an identity skip; a 3x3 conv and BN whose output
is added to the first conv's (the long skip); per factor 2 of the scale a 3x3 conv to 256
filters, a pixel shuffle x2 and PReLU; a 9x9 conv to the image's channels, then tanh (the
paper's HR images are in [-1, 1]).

RRDBNet (Wang et al., 2018): a 3x3 conv; B residual-in-residual dense blocks, each three dense
blocks (five 3x3 convs, each fed everything before it, LeakyReLU 0.2 after the first four, the
block's output scaled by beta = 0.2 and added to its input) whose output is again scaled by
beta and added to the RRDB's input; no BatchNorm; a 3x3 conv added to the first conv's output;
per factor 2 a nearest-neighbour x2 upsampling, 3x3 conv and LeakyReLU; a 3x3 conv and LeakyReLU,
then a 3x3 conv to the image's channels, linear. The dense blocks' convs are Kaiming-normal
scaled by 0.1, as the reference code initializes them. The reference clamps the output only
where it saves or measures it; here it is clamped to [-1, 1] in the forward pass (as every
ganzoo image generator's output lies there) with the gradient of the linear output passed
straight through, so training moves the weights as the linear output would.

VGG-style discriminators: pairs of convs (stride 1, then stride 2), widths from 64 doubling to
512, BatchNorm on every conv but the first, LeakyReLU 0.2, then two dense layers. SRGAN's has four
pairs of 3x3 convs and a dense layer of 1024; ESRGAN's reference code uses 4x4 stride-2 convs, a
fifth pair of 512 (the 128-pixel network) and a dense layer of 100: here as many pairs as bring
the image down to 4x4, which is its 128- and 256-pixel networks exactly.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganzoo.interfaces import Discriminator, Generator


def upsampling_stages(input_shape: tuple[int, ...], image_shape: tuple[int, ...]) -> int:
    """log2 of the scale from the input's size to the output's (checked by the builders)."""
    return int(math.log2(image_shape[-1] // input_shape[-1]))


# ---- SRResNet ------------------------------------------------------------------------------

class ResidualBlock(nn.Module):
    """conv-BN-PReLU-conv-BN, added to the input."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
            nn.PReLU(width),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(Generator):
    """SRGAN's generator: (C_in, h, w) -> (C_out, scale h, scale w) in [-1, 1]."""

    latent_dim = 0

    def __init__(self, options, image_shape: tuple[int, ...], input_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape, self.input_shape = image_shape, input_shape
        width = options.ngf
        self.head = nn.Sequential(nn.Conv2d(input_shape[0], width, 9, 1, 4), nn.PReLU(width))
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(options.n_blocks)])
        self.trunk_end = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False),
                                       nn.BatchNorm2d(width))
        up: list[nn.Module] = []
        for _ in range(upsampling_stages(input_shape, image_shape)):
            up += [nn.Conv2d(width, 4 * width, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(width)]
        self.upsample = nn.Sequential(*up)
        self.tail = nn.Sequential(nn.Conv2d(width, image_shape[0], 9, 1, 4), nn.Tanh())

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        features = self.head(images)
        features = features + self.trunk_end(self.blocks(features))  # the long skip
        return self.tail(self.upsample(features))


# ---- RRDBNet -------------------------------------------------------------------------------

class DenseBlock(nn.Module):
    """Five 3x3 convs, each seeing the block's input and every conv's output before it."""

    def __init__(self, width: int, growth: int, beta: float):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(width + i * growth, growth if i < 4 else width, 3, 1, 1) for i in range(5))
        self.act = nn.LeakyReLU(0.2)
        self.beta = beta
        for conv in self.convs:  # the reference code's initialization of the dense blocks
            nn.init.kaiming_normal_(conv.weight)
            conv.weight.data.mul_(0.1)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        seen = [x]
        for conv in self.convs[:-1]:
            seen.append(self.act(conv(torch.cat(seen, dim=1))))
        return x + self.beta * self.convs[-1](torch.cat(seen, dim=1))


class RRDB(nn.Module):
    """Three dense blocks, their output scaled by beta and added to the input."""

    def __init__(self, width: int, growth: int, beta: float):
        super().__init__()
        self.dense = nn.Sequential(*[DenseBlock(width, growth, beta) for _ in range(3)])
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        return x + self.beta * self.dense(x)


def clamp_straight_through(x: Tensor) -> Tensor:
    """``x`` clamped to [-1, 1], its gradient that of ``x`` itself."""
    return x + (x.clamp(-1, 1) - x).detach()


class RRDBNet(Generator):
    """ESRGAN's generator: (C_in, h, w) -> (C_out, scale h, scale w), its linear output
    clamped to [-1, 1] with the gradient passed straight through."""

    latent_dim = 0

    def __init__(self, options, image_shape: tuple[int, ...], input_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape, self.input_shape = image_shape, input_shape
        width, growth, beta = options.ngf, options.growth, options.beta
        self.head = nn.Conv2d(input_shape[0], width, 3, 1, 1)
        self.blocks = nn.Sequential(*[RRDB(width, growth, beta) for _ in range(options.n_blocks)])
        self.trunk_end = nn.Conv2d(width, width, 3, 1, 1)
        up: list[nn.Module] = []
        for _ in range(upsampling_stages(input_shape, image_shape)):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, width, 3, 1, 1),
                   nn.LeakyReLU(0.2)]
        self.upsample = nn.Sequential(*up)
        self.tail = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(width, image_shape[0], 3, 1, 1))

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        features = self.head(images)
        features = features + self.trunk_end(self.blocks(features))
        return clamp_straight_through(self.tail(self.upsample(features)))


# ---- the VGG-style discriminators ----------------------------------------------------------

class VGGStyleDiscriminator(Discriminator):
    """Pairs of convs (stride 1 then 2), BN but on the first, LeakyReLU 0.2, two dense layers:
    the logit that a full-size image is real, (N,)."""

    def __init__(self, image_shape: tuple[int, ...], ndf: int, pairs: int, down_kernel: int,
                 hidden: int):
        super().__init__()
        self.image_shape = image_shape
        layers: list[nn.Module] = []
        into, size = image_shape[0], image_shape[-1]
        for pair in range(pairs):
            width = ndf * min(2 ** pair, 8)
            first = pair == 0
            layers += [nn.Conv2d(into, width, 3, 1, 1, bias=first)]
            layers += [nn.LeakyReLU(0.2)] if first else [nn.BatchNorm2d(width), nn.LeakyReLU(0.2)]
            layers += [nn.Conv2d(width, width, down_kernel, 2, 1, bias=False),
                       nn.BatchNorm2d(width), nn.LeakyReLU(0.2)]
            into, size = width, (size + 2 - down_kernel) // 2 + 1
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(into * size * size, hidden),
                                        nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.classifier(self.features(x)).squeeze(1)
