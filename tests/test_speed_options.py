"""The speed options run for real (on the CPU as on CUDA), and the step never reads a value back.

bf16 autocast, channels_last, fused Adam and torch.compile are all implemented by torch on the
CPU, so their code paths are exercised here even where no GPU is.
"""

from __future__ import annotations

import shutil

import pytest
import torch
from helpers import PLAIN, assert_steps_read_no_value, make_trainer

from ganzoo.engine.checkpoint import load_checkpoint

TINY_DCGAN = ["generator.ngf=8", "discriminator.ndf=8", "train.batch_size=8",
              "train.device=cpu", "train.log_every=2", "train.sample_every=100",
              "train.checkpoint_every=4", "train.num_samples=4"]
SPEED = ["train.precision=bf16", "train.channels_last=true", "train.fused_adam=true"]


def test_bf16_channels_last_and_fused_adam_train_a_dcgan(tmp_path, fake_data):
    data = [f"data.root={fake_data}", "train.steps=4"]
    trainer = make_trainer(tmp_path / "fast", [*TINY_DCGAN, *data, *SPEED], "dcgan_mnist.yaml")
    assert trainer.notes == []
    for module in (trainer.networks["generator"], trainer.networks["discriminator"]):
        for weight in (p for p in module.parameters() if p.dim() == 4):
            assert weight.is_contiguous(memory_format=torch.channels_last)
    assert all(opt.defaults["fused"] for opt in trainer.optimizers.values())
    z = trainer.networks["generator"].sample_latent(2, trainer.device)
    with trainer.runtime.autocast():
        assert trainer.arena.calls["generator"](z).dtype == torch.bfloat16
        G, D = trainer.arena.calls["generator"], trainer.arena.calls["discriminator"]
        assert D(G(z)).dtype == torch.bfloat16

    result = trainer.fit()
    assert result.steps == 4
    # The checkpoint holds fp32 weights and loads into a run without any speed option.
    state = load_checkpoint(trainer.checkpoints.path(4))
    weights = [t for t in state["networks"]["generator"].values() if t.is_floating_point()]
    assert all(t.dtype == torch.float32 for t in weights)
    plain = make_trainer(tmp_path / "plain", [*TINY_DCGAN, *data], "dcgan_mnist.yaml")
    plain.load_state_dict(state)
    assert plain.step_done == 4


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                    reason="torch.compile on the CPU needs a C++ compiler (g++), not found")
def test_compiled_steps_match_eager_steps(tmp_path):
    small = ["train.steps=3", "train.batch_size=16", "train.device=cpu", "train.log_every=1",
             "train.sample_every=100", "generator.hidden_dims=[16]",
             "discriminator.hidden_dims=[16]", *PLAIN]
    eager = make_trainer(tmp_path / "eager", small)
    compiled = make_trainer(tmp_path / "comp", [*small, "train.compile=true"])
    assert compiled.notes == []
    assert compiled.arena.calls["generator"] is not compiled.networks["generator"]
    eager.fit()
    compiled.fit()
    for mine, theirs in zip(eager.networks.values(), compiled.networks.values(), strict=True):
        for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values(),
                                strict=True):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), name
    # Checkpoints name the plain modules' parameters, not the compiled wrappers'.
    state = load_checkpoint(compiled.checkpoints.path(3))
    assert not any(key.startswith("_orig_mod") for key in state["networks"]["generator"])


def test_a_compiled_run_takes_gradient_penalties(tmp_path, monkeypatch):
    """R1, R2 and WGAN-GP differentiate D's input gradient again, which compiled graphs cannot
    (aot_autograd has no double backward): the penalties call D uncompiled, the rest of the
    step compiled. The aot_eager backend compiles as inductor does, without a C++ compiler."""
    import functools

    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    overrides = ["train.steps=2", "train.batch_size=16", "train.device=cpu", "train.log_every=1",
                 "train.sample_every=100", "generator.hidden_dims=[16]",
                 "discriminator.hidden_dims=[16]", "train.compile=true",
                 "regularizers=[{name: r1, weight: 1}, {name: r2, weight: 1}, "
                 "{name: gradient_penalty, weight: 1}]"]
    trainer = make_trainer(tmp_path / "run", overrides)
    assert trainer.arena.calls["discriminator"] is not trainer.networks["discriminator"]
    trainer.fit()
    assert trainer.step_done == 2


# Every slot of the step filled: an adaptive augmentation, a lazy penalty (due at step 2) and
# an after-update action, schedules on both players, a loss that asks for D(x) in G's update.
EVERY_SLOT = ["augment.name=kit_flip", "loss.name=kit_rasgan",
              "regularizers=[{name: kit_r1, every: 2}, {name: kit_clip, clip: 1.0}]",
              "optim_g.schedule.name=linear", "optim_d.schedule={name: cosine, warmup: 2}"]


@pytest.mark.parametrize("overrides", [["loss.name=minimax"], ["loss.name=nonsaturating"],
                                       ["loss.name=mse"], EVERY_SLOT],
                         ids=["minimax", "nonsaturating", "mse", "every-slot"])
def test_a_training_step_reads_no_value_back(tmp_path, fake_data, overrides, monkeypatch):
    # Fused Adam keeps its step count on the device; the plain one reads it on the host, which
    # on CUDA is a CPU tensor and no sync, but on the CPU looks the same as one.
    trainer = make_trainer(tmp_path, [*TINY_DCGAN, f"data.root={fake_data}",
                                      "train.fused_adam=true", *overrides,
                                      "train.ema_decay=0.9"], "dcgan_mnist.yaml")
    batches = trainer.c.dataset.batches(8, trainer.device, 0)
    trainer.step(batches)  # the first step creates the optimizers' state

    stats = assert_steps_read_no_value(trainer, batches, monkeypatch)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(stats)
