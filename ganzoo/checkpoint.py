"""Checkpoints: written atomically, read back with ``weights_only=True``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import GanzooError


def save_atomic(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to a temporary file, flush and fsync it, then rename it over ``path``.

    A crash at any moment leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint safely (tensors and plain containers only) onto the CPU."""
    path = Path(path)
    if not path.is_file():
        raise GanzooError(f"Checkpoint not found: '{path}'.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise GanzooError(
            f"Checkpoint '{path}' cannot be read ({first}); it may be truncated or corrupt."
        ) from None
    if not isinstance(state, dict):
        raise GanzooError(f"Checkpoint '{path}' does not hold a ganzoo checkpoint.")
    return state


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
