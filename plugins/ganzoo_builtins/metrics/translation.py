"""How close a translation is to the truth: PSNR and SSIM of G's outputs for held-out inputs
against their true outputs, beside the same measures of the input itself (grayscale repeated
to colour, a small image enlarged bicubically), the baseline a translator must beat.

The options follow how super-resolution papers measure (SRGAN, ESRGAN, and the MATLAB code
their benchmarks share): ``y_channel`` measures the luma Y of ITU-R BT.601 YCbCr, as MATLAB's
rgb2ycbcr gives it; ``crop_border`` leaves out that many pixels at each edge (the scale, in SR
papers); ``data_range`` 255 measures 8-bit values, each image rounded as a saved PNG holds it.
The bicubic baseline is MATLAB's imresize: Keys' cubic with a = -0.5, mirrored borders.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Dataset, EvalContext, Metric
from ganzoo_builtins.metrics import PSNRSSIMOptions

#: SSIM as Wang et al. (2004) define it: an 11x11 Gaussian window of sigma 1.5, K1 and K2
WINDOW, SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03
#: BT.601 luma from R, G, B in [0, 1], on [16, 235] / 255 (MATLAB's rgb2ycbcr)
LUMA_OFFSET, LUMA_WEIGHTS = 16.0, (65.481, 128.553, 24.966)


def psnr_of(output: Tensor, truth: Tensor, data_range: float = 1.0) -> Tensor:
    """Per image, in dB, of images already on [0, data_range]."""
    mse = (output - truth).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(data_range ** 2 / mse.clamp_min(1e-10 * data_range ** 2))


def ssim_of(output: Tensor, truth: Tensor, data_range: float = 1.0) -> Tensor:
    """Per image: the mean over pixels and channels of Wang et al.'s SSIM map, of images on
    [0, data_range] (the window kept inside the image, as their reference code keeps it)."""
    x, y = output.double(), truth.double()
    offsets = torch.arange(WINDOW, dtype=x.dtype) - WINDOW // 2
    g = torch.exp(-0.5 * (offsets / SIGMA) ** 2)
    g = g / g.sum()
    channels = x.shape[1]
    window = (g[:, None] * g[None, :]).expand(channels, 1, WINDOW, WINDOW).contiguous()

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, window, groups=channels)  # 'valid': no padding

    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    numerator = (2 * mx * my + c1) * (2 * sxy + c2)
    denominator = (mx ** 2 + my ** 2 + c1) * (sxx + syy + c2)
    return (numerator / denominator).flatten(1).mean(1).to(output.dtype)


def psnr(output: Tensor, truth: Tensor) -> Tensor:
    """Per image, in dB, on [0, 1] (images given in [-1, 1])."""
    return psnr_of((output + 1) / 2, (truth + 1) / 2)


def ssim(output: Tensor, truth: Tensor) -> Tensor:
    """Per image, SSIM on [0, 1] (images given in [-1, 1])."""
    return ssim_of((output + 1) / 2, (truth + 1) / 2)


def as_measured(images: Tensor, data_range: int = 1, y_channel: bool = False,
                crop_border: int = 0) -> Tensor:
    """Images in [-1, 1] as they are measured: on [0, data_range] (rounded to integers at 255),
    the luma alone where ``y_channel`` (of colour images), ``crop_border`` pixels cut off."""
    values = (images.clamp(-1, 1) + 1) / 2 * data_range
    if data_range == 255:
        values = values.round()
    if y_channel and values.shape[1] == 3:
        weights = torch.tensor(LUMA_WEIGHTS, dtype=values.dtype) / 255
        values = (torch.einsum("nchw,c->nhw", values, weights)
                  + LUMA_OFFSET * data_range / 255).unsqueeze(1)
    if crop_border:
        values = values[..., crop_border:-crop_border, crop_border:-crop_border]
    return values


def cubic(x: Tensor, a: float = -0.5) -> Tensor:
    """Keys' cubic convolution kernel (a = -0.5: MATLAB's and Pillow's bicubic)."""
    x = x.abs()
    near = (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
    far = a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a
    return torch.where(x <= 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def enlarging_matrix(n_in: int, n_out: int) -> Tensor:
    """(n_out, n_in): bicubic enlargement of one axis, pixel centres aligned as imresize aligns
    them, the border mirrored (half-sample symmetric)."""
    centres = (torch.arange(n_out, dtype=torch.float64) + 0.5) * n_in / n_out - 0.5
    taps = centres.floor()[:, None] + torch.arange(-1, 3, dtype=torch.float64)
    weights = cubic(centres[:, None] - taps)
    weights = weights / weights.sum(1, keepdim=True)
    index = taps.long() % (2 * n_in)
    index = torch.where(index < n_in, index, 2 * n_in - 1 - index)
    return torch.zeros(n_out, n_in, dtype=torch.float64).scatter_add_(1, index, weights)


def bicubic_enlarge(images: Tensor, size: tuple[int, int]) -> Tensor:
    """(N, C, h, w) -> (N, C, *size), as MATLAB's imresize(..., 'bicubic') enlarges."""
    rows = enlarging_matrix(images.shape[-2], size[0])
    columns = enlarging_matrix(images.shape[-1], size[1])
    return torch.einsum("oh,nchw,pw->ncop", rows, images.double(), columns).to(images.dtype)


def as_output(source: Tensor, shape: tuple[int, ...]) -> Tensor:
    """The input shown as an output: grayscale repeated to the output's channels, a smaller
    image enlarged bicubically (clamped to [-1, 1])."""
    if source.shape[1] != shape[0]:
        if source.shape[1] != 1:
            raise GanzooError(f"psnr_ssim: cannot compare a {source.shape[1]}-channel input "
                              f"with {shape[0]}-channel outputs")
        source = source.expand(-1, shape[0], -1, -1)
    if tuple(source.shape[-2:]) != tuple(shape[-2:]):
        source = bicubic_enlarge(source, tuple(shape[-2:])).clamp(-1, 1)
    return source


class PSNRSSIM(Metric):
    """psnr and ssim of G(source) against target, and psnr_input / ssim_input of the source
    itself, over eval.n held-out pairs of the reference split (one epoch, no repeats)."""

    directions = {"psnr": "max", "ssim": "max"}

    def __init__(self, options: PSNRSSIMOptions | None = None, input_field: str = "source",
                 truth_field: str = "target"):
        options = options or PSNRSSIMOptions()
        self.split, self.data_range = options.split, options.data_range
        self.y_channel, self.crop_border = options.y_channel, options.crop_border
        self.input_field, self.truth_field = input_field, truth_field

    def measured(self, images: Tensor) -> Tensor:
        return as_measured(images, self.data_range, self.y_channel, self.crop_border)

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        G = ctx.G
        if not G.input_shape:
            raise GanzooError("eval.metrics: psnr_ssim measures a generator with an input "
                              "(translation, super-resolution); this one takes noise")
        self.check_crop(tuple(G.image_shape))
        pairs = self.pairs(ctx)
        fields = pairs.fields
        for name in (self.input_field, self.truth_field):
            if name not in fields:
                raise GanzooError(f"eval.metrics: psnr_ssim needs the data field {name!r}; "
                                  f"the reference data gives {', '.join(fields)}")
        n = min(ctx.options.n, len(pairs))
        device = next(G.parameters()).device
        totals: dict[str, list[Tensor]] = {"psnr": [], "ssim": [], "psnr_input": [],
                                           "ssim_input": []}
        seen = 0
        with torch.no_grad():
            for batch in pairs.batches(min(ctx.options.batch_size, n), torch.device("cpu"),
                                       ctx.options.seed):
                source, truth = batch[self.input_field], batch[self.truth_field].float()
                take = min(len(source), n - seen)
                source, truth = source[:take], truth[:take]
                output = G(source.to(device)).float().cpu()
                shown = as_output(source.float(), tuple(truth.shape[1:]))
                truth = self.measured(truth)
                for suffix, images in (("", output), ("_input", shown)):
                    images = self.measured(images)
                    totals[f"psnr{suffix}"].append(psnr_of(images, truth, self.data_range))
                    totals[f"ssim{suffix}"].append(ssim_of(images, truth, self.data_range))
                seen += take
                if seen >= n:
                    break
        ctx.protocol["n_pairs"] = seen
        described = ctx.protocol.setdefault("psnr_ssim", [])  # one line per way of measuring
        if self.describe() not in described:
            described.append(self.describe())
        return {name: float(torch.cat(values).mean()) for name, values in totals.items()}

    def describe(self) -> str:
        on = "the luma Y (BT.601)" if self.y_channel else "every channel"
        crop = f", {self.crop_border} border pixels left out" if self.crop_border else ""
        scale = "8-bit values [0, 255]" if self.data_range == 255 else "[0, 1]"
        split = f"; split {self.split}" if self.split else ""
        return (f"on {scale}, {on}{crop}; SSIM of Wang et al. (2004), 11x11 Gaussian window of "
                "sigma 1.5, mean over channels; the input baseline repeats grayscale and "
                f"enlarges bicubically (MATLAB's imresize){split}")

    def check_crop(self, shape: tuple[int, ...]) -> None:
        left = min(shape[-2:]) - 2 * self.crop_border
        if left < WINDOW:
            raise GanzooError(f"eval.metrics: psnr_ssim crop_border {self.crop_border} leaves "
                              f"{max(left, 0)} pixels of the {shape[-2]}x{shape[-1]} images; "
                              f"SSIM's window needs {WINDOW}: lower crop_border")

    def pairs(self, ctx: EvalContext) -> Dataset:
        """The reference data, or the recipe's data on the metric's own split."""
        if self.split is None:
            return ctx.reference
        from ganzoo.components import build_one
        from ganzoo.recipe import field_names

        section = dict(getattr(ctx, "reference_options", None) or {})
        registry = getattr(ctx, "registry", None)
        if registry is None or "name" not in section:
            raise GanzooError("eval.metrics: psnr_ssim's split needs an evaluation that knows "
                              "its data section; leave split out to measure on eval.ref")
        component = registry.get("dataset", section["name"])
        if "split" not in field_names(component.options):
            raise GanzooError(f"eval.metrics: psnr_ssim split {self.split!r}: dataset "
                              f"{component.name!r} has no splits; leave split out")
        return build_one(registry, "dataset", {**section, "split": self.split}, "data")
