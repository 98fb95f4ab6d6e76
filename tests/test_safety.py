"""Nothing lost: a run folder is never reused or shared, metrics stay valid JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import PLAIN

from ganzoo import hookimpl
from ganzoo.cli import main
from ganzoo.engine.runs import RunFolder

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
QUICK = [str(RECIPES / "quickstart.yaml"), "train.steps=20", "train.log_every=10",
         "train.sample_every=20", "train.checkpoint_every=10", "train.device=cpu",
         "generator.hidden_dims=[8]", "discriminator.hidden_dims=[8]"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "run.lock"}


def test_a_new_run_refuses_a_folder_that_holds_a_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", *QUICK, f"train.run_dir={run}"]) == 0
    before = snapshot(run)
    capsys.readouterr()
    assert main(["run", *QUICK, "train.steps=5", "loss.name=mse", f"train.run_dir={run}"]) == 2
    err = capsys.readouterr().err
    assert f"train.run_dir: '{run}' already holds a run; continue it with 'ganzoo resume" in err
    assert err.count("\n") == 1
    assert snapshot(run) == before  # nothing touched


def test_an_empty_folder_or_a_file_as_run_dir(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", *QUICK, "train.steps=2", f"train.run_dir={empty}"]) == 0
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert main(["run", *QUICK, f"train.run_dir={afile}"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert afile.read_text() == "keep me"


@pytest.mark.slow
def test_two_processes_cannot_share_a_run_folder(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-m", "ganzoo", "run", *QUICK, "train.steps=100000",
                              "train.log_every=1000", f"train.run_dir={run}"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (run / "checkpoints" / "step_0000010.pt").exists():
            assert first.poll() is None, first.communicate()[1]
            assert time.time() < deadline
            time.sleep(0.05)
        second = subprocess.run([sys.executable, "-m", "ganzoo", "resume", str(run)], env=env,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert f"'{run}' is in use by another ganzoo process (pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.kill()
        first.communicate()
    # The lock went with the process: the run can be resumed now.
    assert main(["resume", str(run), "train.steps=30"]) == 0


def test_metrics_stay_json_with_nan_and_a_cut_last_line_is_skipped(tmp_path):
    run = RunFolder(tmp_path)
    run.log({"step": 1, "d_loss": float("nan"), "g_loss": float("inf"), "d_real": 0.5})
    run.log({"step": 2, "d_loss": 1.0, "g_loss": 2.0, "d_real": 0.5})
    lines = run.metrics_path.read_text().splitlines()
    assert json.loads(lines[0]) == {"step": 1, "d_loss": None, "g_loss": None, "d_real": 0.5}
    with open(run.metrics_path, "a") as f:
        f.write('{"step": 3, "d_lo')  # killed while writing
    assert [r["step"] for r in run.read_metrics()] == [1, 2]
    run.truncate_metrics(2)
    assert [r["step"] for r in run.read_metrics()] == [1, 2]


def test_plot_and_resume_survive_a_cut_last_metrics_line(tmp_path):
    run = tmp_path / "run"
    assert main(["run", *QUICK, f"train.run_dir={run}", "train.steps=10"]) == 0
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 11, "d_')
    assert main(["plot", str(run)]) == 0
    assert main(["resume", str(run), "train.steps=20"]) == 0
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20]


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_a_non_finite_learning_rate_is_refused(tmp_path, capsys, value):
    assert main(["run", *QUICK, f"optim_g.lr={value}", f"train.run_dir={tmp_path / 'r'}"]) == 2
    assert f"optim_g.lr: must be finite (got {value})" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before a run folder was made


# ---- checkpoints ----------------------------------------------------------------------------

def test_rotation_orders_by_step_and_never_counts_a_damaged_file(tmp_path):
    import torch

    from ganzoo.engine.checkpoint import CheckpointStore

    store = CheckpointStore(tmp_path, keep=2)
    for step in (9_999_999, 10_000_000):  # names that sort differently from their steps
        store.save({"step": step, "w": torch.zeros(1)})
    assert [p.name for p in store.all()] == ["step_9999999.pt", "step_10000000.pt"]

    store = CheckpointStore(tmp_path / "b", keep=2)
    for step in (10, 20):
        store.save({"step": step, "w": torch.zeros(1)})
    damaged = store.path(30)
    damaged.write_bytes(store.path(20).read_bytes()[:200])  # cut short, as by a crash mid-copy
    store.save({"step": 40, "w": torch.zeros(1)})
    # The damaged step 30 does not count among the two kept: step 20 stays.
    assert [p.name for p in store.all()] == ["step_0000020.pt", "step_0000030.pt",
                                             "step_0000040.pt"]
    store.save({"step": 50, "w": torch.zeros(1)})
    assert [p.name for p in store.all()] == ["step_0000030.pt", "step_0000040.pt",
                                             "step_0000050.pt"]


class PoisonD:
    """A regularizer whose after-update action puts NaN into D at step 15, losses still finite
    until the next forward pass."""

    @hookimpl
    def ganzoo_register_regularizers(self, register):
        from ganzoo.interfaces import Regularizer

        class Poison(Regularizer):
            calls = 0

            def after_update(self, network):
                Poison.calls += 1
                if Poison.calls == 15:
                    next(network.parameters()).view(-1)[0] = float("nan")

        register("poison", lambda options: Poison())


def test_no_checkpoint_ever_holds_nan_weights(tmp_path):
    from helpers import make_trainer

    from ganzoo.errors import GanzooError
    from ganzoo.plugins import load_registry

    registry = load_registry(extra_plugins={"poison": PoisonD()})
    trainer = make_trainer(tmp_path / "run", [*QUICK[1:], "train.log_every=100",
                                              "regularizers=[{name: poison}]"],
                           registry=registry)
    with pytest.raises(GanzooError, match=r"at step 20\. The last good checkpoint is kept"):
        trainer.fit()
    assert [p.name for p in trainer.checkpoints.all()] == ["step_0000010.pt"]


# ---- resume ---------------------------------------------------------------------------------

def test_resume_applies_what_can_change_and_refuses_the_rest(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", *QUICK, *PLAIN, f"train.run_dir={run}", "train.steps=10"]) == 0
    capsys.readouterr()
    assert main(["resume", str(run), "train.batch_size=32"]) == 2
    err = capsys.readouterr().err
    assert "train.batch_size: cannot change when resuming (it was 256, now 32)" in err
    assert main(["resume", str(run), "generator.hidden_dims=[4]"]) == 2
    assert "generator.hidden_dims: cannot change when resuming" in capsys.readouterr().err

    from ganzoo.engine.checkpoint import load_checkpoint

    assert main(["resume", str(run), "train.steps=20", "optim_g.lr=0.0123"]) == 0
    state = load_checkpoint(run / "checkpoints" / "step_0000020.pt")
    assert state["optimizers"]["optim_g"]["param_groups"][0]["lr"] == pytest.approx(0.0123)
    assert state["optimizers"]["optim_d"]["param_groups"][0]["lr"] == pytest.approx(0.001)


# ---- signals --------------------------------------------------------------------------------

SIGNAL_RUN = [str(RECIPES / "quickstart.yaml"), "train.steps=1000", "train.batch_size=32",
              "train.log_every=50", "train.sample_every=100000", "train.checkpoint_every=100000",
              "train.device=cpu", "generator.hidden_dims=[32]", "discriminator.hidden_dims=[32]",
              "discriminator.dropout=0.2", "augment={name: kit_flip, rate: 0.05}", *PLAIN]


@pytest.mark.slow
@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_at_a_checkpoint_that_resumes_exactly(tmp_path, signum):
    import signal as signals

    import torch

    from ganzoo.engine.checkpoint import load_checkpoint

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "ganzoo", "run", *SIGNAL_RUN,
                                f"train.run_dir={run}"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run / "metrics.jsonl").exists():  # training has started
        assert process.poll() is None, process.communicate()[1]
        assert time.time() < deadline
        time.sleep(0.02)
    process.send_signal(getattr(signals, signum))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + getattr(signals, signum), err
    assert f"stopped by {signum} at step" in out and f"ganzoo resume {run}" in out
    (checkpoint,) = (run / "checkpoints").glob("step_*.pt")
    stopped_at = load_checkpoint(checkpoint)["step"]
    assert 0 < stopped_at < 1000

    assert main(["resume", str(run)]) == 0
    straight = tmp_path / "straight"
    assert main(["run", *SIGNAL_RUN, f"train.run_dir={straight}"]) == 0
    a = load_checkpoint(run / "checkpoints" / "step_0001000.pt")
    b = load_checkpoint(straight / "checkpoints" / "step_0001000.pt")
    for role in ("generator", "discriminator"):
        for name, tensor in a["networks"][role].items():
            assert torch.equal(tensor, b["networks"][role][name]), f"{role}.{name} differs"
    assert torch.equal(a["augmentation"]["p"], b["augmentation"]["p"])


# ---- the reference statistics cache ---------------------------------------------------------

def test_reference_cache_is_keyed_by_the_data_options(tmp_path, fake_data, monkeypatch):
    """Two image folders of the same shape must not share cached reference features."""
    import shutil

    import torch
    from test_evaluation import TinyPlugin

    from ganzoo.components import build_one
    from ganzoo.evaluation import evaluate
    from ganzoo.plugins import load_registry
    from ganzoo.recipe import EvalOptions

    faces = sorted((fake_data / "celeba" / "img_align_celeba").iterdir())
    folders = {}
    for name, files in (("a", faces[:12]), ("b", faces[12:])):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        for f in files:
            shutil.copy(f, folders[name])
    registry = load_registry(extra_plugins={"tiny": TinyPlugin()})
    torch.manual_seed(0)
    G = build_one(registry, "generator", {"name": "mlp", "hidden_dims": [8]}, "generator",
                  (3, 16, 16), None)
    options = EvalOptions(n=12, metrics=["fid"], extractor="tiny", batch_size=4)

    def fid(folder):
        section = {"name": "image_folder", "root": str(folder), "image_size": 16}
        data = build_one(registry, "dataset", section, "data")
        return evaluate(G, data, options, registry, dataset_name="image_folder",
                        reference_options=section)["metrics"]["fid"]

    fid_a, fid_b = fid(folders["a"]), fid(folders["b"])  # a's features are cached first
    assert fid_a != fid_b
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "empty_cache"))
    assert fid(folders["b"]) == pytest.approx(fid_b)  # the same as with an empty cache


# ---- disk full and read-only places -----------------------------------------------------------

def test_a_failed_checkpoint_write_is_one_line_and_keeps_the_earlier_ones(tmp_path, capsys,
                                                                         monkeypatch):
    """The disk fills up at the second checkpoint (simulated: torch.save raises ENOSPC)."""
    import errno

    import torch

    real_save = torch.save
    calls = []

    def save_until_full(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            f.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_until_full)
    run = tmp_path / "run"
    code = main(["run", *QUICK, f"train.run_dir={run}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "step_0000020.pt' (No space left on device); the files written before it" in err
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000010.pt"]


def test_a_real_full_disk(tmp_path, capsys):
    """On a 1 MiB tmpfs, where this machine lets us mount one."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        code = main(["run", *QUICK, "generator.hidden_dims=[512,512]",
                     "discriminator.hidden_dims=[512,512]", f"train.run_dir={mount / 'run'}"])
        err = capsys.readouterr().err
        assert code == 2 and "No space left on device" in err and "Traceback" not in err
        assert not list(mount.rglob(".*.tmp"))  # no partial file keeps the disk full
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_an_unwritable_cache_is_a_warning_and_a_run_without_it(tmp_path, fake_data, capsys,
                                                                monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("GANZOO_CACHE", str(blocker / "cache"))
    run = tmp_path / "run"
    assert main(["run", str(RECIPES / "dcgan_celeba.yaml"), f"data.root={fake_data}/celeba",
                 "data.image_size=16", "generator={name: mlp, hidden_dims: [8]}",
                 "discriminator={name: mlp, hidden_dims: [8]}", "train.steps=2",
                 "train.batch_size=4", "train.device=cpu", f"train.run_dir={run}"]) == 0
    out = capsys.readouterr().out
    assert "is not writable: set $GANZOO_CACHE" in out
    assert "could not be cached" in out and "decoded into the cache" not in out
