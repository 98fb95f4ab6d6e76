"""Helpers shared by the tests (importable as ``helpers``: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganzoo.components import build_components
from ganzoo.engine.runs import RunFolder
from ganzoo.engine.trainer import Trainer
from ganzoo.plugins import load_registry
from ganzoo.recipe import load_recipe, train_options
from ganzoo.registry import Registry

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
#: the quickstart without R1 and the lr decay (nor BatchNorm in G): tests of bit-exact resume across
#: processes and thread counts, of DDP and of compile check the engine, and batch statistics
#: summed in another order (another thread count) or a schedule would blur what they compare
PLAIN = ["generator.batch_norm=false", "regularizers=[]", "optim_g.schedule.name=constant",
         "optim_d.schedule.name=constant"]


def make_trainer(run_dir: Path, overrides: list[str], recipe: str = "quickstart.yaml",
                 registry: Registry | None = None, existing: bool = False,
                 **trainer_options: Any) -> Trainer:
    """A Trainer in this process for one of the shipped recipes, writing into ``run_dir``: a
    new run folder, or with ``existing`` the one an earlier trainer made (to resume it)."""
    registry = registry or load_registry()
    config = load_recipe(RECIPES / recipe, [*overrides, f"train.run_dir={run_dir}"], registry)
    components = build_components(config, registry)
    run = RunFolder(run_dir) if existing else RunFolder.create(config, "test", str(run_dir))
    return Trainer(components, train_options(config), run, config, **trainer_options)
