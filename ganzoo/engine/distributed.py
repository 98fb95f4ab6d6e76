"""Several processes through torchrun and DistributedDataParallel; one process otherwise.

    torchrun --nproc_per_node=N -m ganzoo run recipe.yaml

train.batch_size is per process (per GPU): the global batch is batch_size x WORLD_SIZE.
Each rank draws its own data and latents (its seed is train.seed + rank); rank 0 alone writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device_option: str) -> Dist:
    """Join the process group torchrun describes in the environment (gloo on CPU, nccl on GPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Dist()
    import torch.distributed as dist

    use_cuda = torch.cuda.is_available() and device_option != "cpu"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank)


def broadcast(value: Any, d: Dist) -> Any:
    """Rank 0's value, on every rank."""
    if not d.enabled:
        return value
    import torch.distributed as dist

    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def all_gather(value: Any, d: Dist) -> list[Any]:
    """Every rank's value, in rank order, on every rank."""
    if not d.enabled:
        return [value]
    import torch.distributed as dist

    values: list[Any] = [None] * d.world_size
    dist.all_gather_object(values, value)
    return values


def any_rank(flag: bool, d: Dist, device: torch.device) -> bool:
    """Whether the flag is set on any rank (a collective call: every rank takes part)."""
    if not d.enabled:
        return flag
    import torch.distributed as dist

    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def parameters_agree(module: torch.nn.Module, d: Dist) -> bool:
    """Whether every rank holds the same parameters (a checksum compared across ranks)."""
    if not d.enabled:
        return True
    import torch.distributed as dist

    with torch.no_grad():
        checksum = torch.stack([p.detach().double().sum() for p in module.parameters()]).sum()
        low, high = checksum.clone().view(1), checksum.clone().view(1)
    if torch.cuda.is_available() and low.device.type != "cuda" and dist.get_backend() == "nccl":
        low, high = low.cuda(), high.cuda()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    return bool(low.item() == high.item())


def teardown(d: Dist) -> None:
    if d.enabled:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()


def mean_across_ranks(value: torch.Tensor) -> torch.Tensor:
    """The mean of ``value`` over the processes of torchrun (``value`` itself in one process),
    detached, for the running statistics of a game or penalty (LeCam's anchors, ADA's r_t):
    every rank then holds the state one process would on the whole batch, and the checkpoint
    (rank 0's) resumes them all exactly. A collective call (every rank at the same point); the
    value stays on its device."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return value.detach()
    total = value.detach().clone()
    dist.all_reduce(total)  # a sum: gloo has no average
    return total / dist.get_world_size()
