"""Loggers (train.loggers): TensorBoard and Weights & Biases receive a run's metrics, sample
grids and evaluations, beside the metrics.jsonl every run writes. Each needs its package:
pip install 'ganzoo[tensorboard]' or 'ganzoo[wandb]'."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of


@dataclass
class TensorBoardOptions:
    log_dir: str | None = None  # default: <run folder>/tensorboard
    images: bool = True  # sample grids as well as numbers


@dataclass
class WandbOptions:
    project: str = "ganzoo"
    entity: str | None = None  # your W&B user or team; default: your default entity
    name: str | None = None  # default: the run folder's name
    mode: str | None = None  # online | offline | disabled; default: $WANDB_MODE, else online
    images: bool = True  # sample grids as well as numbers

    def __post_init__(self) -> None:
        if self.mode is not None:
            one_of("mode", self.mode, ("online", "offline", "disabled"))


def require(package: str, extra: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise ImportError(f"the {package} package is not installed: pip install 'ganzoo[{extra}]'")


def build_tensorboard(options: TensorBoardOptions):
    """TensorBoard event files in the run folder (pip install 'ganzoo[tensorboard]')"""
    require("tensorboard", "tensorboard")
    from ganzoo_builtins.loggers.writers import TensorBoardLogger

    return TensorBoardLogger(options)


def build_wandb(options: WandbOptions):
    """Weights & Biases, online or offline; a resumed run continues its W&B run
    (pip install 'ganzoo[wandb]')"""
    require("wandb", "wandb")
    from ganzoo_builtins.loggers.writers import WandbLogger

    return WandbLogger(options)


@hookimpl
def ganzoo_register_loggers(register):
    register("tensorboard", build_tensorboard, options=TensorBoardOptions)
    register("wandb", build_wandb, options=WandbOptions)
