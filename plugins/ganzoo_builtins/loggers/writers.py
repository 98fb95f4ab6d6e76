"""The TensorBoard and Weights & Biases loggers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from ganzoo.interfaces import Logger
from ganzoo_builtins.loggers import TensorBoardOptions, WandbOptions

SKIPPED = ("step", "elapsed_s")  # not curves worth drawing


def image_grid(images: Tensor) -> Tensor:
    """(N, C, H, W) in [-1, 1] -> one (C, H', W') grid in [0, 1]."""
    from torchvision.utils import make_grid

    return make_grid(images[:64].float().cpu(), normalize=True, value_range=(-1, 1))


class TensorBoardLogger(Logger):
    def __init__(self, options: TensorBoardOptions):
        self.options = options
        self.writer: Any = None

    def open(self, run_dir: Path, recipe: Mapping[str, Any], step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(self.options.log_dir or str(run_dir / "tensorboard"),
                                    purge_step=step or None)

    def log_metrics(self, values: Mapping[str, float], step: int) -> None:
        for name, value in values.items():
            if name not in SKIPPED and value is not None:
                self.writer.add_scalar(name, value, step)

    def log_images(self, name: str, images: Tensor, step: int) -> None:
        if self.options.images:
            self.writer.add_image(name, image_grid(images), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


#: seconds to wait for the W&B server before logging offline (wandb.init itself would wait
#: minutes, then fail)
REACH_TIMEOUT = 3.0


def wandb_server() -> str:
    return os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai"


def unreachable(url: str, timeout: float = REACH_TIMEOUT) -> str | None:
    """Why the server at ``url`` cannot be reached within ``timeout`` seconds; None if it can."""
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(url)
    host, port = parsed.hostname or url, parsed.port or (80 if parsed.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"{host}:{port} cannot be reached ({exc.strerror or type(exc).__name__})"
    return None


class WandbLogger(Logger):
    """One W&B run per run folder: its id is kept in the folder (wandb_run_id), so that a
    resumed run continues the same W&B run."""

    def __init__(self, options: WandbOptions):
        self.options = options
        self.run: Any = None

    def open(self, run_dir: Path, recipe: Mapping[str, Any], step: int) -> None:
        import wandb

        id_file = run_dir / "wandb_run_id"
        run_id = id_file.read_text().strip() if id_file.is_file() else None
        if not run_id:
            run_id = uuid.uuid4().hex[:12]  # W&B run ids: letters and digits
            id_file.write_text(run_id + "\n")
        o = self.options
        mode = o.mode or os.environ.get("WANDB_MODE") or "online"
        if mode == "online" and (problem := unreachable(wandb_server())) is not None:
            from ganzoo.console import warn

            warn(f"wandb: {problem}; logging offline into {run_dir / 'wandb'} instead (upload it "
                 "later with 'wandb sync')")
            mode = "offline"
        self.run = wandb.init(project=o.project, entity=o.entity, name=o.name or run_dir.name,
                              id=run_id, resume="allow", dir=str(run_dir), config=dict(recipe),
                              mode=mode)

    def log_metrics(self, values: Mapping[str, float], step: int) -> None:
        self.run.log({k: v for k, v in values.items() if k not in SKIPPED}, step=step)

    def log_images(self, name: str, images: Tensor, step: int) -> None:
        if self.options.images:
            import wandb

            grid = image_grid(images).permute(1, 2, 0).mul(255).round().byte().numpy()
            self.run.log({name: wandb.Image(grid)}, step=step)

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
