"""PacGAN (Lin et al., 2018): maxout D, packing, the recipes' networks as the paper's code
builds them, and bench/pacgan.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

import ganzoo
from ganzoo.cli import main
from ganzoo.errors import GanzooError

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "recipes"
TINY = ["train.steps=3", "train.log_every=1", "train.sample_every=3", "train.num_samples=4",
        "train.checkpoint_every=3", "train.device=cpu"]


def section(recipe: str, name: str) -> dict:
    return OmegaConf.to_container(OmegaConf.load(RECIPES / recipe)[name], resolve=True)


def network(recipe: str, kind: str, image_shape: tuple[int, ...] = (2,)) -> torch.nn.Module:
    options = section(recipe, kind)
    return ganzoo.build(kind, options.pop("name"), image_shape=image_shape, **options)


def bench_module():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_pacgan", ROOT / "bench" / "pacgan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_maxout_is_the_largest_of_its_linear_pieces_and_only_it_gets_the_gradient():
    from ganzoo_builtins.mlp.networks import Maxout

    torch.manual_seed(0)
    layer = Maxout(4, 3, pieces=5)
    x = torch.randn(7, 4)
    pieces = layer.linear(x).view(7, 3, 5)
    out = layer(x)
    assert out.shape == (7, 3)
    assert torch.equal(out, pieces.max(dim=-1).values)
    out[0, 1].backward()
    rows = layer.linear.weight.grad.abs().sum(dim=1).view(3, 5)
    winner = pieces[0, 1].argmax()
    assert rows[1, winner] > 0 and rows.count_nonzero() == 1  # one piece of one unit moved


def test_the_mlp_defaults_are_unchanged_by_the_maxout_and_normal_options():
    D = ganzoo.build("discriminator", "mlp", image_shape=(2,), hidden_dims=[8])
    assert any(isinstance(m, torch.nn.LeakyReLU) for m in D.modules())
    torch.manual_seed(0)
    G = ganzoo.build("generator", "mlp", image_shape=(2,), latent_dim=2, hidden_dims=[8])
    assert G.net[0].bias.abs().sum() > 0  # PyTorch's default init: biases not zeroed
    with pytest.raises(GanzooError, match="activation: must be one of"):
        ganzoo.build("discriminator", "mlp", image_shape=(2,), activation="tanh")
    with pytest.raises(GanzooError, match="maxout_pieces: must be greater than 0"):
        ganzoo.build("discriminator", "mlp", image_shape=(2,), activation="maxout",
                     maxout_pieces=0)


def test_packing_puts_consecutive_samples_side_by_side_and_gives_each_its_packs_logit():
    seen = []

    class Inner(torch.nn.Module):
        def forward(self, x):
            seen.append(x)
            return x.flatten(1).sum(dim=1)

    from ganzoo_builtins.pacgan.packing import Packed

    points = torch.arange(12.0).view(6, 2)
    logits = Packed(Inner(), 2, (2,))(points)
    assert seen[-1].shape == (3, 4) and torch.equal(seen[-1][1], torch.tensor([4., 5, 6, 7]))
    assert torch.equal(logits, torch.tensor([6., 6, 22, 22, 38, 38]))
    images = torch.randn(6, 3, 4, 4)
    Packed(Inner(), 3, (3, 4, 4))(images)
    assert seen[-1].shape == (2, 9, 4, 4) and torch.equal(seen[-1][1, 3:6], images[4])


@pytest.mark.parametrize("recipe", ["pacgan_grid.yaml", "pacgan_ring.yaml"])
def test_the_toy_recipes_build_the_networks_of_the_papers_code(recipe):
    G, D = network(recipe, "generator"), network(recipe, "discriminator")
    linears = [m for m in G.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (2, 400), (400, 400), (400, 400), (400, 400), (400, 2)]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in G.net) == 4
    assert G.latent_dim == 2
    # the code's 484,802 (its hidden layers have no bias before BatchNorm) + 1,600 biases that
    # BatchNorm cancels
    assert sum(p.numel() for p in G.parameters()) == 484_802 + 1_600
    assert sum(p.numel() for p in D.parameters()) == 407_201  # 4 -> 3 x maxout(200, 5) -> 1
    assert D.inner.net[1].linear.in_features == 4  # packs of 2 points
    for net in (G, D):
        for m in net.modules():
            if isinstance(m, torch.nn.Linear):  # IsotropicGaussian(0.02), Constant(0)
                assert abs(m.weight.std().item() - 0.02) < 0.004 and not m.bias.any()
    for optim in ("optim_g", "optim_d"):
        assert section(recipe, optim)["lr"] == 1e-4 and section(recipe, optim)["betas"][0] == 0.8
    train = section(recipe, "train")
    assert train["batch_size"] // section(recipe, "discriminator")["m"] == 100
    assert train["steps"] == 400_000  # 400 epochs of 100,000 at 100 a batch
    data = section(recipe, "data")
    assert (data["std"], data.get("radius")) == ((0.05, 2.0) if "grid" in recipe else
                                                 (0.01, 1.0))


def test_the_bench_runs_packed_and_unpacked_with_the_same_packs_a_batch(capsys, tmp_path):
    bench = bench_module()
    assert bench.main(["--dry-run", "--seeds", "0,1", "--runs", str(tmp_path)]) == []
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and not list(tmp_path.iterdir())
    assert "discriminator.m=2 train.batch_size=200 train.seed=0" in lines[0]
    assert "discriminator.m=1 train.batch_size=100 train.seed=0" in lines[1]
    assert "train.seed=1" in lines[3]


def test_the_bench_measures_a_run_as_the_papers_code_counts_modes(tmp_path):
    bench = bench_module()
    run = tmp_path / "run"
    assert main(["run", str(RECIPES / "pacgan_grid.yaml"), *TINY, "train.batch_size=8",
                 "generator.hidden_dims=[8,8]", "discriminator.inner.hidden_dims=[8]",
                 f"train.run_dir={run}"]) == 0
    measured = bench.measure(run, n=500)
    assert measured["step"] == 3 and measured["modes_total"] == 25
    assert 0 <= measured["modes_fair"] <= measured["modes"] <= 25
    assert 0 <= measured["high_quality"] <= 1
    assert 0 < bench.last_d_loss(run) < 10
    text = bench.zoo_measure(run, ROOT)
    assert f"{measured['modes']}/25 modes with a high-quality sample" in text
    rows = [{**measured, "setup": "PacGAN2", "seed": s, "seconds": 1.0, "modes": 20 + s,
             "d_loss": 1.386}
            for s in (0, 1, 2)]
    table = bench.markdown(rows, "python bench/pacgan.py", "CPU")
    assert "| **PacGAN2** | mean ± std (3) | 3 | 21.00 ± 1.00 |" in table


def test_the_bench_extends_its_runs_exactly_and_measures_every_kept_checkpoint(capsys, tmp_path):
    bench = bench_module()
    small = [*TINY, "generator.hidden_dims=[8,8]", "discriminator.inner.hidden_dims=[8]"]
    for m in (2, 1):
        assert main(["run", str(RECIPES / "pacgan_grid.yaml"), *small, f"discriminator.m={m}",
                     f"train.batch_size={4 * m}",
                     f"train.run_dir={tmp_path / f'pacgan_grid-m{m}-seed0-1'}"]) == 0
    rows = bench.main(["--extend", str(tmp_path), "--steps", "5", "--checkpoint-every", "1",
                       "--seeds", "0", "--device", "cpu"])
    assert [(r["setup"], r["step"]) for r in rows] == [("PacGAN2", 5), ("GAN (m=1)", 5)]
    out = capsys.readouterr().out
    assert "| PacGAN2 | 3 | 1 |" in out and "| GAN (m=1) | 5 | 1 |" in out  # 3: before, 5: after
    assert len(bench.checkpoints(tmp_path / "pacgan_grid-m2-seed0-1")) == 3  # 3, 4, 5: all kept
    with pytest.raises(GanzooError, match="no pacgan_grid-m2-seed7"):
        bench.earlier_runs(tmp_path, "pacgan_grid", [2], [7])


def test_the_stacked_mnist_recipe_packs_images_along_the_channels(fake_data, tmp_path):
    run = tmp_path / "run"
    assert main(["run", str(RECIPES / "pacgan_stacked_mnist.yaml"), *TINY,
                 "train.batch_size=8", "generator.ngf=4", "discriminator.inner.ndf=4",
                 f"data.root={fake_data}", "data.size=32", f"train.run_dir={run}"]) == 0
    D = network("pacgan_stacked_mnist.yaml", "discriminator", (3, 28, 28))
    assert D.inner.net[0].in_channels == 6  # two RGB stacks per pack
    assert section("pacgan_stacked_mnist.yaml", "train")["batch_size"] == 2 * 64
