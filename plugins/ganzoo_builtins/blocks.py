"""Building blocks the built-in networks share: spectral norm, class-conditional BatchNorm,
self-attention, the discriminator heads for labels (projection, auxiliary classifier,
concatenation), and the [1, 3, 3, 1] low-pass downsampling of StyleGAN2 and R3GAN. Not a
plugin: the network plugins import it when they build.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.interfaces import DOutput


def conditioning_mode(conditioning: str, num_classes: int | None, who: str) -> str:
    """The network's conditioning, or one line saying a run without labels cannot have it."""
    from ganzoo.errors import GanzooError

    if conditioning != "none" and not num_classes:
        raise GanzooError(f"{who}.conditioning: {conditioning!r} needs class labels: set "
                          "conditional: true, with a labelled dataset")
    return conditioning


def spectral(module: nn.Module, on: bool) -> nn.Module:
    """``module`` with spectral normalization of its weight (Miyato et al., 2018) when ``on``:
    one power iteration per forward pass, as the paper trains."""
    if not on:
        return module
    return nn.utils.parametrizations.spectral_norm(module)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are chosen by the class (de Vries et al., 2017; the
    SNGAN projection generator): gamma(y) * BN(x) + beta(y). Unconditional when ``num_classes``
    is None: plain BatchNorm."""

    def __init__(self, channels: int, num_classes: int | None):
        super().__init__()
        self.num_classes = num_classes
        self.bn = nn.BatchNorm2d(channels, affine=num_classes is None)
        if num_classes:
            self.gain = nn.Embedding(num_classes, channels)
            self.bias = nn.Embedding(num_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        out = self.bn(x)
        if not self.num_classes:
            return out
        gain = self.gain(labels).view(-1, x.shape[1], 1, 1)
        bias = self.bias(labels).view(-1, x.shape[1], 1, 1)
        return gain * out + bias


class SelfAttention(nn.Module):
    """SAGAN's self-attention (Zhang et al., 2019): every position attends to every other.
    Queries and keys have C/8 channels; the output starts as the identity (gamma = 0)."""

    def __init__(self, channels: int, sn: bool = False):
        super().__init__()
        inner = max(1, channels // 8)
        self.query = spectral(nn.Conv2d(channels, inner, 1, bias=False), sn)
        self.key = spectral(nn.Conv2d(channels, inner, 1, bias=False), sn)
        self.value = spectral(nn.Conv2d(channels, channels, 1, bias=False), sn)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (N, HW, C/8)
        k = self.key(x).flatten(2)  # (N, C/8, HW)
        attention = torch.softmax(q @ k, dim=-1)  # (N, HW, HW): row i, where i looks
        v = self.value(x).flatten(2)  # (N, C, HW)
        out = (v @ attention.transpose(1, 2)).view(n, c, h, w)
        return x + self.gamma * out


class LabelTerms(nn.Module):
    """What the labels add to D's logit l, given D's last features h, by ``conditioning``:
      projection: l + embed(y).h (Miyato & Koyama, 2018);
      acgan:      l, and class logits from h for an auxiliary classification loss (Odena et
                  al., 2017), returned as the extra output 'class_logits'.
    Other modes (none; concat, which conditions D at its input with ``label_maps``) leave l as
    it is. The mlp, dcgan and resnet discriminators share it."""

    def __init__(self, features: int, num_classes: int | None, conditioning: str, sn: bool):
        super().__init__()
        self.conditioning = conditioning if num_classes else "none"
        if self.conditioning == "projection":
            self.embed = spectral(nn.Embedding(num_classes, features), sn)
        if self.conditioning == "acgan":
            self.classifier = spectral(nn.Linear(features, num_classes), sn)

    def forward(self, logits: Tensor, h: Tensor, labels: Tensor | None) -> Tensor | DOutput:
        if self.conditioning == "projection":
            return logits + (self.embed(labels) * h).sum(dim=1)
        if self.conditioning == "acgan":
            return DOutput(logits, {"class_logits": self.classifier(h)})
        return logits


def label_maps(x: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Concatenate one-hot label planes to images (N, C, H, W) or to flat samples (N, D)."""
    one_hot = F.one_hot(labels, num_classes).to(x.dtype)
    if x.dim() == 4:
        one_hot = one_hot[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, one_hot], dim=1)


def lowpass_kernel() -> Tensor:
    """The 4x4 bilinear filter, outer([1, 3, 3, 1]) / 64 (the [1, 2, 1] filter convolved with
    [1, 1]), as (1, 1, 4, 4)."""
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    kernel = torch.outer(taps, taps)
    return (kernel / kernel.sum()).view(1, 1, 4, 4)


class LowpassDownsample(nn.Module):
    """2x downsampling after the [1, 3, 3, 1] low-pass filter, per channel (StyleGAN2's blur
    before a strided conv, R3GAN's downsampling)."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("kernel", lowpass_kernel().repeat(channels, 1, 1, 1),
                             persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.kernel.to(x.dtype), stride=2, padding=1, groups=x.shape[1])
