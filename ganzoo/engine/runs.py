"""The run folder: the resolved recipe, metrics as JSON lines, sample pictures and checkpoints.

A new run never writes into a folder that already holds a run, and a running process holds a
lock on its folder, so a second ``run`` or ``resume`` on it stops with one line, touching nothing.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import IO, Any

from omegaconf import DictConfig, OmegaConf

from ganzoo.errors import GanzooError

#: what only a run writes: a folder holding any of these holds a run
RUN_FILES = ("recipe.yaml", "metrics.jsonl", "run.json", "checkpoints", "samples")


class RunFolder:
    """Everything one run writes, in one folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock: IO[str] | None = None

    @classmethod
    def create(cls, recipe: DictConfig, name: str, run_dir: str | None = None) -> RunFolder:
        """Make a new run folder, locked, and write the resolved recipe into it: ``run_dir``
        (new or empty), or by default ``runs/<name>-<timestamp>``."""
        run = cls(Path(run_dir) if run_dir else claim_new_folder(name))
        if run_dir:
            if run.path.exists() and not run.path.is_dir():
                raise GanzooError(f"train.run_dir: '{run.path}' is a file, not a folder; "
                                  "choose a folder for the run")
            try:
                run.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise GanzooError(f"train.run_dir: cannot create '{run.path}' "
                                  f"({exc.strerror or exc}); choose a writable folder") from None
        run.lock()
        if run_dir and run.holds_run():
            run.unlock()
            raise GanzooError(f"train.run_dir: '{run.path}' already holds a run; continue it "
                              f"with 'ganzoo resume {run.path}', or choose a new folder")
        for folder in (run.samples_dir, run.checkpoints_dir):
            folder.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(recipe, run.recipe_path, resolve=True)
        return run

    def holds_run(self) -> bool:
        return any((self.path / name).exists() for name in RUN_FILES)

    def lock(self) -> None:
        """Take the folder's lock (``run.lock``), or stop if another process holds it. The
        operating system releases it when this process ends, however it ends."""
        try:
            import fcntl
        except ImportError:  # no flock (Windows): runs are not locked there
            return
        try:
            handle = open(self.path / "run.lock", "a+", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise GanzooError(f"'{self.path}': cannot write into this run folder "
                              f"({exc.strerror or exc}); choose a writable place") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise GanzooError(f"'{self.path}' is in use by another ganzoo process ({holder}); "
                              "wait for it to end or stop it, or choose another folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    @property
    def recipe_path(self) -> Path:
        return self.path / "recipe.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step_{step:07d}.png"

    def sample_pictures(self) -> list[Path]:
        """The sample pictures, oldest first: regular files inside the run folder only (a link
        to a file elsewhere is never read, so a report never embeds what is not the run's)."""
        inside = self.path.resolve()
        return [p for p in sorted(self.samples_dir.glob("step_*.png"))
                if p.is_file() and not p.is_symlink() and p.resolve().is_relative_to(inside)]

    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON line to metrics.jsonl (NaN and infinities written as null)."""
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json_line(record))

    @property
    def meta_path(self) -> Path:
        return self.path / "run.json"

    def write_meta(self, meta: dict[str, Any]) -> None:
        """What later tools need to read the run's pictures: sample kind and shape."""
        self.meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    def read_meta(self) -> dict[str, Any]:
        if not self.meta_path.exists():
            return {}
        return json.loads(self.meta_path.read_text(encoding="utf-8"))

    def truncate_metrics(self, step: int) -> None:
        """Forget metrics logged after ``step`` (a resumed run logs them again)."""
        kept = [r for r in self.read_metrics() if r["step"] <= step]
        tmp = self.metrics_path.with_name(".metrics.jsonl.tmp")
        tmp.write_text("".join(json_line(r) for r in kept), encoding="utf-8")
        tmp.replace(self.metrics_path)

    def log_eval(self, record: dict[str, Any]) -> None:
        """Append one evaluation made during training to eval.jsonl."""
        with open(self.path / "eval.jsonl", "a", encoding="utf-8") as f:
            f.write(json_line(record))

    def read_metrics(self) -> list[dict[str, Any]]:
        """The metric records; a last line cut short (a crash while writing) is skipped."""
        return read_json_lines(self.metrics_path)


def claim_new_folder(name: str) -> Path:
    """runs/<name>-<timestamp>, made here and now: two runs started in the same second get
    different folders (-2, -3, ...)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    Path("runs").mkdir(exist_ok=True)
    n = 1
    while True:
        path = Path("runs") / (f"{name}-{stamp}" if n == 1 else f"{name}-{stamp}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1


def json_line(record: dict[str, Any]) -> str:
    """One line of strict JSON: NaN and infinities (not JSON) become null."""
    def finite(value: Any) -> Any:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    return json.dumps({key: finite(value) for key, value in record.items()},
                      allow_nan=False) + "\n"


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file. A last line cut short (a crash while it was written) is
    skipped; a damaged line before it is an error naming it."""
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GanzooError(f"'{path}' is not a text file of JSON lines (it holds binary data); "
                          "restore it from a copy or move it away") from None
    lines = [line for line in text.splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise GanzooError(f"'{path}' line {number} is not valid JSON; fix or delete that "
                              "line") from None
        step = record.get("step") if isinstance(record, dict) else None
        if not isinstance(step, int) or isinstance(step, bool):
            raise GanzooError(f"'{path}' line {number} is not a record (a JSON object whose "
                              "'step' is a whole number); fix or delete that line")
        records.append(record)
    return records
