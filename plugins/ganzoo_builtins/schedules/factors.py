"""The schedules' factors: warm-up, then constant, linear, delayed linear or cosine, from
``initial`` to ``final``."""

from __future__ import annotations

import math

from ganzoo.interfaces import Schedule


class Constant(Schedule):
    def __init__(self, warmup: int = 0):
        self.warmup = warmup

    def factor(self, step: int, total_steps: int) -> float:
        if step <= self.warmup:  # up to the schedule's first factor
            return step / self.warmup * self.decay(0.0)
        return self.decay(self.progress(step, total_steps))

    def progress(self, step: int, total_steps: int) -> float:
        """How far the decay has gone: 0 at the first step after warm-up, 1 at the last."""
        span = max(1, total_steps - self.warmup - 1)
        return min(1.0, max(0, step - self.warmup - 1) / span)

    def decay(self, progress: float) -> float:
        return 1.0


class Linear(Constant):
    def __init__(self, warmup: int = 0, final: float = 0.0, initial: float = 1.0):
        super().__init__(warmup)
        self.final, self.initial = final, initial

    def decay(self, progress: float) -> float:
        return self.initial + (self.final - self.initial) * progress


class Cosine(Linear):
    def decay(self, progress: float) -> float:
        return self.final + (self.initial - self.final) * 0.5 * (1.0 + math.cos(math.pi * progress))


class DelayedLinear(Linear):
    """The pix2pix/CycleGAN reference code's 'linear' policy: the full rate for the first
    ``hold`` of the run, then a linear decay to ``final`` x lr at the last step."""

    def __init__(self, warmup: int = 0, final: float = 0.0, hold: float = 0.5,
                 initial: float = 1.0):
        super().__init__(warmup, final, initial)
        self.hold = hold

    def progress(self, step: int, total_steps: int) -> float:
        """0 up to the end of the hold (and any warm-up), 1 at the last step."""
        held = max(self.warmup, round(self.hold * total_steps))
        return min(1.0, max(0, step - held) / max(1, total_steps - held))
