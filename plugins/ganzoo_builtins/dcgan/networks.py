"""The DCGAN networks at 28, 32, 64 and 128 pixels.

G starts from a base of 4x4 (7x7 for MNIST's 28) made by a transposed convolution of the 1x1
latent, then doubles the size with 4/2/1 transposed convolutions, H_out = (H_in-1)*2 - 2*1 + 4,
halving the channels each time: 4 -> 8 -> 16 -> 32 -> 64. D mirrors it with 4/2/1 convolutions,
H_out = floor((H_in + 2*1 - 4)/2) + 1, and a last convolution the size of the base.
BatchNorm everywhere except G's output and D's input; ReLU and tanh in G, LeakyReLU(0.2) in D;
weights from N(0, 0.02).
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Discriminator, Generator, is_image_shape
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
        nn.init.normal_(module.weight, 0.0, 0.02)
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
    def __init__(self, options: DCGANGeneratorOptions, image_shape: tuple[int, ...]):
        super().__init__()
        base, doublings = resolution(image_shape, "generator")
        self.latent_dim, self.image_shape = options.latent_dim, tuple(image_shape)
        widths = [options.ngf * 2 ** i for i in reversed(range(doublings))]  # e.g. 8,4,2,1 x ngf
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(options.latent_dim, widths[0], base, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(True),
        ]
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            layers += [*upsample_block(c_in, c_out, options.upsample), nn.BatchNorm2d(c_out),
                       nn.ReLU(True)]
        layers += [*upsample_block(widths[-1], image_shape[0], options.upsample), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(Discriminator):
    def __init__(self, options: DCGANDiscriminatorOptions, image_shape: tuple[int, ...]):
        super().__init__()
        base, halvings = resolution(image_shape, "discriminator")
        self.image_shape = tuple(image_shape)
        widths = [options.ndf * 2 ** i for i in range(halvings)]  # e.g. 1,2,4,8 x ndf
        layers: list[nn.Module] = [nn.Conv2d(image_shape[0], widths[0], 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, True)]  # no BatchNorm on D's input layer
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                       nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(widths[-1], 1, base, 1, 0, bias=False))  # base x base -> 1x1
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).view(-1)
