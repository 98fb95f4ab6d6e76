"""The training step and a whole run: what changes when, and what a run writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import make_trainer

from ganzoo import hookimpl
from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.errors import GanzooError
from ganzoo.plugins import load_registry
from ganzoo.recipe import load_recipe

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SMALL_MLP = ["generator.hidden_dims=[16]", "discriminator.hidden_dims=[16]"]


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


def test_step_updates_d_then_g_through_a_frozen_d(tmp_path, tiny_train):
    trainer = make_trainer(tmp_path / "run", tiny_train + SMALL_MLP)
    G, D = trainer.networks["generator"], trainer.networks["discriminator"]
    g0, d0 = params(G), params(D)
    seen = {}
    opt_d, opt_g = trainer.optimizers["optim_d"], trainer.optimizers["optim_g"]
    real_d_step, real_g_step = opt_d.step, opt_g.step

    def d_step_spy():
        seen["d_grads_after_d_backward"] = [p.grad.clone() for p in D.parameters()]
        seen["g_grads_at_d_step"] = [p.grad for p in G.parameters()]
        real_d_step()

    def g_step_spy():
        # At G's update D has already moved, but G's backward gave D no gradient and the
        # update leaves D's weights alone.
        seen["d_changed_before_g_step"] = changed(d0, D)
        seen["d_grads_at_g_step"] = [p.grad.clone() for p in D.parameters()]
        seen["d_before_g"] = params(D)
        real_g_step()

    trainer.optimizers["optim_d"].step, trainer.optimizers["optim_g"].step = d_step_spy, g_step_spy
    stats = trainer.step(trainer.c.dataset.batches(8, trainer.device, 0))
    assert all(g is None for g in seen["g_grads_at_d_step"])  # fakes were detached for D
    assert seen["d_changed_before_g_step"]
    for before, after in zip(seen["d_grads_after_d_backward"], seen["d_grads_at_g_step"],
                             strict=True):
        assert torch.equal(before, after)  # no gradient reached D's parameters from G's loss
    assert not changed(seen["d_before_g"], D)
    assert changed(g0, G)
    assert set(stats) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(value.dim() == 0 and torch.isfinite(value) for value in stats.values())
    assert 0 < stats["d_real"].item() < 1 and 0 < stats["d_fake"].item() < 1


def test_n_critic_d_updates_per_g_update(tmp_path, tiny_train):
    trainer = make_trainer(tmp_path / "run", tiny_train + SMALL_MLP + ["train.n_critic=3"])
    batches = trainer.c.dataset.batches(8, trainer.device, 0)
    trainer.step(batches)
    trainer.step(batches)
    G, D = trainer.networks["generator"], trainer.networks["discriminator"]
    d_steps = trainer.optimizers["optim_d"].state[next(D.parameters())]["step"]
    g_steps = trainer.optimizers["optim_g"].state[next(G.parameters())]["step"]
    assert (int(d_steps), int(g_steps)) == (6, 2)


def test_run_writes_recipe_metrics_samples_and_checkpoint(tmp_path, tiny_train):
    trainer = make_trainer(tmp_path / "run", tiny_train + SMALL_MLP)
    result = trainer.fit()
    run = trainer.run
    assert load_recipe(run.recipe_path).train.steps == 3
    records = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "images_per_s"} <= set(records[0])
    assert sorted(p.name for p in run.samples_dir.iterdir()) == [
        "step_0000002.png", "step_0000003.png"]
    state = load_checkpoint(result.checkpoint)
    assert state["step"] == 3 and state["recipe"]["train"]["steps"] == 3
    fresh = make_trainer(tmp_path / "again", tiny_train + SMALL_MLP)
    fresh.load_state_dict(state)
    assert not changed(params(trainer.networks["generator"]), fresh.networks["generator"])


def test_same_seed_same_weights(tmp_path, tiny_train):
    a = make_trainer(tmp_path / "a", tiny_train + SMALL_MLP)
    a.fit()
    b = make_trainer(tmp_path / "b", tiny_train + SMALL_MLP)
    b.fit()
    for role in ("generator", "discriminator"):
        assert not changed(params(a.networks[role]), b.networks[role])


class NaNLoss:
    @hookimpl
    def ganzoo_register_losses(self, register):
        def build(options):
            """always NaN"""
            from ganzoo_builtins.losses.objectives import NonSaturating

            class Exploding(NonSaturating):
                def generator_loss(self, fake_logits, ctx):
                    return super().generator_loss(fake_logits, ctx) * float("nan")

            return Exploding()

        register("exploding", build)


def test_divergence_stops_the_run_naming_step_and_loss(tmp_path, tiny_train):
    registry = load_registry(extra_plugins={"nan": NaNLoss()})
    trainer = make_trainer(tmp_path / "run", tiny_train + SMALL_MLP + ["loss.name=exploding"],
                           registry=registry)
    with pytest.raises(GanzooError, match="Training diverged: g_loss is nan at step 1"):
        trainer.fit()


def test_example_plugin_loss_trains(tmp_path, tiny_train):
    trainer = make_trainer(tmp_path / "run", tiny_train + SMALL_MLP + ["loss.name=rasgan"])
    assert trainer.fit().steps == 3


def test_quickstart_run_from_the_command_line(in_tmp, capsys):
    from ganzoo.cli import main

    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.steps=20",
                 "train.sample_every=10", "train.log_every=10"]) == 0
    (run,) = (in_tmp / "runs").iterdir()
    assert run.name.startswith("quickstart-")
    assert (run / "samples" / "step_0000020.png").is_file()
    assert "done: 20 steps" in capsys.readouterr().out


def test_mlp_on_real_mnist(tmp_path, mnist_root, tiny_train):
    trainer = make_trainer(tmp_path / "run", tiny_train + [f"data.root={mnist_root}"],
                           recipe="mlp_mnist.yaml")
    assert len(trainer.c.dataset) == 60000
    assert trainer.c.dataset.image_shape == (1, 28, 28)
    trainer.fit()
    assert trainer.run.sample_path(3).is_file()


def test_unavailable_device_is_a_clear_error(tmp_path, tiny_train):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(GanzooError, match="train.device: 'cuda' asked for, but no CUDA GPU"):
        make_trainer(tmp_path / "run", tiny_train + ["train.device=cuda"])
