"""CycleGAN, a built-in four-network game on unpaired data: its networks as the paper's
reference code builds them, its step against the paper's objective written out by hand, the
pool of fakes, exact resume, the unpaired faces it colourizes and what a run gives."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_steps_read_no_value, make_trainer, one_line_error
from test_resume import assert_same_state

from ganzoo.api import build
from ganzoo.cli import main
from ganzoo.errors import GanzooError

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "cyclegan_celeba_colour.yaml"
FOLDERS = RECIPE.with_name("cyclegan_folders.yaml")
SIZE = 16


def tiny(fake_data: Path, steps: int = 6) -> list[str]:
    """The colourization recipe shrunk to a few CPU steps on 16x16 fake faces, with a pool of
    two so that swaps happen within those steps."""
    return [f"train.steps={steps}", "train.log_every=1", "train.sample_every=3",
            "train.checkpoint_every=3", "train.num_samples=4", "train.device=cpu",
            "g_ab.ngf=4", "g_ba.ngf=4", "g_ab.n_blocks=1", "g_ba.n_blocks=1", "d_a.ndf=4",
            "d_b.ndf=4", "d_a.n_layers=2", "d_b.n_layers=2", "game.pool_size=2",
            f"data.base.image_size={SIZE}", f"data.base.root={fake_data}/celeba"]


def params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# ---- networks ------------------------------------------------------------------------------

def test_the_networks_are_the_reference_codes():
    G9 = build("generator", "resnet_translator", image_shape=(3, 256, 256),
               input_shape=(3, 256, 256))
    G6 = build("generator", "resnet_translator", image_shape=(3, 128, 128),
               input_shape=(3, 128, 128))
    D = build("discriminator", "patchgan", image_shape=(3, 256, 256), norm="instance")
    # the parameter counts of the reference code's resnet_9blocks, resnet_6blocks and basic
    # (70x70) D with instance norm
    assert params(G9) == 11_378_179 and params(G6) == 7_837_699
    assert params(D) == 2_764_737
    blocks = [m for m in G9.modules() if type(m).__name__ == "ResidualBlock"]
    assert len(blocks) == 9
    norms = [m for m in [*G9.modules(), *D.modules()] if isinstance(m, torch.nn.InstanceNorm2d)]
    assert norms and all(not m.affine and not m.track_running_stats for m in norms)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    assert sum(isinstance(m, torch.nn.ReflectionPad2d) for m in G9.modules()) == 2 + 2 * 9
    with torch.no_grad():
        assert D(torch.zeros(1, 3, 256, 256)).shape == (1, 30 * 30)  # a score per patch
        out = G6(torch.randn(2, 3, 32, 32) * 5)
    assert out.shape == (2, 3, 32, 32) and out.abs().max() <= 1  # tanh
    gray_to_colour = build("generator", "resnet_translator", image_shape=(3, 64, 64),
                           input_shape=(1, 64, 64), n_blocks=2)
    assert sum(type(m).__name__ == "ResidualBlock" for m in gray_to_colour.modules()) == 2
    assert gray_to_colour(torch.zeros(1, 1, 64, 64)).shape == (1, 3, 64, 64)


@pytest.mark.parametrize("image_shape, input_shape, message", [
    ((3, 18, 18), (3, 18, 18), "each side a multiple of 4 and at least 8 (got 3x18x18 -> "),
    ((3, 4, 4), (3, 4, 4), "each side a multiple of 4 and at least 8"),
    ((3, 32, 32), (3, 16, 16), "input and output must be one size"),
    ((2,), (2,), "takes images (C, H, W), not samples"),
])
def test_the_translator_refuses_sizes_it_cannot_take(image_shape, input_shape, message):
    with pytest.raises(GanzooError, match=r"^generator 'resnet_translator'") as error:
        build("generator", "resnet_translator", image_shape=image_shape,
              input_shape=input_shape)
    assert message in str(error.value)


# ---- the pool and the schedule -------------------------------------------------------------

def test_the_pool_fills_then_swaps_half_the_fakes_for_older_ones():
    from ganzoo_builtins.cyclegan.game import ImagePool

    pool = ImagePool(3, seed=0)
    first = torch.arange(2.0).view(2, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and pool.count == 2  # filling: shown as is
    swaps, seen = 0, set(range(2))
    for k in range(2, 400):
        before = set(pool.images.flatten().tolist())
        shown = pool.query(torch.tensor([[[[float(k)]]]])).item()
        after = set(pool.images.flatten().tolist())
        assert pool.count == 3
        if shown == k:  # the new fake itself, the pool unchanged (but while it fills)
            assert after == before or k == 2
        else:  # a stored one, which the new fake replaced
            assert shown in before and after == before - {shown} | {k}
            swaps += 1
        seen.add(k)
    assert 150 < swaps < 250  # each with probability 1/2

    state = copy.deepcopy(pool.state_dict())
    again = ImagePool(3, seed=99)
    again.load_state_dict(state)
    fakes = torch.randn(4, 1, 1, 1)
    assert torch.equal(pool.query(fakes), again.query(fakes))  # the same draws after a resume
    assert torch.equal(ImagePool(0, seed=0).query(fakes), fakes)


def test_the_lr_is_constant_then_decays_linearly_to_zero():
    schedule = build("schedule", "delayed_linear")
    factors = [schedule.factor(step, 10) for step in range(1, 11)]
    assert factors == pytest.approx([1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0.0])
    later = build("schedule", "delayed_linear", hold=0.8, final=0.5)
    assert [later.factor(step, 10) for step in (8, 9, 10)] == pytest.approx([1, 0.75, 0.5])


# ---- the step ------------------------------------------------------------------------------

def test_one_step_is_the_papers_objective(tmp_path, fake_data):
    """G's loss is 2 x mse's G loss (the paper's (D(G(x)) - 1)^2) + 10 x the cycle terms +
    5 x the identity terms, through Ds not yet updated; then each D's loss, on the fakes made
    before G's update (the reference code's order), is mse's, the paper's halved."""
    trainer = make_trainer(tmp_path / "run", tiny(fake_data), recipe=RECIPE.name)
    nets = {role: copy.deepcopy(net) for role, net in trainer.networks.items()}
    G_ab, G_ba, D_a, D_b = (nets[r] for r in ("g_ab", "g_ba", "d_a", "d_b"))
    real = next(trainer.c.dataset.batches(1, trainer.device, 0))
    stats = trainer.step(trainer.c.dataset.batches(1, trainer.device, 0))
    a, b = real["a"], real["b"]
    assert a.shape == b.shape == (1, 3, SIZE, SIZE)
    assert torch.equal(a[:, 0], a[:, 1]) and torch.equal(a[:, 1], a[:, 2])  # gray, thrice

    def l1(x, y):
        return (x - y).abs().mean()

    with torch.no_grad():
        fake_b, fake_a = G_ab(a), G_ba(b)
        adversarial = ((D_b(fake_b) - 1) ** 2).mean() + ((D_a(fake_a) - 1) ** 2).mean()
        cycle = l1(G_ba(fake_b), a) + l1(G_ab(fake_a), b)
        identity = l1(G_ab(b), b) + l1(G_ba(a), a)
        d_loss = sum(0.5 * ((D(x) - 1) ** 2).mean() + 0.5 * (D(fake) ** 2).mean()
                     for D, x, fake in ((D_a, a, fake_a), (D_b, b, fake_b)))
    torch.testing.assert_close(stats["g_loss"], adversarial + 10 * cycle + 5 * identity)
    torch.testing.assert_close(stats["d_loss"], d_loss)
    torch.testing.assert_close(stats["cycle_a"] + stats["cycle_b"], cycle)
    for role in nets:  # every network was updated
        assert not torch.equal(next(nets[role].parameters()),
                               next(trainer.networks[role].parameters())), role


def test_a_step_reads_no_value_back_to_the_host(tmp_path, fake_data, monkeypatch):
    """The pool's draws are applied on the device: steps that fill it and swap from it (fused
    Adam keeps its step count on the device) copy no tensor to the host."""
    trainer = make_trainer(tmp_path / "run", [*tiny(fake_data), "train.fused_adam=true"],
                           recipe=RECIPE.name)
    batches = trainer.c.dataset.batches(1, trainer.device, 0)
    trainer.step(batches)
    assert_steps_read_no_value(trainer, batches, monkeypatch)
    assert trainer.game.pools["d_a"].count == 2


# ---- the data ------------------------------------------------------------------------------

def test_the_domains_are_disjoint_halves_and_held_out_faces_are_pairs(fake_data):
    from ganzoo.components import build_one
    from ganzoo.data import scale_images
    from ganzoo.plugins import load_registry
    from ganzoo_builtins.pairs import declared_unpaired_fields
    from ganzoo_builtins.pairs.loader import grayscale

    registry = load_registry()
    base = {"name": "celeba", "root": str(fake_data / "celeba"), "image_size": SIZE}
    section = {"name": "degraded_unpaired", "base": base, "degradation": "grayscale"}
    unpaired = build_one(registry, "dataset", section, "data")
    faces = scale_images(build_one(registry, "dataset", base, "data.base").samples)
    batch = next(unpaired.batches(12, torch.device("cpu"), 0))
    assert len(unpaired) == 12 and set(unpaired.fields) == {"a", "b"}

    def which(images, candidates) -> list[int]:
        """The candidate each image is, exactly."""
        found = []
        for x in images:
            distance = (candidates - x).abs().flatten(1).amax(1)
            assert distance.min() == 0
            found.append(int(distance.argmin()))
        return sorted(found)

    grays = grayscale(faces).expand(-1, 3, -1, -1)
    assert which(batch["a"], grays) == list(range(0, 24, 2))  # the 1st, 3rd... once each, in gray
    assert which(batch["b"], faces) == list(range(1, 24, 2))  # the 2nd, 4th... once each, in colour

    options = registry.get("dataset", "degraded_unpaired").options
    paired = build_one(registry, "dataset", {**section, "split": "train"}, "data")
    pair = next(paired.batches(4, torch.device("cpu"), 0))
    torch.testing.assert_close(pair["source"], grayscale(pair["target"]).expand(-1, 3, -1, -1))
    for built, opts in ((unpaired, section), (paired, {**section, "split": "train"})):
        declared = declared_unpaired_fields(options(**{k: v for k, v in opts.items()
                                                       if k != "name"}))
        assert {k: f.shape for k, f in declared.items()} == \
            {k: f.shape for k, f in built.fields.items()}


# ---- a run: resume, pictures, translate, eval, export, report -------------------------------

def test_a_run_resumes_bit_identically(tmp_path, fake_data):
    """Straight to 6 steps against 3, stopped, then resumed to 6: every network, both
    optimizers, both pools (full and swapping from step 3) and the data position alike. (The
    lr is constant here: the decay's slope depends on train.steps, which the resume raises.)"""
    from ganzoo.engine.checkpoint import load_checkpoint

    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    constant = ["~optim_g.schedule", "~optim_d.schedule"]
    assert main(["run", str(RECIPE), *tiny(fake_data), *constant,
                 f"train.run_dir={straight}"]) == 0
    assert main(["run", str(RECIPE), *tiny(fake_data, 3), *constant,
                 f"train.run_dir={stopped}"]) == 0
    assert main(["resume", str(stopped), "train.steps=6"]) == 0
    a = load_checkpoint(straight / "checkpoints" / "step_0000006.pt")
    b = load_checkpoint(stopped / "checkpoints" / "step_0000006.pt")
    assert set(a["networks"]) == {"g_ab", "g_ba", "d_a", "d_b"}
    assert a["game"]["d_a"]["images"].shape == (2, 3, SIZE, SIZE)
    assert_same_state(a, b)


@pytest.fixture(scope="module")
def run(tmp_path_factory, fake_data) -> Path:
    folder = tmp_path_factory.mktemp("cyclegan") / "run"
    assert main(["run", str(RECIPE), *tiny(fake_data), f"train.run_dir={folder}"]) == 0
    return folder


def test_a_run_logs_every_term_and_draws_its_samples(run):
    from PIL import Image

    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["g_loss"] == pytest.approx(
        2 * (last["g_ab_gan"] + last["g_ba_gan"]) + 10 * (last["cycle_a"] + last["cycle_b"])
        + 5 * (last["identity_a"] + last["identity_b"]), rel=1e-4)
    assert last["d_loss"] == pytest.approx(last["d_a_loss"] + last["d_b_loss"], rel=1e-4)
    grid = Image.open(run / "samples" / "step_0000006.png")  # 4 gray faces beside G_ab's
    assert grid.size == (2 * (SIZE + 2) + 2, 4 * (SIZE + 2) + 2)


def test_translate_runs_both_ways(run, tmp_path):
    faces = np.random.default_rng(0).integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    np.savez(tmp_path / "in.npz", images=faces)
    for role in ("g_ab", "g_ba"):
        assert main(["translate", str(run), "--input", str(tmp_path / "in.npz"), "--role",
                     role, "--out", str(tmp_path / f"{role}.npz")]) == 0
    a_to_b, b_to_a = (np.load(tmp_path / f"{r}.npz")["images"] for r in ("g_ab", "g_ba"))
    assert a_to_b.shape == b_to_a.shape == (3, SIZE, SIZE, 3)
    assert not np.array_equal(a_to_b, b_to_a)


def test_eval_measures_g_ab_against_the_true_colours(run, capsys):
    # the fake faces are all of the train split's numbers: evaluate on those, as pairs
    assert main(["eval", str(run), "eval.ref=train", "eval.n=8"]) == 0
    saved = json.loads(next((run / "checkpoints").glob("*.eval.json")).read_text())
    saved = saved[-1] if isinstance(saved, list) else saved
    values = saved["metrics"]
    assert {"psnr", "ssim", "psnr_input", "ssim_input"} <= set(values)
    assert 0 < values["ssim_input"] <= 1 and values["psnr_input"] > 5
    assert saved["protocol"]["n_pairs"] == 8 and saved["protocol"]["dataset"] == \
        "degraded_unpaired"


def test_show_and_report(run, fake_data, capsys, tmp_path):
    assert main(["show", str(RECIPE), f"data.base.root={fake_data}/celeba"]) == 0
    shown = capsys.readouterr().out
    assert "g_ab (generator) resnet_translator: image 3x64x64 -> 3x64x64" in shown
    assert "g_ba (generator) resnet_translator" in shown and "d_b (discriminator) patchgan" \
        in shown
    assert main(["report", str(run), "--out", str(tmp_path / "report.html")]) == 0
    assert "cyclegan" in (tmp_path / "report.html").read_text()


def test_onnx_export_takes_an_image_and_matches_pytorch(run, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnxscript", reason="onnxscript is not installed")
    import ganzoo

    out = tmp_path / "model"
    assert main(["export", str(run), "--out", str(out), "--format", "onnx"]) == 0
    session = ort.InferenceSession(str(out / "generator.onnx"))
    assert [i.name for i in session.get_inputs()] == ["images"]
    gray = torch.rand(3, 1, SIZE, SIZE).expand(-1, 3, -1, -1) * 2 - 1
    (got,) = session.run(None, {"images": gray.numpy()})
    expected = ganzoo.load_run(run).translate(gray)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-5, rtol=1e-4)
    assert "game `cyclegan`" in (out / "README.md").read_text()


# ---- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (["data={name: degraded, base: {name: celeba, image_size: 16}, degradation: grayscale}"],
     "data.name: game 'cyclegan' needs the data field 'b' (role 'g_ab'), but dataset "
     "'degraded' gives source, target"),
    (["data.base.image_size=18"], "generator 'resnet_translator': input and output must be "
                                  "one size, each side a multiple of 4 and at least 8"),
    (["data.base.in_memory=false"], "data.base: dataset 'celeba' streams its images"),
    (["data.gray_channels=1"], "game.identity_weight: the identity term feeds G_ab the images "
                               "of domain b and G_ba those of domain a, so both must be of one "
                               "shape (a: 1x16x16, b: 3x16x16)"),
    (["game.pool_size=-1"], "game.pool_size: must be 0 or more (got -1)"),
    (["d_a.norm=layer"], "d_a.norm: must be one of 'batch', 'instance' (got 'layer')"),
    (["g_ab.n_blocks=0"], "g_ab.n_blocks: must be greater than 0 (got 0)"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, fake_data, capsys, change, message):
    root = [f"data.base.root={fake_data}/celeba"] if "data={" not in change[0] else []
    change = [c.replace("name: celeba,", f"name: celeba, root: {fake_data}/celeba,")
              for c in change]
    one_line_error(capsys, ["run", str(RECIPE), *tiny(fake_data, 1), *root, *change,
                            f"train.run_dir={tmp_path / 'run'}"], message)


def test_the_two_folder_recipe_trains_on_trainA_and_trainB(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for domain in ("trainA", "trainB"):
        (tmp_path / "data" / domain).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "data" / domain / f"{i}.png")
    small = [o for o in tiny(tmp_path, 2) if not o.startswith("data.")]
    run = tmp_path / "run"
    assert main(["run", str(FOLDERS), *small, f"data.root={tmp_path / 'data'}",
                 f"data.image_size={SIZE}", f"train.run_dir={run}"]) == 0
    assert (run / "checkpoints" / "step_0000002.pt").is_file()
    one_line_error(capsys, ["run", str(FOLDERS), *small, f"data.root={tmp_path}",
                            f"train.run_dir={tmp_path / 'no'}"], "has no trainA/ folder")
