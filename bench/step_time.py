"""Milliseconds per training step of a recipe's Trainer.step on one CPU thread, after a warm-up.

    python bench/step_time.py [--recipe recipes/quickstart.yaml] [--steps 500] [--warmup 50]

On the quickstart (an MLP on the 25-Gaussian grid) the engine's own per-step cost shows most:
the networks are tiny. To compare two versions of ganzoo, run it alternately from each tree,
e.g. `PYTHONPATH=OLD:OLD/plugins python OLD/bench/step_time.py` then the same for the new one,
several times: the run-to-run spread on a shared 2-core machine is several per cent.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "quickstart.yaml")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from ganzoo.components import build_components
    from ganzoo.engine.runs import RunFolder
    from ganzoo.engine.trainer import Trainer
    from ganzoo.plugins import load_registry
    from ganzoo.recipe import load_recipe, train_options

    with tempfile.TemporaryDirectory() as folder:
        registry = load_registry()
        run_dir = str(Path(folder) / "run")
        recipe = load_recipe(args.recipe, ["train.device=cpu", f"train.run_dir={run_dir}"],
                             registry)
        components = build_components(recipe, registry)
        trainer = Trainer(components, train_options(recipe),
                          RunFolder.create(recipe, "bench", run_dir), recipe)
        batches = components.dataset.batches(int(recipe.train.batch_size), trainer.device, 0)
        for step in range(args.warmup + args.steps):
            if step == args.warmup:
                start = time.perf_counter()
            trainer.step_done = step
            trainer.step(batches)
        per_step = (time.perf_counter() - start) / args.steps
    print(f"{args.recipe.name}: {per_step * 1000:.3f} ms per step ({args.steps} steps after "
          f"{args.warmup} warm-up, 1 thread, torch {torch.__version__})")


if __name__ == "__main__":
    main()
