"""Where a run computes, and how it stays reproducible: the device and every RNG's state."""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from ganzoo.errors import GanzooError


def pick_device(name: str = "auto", where: str = "train.device") -> torch.device:
    """cuda, then mps, then cpu for 'auto'; otherwise the device named, if it is there.
    ``where`` names the option in errors ('--device' for the commands)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    known = name in ("cpu", "cuda", "mps") or (name.startswith("cuda:")
                                                and name[5:].isdigit())
    if not known:
        raise GanzooError(f"{where}: must be auto, cpu, cuda, cuda:N or mps (got {name!r})")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GanzooError(f"{where}: {name!r} asked for, but no CUDA GPU is available; "
                          "use auto or cpu")
    if name.startswith("cuda:") and int(name[5:]) >= torch.cuda.device_count():
        raise GanzooError(f"{where}: {name!r} asked for, but this machine has "
                          f"{torch.cuda.device_count()} CUDA device(s)")
    if name == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        raise GanzooError(f"{where}: 'mps' asked for, but it is not available; use auto or cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # numpy is optional for the loop itself
        pass


def rng_state() -> dict[str, Any]:
    """Every RNG's state as tensors and plain values (loadable with weights_only=True)."""
    import numpy as np

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np

    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


# Where torch implements all four speed options (bf16 autocast, channels_last, fused Adam,
# torch.compile). Elsewhere (mps) they are noted and left off.
SPEED_OPTION_DEVICES = ("cuda", "cpu")


class Runtime:
    """The device a run trains on and the speed options that apply there (train.precision,
    channels_last, fused_adam, compile): how networks are placed, wrapped and called."""

    def __init__(self, options: Any, dist: Any, images: bool):
        self.dist = dist
        self.device = self._device(options.device)
        self.notes: list[str] = []  # options that do nothing on this device, said once
        self.bf16 = self._speed_option("precision", options.precision == "bf16")
        self.channels_last = self._speed_option("channels_last", options.channels_last) and images
        self.fused_adam = self._speed_option("fused_adam", options.fused_adam)
        self.compile = self._speed_option("compile", options.compile)

    def _device(self, name: str) -> torch.device:
        if self.dist.enabled and torch.cuda.is_available() and name != "cpu":
            return torch.device("cuda", self.dist.local_rank)
        return pick_device(name)

    def _speed_option(self, name: str, wanted: bool) -> bool:
        if wanted and self.device.type not in SPEED_OPTION_DEVICES:
            self.notes.append(f"train.{name} is not supported on {self.device.type}: it is "
                              "left off")
            return False
        return wanted

    def place(self, module: torch.nn.Module) -> torch.nn.Module:
        """The module on the device, in channels-last memory format where that is on."""
        module = module.to(self.device)
        return module.to(memory_format=torch.channels_last) if self.channels_last else module

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """How the step calls a network: in DDP under torchrun, compiled where asked."""
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            # Buffers stay per rank: re-broadcasting BatchNorm statistics between D's real and
            # fake passes would modify tensors autograd still needs.
            module = DDP(module, device_ids=ids, broadcast_buffers=False)
        return torch.compile(module) if self.compile else module

    def frozen(self, module: torch.nn.Module) -> torch.nn.Module:
        """How another network's update calls a D: its own module, so no DDP gradient sync."""
        return torch.compile(module) if self.compile else module

    def autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def prepare(self, batch: Any) -> Any:
        """A real batch as the networks take it: image fields in channels-last format."""
        if not self.channels_last:
            return batch
        return batch.map(lambda t: t.contiguous(memory_format=torch.channels_last)
                         if t.dim() == 4 else t)


@contextmanager
def stop_on_signals(trainer: Any) -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM (what schedulers send before they kill a job) ask the loop to
    finish its step and write a checkpoint; a second signal acts as it normally would."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def ask_to_stop(signum: int, frame: Any) -> None:
        trainer.stop_signal = signum
        signal.signal(signum, previous[signum])

    for signum in previous:
        signal.signal(signum, ask_to_stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
