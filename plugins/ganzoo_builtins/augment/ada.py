"""ADA's augmentation pipeline (Karras et al., 2020, "Training Generative Adversarial Networks
with Limited Data", appendix B), written from the paper: its 'bgc' set of pixel blitting,
general geometric and color transforms, each applied to each image with probability p.

The geometric transforms are folded into one affine map per image and resampled once
(bilinear, reflected at the borders; the paper resamples through a 2x upsampled wavelet
filter, which is not done here). The color transforms are folded into one 4x4 matrix per image
acting on RGB; images with another channel count get brightness and contrast only. Everything
draws from torch's global RNG on the batch's device and is differentiable in the input.
``cutout`` (a corruption of the paper's, outside 'bgc') can join, as R3GAN's pipeline has it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.interfaces import Schedule
from ganzoo_builtins.augment.transforms import TunedProbability, cutout

GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
BGC = GEOMETRIC + COLOR  # the paper's default pipeline, in its order
CUTOUT_SIZE = 0.5  # ADA's cutout: a square of half the image's side, zeroed

# the paper's strengths: translations as a share of the image size, log2 of scale factors
XINT_MAX, SCALE_STD, ANISO_STD, XFRAC_STD = 0.125, 0.2, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, SATURATION_STD = 0.2, 0.5, 1.0


def chosen(n: int, p: Tensor, device: torch.device) -> Tensor:
    """Which of n images a transform applies to: each with probability p, shape (N,)."""
    return torch.rand(n, device=device) < p


def lognormal2(n: int, std: float, device: torch.device) -> Tensor:
    """2 ** N(0, std^2): a scale factor whose log2 has standard deviation std."""
    return torch.exp2(torch.randn(n, device=device) * std)


def eye(n: int, size: int, device: torch.device) -> Tensor:
    return torch.eye(size, device=device).repeat(n, 1, 1)


def scale2d(sx: Tensor, sy: Tensor) -> Tensor:
    m = eye(len(sx), 3, sx.device)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def rotate2d(theta: Tensor) -> Tensor:
    m = eye(len(theta), 3, theta.device)
    c, s = torch.cos(theta), torch.sin(theta)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


def translate2d(tx: Tensor, ty: Tensor) -> Tensor:
    m = eye(len(tx), 3, tx.device)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def geometric_map(n: int, size: tuple[int, int], p: Tensor, ops: set[str],
                  device: torch.device) -> Tensor:
    """(N, 3, 3): for each image, where each output pixel reads the input, in the normalized
    coordinates of affine_grid ([-1, 1] across each side). The transforms are composed in
    pixel units about the centre, so rotations stay rotations on images that are not square
    and integer shifts land on whole pixels."""
    h, w = size
    one = torch.ones(n, device=device)
    p_rot = 1 - torch.sqrt(1 - p)  # two rotations: the chance of at least one is p
    m = eye(n, 3, device)

    def maybe(op: str, prob: Tensor, matrix) -> None:
        nonlocal m
        if op in ops:
            m = m @ torch.where(chosen(n, prob, device)[:, None, None], matrix(), eye(n, 3, device))

    def turn() -> Tensor:
        return rotate2d((torch.rand(n, device=device) * 2 - 1) * math.pi)

    def xint() -> Tensor:
        shift = (torch.rand(2, n, device=device) * 2 - 1) * XINT_MAX
        return translate2d(torch.round(shift[0] * w), torch.round(shift[1] * h))

    maybe("xflip", p, lambda: scale2d(1 - 2 * torch.randint(2, (n,), device=device), one))
    maybe("rotate90", p, lambda: rotate2d(torch.randint(4, (n,), device=device) * math.pi / 2))
    maybe("xint", p, xint)
    maybe("scale", p, lambda: (lambda s: scale2d(s, s))(lognormal2(n, SCALE_STD, device)))
    maybe("rotate", p_rot, turn)
    maybe("aniso", p, lambda: (lambda s: scale2d(s, 1 / s))(lognormal2(n, ANISO_STD, device)))
    maybe("rotate", p_rot, turn)
    maybe("xfrac", p, lambda: translate2d(torch.randn(n, device=device) * XFRAC_STD * w,
                                          torch.randn(n, device=device) * XFRAC_STD * h))
    pixels = scale2d(one * w / 2, one * h / 2)  # normalized -> pixel units about the centre
    return torch.linalg.inv(pixels) @ m @ pixels


def color_matrix(n: int, p: Tensor, ops: set[str], rgb: bool, device: torch.device) -> Tensor:
    """(N, 4, 4) acting on (r, g, b, 1), composed in the paper's order; luma is the axis
    (1, 1, 1) / sqrt(3). Only brightness and contrast where the images are not RGB."""
    v = torch.tensor([1.0, 1.0, 1.0, 0.0], device=device) / math.sqrt(3)
    outer = torch.outer(v, v).expand(n, 4, 4)
    m = eye(n, 4, device)

    def maybe(op: str, matrix) -> None:
        nonlocal m
        if op in ops and (rgb or op in ("brightness", "contrast")):
            m = torch.where(chosen(n, p, device)[:, None, None], matrix(), eye(n, 4, device)) @ m

    def brightness() -> Tensor:
        t = eye(n, 4, device)
        t[:, :3, 3] = (torch.randn(n, device=device) * BRIGHTNESS_STD)[:, None]
        return t

    def contrast() -> Tensor:
        t = eye(n, 4, device)
        c = lognormal2(n, CONTRAST_STD, device)
        t[:, 0, 0], t[:, 1, 1], t[:, 2, 2] = c, c, c
        return t

    def lumaflip() -> Tensor:  # mirror the luma component: I - 2 v v^T (or I)
        flip = torch.randint(2, (n, 1, 1), device=device)
        return eye(n, 4, device) - 2 * outer * flip

    def hue() -> Tensor:  # rotate about the luma axis (Rodrigues' formula)
        theta = ((torch.rand(n, device=device) * 2 - 1) * math.pi)[:, None, None]
        k = torch.zeros(4, 4, device=device)
        k[0, 1], k[0, 2], k[1, 2] = -v[2], v[1], -v[0]
        k = (k - k.T).expand(n, 4, 4)
        return eye(n, 4, device) + torch.sin(theta) * k + (1 - torch.cos(theta)) * (k @ k)

    def saturation() -> Tensor:  # scale what is not luma
        s = lognormal2(n, SATURATION_STD, device)[:, None, None]
        spatial = eye(n, 4, device)
        spatial[:, 3, 3] = 0
        t = outer + (spatial - outer) * s
        t[:, 3, 3] = 1
        return t

    for op, matrix in (("brightness", brightness), ("contrast", contrast),
                       ("lumaflip", lumaflip), ("hue", hue), ("saturation", saturation)):
        maybe(op, matrix)
    return m


def augment(x: Tensor, p: Tensor, ops: set[str], color_scale: float = 1.0) -> Tensor:
    """x (N, C, H, W) through the pipeline's transforms in ``ops``, each image and transform
    with probability p (the color ones with color_scale x p), then cutout where asked."""
    n, c, h, w = x.shape
    p = p.to(x.device, torch.float32)
    if ops & set(GEOMETRIC):
        m = geometric_map(n, (h, w), p, ops, x.device).to(x.dtype)
        grid = F.affine_grid(m[:, :2, :], [n, c, h, w], align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                          align_corners=False)
    if ops & set(COLOR):
        m = color_matrix(n, p * color_scale, ops, c == 3, x.device).to(x.dtype)
        if c == 3:
            x = torch.einsum("nij,njhw->nihw", m[:, :3, :3], x) + m[:, :3, 3, None, None]
        else:  # brightness and contrast: the same scale and offset on every channel
            x = x * m[:, 0, 0, None, None, None] + m[:, 0, 3, None, None, None]
    if "cutout" in ops:
        x = torch.where(chosen(n, p, x.device)[:, None, None, None], cutout(x, CUTOUT_SIZE), x)
    return x


class ADA(TunedProbability):
    """The pipeline at probability p: tuned from D's outputs on reals (ADA's heuristic) when a
    target is set, else fixed, or following a schedule (p times its factor, R3GAN's rise)."""

    def __init__(self, ops: list[str], *, p: float, target: float | None, interval: int,
                 speed: int, color_scale: float = 1.0, schedule: Schedule | None = None):
        super().__init__(target=target, interval=interval, speed=speed, p=p)
        self.ops, self.color_scale = set(ops), color_scale
        self.schedule, self.p_final = schedule, float(p)

    def __call__(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            return x
        return augment(x, self.p, self.ops, self.color_scale)

    def at_step(self, step: int, total_steps: int) -> None:
        if self.schedule is not None:
            self.p = torch.tensor(self.p_final * self.schedule.factor(step, total_steps))
