"""pix2pix's networks, as the paper's appendix and reference code give them.

U-Net (for a 2^k-pixel image, k blocks down to 1x1): encoder blocks Ck are 4x4 stride-2 convs
with k filters, BatchNorm (none on the first and the innermost) and LeakyReLU(0.2); decoder
blocks are 4x4 stride-2 transposed convs with BatchNorm and ReLU, each fed its mirror's encoder
output beside the block below; dropout 0.5 in the 8 x ngf decoder blocks above the innermost
(three at 256 pixels, as the paper's CD512 x 3; one at 64); tanh out. Filters: ngf,
2ngf, 4ngf, then 8ngf down to the bottleneck (C64-C128-C256-C512-C512-... for 256 pixels).

PatchGAN: C64 (no BatchNorm) - C128 - C256 strided, then C512 and a 1-filter conv at stride 1,
all 4x4 with LeakyReLU(0.2): each output logit sees a 70x70 patch of the input (3 layers).
CycleGAN's has InstanceNorm in place of BatchNorm (norm: instance; without affine parameters,
so those convolutions keep their biases).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganzoo.interfaces import Discriminator, Generator


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions, N(1, 0.02) and 0 for BatchNorm, as pix2pix initializes."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class UNetBlock(nn.Module):
    """One level of the U-Net: down, the inner levels, up; its input beside its output (but at
    the outermost level, which returns the image)."""

    def __init__(self, outer: int, inner: int, into: int, below: UNetBlock | None,
                 outermost: bool = False, dropout: float = 0.0):
        super().__init__()
        down = [nn.Conv2d(into, inner, 4, 2, 1, bias=False)]
        if not outermost:
            down = [nn.LeakyReLU(0.2), *down]
        if below is not None and not outermost:  # the innermost block has no norm down
            down.append(nn.BatchNorm2d(inner))
        width = inner if below is None else 2 * inner  # the level below returns both halves
        up: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(width, outer, 4, 2, 1,
                                                              bias=outermost)]
        up += [nn.Tanh()] if outermost else [nn.BatchNorm2d(outer)]
        if dropout:
            up.append(nn.Dropout(dropout))
        self.down, self.below, self.up = nn.Sequential(*down), below, nn.Sequential(*up)
        self.outermost = outermost

    def forward(self, x: Tensor) -> Tensor:
        y = self.down(x)
        if self.below is not None:
            y = self.below(y)
        y = self.up(y)
        return y if self.outermost else torch.cat([x, y], dim=1)


class UNetGenerator(Generator):
    """The pix2pix U-Net from the input image's (C_in, H, H) to (C_out, H, H)."""

    latent_dim = 0

    def __init__(self, options, image_shape: tuple[int, ...], input_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape, self.input_shape = image_shape, input_shape
        levels = int(math.log2(image_shape[-1]))
        widths = [options.ngf * min(2 ** i, 8) for i in range(levels)]  # outermost first
        block = None
        for level in range(levels - 1, 0, -1):  # innermost first
            # dropout where the reference code has it: the 8 x ngf blocks above the innermost
            # (the decoder's first three, CD512, at 256 pixels; one at 64)
            eight = widths[level] == widths[level - 1] == 8 * options.ngf
            dropout = options.dropout if eight and level < levels - 1 else 0.0
            block = UNetBlock(widths[level - 1], widths[level], widths[level - 1], block,
                              dropout=dropout)
        self.net = UNetBlock(image_shape[0], widths[0], input_shape[0], block, outermost=True)
        self.apply(init_weights)

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(images)


class PatchGANDiscriminator(Discriminator):
    """PatchGAN: a logit for each overlapping patch, returned as (N, P): losses average over
    the patches, as pix2pix's do."""

    def __init__(self, options, image_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape = image_shape
        layers: list[nn.Module] = [nn.Conv2d(image_shape[0], options.ndf, 4, 2, 1),
                                   nn.LeakyReLU(0.2)]
        width, instance = options.ndf, options.norm == "instance"
        norm = nn.InstanceNorm2d if instance else nn.BatchNorm2d
        for n in range(1, options.n_layers + 1):
            wider = options.ndf * min(2 ** n, 8)
            stride = 2 if n < options.n_layers else 1
            layers += [nn.Conv2d(width, wider, 4, stride, 1, bias=instance), norm(wider),
                       nn.LeakyReLU(0.2)]
            width = wider
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).flatten(1)
