"""The DCGAN networks at 28, 32, 64 and 128 pixels.

G starts from a base of 4x4 (7x7 for MNIST's 28) made by a transposed convolution of the 1x1
latent, then doubles the size with 4/2/1 transposed convolutions, H_out = (H_in-1)*2 - 2*1 + 4,
halving the channels each time: 4 -> 8 -> 16 -> 32 -> 64. D mirrors it with 4/2/1 convolutions,
H_out = floor((H_in + 2*1 - 4)/2) + 1, and a last convolution the size of the base.
BatchNorm everywhere except G's output and D's input; ReLU and tanh in G, LeakyReLU(0.2) in D;
weights from N(0, 0.02).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Discriminator, DOutput, Generator, is_image_shape
from ganzoo_builtins.blocks import LabelTerms, conditioning_mode, label_maps, spectral
from ganzoo_builtins.dcgan import DCGANDiscriminatorOptions, DCGANGeneratorOptions

#: image size -> (base size, number of doublings)
RESOLUTIONS = {28: (7, 2), 32: (4, 3), 64: (4, 4), 128: (4, 5)}


def resolution(image_shape: tuple[int, ...], who: str) -> tuple[int, int]:
    """(base, doublings) for a square image shape, or a clear error naming what fits."""
    sizes = ", ".join(str(s) for s in RESOLUTIONS)
    if not is_image_shape(image_shape) or image_shape[1] != image_shape[2]:
        raise GanzooError(f"{who}: dcgan takes square images (C, H, H), not samples of shape "
                          f"{tuple(image_shape)}; use an image dataset with image_size in {sizes}")
    size = image_shape[1]
    if size not in RESOLUTIONS:
        raise GanzooError(f"{who}: dcgan cannot take {size}x{size} images; it supports {sizes}. "
                          f"Set data.image_size to one of them.")
    return RESOLUTIONS[size]


def init_weights(module: nn.Module) -> None:
    """DCGAN's initialisation: conv weights N(0, 0.02); BatchNorm scale N(1, 0.02), shift 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        parametrized = nn.utils.parametrize.is_parametrized(module, "weight")
        nn.init.normal_(module.parametrizations.weight.original if parametrized
                        else module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def upsample_block(c_in: int, c_out: int, mode: str) -> list[nn.Module]:
    """Double the size: a 4/2/1 transposed conv, or nearest-neighbour x2 then a 3x3 conv."""
    if mode == "transposed":
        return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]
    return [nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)]


class DCGANGenerator(Generator):
    def __init__(self, options: DCGANGeneratorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None = None):
        super().__init__()
        base, doublings = resolution(image_shape, "generator")
        self.latent_dim, self.image_shape = options.latent_dim, tuple(image_shape)
        self.conditional = conditioning_mode(options.conditioning, num_classes,
                                             "generator") == "concat"
        self.num_classes = num_classes
        z_in = options.latent_dim + (num_classes if self.conditional else 0)
        widths = [options.ngf * 2 ** i for i in reversed(range(doublings))]  # e.g. 8,4,2,1 x ngf
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_in, widths[0], base, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(True),
        ]
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            layers += [*upsample_block(c_in, c_out, options.upsample), nn.BatchNorm2d(c_out),
                       nn.ReLU(True)]
        layers += [*upsample_block(widths[-1], image_shape[0], options.upsample), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.conditional:  # cGAN: the one-hot label joins z
            z = torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z.view(z.shape[0], z.shape[1], 1, 1))


class DCGANDiscriminator(Discriminator):
    """With ``spectral_norm``, every layer is spectrally normalized and BatchNorm is left out
    (SNGAN's CNN D). Conditioning: one-hot label planes join the input (concat), a projection
    term on the last features, or an auxiliary class head (ACGAN)."""

    def __init__(self, options: DCGANDiscriminatorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None = None):
        super().__init__()
        base, halvings = resolution(image_shape, "discriminator")
        self.image_shape = tuple(image_shape)
        self.mode = conditioning_mode(options.conditioning, num_classes, "discriminator")
        self.conditional, self.num_classes = self.mode != "none", num_classes
        sn = options.spectral_norm
        widths = [options.ndf * 2 ** i for i in range(halvings)]  # e.g. 1,2,4,8 x ndf
        c_in = image_shape[0] + (num_classes if self.mode == "concat" else 0)
        layers: list[nn.Module] = [spectral(nn.Conv2d(c_in, widths[0], 4, 2, 1, bias=False), sn),
                                   nn.LeakyReLU(0.2, True)]  # no BatchNorm on D's input layer
        for a, b in zip(widths, widths[1:], strict=False):
            norm = [] if sn else [nn.BatchNorm2d(b)]
            layers += [spectral(nn.Conv2d(a, b, 4, 2, 1, bias=False), sn), *norm,
                       nn.LeakyReLU(0.2, True)]
        # base x base -> 1x1
        layers.append(spectral(nn.Conv2d(widths[-1], 1, base, 1, 0, bias=False), sn))
        self.net = nn.Sequential(*layers)
        if self.mode in ("projection", "acgan"):
            self.label_terms = LabelTerms(widths[-1] * base * base, num_classes, self.mode, sn)
        self.apply(init_weights)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor | DOutput:
        if self.mode == "concat":
            x = label_maps(x, labels, self.num_classes)
        if self.mode in ("none", "concat"):
            return self.net(x).view(-1)
        h = self.net[:-1](x)
        return self.label_terms(self.net[-1](h).view(-1), h.flatten(1), labels)
