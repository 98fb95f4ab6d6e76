"""Where a run computes, and how it stays reproducible: the device and every RNG's state."""

from __future__ import annotations

import random
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
