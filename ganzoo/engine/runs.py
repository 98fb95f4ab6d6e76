"""The run folder: the resolved recipe, metrics as JSON lines, sample pictures and checkpoints."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf


class RunFolder:
    """Everything one run writes, in one folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @classmethod
    def create(cls, recipe: DictConfig, name: str, run_dir: str | None = None) -> RunFolder:
        """Make ``run_dir`` (default ``runs/<name>-<timestamp>``) and write the resolved recipe."""
        if run_dir:
            path = Path(run_dir)
        else:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = Path("runs") / f"{name}-{stamp}"
            n = 1
            while path.exists():
                n += 1
                path = Path("runs") / f"{name}-{stamp}-{n}"
        run = cls(path)
        for folder in (run.path, run.samples_dir, run.checkpoints_dir):
            folder.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(recipe, run.recipe_path, resolve=True)
        return run

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

    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON line to metrics.jsonl."""
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

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
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
        tmp.replace(self.metrics_path)

    def log_eval(self, record: dict[str, Any]) -> None:
        """Append one evaluation made during training to eval.jsonl."""
        with open(self.path / "eval.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        with open(self.metrics_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
