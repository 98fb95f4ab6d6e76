"""Schedules: constant, linear, delayed_linear, cosine. A learning rate follows one
(optim_g.schedule / optim_d.schedule), and so can Adam's beta2 (optim_*.beta2_schedule), a
penalty's weight (regularizers[i].schedule) and the EMA's half-life (train.ema_schedule).

Each is a factor as a pure function of the step, so a resumed run continues it exactly; a
decay goes from ``initial`` (1 unless set) to ``final`` over the run, and ``warmup`` steps ramp
the factor linearly from 1/warmup of its first value up to it first.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl


@dataclass
class ScheduleOptions:
    warmup: int = 0  # steps of linear warm-up before the schedule proper

    def __post_init__(self) -> None:
        if self.warmup < 0:
            raise ValueError(f"warmup: must be >= 0 (got {self.warmup!r})")


@dataclass
class DecayOptions(ScheduleOptions):
    final: float = 0.0  # the factor reached at the last step
    initial: float = 1.0  # the factor at the first step (0 with final 1: a rise, R3GAN's EMA)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("final", "initial"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}: must be in [0, 1] (got {getattr(self, name)!r})")


@dataclass
class DelayedLinearOptions(DecayOptions):
    hold: float = 0.5  # the share of the run at the full lr before the decay begins

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.hold < 1:
            raise ValueError(f"hold: must be in [0, 1) (got {self.hold!r})")


def build_constant(options: ScheduleOptions):
    """constant: the optimizer's lr throughout (after any warm-up); the default"""
    from ganzoo_builtins.schedules.factors import Constant

    return Constant(options.warmup)


def build_linear(options: DecayOptions):
    """linear: decay from lr (or initial*lr) to final*lr over the run, as SNGAN and Mimicry do"""
    from ganzoo_builtins.schedules.factors import Linear

    return Linear(options.warmup, options.final, options.initial)


def build_cosine(options: DecayOptions):
    """cosine: half a cosine from lr (or initial*lr) to final*lr over the run"""
    from ganzoo_builtins.schedules.factors import Cosine

    return Cosine(options.warmup, options.final, options.initial)


def build_delayed_linear(options: DelayedLinearOptions):
    """delayed_linear: lr for the first hold of the run, then linear to final*lr (pix2pix's
    and CycleGAN's 'linear' policy)"""
    from ganzoo_builtins.schedules.factors import DelayedLinear

    return DelayedLinear(options.warmup, options.final, options.hold, options.initial)


@hookimpl
def ganzoo_register_schedules(register):
    register("constant", build_constant, options=ScheduleOptions)
    register("linear", build_linear, options=DecayOptions)
    register("delayed_linear", build_delayed_linear, options=DelayedLinearOptions)
    register("cosine", build_cosine, options=DecayOptions)
