"""How close a translation is to the truth: PSNR and SSIM of G's outputs for held-out inputs
against their true outputs, beside the same measures of the input itself (grayscale repeated
to colour, a small image enlarged bicubically), the baseline a translator must beat."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import GanzooError
from ganzoo.interfaces import EvalContext, Metric

#: SSIM as Wang et al. (2004) define it: an 11x11 Gaussian window of sigma 1.5, on [0, 1]
WINDOW, SIGMA, C1, C2 = 11, 1.5, 0.01 ** 2, 0.03 ** 2


def psnr(output: Tensor, truth: Tensor) -> Tensor:
    """Per image, in dB, on [0, 1] (images given in [-1, 1])."""
    mse = ((output - truth) / 2).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))


def ssim(output: Tensor, truth: Tensor) -> Tensor:
    """Per image: the mean over pixels and channels of Wang et al.'s SSIM map, on [0, 1]."""
    x, y = (output + 1) / 2, (truth + 1) / 2
    offsets = torch.arange(WINDOW, dtype=x.dtype) - WINDOW // 2
    g = torch.exp(-0.5 * (offsets / SIGMA) ** 2)
    g = g / g.sum()
    channels = x.shape[1]
    window = (g[:, None] * g[None, :]).expand(channels, 1, WINDOW, WINDOW).contiguous()

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, window, groups=channels)  # 'valid': no padding, as the reference

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    numerator = (2 * mx * my + C1) * (2 * sxy + C2)
    denominator = (mx ** 2 + my ** 2 + C1) * (sxx + syy + C2)
    return (numerator / denominator).flatten(1).mean(1)


def as_output(source: Tensor, shape: tuple[int, ...]) -> Tensor:
    """The input shown as an output: grayscale repeated to the output's channels, a smaller
    image enlarged bicubically (clamped to [-1, 1])."""
    if source.shape[1] != shape[0]:
        if source.shape[1] != 1:
            raise GanzooError(f"psnr_ssim: cannot compare a {source.shape[1]}-channel input "
                              f"with {shape[0]}-channel outputs")
        source = source.expand(-1, shape[0], -1, -1)
    if tuple(source.shape[-2:]) != tuple(shape[-2:]):
        source = F.interpolate(source, size=tuple(shape[-2:]), mode="bicubic",
                               align_corners=False).clamp(-1, 1)
    return source


class PSNRSSIM(Metric):
    """psnr and ssim of G(source) against target, and psnr_input / ssim_input of the source
    itself, over eval.n held-out pairs of the reference split (one epoch, no repeats)."""

    directions = {"psnr": "max", "ssim": "max"}

    def __init__(self, input_field: str = "source", truth_field: str = "target"):
        self.input_field, self.truth_field = input_field, truth_field

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        G = ctx.G
        if not G.input_shape:
            raise GanzooError("eval.metrics: psnr_ssim measures a generator with an input "
                              "(translation, super-resolution); this one takes noise")
        fields = ctx.reference.fields
        for name in (self.input_field, self.truth_field):
            if name not in fields:
                raise GanzooError(f"eval.metrics: psnr_ssim needs the data field {name!r}; "
                                  f"the reference data gives {', '.join(fields)}")
        n = min(ctx.options.n, len(ctx.reference))
        device = next(G.parameters()).device
        totals = {"psnr": [], "ssim": [], "psnr_input": [], "ssim_input": []}
        seen = 0
        batch_size = min(ctx.options.batch_size, n)
        with torch.no_grad():
            for batch in ctx.reference.batches(batch_size, torch.device("cpu"), ctx.options.seed):
                source, truth = batch[self.input_field], batch[self.truth_field].float()
                take = min(len(source), n - seen)
                source, truth = source[:take], truth[:take]
                output = G(source.to(device)).float().cpu().clamp(-1, 1)
                shown = as_output(source.float(), tuple(truth.shape[1:]))
                totals["psnr"].append(psnr(output, truth))
                totals["ssim"].append(ssim(output, truth))
                totals["psnr_input"].append(psnr(shown, truth))
                totals["ssim_input"].append(ssim(shown, truth))
                seen += take
                if seen >= n:
                    break
        ctx.protocol["n_pairs"] = seen
        ctx.protocol["psnr_ssim"] = ("on [0, 1]; SSIM of Wang et al. (2004), 11x11 Gaussian "
                                     "window of sigma 1.5, mean over channels; the input "
                                     "baseline repeats grayscale and enlarges bicubically")
        return {name: float(torch.cat(values).mean()) for name, values in totals.items()}
