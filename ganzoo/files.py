"""Writing files so that nothing already written is lost: a temporary file, flushed and synced,
then renamed over the target. For plugins too (caches, downloaded weights, classifiers)."""

from __future__ import annotations

import contextlib
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
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as RuntimeError
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)  # a partial file would keep the disk full
        raise CheckpointWriteError(
            f"Could not write '{path}' ({write_failure(exc, path.parent)}); the files written "
            "before it are intact. "
            "Free some space (or choose a writable place) and resume.") from exc
    _fsync_dir(path.parent)
    return path


def write_failure(exc: BaseException, folder: Path) -> str:
    """Why a write failed, in a few words: the OS's reason, or torch's (which reports a full
    disk as a RuntimeError about its zip writer)."""
    import shutil

    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    try:
        if shutil.disk_usage(folder).free < (1 << 20):
            return "No space left on device"
    except OSError:
        pass
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]


class CheckpointWriteError(GanzooError):
    """A checkpoint (or cache file) could not be written: the disk is full or read-only."""


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
