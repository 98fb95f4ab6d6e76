"""The open game: every new kind written as an out-of-tree plugin (tests/plugins/ganzoo-testkit)
and used from recipes, with no engine edit: a conditional G/D pair, an augmentation of real and
fake, lazy R1, weight clipping, optimizers with schedules, a relativistic loss, a custom metric,
and a component that builds a component."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import make_trainer

from ganzoo.cli import main
from ganzoo.engine.checkpoint import load_checkpoint

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
TINY = ["train.steps=6", "train.batch_size=8", "train.log_every=1", "train.sample_every=6",
        "train.checkpoint_every=3", "train.device=cpu", "generator.hidden_dims=[16]",
        "discriminator.hidden_dims=[16]"]
# A conditional pair on the 25-Gaussian grid, whose points carry their mode as the label.
CONDITIONAL = ["conditional=true", "generator={name: kit_cmlp, latent_dim: 4}",
               "discriminator={name: kit_cproj}", "loss.name=kit_rasgan"]
TINY_CONDITIONAL = [o for o in TINY if "hidden_dims" not in o] + CONDITIONAL


@pytest.fixture(autouse=True, scope="module")
def testkit_installed():
    try:
        distribution("ganzoo-testkit")
    except PackageNotFoundError:
        pytest.fail("the test plugin is not installed: pip install -e tests/plugins/ganzoo-testkit "
                    "(README's test command does it)")


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# ---- labels and conditional networks -------------------------------------------------------

def test_conditional_pair_trains_with_labels_and_d_extra_outputs(tmp_path):
    trainer = make_trainer(tmp_path / "run", TINY_CONDITIONAL)
    assert trainer.c.num_classes == 25 and trainer.networks["generator"].conditional
    seen = {}
    original = trainer.c.loss.discriminator_loss

    def spy(real_logits, fake_logits, ctx):
        seen.update(real_labels=ctx.real.labels, fake_labels=ctx.fake.labels,
                    extra=set(ctx.real_out.extra), step=ctx.step)
        return original(real_logits, fake_logits, ctx)

    trainer.c.loss.discriminator_loss = spy
    trainer.fit()
    assert seen["real_labels"].shape == (8,) and seen["fake_labels"].max() < 25
    assert seen["extra"] == {"class_logits"} and seen["step"] == 6
    last = records(trainer.run.path)[-1]
    assert {"aux_ce_d", "aux_ce_g"} <= set(last)  # the loss logged its own terms
    state = load_checkpoint(trainer.checkpoints.path(6))
    assert state["num_classes"] == 25


def test_conditional_sampling_everywhere(tmp_path, fake_data, capsys):
    run = tmp_path / "cmnist"
    assert main(["run", str(RECIPES / "dcgan_cifar.yaml"), f"data.root={fake_data}",
                 "data.verify=false", "conditional=true", "generator={name: kit_cmlp}",
                 "discriminator={name: kit_cproj}",
                 "train.steps=2", "train.batch_size=8", "train.num_samples=20",
                 "train.device=cpu", f"train.run_dir={run}", "eval.metrics=[kit_brightness]"]) == 0
    # The sample grid: one row per class (10 classes, 20 samples: 2 columns).
    from PIL import Image

    grid = Image.open(run / "samples" / "step_0000002.png")
    assert grid.size == (2 * 34 + 2, 10 * 34 + 2)  # 32-pixel images with 2-pixel padding
    assert json.loads((run / "run.json").read_text())["num_classes"] == 10

    assert main(["sample", str(run), "--n", "12", "--class", "3",
                 "--out", str(tmp_path / "three.npz")]) == 0
    assert set(np.load(tmp_path / "three.npz")["labels"].tolist()) == {3}
    assert main(["sample", str(run), "--n", "20", "--class", "all",
                 "--out", str(tmp_path / "all.npz")]) == 0
    assert np.bincount(np.load(tmp_path / "all.npz")["labels"]).tolist() == [2] * 10
    assert main(["sample", str(run), "--n", "4", "--class", "10", "--out",
                 str(tmp_path / "x.npz")]) == 2
    assert "--class: expected 'all' or a class from 0 to 9" in capsys.readouterr().err
    assert main(["interpolate", str(run), "--class", "2", "--rows", "2", "--steps", "3",
                 "--out", str(tmp_path / "walk.png")]) == 0
    assert (tmp_path / "walk.png").is_file()

    capsys.readouterr()
    assert main(["eval", str(run), "--n", "20"]) == 0
    saved = json.loads((run / "checkpoints" / "step_0000002.eval.json").read_text())
    assert saved["protocol"]["labels"] == "class-balanced: sample i has label i mod 10"
    assert "brightness" in saved["metrics"]

    capsys.readouterr()
    assert main(["show", str(run / "recipe.yaml")]) == 0
    out = capsys.readouterr().out
    assert "label of 10 classes" in out and "Embedding" in out


def test_conditional_network_needs_a_conditional_run_and_labelled_data(tmp_path, fake_data,
                                                                       capsys):
    base = [str(RECIPES / "dcgan_celeba.yaml"), f"data.root={fake_data}/celeba",
            "train.steps=1", "train.batch_size=8", "train.device=cpu"]
    assert main(["run", *base, "conditional=true", f"train.run_dir={tmp_path / 'a'}"]) == 2
    err = capsys.readouterr().err
    assert "conditional: true, but dataset 'celeba' has no class labels" in err
    assert err.count("\n") == 1  # one line
    assert main(["run", str(RECIPES / "quickstart.yaml"), "generator={name: kit_cmlp}",
                 f"train.run_dir={tmp_path / 'b'}", "train.steps=1"]) == 2
    assert "'kit_cmlp' is conditional (it reads class labels); set conditional: true" in \
        capsys.readouterr().err


# ---- augmentation ----------------------------------------------------------------------------

def test_augmentation_sees_every_input_of_d_and_its_state_is_kept(tmp_path):
    trainer = make_trainer(tmp_path / "run", [*TINY, "augment={name: kit_flip, rate: 0.2}",
                                              "loss.name=kit_rasgan"])
    augmentation = trainer.c.augmentation
    batches = trainer.c.dataset.batches(8, trainer.device, 0)
    trainer.step(batches)
    # D's update: real and fake; G's update: fake, and real (the relativistic loss asks for it)
    assert augmentation.calls == [8, 8, 8, 8]
    trainer.step_done = 1
    trainer.fit()
    assert "augment_p" in records(trainer.run.path)[-1]
    state = load_checkpoint(trainer.checkpoints.path(6))
    assert torch.equal(state["augmentation"]["p"], augmentation.p)
    fresh = make_trainer(tmp_path / "again", [*TINY, "augment={name: kit_flip, rate: 0.2}"])
    fresh.load_state_dict(state)
    assert torch.equal(fresh.c.augmentation.p, augmentation.p)


def test_augmentation_is_skipped_for_g_reals_that_nobody_asks_for(tmp_path):
    trainer = make_trainer(tmp_path / "run", [*TINY, "augment.name=kit_flip"])
    trainer.step(trainer.c.dataset.batches(8, trainer.device, 0))
    assert trainer.c.augmentation.calls == [8, 8, 8]


# ---- regularizers ----------------------------------------------------------------------------

def test_lazy_r1_runs_every_n_steps_scaled_and_logged(tmp_path):
    trainer = make_trainer(tmp_path / "run", [*TINY, "train.steps=8", "train.log_every=4",
                                              "regularizers=[{name: kit_r1, weight: 2, every: 4}]"])
    (entry,) = trainer.c.regularizers
    assert (entry.weight, entry.every) == (2.0, 4)
    steps, added = [], []
    original = entry.regularizer.penalty

    def spy(ctx):
        steps.append(ctx.step)
        value = original(ctx)
        added.append(value.detach())
        return value

    entry.regularizer.penalty = spy
    trainer.fit()
    assert steps == [4, 8]
    logged = [r["kit_r1"] for r in records(trainer.run.path)]
    assert logged == pytest.approx([float(v) for v in added], rel=1e-5)


def test_r1_is_the_analytic_value_on_a_linear_critic():
    """For D(x) = w.x the gradient is w everywhere: R1 = gamma/2 * |w|^2."""
    from ganzoo.interfaces import Batch, DOutput, StepContext
    from ganzoo_testkit.parts import R1

    w = torch.tensor([3.0, -4.0])
    ctx = StepContext(step=1, player="discriminator", real=Batch(torch.randn(16, 2)),
                      fake=Batch(torch.randn(16, 2)), score=lambda x, y: DOutput(x @ w, {}),
                      discriminator=None, log=lambda *a: None, fake_out=DOutput(torch.zeros(16)))
    assert R1(gamma=10.0).penalty(ctx).item() == pytest.approx(5.0 * 25.0)


def test_weight_clipping_after_each_d_update(tmp_path):
    trainer = make_trainer(tmp_path / "run", [*TINY, "train.n_critic=5",
                                              "regularizers=[{name: kit_clip, clip: 0.01}]",
                                              "optim_d={name: rmsprop, lr: 0.05}"])
    (entry,) = trainer.c.regularizers
    calls = []
    original = entry.regularizer.after_update

    def spy(network):
        calls.append(network)
        original(network)

    entry.regularizer.after_update = spy
    trainer.step(trainer.c.dataset.batches(8, trainer.device, 0))
    assert len(calls) == 5 and all(net is trainer.networks["discriminator"] for net in calls)
    assert max(p.abs().max().item() for p in trainer.networks["discriminator"].parameters()) <= 0.01


# ---- optimizers and schedules ----------------------------------------------------------------

def test_rmsprop_with_linear_decay_and_a_plugin_schedule(tmp_path):
    trainer = make_trainer(tmp_path / "run", [
        *TINY, "train.steps=10",
        "optim_d={name: rmsprop, lr: 0.001, schedule: {name: linear}}",
        "optim_g={name: kit_sgd, lr: 0.01, schedule: {name: kit_halving, every: 4}}"])
    assert isinstance(trainer.optimizers["optim_d"], torch.optim.RMSprop)
    assert isinstance(trainer.optimizers["optim_g"], torch.optim.SGD)
    lrs = []
    batches = trainer.c.dataset.batches(8, trainer.device, 0)
    for step in range(1, 11):
        trainer.step(batches)
        trainer.step_done = step
        lrs.append((trainer.optimizers["optim_d"].param_groups[0]["lr"],
                    trainer.optimizers["optim_g"].param_groups[0]["lr"]))
    assert [d for d, _ in lrs] == pytest.approx([0.001 * (1 - k / 9) for k in range(10)])
    assert [g for _, g in lrs] == pytest.approx([0.01] * 4 + [0.005] * 4 + [0.0025] * 2)


def test_adams_beta2_follows_its_schedule_as_a_factor_of_one_minus_beta2(tmp_path):
    """optim_d.beta2_schedule (R3GAN's beta2, 0.9 -> 0.99 by half a cosine): 1 - beta2 is
    0.1 x the factor; beta1 and the other player's betas stay as set."""
    import math

    trainer = make_trainer(tmp_path / "run", [
        *TINY, "train.steps=5", "optim_d={name: adam, betas: [0.0, 0.9], "
        "beta2_schedule: {name: cosine, final: 0.1}}"])
    batches = trainer.c.dataset.batches(8, trainer.device, 0)
    betas = []
    for step in range(1, 6):
        trainer.step(batches)
        trainer.step_done = step
        betas.append((trainer.optimizers["optim_d"].param_groups[0]["betas"],
                      trainer.optimizers["optim_g"].param_groups[0]["betas"]))
    cosine = [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(5)]
    assert [d[1] for d, _ in betas] == pytest.approx([1 - 0.1 * f for f in cosine])
    assert betas[0][0][1] == pytest.approx(0.9) and betas[-1][0][1] == pytest.approx(0.99)
    assert all(d[0] == 0.0 for d, _ in betas)
    assert len({g for _, g in betas}) == 1  # G's Adam keeps the betas it was given


@pytest.mark.parametrize(("override", "expected"), [
    ("optim_d={name: rmsprop, beta2_schedule: {name: cosine}}",
     "optim_d.beta2_schedule: optimizer 'rmsprop' has no betas to schedule"),
    ("optim_d.beta2_schedule={name: cosine, initial: 2}",
     "optim_d.beta2_schedule.initial: must be in [0, 1]"),
    ("train.ema_schedule={name: cosine, initial: 0, final: 1}",
     "train.ema_schedule: set, but train.ema_decay is 0 (no EMA to schedule)"),
    ("train.ema_schedule=5", "train.ema_schedule: expected a mapping {name: ..., <options>}"),
])
def test_schedules_of_beta2_and_the_ema_they_cannot_follow_are_refused(capsys, tmp_path,
                                                                        override, expected):
    from helpers import one_line_error

    one_line_error(capsys, ["run", str(RECIPES / "quickstart.yaml"), "train.steps=4",
                            "train.device=cpu", f"train.run_dir={tmp_path / 'run'}", override],
                   expected)


def test_old_spellings_of_the_optimizer_still_mean_what_they_meant(tmp_path):
    """A recipe written before optim_g / optim_d existed (train.lr_g, train.beta1, ...)."""
    from omegaconf import OmegaConf

    old = OmegaConf.load(RECIPES / "quickstart.yaml")
    del old["optim_g"], old["optim_d"]
    old.train.update(lr_g=0.003, lr_d=0.002, beta1=0.1, beta2=0.999)
    OmegaConf.save(old, tmp_path / "old.yaml")
    trainer = make_trainer(tmp_path / "run", TINY, recipe=str(tmp_path / "old.yaml"))
    group = trainer.optimizers["optim_g"].param_groups[0]
    assert isinstance(trainer.optimizers["optim_g"], torch.optim.Adam)
    assert group["lr"] == 0.003 and group["betas"] == (0.1, 0.999)
    assert trainer.optimizers["optim_d"].param_groups[0]["lr"] == 0.002
    with pytest.raises(Exception, match="optim_g.lr: set to 0.1, but the older train key"):
        make_trainer(tmp_path / "clash", [*TINY, "optim_g.lr=0.1"],
                     recipe=str(tmp_path / "old.yaml"))


# ---- losses, metrics, nesting ----------------------------------------------------------------

def test_relativistic_loss_uses_d_of_reals_in_g_update(tmp_path):
    trainer = make_trainer(tmp_path / "run", [*TINY, "loss.name=kit_rasgan"])
    seen = []
    original = trainer.c.loss.generator_loss

    def spy(fake_logits, ctx):
        seen.append(ctx.real_logits.shape)
        return original(fake_logits, ctx)

    trainer.c.loss.generator_loss = spy
    assert trainer.fit().steps == 6 and seen == [(8,)] * 6


def test_custom_metric_picks_best_checkpoint(tmp_path):
    run = tmp_path / "run"
    assert main(["run", str(RECIPES / "dcgan_mnist.yaml"), *TINY[:-2],
                 "generator={name: mlp, hidden_dims: [16]}",
                 "discriminator={name: mlp, hidden_dims: [16]}",
                 "data={name: gaussian_mixture}", "train.steps=8", f"train.run_dir={run}",
                 "eval.every=2", "eval.metrics=[kit_brightness]", "eval.best=brightness"]) == 0
    evals = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evals] == [2, 4, 6, 8]
    best = max(evals, key=lambda e: e["brightness"])
    state = load_checkpoint(run / "checkpoints" / "best.pt")
    assert state["step"] == best["step"] and state["best_score"] == best["brightness"]


def test_a_component_that_builds_a_component(tmp_path, capsys):
    trainer = make_trainer(tmp_path / "run", [
        *TINY[:-1], "discriminator={name: kit_pack, m: 2, inner: {name: mlp, hidden_dims: [8]}}"])
    # two 2-D points side by side
    assert trainer.networks["discriminator"].inner.net[1].in_features == 4
    assert trainer.fit().steps == 6
    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.steps=1",
                 f"train.run_dir={tmp_path / 'bad'}",
                 "discriminator={name: kit_pack, inner: {name: mlp, hidden_dims: [0]}}"]) == 2
    err = capsys.readouterr().err
    assert "discriminator.inner.hidden_dims: every entry must be greater than 0" in err
    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.steps=1",
                 f"train.run_dir={tmp_path / 'bad2'}",
                 "discriminator={name: kit_pack, inner: {name: mlp, width: 3}}"]) == 2
    assert "discriminator.inner.width: unknown key" in capsys.readouterr().err


def test_a_critic_run_logs_scores_and_plots_every_logged_value(tmp_path):
    """hinge's D is a critic: the run logs raw mean scores, not sigmoid means, and the plots
    draw them, and the penalties and augmentation values, from metrics.jsonl."""
    run = tmp_path / "critic"
    assert main(["run", str(RECIPES / "quickstart.yaml"), *TINY[:-2], "loss.name=hinge",
                 "regularizers=[{name: kit_r1, every: 2}]", "augment.name=kit_flip",
                 f"train.run_dir={run}"]) == 0
    last = records(run)[-1]
    assert {"score_real", "score_fake", "kit_r1", "augment_p"} <= set(last)
    assert "d_real" not in last
    for picture in ("losses.png", "discriminator.png", "extras.png"):
        assert (run / picture).stat().st_size > 1000, picture


def test_a_third_party_logger_receives_metrics_samples_and_evaluations(tmp_path):
    run = tmp_path / "run"
    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.steps=4", "train.log_every=2",
                 "train.sample_every=2", "train.checkpoint_every=4", "eval.every=4",
                 "eval.n_during_training=100", "train.device=cpu", f"train.run_dir={run}",
                 "train.loggers=[kit_recorder]"]) == 0
    calls = [json.loads(line) for line in (run / "kit_recorder.jsonl").read_text().splitlines()]
    assert calls[0] == {"call": "open", "step": 0, "steps": 4}
    assert [(c["call"], c.get("step")) for c in calls[1:]] == [
        ("metrics", 2), ("metrics", 4), ("evaluation", 4), ("close", None)]
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(calls[1]["names"])
    assert "modes_covered" in calls[3]["names"]


def test_a_third_party_logger_receives_image_grids(tmp_path, fake_data):
    run = tmp_path / "run"
    assert main(["run", str(RECIPES / "dcgan_cifar.yaml"), f"data.root={fake_data}",
                 "data.verify=false", "generator.ngf=4", "discriminator.ndf=4",
                 "train.steps=2", "train.batch_size=4", "train.num_samples=4",
                 "train.device=cpu", f"train.run_dir={run}",
                 "train.loggers=[{name: kit_recorder, file: calls.jsonl}]"]) == 0
    calls = [json.loads(line) for line in (run / "calls.jsonl").read_text().splitlines()]
    images = [c for c in calls if c["call"] == "images"]
    assert images == [{"call": "images", "step": 2, "name": "samples", "shape": [4, 3, 32, 32]}]
