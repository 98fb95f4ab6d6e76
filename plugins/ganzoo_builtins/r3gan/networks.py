"""R3GAN's G and D (Huang et al., 2024, Section 4, config E), written from the paper.

G: z -> a learned 4x4 basis, each channel scaled by a linear map of z -> per stage: (a 1x1
   transition conv where the width changes, bilinear 2x upsampling), then ``blocks`` residual
   blocks -> 1x1 conv to the image's channels.
D: 1x1 conv from the image -> per stage: ``blocks`` residual blocks, then (low-pass 2x
   downsampling, a 1x1 transition conv where the width changes); at 4x4 a depthwise 4x4 conv
   (the basis) and a linear layer to the logit.
A residual block: x + conv1x1(act(grouped conv3x3(act(conv1x1(x))))), the middle expanded by
``expansion``; act is leaky ReLU 0.2 after a learned per-channel bias; convs have no bias and
there is no normalization. Init (the paper's fix-up variant): weights N(0, gain^2 / fan_in); in
each block the first two convs get gain sqrt(2 / (1 + 0.2^2)) * L^(-1/(2m - 2)) = ... L^(-1/4)
(L blocks in the network, m = 3 convs per branch) and the last conv is zero, so a fresh block
is the identity; every other layer has gain 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo_builtins.blocks import LowpassDownsample as Downsample
from ganzoo_builtins.blocks import conditioning_mode, lowpass_kernel
from ganzoo_builtins.r3gan import R3GANDiscriminatorOptions, R3GANGeneratorOptions

SLOPE = 0.2
LEAKY_GAIN = math.sqrt(2 / (1 + SLOPE**2))  # He's gain for leaky ReLU 0.2
CONVS_PER_BRANCH = 3


def check_size(image_shape: tuple[int, ...], who: str) -> int:
    """The side of square images of 4 x 2^k pixels (k >= 1), or one line saying what is wrong."""
    size = image_shape[-1] if len(image_shape) == 3 else 0
    if len(image_shape) != 3 or image_shape[1] != size or size < 8 or size & (size - 1):
        raise GanzooError(f"{who}: r3gan takes square images of 4 x 2^k pixels (8, 16, 32, 64, "
                          f"...), not samples of shape {tuple(image_shape)}; set data.image_size")
    return size


def stage_widths(width: int, size: int) -> list[int]:
    """The width at 4, 8, ..., size pixels: ``width`` up to 32, halving per doubling above (the
    reference presets' widths, e.g. FFHQ-256: 768 x 4, 384, 192, 96)."""
    resolutions = [4 * 2**i for i in range(int(math.log2(size // 4)) + 1)]
    return [max(1, width // max(1, r // 32)) for r in resolutions]


def cardinality(channels: int, group_size: int) -> int:
    """Groups of the 3x3 conv: channels / group_size, or the nearest smaller count that divides
    the channels (1 for networks narrower than a group)."""
    groups = max(1, channels // group_size)
    while channels % groups:
        groups -= 1
    return groups


def msr_init(layer: nn.Module, gain: float) -> nn.Module:
    """Weights N(0, gain^2 / fan_in) ('MSR', He et al.'s init), biases (where any) zero."""
    with torch.no_grad():
        fan_in = layer.weight[0].numel()
        if gain:
            layer.weight.normal_(0, gain / math.sqrt(fan_in))
        else:
            layer.weight.zero_()
        if getattr(layer, "bias", None) is not None:
            layer.bias.zero_()
    return layer


def conv(c_in: int, c_out: int, kernel: int = 1, groups: int = 1, gain: float = 1.0) -> nn.Conv2d:
    return msr_init(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups,
                              bias=False), gain)


class BiasedLeakyReLU(nn.Module):
    """leaky_relu(x + b, 0.2) with a learned bias per channel: the convs have none."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), SLOPE)


class ResidualBlock(nn.Module):
    """The inverted bottleneck: 1x1 (widen by ``expansion``) -> grouped 3x3 -> 1x1 back."""

    def __init__(self, channels: int, expansion: int, group_size: int, total_blocks: int):
        super().__init__()
        wide = channels * expansion
        gain = LEAKY_GAIN * total_blocks ** (-1 / (2 * CONVS_PER_BRANCH - 2))
        self.expand = conv(channels, wide, 1, gain=gain)
        self.act1 = BiasedLeakyReLU(wide)
        self.grouped = conv(wide, wide, 3, groups=cardinality(wide, group_size), gain=gain)
        self.act2 = BiasedLeakyReLU(wide)
        self.project = conv(wide, channels, 1, gain=0.0)  # zero: a fresh block is the identity

    def forward(self, x: Tensor) -> Tensor:
        return x + self.project(self.act2(self.grouped(self.act1(self.expand(x)))))


class Upsample(nn.Module):
    """Bilinear 2x upsampling: zeros between samples filtered by 4 x the low-pass kernel."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("kernel", 4 * lowpass_kernel().repeat(channels, 1, 1, 1),
                             persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.kernel.to(x.dtype), stride=2, padding=1,
                                  groups=x.shape[1])


def blocks_of(width: int, count: int, options, total: int) -> list[nn.Module]:
    return [ResidualBlock(width, options.expansion, options.group_size, total)
            for _ in range(count)]


class R3GANGenerator(Generator):
    def __init__(self, options: R3GANGeneratorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None):
        super().__init__()
        size = check_size(image_shape, "generator")
        self.latent_dim, self.image_shape = options.latent_dim, tuple(image_shape)
        self.mode = conditioning_mode(options.conditioning, num_classes, "generator")
        self.conditional, self.num_classes = self.mode != "none", num_classes
        widths = stage_widths(options.ngf, size)
        total = options.blocks * len(widths)
        z_in = options.latent_dim
        if self.conditional:  # a linear map of the one-hot class, joined to z
            self.embed = nn.Embedding(num_classes, options.latent_dim)
            nn.init.normal_(self.embed.weight, 0, 1 / math.sqrt(num_classes))
            z_in += options.latent_dim
        self.basis = nn.Parameter(torch.randn(widths[0], 4, 4))
        self.modulation = msr_init(nn.Linear(z_in, widths[0], bias=False), 1.0)
        stages = [nn.Sequential(*blocks_of(widths[0], options.blocks, options, total))]
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            transition = [conv(c_in, c_out)] if c_in != c_out else []
            stages.append(nn.Sequential(*transition, Upsample(c_out),
                                        *blocks_of(c_out, options.blocks, options, total)))
        self.stages = nn.ModuleList(stages)
        self.to_image = conv(widths[-1], image_shape[0])
        self.output = options.output

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.conditional:
            z = torch.cat([z, self.embed(labels)], dim=1)
        h = self.basis.unsqueeze(0) * self.modulation(z)[:, :, None, None]
        for stage in self.stages:
            h = stage(h)
        out = self.to_image(h)
        return torch.tanh(out) if self.output == "tanh" else out


class R3GANDiscriminator(Discriminator):
    def __init__(self, options: R3GANDiscriminatorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None):
        super().__init__()
        size = check_size(image_shape, "discriminator")
        self.image_shape = tuple(image_shape)
        self.mode = conditioning_mode(options.conditioning, num_classes, "discriminator")
        self.conditional, self.num_classes = self.mode != "none", num_classes
        widths = stage_widths(options.ndf, size)[::-1]  # size -> 4
        total = options.blocks * len(widths)
        self.from_image = conv(image_shape[0], widths[0])
        stages = []
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            transition = [conv(c_in, c_out)] if c_in != c_out else []
            stages.append(nn.Sequential(*blocks_of(c_in, options.blocks, options, total),
                                        Downsample(c_in), *transition))
        last = widths[-1]
        stages.append(nn.Sequential(*blocks_of(last, options.blocks, options, total)))
        self.stages = nn.ModuleList(stages)
        # the basis: a depthwise 4x4 conv, one value per channel from the 4x4 features
        self.basis = msr_init(nn.Conv2d(last, last, 4, groups=last, bias=False), 1.0)
        # the logit, or (projection) features to project onto the class embedding
        self.linear = msr_init(nn.Linear(last, last if self.conditional else 1, bias=False), 1.0)
        if self.conditional:
            self.embed = nn.Embedding(num_classes, last)
            nn.init.normal_(self.embed.weight, 0, 1 / math.sqrt(last * num_classes))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.from_image(x)
        for stage in self.stages:
            h = stage(h)
        out = self.linear(self.basis(h).flatten(1))
        if self.conditional:
            return (out * self.embed(labels)).sum(dim=1)
        return out.view(-1)
