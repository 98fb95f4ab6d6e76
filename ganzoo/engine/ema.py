"""An exponential moving average of G's weights, used for samples and evaluation when on."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

#: Batches of fresh latents that BatchNorm's running statistics are recomputed from.
CALIBRATION_BATCHES = 16


class EMA:
    """ema <- decay * ema + (1 - decay) * weights, after every G update; buffers are copied.

    BatchNorm's copied running statistics belong to the live weights, not to their average:
    in eval mode an averaged G normalized with them can be far off (on the quickstart with EMA
    0.999, 27% of samples near a mode against 70% with the averaged G's own statistics).
    ``calibrate`` recomputes them from the averaged weights (BigGAN's "standing statistics",
    SWA's ``update_bn``) before the EMA is used; the next update copies the live ones again,
    so training itself never sees the recomputed ones.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.norms = [m for m in self.model.modules()
                      if isinstance(m, _BatchNorm) and m.track_running_stats]
        self.calibrated = not self.norms

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float | None = None) -> None:
        """One step of the average; ``decay`` 0 copies the weights (before train.ema_start)."""
        decay = self.decay if decay is None else decay
        torch._foreach_lerp_(list(self.model.parameters()), list(model.parameters()),
                             1.0 - decay)
        for mine, theirs in zip(self.model.buffers(), model.buffers(), strict=True):
            mine.copy_(theirs)
        self.calibrated = not self.norms

    @torch.no_grad()
    def calibrate(self, inputs: Callable[[], Iterable[tuple[Tensor, Tensor | None]]]) -> None:
        """Recompute BatchNorm's running statistics as the plain average over the batches of
        G inputs (z, labels) that ``inputs()`` yields; nothing to do without BatchNorm or
        when already done since the last update."""
        if self.calibrated:
            return
        momenta = [norm.momentum for norm in self.norms]
        for norm in self.norms:
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative average over the calibration batches
        self.model.train()
        for z, labels in inputs():
            self.model(z, labels)
        self.model.eval()
        for norm, momentum in zip(self.norms, momenta, strict=True):
            norm.momentum = momentum
        self.calibrated = True


def calibration_inputs(G: nn.Module, role: Any, dataset: Any, n: int, num_classes: int | None,
                       device: torch.device, seed: int) -> Iterator[tuple[Tensor, Tensor | None]]:
    """The G inputs ``EMA.calibrate`` averages over: the same batches at every call, drawn
    from an RNG (or a data stream) of their own, so that training's are untouched. A G fed
    noise gets z (and drawn labels); a G with an input the data's input field."""
    if role.input is not None:
        data = dataset.batches(n, device, seed)
        for _ in range(CALIBRATION_BATCHES):
            batch = next(data)
            yield batch[role.input], batch.labels if num_classes else None
        return
    rng = torch.Generator(device=device).manual_seed(seed)
    for _ in range(CALIBRATION_BATCHES):
        z = G.sample_latent(n, device, rng)
        yield z, (torch.randint(num_classes, (n,), device=device, generator=rng)
                  if num_classes else None)
