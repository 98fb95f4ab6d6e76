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
    import pickle
    import warnings

    try:
        with warnings.catch_warnings():  # torch's own advice must not reach the user
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise GanzooError(
            f"Checkpoint '{path}' holds objects that a safe load refuses: it was not written "
            "by ganzoo, or it was tampered with. ganzoo does not load it."
        ) from None
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
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


class UnusableCheckpoints(GanzooError):
    """Every checkpoint of a folder failed to load; ``problems`` says why, file by file."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(message)
        self.problems = problems


class CheckpointStore:
    """``step_NNNNNNN.pt`` files in one folder: the newest ``keep`` are kept."""

    def __init__(self, folder: str | Path, keep: int = 3):
        self.folder, self.keep = Path(folder), keep

    def path(self, step: int) -> Path:
        return self.folder / f"step_{step:07d}.pt"

    def all(self) -> list[Path]:
        """Checkpoint files, oldest first, ordered by their step (not by name)."""
        return sorted((p for p in self.folder.glob("step_*.pt") if step_of(p) is not None),
                      key=step_of)

    def save(self, state: dict[str, Any]) -> Path:
        """Write the checkpoint, then keep the newest ``keep`` complete ones: a damaged file is
        never counted among them, so it never costs a good one its place."""
        path = save_atomic(state, self.path(int(state["step"])))
        complete = [p for p in self.all() if looks_complete(p)]
        for old in complete[:-self.keep]:
            old.unlink(missing_ok=True)
        return path

    def latest_good(self) -> tuple[dict[str, Any], Path, list[str]]:
        """The newest checkpoint that loads, and one line for each newer one that did not."""
        problems: list[str] = []
        for path in reversed(self.all()):
            try:
                return load_checkpoint(path), path, problems
            except GanzooError as exc:
                problems.append(str(exc))
        if not problems:
            raise GanzooError(f"No checkpoint in '{self.folder}' (no step_*.pt files): the run "
                              "has not reached its first checkpoint.")
        raise UnusableCheckpoints(
            f"No usable checkpoint in '{self.folder}': all {len(problems)} are unreadable "
            "(truncated or corrupt; --debug lists them).", problems)


def step_of(path: Path) -> int | None:
    """12 for step_0000012.pt; None for a name that is not a checkpoint's."""
    try:
        return int(path.stem.removeprefix("step_"))
    except ValueError:
        return None


def looks_complete(path: Path) -> bool:
    """Whether a checkpoint file is whole, cheaply: torch.save writes a zip archive, whose
    directory at the very end is missing from a truncated file."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return bool(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
