"""The SNGAN / WGAN-GP ResNet networks at 32, 64 and 128 pixels.

G: a linear layer to 4x4, then one up-block per doubling:
   BN -> ReLU -> upsample x2 (nearest) -> conv3x3 -> BN -> ReLU -> conv3x3,
   shortcut: upsample x2 -> conv1x1; then BN -> ReLU -> conv3x3 -> tanh.
D: an optimized first block (conv3x3 -> ReLU -> conv3x3 -> avgpool; shortcut avgpool -> conv1x1),
   down-blocks ReLU -> conv3x3 -> ReLU -> conv3x3 -> avgpool (shortcut conv1x1 -> avgpool);
   at 32x32 two more blocks without pooling (SNGAN's CIFAR D ends at 8x8); then ReLU, the sum
   over positions, and a linear head.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Discriminator, DOutput, Generator
from ganzoo_builtins.blocks import (
    ConditionalBatchNorm2d,
    LabelTerms,
    SelfAttention,
    conditioning_mode,
    label_maps,
    spectral,
)
from ganzoo_builtins.resnet import SIZES, ResNetDiscriminatorOptions, ResNetGeneratorOptions


def check_size(image_shape: tuple[int, ...], who: str) -> int:
    if len(image_shape) != 3 or image_shape[1] != image_shape[2] or image_shape[1] not in SIZES:
        raise GanzooError(f"{who}: resnet takes square images of "
                          f"{', '.join(map(str, SIZES))} pixels, not samples of shape "
                          f"{tuple(image_shape)}; set data.image_size")
    return image_shape[1]


def init_xavier(module: nn.Module) -> None:
    """SNGAN's initialisation: Xavier uniform, gain sqrt(2) for the 3x3 convolutions and 1 for
    the 1x1 shortcuts and linear layers (on the raw weight, under spectral norm)."""
    if isinstance(module, nn.Conv2d | nn.Linear):
        weight = (module.parametrizations.weight.original
                  if nn.utils.parametrize.is_parametrized(module, "weight") else module.weight)
        wide = isinstance(module, nn.Conv2d) and module.kernel_size[0] > 1
        nn.init.xavier_uniform_(weight, gain=math.sqrt(2) if wide else 1.0)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, num_classes: int | None, sn: bool):
        super().__init__()
        self.bn1 = ConditionalBatchNorm2d(c_in, num_classes)
        self.conv1 = spectral(nn.Conv2d(c_in, c_out, 3, 1, 1), sn)
        self.bn2 = ConditionalBatchNorm2d(c_out, num_classes)
        self.conv2 = spectral(nn.Conv2d(c_out, c_out, 3, 1, 1), sn)
        self.shortcut = spectral(nn.Conv2d(c_in, c_out, 1), sn)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.conv1(self.up(F.relu(self.bn1(x, labels))))
        h = self.conv2(F.relu(self.bn2(h, labels)))
        return h + self.shortcut(self.up(x))


class DownBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, down: bool, first: bool, sn: bool):
        super().__init__()
        self.first, self.down = first, down
        self.conv1 = spectral(nn.Conv2d(c_in, c_out, 3, 1, 1), sn)
        self.conv2 = spectral(nn.Conv2d(c_out, c_out, 3, 1, 1), sn)
        self.shortcut = (spectral(nn.Conv2d(c_in, c_out, 1), sn)
                         if c_in != c_out or down else nn.Identity())
        self.pool = nn.AvgPool2d(2) if down else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(x)  # the optimized first block sees the raw image
        h = self.pool(self.conv2(F.relu(self.conv1(h))))
        if self.first:  # pool first, then the 1x1 conv: cheaper on the full-size image
            return h + self.shortcut(self.pool(x))
        return h + self.pool(self.shortcut(x))


class ResNetGenerator(Generator):
    def __init__(self, options: ResNetGeneratorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None):
        super().__init__()
        size = check_size(image_shape, "generator")
        self.latent_dim, self.image_shape = options.latent_dim, tuple(image_shape)
        self.mode = conditioning_mode(options.conditioning, num_classes, "generator")
        self.conditional, self.num_classes = self.mode != "none", num_classes
        sn = options.spectral_norm
        doublings = int(math.log2(size // 4))
        widths = [options.ngf] * (doublings + 1) if size == 32 else \
            [max(8, options.ngf // 2 ** i) for i in range(doublings + 1)]
        z_in = options.latent_dim
        if self.mode == "concat":
            self.embed = nn.Embedding(num_classes, options.latent_dim)
            z_in += options.latent_dim
        self.linear = spectral(nn.Linear(z_in, 4 * 4 * widths[0]), sn)
        cbn_classes = num_classes if self.mode == "cbn" else None
        self.blocks = nn.ModuleList(UpBlock(a, b, cbn_classes, sn)
                                    for a, b in zip(widths, widths[1:], strict=False))
        self.attention_after = self.blocks_to(options.attention, size) if options.attention else -1
        if options.attention:
            self.attention = SelfAttention(widths[self.attention_after], sn)
        self.bn = nn.BatchNorm2d(widths[-1])
        self.out = spectral(nn.Conv2d(widths[-1], image_shape[0], 3, 1, 1), sn)
        self.width0 = widths[0]
        self.apply(init_xavier)

    @staticmethod
    def blocks_to(resolution: int, size: int) -> int:
        """How many up-blocks it takes from 4x4 to ``resolution``."""
        if resolution not in [4 * 2 ** i for i in range(1, int(math.log2(size // 4)) + 1)]:
            raise GanzooError(f"generator.attention: {resolution} is not a size G passes through "
                              f"(8 to {size}); 0 turns attention off")
        return int(math.log2(resolution // 4))

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.mode == "concat":
            z = torch.cat([z, self.embed(labels)], dim=1)
        h = self.linear(z).view(z.shape[0], self.width0, 4, 4)
        for i, block in enumerate(self.blocks, 1):
            h = block(h, labels)
            if i == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.out(F.relu(self.bn(h))))


class ResNetDiscriminator(Discriminator):
    def __init__(self, options: ResNetDiscriminatorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None):
        super().__init__()
        size = check_size(image_shape, "discriminator")
        self.image_shape = tuple(image_shape)
        self.mode = conditioning_mode(options.conditioning, num_classes, "discriminator")
        self.conditional, self.num_classes = self.mode != "none", num_classes
        sn = options.spectral_norm
        if size == 32:  # SNGAN CIFAR: 32 -> 16 -> 8, then two blocks at 8x8, all ndf wide
            plan = [(options.ndf, True)] * 2 + [(options.ndf, False)] * 2
        else:  # 64 -> ... -> 4, doubling to ndf
            downs = int(math.log2(size // 4))
            plan = [(max(8, options.ndf // 2 ** (downs - 1 - i)), True) for i in range(downs)]
        c_in = image_shape[0] + (num_classes if self.mode == "concat" else 0)
        blocks, sizes, resolution = [], [], size
        for i, (width, down) in enumerate(plan):
            blocks.append(DownBlock(c_in, width, down, first=i == 0, sn=sn))
            resolution //= 2 if down else 1
            sizes.append(resolution)
            c_in = width
        self.blocks = nn.ModuleList(blocks)
        self.attention_after = -1
        if options.attention:
            if options.attention not in sizes:
                raise GanzooError(f"discriminator.attention: {options.attention} is not a size D "
                                  f"passes through ({', '.join(map(str, sorted(set(sizes))))})")
            self.attention_after = sizes.index(options.attention) + 1
            width = plan[self.attention_after - 1][0]
            self.attention = SelfAttention(width, sn)
        self.linear = spectral(nn.Linear(c_in, 1), sn)
        self.label_terms = LabelTerms(c_in, num_classes, self.mode, sn)
        self.apply(init_xavier)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor | DOutput:
        h = label_maps(x, labels, self.num_classes) if self.mode == "concat" else x
        for i, block in enumerate(self.blocks, 1):
            h = block(h)
            if i == self.attention_after:
                h = self.attention(h)
        h = F.relu(h).sum(dim=(2, 3))  # global sum pooling
        return self.label_terms(self.linear(h).view(-1), h, labels)
