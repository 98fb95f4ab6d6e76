"""Fine-tuning: train.init_from starts a new run from another run's, a checkpoint's or an
export's weights (EMA included), with strict shape checks; train.freeze_d keeps D's first
layers as they were (FreezeD)."""

from __future__ import annotations

from pathlib import Path

import torch
from helpers import RECIPES, one_line_error

from ganzoo.cli import main
from ganzoo.components import build_components
from ganzoo.engine import finetune
from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.engine.runs import RunFolder
from ganzoo.engine.trainer import Trainer
from ganzoo.plugins import load_registry
from ganzoo.recipe import load_recipe, train_options

QUICK = ["train.steps=20", "train.log_every=10", "train.sample_every=20",
         "train.checkpoint_every=20"]


def trained(tmp_path: Path, name: str, *overrides: str) -> Path:
    run = tmp_path / name
    assert main(["run", "quickstart", *QUICK, f"train.run_dir={run}", *overrides]) == 0
    return run


def new_trainer(tmp_path: Path, *overrides: str) -> Trainer:
    """What 'ganzoo run' builds, stopped before its first step."""
    registry = load_registry()
    recipe = load_recipe(RECIPES / "quickstart.yaml",
                         [*QUICK, f"train.run_dir={tmp_path / 'new'}", *overrides], registry)
    components, options = build_components(recipe, registry), train_options(recipe)
    start = finetune.prepare(components, options.init_from, options.freeze_d)
    return Trainer(components, options, RunFolder.create(recipe, "new", options.run_dir),
                   recipe, start=start)


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def test_the_first_step_starts_from_the_runs_g_and_d_and_its_ema(tmp_path):
    source = trained(tmp_path, "source", "train.ema_decay=0.9")
    saved = load_checkpoint(source / "checkpoints" / "step_0000020.pt")
    trainer = new_trainer(tmp_path, f"train.init_from={source}", "train.ema_decay=0.9",
                          "train.seed=7")
    for role in ("generator", "discriminator"):
        assert same(trainer.networks[role].state_dict(), saved["networks"][role]), role
    ema = trainer.emas["generator"].model.state_dict()
    assert same(ema, saved["ema"]["generator"])
    assert not same(ema, saved["networks"]["generator"])  # the EMA is its own copy
    assert any("starting from" in note and "step_0000020.pt" in note for note in trainer.notes)
    before = {k: v.clone() for k, v in trainer.networks["generator"].state_dict().items()}
    trainer.step(trainer.c.dataset.batches(64, trainer.device, 7))
    assert not same(trainer.networks["generator"].state_dict(), before)  # and then it trains


def test_ganzoo_run_quickstart_from_a_run_a_checkpoint_or_an_export(tmp_path, capsys):
    source = trained(tmp_path, "source")
    assert main(["export", str(source), "--out", str(tmp_path / "export")]) == 0
    for what, name in ((source, "a"), (source / "checkpoints" / "step_0000020.pt", "b"),
                       (tmp_path / "export", "c")):
        capsys.readouterr()
        trained(tmp_path, name, f"train.init_from={what}")
        out = capsys.readouterr().out
        assert "starting from" in out, out
    assert "fresh: discriminator (an export holds G alone)" in out
    exported = load_checkpoint(source / "checkpoints" / "step_0000020.pt")
    trainer = new_trainer(tmp_path, f"train.init_from={tmp_path / 'export'}")
    assert same(trainer.networks["generator"].state_dict(), exported["networks"]["generator"])


def test_a_mismatch_is_one_line_naming_the_tensor_and_makes_no_run_folder(tmp_path, capsys):
    source = trained(tmp_path, "source")
    target = tmp_path / "wider"
    one_line_error(capsys, ["run", "quickstart", f"train.init_from={source}",
                            "generator.hidden_dims=[64,64]", f"train.run_dir={target}"],
                   "net.0.weight is (128, 52) in the checkpoint but (64, 52) here")
    assert not target.exists()
    one_line_error(capsys, ["run", "quickstart", f"train.init_from={tmp_path / 'nothing'}",
                            f"train.run_dir={target}"], "train.init_from: '")
    one_line_error(capsys, ["run", "quickstart", f"train.init_from={tmp_path}",
                            f"train.run_dir={target}"], "neither a run folder")
    assert not target.exists()


def test_a_resumed_run_keeps_its_own_weights_not_the_source(tmp_path):
    source = trained(tmp_path, "source")
    tuned = trained(tmp_path, "tuned", f"train.init_from={source}")
    for path in (source / "checkpoints").iterdir():
        path.unlink()  # the source is gone: a resume must not need it
    assert main(["resume", str(tuned), "train.steps=30"]) == 0


def test_freeze_d_keeps_ds_first_layers_and_trains_the_rest(tmp_path, capsys):
    trainer = new_trainer(tmp_path, "train.freeze_d=1")
    D = trainer.networks["discriminator"]
    before = {k: v.clone() for k, v in D.state_dict().items()}
    batches = trainer.c.dataset.batches(64, trainer.device, 0)
    for _ in range(3):
        trainer.step(batches)
    after = D.state_dict()
    first = next(name for name, m in D.named_modules() if list(m.parameters(recurse=False)))
    frozen = [k for k in before if k.startswith(first + ".")]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    assert not all(torch.equal(before[k], after[k]) for k in before if k not in frozen)
    assert any("frozen (train.freeze_d)" in note for note in trainer.notes)
    one_line_error(capsys, ["run", "quickstart", "train.freeze_d=99",
                            f"train.run_dir={tmp_path / 'x'}"], "train.freeze_d: 99 layers")
    assert not (tmp_path / "x").exists()
