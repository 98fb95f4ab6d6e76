"""The learning-rate decay of BEGAN's reference code: the rate halved every ``every`` steps."""

from __future__ import annotations

from ganzoo.interfaces import Schedule


class Halving(Schedule):
    """factor**k after k whole periods of ``every`` steps: 1 for steps 1..every, then
    ``factor``, ...; a pure function of the step, so a resumed run continues it exactly."""

    def __init__(self, every: int, factor: float):
        self.every, self.by = every, factor

    def factor(self, step: int, total_steps: int) -> float:
        return self.by ** ((step - 1) // self.every)
