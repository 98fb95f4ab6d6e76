"""The StyleGAN2 networks (Karras et al., 2020), config F, in plain PyTorch ops only.

Equalized learning rate (Karras et al., 2018): every weight is drawn from N(0, 1) (over the lr
multiplier) and scaled at run time by lr_mul / sqrt(fan_in), so that Adam's step size is the
same for every layer. Leaky ReLU 0.2 is followed by a gain of sqrt(2), as the paper's code does.
Modulated convolutions are written unfused (x * s -> conv with the shared weight -> times the
demodulation coefficients), which traces to plain ops for TorchScript and ONNX.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo_builtins.blocks import LowpassDownsample
from ganzoo_builtins.stylegan2 import StyleGAN2DiscriminatorOptions, StyleGAN2GeneratorOptions

GAIN = math.sqrt(2)  # of leaky ReLU 0.2, keeping activations at unit variance


def check_resolution(image_shape: tuple[int, ...], who: str) -> int:
    """The side of square images whose side is a power of two >= 8, or one line saying so."""
    if len(image_shape) != 3 or image_shape[1] != image_shape[2] or image_shape[1] < 8 \
            or image_shape[1] & (image_shape[1] - 1):
        size = "x".join(map(str, image_shape[1:])) if len(image_shape) == 3 else "points"
        raise GanzooError(f"{who}: stylegan2 takes square images whose side is a power of two "
                          f"from 8 up, not {size} (shape {tuple(image_shape)}); set "
                          "data.image_size to 8, 16, 32, 64, ...")
    return image_shape[1]


def widths(base: int, full_width_up_to: int, resolutions: list[int]) -> dict[int, int]:
    """Channels at each resolution: ``base`` up to ``full_width_up_to``, halving above."""
    return {r: max(1, base * full_width_up_to // r) if r > full_width_up_to else base
            for r in resolutions}


def lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2) * GAIN


class EqualLinear(nn.Module):
    """A linear layer with equalized learning rate: weight ~ N(0, 1/lr_mul^2), used as
    weight * lr_mul / sqrt(in); bias used times lr_mul."""

    def __init__(self, c_in: int, c_out: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((c_out,), float(bias_init) / lr_mul))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(c_in), lr_mul, activate

    def forward(self, x: Tensor) -> Tensor:
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return lrelu(out) if self.activate else out


class EqualConv2d(nn.Module):
    """A conv layer with equalized learning rate (weight ~ N(0, 1), used / sqrt(fan_in)),
    same padding; ``down``: the input is first blurred and subsampled by 2."""

    def __init__(self, c_in: int, c_out: int, kernel: int, bias: bool = True,
                 activate: bool = False, down: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale = 1 / math.sqrt(c_in * kernel * kernel)
        self.activate = activate
        self.down = LowpassDownsample(c_in) if down else None

    def forward(self, x: Tensor) -> Tensor:
        if self.down is not None:
            x = self.down(x)
        k = self.weight.shape[-1]
        out = F.conv2d(x, self.weight * self.scale, self.bias, padding=k // 2)
        return lrelu(out) if self.activate else out


def upsample(x: Tensor) -> Tensor:
    """x2 with the [1, 3, 3, 1] interpolation filter: bilinear (half-pixel centres) is exactly
    that filter's polyphase form, with the border replicated."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def pixel_norm(z: Tensor) -> Tensor:
    """z / RMS(z): the mapping network's input normalization."""
    return z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)


def modulated_conv(x: Tensor, styles: Tensor, weight: Tensor, demodulate: bool) -> Tensor:
    """The paper's Fig. 2c-d unfused: the input scaled per sample and channel by ``styles``
    (N, C_in), a convolution with the shared ``weight`` (already equalized), then (with
    ``demodulate``) each output channel divided by sqrt(sum over inputs and taps of
    (w_oik s_i)^2 + eps): Eq. 3 applied to activations instead of to weights, so that unit
    inputs give unit outputs."""
    out = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
    if demodulate:  # sum_i s_i^2 * sum_k w_oik^2, per sample and output channel
        energy = styles.square() @ weight.square().sum(dim=(2, 3)).t()  # (N, C_out)
        out = out * torch.rsqrt(energy + 1e-8)[:, :, None, None]
    return out


class Modulated(nn.Module):
    """The parameters of a modulated conv: the affine map A from w to the styles (equalized,
    bias initialised to 1) and the shared conv weight (equalized)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, w_dim: int):
        super().__init__()
        self.affine_weight = nn.Parameter(torch.randn(c_in, w_dim))
        self.affine_bias = nn.Parameter(torch.ones(c_in))
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.affine_scale = 1 / math.sqrt(w_dim)
        self.scale = 1 / math.sqrt(c_in * kernel * kernel)

    def styles(self, w: Tensor) -> Tensor:
        return F.linear(w, self.affine_weight * self.affine_scale, self.affine_bias)


class StyleLayer(Modulated):
    """A modulated, demodulated 3x3 conv (after a x2 upsampling with ``up``), the noise input
    (learned per-channel strengths, starting at 0), bias and leaky ReLU. The noise is fresh
    per sample in training; in eval mode it is the fixed map ``noise`` (a buffer), so that
    one z always gives one image."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__(c_in, c_out, 3, w_dim)
        self.up = up
        self.noise_strength = nn.Parameter(torch.zeros(c_out))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.register_buffer("noise", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        if self.up:
            x = upsample(x)
        out = modulated_conv(x, self.styles(w), self.weight * self.scale, demodulate=True)
        if self.training:
            noise = torch.randn(out.shape[0], 1, *out.shape[2:], dtype=out.dtype,
                                device=out.device)
        else:
            noise = self.noise.to(out.dtype)
        out = out + noise * self.noise_strength[None, :, None, None]
        return lrelu(out + self.bias[None, :, None, None])


class ToRGB(Modulated):
    """A modulated 1x1 conv to the image's channels, without demodulation, plus a bias."""

    def __init__(self, c_in: int, channels: int, w_dim: int):
        super().__init__(c_in, channels, 1, w_dim)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        out = modulated_conv(x, self.styles(w), self.weight * self.scale, demodulate=False)
        return out + self.bias[None, :, None, None]


class ConstantInput(nn.Module):
    """The learned 4x4 input of the synthesis network, one for every sample."""

    def __init__(self, channels: int):
        super().__init__()
        self.const = nn.Parameter(torch.randn(1, channels, 4, 4))

    def forward(self, ws: Tensor) -> Tensor:
        """(N, ...) w's -> (N, C, 4, 4): the constant once for each of them."""
        return self.const.expand(ws.shape[0], -1, -1, -1)


class Mapping(nn.Module):
    """z -> pixel norm -> ``layers`` fully connected layers with leaky ReLU -> w."""

    def __init__(self, latent_dim: int, layers: int, lr_mul: float):
        super().__init__()
        self.layers = nn.Sequential(*(EqualLinear(latent_dim, latent_dim, lr_mul=lr_mul,
                                                  activate=True) for _ in range(layers)))

    def forward(self, z: Tensor) -> Tensor:
        return self.layers(pixel_norm(z))


class StyleGAN2Generator(Generator):
    sampling_options = {
        "truncation": "psi: w pulled toward the mean w, w_avg + psi (w - w_avg); 0 gives the "
                      "mean image, 1 none, below 1 less variety and fewer artefacts",
    }

    def __init__(self, options: StyleGAN2GeneratorOptions, image_shape: tuple[int, ...]):
        super().__init__()
        size = check_resolution(image_shape, "generator")
        self.latent_dim, self.image_shape = options.latent_dim, tuple(image_shape)
        self.style_mixing, self.w_avg_decay = options.style_mixing, options.w_avg_decay
        self.output = options.output
        steps = int(math.log2(size)) - 1  # resolutions 4, 8, ..., size
        resolutions = [4 * 2 ** i for i in range(steps)]
        width = widths(options.ngf, options.full_width_up_to, resolutions)
        w_dim, channels = options.latent_dim, image_shape[0]
        self.mapping = Mapping(options.latent_dim, options.mapping_layers, options.mapping_lr)
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.const = ConstantInput(width[4])
        self.first = StyleLayer(width[4], width[4], w_dim, 4)
        self.first_rgb = ToRGB(width[4], channels, w_dim)
        self.ups = nn.ModuleList(StyleLayer(width[r // 2], width[r], w_dim, r, up=True)
                                 for r in resolutions[1:])
        self.convs = nn.ModuleList(StyleLayer(width[r], width[r], w_dim, r)
                                   for r in resolutions[1:])
        self.rgbs = nn.ModuleList(ToRGB(width[r], channels, w_dim) for r in resolutions[1:])
        #: one w per layer: the first conv and toRGB, then two convs per resolution, each
        #: toRGB sharing the w of the next resolution's first conv (as the paper's code does)
        self.num_ws = 2 * steps

    def sample_latent(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I): truncation acts on w in ``forward``, so z is never redrawn."""
        return torch.randn(n, self.latent_dim, device=device, generator=generator)

    def prior_from_normal(self, z: Tensor) -> Tensor:
        return z

    def check_sampling_value(self, option: str, value, flag: str):
        """``truncation`` is psi, a finite number >= 0."""
        if option != "truncation":
            return super().check_sampling_value(option, value, flag)
        number = value if isinstance(value, int | float) and not isinstance(value, bool) \
            else None
        if number is None or not math.isfinite(number) or number < 0:
            raise GanzooError(f"{flag}: psi, a number >= 0 that pulls w toward the mean w "
                              f"(0: the mean image, 1: no truncation; got {value!r})")
        return float(number)

    def latent_description(self) -> str:
        return (f"z ~ N(0, I) of {self.latent_dim} dimensions, mapped to w "
                f"({self.num_ws} per image)")

    def ws(self, z: Tensor) -> Tensor:
        """(N, num_ws, w_dim): the w of each layer. In training the mean w is tracked and,
        with probability ``style_mixing`` per sample, the layers from a random crossover
        point on take the w of a second z; ``truncation`` psi pulls every w toward the mean."""
        w = self.mapping(z)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().mean(dim=0).to(self.w_avg.dtype),
                                 1 - self.w_avg_decay)
        ws = w[:, None, :].expand(-1, self.num_ws, -1)
        if self.training and self.style_mixing > 0:
            ws = self.mix(ws, z)
        psi = self.sampling_values.get("truncation")
        if psi is not None and psi != 1:
            avg = self.w_avg.to(ws.dtype)
            ws = avg + psi * (ws - avg)
        return ws

    def mix(self, ws: Tensor, z: Tensor) -> Tensor:
        """Style mixing without reading a value back: per sample a crossover point in
        [1, num_ws) (num_ws, none, with probability 1 - style_mixing)."""
        n, device = z.shape[0], z.device
        other = self.mapping(torch.randn_like(z))[:, None, :]
        cut = torch.randint(1, self.num_ws, (n,), device=device)
        cut = torch.where(torch.rand(n, device=device) < self.style_mixing, cut,
                          torch.full_like(cut, self.num_ws))
        second = torch.arange(self.num_ws, device=device)[None, :] >= cut[:, None]
        return torch.where(second[:, :, None], other, ws)

    def synthesis(self, ws: Tensor) -> Tensor:
        """(N, num_ws, w_dim) -> images, the toRGB outputs summed up the resolutions."""
        x = self.first(self.const(ws), ws[:, 0])
        image = self.first_rgb(x, ws[:, 1])
        for i, (up, conv, rgb) in enumerate(zip(self.ups, self.convs, self.rgbs, strict=True)):
            x = conv(up(x, ws[:, 2 * i + 1]), ws[:, 2 * i + 2])
            image = upsample(image) + rgb(x, ws[:, 2 * i + 3])
        if self.output == "tanh":
            return torch.tanh(image)
        return image if self.training else image.clamp(-1, 1)  # linear: D sees it unbounded

    def images_and_ws(self, n: int, device: torch.device | str | None = None
                      ) -> tuple[Tensor, Tensor]:
        """n images of fresh z (from torch's global RNG) and the w's that made them, in the
        graph: what the path length penalty differentiates."""
        ws = self.ws(self.sample_latent(n, device))
        return self.synthesis(ws), ws

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.synthesis(self.ws(z))


def minibatch_stddev(x: Tensor, group: int, features: int) -> Tensor:
    """x with ``features`` more maps: the standard deviation of each feature over groups of
    samples, averaged over channels and pixels (Karras et al., 2018). The group is the largest
    divisor of the batch up to ``group`` (the whole batch where it is smaller)."""
    n, c, h, w = x.shape
    g = next(d for d in range(min(group, n), 0, -1) if n % d == 0)
    y = x.reshape(g, n // g, features, c // features, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (N/G, F, C/F, H, W)
    y = y.mean(dim=(2, 3, 4))[:, :, None, None]  # (N/G, F, 1, 1)
    return torch.cat([x, y.repeat(g, 1, h, w)], dim=1)


class DownBlock(nn.Module):
    """conv 3x3, blur + subsample + conv 3x3, and the 1x1 skip (blurred, subsampled, no bias);
    the sum over sqrt(2)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = EqualConv2d(c_in, c_in, 3, activate=True)
        self.conv2 = EqualConv2d(c_in, c_out, 3, activate=True, down=True)
        self.skip = EqualConv2d(c_in, c_out, 1, bias=False, down=True)

    def forward(self, x: Tensor) -> Tensor:
        return (self.skip(x) + self.conv2(self.conv1(x))) / math.sqrt(2)


class StyleGAN2Discriminator(Discriminator):
    def __init__(self, options: StyleGAN2DiscriminatorOptions, image_shape: tuple[int, ...]):
        super().__init__()
        size = check_resolution(image_shape, "discriminator")
        self.image_shape = tuple(image_shape)
        self.group, self.features = options.mbstd_group, options.mbstd_features
        resolutions = [4 * 2 ** i for i in range(int(math.log2(size)) - 1)]
        width = widths(options.ndf, options.full_width_up_to, resolutions)
        self.from_rgb = EqualConv2d(image_shape[0], width[size], 1, activate=True)
        self.blocks = nn.Sequential(*(DownBlock(width[r], width[r // 2])
                                      for r in reversed(resolutions[1:])))
        c = width[4]
        self.conv = EqualConv2d(c + self.features, c, 3, activate=True)
        self.fc = EqualLinear(c * 16, c, activate=True)
        self.out = EqualLinear(c, 1)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.blocks(self.from_rgb(x))
        h = self.conv(minibatch_stddev(h, self.group, self.features))
        return self.out(self.fc(h.flatten(1))).view(-1)
