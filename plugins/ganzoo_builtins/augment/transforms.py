"""DiffAugment's three transforms, vectorized over the batch, x-flips, and the tuning of an
augmentation's probability p (ADA's heuristic).

Every transform draws from torch's global RNG on the batch's device (checkpoints restore it)
and is differentiable in its input. Samples that are not images (N, C, H, W) pass unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ganzoo.engine.distributed import mean_across_ranks
from ganzoo.interfaces import Augmentation


def per_sample(x: Tensor) -> Tensor:
    """U(0, 1) of shape (N, 1, 1, 1)."""
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)


def color(x: Tensor) -> Tensor:
    """Brightness +U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5), per sample."""
    x = x + (per_sample(x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (per_sample(x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (per_sample(x) + 0.5) + mean


def translation(x: Tensor, ratio: float) -> Tensor:
    """Shift each image by whole pixels, up to ratio x its size each way; zeros come in."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if sy == 0 and sx == 0:
        return x
    dy = torch.randint(-sy, sy + 1, (n, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1), device=x.device)
    padded = torch.nn.functional.pad(x, (sx, sx, sy, sy))
    rows = torch.arange(h, device=x.device)[None, :] + sy - dy  # (N, H) in padded coordinates
    cols = torch.arange(w, device=x.device)[None, :] + sx - dx  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float) -> Tensor:
    """Zero a square of side ratio x the size at a random centre of each image."""
    n, _, h, w = x.shape
    half_h, half_w = int(h * ratio + 0.5) // 2, int(w * ratio + 0.5) // 2
    cy = torch.randint(0, h, (n, 1, 1), device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = ((ys - cy).abs() <= half_h) & ((xs - cx).abs() <= half_w)  # (N, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def flip(x: Tensor, p: float) -> Tensor:
    """Each image mirrored left to right with probability p, one draw per sample."""
    chosen = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p
    return torch.where(chosen, x.flip(3), x)


class XFlip(Augmentation):
    """Horizontal flips of D's inputs, real and fake, each with probability p."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, x: Tensor) -> Tensor:
        return flip(x, self.p) if x.dim() == 4 else x


class DiffAugment(Augmentation):
    def __init__(self, policy: list[str], translation: float = 0.125, cutout: float = 0.5):
        self.policy = list(policy)
        self.translation_ratio, self.cutout_ratio = translation, cutout

    def __call__(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            return x
        for name in self.policy:
            if name == "color":
                x = color(x)
            elif name == "translation":
                x = translation(x, self.translation_ratio)
            else:
                x = cutout(x, self.cutout_ratio)
        return x


class TunedProbability(Augmentation):
    """An augmentation applied with probability p. With a ``target``, every ``interval`` D
    updates p moves by sign(E[sign D(x)] - target) x (images seen) / speed, clamped to [0, 1]:
    up while D is too sure of the reals, down otherwise (ADA's heuristic); without one p stays
    as set. Everything stays on the device."""

    def __init__(self, *, target: float | None, interval: int, speed: int, p: float):
        self.target, self.interval, self.speed = target, interval, speed
        self.p = torch.tensor(float(p))
        self.signs = torch.zeros(())  # sum of sign(D(x)) since the last adjustment
        self.seen = 0  # images since the last adjustment
        self.observed = 0  # D updates since the last adjustment
        self.rt = torch.zeros(())  # the last E[sign D(x)], for the logs

    def observe(self, real_logits: Tensor) -> None:
        if self.target is None:
            return
        self.signs = self.signs.to(real_logits.device) + torch.sign(real_logits).sum()
        self.seen += real_logits.shape[0]
        self.observed += 1
        if self.observed < self.interval:
            return
        self.rt = mean_across_ranks(self.signs) / self.seen  # every rank's batch alike
        step = torch.sign(self.rt - self.target) * (self.seen / self.speed)
        self.p = (self.p.to(self.rt.device) + step).clamp(0.0, 1.0)
        self.signs, self.seen, self.observed = torch.zeros_like(self.signs), 0, 0

    def log_values(self) -> dict[str, Tensor]:
        return {"p": self.p, "rt": self.rt} if self.target is not None else {"p": self.p}

    def state_dict(self) -> dict[str, Any]:
        return {"p": self.p.detach().cpu(), "signs": self.signs.detach().cpu(),
                "rt": self.rt.detach().cpu(), "seen": self.seen, "observed": self.observed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p, self.signs = state["p"].clone(), state["signs"].clone()
        self.rt = state["rt"].clone()
        self.seen, self.observed = int(state["seen"]), int(state["observed"])


class AdaptiveAugment(TunedProbability):
    """DiffAugment's policy on each sample with probability p, p tuned by ADA's heuristic."""

    def __init__(self, policy: list[str], translation: float, cutout: float, *, target: float,
                 interval: int, speed: int, p: float):
        super().__init__(target=target, interval=interval, speed=speed, p=p)
        self.policy = DiffAugment(policy, translation, cutout)

    def __call__(self, x: Tensor) -> Tensor:
        self.p = self.p.to(x.device)
        chosen = (torch.rand(x.shape[0], device=x.device) < self.p).view(-1, *[1] * (x.dim() - 1))
        return torch.where(chosen, self.policy(x), x)
