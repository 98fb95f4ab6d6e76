"""StyleGAN2's path length regularizer (Karras et al., 2020, Sec. 3.2, Eq. 4)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ganzoo.engine.distributed import mean_across_ranks
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Regularizer, StepContext


class PathLength(Regularizer):
    """E[(|J_w^T y| - a)^2] on a fresh batch of G's images (the training batch over
    ``batch_shrink``), y ~ N(0, I) / sqrt(H W) an image of noise, J_w the Jacobian of the image
    with respect to the w's, and a the running mean of |J_w^T y| (rate ``decay``; over every
    rank's batch under torchrun), kept in the state so that a resumed run continues it.
    |J_w^T y| is the norm over w's entries of the gradient, its square averaged over the
    layers' w's, as the paper's code computes it.

    It needs a generator that hands out its w's: ``images_and_ws(n, device)`` -> (images,
    ws), the w's in the graph (the stylegan2 generator)."""

    player = "generator"

    def __init__(self, decay: float = 0.01, batch_shrink: int = 2):
        self.decay, self.batch_shrink = decay, batch_shrink
        self.mean = torch.zeros(())

    def penalty(self, ctx: StepContext) -> Tensor:
        G = ctx.networks[ctx.player]
        if not callable(getattr(G, "images_and_ws", None)):
            raise GanzooError(f"regularizers: path_length needs a generator that returns its "
                              f"w's (such as stylegan2); role {ctx.player!r} is a "
                              f"{type(G).__name__}")
        device = ctx.fake_x.device
        images, ws = G.images_and_ws(max(1, len(ctx.fake) // self.batch_shrink), device)
        lengths = self.lengths(images, ws)
        mean = self.mean.to(device).lerp(mean_across_ranks(lengths.mean()), self.decay)
        self.mean = mean
        return (lengths - mean).square().mean()

    @staticmethod
    def lengths(images: Tensor, ws: Tensor) -> Tensor:
        """|J_w^T y| per sample, y ~ N(0, I) / sqrt(H W), kept in the graph."""
        y = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
        (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
        return grad.float().square().sum(dim=2).mean(dim=1).sqrt()

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.detach().cpu().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "mean" in state:
            self.mean = torch.as_tensor(state["mean"], dtype=torch.float32).clone()
