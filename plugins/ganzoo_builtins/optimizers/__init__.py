"""Optimizers, one per player (recipe sections optim_g and optim_d): Adam, AdamW, RMSprop, SGD.

Adam with DCGAN's betas (0.5, 0.999) and lr 2e-4 is the default of both players. TTUR
(Heusel et al., 2017) is two learning rates: optim_g.lr and optim_d.lr.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ganzoo import hookimpl
from ganzoo.options import positive


def _check_common(options) -> None:
    positive("lr", options.lr)
    if options.weight_decay < 0:
        raise ValueError(f"weight_decay: must be >= 0 (got {options.weight_decay!r})")


@dataclass
class AdamOptions:
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])  # DCGAN's beta1 = 0.5
    eps: float = 1e-8
    weight_decay: float = 0.0  # L2 added to the gradient (AdamW decouples it)
    fused: bool = False  # one fused kernel (CUDA, CPU); train.fused_adam sets it too

    def __post_init__(self) -> None:
        _check_common(self)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas: must be two numbers in [0, 1) (got {list(self.betas)!r})")
        positive("eps", self.eps)


@dataclass
class AdamWOptions(AdamOptions):
    weight_decay: float = 0.01  # decoupled weight decay (Loshchilov & Hutter, 2019)


@dataclass
class RMSpropOptions:
    lr: float = 5e-5  # WGAN's (Arjovsky et al., 2017)
    alpha: float = 0.99  # smoothing of the squared-gradient average
    eps: float = 1e-8
    momentum: float = 0.0
    centered: bool = False
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _check_common(self)
        if not 0 <= self.alpha < 1:
            raise ValueError(f"alpha: must be in [0, 1) (got {self.alpha!r})")
        positive("eps", self.eps)


@dataclass
class SGDOptions:
    lr: float = 1e-2
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _check_common(self)
        if self.nesterov and self.momentum <= 0:
            raise ValueError("nesterov: needs momentum > 0")


def build_adam(options: AdamOptions, params):
    """Adam (Kingma & Ba, 2015): the default, lr 2e-4, betas (0.5, 0.999) as in DCGAN"""
    import torch

    return torch.optim.Adam(params, lr=options.lr, betas=tuple(options.betas), eps=options.eps,
                            weight_decay=options.weight_decay,
                            **({"fused": True} if options.fused else {}))


def build_adamw(options: AdamWOptions, params):
    """AdamW: Adam with decoupled weight decay (default 0.01)"""
    import torch

    return torch.optim.AdamW(params, lr=options.lr, betas=tuple(options.betas), eps=options.eps,
                             weight_decay=options.weight_decay,
                             **({"fused": True} if options.fused else {}))


def build_rmsprop(options: RMSpropOptions, params):
    """RMSprop: WGAN's optimizer, lr 5e-5 by default"""
    import torch

    return torch.optim.RMSprop(params, lr=options.lr, alpha=options.alpha, eps=options.eps,
                               momentum=options.momentum, centered=options.centered,
                               weight_decay=options.weight_decay)


def build_sgd(options: SGDOptions, params):
    """SGD, with optional (Nesterov) momentum"""
    import torch

    return torch.optim.SGD(params, lr=options.lr, momentum=options.momentum,
                           nesterov=options.nesterov, weight_decay=options.weight_decay)


@hookimpl
def ganzoo_register_optimizers(register):
    register("adam", build_adam, options=AdamOptions)
    register("adamw", build_adamw, options=AdamWOptions)
    register("rmsprop", build_rmsprop, options=RMSpropOptions)
    register("sgd", build_sgd, options=SGDOptions)
