"""Runs that survive: SIGKILL and resume, corrupt checkpoints, divergence, EMA, DDP with gloo."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import PLAIN, make_trainer

from ganzoo import hookimpl
from ganzoo.cli import main
from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.engine.ema import CALIBRATION_BATCHES, calibration_inputs
from ganzoo.engine.runs import RunFolder
from ganzoo.errors import GanzooError
from ganzoo.plugins import load_registry

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
# Dropout in D and an EMA make the global RNG and the EMA part of what must be restored; an
# adaptive augmentation (its p), a lazy penalty and schedules make their state part of it too.
LONG_RUN = ["train.steps=1500", "train.batch_size=32", "train.log_every=50",
            "train.sample_every=100000", "train.checkpoint_every=100", "train.device=cpu",
            "train.ema_decay=0.9", "generator.hidden_dims=[32,32]",
            "discriminator.hidden_dims=[32,32]", "discriminator.dropout=0.2",
            "augment={name: kit_flip, rate: 0.05}", "regularizers=[{name: kit_r1, every: 16}]",
            "optim_d.schedule.name=linear", "optim_g.schedule={name: cosine, warmup: 100}"]


def ganzoo(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "ganzoo", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def assert_same_state(a: dict, b: dict) -> None:
    """Every network, EMA and optimizer slot, the game's state and the data position alike."""
    assert (a["ema"] is None) == (b["ema"] is None)
    for section in ("networks", "ema"):
        for role, weights in (a[section] or {}).items():
            for name, tensor in weights.items():
                assert torch.equal(tensor, b[section][role][name]), f"{role}.{name} differs"
    for key, optimizer in a["optimizers"].items():
        for pid, slots in optimizer["state"].items():
            for slot, value in slots.items():
                assert torch.equal(value, b["optimizers"][key]["state"][pid][slot]), \
                    f"{key} {pid} {slot}"
    assert_same_tree(a.get("game"), b.get("game"), "game")
    assert a["step"] == b["step"] and a["batches_drawn"] == b["batches_drawn"]
    assert_same_tree(a.get("augmentation"), b.get("augmentation"), "augmentation")  # ADA's p


def assert_same_tree(a, b, where: str) -> None:
    """Nested dicts/lists of tensors and plain values, equal to the bit."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert set(a) == set(b), f"{where}: keys differ"
        for key in a:
            assert_same_tree(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tree(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(tmp_path):
    recipe = str(RECIPES / "quickstart.yaml")
    straight = ganzoo("run", recipe, *LONG_RUN, f"train.run_dir={tmp_path / 'straight'}")
    killed_dir = tmp_path / "killed"
    killed = ganzoo("run", recipe, *LONG_RUN, f"train.run_dir={killed_dir}")
    deadline = time.time() + 120
    while not list(killed_dir.glob("checkpoints/step_*.pt")):
        assert killed.poll() is None, killed.communicate()[1]
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    done = sorted(p.name for p in (killed_dir / "checkpoints").glob("step_*.pt"))
    assert "step_0001500.pt" not in done, "the run finished before it could be killed"

    out = finish(ganzoo("resume", str(killed_dir)))
    assert "resuming" in out
    finish(straight)
    assert_same_state(load_checkpoint(tmp_path / "straight/checkpoints/step_0001500.pt"),
                      load_checkpoint(killed_dir / "checkpoints/step_0001500.pt"))
    steps = [r["step"] for r in RunFolder(killed_dir).read_metrics()]
    assert steps == sorted(set(steps)) and steps[-1] == 1500  # no duplicated metric lines


SHORT = ["train.steps=60", "train.batch_size=16", "train.log_every=10", "train.sample_every=60",
         "train.checkpoint_every=10", "train.keep_checkpoints=2", "train.device=cpu",
         "generator.hidden_dims=[16]", "discriminator.hidden_dims=[16]"]


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    trainer = make_trainer(tmp_path / "run", SHORT)
    trainer.fit()
    assert [p.name for p in trainer.checkpoints.all()] == ["step_0000050.pt", "step_0000060.pt"]


def test_corrupt_latest_checkpoint_falls_back_to_the_previous(tmp_path, capsys):
    trainer = make_trainer(tmp_path / "run", [*SHORT, "train.steps=40", "train.keep_checkpoints=3"])
    trainer.fit()
    trainer.run.unlock()  # as a finished process would
    final = load_checkpoint(trainer.checkpoints.path(40))
    latest = trainer.checkpoints.path(40)
    latest.write_bytes(latest.read_bytes()[:1000])  # truncated, as by a crash mid-copy
    assert main(["resume", str(trainer.run.path)]) == 0
    out = capsys.readouterr().out
    assert "step_0000040.pt' cannot be read" in out and "Falling back" in out
    assert "resuming" in out and "step_0000030.pt (step 30)" in out
    assert_same_state(final, load_checkpoint(latest))  # redone from step 30, identically


def test_resuming_a_finished_run_says_so(tmp_path, capsys):
    trainer = make_trainer(tmp_path / "run", [*SHORT, "train.steps=10"])
    trainer.fit()
    trainer.run.unlock()
    assert main(["resume", str(trainer.run.path)]) == 0
    assert "nothing to do: the run is at step 10 of 10" in capsys.readouterr().out
    assert main(["resume", str(trainer.run.path), "train.steps=20"]) == 0
    assert trainer.checkpoints.path(20).is_file()


def test_resume_needs_a_run_folder(tmp_path, capsys):
    assert main(["resume", str(tmp_path)]) == 2
    assert "is not a ganzoo run folder" in capsys.readouterr().err


class NaNAfter:
    """A loss that turns NaN from its 25th G loss on."""

    @hookimpl
    def ganzoo_register_losses(self, register):
        def build(options):
            """NaN after a while"""
            from ganzoo_builtins.losses.objectives import NonSaturating

            class Late(NonSaturating):
                calls = 0

                def generator_loss(self, fake_logits, ctx):
                    Late.calls += 1
                    loss = super().generator_loss(fake_logits, ctx)
                    return loss * float("nan") if Late.calls >= 25 else loss

            return Late()

        register("late_nan", build)


def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    registry = load_registry(extra_plugins={"nan": NaNAfter()})
    trainer = make_trainer(tmp_path / "run", [*SHORT, "loss.name=late_nan", "train.log_every=50",
                                        "train.keep_checkpoints=5"], registry=registry)
    with pytest.raises(GanzooError, match=r"[dg]_loss is nan at step 30\. The last good"):
        trainer.fit()
    assert [p.name for p in trainer.checkpoints.all()] == ["step_0000010.pt", "step_0000020.pt"]


def test_ema_follows_g_and_gives_the_samples(tmp_path):
    trainer = make_trainer(tmp_path / "run", [*SHORT, "train.ema_decay=0.5", "train.steps=3"])
    batches = trainer.c.dataset.batches(16, trainer.device, 0)
    before = [p.detach().clone() for p in trainer.emas["generator"].model.parameters()]
    trainer.step(batches)
    ema_model, live = trainer.emas["generator"].model, trainer.networks["generator"]
    for old, ema, g in zip(before, ema_model.parameters(), live.parameters(),
                           strict=True):
        assert torch.allclose(ema, 0.5 * old + 0.5 * g)
    assert trainer.sampling_generator is trainer.emas["generator"].model
    assert not any(p.requires_grad for p in trainer.emas["generator"].model.parameters())


def test_the_ema_copies_g_before_its_start_then_averages(tmp_path):
    """train.ema_start (BigGAN's --ema_start): before that step the EMA is G itself."""
    trainer = make_trainer(tmp_path / "run", [*SHORT, "train.ema_decay=0.5", "train.steps=4",
                                              "train.ema_start=3"])
    batches = trainer.c.dataset.batches(16, trainer.device, 0)
    ema, live = trainer.emas["generator"].model, trainer.networks["generator"]
    for _ in range(2):  # steps 1 and 2: copies
        trainer.step(batches)
        trainer.step_done += 1
        for a, g in zip(ema.parameters(), live.parameters(), strict=True):
            assert torch.equal(a, g)
    before = [p.detach().clone() for p in ema.parameters()]
    trainer.step(batches)  # step 3: the first average
    for old, a, g in zip(before, ema.parameters(), live.parameters(), strict=True):
        assert torch.allclose(a, 0.5 * old + 0.5 * g)
    assert any(not torch.equal(a, g)
               for a, g in zip(ema.parameters(), live.parameters(), strict=True))


def test_the_ema_half_life_follows_its_schedule(tmp_path):
    """train.ema_schedule scales the half-life train.ema_decay sets (R3GAN's rises from 0 by
    half a cosine): the decay is ema_decay ** (1 / factor), a copy where the factor is 0."""
    trainer = make_trainer(tmp_path / "run", [
        *SHORT, "train.ema_decay=0.5", "train.steps=5",
        "train.ema_schedule={name: linear, initial: 0, final: 1}"])
    assert [trainer.ema_decay(s) for s in range(1, 6)] == pytest.approx(
        [0.0, 0.5 ** 4, 0.5 ** 2, 0.5 ** (4 / 3), 0.5])  # factors 0, 1/4, 1/2, 3/4, 1
    batches = trainer.c.dataset.batches(16, trainer.device, 0)
    ema, live = trainer.emas["generator"].model, trainer.networks["generator"]
    trainer.step(batches)  # step 1: a half-life of 0, a copy
    trainer.step_done = 1
    assert all(torch.equal(a, g) for a, g in zip(ema.parameters(), live.parameters(),
                                                 strict=True))
    before = [p.detach().clone() for p in ema.parameters()]
    trainer.step(batches)
    for old, a, g in zip(before, ema.parameters(), live.parameters(), strict=True):
        assert torch.allclose(a, 0.5 ** 4 * old + (1 - 0.5 ** 4) * g)


def test_ema_batch_norm_statistics_are_those_of_the_averaged_weights(tmp_path):
    """With BatchNorm in G, the EMA G's running statistics, as sampled and saved, are the
    averages over the calibration batches of its own first layer's outputs, not the live G's;
    the next update copies the live ones again for training."""
    trainer = make_trainer(tmp_path / "run", [*SHORT, "generator.batch_norm=true",
                                              "train.ema_decay=0.5", "train.steps=3"])
    batches = trainer.c.dataset.batches(16, trainer.device, 0)
    for _ in range(3):
        trainer.step(batches)
    G_ema = trainer.sampling_generator
    first, norm = G_ema.net[0], G_ema.net[1]
    with torch.no_grad():
        inputs = calibration_inputs(trainer.networks["generator"], trainer.game.roles["generator"],
                                    trainer.c.dataset, 16, None, trainer.device, trainer.seed + 3)
        outputs = [first(z) for z, _ in inputs]
    assert len(outputs) == CALIBRATION_BATCHES
    assert torch.allclose(norm.running_mean, torch.cat(outputs).mean(0), atol=1e-5)
    assert torch.allclose(norm.running_var, torch.stack([o.var(0) for o in outputs]).mean(0),
                          rtol=1e-4)
    live_mean = trainer.networks["generator"].net[1].running_mean
    assert not torch.allclose(norm.running_mean, live_mean)
    saved = trainer.state_dict()["ema"]["generator"]["net.1.running_mean"]
    assert torch.equal(saved, norm.running_mean)
    trainer.step(batches)
    assert torch.equal(trainer.emas["generator"].model.net[1].running_mean,
                       trainer.networks["generator"].net[1].running_mean)


def test_speed_options_are_noted_and_left_off_where_unsupported(tmp_path, monkeypatch):
    import ganzoo.engine.runtime

    monkeypatch.setattr(ganzoo.engine.runtime, "SPEED_OPTION_DEVICES", ("cuda",))  # as on mps
    trainer = make_trainer(tmp_path / "run", [*SHORT, "train.precision=bf16", "train.compile=true",
                                        "train.channels_last=true", "train.fused_adam=true"])
    assert len(trainer.notes) == 4
    assert all("not supported on cpu: it is left off" in n for n in trainer.notes)
    assert not trainer.runtime.bf16
    assert trainer.arena.calls["generator"] is trainer.networks["generator"]
    assert trainer.fit().steps == 60


def test_tensorboard_is_used_or_its_absence_said_before_training(tmp_path):
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(GanzooError, match=r"train.loggers\[0\]: .*pip install "
                                               r"'ganzoo\[tensorboard\]'"):
            make_trainer(tmp_path / "run", [*SHORT, "train.tensorboard=true"])
    else:
        trainer = make_trainer(tmp_path / "run", [*SHORT, "train.tensorboard=true"])
        trainer.fit()
        assert list((trainer.run.path / "tensorboard").iterdir())


def torchrun(*args: str, fresh: Path | None = None) -> subprocess.CompletedProcess:
    """ganzoo under torchrun with two CPU processes. gloo itself sometimes aborts a rank while
    connecting them (SIGABRT, pytorch/pytorch#188266): such a launch is tried once more, after
    removing ``fresh`` (a run folder the launch creates)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "ganzoo", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for _ in range(2):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        if done.returncode == 0 or "SIGABRT" not in done.stderr:
            break
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


# Dropout in D makes each rank's global RNG part of what a resume must restore.
DDP_RUN = ["train.batch_size=16", "train.log_every=10", "train.sample_every=30",
           "train.checkpoint_every=10", "train.device=cpu", "generator.hidden_dims=[16]",
           "discriminator.hidden_dims=[16]", "discriminator.dropout=0.2",
           *PLAIN, "regularizers=[{name: kit_r1, weight: 1, every: 2}]"]


@pytest.mark.slow
def test_two_processes_with_gloo_end_with_identical_weights(tmp_path):
    run_dir = tmp_path / "ddp"
    done = torchrun("run", str(RECIPES / "quickstart.yaml"), *DDP_RUN, "train.steps=30",
                    f"train.run_dir={run_dir}", fresh=run_dir)
    assert "x 2 processes" in done.stdout
    assert "parameters identical across ranks: yes" in done.stdout
    assert done.stdout.count("done: 30 steps") == 1  # rank 0 alone prints
    state = load_checkpoint(run_dir / "checkpoints" / "step_0000030.pt")
    assert state["world_size"] == 2 and state["batches_drawn"] == 30
    assert len(state["rng_by_rank"]) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ddp"]  # one run folder, from rank 0

    # Stopped at step 20 and resumed under torchrun: the same weights as the straight run.
    stopped = tmp_path / "stopped"
    torchrun("run", str(RECIPES / "quickstart.yaml"), *DDP_RUN, "train.steps=20",
             f"train.run_dir={stopped}", fresh=stopped)
    done = torchrun("resume", str(stopped), "train.steps=30")
    assert "from step_0000020.pt (step 20)" in done.stdout
    assert "parameters identical across ranks: yes" in done.stdout
    assert_same_state(state, load_checkpoint(stopped / "checkpoints" / "step_0000030.pt"))


@pytest.mark.slow
def test_penalties_through_the_plain_generator_stay_in_sync_across_ranks(tmp_path, fake_data):
    """zCR's G term and StyleGAN2's path length call G's own module, not its DDP wrapper:
    their gradients join the adversarial ones in the same backward pass, before DDP's hooks
    average them, so the ranks (each on its own z and data) still end with identical weights."""
    run_dir = tmp_path / "stylegan2"
    done = torchrun("run", str(RECIPES / "stylegan2_cifar.yaml"), f"data.root={fake_data}",
                    "data.verify=false", "generator.ngf=4", "generator.latent_dim=8",
                    "discriminator.ndf=4", "data.image_size=8", "train.device=cpu",
                    "train.steps=6", "train.batch_size=8", "train.log_every=2",
                    "train.sample_every=100", "train.checkpoint_every=100",
                    "regularizers=[{name: r1, weight: 0.01, every: 2}, {name: path_length, "
                    "weight: 2, every: 1}, {name: zcr, weight: 1}, "
                    "{name: zcr, role: generator, weight: 0.5}]",
                    f"train.run_dir={run_dir}", fresh=run_dir)
    assert "x 2 processes" in done.stdout
    assert "path_length" in done.stdout and "zcr_2" in done.stdout
    assert "parameters identical across ranks: yes" in done.stdout


# Running statistics of a penalty, augmentation or game, each taken over every rank's batch
TINY_STYLEGAN2 = ["generator.ngf=4", "generator.latent_dim=8", "discriminator.ndf=4",
                  "data.image_size=8", "data.verify=false", "train.batch_size=8",
                  "train.log_every=2", "train.sample_every=100", "train.checkpoint_every=4",
                  "train.device=cpu"]
RUNNING_STATISTICS = {
    "lecam": ("quickstart.yaml",
              [*DDP_RUN, "regularizers=[{name: lecam, weight: 0.3, start: 3}]"]),
    "path length and ADA's p": ("stylegan2_cifar.yaml", [
        *TINY_STYLEGAN2, "data.root={data}",
        "regularizers=[{name: path_length, weight: 2, every: 2}]",
        "augment={name: adaptive, interval: 2, speed: 100, target: 0.0}"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", RUNNING_STATISTICS)
def test_running_statistics_are_those_of_every_ranks_batch(tmp_path, fake_data, case):
    """LeCam's anchors, the path length's running mean and ADA's p follow the batches of all
    ranks together, as one process would the whole batch: every rank holds the same state, so
    the checkpoint (rank 0's) resumes all of them exactly; before, the ranks' states parted and
    so did a resumed run. (BEGAN's k is averaged alike; at these sizes it stays at 0.)"""
    recipe, overrides = RUNNING_STATISTICS[case]
    overrides = [o.replace("{data}", str(fake_data)) for o in overrides]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    torchrun("run", str(RECIPES / recipe), *overrides, "train.steps=8",
             f"train.run_dir={straight}", fresh=straight)
    torchrun("run", str(RECIPES / recipe), *overrides, "train.steps=4",
             f"train.run_dir={stopped}", fresh=stopped)
    done = torchrun("resume", str(stopped), "train.steps=8")
    assert "parameters identical across ranks: yes" in done.stdout
    assert_same_state(load_checkpoint(straight / "checkpoints" / "step_0000008.pt"),
                      load_checkpoint(stopped / "checkpoints" / "step_0000008.pt"))
