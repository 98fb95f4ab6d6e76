"""CycleGAN's generator, as the paper's appendix and reference code give it (after Johnson et
al., 2016): c7s1-64, d128, d256, R256 x n_blocks, u128, u64, c7s1-C, tanh.

c7s1-k is a 7x7 stride-1 convolution of k filters after a reflection pad of 3; dk a 3x3
stride-2 convolution (zero pad 1); Rk a residual block of two reflection-padded 3x3
convolutions; uk a 3x3 stride-1/2 (transposed) convolution. Every layer but the last is
followed by InstanceNorm (no affine parameters, no running statistics, so the convolutions
keep their biases) and ReLU; weights are drawn from N(0, 0.02), biases start at 0.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.interfaces import Generator


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions, zero biases, as the reference code initializes."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def norm_relu(channels: int) -> list[nn.Module]:
    return [nn.InstanceNorm2d(channels), nn.ReLU()]


class ResidualBlock(nn.Module):
    """x + (pad, conv 3x3, norm, ReLU, pad, conv 3x3, norm)(x), with reflection padding."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3),
                                  *norm_relu(width), nn.ReflectionPad2d(1),
                                  nn.Conv2d(width, width, 3), nn.InstanceNorm2d(width))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetTranslator(Generator):
    """The ResNet translator from (C_in, H, W) to (C_out, H, W); H and W multiples of 4."""

    latent_dim = 0

    def __init__(self, options, image_shape: tuple[int, ...], input_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape, self.input_shape = image_shape, input_shape
        ngf = options.ngf
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_shape[0], ngf, 7),
                                   *norm_relu(ngf)]
        for width in (ngf, 2 * ngf):  # d128, d256
            layers += [nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
                       *norm_relu(2 * width)]
        layers += [ResidualBlock(4 * ngf) for _ in range(options.n_blocks)]
        for width in (4 * ngf, 2 * ngf):  # u128, u64
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1,
                                          output_padding=1), *norm_relu(width // 2)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, image_shape[0], 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(images)
