"""The reference code's 'linear' learning-rate policy for CycleGAN and pix2pix: the full rate
for the first part of the run, then a linear decay to ``final`` x lr at the last step."""

from __future__ import annotations

from ganzoo_builtins.schedules.factors import Linear


class DelayedLinear(Linear):
    def __init__(self, warmup: int = 0, final: float = 0.0, hold: float = 0.5):
        super().__init__(warmup, final)
        self.hold = hold

    def progress(self, step: int, total_steps: int) -> float:
        """0 up to the end of the hold (and any warm-up), 1 at the last step."""
        held = max(self.warmup, round(self.hold * total_steps))
        return min(1.0, max(0, step - held) / max(1, total_steps - held))
